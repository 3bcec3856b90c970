import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { blas, cx, RandomStreams, resetBlasForTests, type ComplexTensor, type Scenario } from '@gfra/core';
import { CorrelationEnergyDetector, type CorrelationEnergyParams } from '../correlation-energy';
import { bestSequence, decideActivity } from '../decision';
import { TRIALS_PER_PRODUCT } from './amp-host';
import { hostCorrelationEnergy, type HostCorrelationInput, type HostCorrelationOutput } from './correlation-energy-host';
import { HostWorkspace } from './host-workspace';

/** Unit roundoff of float32. */
const U = 2 ** -24;

/**
 * The tfjs computation the detector ran before its host kernel (kept here as the reference):
 * energies e = ||S^H Y||^2 / (M ||s||^2 v0) with float32 tensors, best of Q, threshold decision.
 */
function tfjsReference(y: ComplexTensor, S: ComplexTensor, N: number, Q: number, noiseVar: number | undefined, threshold: HostCorrelationInput['threshold']) {
  return tf.tidy(() => {
    const [B, L, M] = y.re.shape as [number, number, number];
    const perTrial = S.re.rank === 3;
    const norms = tf.sum(cx.abs2(S), perTrial ? 1 : 0);
    const z = cx.matmul(cx.hermitian(S), y);
    const v0 = noiseVar !== undefined ? tf.scalar(noiseVar) : tf.reshape(tf.div(tf.sum(cx.abs2(y), [1, 2]), L * M), [B, 1]);
    const energy = tf.div(tf.div(tf.sum(cx.abs2(z), 2), tf.mul(norms, M)), v0);
    const { best: score, message } = bestSequence(tf.reshape(energy, [B, N, Q]), 2);
    let tau: tf.Tensor;
    if (threshold.rule === 'scalar') tau = tf.scalar(threshold.tau);
    else {
      const beta = tf.tensor2d(Array.from(threshold.beta), [B, N]);
      const meanNorm = perTrial ? tf.mean(tf.reshape(norms, [B, N, Q]), 2) : tf.mean(tf.reshape(norms, [N, Q]), 1);
      tau = tf.add(1, tf.div(tf.mul(beta, meanNorm), tf.mul(2, v0)));
    }
    const activity = decideActivity(score, tau);
    const tauB = tf.broadcastTo(tau, [B, N]);
    return {
      energy: energy.dataSync() as Float32Array,
      score: score.dataSync() as Float32Array,
      message: message.dataSync() as Int32Array,
      activity: activity.dataSync() as Float32Array,
      tau: tauB.dataSync() as Float32Array,
    };
  });
}

/** Y = S X + W with a few active sequences per trial; a shared [L, K] or per-trial [B, L, K] codebook of raw CN(0, 1/L) entries. */
function draw(B: number, L: number, M: number, N: number, Q: number, perTrial: boolean, key: string) {
  const r = new RandomStreams(['correlation-energy-host', key]);
  const K = N * Q;
  return cx.tidy(() => {
    const trials = { first: 0, count: B };
    const S: ComplexTensor = perTrial ? r.complexNormal(trials, 's', [L, K], 1 / L) : r.complexNormalOnce('s', [L, K], 1 / L);
    const active = tf.cast(tf.less(r.uniform(trials, 'a', [K, 1]), 0.2 / Q), 'float32');
    const h = r.complexNormal(trials, 'h', [K, M], 4);
    const x = { re: tf.mul(h.re, active), im: tf.mul(h.im, active) };
    const w = r.complexNormal(trials, 'w', [L, M], 1);
    const sx = cx.matmul(perTrial ? S : { re: tf.broadcastTo(S.re, [B, L, K]), im: tf.broadcastTo(S.im, [B, L, K]) }, x);
    const y = { re: tf.add(sx.re, w.re), im: tf.add(sx.im, w.im) };
    const beta = tf.add(1, tf.mul(3, r.uniform(trials, 'beta', [N]))) as tf.Tensor2D;
    return { y, S, beta: beta.dataSync() as Float32Array, yRe: y.re.dataSync() as Float32Array, yIm: y.im.dataSync() as Float32Array, sRe: S.re.dataSync() as Float32Array, sIm: S.im.dataSync() as Float32Array };
  });
}
type Draw = ReturnType<typeof draw>;

