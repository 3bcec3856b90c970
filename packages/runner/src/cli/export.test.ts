import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { constellationJson, type TransmitObject } from '@gfra/core';
import { formatConstellation, loadConstellation, writeConstellationFigure } from './constellation';
import { resolveArtifact, transmitToConstellation } from './export';

describe('gfra export: which trained artifact', () => {
  const run = (results: Record<string, unknown>[]) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-export-'));
    fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify({ results }));
    return dir;
  };
  const trained = (repetition: number | undefined, dir: string) => ({
    candidate: 'learned',
    point: {},
    ...(repetition === undefined ? {} : { repetition }),
    training: { dir },
  });

  it('with repetitions: one model per repetition, chosen with --repetition', () => {
    const dir = run([trained(0, 'a0'), trained(1, 'a1'), trained(2, 'a2')]);
    const file = path.join(dir, 'results.json');
    expect(() => resolveArtifact(dir)).to.throw(`${file}: candidate "learned" was trained once per repetition (0, 1, 2); choose one with --repetition`);
    expect(resolveArtifact(dir, { repetition: 1 })).to.equal('a1');
    expect(() => resolveArtifact(dir, { repetition: 3 })).to.throw('--repetition must be one of 0, 1, 2 (got 3)');
  });

  it('without repetitions: --repetition is 0 or left out', () => {
    const dir = run([trained(undefined, 'only')]);
    expect(resolveArtifact(dir)).to.equal('only');
    expect(resolveArtifact(dir, { repetition: 0 })).to.equal('only');
    expect(() => resolveArtifact(dir, { repetition: 2 })).to.throw('the run has no repetitions');
  });
});

describe('gfra export --format constellation and gfra constellation', () => {
  // 2 users (1 and 2 bits) on K = 2 REs: codebook [2, 2*4], column n*4 + s
  const re = [1, -1, 0, 0, 0.5, -0.5, 0.5, -0.5, 0, 0, 0, 0, 0.5, 0.5, -0.5, -0.5];
  const im = new Array<number>(16).fill(0);
  const obj: TransmitObject = {
    format: 'gfra-transmit/1',
    kind: 'codebook',
    shape: [2, 8],
    re,
    im,
    provenance: { candidate: 'mulvae', seed: 7, scenario: { numDevices: 2, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 2, deviceBits: [1, 2] }, trainedWith: { steps: 10 } },
  };

  it('a learned codebook becomes one codeword table per user with its diagnostics; other kinds are refused', () => {
    const c = transmitToConstellation(obj);
    expect(c.users.map((u) => [u.id, u.bits, u.points.length])).to.deep.equal([[1, 1, 2], [2, 2, 4]]);
    expect(c.users[1].points[2]).to.deep.equal([[0.5, 0], [-0.5, 0]]);
    expect(c.training).to.deep.include({ seed: 7, steps: 10 });
    expect(c.diagnostics?.averageEnergy).to.deep.equal([1, 0.5]);
    expect(c.diagnostics?.userMinDistance).to.deep.equal([2, 1]);
    expect(() => transmitToConstellation({ ...obj, kind: 'signatures' })).to.throw('the encoder exports a signatures; --format constellation needs a codebook');
  });

  it('prints the diagnostics and writes the per-RE figure (SVG, PNG, Vega-Lite spec)', async function () {
    this.timeout(20000);
    const c = transmitToConstellation(obj);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-constellation-'));
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, constellationJson(c));
    const loaded = loadConstellation(file);
    const text = formatConstellation(loaded, 'c.json');
    expect(text).to.contain('| 2 | 2 | 0.500 | 0.500, 0.500, 0.500, 0.500 | 0.250, 0.250 | 1.000 |');
    expect(text).to.contain('dense (user, RE) pairs (power > 0.1 of the user\'s uniform share): 3 of 4');
    const written = await writeConstellationFigure(loaded, path.join(dir, 'fig'));
    expect(written.map((f) => path.basename(f))).to.deep.equal(['fig.svg', 'fig.png', 'fig.vl.json']);
    const svg = fs.readFileSync(path.join(dir, 'fig.svg'), 'utf8');
    expect(svg).to.contain('RE 1').and.contain('RE 2').and.contain('user 2 (2 bits)');
    fs.writeFileSync(file, '{"format": "constellation/v1", "K": 2, "users": []}');
    expect(() => loadConstellation(file)).to.throw(/"users" must be a non-empty list\. Write one with `gfra export RUN --candidate NAME --format constellation/);
    fs.rmSync(dir, { recursive: true });
  });
});
