/**
 * Per-trial codebooks (encoder `redraw: "per-trial"`): every classical detector that takes a
 * codebook accepts one codebook per trial, [B, L, N*Q], in one call for the whole batch, and
 * gives each trial exactly what it gives that trial run alone with its own codebook as a per-run
 * [L, N*Q] codebook; trained detectors refuse it with an error naming the option.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { applyDefaults, cx, numSequences, RandomStreams, type ComplexTensor, type Detector, type Estimate, type Observation, type Scenario } from '@gfra/core';
import { AmpUnfoldedDetector } from './amp-unfolded';
import { CorrelationEnergyDetector } from './correlation-energy';
import { CovarianceLassoDetector } from './covariance-lasso';
import { CovarianceMlDetector } from './covariance-ml';
import { ExhaustiveMlDetector } from './exhaustive-ml';
import { GroupLassoDetector } from './group-lasso';
import { GroupLassoUnfoldedDetector } from './group-lasso-unfolded';
import { MapUnfoldedDetector } from './map-unfolded';
import { MmvAmpDetector } from './mmv-amp';
import { ScmaMpaDetector } from './scma-mpa';
import { DlMampnetDetector } from './dl-mampnet';

const paramsOf = <P>(cls: { plugin: { params: unknown } }, p: Record<string, unknown> = {}): P => applyDefaults(cls.plugin.params, structuredClone(p)) as P;

/**
 * A batch with its own codebook per trial: S_b [L, K] with unit-norm CN columns (K = N Q),
 * Y_b = S_b X_b + W_b, X_b rows a_n 1(m_n = q) h_n^T, h_n ~ CN(0, beta I_M), W ~ CN(0, sigma^2).
 */
function perTrialBatch(scenario: Scenario, B: number, numActive: number, key: string) {
  const { numDevices: N, numAntennas: M, sequenceLength: L } = scenario;
  const Q = numSequences(scenario);
  const K = N * Q;
  const rnd = new RandomStreams(['per-trial-test', key]);
  const trials = { first: 0, count: B };
  const noiseVar = 0.05;
  return tf.tidy(() => {
    const raw = rnd.complexNormal(trials, 'pilots', [L, K], 1 / L);
    const codebook = cx.scale(raw, tf.rsqrt(tf.sum(cx.abs2(raw), 1, true))); // [B, L, K]
    // activity: the numActive devices with the smallest uniform draws; message uniform
    const u = rnd.uniform(trials, 'activity', [N]).arraySync() as number[][];
    const msg = rnd.uniform(trials, 'message', [N]).arraySync() as number[][];
    const rows = new Float32Array(B * K);
    const activity = u.map((row, b) => {
      const chosen = row.map((v, n) => [v, n]).sort((x, y) => x[0] - y[0]).slice(0, numActive).map(([, n]) => n);
      return row.map((_, n) => {
        if (!chosen.includes(n)) return 0;
        rows[b * K + n * Q + Math.floor(msg[b][n] * Q)] = 1;
        return 1;
      });
    });
    const h = rnd.complexNormal(trials, 'channel', [N, M], 1); // beta = 1
    const hRows = cx.reshape(cx.scale(cx.expandDims(h, 2), tf.reshape(tf.tensor(rows), [B, N, Q, 1])), [B, K, M]);
    const w = rnd.complexNormal(trials, 'noise', [L, M], noiseVar);
    const y = cx.add(cx.matmul(codebook, hRows), w);
    const keep = <T extends tf.Tensor>(t: T) => tf.keep(t);
    return {
      y: { re: keep(y.re), im: keep(y.im) },
      codebook: { re: keep(codebook.re), im: keep(codebook.im) },
      largeScaleFading: keep(tf.ones([B, N])) as tf.Tensor2D,
      activityProbability: keep(tf.fill([N], numActive / N)) as tf.Tensor1D,
      noiseVar,
      activity,
    };
  });
}

type Batch = ReturnType<typeof perTrialBatch>;

/** The observation of trials [from, to) of a batch, with `codebook` in place of the batch's. */
function observationOf(batch: Batch, codebook: ComplexTensor, from = 0, to = batch.y.re.shape[0]): Observation {
  const rows = (t: tf.Tensor) => tf.slice(t, from, to - from);
  return {
    y: { re: rows(batch.y.re), im: rows(batch.y.im) },
    codebook,
    noiseVar: batch.noiseVar,
    largeScaleFading: rows(batch.largeScaleFading) as tf.Tensor2D,
    activityProbability: batch.activityProbability,
  };
}

