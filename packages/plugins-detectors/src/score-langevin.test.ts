import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Value } from '@sinclair/typebox/value';
import { applyDefaults, cx, RandomStreams, type ComplexTensor, type Scenario, type TrainingBatch } from '@gfra/core';
import { pathLossPrior } from './algorithms/score-models';
import { ScoreLangevinDetector, ScoreLangevinParams } from './score-langevin';

const S: Scenario = { numDevices: 32, numAntennas: 8, sequenceLength: 16, bitsPerDevice: 0 };
const GEOMETRY = { minDistanceKm: 0.1, maxDistanceKm: 0.3, pathLossDb: 128.1, pathLossExponentDb: 37.6, gains: 'path-loss' as const };

function params(p: Record<string, unknown>): ScoreLangevinParams {
  const out = applyDefaults(ScoreLangevinParams, p) as ScoreLangevinParams;
  expect([...Value.Errors(ScoreLangevinParams, out)].map((e) => `${e.path} ${e.message}`)).to.deep.equal([]);
  return out;
}

/**
 * A batch of the reduced configuration: K = 4 of N = 32 users active, normalised path-loss gains
 * (the discretised law of the oracle prior), i.i.d. Rayleigh over M = 8 antennas; unit-norm QPSK
 * pilots A [L, N]; Y = A X + W at the per-entry received SNR snrDb (sigma^2 = (N / L) 10^(-snr/10)).
 */
function problem(B: number, snrDb: number, key: string) {
  const { numDevices: N, numAntennas: M, sequenceLength: L } = S;
  const g = new RandomStreams([key]).onceGenerator('problem');
  const gains = pathLossPrior(GEOMETRY, 4 / 32, 64).slice(1).map((c) => c.gain);
  const q = 1 / Math.sqrt(2 * L);
  const A = Array.from({ length: L * N }, () => [g.uniform() < 0.5 ? q : -q, g.uniform() < 0.5 ? q : -q]);
  const activity = new Float32Array(B * N);
  const xr = new Float32Array(B * N * M);
  const xi = new Float32Array(B * N * M);
  for (let b = 0; b < B; b++) {
    const users = Array.from({ length: N }, (_, n) => n);
    for (let k = 0; k < 4; k++) {
      const j = k + Math.floor(g.uniform() * (N - k));
      [users[k], users[j]] = [users[j], users[k]];
      activity[b * N + users[k]] = 1;
      const gain = gains[Math.floor(g.uniform() * gains.length)];
      for (let m = 0; m < M; m++) {
        xr[(b * N + users[k]) * M + m] = Math.sqrt(gain / 2) * g.normal();
        xi[(b * N + users[k]) * M + m] = Math.sqrt(gain / 2) * g.normal();
      }
    }
  }
  const noiseVar = (N / L) * Math.pow(10, -snrDb / 10);
  const pilots = { re: tf.tensor2d(A.map((a) => a[0]), [L, N]), im: tf.tensor2d(A.map((a) => a[1]), [L, N]) };
  const x = { re: tf.tensor3d(xr, [B, N, M]), im: tf.tensor3d(xi, [B, N, M]) };
  const w = new RandomStreams([key, 'w']).complexNormalOnce('w', [B, L, M], noiseVar);
  const y = cx.tidy((): ComplexTensor => {
    const ax = (t: ComplexTensor) => ({
      re: tf.stack(tf.unstack(t.re).map((xb, b) => tf.sub(tf.matMul(pilots.re, xb), tf.matMul(pilots.im, tf.unstack(t.im)[b])))),
      im: tf.stack(tf.unstack(t.re).map((xb, b) => tf.add(tf.matMul(pilots.re, tf.unstack(t.im)[b]), tf.matMul(pilots.im, xb)))),
    });
    const clean = ax(x);
    return { re: tf.add(clean.re, w.re), im: tf.add(clean.im, w.im) };
  });
  tf.dispose([w.re, w.im]);
  return { x, y, pilots, noiseVar, activity: tf.tensor2d(activity, [B, N]) };
}

