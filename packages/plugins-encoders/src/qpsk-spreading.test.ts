import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { applyDefaults, cx, QPSK_POINTS, type Scenario } from '@gfra/core';
import { QpskSpreadingEncoder, QpskSpreadingParams } from './qpsk-spreading';
import { musa3Level, musaGreedy, normalise, wbeChirp } from './signature-sets';

const S: Scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };
const P_ASY = [0.8, 0.8, 0.8, 0.4, 0.4, 0.4];
const FIXTURE = path.join(__dirname, 'fixtures', 'musa-3level-6x4.json');

const params = (signatures: unknown): QpskSpreadingParams => applyDefaults(QpskSpreadingParams, { signatures }) as QpskSpreadingParams;
const make = (signatures: unknown, s: Scenario = S) => new QpskSpreadingEncoder(params(signatures), s);
const check = (signatures: unknown, s: Scenario = S) => QpskSpreadingEncoder.plugin.check?.(params(signatures), s) ?? [];
const withP = <T>(p: number[], fn: (t: tf.Tensor1D) => T): T => {
  const t = tf.tensor1d(p);
  try {
    return fn(t);
  } finally {
    t.dispose();
  }
};

describe('encoder:qpsk-spreading', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-qpsk-spreading-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, content: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(content));
    return file;
  };

  it('defaults to chirp WBE and sends a_n q(m_n) s̄_n: unit energy when active, exactly 0 when inactive', () => {
    const enc = make(undefined);
    const activity = tf.tensor2d([[1, 0, 1, 1, 0, 1], [0, 1, 1, 0, 1, 0]]);
    const message = tf.tensor2d([[0, 1, 2, 3, 0, 1], [3, 2, 1, 0, 3, 2]], [2, 6], 'int32');
    const tx = enc.encode({ activity, message });
    expect(tx.re.shape).to.deep.equal([2, 6, 4]);
    const re = tx.re.arraySync() as number[][][];
    const im = tx.im.arraySync() as number[][][];
    const a = activity.arraySync();
    const m = message.arraySync();
    const w = normalise(wbeChirp(6, 4));
    for (let b = 0; b < 2; b++) {
      for (let n = 0; n < 6; n++) {
        const [qr, qi] = QPSK_POINTS[m[b][n]];
        let energy = 0;
        for (let k = 0; k < 4; k++) {
          energy += re[b][n][k] ** 2 + im[b][n][k] ** 2;
          if (a[b][n] === 0) {
            expect(re[b][n][k]).to.equal(0);
            expect(im[b][n][k]).to.equal(0);
          } else {
            expect(re[b][n][k]).to.be.closeTo(qr * w.re[n][k] - qi * w.im[n][k], 1e-6);
            expect(im[b][n][k]).to.be.closeTo(qr * w.im[n][k] + qi * w.re[n][k], 1e-6);
          }
        }
        expect(energy).to.be.closeTo(a[b][n], 1e-5);
      }
    }
    tf.dispose([activity, message]);
    cx.dispose(tx);
    enc.dispose();
  });

  it('gives the receiver signatures [L, N] (unit-norm columns) and the codebook [L, 4N], column n*4+q = s̄_n q(q)', () => {
    const enc = make({ source: 'musa-3level' });
    const side = enc.sideInformation();
    expect(side.signatures?.re.shape).to.deep.equal([4, 6]);
    expect(side.codebook?.re.shape).to.deep.equal([4, 24]);
    const sr = side.signatures!.re.arraySync() as number[][];
    const si = side.signatures!.im.arraySync() as number[][];
    const cr = side.codebook!.re.arraySync() as number[][];
    const ci = side.codebook!.im.arraySync() as number[][];
    const unit = normalise(musa3Level(6, 4));
    for (let n = 0; n < 6; n++) {
      for (let k = 0; k < 4; k++) {
        expect(sr[k][n]).to.be.closeTo(unit.re[n][k], 1e-6);
        expect(si[k][n]).to.be.closeTo(unit.im[n][k], 1e-6);
        for (let q = 0; q < 4; q++) {
          const [qr, qi] = QPSK_POINTS[q];
          expect(cr[k][n * 4 + q]).to.be.closeTo(sr[k][n] * qr - si[k][n] * qi, 1e-6);
          expect(ci[k][n * 4 + q]).to.be.closeTo(sr[k][n] * qi + si[k][n] * qr, 1e-6);
        }
      }
    }
    enc.dispose();
  });

  it('reports CCw and the correlation groups of each family (p from the traffic, else all ones)', () => {
    const cases: [unknown, number, number][] = [
      [{ source: 'wbe-chirp' }, 1.1 / 30, 1e-5],
      [{ source: 'musa-3level' }, 0.0361, 1e-3],
      [{ source: 'wbe-chirp-quantized' }, 0.0375, 1e-3],
      [{ source: 'wfp', activationProbabilities: P_ASY }, 0.028, 2e-3],
      [{ source: 'file', path: FIXTURE }, 0.0361, 1e-3],
    ];
    for (const [sig, ccw, tol] of cases) {
      const enc = make(sig);
      const d = withP(P_ASY, (p) => enc.diagnostics({ activityProbability: p }));
      expect(d.ccw, JSON.stringify(sig)).to.be.closeTo(ccw, tol);
      expect(Object.keys(d).sort()).to.deep.equal(['cc-frequent', 'cc-max', 'cc-other', 'ccw']);
      const flat = enc.diagnostics({});
      expect(Object.keys(flat).sort()).to.deep.equal(['cc-max', 'ccw']);
      enc.dispose();
    }
  });

  it('loads a signatures file with integer entries, normalising every column (same as the built-in set)', () => {
    const a = make({ source: 'file', path: FIXTURE });
    const b = make({ source: 'musa-3level' });
    const sa = cx.toArrays(a.sideInformation().signatures!);
    const sb = cx.toArrays(b.sideInformation().signatures!);
    sa.re.forEach((x, i) => expect(x).to.be.closeTo(sb.re[i], 1e-6));
    sa.im.forEach((x, i) => expect(x).to.be.closeTo(sb.im[i], 1e-6));
    a.dispose();
    b.dispose();
  });

  it('rejects a file of the wrong kind, shape or with a zero column, naming the file', () => {
    const fixture = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
    const wrongShape = write('wrong-shape.json', { ...fixture, shape: [6, 4] });
    expect(check({ source: 'file', path: wrongShape }).map((p) => p.message).join()).to.match(/wrong-shape\.json has shape \[6, 4\].*\[L, N\] = \[4, 6\]/);
    expect(() => make({ source: 'file', path: wrongShape })).to.throw(/wrong-shape\.json has shape/);
    const codebook = write('codebook.json', { ...fixture, kind: 'codebook' });
    expect(check({ source: 'file', path: codebook })[0].message).to.match(/codebook\.json holds a codebook, not signatures/);
    const re = fixture.re.slice();
    const im = fixture.im.slice();
    for (let k = 0; k < 4; k++) re[k * 6 + 2] = im[k * 6 + 2] = 0;
    const zero = write('zero.json', { ...fixture, re, im });
    expect(check({ source: 'file', path: zero })[0].message).to.match(/zero\.json has an all-zero signature for device 2/);
    expect(() => make({ source: 'file', path: zero })).to.throw(/zero\.json has an all-zero signature for device 2/);
    const missing = check({ source: 'file', path: path.join(dir, 'nope.json') });
    expect(missing[0].message).to.match(/file not found/);
    expect(missing[0].hint).to.match(/gfra export/);
  });

  it('checks QPSK (bitsPerDevice 2) and the length of the wfp probabilities', () => {
    expect(check({ source: 'wbe-chirp' })).to.deep.equal([]);
    const [p] = check({ source: 'wbe-chirp' }, { ...S, bitsPerDevice: 1 });
    expect(p.message).to.match(/QPSK.*bitsPerDevice = 1/);
    expect(p.hint).to.match(/"bitsPerDevice": 2/);
    const [q] = check({ source: 'wfp', activationProbabilities: [0.5, 0.5] });
    expect(q.path).to.equal('signatures.activationProbabilities');
    expect(q.message).to.match(/2 values.*numDevices = 6/);
  });

  it('builds the same signatures every time (no run-seed dependence) and frees its tensors', () => {
    const before = tf.memory().numTensors;
    const a = make({ source: 'musa-3level', seed: 2 }, { ...S, numDevices: 5, sequenceLength: 3 });
    const b = make({ source: 'musa-3level', seed: 2 }, { ...S, numDevices: 5, sequenceLength: 3 });
    expect(a.signatureSet).to.deep.equal(b.signatureSet);
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });
  it('per-device bits [1, 1, 1, 2, 2, 2] with musa-greedy: BPSK (0 -> +1, 1 -> -1) for 1-bit devices, QPSK for 2-bit, unit energy; codebook zeros for q >= Q_n', () => {
    const s: Scenario = { ...S, deviceBits: [1, 1, 1, 2, 2, 2] };
    expect(QpskSpreadingEncoder.plugin.perDeviceBits).to.equal(true);
    expect(check({ source: 'musa-greedy' }, s)).to.deep.equal([]);
    const before = tf.memory().numTensors;
    const enc = make({ source: 'musa-greedy' }, s);
    const w = musaGreedy(6, 4);
    expect(enc.signatureSet).to.deep.equal(w);
    const activity = tf.tensor2d([[1, 1, 0, 1, 1, 0], [1, 1, 1, 1, 1, 1]]);
    const message = tf.tensor2d([[0, 1, 1, 2, 3, 0], [1, 0, 0, 0, 1, 3]], [2, 6], 'int32');
    const tx = enc.encode({ activity, message });
    const re = tx.re.arraySync() as number[][][];
    const im = tx.im.arraySync() as number[][][];
    const a = activity.arraySync();
    const m = message.arraySync();
    const point = (n: number, q: number): readonly [number, number] => (n < 3 ? [[1, 0] as const, [-1, 0] as const][q] : QPSK_POINTS[q]);
    for (let b = 0; b < 2; b++) {
      for (let n = 0; n < 6; n++) {
        const [qr, qi] = point(n, m[b][n]);
        let energy = 0;
        for (let k = 0; k < 4; k++) {
          energy += re[b][n][k] ** 2 + im[b][n][k] ** 2;
          expect(re[b][n][k]).to.be.closeTo(a[b][n] * (qr * w.re[n][k] - qi * w.im[n][k]), 1e-6);
          expect(im[b][n][k]).to.be.closeTo(a[b][n] * (qr * w.im[n][k] + qi * w.re[n][k]), 1e-6);
        }
        expect(energy).to.be.closeTo(a[b][n], 1e-5);
      }
    }
    const side = enc.sideInformation();
    expect(side.signatures?.re.shape).to.deep.equal([4, 6]);
    const cr = side.codebook!.re.arraySync() as number[][];
    const ci = side.codebook!.im.arraySync() as number[][];
    for (let n = 0; n < 6; n++) {
      for (let q = 0; q < 4; q++) {
        const [qr, qi] = n < 3 ? ([[1, 0], [-1, 0], [0, 0], [0, 0]] as const)[q] : QPSK_POINTS[q];
        for (let k = 0; k < 4; k++) {
          expect(cr[k][n * 4 + q], `codebook ${k},${n * 4 + q}`).to.be.closeTo(qr * w.re[n][k] - qi * w.im[n][k], 1e-6);
          expect(ci[k][n * 4 + q], `codebook ${k},${n * 4 + q}`).to.be.closeTo(qr * w.im[n][k] + qi * w.re[n][k], 1e-6);
        }
      }
    }
    expect(enc.diagnostics({})['cc-max']).to.be.closeTo(0.5, 1e-6);
    tf.dispose([activity, message]);
    cx.dispose(tx);
    enc.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('per-device bits: refuses J_n outside {1, 2}, naming the devices; a single bitsPerDevice must still be 2', () => {
    const [p] = check({ source: 'musa-greedy' }, { ...S, bitsPerDevice: 3, deviceBits: [1, 1, 3, 2, 2, 0] });
    expect(p.message).to.match(/BPSK \(1 bit\) or QPSK \(2 bits\).*device 2 3 bits, device 5 0 bits/);
    expect(() => make({ source: 'musa-greedy' }, { ...S, bitsPerDevice: 3, deviceBits: [1, 1, 3, 2, 2, 0] })).to.throw(/device 2 3 bits/);
    expect(check({ source: 'musa-greedy' }, { ...S, bitsPerDevice: 1 })[0].message).to.match(/QPSK.*bitsPerDevice = 1/);
  });
});
