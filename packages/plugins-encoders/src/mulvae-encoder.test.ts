import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { cx, RandomStreams, type Scenario } from '@gfra/core';
import { MulvaeEncoder, type MulvaeEncoderParams } from './mulvae-encoder';

/** The paper's setting: 6 users on 4 REs, rates (1, 1, 1, 2, 2, 2). */
const HET: Scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2, deviceBits: [1, 1, 1, 2, 2, 2] };
const SIZES = [2, 2, 2, 4, 4, 4];
const DEFAULTS: MulvaeEncoderParams = { hidden: 4, widthFactor: 8, power: 'average' };
const check = (s: Scenario) => MulvaeEncoder.plugin.check?.(DEFAULTS, s) ?? [];

function make(params: Partial<MulvaeEncoderParams> = {}, scenario: Scenario = HET, key = 'k'): MulvaeEncoder {
  return new MulvaeEncoder({ ...DEFAULTS, ...params }, scenario, new RandomStreams([key]));
}

/** Host copy of the codebook [L][N*Q] as re/im rows. */
function hostCodebook(enc: MulvaeEncoder): { re: number[][]; im: number[][] } {
  const S = enc.sideInformation().codebook as cx.ComplexTensor;
  return { re: S.re.arraySync() as number[][], im: S.im.arraySync() as number[][] };
}

/** ||x||² of codeword q of device n, read from the codebook. */
const energyOf = (S: { re: number[][]; im: number[][] }, col: number) => S.re.reduce((e, row, l) => e + row[col] ** 2 + S.im[l][col] ** 2, 0);