const disposeDraw = (d: Draw) => tf.dispose([d.y.re, d.y.im, d.S.re, d.S.im]);

/** The host kernel's input for trials [from, to) of a draw, as batch trials firstTrial + from .. */
function input(d: Draw, dims: { L: number; M: number; N: number; Q: number }, threshold: HostCorrelationInput['threshold'], noiseVar: number | undefined, from = 0, to?: number, firstTrial = 0, workspace?: HostWorkspace): HostCorrelationInput {
  const { L, M, N, Q } = dims;
  const perTrial = d.S.re.rank === 3;
  const end = to ?? d.y.re.shape[0];
  const part = (v: Float32Array, per: number) => v.subarray(from * per, end * per);
  const K = N * Q;
  return {
    yRe: part(d.yRe, L * M),
    yIm: part(d.yIm, L * M),
    sRe: perTrial ? part(d.sRe, L * K) : d.sRe,
    sIm: perTrial ? part(d.sIm, L * K) : d.sIm,
    perTrial,
    B: end - from,
    L,
    M,
    N,
    Q,
    firstTrial: firstTrial + from,
    ...(noiseVar !== undefined ? { noiseVar } : {}),
    threshold: threshold.rule === 'midpoint' ? { rule: 'midpoint', beta: part(threshold.beta as Float32Array, N) } : threshold,
    ...(workspace !== undefined ? { workspace } : {}),
  };
}

/**
 * Float64 reference: e_k = ||s_k^H Y||^2 / (M ||s_k||^2 v0) from the float32 inputs, and for each
 * trial the scale ||Y_b||_F^2 / (M v0) that bounds every e_k times ||s_k||^2 / ||s_k||^2 (Cauchy-Schwarz).
 */
function float64Energies(d: Draw, L: number, M: number, K: number, noiseVar: number | undefined) {
  const B = d.y.re.shape[0];
  const perTrial = d.S.re.rank === 3;
  const energy = new Float64Array(B * K);
  const scale = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    const so = perTrial ? b * L * K : 0;
    let yy = 0;
    for (let i = 0; i < L * M; i++) yy += d.yRe[b * L * M + i] ** 2 + d.yIm[b * L * M + i] ** 2;
    const v0 = noiseVar ?? yy / (L * M);
    scale[b] = yy / (M * v0);
    for (let k = 0; k < K; k++) {
      let norm = 0;
      let e = 0;
      for (let l = 0; l < L; l++) norm += d.sRe[so + l * K + k] ** 2 + d.sIm[so + l * K + k] ** 2;
      for (let m = 0; m < M; m++) {
        let re = 0;
        let im = 0;
        for (let l = 0; l < L; l++) {
          const [sr, si] = [d.sRe[so + l * K + k], d.sIm[so + l * K + k]];
          const [yr, yi] = [d.yRe[(b * L + l) * M + m], d.yIm[(b * L + l) * M + m]];
          re += sr * yr + si * yi; // conj(s) y
          im += sr * yi - si * yr;
        }
        e += re * re + im * im;
      }
      energy[b * K + k] = e / (M * norm * v0);
    }
  }
  return { energy, scale };
}

/**
 * Float32 rounding bound on an energy: each correlation z = s^H y_m is a sum of 2L real products,
 * |fl(z) - z| <= gamma_{2L} ||s|| ||y_m|| (gamma_n = n u / (1 - n u)); with |z| <= ||s|| ||y_m||,
 * |fl(e) - e| <= (2 gamma + gamma^2) ||Y||_F^2 / (M v0) + the relative rounding of the float32
 * norms, sums and divisions (at most gamma_{L M + 4} e). Between two float32 computations, twice that.
 */
function bound(L: number, M: number, scale: number, e: number): number {
  const g = (n: number) => (n * U) / (1 - n * U);
  return 2 * ((2 * g(2 * L) + g(2 * L) ** 2) * scale + g(L * M + 4) * Math.abs(e));
}

const dims = { L: 12, M: 3, N: 10, Q: 2 };
const K = dims.N * dims.Q;
const B = 9;

