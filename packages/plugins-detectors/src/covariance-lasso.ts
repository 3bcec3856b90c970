import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { CovarianceThreshold } from './covariance-ml';
import { powerScore } from './power-rule';
import {
  cx,
  definePlugin,
  numSequences,
  TOKENS,
  type Capability,
  type Detector,
  type Estimate,
  type Observation,
  type ParamProblem,
  type Scenario,
} from '@gfra/core';

export const CovarianceLassoParams = Type.Object(
  {
    sweeps: Type.Integer({ minimum: 1, default: 200, description: 'cyclic coordinate-descent sweeps over n = 1..N (200 in paper 001)' }),
    lambda: Type.Number({
      minimum: 0,
      default: 0.1,
      description:
        'l1 weight lambda, in the units of the entries of Sigma_hat = Y Y^H / M (the same units as sigma^2 and beta_n; with unit-norm pilots r_n ~ beta_n for an active device). Not given in the paper: tune per configuration',
    }),
    subtractNoise: Type.Boolean({ default: true, description: 'fit vec(Sigma_hat - sigma^2 I) (true, spec [R]) or vec(Sigma_hat) (false)' }),
    threshold: CovarianceThreshold,
  },
  { additionalProperties: false },
);
export type CovarianceLassoParams = Static<typeof CovarianceLassoParams>;

/**
 * Sufficient statistics of the covariance LASSO of one trial: c_n = Re(b_n^H vec(Z)) =
 * a_n^H Z a_n with Z = Sigma_hat - sigma^2 I (or Sigma_hat), the Gram matrix
 * G_ij = Re(b_i^H b_j) = |a_i^H a_j|^2 ([N, N] row-major; G_nn = ||b_n||^2 = ||a_n||^4).
 * Inputs as in {@link covarianceLassoHost}.
 */
function lassoStatistics(
  aRe: ArrayLike<number>,
  aIm: ArrayLike<number>,
  yRe: ArrayLike<number>,
  yIm: ArrayLike<number>,
  L: number,
  N: number,
  M: number,
  sigma2: number,
  subtractNoise: boolean,
): { c: Float64Array; gram: Float64Array } {
  // Columns of A, column-major (a_n contiguous), float64.
  const cr = new Float64Array(L * N);
  const ci = new Float64Array(L * N);
  for (let l = 0; l < L; l++)
    for (let n = 0; n < N; n++) {
      cr[n * L + l] = aRe[l * N + n];
      ci[n * L + l] = aIm[l * N + n];
    }
  // a_n^H Z a_n = (1/M) sum_m |a_n^H y_m|^2 - sigma^2 ||a_n||^2 (Z = Sigma_hat - sigma^2 I).
  const c = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let energy = 0;
    for (let m = 0; m < M; m++) {
      // a_n^H y_m = sum_l conj(a_l) y_l
      let pr = 0;
      let pi = 0;
      for (let l = 0; l < L; l++) {
        const ar = cr[n * L + l];
        const ai = ci[n * L + l];
        const vr = yRe[l * M + m];
        const vi = yIm[l * M + m];
        pr += ar * vr + ai * vi;
        pi += ar * vi - ai * vr;
      }
      energy += pr * pr + pi * pi;
    }
    let norm2 = 0;
    for (let l = 0; l < L; l++) norm2 += cr[n * L + l] ** 2 + ci[n * L + l] ** 2;
    c[n] = energy / M - (subtractNoise ? sigma2 * norm2 : 0);
  }
  const gram = new Float64Array(N * N);
  for (let i = 0; i < N; i++)
    for (let j = i; j < N; j++) {
      // a_i^H a_j
      let pr = 0;
      let pi = 0;
      for (let l = 0; l < L; l++) {
        const ar = cr[i * L + l];
        const ai = ci[i * L + l];
        const br = cr[j * L + l];
        const bi = ci[j * L + l];
        pr += ar * br + ai * bi;
        pi += ar * bi - ai * br;
      }
      const g = pr * pr + pi * pi;
      gram[i * N + j] = g;
      gram[j * N + i] = g;
    }
  return { c, gram };
}

