import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Generator, type Scenario } from '@gfra/core';
import { ExhaustiveMlDetector } from '../exhaustive-ml';
import { HostWorkspace } from './host-workspace';
import { hostExhaustiveSearch, type HostExhaustiveInput, type HostExhaustiveOutput } from './exhaustive-ml-host';

/** Float32 unit roundoff (the outputs are float32). */
const U = 2 ** -24;

interface Case {
  readonly B: number;
  readonly L: number;
  readonly M: number;
  readonly N: number;
  readonly Q: number;
  /** Q_n (default Q for every device). */
  readonly Qn?: number[];
  readonly perTrial: boolean;
  readonly perResource?: boolean;
  /** beta_n / sigma^2 range in dB. */
  readonly snrDb: [number, number];
  readonly eps: number;
}

/**
 * A batch of the signal model, drawn on the host: codebook columns CN(0, 1/L), each device active
 * with probability eps with a uniform message q < Q_n; noncoherent Y = sum s h^T + W (h ~ CN(0, beta I)),
 * coherent Y = sum h .* x + W with known h ~ CN(0, beta_n) (block [B, N, M] or per-resource [B, N, L, M]).
 * Everything float32, as the detector reads it from tensors.
 */
function draw(c: Case, model: 'noncoherent' | 'coherent', key: string) {
  const g = Generator.fromKey(['exhaustive-ml-host', model, key]);
  const { B, L, M, N, Q } = c;
  const K = N * Q;
  const Qn = c.Qn ?? Array(N).fill(Q);
  const sigma2 = 0.5;
  const cn = (v: number) => [Math.sqrt(v / 2) * g.normal(), Math.sqrt(v / 2) * g.normal()];
  const books = c.perTrial ? B : 1;
  const sRe = new Float32Array(books * L * K);
  const sIm = new Float32Array(books * L * K);
  for (let i = 0; i < sRe.length; i++) [sRe[i], sIm[i]] = cn(1 / L);
  for (let t = 0; t < books; t++) for (let n = 0; n < N; n++) for (let q = Qn[n]; q < Q; q++) for (let l = 0; l < L; l++) sRe[(t * L + l) * K + n * Q + q] = sIm[(t * L + l) * K + n * Q + q] = 0;
  const beta = new Float32Array(B * N).map(() => sigma2 * 10 ** ((c.snrDb[0] + (c.snrDb[1] - c.snrDb[0]) * g.uniform()) / 10));
  const hPer = c.perResource ? N * L * M : N * M;
  const hRe = new Float32Array(B * hPer);
  const hIm = new Float32Array(B * hPer);
  // known channels (coherent): h ~ CN(0, beta_n) per entry
  for (let i = 0; i < hRe.length; i++) [hRe[i], hIm[i]] = cn(beta[Math.floor(i / (hPer / N))]);
  const yRe = new Float32Array(B * L * M);
  const yIm = new Float32Array(B * L * M);
  for (let b = 0; b < B; b++) {
    const so = c.perTrial ? b * L * K : 0;
    const acc = Array.from({ length: L * M }, () => cn(sigma2));
    for (let n = 0; n < N; n++) {
      if (g.uniform() >= c.eps) continue;
      const k = n * Q + Math.floor(g.uniform() * Qn[n]);
      const h = Array.from({ length: M }, () => cn(beta[b * N + n]));
      for (let l = 0; l < L; l++) {
        for (let m = 0; m < M; m++) {
          const [xr, xi] = [sRe[so + l * K + k], sIm[so + l * K + k]];
          const hi = b * hPer + (c.perResource ? (n * L + l) * M + m : n * M + m);
          const [hr, him] = model === 'noncoherent' ? h[m] : [hRe[hi], hIm[hi]];
          acc[l * M + m][0] += xr * hr - xi * him;
          acc[l * M + m][1] += xr * him + xi * hr;
        }
      }
    }
    acc.forEach(([re, im], i) => ((yRe[b * L * M + i] = re), (yIm[b * L * M + i] = im)));
  }
  return { yRe, yIm, sRe, sIm, beta, hRe, hIm, sigma2, Qn };
}
type Draw = ReturnType<typeof draw>;