describe('correlation-energy host kernel', () => {
  const cases: { name: string; perTrial: boolean; noiseVar?: number; threshold: (d: Draw) => HostCorrelationInput['threshold'] }[] = [
    { name: 'shared codebook, estimated v0, fixed tau', perTrial: false, threshold: () => ({ rule: 'scalar', tau: 1.6 }) },
    { name: 'shared codebook, known sigma^2, midpoint rule', perTrial: false, noiseVar: 1, threshold: (d) => ({ rule: 'midpoint', beta: d.beta }) },
    { name: 'per-trial codebook, estimated v0, midpoint rule', perTrial: true, threshold: (d) => ({ rule: 'midpoint', beta: d.beta }) },
    { name: 'per-trial codebook, known sigma^2, fixed tau', perTrial: true, noiseVar: 1, threshold: () => ({ rule: 'scalar', tau: 3 }) },
  ];
  for (const c of cases) {
    it(`${c.name}: the tfjs computation's scores to float32 rounding, its decisions and messages away from ties`, () => {
      const d = draw(B, dims.L, dims.M, dims.N, dims.Q, c.perTrial, c.name);
      const threshold = c.threshold(d);
      const host = hostCorrelationEnergy(input(d, dims, threshold, c.noiseVar));
      const ref = tfjsReference(d.y, d.S, dims.N, dims.Q, c.noiseVar, threshold);
      const { scale } = float64Energies(d, dims.L, dims.M, K, c.noiseVar);
      let decided = 0;
      let actives = 0;
      for (let b = 0; b < B; b++) {
        for (let n = 0; n < dims.N; n++) {
          const i = b * dims.N + n;
          const tol = bound(dims.L, dims.M, scale[b], ref.score[i]);
          expect(host.score[i], `trial ${b} device ${n}`).to.be.closeTo(ref.score[i], tol);
          // the message: equal unless the two sequences' energies are within rounding of each other
          const e = [0, 1].map((q) => ref.energy[b * K + n * dims.Q + q]);
          if (Math.abs(e[0] - e[1]) > 2 * bound(dims.L, dims.M, scale[b], Math.max(...e))) expect(host.message[i], `trial ${b} device ${n}`).to.equal(ref.message[i]);
          // the decision: equal unless the score is within rounding of the threshold
          if (Math.abs(ref.score[i] - ref.tau[i]) > 2 * tol + 4 * U * Math.abs(ref.tau[i])) {
            expect(host.activity[i], `trial ${b} device ${n}`).to.equal(ref.activity[i]);
            decided += 1;
          }
          actives += host.activity[i];
        }
      }
      // not vacuous: nearly every decision was compared, and both outcomes occur
      expect(decided).to.be.at.least(B * dims.N - 2);
      expect(actives).to.be.within(1, B * dims.N - 1);
      disposeDraw(d);
    });
  }

  it('equals a float64 evaluation of ||s_k^H Y||^2 / (M ||s_k||^2 v0) to the float32 rounding bound, with messages as its arg max', () => {
    for (const perTrial of [false, true]) {
      const d = draw(B, dims.L, dims.M, dims.N, dims.Q, perTrial, `float64-${perTrial}`);
      const host = hostCorrelationEnergy(input(d, dims, { rule: 'scalar', tau: 2 }, undefined));
      const { energy, scale } = float64Energies(d, dims.L, dims.M, K, undefined);
      for (let b = 0; b < B; b++) {
        for (let n = 0; n < dims.N; n++) {
          const e = [0, 1].map((q) => energy[b * K + n * dims.Q + q]);
          const best = Math.max(...e);
          const tol = bound(dims.L, dims.M, scale[b], best) / 2 + U * best; // one float32 computation, then the float32 output
          expect(host.score[b * dims.N + n]).to.be.closeTo(best, tol);
          if (Math.abs(e[0] - e[1]) > 2 * tol) expect(host.message[b * dims.N + n]).to.equal(e.indexOf(best));
          expect(host.score[b * dims.N + n]).to.be.at.most(dims.L * (1 + 1e-5)); // Cauchy-Schwarz with the estimated v0
        }
      }
      disposeDraw(d);
    }
  });

  it('the same numbers, bit for bit, whatever the batch split and the position of the batch among the trials', () => {
    const G = TRIALS_PER_PRODUCT;
    const Bs = G + 5;
    for (const perTrial of [false, true]) {
      const d = draw(Bs, dims.L, dims.M, dims.N, dims.Q, perTrial, `split-${perTrial}`);
      const threshold: HostCorrelationInput['threshold'] = { rule: 'midpoint', beta: d.beta };
      // trials 13 .. 13 + Bs: chunks of G cross the batch at trial 16
      const whole = hostCorrelationEnergy(input(d, dims, threshold, undefined, 0, Bs, 13));
      const ws = new HostWorkspace();
      for (const cuts of [[0, 3, 7, Bs], [0, 1, Bs], [0, Bs - 1, Bs]]) {
        const parts: HostCorrelationOutput[] = [];
        for (let i = 0; i + 1 < cuts.length; i++) parts.push(hostCorrelationEnergy(input(d, dims, threshold, undefined, cuts[i], cuts[i + 1], 13, ws)));
        const join = <T extends Float32Array | Int32Array>(pick: (o: HostCorrelationOutput) => T) => parts.flatMap((p) => Array.from(pick(p)));
        expect(join((o) => o.score), `cuts ${cuts}`).to.deep.equal(Array.from(whole.score));
        expect(join((o) => o.activity), `cuts ${cuts}`).to.deep.equal(Array.from(whole.activity));
        expect(join((o) => o.message), `cuts ${cuts}`).to.deep.equal(Array.from(whole.message));
      }
      disposeDraw(d);
    }
  });

  it('the JavaScript fallback gives the native path\'s scores to float32 rounding', function () {
    if (!blas().native) this.skip();
    const d = draw(B, dims.L, dims.M, dims.N, dims.Q, false, 'fallback');
    const native = hostCorrelationEnergy(input(d, dims, { rule: 'scalar', tau: 2 }, undefined));
    const saved = process.env.GFRA_BLAS;
    process.env.GFRA_BLAS = 'javascript';
    resetBlasForTests();
    try {
      expect(blas().native).to.equal(false);
      const js = hostCorrelationEnergy(input(d, dims, { rule: 'scalar', tau: 2 }, undefined));
      const { scale } = float64Energies(d, dims.L, dims.M, K, undefined);
      native.score.forEach((v, i) => expect(js.score[i]).to.be.closeTo(v, bound(dims.L, dims.M, scale[Math.floor(i / dims.N)], v)));
    } finally {
      if (saved === undefined) delete process.env.GFRA_BLAS;
      else process.env.GFRA_BLAS = saved;
      resetBlasForTests();
    }
    disposeDraw(d);
  });

  it('the detector: its outputs are the kernel\'s, its buffers are reused without changing results, and no tensor leaks', () => {
    const scenario: Scenario = { numDevices: dims.N, numAntennas: dims.M, sequenceLength: dims.L, bitsPerDevice: 1 };
    const d = draw(B, dims.L, dims.M, dims.N, dims.Q, false, 'detector');
    const params: CorrelationEnergyParams = { threshold: { rule: 'false-alarm', falseAlarm: 0.05 }, noiseLevel: 'estimated' };
    const det = new CorrelationEnergyDetector(params, scenario);
    const before = tf.memory().numTensors;
    const first = det.detect({ y: d.y, codebook: d.S, trials: { first: 5, count: B } });
    const read = (e: typeof first) => ({ score: Array.from(e.activityScore?.dataSync() ?? []), activity: Array.from(e.activity?.dataSync() ?? []), message: Array.from(e.message?.dataSync() ?? []) });
    const a = read(first);
    tf.dispose([first.activityScore, first.activity, first.message] as tf.Tensor[]);
    // a call of another size in between, then the first batch again
    const other = draw(3, dims.L, dims.M, dims.N, dims.Q, false, 'other');
    tf.dispose(Object.values(det.detect({ y: other.y, codebook: other.S })) as tf.Tensor[]);
    const again = det.detect({ y: d.y, codebook: d.S, trials: { first: 5, count: B } });
    expect(read(again)).to.deep.equal(a);
    tf.dispose([again.activityScore, again.activity, again.message] as tf.Tensor[]);
    disposeDraw(other);
    expect(tf.memory().numTensors).to.equal(before);
    const tau = det.falseAlarmThreshold(0.05);
    const host = hostCorrelationEnergy(input(d, dims, { rule: 'scalar', tau }, undefined, 0, B, 5));
    expect(a).to.deep.equal({ score: Array.from(host.score), activity: Array.from(host.activity), message: Array.from(host.message) });
    disposeDraw(d);
  });
});