/** Every output of an estimate, flattened per trial: [B][values]. */
function outputs(e: Estimate): number[][] {
  const parts: tf.Tensor[] = [];
  for (const [, v] of Object.entries(e).sort(([a], [b]) => a.localeCompare(b))) {
    if (v === undefined) continue;
    if (v instanceof tf.Tensor) parts.push(v);
    else parts.push(v.re, v.im);
  }
  const B = parts[0].shape[0];
  return Array.from({ length: B }, (_, b) => parts.flatMap((t) => Array.from(tf.tidy(() => tf.slice(t, b, 1).dataSync()))));
}

/**
 * Largest relative deviation |x - r| / (1 + |r|) of `got` (one row per trial) from the outputs of
 * each trial run alone with its own codebook as a per-run codebook.
 */
function deviationFromSingleRuns(detector: Detector, batch: Batch, got: number[][]): number {
  const B = batch.y.re.shape[0];
  let worst = 0;
  for (let b = 0; b < B; b++) {
    const ref = tf.tidy(() => {
      const own = { re: tf.squeeze(tf.slice(batch.codebook.re, b, 1), [0]), im: tf.squeeze(tf.slice(batch.codebook.im, b, 1), [0]) };
      return outputs(detector.detect(observationOf(batch, own, b, b + 1)))[0];
    });
    ref.forEach((r, i) => (worst = Math.max(worst, Math.abs(got[b][i] - r) / (1 + Math.abs(r)))));
  }
  return worst;
}

/** The batch's codebook with trials 0 and 1 swapped (the wrong trial's codebook). */
function swapped(batch: Batch): ComplexTensor {
  const B = batch.codebook.re.shape[0];
  const order = [1, 0, ...Array.from({ length: B - 2 }, (_, i) => i + 2)];
  return { re: tf.gather(batch.codebook.re, order), im: tf.gather(batch.codebook.im, order) };
}

function dispose(batch: Batch) {
  tf.dispose([batch.y.re, batch.y.im, batch.codebook.re, batch.codebook.im, batch.largeScaleFading, batch.activityProbability]);
}

const s1: Scenario = { numDevices: 12, numAntennas: 4, sequenceLength: 8, bitsPerDevice: 0 };
const s2: Scenario = { numDevices: 8, numAntennas: 4, sequenceLength: 8, bitsPerDevice: 1 };
const tiny: Scenario = { numDevices: 4, numAntennas: 4, sequenceLength: 4, bitsPerDevice: 0 };

// Tolerances, fixed before running: host float64 algorithms compute trial b from the same float32
// inputs in the same order whether batched or alone, so they must agree exactly (0); batched tfjs
// float32 paths (batched matmul against the 2-D one) may differ in summation order, so 1e-3
// relative (|x - r| <= 1e-3 (1 + |r|)). A wrong trial's codebook must move some output of
// trial 0 or 1 by more than 1e-2 relative.
const HOST = 0;
const FLOAT32 = 1e-3;
const WRONG = 1e-2;