describe('encoder:mulvae-encoder', () => {
  it('normalises every device to average codeword energy 1 over its own Q_n codewords (Q_n = 2 and 4), for random weights', () => {
    for (const key of ['a', 'b', 'c']) {
      const enc = make({}, HET, key);
      const S = hostCodebook(enc);
      SIZES.forEach((Qn, n) => {
        const energies = Array.from({ length: Qn }, (_, q) => energyOf(S, n * 4 + q));
        expect(energies.reduce((a, b) => a + b, 0) / Qn, `key ${key}, device ${n}`).to.be.closeTo(1, 1e-5);
        // power diversity is allowed: codewords do not all have energy 1
        if (n === 5 && key === 'a') expect(energies.some((e) => Math.abs(e - 1) > 1e-3)).to.equal(true);
      });
      enc.dispose();
    }
  });

  it('lays the codebook out as [L, N*Q], column n*Q + q = T_n[q], zero columns for q >= Q_n', () => {
    const enc = make();
    const S = enc.sideInformation().codebook as cx.ComplexTensor;
    expect(S.re.shape).to.deep.equal([4, 24]);
    const host = hostCodebook(enc);
    for (let n = 0; n < 6; n++) {
      for (let q = 0; q < 4; q++) {
        const e = energyOf(host, n * 4 + q);
        if (q >= SIZES[n]) expect(e, `device ${n}, column ${q}`).to.equal(0);
        else expect(e, `device ${n}, column ${q}`).to.be.greaterThan(0);
      }
    }
    // the table of a device agrees with its codebook columns
    const t = tf.tidy(() => cx.toArrays(cx.keep(enc.table(3))));
    const T = { re: t.re, im: t.im }; // row-major [Q_n, L]
    for (let q = 0; q < 4; q++) for (let l = 0; l < 4; l++) expect(T.re[q * 4 + l]).to.be.closeTo(host.re[l][3 * 4 + q], 1e-6);
    const obj = enc.transmitObject();
    expect(obj.kind).to.equal('codebook');
    expect(obj.value.re.shape).to.deep.equal([4, 24]);
    expect(Array.from(obj.value.im.dataSync())).to.deep.equal(host.im.flat());
    cx.dispose(obj.value);
    enc.dispose();
  });

  it('sends T_n[m_n] for an active device and exactly 0 for an inactive one', () => {
    const enc = make();
    const host = hostCodebook(enc);
    const activity = tf.tensor2d([[1, 0, 1, 1, 0, 1], [0, 1, 1, 0, 1, 1]]);
    const msgs = [[1, 0, 0, 3, 2, 2], [0, 1, 1, 0, 3, 1]];
    const message = tf.tensor2d(msgs, [2, 6], 'int32');
    const tx = enc.encode({ activity, message });
    expect(tx.re.shape).to.deep.equal([2, 6, 4]);
    const re = tx.re.arraySync() as number[][][];
    const im = tx.im.arraySync() as number[][][];
    const a = activity.arraySync();
    for (let b = 0; b < 2; b++) {
      for (let n = 0; n < 6; n++) {
        for (let l = 0; l < 4; l++) {
          const col = n * 4 + msgs[b][n];
          if (a[b][n] === 0) {
            expect(re[b][n][l]).to.equal(0);
            expect(im[b][n][l]).to.equal(0);
          } else {
            expect(re[b][n][l]).to.be.closeTo(host.re[l][col], 1e-6);
            expect(im[b][n][l]).to.be.closeTo(host.im[l][col], 1e-6);
          }
        }
      }
    }
    tf.dispose([activity, message]);
    cx.dispose(tx);
    enc.dispose();
  });

  it('per-point: every codeword has ||x||² = 1', () => {
    const enc = make({ power: 'per-point' });
    const S = hostCodebook(enc);
    SIZES.forEach((Qn, n) => {
      for (let q = 0; q < Qn; q++) expect(energyOf(S, n * 4 + q)).to.be.closeTo(1, 1e-5);
    });
    expect(enc.diagnostics()['mean-energy']).to.be.closeTo(1, 1e-5);
    enc.dispose();
  });

  it('tanh-peak: |Re|, |Im| < 1 per RE, no normalisation (mean-energy reported)', () => {
    const enc = make({ power: 'tanh-peak' });
    const S = hostCodebook(enc);
    for (const part of [S.re, S.im]) for (const row of part) for (const v of row) expect(Math.abs(v)).to.be.lessThan(1);
    const e = enc.diagnostics()['mean-energy'];
    expect(e).to.be.greaterThan(0);
    expect(e).to.be.lessThan(8);
    enc.dispose();
  });

  it('gradients reach every layer of every device, through tx and through the codebook', () => {
    const enc = make();
    const vars = enc.trainableVariables();
    // 6 devices x (4 hidden + output) x (kernel, bias)
    expect(Object.keys(vars)).to.have.length(6 * 5 * 2);
    expect(vars['device0/dense0/kernel'].shape).to.deep.equal([2, 16]);
    expect(vars['device5/dense3/kernel'].shape).to.deep.equal([32, 32]);
    expect(vars['device5/output/kernel'].shape).to.deep.equal([32, 8]);
    enc.setTraining(true);
    const activity = tf.ones([3, 6]) as tf.Tensor2D;
    const message = tf.tensor2d([[0, 1, 0, 3, 2, 1], [1, 0, 1, 0, 1, 2], [0, 0, 1, 2, 3, 3]], [3, 6], 'int32');
    // a loss that does not vanish through the normaliser: correlation with a fixed random target
    const target = tf.randomNormal([3, 6, 4], 0, 1, 'float32', 7);
    const targetCb = tf.randomNormal([4, 24], 0, 1, 'float32', 8);
    const paths: [string, () => tf.Scalar][] = [
      ['tx', () => tf.sum(tf.mul(enc.encode({ activity, message }).re, target)) as tf.Scalar],
      ['codebook', () => tf.sum(tf.mul((enc.sideInformation().codebook as cx.ComplexTensor).im, targetCb)) as tf.Scalar],
    ];
    for (const [what, f] of paths) {
      const { value, grads } = tf.variableGrads(f, Object.values(vars));
      for (const [name, v] of Object.entries(vars)) {
        const g = grads[v.name];
        expect(g, `${what}: ${name}`).to.not.equal(undefined);
        const norm = tf.tidy(() => tf.norm(g).dataSync()[0]);
        // zero biases and tanh'(0) = 1: every layer gets a non-zero gradient
        expect(norm, `${what}: gradient of ${name}`).to.be.greaterThan(0);
      }
      tf.dispose([value, ...Object.values(grads)]);
    }
    enc.setTraining(false);
    tf.dispose([activity, message, target, targetCb]);
    enc.dispose();
  });

  it('draws the same weights whatever the batch split (and for the same key only)', () => {
    const a = make();
    const b = make();
    const c = make({}, HET, 'other');
    const activity = tf.ones([4, 6]) as tf.Tensor2D;
    const message = tf.tensor2d([[0, 1, 0, 3, 2, 1], [1, 0, 1, 0, 1, 2], [0, 0, 1, 2, 3, 3], [1, 1, 0, 1, 0, 0]], [4, 6], 'int32');
    const whole = a.encode({ activity, message });
    const parts = [0, 2].map((first) => b.encode({ activity: tf.slice(activity, [first, 0], [2, 6]), message: tf.slice(message, [first, 0], [2, 6]) }));
    const joined = tf.concat(parts.map((p) => p.re), 0);
    expect(Array.from(joined.dataSync())).to.deep.equal(Array.from(whole.re.dataSync()));
    const other = c.encode({ activity, message });
    expect(Array.from(other.re.dataSync())).to.not.deep.equal(Array.from(whole.re.dataSync()));
    tf.dispose([activity, message, joined]);
    [whole, other, ...parts].forEach((t) => cx.dispose(t));
    [a, b, c].forEach((e) => e.dispose());
  });

  it('reports min-distance per device and dense-pairs; the tensors it caches are freed', () => {
    const before = tf.memory().numTensors;
    const enc = make();
    const d = enc.diagnostics();
    for (let n = 0; n < 6; n++) expect(d[`min-distance-${n}`]).to.be.greaterThan(0);
    expect(d['min-distance']).to.equal(Math.min(...[0, 1, 2, 3, 4, 5].map((n) => d[`min-distance-${n}`])));
    expect(d['dense-pairs']).to.be.within(0, 24);
    expect(d['mean-energy']).to.be.closeTo(1, 1e-5);
    enc.sideInformation();
    enc.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('accepts a single bitsPerDevice (every device Q codewords) and refuses J_n = 0', () => {
    expect(check(HET)).to.deep.equal([]);
    const uniform: Scenario = { numDevices: 3, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 1 };
    expect(check(uniform)).to.deep.equal([]);
    const enc = make({ hidden: 1 }, uniform);
    expect((enc.sideInformation().codebook as cx.ComplexTensor).re.shape).to.deep.equal([2, 6]);
    enc.dispose();
    const [problem] = check({ ...HET, deviceBits: [0, 1, 1, 2, 2, 2] });
    expect(problem.message).to.match(/at least 1 bit per device.*device 0 has J_n = 0/);
    expect(() => make({}, { ...uniform, bitsPerDevice: 0 })).to.throw(/devices 0, 1, 2 have J_n = 0/);
    expect(MulvaeEncoder.plugin.perDeviceBits).to.equal(true);
  });
});