type Prior = 'map' | 'ml' | 'all-active';

function priors(c: Case, prior: Prior, Qn: number[]) {
  if (prior === 'all-active') return { inactive: Array(c.N).fill(-Infinity), active: Qn.map((q) => -Math.log(q)) };
  if (prior === 'ml') return { inactive: Array(c.N).fill(0), active: Array(c.N).fill(0) };
  return { inactive: Array(c.N).fill(Math.log1p(-c.eps)), active: Qn.map((q) => Math.log(c.eps / q)) };
}

function input(c: Case, d: Draw, model: 'noncoherent' | 'coherent', prior: Prior, from = 0, to = c.B, workspace?: HostWorkspace): HostExhaustiveInput {
  const { L, M, N, Q } = c;
  const part = (v: Float32Array, per: number) => v.subarray(from * per, to * per);
  const hPer = c.perResource ? N * L * M : N * M;
  return {
    model,
    yRe: part(d.yRe, L * M),
    yIm: part(d.yIm, L * M),
    sRe: c.perTrial ? part(d.sRe, L * N * Q) : d.sRe,
    sIm: c.perTrial ? part(d.sIm, L * N * Q) : d.sIm,
    perTrial: c.perTrial,
    B: to - from,
    L,
    M,
    N,
    Q,
    deviceSequences: d.Qn,
    bits: c.Qn === undefined ? Math.log2(Q) : 0,
    noiseVar: d.sigma2,
    beta: part(d.beta, N),
    channel: { re: part(d.hRe, hPer), im: part(d.hIm, hPer), perResource: c.perResource === true },
    logPrior: priors(c, prior, d.Qn),
    ...(workspace !== undefined ? { workspace } : {}),
  };
}

/** Every hypothesis in the search's order: device 0 first, -1 (inactive) before messages 0, 1, ... */
function hypotheses(Qn: number[], allActive: boolean): number[][] {
  let out: number[][] = [[]];
  for (const q of Qn) out = out.flatMap((h) => [...(allActive ? [] : [-1]), ...Array(q).keys()].map((o) => [...h, o]));
  return out;
}

function logSumExp(xs: number[]): number {
  const m = Math.max(...xs);
  return m === -Infinity ? m : m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
}

/**
 * Noncoherent log-likelihood + L M log(pi) of trial b under hypothesis h, evaluated directly:
 * Sigma = sum beta_n x x^H + sigma^2 I built entry by entry, its complex Cholesky factor C
 * (Sigma = C C^H), log det Sigma = 2 sum log C_ii, tr(Sigma^{-1} Y Y^H / M) = ||C^{-1} Y||_F^2 / M.
 */
function noncoherentLogLik(c: Case, d: Draw, b: number, h: number[]): number {
  const { L, M, N, Q } = c;
  const K = N * Q;
  const so = c.perTrial ? b * L * K : 0;
  const re = new Float64Array(L * L);
  const im = new Float64Array(L * L);
  for (let i = 0; i < L; i++) re[i * L + i] = d.sigma2;
  h.forEach((q, n) => {
    if (q < 0) return;
    const k = n * Q + q;
    const g = d.beta[b * N + n];
    for (let i = 0; i < L; i++)
      for (let j = 0; j < L; j++) {
        const [ar, ai, br, bi] = [d.sRe[so + i * K + k], d.sIm[so + i * K + k], d.sRe[so + j * K + k], d.sIm[so + j * K + k]];
        re[i * L + j] += g * (ar * br + ai * bi); // x_i conj(x_j)
        im[i * L + j] += g * (ai * br - ar * bi);
      }
  });
  // Cholesky: C lower triangular, C_jj real
  const cr = new Float64Array(L * L);
  const ci = new Float64Array(L * L);
  for (let j = 0; j < L; j++) {
    let dsum = re[j * L + j];
    for (let k = 0; k < j; k++) dsum -= cr[j * L + k] ** 2 + ci[j * L + k] ** 2;
    const cjj = Math.sqrt(dsum);
    cr[j * L + j] = cjj;
    for (let i = j + 1; i < L; i++) {
      // C_ij = (Sigma_ij - sum_k C_ik conj(C_jk)) / C_jj
      let sr = re[i * L + j];
      let si = im[i * L + j];
      for (let k = 0; k < j; k++) {
        sr -= cr[i * L + k] * cr[j * L + k] + ci[i * L + k] * ci[j * L + k];
        si -= ci[i * L + k] * cr[j * L + k] - cr[i * L + k] * ci[j * L + k];
      }
      cr[i * L + j] = sr / cjj;
      ci[i * L + j] = si / cjj;
    }
  }
  let logDet = 0;
  for (let j = 0; j < L; j++) logDet += 2 * Math.log(cr[j * L + j]);
  let quad = 0;
  for (let m = 0; m < M; m++) {
    // forward substitution C v = y_m
    const vr = new Float64Array(L);
    const vi = new Float64Array(L);
    for (let i = 0; i < L; i++) {
      let sr = d.yRe[(b * L + i) * M + m];
      let si = d.yIm[(b * L + i) * M + m];
      for (let k = 0; k < i; k++) {
        sr -= cr[i * L + k] * vr[k] - ci[i * L + k] * vi[k];
        si -= cr[i * L + k] * vi[k] + ci[i * L + k] * vr[k];
      }
      vr[i] = sr / cr[i * L + i];
      vi[i] = si / cr[i * L + i];
      quad += vr[i] ** 2 + vi[i] ** 2;
    }
  }
  return -M * (logDet + quad / M);
}