const cases: { name: string; scenario: Scenario; tol: number; make: (s: Scenario) => Detector; active?: number }[] = [
  { name: 'correlation-energy (false-alarm)', scenario: s1, tol: FLOAT32, make: (s) => new CorrelationEnergyDetector(paramsOf(CorrelationEnergyDetector), s) },
  { name: 'correlation-energy (midpoint, Q = 2)', scenario: s2, tol: FLOAT32, make: (s) => new CorrelationEnergyDetector(paramsOf(CorrelationEnergyDetector, { threshold: { rule: 'midpoint' } }), s) },
  { name: 'mmv-amp', scenario: s1, tol: FLOAT32, make: (s) => new MmvAmpDetector(paramsOf(MmvAmpDetector, { maxIterations: 20 }), s) },
  { name: 'mmv-amp (Q = 2, state evolution, scalar Onsager, damping)', scenario: s2, tol: FLOAT32, make: (s) => new MmvAmpDetector(paramsOf(MmvAmpDetector, { maxIterations: 20, noiseEstimate: 'state-evolution', onsager: 'scalar', damping: 0.2 }), s) },
  { name: 'covariance-ml (float64, ML-MMSE)', scenario: s1, tol: HOST, make: (s) => new CovarianceMlDetector(paramsOf(CovarianceMlDetector, { sweeps: 5, channelEstimate: 'mmse' }), s, new RandomStreams(['cov'])) },
  { name: 'covariance-ml (float32, Q = 2, MAP)', scenario: s2, tol: FLOAT32, make: (s) => new CovarianceMlDetector(paramsOf(CovarianceMlDetector, { sweeps: 3, precision: 'float32', objective: 'map' }), s, new RandomStreams(['cov'])) },
  { name: 'group-lasso (admm)', scenario: s1, tol: FLOAT32, make: (s) => new GroupLassoDetector(paramsOf(GroupLassoDetector, { iterations: 30, lambda: 0.1 }), s) },
  { name: 'group-lasso (bcd)', scenario: s1, tol: HOST, make: (s) => new GroupLassoDetector(paramsOf(GroupLassoDetector, { solver: 'bcd', iterations: 10, lambda: 0.1 }), s) },
  { name: 'covariance-lasso', scenario: s1, tol: HOST, make: (s) => new CovarianceLassoDetector(paramsOf(CovarianceLassoDetector, { sweeps: 20, lambda: 0.01 }), s) },
  { name: 'exhaustive-ml', scenario: tiny, tol: HOST, active: 2, make: (s) => new ExhaustiveMlDetector(paramsOf(ExhaustiveMlDetector), s) },
];

describe('per-trial codebooks [B, L, N*Q] (encoder redraw "per-trial")', () => {
  for (const c of cases) {
    it(`${c.name}: trial b of one batched call = trial b alone with its own codebook; a swapped codebook fails`, () => {
      const batch = perTrialBatch(c.scenario, 5, c.active ?? 3, c.name);
      const detector = c.make(c.scenario);
      const before = tf.memory().numTensors;
      const got = tf.tidy(() => outputs(detector.detect(observationOf(batch, batch.codebook))));
      expect(tf.memory().numTensors).to.equal(before);
      const right = deviationFromSingleRuns(detector, batch, got);
      expect(right, 'per-trial against single-trial runs').to.be.at.most(c.tol);
      const wrong = tf.tidy(() => deviationFromSingleRuns(detector, batch, outputs(detector.detect(observationOf(batch, swapped(batch))))));
      expect(wrong, "with trials 0 and 1 swapped (the wrong trial's codebook)").to.be.above(Math.max(c.tol, WRONG));
      detector.dispose?.();
      dispose(batch);
    });
  }

  it('trained detectors refuse a per-trial codebook, naming the option', () => {
    const batch = perTrialBatch(s1, 2, 3, 'refuse');
    const n = /redraw: "per-trial" is not supported by (amp-unfolded|group-lasso-unfolded|map-unfolded|dl-mampnet|scma-mpa).*use redraw: "per-run"/;
    const obs = observationOf(batch, batch.codebook);
    const detectors: Detector[] = [
      new AmpUnfoldedDetector(paramsOf(AmpUnfoldedDetector), s1, new RandomStreams(['a'])),
      new GroupLassoUnfoldedDetector(paramsOf(GroupLassoUnfoldedDetector), s1, new RandomStreams(['g'])),
      new MapUnfoldedDetector(paramsOf(MapUnfoldedDetector), s1, new RandomStreams(['m'])),
      new DlMampnetDetector(paramsOf(DlMampnetDetector), s1, new RandomStreams(['d'])),
    ];
    for (const d of detectors) expect(() => cx.tidy(() => d.detect(obs))).to.throw(n);
    const scma: Scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };
    const mpa = new ScmaMpaDetector(paramsOf(ScmaMpaDetector), scma);
    const cb = { re: tf.zeros([2, 4, 24]), im: tf.zeros([2, 4, 24]) };
    expect(() => mpa.detect({ y: { re: tf.zeros([2, 4, 1]), im: tf.zeros([2, 4, 1]) }, codebook: cb, noiseVar: 1, channel: { re: tf.zeros([2, 6, 4, 1]), im: tf.zeros([2, 6, 4, 1]) } })).to.throw(/not supported by scma-mpa/);
    detectors.forEach((d) => d.dispose?.());
    dispose(batch);
  });
});