/**
 * Covariance-based non-negative LASSO of one trial on the host, float64:
 *
 *   min_{r >= 0} 0.5 || vec(Z) - sum_n b_n r_n ||_2^2 + lambda sum_n r_n,
 *   Z = Sigma_hat - sigma^2 I (or Sigma_hat without `subtractNoise`),  Sigma_hat = Y Y^H / M,
 *   b_n = vec(a_n a_n^H) (column n of A^* (.) A),
 *
 * by cyclic coordinate descent from r = 0. With the residual res = vec(Z) - sum_j b_j r_j,
 * each coordinate n = 0..N-1 in turn takes its exact 1-D minimiser
 *
 *   r_n <- max(0, (Re(b_n^H res) + ||b_n||^2 r_n - lambda) / ||b_n||^2),
 *
 * computed without forming L^2-vectors: the code keeps q_n = Re(b_n^H res) = c_n - sum_j G_nj r_j
 * with c_n = a_n^H Z a_n and G_ij = |a_i^H a_j|^2 (so ||b_n||^2 = ||a_n||^4), and after a change
 * d of r_n updates q -= d G_{:,n}. One sweep costs O(N^2), the set-up O(N L M + N^2 L).
 * A zero pilot column (||b_n|| = 0) keeps r_n = 0.
 *
 * @param aRe, aIm pilots A, row-major [L, N]
 * @param yRe, yIm Y of one trial, row-major [L, M]
 * @param onSweep  called after sweep s (0-based) with the current r (a view: copy to keep it)
 * @returns r (length N), r_n >= 0
 */
export function covarianceLassoHost(
  aRe: ArrayLike<number>,
  aIm: ArrayLike<number>,
  yRe: ArrayLike<number>,
  yIm: ArrayLike<number>,
  L: number,
  N: number,
  M: number,
  sigma2: number,
  lambda: number,
  sweeps: number,
  subtractNoise = true,
  onSweep?: (sweep: number, r: Float64Array) => void,
): Float64Array {
  const { c, gram } = lassoStatistics(aRe, aIm, yRe, yIm, L, N, M, sigma2, subtractNoise);
  const r = new Float64Array(N);
  const q = Float64Array.from(c); // Re(b_n^H res) at r = 0
  for (let s = 0; s < sweeps; s++) {
    for (let n = 0; n < N; n++) {
      const gnn = gram[n * N + n];
      if (!(gnn > 0)) continue;
      const next = Math.max(0, (q[n] + gnn * r[n] - lambda) / gnn);
      const d = next - r[n];
      if (d === 0) continue;
      r[n] = next;
      for (let j = 0; j < N; j++) q[j] -= d * gram[j * N + n];
    }
    if (onSweep !== undefined) onSweep(s, r);
  }
  return r;
}

/**
 * The covariance-LASSO objective 0.5 ||Z - sum_n r_n a_n a_n^H||_F^2 + lambda sum_n r_n of one
 * trial (host, float64), evaluated directly on the L x L matrices (an independent route from the
 * Gram form used by {@link covarianceLassoHost}). Inputs as there; r of length N.
 */
export function covarianceLassoObjective(
  aRe: ArrayLike<number>,
  aIm: ArrayLike<number>,
  yRe: ArrayLike<number>,
  yIm: ArrayLike<number>,
  L: number,
  N: number,
  M: number,
  sigma2: number,
  lambda: number,
  r: ArrayLike<number>,
  subtractNoise = true,
): number {
  let fit = 0;
  for (let i = 0; i < L; i++)
    for (let j = 0; j < L; j++) {
      // (Sigma_hat)_ij = (1/M) sum_m y_im conj(y_jm)
      let er = 0;
      let ei = 0;
      for (let m = 0; m < M; m++) {
        const ar = yRe[i * M + m];
        const ai = yIm[i * M + m];
        const br = yRe[j * M + m];
        const bi = yIm[j * M + m];
        er += ar * br + ai * bi;
        ei += ai * br - ar * bi;
      }
      er /= M;
      ei /= M;
      if (subtractNoise && i === j) er -= sigma2;
      // - sum_n r_n a_in conj(a_jn)
      for (let n = 0; n < N; n++) {
        if (r[n] === 0) continue;
        const ar = aRe[i * N + n];
        const ai = aIm[i * N + n];
        const br = aRe[j * N + n];
        const bi = aIm[j * N + n];
        er -= r[n] * (ar * br + ai * bi);
        ei -= r[n] * (ai * br - ar * bi);
      }
      fit += er * er + ei * ei;
    }
  let l1 = 0;
  for (let n = 0; n < N; n++) l1 += r[n];
  return 0.5 * fit + lambda * l1;
}