/** Coherent log-likelihood + L M log(pi sigma^2): -||Y - sum h .* x||_F^2 / sigma^2, entry by entry. */
function coherentLogLik(c: Case, d: Draw, b: number, h: number[]): number {
  const { L, M, N, Q } = c;
  const K = N * Q;
  const so = c.perTrial ? b * L * K : 0;
  const hPer = c.perResource ? N * L * M : N * M;
  let e = 0;
  for (let l = 0; l < L; l++)
    for (let m = 0; m < M; m++) {
      let rr = d.yRe[(b * L + l) * M + m];
      let ri = d.yIm[(b * L + l) * M + m];
      h.forEach((q, n) => {
        if (q < 0) return;
        const [xr, xi] = [d.sRe[so + l * K + n * Q + q], d.sIm[so + l * K + n * Q + q]];
        const hi = b * hPer + (c.perResource ? (n * L + l) * M + m : n * M + m);
        rr -= xr * d.hRe[hi] - xi * d.hIm[hi];
        ri -= xr * d.hIm[hi] + xi * d.hRe[hi];
      });
      e += rr * rr + ri * ri;
    }
  return -e / d.sigma2;
}

/** Brute force: scores of all hypotheses, the first best, activity log-odds and bit LLRs. */
function bruteForce(c: Case, d: Draw, model: 'noncoherent' | 'coherent', prior: Prior, b: number) {
  const pr = priors(c, prior, d.Qn);
  const hs = hypotheses(d.Qn, prior === 'all-active');
  const score = hs.map((h) => (model === 'noncoherent' ? noncoherentLogLik(c, d, b, h) : coherentLogLik(c, d, b, h)) + h.reduce((a, q, n) => a + (q < 0 ? pr.inactive[n] : pr.active[n]), 0));
  let best = 0;
  score.forEach((s, i) => s > score[best] && (best = i));
  const J = Math.log2(c.Q);
  const odds = d.Qn.map((_, n) => logSumExp(score.filter((_, i) => hs[i][n] >= 0)) - logSumExp(score.filter((_, i) => hs[i][n] < 0)));
  const llr = d.Qn.map((_, n) =>
    Array.from({ length: J }, (_, j) => {
      const bit = (q: number) => (q >> (J - 1 - j)) & 1;
      return logSumExp(score.filter((_, i) => hs[i][n] >= 0 && bit(hs[i][n]) === 1)) - logSumExp(score.filter((_, i) => hs[i][n] >= 0 && bit(hs[i][n]) === 0));
    }),
  );
  const sorted = [...score].sort((x, y) => y - x);
  return { best: hs[best], odds, llr, scale: Math.max(...score.map(Math.abs)), gap: sorted[0] - sorted[1] };
}