describe('per-trial codebooks: the ensemble average over random pilots (statistical, fixed seeds)', () => {
  it('correlation-energy, N = 20, L = 8, M = 4, 3 active, 10 dB: per-trial P_MD over T = 2000 trials = mean P_MD of K = 20 per-run draws x 100 trials (5 SE)', () => {
    const s: Scenario = { numDevices: 20, numAntennas: 4, sequenceLength: 8, bitsPerDevice: 0 };
    const { numDevices: N, numAntennas: M, sequenceLength: L } = s;
    const numActive = 3;
    const noiseVar = 0.1;
    const det = new CorrelationEnergyDetector(paramsOf(CorrelationEnergyDetector), s);
    /** Misses per trial of trials [first, first + count) with codebook `pilots` ([L, N] or [B, L, N]). */
    const misses = (rnd: RandomStreams, first: number, count: number, pilots: (trials: { first: number; count: number }) => ComplexTensor): number[] =>
      tf.tidy(() => {
        const trials = { first, count };
        const S = pilots(trials);
        // activity: the numActive devices with the smallest uniform draws (a fixed count per trial)
        const u = rnd.uniform(trials, 'activity', [N]);
        const kth = tf.slice(tf.topk(tf.neg(u), numActive).values, [0, numActive - 1], [count, 1]);
        const a = tf.cast(tf.greaterEqual(tf.neg(u), kth), 'float32'); // [B, N]
        const h = rnd.complexNormal(trials, 'channel', [N, M], 1);
        const x = cx.scale(h, tf.expandDims(a, 2));
        const y = cx.add(cx.matmul(S, x), rnd.complexNormal(trials, 'noise', [L, M], noiseVar));
        const est = det.detect({ y, codebook: S });
        return Array.from(tf.sum(tf.mul(a, tf.sub(1, est.activity as tf.Tensor)), 1).dataSync());
      });
    const T = 2000;
    const runs = 20;
    const batch = 200;
    // Per trial: trial t has its own codebook, the gaussian-pilots draw `pilots` of trial t.
    const perTrialStreams = new RandomStreams(['ensemble', 'per-trial']);
    const perTrial: number[] = [];
    for (let first = 0; first < T; first += batch) {
      perTrial.push(...misses(perTrialStreams, first, batch, (trials) => perTrialStreams.complexNormal(trials, 'pilots', [L, N], 1 / L)));
    }
    // Per run: run k draws one codebook once (`pilots` once) and uses it for its T / K trials.
    const perRun = Array.from({ length: runs }, (_, k) => {
      const streams = new RandomStreams(['ensemble', 'per-run', k]);
      const S = streams.complexNormalOnce('pilots', [L, N], 1 / L);
      const m = misses(streams, 0, T / runs, () => S);
      cx.dispose(S);
      return m.reduce((p, v) => p + v, 0) / ((T / runs) * numActive);
    });
    // Interval (fixed before running): both are unbiased estimates of the ensemble P_MD
    // E_S[P_MD(S)] (a fixed number of active devices per trial, so the ratio is a plain mean).
    // Per trial: T i.i.d. trials (own codebook, activity, channel, noise): SE_1 = sd(misses_t / K_a) / sqrt(T).
    // Per run: K i.i.d. runs, each P_MD_k varying with its codebook and its trials: SE_2 = sd(P_MD_k) / sqrt(K).
    // Independent streams: |difference| <= 5 sqrt(SE_1^2 + SE_2^2).
    const mean = (v: number[]) => v.reduce((p, x) => p + x, 0) / v.length;
    const sd = (v: number[]) => Math.sqrt(v.reduce((p, x) => p + (x - mean(v)) ** 2, 0) / (v.length - 1));
    const frac = perTrial.map((m) => m / numActive);
    const pTrial = mean(frac);
    const pRun = mean(perRun);
    const se = Math.sqrt((sd(frac) / Math.sqrt(T)) ** 2 + (sd(perRun) / Math.sqrt(runs)) ** 2);
    expect(pTrial, `per-trial ${pTrial.toFixed(4)} vs per-run mean ${pRun.toFixed(4)} (runs ${Math.min(...perRun).toFixed(3)}..${Math.max(...perRun).toFixed(3)}), SE ${se.toFixed(4)}`).to.be.closeTo(pRun, 5 * se);
    // not vacuous: P_MD is away from 0 and 1, and the interval is narrower than the per-run spread
    expect(pTrial).to.be.within(0.02, 0.9);
    expect(5 * se).to.be.below(Math.max(...perRun) - Math.min(...perRun));
  });
});
