import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { describePluginContract } from '@gfra/core/testing';
import { cx, qpskSymbols, RandomStreams, type ComplexTensor, type Scenario, type TrialRange } from '@gfra/core';
import { denseParameterCount, mseFairLoss } from './algorithms/mse-fair';
import { SicnnDetector, sicnnModuleWidths, type SicnnParams } from './sicnn';

const params = (p: Partial<SicnnParams> = {}): SicnnParams => ({
  hidden: [16, 16],
  csi: 'block',
  init: 'glorot-uniform',
  sicSubtract: 'channel-aware',
  activityThreshold: 0.5,
  loss: { betaMse: 1, betaFair: 1, fairnessReference: 'mean' },
  ...p,
});

/** [L, N] complex with unit-norm columns (drawn once). */
function unitSignatures(rnd: RandomStreams, L: number, N: number): ComplexTensor {
  return cx.tidy(() => {
    const s = rnd.complexNormalOnce('signatures', [L, N]);
    const norm = tf.sqrt(tf.sum(cx.abs2(s), 0, true));
    return { re: tf.div(s.re, norm), im: tf.div(s.im, norm) };
  });
}

/**
 * A synthetic code-domain NOMA batch (M = 1): a ~ Bern(p), m uniform, x = a q(m), Rayleigh h
 * (block [B, N, 1] or per-resource [B, N, L, 1]), y = sum_n diag(h_n) s̄_n x_n + CN(0, noiseVar).
 */
function nomaBatch(rnd: RandomStreams, trials: TrialRange, s: Scenario, sig: ComplexTensor, opts: { p: number; noiseVar: number; csi: 'block' | 'per-resource' }) {
  return cx.tidy(() => {
    const { numDevices: N, sequenceLength: L } = s;
    const B = trials.count;
    const activity = tf.cast(tf.less(rnd.uniform(trials, 'activity', [N]), opts.p), 'float32') as tf.Tensor2D;
    const message = tf.cast(tf.floor(tf.mul(rnd.uniform(trials, 'message', [N]), 4)), 'int32') as tf.Tensor2D;
    const q = qpskSymbols(message);
    const x = cx.scale(q, activity); // [B, N]
    const channel = rnd.complexNormal(trials, 'h', opts.csi === 'block' ? [N, 1] : [N, L, 1]);
    const h = opts.csi === 'block' ? cx.reshape(channel, [B, N, 1]) : cx.reshape(channel, [B, N, L]);
    const g = cx.mul(h, cx.reshape(cx.transpose(sig), [1, N, L])); // [B, N, L]
    const clean = cx.sum(cx.mul(g, cx.reshape(x, [B, N, 1])), 1); // [B, L]
    const noise = rnd.complexNormal(trials, 'noise', [L], opts.noiseVar);
    const y = cx.reshape(cx.add(clean, noise), [B, L, 1]);
    return { y, channel, truth: { activity, message } };
  });
}

function disposeAll(x: unknown): void {
  if (x instanceof tf.Tensor) x.dispose();
  else if (x !== null && typeof x === 'object') Object.values(x).forEach(disposeAll);
}

const c = (re: number, im: number) => ({ re, im });
type C = ReturnType<typeof c>;
const mul = (a: C, b: C) => c(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re);
const sub = (a: C, b: C) => c(a.re - b.re, a.im - b.im);