/**
 * Tolerance on a soft output x: its float32 rounding (U |x|) plus the float64 evaluation error of
 * the two routes, taken as 1e-9 of the largest |score| (their scores are sums of at most a few
 * hundred float64 operations on numbers of that size, through Sherman-Morrison or Cholesky steps
 * on matrices with condition numbers below 1e4 here: far below 1e-9 relative).
 */
const tolerance = (x: number, scale: number) => 2 * U * Math.abs(x) + 1e-9 * scale;

function compare(c: Case, d: Draw, model: 'noncoherent' | 'coherent', prior: Prior, out: HostExhaustiveOutput): number {
  const J = c.Qn === undefined ? Math.log2(c.Q) : 0;
  let decided = 0;
  for (let b = 0; b < c.B; b++) {
    const ref = bruteForce(c, d, model, prior, b);
    const at = `${model} ${prior} trial ${b}`;
    // decisions: exactly, unless the two best hypotheses tie to float64 rounding
    if (ref.gap > 1e-9 * ref.scale) {
      expect(Array.from(out.activity.subarray(b * c.N, (b + 1) * c.N)), at).to.deep.equal(ref.best.map((q) => (q >= 0 ? 1 : 0)));
      expect(Array.from(out.message.subarray(b * c.N, (b + 1) * c.N)), at).to.deep.equal(ref.best.map((q) => Math.max(q, 0)));
      decided += 1;
    }
    for (let n = 0; n < c.N; n++) {
      const x = out.activityLogOdds[b * c.N + n];
      if (prior === 'all-active') expect(x, at).to.equal(Infinity);
      else expect(x, `${at} device ${n}`).to.be.closeTo(ref.odds[n], tolerance(ref.odds[n], ref.scale));
      for (let j = 0; j < J; j++) expect(out.bitLlr[(b * c.N + n) * J + j], `${at} device ${n} bit ${j}`).to.be.closeTo(ref.llr[n][j], tolerance(ref.llr[n][j], ref.scale));
    }
  }
  return decided;
}

