import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { cx, type Scenario } from '@gfra/core';
import {
  FACTOR_GRAPH_6X4,
  factorGraph,
  readCodebookFile,
  SCMA_6X4_CODEBOOK,
  ScmaCodebookEncoder,
  userEnergies,
  type ScmaCodebookParams,
} from './scma-codebook';

const SCMA: Scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };
const check = (p: ScmaCodebookParams, s: Scenario) => ScmaCodebookEncoder.plugin.check?.(p, s) ?? [];

describe('encoder:scma-codebook', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-scma-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, content: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };

  it('holds the published values of the 6-user, 4-RE, 4-point codebook (spot checks)', () => {
    // user 1 (0-based 0), codeword 2 (0-based 1): RE 2 = -0.6351 - 0.4615i, RE 4 = -0.2243
    expect(SCMA_6X4_CODEBOOK[0][1][1]).to.deep.equal([-0.6351, -0.4615]);
    expect(SCMA_6X4_CODEBOOK[0][1][3]).to.deep.equal([-0.2243, 0]);
    // user 3, codeword 1: RE 1 = -0.6351 + 0.4615i, RE 2 = 0.1392 - 0.1759i
    expect(SCMA_6X4_CODEBOOK[2][0][0]).to.deep.equal([-0.6351, 0.4615]);
    expect(SCMA_6X4_CODEBOOK[2][0][1]).to.deep.equal([0.1392, -0.1759]);
    // user 4, codeword 3: RE 4 = 0.0193 + 0.7848i; user 5, codeword 4: RE 1 = 0.0055 + 0.2242i
    expect(SCMA_6X4_CODEBOOK[3][2][3]).to.deep.equal([0.0193, 0.7848]);
    expect(SCMA_6X4_CODEBOOK[4][3][0]).to.deep.equal([0.0055, 0.2242]);
    // user 6, codeword 1: RE 2 = 0.7851
    expect(SCMA_6X4_CODEBOOK[5][0][1]).to.deep.equal([0.7851, 0]);
    // structure of the published set: codewords 0/3 and 1/2 are negatives of each other
    for (const user of SCMA_6X4_CODEBOOK) {
      for (const [a, b] of [[0, 3], [1, 2]]) {
        user[a].forEach(([re, im], l) => expect([re + user[b][l][0], im + user[b][l][1]]).to.deep.equal([0, 0]));
      }
    }
  });

  it('has the standard factor graph: d_v = 2 REs per user, d_f = 3 users per RE, overloading 150 %', () => {
    expect(factorGraph(SCMA_6X4_CODEBOOK)).to.deep.equal(FACTOR_GRAPH_6X4);
    // RE -> users (1-based, as usually printed): {2,3,5}, {1,3,6}, {2,4,6}, {1,4,5}
    const users = FACTOR_GRAPH_6X4.map((row) => row.flatMap((v, n) => (v ? [n + 1] : [])));
    expect(users).to.deep.equal([[2, 3, 5], [1, 3, 6], [2, 4, 6], [1, 4, 5]]);
    for (let n = 0; n < 6; n++) expect(FACTOR_GRAPH_6X4.reduce((s, row) => s + row[n], 0)).to.equal(2);
    const enc = new ScmaCodebookEncoder({ normalize: 'per-user' }, SCMA);
    expect(enc.factorGraph()).to.deep.equal(FACTOR_GRAPH_6X4);
    enc.dispose();
  });

  it('energy: 2/3 per published codeword; unit average codeword energy per user after normalisation', () => {
    for (const user of SCMA_6X4_CODEBOOK) {
      for (const cw of user) expect(cw.reduce((e, [a, b]) => e + a * a + b * b, 0)).to.be.closeTo(2 / 3, 1e-3);
    }
    for (const normalize of ['per-user', 'total'] as const) {
      const enc = new ScmaCodebookEncoder({ normalize }, SCMA);
      const energies = userEnergies(enc.values);
      // per-user: exactly 1 each; total: 1 on average (the 4-decimal published values differ by < 1e-4)
      expect(energies.reduce((a, b) => a + b, 0) / 6).to.be.closeTo(1, 1e-12);
      for (const e of energies) expect(e).to.be.closeTo(1, normalize === 'per-user' ? 1e-12 : 1e-4);
      // the codebook tensor agrees: column energies average to 1 per user
      const col = Array.from(tf.sum(cx.abs2(enc.sideInformation().codebook as cx.ComplexTensor), 0).dataSync());
      for (let n = 0; n < 6; n++) expect(col.slice(4 * n, 4 * n + 4).reduce((a, b) => a + b, 0) / 4).to.be.closeTo(energies[n], 1e-5);
      enc.dispose();
    }
    const raw = new ScmaCodebookEncoder({ normalize: 'none' }, SCMA);
    expect(raw.values).to.deep.equal(SCMA_6X4_CODEBOOK);
    raw.dispose();
  });

  it('sends codeword m_n of user n (column n*Q + m_n) and zeros for inactive users', () => {
    const enc = new ScmaCodebookEncoder({ normalize: 'none' }, SCMA);
    const S = enc.sideInformation().codebook as cx.ComplexTensor;
    expect(S.re.shape).to.deep.equal([4, 24]);
    const activity = tf.tensor2d([[1, 1, 1, 1, 0, 1]]);
    const message = tf.tensor2d([[0, 1, 2, 3, 3, 1]], [1, 6], 'int32');
    const tx = enc.encode({ activity, message });
    expect(tx.re.shape).to.deep.equal([1, 6, 4]);
    const re = tx.re.arraySync() as number[][][];
    const im = tx.im.arraySync() as number[][][];
    const Sre = S.re.arraySync() as number[][];
    const msgs = [0, 1, 2, 3, 3, 1];
    for (let n = 0; n < 6; n++) {
      const want = n === 4 ? [0, 0, 0, 0] : SCMA_6X4_CODEBOOK[n][msgs[n]].map((z) => z[0]);
      re[0][n].forEach((v, l) => expect(v).to.be.closeTo(want[l], 1e-6));
      if (n !== 4) re[0][n].forEach((v, l) => expect(v).to.be.closeTo(Sre[l][n * 4 + msgs[n]], 1e-7));
      const wantIm = n === 4 ? [0, 0, 0, 0] : SCMA_6X4_CODEBOOK[n][msgs[n]].map((z) => z[1]);
      im[0][n].forEach((v, l) => expect(v).to.be.closeTo(wantIm[l], 1e-6));
    }
    enc.dispose();
  });

  it('the built-in codebook needs the 6 x 4, J = 2 scenario, with a message that says so', () => {
    expect(check({ normalize: 'per-user' }, SCMA)).to.deep.equal([]);
    const [problem] = check({ normalize: 'per-user' }, { ...SCMA, bitsPerDevice: 1 });
    expect(problem.message).to.equal(
      'the built-in SCMA codebook has 6 users, 4 resource elements and 4 codewords per user (J = 2 bits), but the scenario has numDevices = 6, sequenceLength = 4, bitsPerDevice = 1',
    );
    expect(problem.hint).to.match(/"numDevices": 6, "sequenceLength": 4, "bitsPerDevice": 2/);
    expect(() => new ScmaCodebookEncoder({ normalize: 'none' }, { ...SCMA, numDevices: 5 })).to.throw(/numDevices = 5/);
  });

  it('loads a codebook from a JSON file (2 users, 2 REs, Q = 2) and normalises it', () => {
    const file = write('small.json', {
      name: 'toy',
      codebook: [
        [[[1, 0], [0, 0]], [[-1, 0], [0, 0]]],
        [[[0, 0], [0, 2]], [[0, 0], [0, -2]]],
      ],
    });
    const s: Scenario = { numDevices: 2, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 1 };
    expect(check({ file, normalize: 'per-user' }, s)).to.deep.equal([]);
    expect(factorGraph(readCodebookFile(file))).to.deep.equal([[1, 0], [0, 1]]);
    const perUser = new ScmaCodebookEncoder({ file, normalize: 'per-user' }, s);
    expect(perUser.values[1][0][1]).to.deep.equal([0, 1]);
    perUser.dispose();
    const total = new ScmaCodebookEncoder({ file, normalize: 'total' }, s); // average energy (1 + 4) / 2
    expect(total.values[0][0][0][0]).to.be.closeTo(1 / Math.sqrt(2.5), 1e-12);
    total.dispose();
    const [mismatch] = check({ file, normalize: 'none' }, SCMA);
    expect(mismatch.path).to.equal('file');
    expect(mismatch.message).to.equal(
      `codebook file "${file}" has 2 users, 2 resource elements and 2 codewords per user (J = 1 bits), but the scenario has numDevices = 6, sequenceLength = 4, bitsPerDevice = 2`,
    );
  });

  it('reports what is wrong with a codebook file, naming the file', () => {
    const cases: [string, unknown, RegExp][] = [
      ['trailing.json', '{"codebook": [1, 2],}', /is not valid JSON \(/],
      ['no-key.json', { codewords: [] }, /expected a JSON object with a "codebook" array/],
      ['empty.json', { codebook: [] }, /"codebook" must be a non-empty array of users \(got \[\]\)/],
      ['three.json', { codebook: [[[[1, 0]], [[0, 1]], [[-1, 0]]]] }, /codebook\[0\] has 3 codewords; every user needs Q = 2\^J >= 2 codewords/],
      ['ragged-q.json', { codebook: [[[[1, 0]], [[-1, 0]]], [[[1, 0]]]] }, /codebook\[1\] must be an array of 2 codewords, as codebook\[0\] \(got 1 codewords\)/],
      ['ragged-l.json', { codebook: [[[[1, 0], [0, 0]], [[-1, 0]]]] }, /codebook\[0\]\[1\] must be an array of 2 resource elements, as codebook\[0\]\[0\] \(got 1\)/],
      ['not-pair.json', { codebook: [[[[1, 0]], [[-1, 'x']]]] }, /codebook\[0\]\[1\]\[0\] must be \[re, im\], two finite numbers \(got \[-1,"x"\]\)/],
      ['zero-user.json', { codebook: [[[[1, 0]], [[-1, 0]]], [[[0, 0]], [[0, 0]]]] }, /codebook\[1\]: every codeword is zero/],
    ];
    for (const [name, content, pattern] of cases) {
      const file = write(name, content);
      expect(() => readCodebookFile(file), name).to.throw(pattern);
      expect(() => readCodebookFile(file), name).to.throw(`codebook file "${file}"`);
      const [problem] = check({ file, normalize: 'none' }, SCMA);
      expect(problem.path, name).to.equal('file');
      expect(problem.message, name).to.match(pattern);
    }
    const missing = path.join(dir, 'nope.json');
    expect(() => readCodebookFile(missing)).to.throw(`cannot read codebook file "${missing}": no such file`);
    expect(check({ file: missing, normalize: 'none' }, SCMA)[0].message).to.equal(`cannot read codebook file "${missing}": no such file`);
  });

  it('per-device bits (1, 1, 1, 2, 2, 2): 1-bit users send codewords 0 and 3, unit energy over the used codewords, factor-graph support', () => {
    const het: Scenario = { ...SCMA, deviceBits: [1, 1, 1, 2, 2, 2] };
    expect(ScmaCodebookEncoder.plugin.perDeviceBits).to.equal(true);
    expect(check({ normalize: 'per-user' }, het)).to.deep.equal([]);
    const enc = new ScmaCodebookEncoder({ normalize: 'per-user' }, het);
    const S = enc.sideInformation().codebook as cx.ComplexTensor;
    expect(S.re.shape).to.deep.equal([4, 24]);
    const re = S.re.arraySync() as number[][];
    const im = S.im.arraySync() as number[][];
    const scale = Math.sqrt(3 / 2); // published codewords have energy 0.7851² + 0.2243² = 2/3
    for (let n = 0; n < 6; n++) {
      const used = n < 3 ? [0, 3] : [0, 1, 2, 3];
      const energies: number[] = [];
      for (let q = 0; q < 4; q++) {
        const col = n * 4 + q;
        const e = re.reduce((acc, row, l) => acc + row[col] ** 2 + im[l][col] ** 2, 0);
        if (q >= used.length) {
          expect(e, `user ${n}, column ${q}`).to.equal(0);
          continue;
        }
        energies.push(e);
        // exactly the REs of the user's factor-graph column are non-zero
        const support = re.map((row, l) => (row[col] !== 0 || im[l][col] !== 0 ? 1 : 0));
        expect(support, `user ${n}, codeword ${q}`).to.deep.equal(FACTOR_GRAPH_6X4.map((row) => row[n]));
        // message q sends published codeword used[q], scaled
        for (let l = 0; l < 4; l++) {
          expect(re[l][col]).to.be.closeTo(SCMA_6X4_CODEBOOK[n][used[q]][l][0] * scale, 2e-4);
          expect(im[l][col]).to.be.closeTo(SCMA_6X4_CODEBOOK[n][used[q]][l][1] * scale, 2e-4);
        }
      }
      expect(energies.reduce((a, b) => a + b, 0) / used.length, `user ${n}`).to.be.closeTo(1, 1e-5);
    }
    // the 1-bit pair is antipodal: message 1 = -message 0
    for (let l = 0; l < 4; l++) expect(re[l][1] + re[l][0]).to.be.closeTo(0, 1e-7);
    // tx of a 1-bit user with message 1 is its codeword 3
    const tx = enc.encode({ activity: tf.ones([1, 6]) as tf.Tensor2D, message: tf.tensor2d([[1, 1, 1, 3, 3, 3]], [1, 6], 'int32') });
    const txRe = tx.re.arraySync() as number[][][];
    for (let l = 0; l < 4; l++) expect(txRe[0][0][l]).to.be.closeTo(SCMA_6X4_CODEBOOK[0][3][l][0] * scale, 2e-4);
    cx.dispose(tx);
    enc.dispose();
  });

  it('refuses per-device bits other than 1 or 2 with the 4-point codebook, and non-4-point files', () => {
    const [zero] = check({ normalize: 'per-user' }, { ...SCMA, deviceBits: [0, 1, 1, 2, 2, 2] });
    expect(zero.message).to.equal(
      'the built-in SCMA codebook supports J_n = 2 (all 4 codewords) or J_n = 1 (codewords 0 and 3) per device, but the scenario has device 0: J_n = 0',
    );
    expect(() => new ScmaCodebookEncoder({ normalize: 'per-user' }, { ...SCMA, deviceBits: [0, 1, 1, 2, 2, 2] })).to.throw(/device 0: J_n = 0/);
    // max J_n = 1: the built-in codebook has J = 2
    const [low] = check({ normalize: 'per-user' }, { ...SCMA, bitsPerDevice: 1, deviceBits: [1, 1, 1, 1, 1, 1] });
    expect(low.message).to.match(/4 codewords per user \(J = 2 bits\), but the scenario has .* bitsPerDevice = 1/);
    const file = write('two-point.json', {
      codebook: [
        [[[1, 0], [0, 0]], [[-1, 0], [0, 0]]],
        [[[0, 0], [0, 2]], [[0, 0], [0, -2]]],
      ],
    });
    const [two] = check({ file, normalize: 'per-user' }, { numDevices: 2, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 1, deviceBits: [1, 1] });
    expect(two.path).to.equal('file');
    expect(two.message).to.match(/need a 4-point codebook \(J = 2\), but codebook file ".*" has 2 codewords per user \(J = 1\)/);
  });
});