/**
 * Covariance-based LASSO activity detection (paper 001's "covariance-based LASSO" baseline,
 * reference [17] there): as M grows, vec(Sigma_hat) = (A^* (.) A) r + vec(E1) + vec(E2) with
 * r_n = ||X_{n,:}||^2 / M, E1 -> 0 and E2 -> sigma^2 I, so r is recovered from noiseless-looking
 * linear measurements by a non-negative LASSO:
 *
 *   min_{r >= 0} 0.5 || vec(Sigma_hat - sigma^2 I) - (A^* (.) A) r ||_2^2 + lambda ||r||_1,
 *
 * column n of A^* (.) A being b_n = vec(a_n a_n^H). Solved per trial on the host in float64 by
 * cyclic coordinate descent from r = 0 (n = 1..N in order, `sweeps` sweeps; each step the exact
 * 1-D minimiser, so the objective never increases; see {@link covarianceLassoHost}). With
 * unit-norm pilots r_n estimates the channel variance beta_n of an active device and 0 otherwise.
 * Decision: device n is declared active when r_n > fraction * beta_n (rule "beta") or r_n > value
 * (rule "fixed").
 *
 * Reference: paper 001 (model-driven MMV auto-encoders), Sec. III-B (covariance model) and the
 * baselines of Sec. V (Fig. 8(a), 9(a)); spec mmv-autoencoder.md 2.6 and 2.11 item 5.
 *
 * @input  y                [B, L, M] complex
 * @input  codebook         [L, N] complex
 * @input  noiseVar         sigma^2 (subtracted from the diagonal of Sigma_hat with `subtractNoise`)
 * @input  largeScaleFading [B, N] (threshold rule "beta" only)
 * @output activityScore [B, N] r_n / beta_n (rule "beta") or r_n (rule "fixed")
 * @output activity      [B, N] in {0, 1}
 * @remarks Not stated in the paper, chosen per the spec [R]: sigma^2 I is subtracted and r is
 * constrained non-negative; lambda is not given (tune it; it is in the units of Sigma_hat's
 * entries); the built-in decision is a fixed rule on r (fraction of beta_n); gamma* fitted on
 * training data is the candidate's `threshold` block; cyclic coordinate order n = 1..N. One
 * pilot per device only (bitsPerDevice = 0). Runs trial by trial on the host (not
 * differentiable, not batched in tfjs).
 */
@injectable()
export class CovarianceLassoDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'covariance-lasso',
    summary: 'Non-negative LASSO on the sample covariance, vec(Sigma_hat - sigma^2 I) ~ (A^* (.) A) r, by cyclic coordinate descent; r_n > beta_n / 2',
    reference: 'Paper 001 (model-driven MMV auto-encoders), covariance-based LASSO baseline (its reference [17]); spec mmv-autoencoder.md 2.6, 2.11 item 5',
    params: CovarianceLassoParams,
    requires: (p: CovarianceLassoParams) => {
      const needs: Capability[] = ['codebook', 'noiseVariance'];
      if (p.threshold.rule === 'beta') needs.push('largeScaleFading');
      return needs;
    },
    provides: () => ['activityScore', 'activity'],
    check: (_p: CovarianceLassoParams, s: Scenario) => {
      const problems: ParamProblem[] = [];
      if (numSequences(s) !== 1) problems.push({ path: '', message: `needs one pilot per device (scenario.bitsPerDevice = 0; got ${s.bitsPerDevice})` });
      return problems;
    },
  });

  constructor(
    @inject(TOKENS.params) private readonly params: CovarianceLassoParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {}

  detect(obs: Observation): Estimate {
    return cx.tidy((): Estimate => {
      const { score, level } = powerScore(this.estimate(obs), this.params.threshold, obs.largeScaleFading);
      return { activityScore: score, activity: tf.cast(tf.greater(score, level), 'float32') as tf.Tensor2D };
    });
  }

  /** The LASSO estimate r [B, N] after all sweeps (float64 on the host, returned as float32). */
  estimate(obs: Observation): tf.Tensor2D {
    const { numDevices: N, numAntennas: M, sequenceLength: L } = this.scenario;
    if (numSequences(this.scenario) !== 1) throw new Error('covariance-lasso needs one pilot per device (bitsPerDevice = 0)');
    const A = obs.codebook;
    if (A === undefined) throw new Error('needs the codebook (pilots) as side information');
    if (obs.noiseVar === undefined) throw new Error('needs the noise variance sigma^2 as side information');
    const B = obs.y.re.shape[0];
    const aRe = A.re.dataSync();
    const aIm = A.im.dataSync();
    const yRe = obs.y.re.dataSync();
    const yIm = obs.y.im.dataSync();
    const per = L * M;
    const out = new Float32Array(B * N);
    for (let b = 0; b < B; b++) {
      const r = covarianceLassoHost(
        aRe,
        aIm,
        yRe.subarray(b * per, (b + 1) * per),
        yIm.subarray(b * per, (b + 1) * per),
        L,
        N,
        M,
        obs.noiseVar,
        this.params.lambda,
        this.params.sweeps,
        this.params.subtractNoise,
      );
      out.set(r, b * N);
    }
    return tf.tensor2d(out, [B, N]);
  }
}