describe('exhaustive-ml host kernel', () => {
  const cases: [string, Case][] = [
    ['N = 4, Q = 2, L = 3, M = 3, shared codebook', { B: 6, L: 3, M: 3, N: 4, Q: 2, perTrial: false, snrDb: [0, 12], eps: 0.4 }],
    ['N = 3, Q = 4, L = 4, M = 2, per-trial codebook', { B: 5, L: 4, M: 2, N: 3, Q: 4, perTrial: true, snrDb: [0, 15], eps: 0.5 }],
    ['N = 3, Q_n = (2, 4, 1), L = 5, M = 2, per-device messages (no bit LLRs)', { B: 5, L: 5, M: 2, N: 3, Q: 4, Qn: [2, 4, 1], perTrial: false, snrDb: [3, 12], eps: 0.5 }],
  ];
  for (const model of ['noncoherent', 'coherent'] as const) {
    for (const [label, c] of cases) {
      it(`${model}, ${label}: equals an independent brute-force enumeration (map, ml, all-active)`, () => {
        const d = draw(c, model, label);
        let decided = 0;
        for (const prior of ['map', 'ml', 'all-active'] as const) decided += compare(c, d, model, prior, hostExhaustiveSearch(input(c, d, model, prior)));
        expect(decided).to.be.at.least(3 * c.B - 1); // not vacuous: (nearly) every decision compared
      });
    }
  }

  it('coherent with per-resource channels [B, N, L, M]: equals brute force', () => {
    const c: Case = { B: 5, L: 4, M: 2, N: 3, Q: 2, perTrial: false, perResource: true, snrDb: [0, 10], eps: 0.5 };
    const d = draw(c, 'coherent', 'per-resource');
    expect(compare(c, d, 'coherent', 'map', hostExhaustiveSearch(input(c, d, 'coherent', 'map')))).to.be.at.least(c.B - 1);
  });

  it('high SNR (up to 40 dB): finite activity log-odds of thousands, still the brute-force values', () => {
    const c: Case = { B: 4, L: 4, M: 8, N: 3, Q: 2, perTrial: false, snrDb: [30, 40], eps: 0.5 };
    for (const model of ['noncoherent', 'coherent'] as const) {
      const d = draw(c, model, 'high-snr');
      const out = hostExhaustiveSearch(input(c, d, model, 'map'));
      compare(c, d, model, 'map', out);
      const largest = Math.max(...Array.from(out.activityLogOdds, Math.abs));
      expect(largest, model).to.be.above(500);
      expect(largest, model).to.be.below(Infinity);
    }
  });

  it('the same numbers, bit for bit, whatever the batch split (7 trials at once, as 3 + 4 and as 1 + 6), with one workspace reused', () => {
    for (const model of ['noncoherent', 'coherent'] as const) {
      for (const perTrial of [false, true]) {
        const c: Case = { B: 7, L: 4, M: 3, N: 3, Q: 2, perTrial, snrDb: [0, 15], eps: 0.4 };
        const d = draw(c, model, `split-${perTrial}`);
        const whole = hostExhaustiveSearch(input(c, d, model, 'map'));
        const ws = new HostWorkspace();
        for (const cut of [3, 1]) {
          const parts = [hostExhaustiveSearch(input(c, d, model, 'map', 0, cut, ws)), hostExhaustiveSearch(input(c, d, model, 'map', cut, 7, ws))];
          for (const key of ['activity', 'message', 'activityLogOdds', 'bitLlr'] as const) {
            expect(parts.flatMap((p) => Array.from(p[key])), `${model} ${perTrial} ${key} cut ${cut}`).to.deep.equal(Array.from(whole[key]));
          }
        }
      }
    }
  });

  it('the detector: outputs are the kernel\'s (noncoherent and coherent), and no tensor leaks', () => {
    const c: Case = { B: 4, L: 3, M: 2, N: 3, Q: 2, perTrial: false, snrDb: [0, 12], eps: 0.4 };
    const scenario: Scenario = { numDevices: c.N, numAntennas: c.M, sequenceLength: c.L, bitsPerDevice: 1 };
    for (const model of ['noncoherent', 'coherent'] as const) {
      const d = draw(c, model, 'detector');
      const before = tf.memory().numTensors;
      const obs = {
        y: { re: tf.tensor3d(d.yRe, [c.B, c.L, c.M]), im: tf.tensor3d(d.yIm, [c.B, c.L, c.M]) },
        codebook: { re: tf.tensor2d(d.sRe, [c.L, c.N * c.Q]), im: tf.tensor2d(d.sIm, [c.L, c.N * c.Q]) },
        noiseVar: d.sigma2,
        largeScaleFading: tf.tensor2d(d.beta, [c.B, c.N]),
        channel: { re: tf.tensor3d(d.hRe, [c.B, c.N, c.M]), im: tf.tensor3d(d.hIm, [c.B, c.N, c.M]) },
        activityProbability: tf.fill([c.N], c.eps) as tf.Tensor1D,
      };
      const det = new ExhaustiveMlDetector({ model, criterion: 'map', activity: 'unknown', maxHypotheses: 4096 }, scenario);
      const inputs = [obs.y.re, obs.y.im, obs.codebook.re, obs.codebook.im, obs.largeScaleFading, obs.channel.re, obs.channel.im, obs.activityProbability];
      for (let round = 0; round < 2; round++) {
        const est = det.detect(obs);
        // the kernel with the detector's float32 eps and priors
        const eps = Math.fround(c.eps);
        const out = hostExhaustiveSearch({ ...input(c, d, model, 'map'), logPrior: { inactive: Array(c.N).fill(Math.log1p(-eps)), active: Array(c.N).fill(Math.log(eps / c.Q)) } });
        expect(Array.from(est.activity?.dataSync() ?? [])).to.deep.equal(Array.from(out.activity));
        expect(Array.from(est.message?.dataSync() ?? [])).to.deep.equal(Array.from(out.message));
        expect(Array.from(est.activityScore?.dataSync() ?? [])).to.deep.equal(Array.from(out.activityLogOdds));
        expect(Array.from(est.bitLLR?.dataSync() ?? [])).to.deep.equal(Array.from(out.bitLlr));
        tf.dispose([est.activity, est.message, est.activityScore, est.bitLLR] as tf.Tensor[]);
      }
      tf.dispose(inputs);
      expect(tf.memory().numTensors, model).to.equal(before);
    }
  });
});
