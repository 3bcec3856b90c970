import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  constellationCodebook,
  constellationDiagnostics,
  constellationFile,
  constellationJson,
  constellationProblems,
  constellationUsers,
  readConstellationFile,
  type ConstellationUser,
} from './constellation';

/** Two 1-bit users on K = 2 REs: user 1 antipodal on RE 0 and, with `overlap`, user 2 on both. */
function twoUsers(overlap: boolean): ConstellationUser[] {
  return [
    { id: 1, bits: 1, points: [[[1, 0], [0, 0]], [[-1, 0], [0, 0]]] },
    { id: 2, bits: 1, points: overlap ? [[[1, 0], [0, 1]], [[-1, 0], [0, -1]]] : [[[0, 0], [0, 1]], [[0, 0], [0, -1]]] },
  ];
}

describe('constellation/v1 files', () => {
  it('diagnostics of disjoint antipodal users, by hand', () => {
    const d = constellationDiagnostics(twoUsers(false), 2);
    expect(d.codewordEnergies).to.deep.equal([[1, 1], [1, 1]]);
    expect(d.averageEnergy).to.deep.equal([1, 1]);
    expect(d.powerPerRe).to.deep.equal([[1, 0], [0, 1]]);
    expect(d.densePairs).to.equal(2);
    expect(d.userMinDistance).to.deep.equal([2, 2]);
    expect(d.reMinDistance).to.deep.equal([2, 2]);
    expect(d.jointMinDistance).to.equal(2);
  });

  it('diagnostics of overlapping users: two tuples collide on RE 0 (distance 0) but not jointly', () => {
    // superimposed: (a, b) -> RE 0: a + b, RE 1: j b; (+1, -1) and (-1, +1) are both 0 on RE 0
    const d = constellationDiagnostics(twoUsers(true), 2);
    expect(d.codewordEnergies).to.deep.equal([[1, 1], [2, 2]]);
    expect(d.powerPerRe).to.deep.equal([[1, 0], [1, 1]]);
    expect(d.densePairs).to.equal(3);
    expect(d.userMinDistance[1]).to.be.closeTo(Math.sqrt(8), 1e-12);
    expect(d.reMinDistance).to.deep.equal([0, 2]);
    expect(d.jointMinDistance).to.equal(2);
  });

  it('codebook [K, N*Q] <-> users, lower-rate users padded with zero columns', () => {
    // N = 2 users, bits (1, 2), K = 2: Q = 4, columns n*4 + s
    const users: ConstellationUser[] = [
      { id: 1, bits: 1, points: [[[1, 2], [3, 4]], [[5, 6], [7, 8]]] },
      { id: 2, bits: 2, points: [0, 1, 2, 3].map((s) => [[10 + s, -s], [20 + s, s]] as [number, number][]) },
    ];
    const book = constellationCodebook({ K: 2, users });
    expect(book.shape).to.deep.equal([2, 8]);
    expect(book.deviceBits).to.deep.equal([1, 2]);
    expect(book.re).to.deep.equal([1, 5, 0, 0, 10, 11, 12, 13, 3, 7, 0, 0, 20, 21, 22, 23]);
    expect(book.im).to.deep.equal([2, 6, 0, 0, -0, -1, -2, -3, 4, 8, 0, 0, 0, 1, 2, 3]);
    expect(constellationUsers(book.re, book.im, 2, [1, 2])).to.deep.equal(users);
  });

  it('writes diagnostics with the file and reads it back; every malformed field is named', () => {
    const book = constellationCodebook({ K: 2, users: twoUsers(true) });
    const file = constellationFile({ re: book.re, im: book.im, K: 2 }, [1, 1], { source: 'test', training: { steps: 3 } });
    expect(file.format).to.equal('constellation/v1');
    expect(file.energyConvention).to.equal('E||x_n||^2 = K');
    expect(file.diagnostics?.reMinDistance).to.deep.equal([0, 2]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-constellation-'));
    const at = path.join(dir, 'c.json');
    fs.writeFileSync(at, constellationJson(file));
    expect(readConstellationFile(at)).to.deep.equal(JSON.parse(JSON.stringify(file)));
    expect(fs.readFileSync(at, 'utf8').split('\n')[6]).to.equal('  {"id":1,"bits":1,"points":[[[1,0],[0,0]],[[-1,0],[0,0]]]},');
    fs.writeFileSync(at, '{"format": "constellation/v1"');
    expect(() => readConstellationFile(at)).to.throw(/not valid JSON/);
    fs.rmSync(dir, { recursive: true });
    expect(() => readConstellationFile(at)).to.throw(/file not found/);

    expect(constellationProblems({ format: 'x', K: 0, users: [] })).to.deep.equal([
      '"format" must be "constellation/v1" (got "x")',
      '"K" must be a positive integer (got 0)',
      '"users" must be a non-empty list',
    ]);
    expect(constellationProblems({ format: 'constellation/v1', K: 2, users: [{ id: 1, bits: 1, points: [[[1, 0], [0, 0]], [[1, 0]]] }, { id: 2, bits: 2, points: [] }] })).to.deep.equal([
      'users[0].points[1] must be a list of K = 2 finite [re, im] pairs',
      'users[1].points has 0 codewords; bits 2 needs 4',
    ]);
  });
});