const nmseDb = (est: ComplexTensor, x: ComplexTensor) => tf.tidy(() => 10 * Math.log10(tf.mean(tf.div(tf.sum(cx.abs2(cx.sub(est, x)), [1, 2]), tf.sum(cx.abs2(x), [1, 2]))).dataSync()[0]));

describe('detector:score-langevin', () => {
  it('oracle prior at 30 dB: NMSE far below LMMSE\'s floor (-3 dB at rho = 0.5) and near-perfect activity detection', function () {
    this.timeout(60000);
    const P = problem(10, 30, 'oracle');
    const det = new ScoreLangevinDetector(
      params({ prior: { type: 'oracle-mixture', activityProb: 4 / 32 }, sampler: { levels: { count: 100 }, stepsPerLevel: 3 }, activityThreshold: 0.53 }),
      S,
      new RandomStreams(['det']),
    );
    const before = tf.memory().numTensors;
    const est = det.detect({ y: P.y, codebook: P.pilots, noiseVar: P.noiseVar, trials: { first: 0, count: 10 } });
    // the reduced-scale targets: <= -25 dB at 30 dB with the full sampler (200 levels); here 100 levels
    // and 10 trials: at least 15 dB below LMMSE's floor of -3 dB
    const nmse = nmseDb(est.channel as ComplexTensor, P.x);
    expect(nmse).to.be.lessThan(-18);
    const errors = tf.tidy(() => tf.sum(tf.abs(tf.sub(est.activity as tf.Tensor, P.activity))).dataSync()[0]);
    expect(errors / (10 * 32), 'activity error rate').to.be.lessThan(0.02);
    tf.dispose([est.channel?.re, est.channel?.im, est.activity, est.activityScore] as tf.Tensor[]);
    expect(tf.memory().numTensors, 'tensors left by detect').to.equal(before);
    det.dispose();
    tf.dispose([P.x.re, P.x.im, P.y.re, P.y.im, P.pilots.re, P.pilots.im, P.activity]);
  });

  it('the same trials give the same estimate whatever the batch split (draws keyed by trial)', function () {
    this.timeout(30000);
    const P = problem(4, 20, 'split');
    const det = new ScoreLangevinDetector(params({ prior: { type: 'oracle-mixture', activityProb: 4 / 32 }, sampler: { levels: { count: 20 }, stepsPerLevel: 2 } }), S, new RandomStreams(['det']));
    const whole = det.detect({ y: P.y, codebook: P.pilots, noiseVar: P.noiseVar, trials: { first: 100, count: 4 } });
    const halves = [0, 2].map((first) => {
      const y = { re: tf.slice(P.y.re, [first, 0, 0], [2, -1, -1]), im: tf.slice(P.y.im, [first, 0, 0], [2, -1, -1]) };
      return det.detect({ y, codebook: P.pilots, noiseVar: P.noiseVar, trials: { first: 100 + first, count: 2 } });
    });
    const a = Array.from(whole.channel?.re.dataSync() ?? []);
    const b = halves.flatMap((h) => Array.from(h.channel?.re.dataSync() ?? []));
    expect(b.length).to.equal(a.length);
    a.forEach((v, i) => expect(v, `entry ${i}`).to.be.closeTo(b[i], 1e-4 * Math.max(1, Math.abs(v))));
    det.dispose();
  });

  it('learned prior: the loss is denoising score matching on the true X = diag(a) H; gradients reach the network; training mode skips the sampler', () => {
    const P = problem(8, 20, 'dsm');
    const det = new ScoreLangevinDetector(params({ prior: { type: 'column-radial' } }), S, new RandomStreams(['det']));
    det.setTraining(true);
    const start = performance.now();
    const est = det.detect({ y: P.y, codebook: P.pilots, noiseVar: P.noiseVar, trials: { first: 0, count: 8 } });
    expect(performance.now() - start, 'training-mode detect (ms)').to.be.lessThan(200);
    expect(est.channel?.re.shape).to.deep.equal([8, 32, 8]);
    const batch = { trials: { first: 0, count: 8 }, traffic: { activity: P.activity }, channel: { channel: P.x } } as unknown as TrainingBatch;
    const vars = det.trainableVariables();
    const { value, grads } = tf.variableGrads(() => det.loss(batch), Object.values(vars));
    // an untrained radial model (k = 0.5 / sigma^2) has a DSM loss far above the exact score's ~26
    expect(value.dataSync()[0]).to.be.greaterThan(40);
    const out = tf.tidy(() => tf.norm(grads[vars['radial/output/kernel'].name]).dataSync()[0]);
    expect(out).to.be.greaterThan(0);
    det.setTraining(false);
    tf.dispose([value, ...Object.values(grads)]);
    det.dispose();
  });

  it('refinenet-lite prior: detects with the declared shapes and trains (DSM gradient reaches its head)', function () {
    this.timeout(30000);
    const P = problem(2, 20, 'refinenet');
    const det = new ScoreLangevinDetector(params({ prior: { type: 'refinenet-lite', channels: 4, depth: 1 }, sampler: { levels: { count: 3 }, stepsPerLevel: 1 } }), S, new RandomStreams(['det']));
    const est = det.detect({ y: P.y, codebook: P.pilots, noiseVar: P.noiseVar, trials: { first: 0, count: 2 } });
    expect(est.channel?.re.shape).to.deep.equal([2, 32, 8]);
    expect(est.activityScore?.shape).to.deep.equal([2, 32]);
    const vars = det.trainableVariables();
    det.setTraining(true);
    const batch = { trials: { first: 0, count: 2 }, traffic: { activity: P.activity }, channel: { channel: P.x } } as unknown as TrainingBatch;
    const { value, grads } = tf.variableGrads(() => det.loss(batch), Object.values(vars));
    expect(Number.isFinite(value.dataSync()[0])).to.equal(true);
    expect(tf.tidy(() => tf.norm(grads[vars['refinenet/head/kernel'].name]).dataSync()[0])).to.be.greaterThan(0);
    det.setTraining(false);
    tf.dispose([value, ...Object.values(grads), est.channel?.re, est.channel?.im, est.activity, est.activityScore] as tf.Tensor[]);
    det.dispose();
  });

  it('chains: the mean of C posterior samples has error (1 + 1 / C) MMSE (Gaussian prior: 4 chains are 10 log10(2 / 1.25) = 2.0 dB better than one)', function () {
    this.timeout(60000);
    // Gaussian problem: X ~ CN(0, I) (all users "active"), the sampler's posterior is the LMMSE one;
    // a single sample has error 2 MMSE, the mean of C independent samples (1 + 1/C) MMSE
    const { numDevices: N, numAntennas: M, sequenceLength: L } = S;
    const B = 16;
    const g = new RandomStreams(['chains']).onceGenerator('problem');
    const q = 1 / Math.sqrt(2 * L);
    const pilots = { re: tf.tensor2d(Array.from({ length: L * N }, () => (g.uniform() < 0.5 ? q : -q)), [L, N]), im: tf.tensor2d(Array.from({ length: L * N }, () => (g.uniform() < 0.5 ? q : -q)), [L, N]) };
    const x = new RandomStreams(['chains']).complexNormalOnce('x', [B, N, M]);
    const noiseVar = (N / L) * 0.1; // 10 dB
    const w = new RandomStreams(['chains']).complexNormalOnce('w', [B, L, M], noiseVar);
    const y = cx.tidy((): ComplexTensor => {
      const cols = (t: tf.Tensor) => tf.reshape(tf.transpose(t, [1, 0, 2]), [N, B * M]) as tf.Tensor2D;
      const back = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [L, B, M]), [1, 0, 2]);
      const re = back(tf.sub(tf.matMul(pilots.re, cols(x.re)), tf.matMul(pilots.im, cols(x.im))));
      const im = back(tf.add(tf.matMul(pilots.re, cols(x.im)), tf.matMul(pilots.im, cols(x.re))));
      return { re: tf.add(re, w.re), im: tf.add(im, w.im) };
    });
    const errorDb = (chains: number) => {
      const det = new ScoreLangevinDetector(params({ prior: { type: 'gaussian' }, sampler: { chains, temperature: 1 } }), S, new RandomStreams(['det']));
      const est = det.detect({ y, codebook: pilots, noiseVar, trials: { first: 0, count: B } });
      const db = tf.tidy(() => 10 * Math.log10(tf.sum(cx.abs2(cx.sub(est.channel as ComplexTensor, x))).dataSync()[0]));
      tf.dispose([est.channel?.re, est.channel?.im, est.activity, est.activityScore] as tf.Tensor[]);
      det.dispose();
      return db;
    };
    // B N M = 4096 complex entries: each error energy is known to a few %; +-0.5 dB
    expect(errorDb(1) - errorDb(4)).to.be.closeTo(10 * Math.log10(2 / 1.25), 0.5);
    tf.dispose([pilots.re, pilots.im, x.re, x.im, w.re, w.im, y.re, y.im]);
  });

  it('says what is wrong: bitsPerDevice, inverted level ladders, a per-trial codebook, per-resource channels in training', () => {
    const check = (p: Record<string, unknown>, s: Scenario = S) => ScoreLangevinDetector.plugin.check?.(params(p), s) ?? [];
    expect(check({}, { ...S, bitsPerDevice: 2 })).to.deep.equal([
      { path: '', message: 'estimates channels from one pilot per device, but the scenario has bitsPerDevice 2', hint: 'Use "bitsPerDevice": 0' },
    ]);
    expect(check({ sampler: { levels: { max: 1, min: 2 } } })).to.deep.equal([{ path: 'sampler.levels.min', message: 'is 2, not below max 1', hint: 'Levels decrease from max to min' }]);
    expect(check({ prior: { type: 'oracle-mixture', activityProb: 0.1, minDistanceKm: 0.5, maxDistanceKm: 0.3 } })).to.deep.equal([
      { path: 'prior.minDistanceKm', message: 'must be below maxDistanceKm', hint: "Copy the channel's distances" },
    ]);
    const P = problem(2, 20, 'errors');
    const det = new ScoreLangevinDetector(params({ prior: { type: 'gaussian' }, sampler: { levels: { count: 2 }, stepsPerLevel: 1 } }), S, new RandomStreams(['det']));
    const perTrial = { re: tf.stack([P.pilots.re, P.pilots.re]), im: tf.stack([P.pilots.im, P.pilots.im]) };
    expect(() => det.detect({ y: P.y, codebook: perTrial, noiseVar: P.noiseVar })).to.throw(
      'detector:score-langevin: needs one pilot matrix [L, N] = [16, 32] shared by the batch; the codebook has shape [2,16,32] (a per-trial codebook, redraw "per-trial", is not supported)',
    );
    const learned = new ScoreLangevinDetector(params({ prior: { type: 'column-radial' } }), S, new RandomStreams(['det']));
    const perResource = { re: tf.zeros([2, 32, 16, 8]), im: tf.zeros([2, 32, 16, 8]) };
    const batch = { trials: { first: 0, count: 2 }, traffic: { activity: P.activity }, channel: { channel: perResource } } as unknown as TrainingBatch;
    expect(() => learned.loss(batch)).to.throw('detector:score-langevin: learns block-fading channels [B, N, M]; the channel gives shape [2,32,16,8]');
    tf.dispose([perTrial.re, perTrial.im, perResource.re, perResource.im, P.x.re, P.x.im, P.y.re, P.y.im, P.pilots.re, P.pilots.im, P.activity]);
    det.dispose();
    learned.dispose();
  });
});