describe('detector:sicnn', () => {
  // N = 2, L = 2, M = 1; one trial
  const s2: Scenario = { numDevices: 2, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 2 };
  const y = [c(1, 2), c(-0.5, 0.25)];
  const sig = [[c(0.6, 0), c(Math.SQRT1_2, 0)], [c(0, 0.8), c(0, -Math.SQRT1_2)]]; // [l][n]
  const tensors = (hb: C[][]) => ({
    y: { re: tf.tensor3d([[[y[0].re], [y[1].re]]]), im: tf.tensor3d([[[y[0].im], [y[1].im]]]) },
    signatures: { re: tf.tensor2d(sig.map((r) => r.map((v) => v.re))), im: tf.tensor2d(sig.map((r) => r.map((v) => v.im))) },
    // hb[n][l] (one entry per device for block fading)
    channel:
      hb[0].length === 1
        ? { re: tf.tensor3d([hb.map((r) => [r[0].re])]), im: tf.tensor3d([hb.map((r) => [r[0].im])]) }
        : { re: tf.tensor4d([hb.map((r) => r.map((v) => [v.re]))]), im: tf.tensor4d([hb.map((r) => r.map((v) => [v.im]))]) },
  });
  /** Linear modules (no hidden layer) whose kernel k of module n copies input picks[n][k] to output k. */
  const linear = (p: Partial<SicnnParams>, picks: [number, number][]) => {
    const det = new SicnnDetector(params({ hidden: [], ...p }), s2, new RandomStreams(['t']));
    const width = sicnnModuleWidths(params({ hidden: [], ...p }), s2)[0];
    picks.forEach(([a, b], n) => {
      const k = tf.buffer([width, 2]);
      k.set(1, a, 0);
      k.set(1, b, 1);
      det.trainableVariables()[`module${n}/output/kernel`].assign(k.toTensor());
    });
    return det;
  };
  const symbolsOf = (det: SicnnDetector, obs: ReturnType<typeof tensors>) => {
    const est = det.detect(obs);
    const out = [0, 1].map((n) => c(est.symbols?.re.dataSync()[n] ?? NaN, est.symbols?.im.dataSync()[n] ?? NaN));
    disposeAll(est);
    return out;
  };
  const closeTo = (a: C, b: C) => {
    expect(a.re).to.be.closeTo(b.re, 1e-5);
    expect(a.im).to.be.closeTo(b.im, 1e-5);
  };

  it('feeds module n [Re r, Im r, Re y, Im y, Re h, Im h] (block: one gain per device)', () => {
    // block inputs: r 0..3, y 4..7, Re h 8..9, Im h 10..11
    const h = [[c(0.6, -0.8)], [c(0.3, 0.1)]];
    const obs = tensors(h);
    const det = linear({}, [[9, 7], [11, 5]]);
    const [x0, x1] = symbolsOf(det, obs);
    closeTo(x0, c(h[1][0].re, y[1].im)); // Re h_1 + j Im y_1
    closeTo(x1, c(h[1][0].im, y[1].re)); // Im h_1 + j Re y_1
    disposeAll(obs);
    det.dispose();
  });

  it('subtracts diag(h_n) s̄_n x̂_n with the soft estimate before the next module (block and per-resource)', () => {
    // both modules output r[0]: x̂_0 = y_0, x̂_1 = y_0 - h_{0,0} s̄_{0,0} y_0
    for (const [csi, h] of [
      ['block', [[c(0.6, -0.8)], [c(0.3, 0.1)]]],
      ['per-resource', [[c(0.2, 0.5), c(-1, 0.3)], [c(0.3, 0.1), c(0.7, 0.7)]]],
    ] as const) {
      const obs = tensors(h.map((r) => [...r]));
      const det = linear({ csi }, [[0, 2], [0, 2]]);
      const [x0, x1] = symbolsOf(det, obs);
      closeTo(x0, y[0]);
      closeTo(x1, sub(y[0], mul(mul(h[0][0], sig[0][0]), y[0])));
      // layout check for per-resource: Re h device-major at 8 + n L + l
      if (csi === 'per-resource') {
        const d2 = linear({ csi }, [[8 + 1 * 2 + 1, 12 + 0 * 2 + 1], [4, 6]]);
        const [z0] = symbolsOf(d2, obs);
        closeTo(z0, c(h[1][1].re, h[0][1].im));
        d2.dispose();
      }
      disposeAll(obs);
      det.dispose();
    }
  });

  it('"paper-literal" subtracts s̄_n x̂_n / |x̂_n| without the channel', () => {
    const h = [[c(0.6, -0.8)], [c(0.3, 0.1)]];
    const obs = tensors(h);
    const det = linear({ sicSubtract: 'paper-literal' }, [[0, 2], [0, 2]]);
    const [, x1] = symbolsOf(det, obs);
    const abs = Math.hypot(y[0].re, y[0].im);
    closeTo(x1, sub(y[0], mul(sig[0][0], c(y[0].re / abs, y[0].im / abs))));
    disposeAll(obs);
    det.dispose();
  });

  it('outputs symbols, |x̂| score, activity and sliced messages of shape [B, N]; rejects channel state of the wrong rank', () => {
    const s: Scenario = { numDevices: 3, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 2 };
    const rnd = new RandomStreams(['shapes']);
    const sg = unitSignatures(rnd, 2, 3);
    for (const csi of ['block', 'per-resource'] as const) {
      const b = nomaBatch(rnd, { first: 0, count: 5 }, s, sg, { p: 0.5, noiseVar: 0.1, csi });
      const det = new SicnnDetector(params({ csi }), s, rnd);
      const est = det.detect({ y: b.y, channel: b.channel, signatures: sg });
      for (const t of [est.symbols?.re, est.symbols?.im, est.activityScore, est.activity, est.message]) expect(t?.shape).to.deep.equal([5, 3]);
      expect(est.message?.dtype).to.equal('int32');
      const [re, im, score, act] = [est.symbols?.re, est.symbols?.im, est.activityScore, est.activity].map((t) => Array.from(t?.dataSync() ?? []));
      re.forEach((r, i) => {
        expect(score[i]).to.be.closeTo(Math.hypot(r, im[i]), 1e-5);
        expect(act[i]).to.equal(Math.hypot(r, im[i]) > 0.5 ? 1 : 0);
      });
      const other = nomaBatch(rnd, { first: 0, count: 5 }, s, sg, { p: 0.5, noiseVar: 0.1, csi: csi === 'block' ? 'per-resource' : 'block' });
      expect(() => det.detect({ y: other.y, channel: other.channel, signatures: sg })).to.throw(new RegExp(`detector:sicnn: param csi is "${csi}"`));
      disposeAll([est, b, other]);
      det.dispose();
    }
    disposeAll(sg);
  });

  it('has 2 024 460 weights and biases for N = 6, H = 4, per-resource CSI and the paper\'s layers', () => {
    const s: Scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };
    const hidden = [128, 256, 512, 256, 128];
    for (const [csi, inputs, total] of [
      ['per-resource', 64, 2_024_460],
      ['block', 28, 6 * denseParameterCount([28, ...hidden, 2])],
    ] as const) {
      expect(sicnnModuleWidths(params({ csi, hidden }), s)).to.deep.equal([inputs, ...hidden, 2]);
      const det = new SicnnDetector(params({ csi, hidden }), s, new RandomStreams(['count']));
      const vars = det.trainableVariables();
      expect(Object.values(vars).reduce((n, v) => n + v.size, 0)).to.equal(total);
      expect(Object.keys(vars)).to.include.members(['module0/dense0/kernel', 'module5/dense4/bias', 'module5/output/kernel']);
      expect(vars['module0/output/kernel'].shape).to.deep.equal([128, 2]);
      det.dispose();
    }
  });

  it('draws different initial weights for each module, reproducibly from its seed', () => {
    const s: Scenario = { numDevices: 2, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 2 };
    const a = new SicnnDetector(params(), s, new RandomStreams(['w']));
    const b = new SicnnDetector(params(), s, new RandomStreams(['w']));
    const k = (d: SicnnDetector, n: number) => Array.from(d.trainableVariables()[`module${n}/dense0/kernel`].dataSync());
    expect(k(a, 0)).to.not.deep.equal(k(a, 1));
    expect(k(b, 1)).to.deep.equal(k(a, 1));
    a.dispose();
    b.dispose();
  });

  it('passes the gradient of mse-fair to every module and to the signatures (no stop-gradient)', () => {
    const s: Scenario = { numDevices: 3, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 2 };
    const rnd = new RandomStreams(['grad']);
    const s0 = unitSignatures(rnd, 2, 3);
    const sigRe = tf.variable(s0.re);
    const sigIm = tf.variable(s0.im);
    for (const sicSubtract of ['channel-aware', 'paper-literal'] as const) {
      const det = new SicnnDetector(params({ sicSubtract }), s, rnd);
      const b = nomaBatch(rnd, { first: 0, count: 16 }, s, s0, { p: 0.7, noiseVar: 0.01, csi: 'block' });
      const vars = det.trainableVariables();
      const { value, grads } = tf.variableGrads(() => {
        const est = det.detect({ y: b.y, channel: b.channel, signatures: { re: sigRe, im: sigIm } });
        return det.loss({ estimate: est, truth: { ...b.truth, channel: b.channel, largeScaleFading: tf.ones([16, 3]) } } as never);
      }, [...Object.values(vars), sigRe, sigIm]);
      const norm = (v: tf.Variable) => {
        const g = grads[v.name];
        return g === undefined || g === null ? 0 : tf.tidy(() => tf.norm(g).dataSync()[0]);
      };
      for (let n = 0; n < 3; n++) {
        for (const layer of ['dense0', 'dense1', 'output']) {
          expect(norm(vars[`module${n}/${layer}/kernel`]), `${sicSubtract} module${n}/${layer}/kernel`).to.be.greaterThan(0);
        }
      }
      expect(norm(sigRe), `${sicSubtract} signatures re`).to.be.greaterThan(0);
      expect(norm(sigIm), `${sicSubtract} signatures im`).to.be.greaterThan(0);
      disposeAll([value, grads, b]);
      det.dispose();
    }
    disposeAll([s0, sigRe, sigIm]);
  });

  it('learns: 300 Adam steps at 20 dB (N = 3, L = 2, block fading, hidden [16, 16]) at least halve the mse-fair loss', function () {
    this.timeout(30000);
    const s: Scenario = { numDevices: 3, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 2 };
    const rnd = new RandomStreams(['train', 1]);
    const sg = unitSignatures(rnd, 2, 3);
    const det = new SicnnDetector(params(), s, rnd);
    const data = { p: 0.7, noiseVar: 0.01 / 2, csi: 'block' as const };
    const evalBatch = nomaBatch(rnd.child('eval'), { first: 0, count: 1000 }, s, sg, data);
    const evalLoss = () =>
      tf.tidy(() => mseFairLoss(det.detect({ y: evalBatch.y, channel: evalBatch.channel, signatures: sg }).symbols as ComplexTensor, evalBatch.truth, params().loss).dataSync()[0]);
    const before = evalLoss();
    // the trivial estimator x̂ = 0 scores sum_n P(active) = about 3 p = 2.1 (no fairness gap)
    const zero = tf.tidy(() => mseFairLoss({ re: tf.zerosLike(evalBatch.truth.activity), im: tf.zerosLike(evalBatch.truth.activity) }, evalBatch.truth, params().loss).dataSync()[0]);
    const optimizer = tf.train.adam(0.01);
    const vars = Object.values(det.trainableVariables());
    for (let step = 0; step < 300; step++) {
      const b = nomaBatch(rnd, { first: step * 64, count: 64 }, s, sg, data);
      optimizer.minimize(() => mseFairLoss(det.detect({ y: b.y, channel: b.channel, signatures: sg }).symbols as ComplexTensor, b.truth, params().loss), false, vars);
      disposeAll(b);
    }
    const after = evalLoss();
    expect(after).to.be.lessThan(0.5 * before);
    expect(after, 'better than the zero estimator').to.be.lessThan(0.75 * zero);
    optimizer.dispose();
    disposeAll([evalBatch, sg]);
    det.dispose();
  });
});

// The contract with the side information a SICNN needs (the generic synthetic observation has no
// signatures and two antennas): one antenna, QPSK, unit-norm signatures, block or per-resource CSI.
const QPSK_ONE_ANTENNA: Scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };
for (const csi of ['block', 'per-resource'] as const) {
  describePluginContract(SicnnDetector, {
    scenario: QPSK_ONE_ANTENNA,
    params: { hidden: [16, 16], csi },
    observation: (s, batch) => {
      const rnd = new RandomStreams(['contract-sicnn']);
      const { numDevices: N, sequenceLength: L, numAntennas: M } = s;
      return { signatures: unitSignatures(rnd, L, N), channel: rnd.complexNormal({ first: 0, count: batch }, 'h', csi === 'block' ? [N, M] : [N, L, M]) };
    },
  });
}
