import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  numSequences,
  TOKENS,
  type Capability,
  type ComplexTensor,
  type Detector,
  type Estimate,
  type Observation,
  type ParamProblem,
  type Scenario,
} from '@gfra/core';
import { powerScore } from './power-rule';

export const RowEnergyThreshold = Type.Union(
  [
    Type.Object(
      {
        rule: Type.Literal('beta'),
        fraction: Type.Number({ exclusiveMinimum: 0, default: 0.5, description: 'declare active when ||x_n||^2 / M > fraction * beta_n' }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      { rule: Type.Literal('fixed'), value: Type.Number({ minimum: 0, description: 'declare active when ||x_n||^2 / M > value' }) },
      { additionalProperties: false },
    ),
  ],
  {
    default: { rule: 'beta', fraction: 0.5 },
    description:
      'Activity decision on the estimated row energy ||x_n||^2 / M: "beta" relative to beta_n (needs beta_n), or "fixed" absolute value',
  },
);
export type RowEnergyThreshold = Static<typeof RowEnergyThreshold>;

/**
 * The estimate of a signal-recovery decoder: channel X [B, N, M] complex, activityScore
 * ||x_n||^2 / M (divided by beta_n under rule "beta"), activity = score > the rule's threshold.
 * Call inside a tidy scope.
 */
export function rowEnergyEstimate(x: ComplexTensor, rule: RowEnergyThreshold, largeScaleFading: tf.Tensor2D | undefined): Estimate {
  const M = x.re.shape[2] as number;
  const energy = tf.div(tf.sum(cx.abs2(x), 2), M) as tf.Tensor2D; // [B, N]
  const { score, level } = powerScore(energy, rule, largeScaleFading);
  return { activityScore: score, activity: tf.cast(tf.greater(score, level), 'float32') as tf.Tensor2D, channel: x };
}

export const GroupLassoParams = Type.Object(
  {
    solver: Type.Union([Type.Literal('admm'), Type.Literal('bcd')], {
      default: 'admm',
      description:
        '"admm": the parallel ADMM of paper 001 (Algorithm 1; all rows at once, batched in tfjs, differentiable); "bcd": block coordinate descent over the rows (sequential, float64 on the host)',
    }),
    iterations: Type.Integer({ minimum: 1, default: 200, description: 'K: ADMM iterations or BCD sweeps (200 in paper 001)' }),
    lambda: Type.Number({ minimum: 0, default: 0.5, description: 'lambda: weight of the l2,1 penalty sum_n ||x_n||_2 (in the units of y)' }),
    rho: Type.Number({ exclusiveMinimum: 0, default: 1, description: 'rho: ADMM penalty (solver "admm" only; sets the convergence speed, not the optimum)' }),
    threshold: RowEnergyThreshold,
  },
  { additionalProperties: false },
);
export type GroupLassoParams = Static<typeof GroupLassoParams>;

/** Stacked-real layout: [Re; Im] rows, trials and antennas as columns ([2R, B*M]). */
function stackColumns(z: ComplexTensor): tf.Tensor2D {
  const [B, R, M] = z.re.shape as [number, number, number];
  const flat = (t: tf.Tensor) => tf.reshape(tf.transpose(t, [1, 0, 2]), [R, B * M]);
  return tf.concat([flat(z.re), flat(z.im)], 0) as tf.Tensor2D;
}

/** Inverse of {@link stackColumns}: [2R, B*M] -> [B, R, M] complex. */
function unstackColumns(v: tf.Tensor2D, B: number, M: number): ComplexTensor {
  const R = v.shape[0] / 2;
  const [re, im] = tf.split(v, 2, 0);
  const back = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [R, B, M]), [1, 0, 2]) as tf.Tensor3D;
  return { re: back(re), im: back(im) };
}

/**
 * Paper 001, Algorithm 1 (GROUP LASSO by ADMM in sharing form, all rows in parallel), for a
 * batch: solves min_X 0.5 ||A X - Y||_F^2 + lambda sum_n ||X_{n,:}||_2 for every trial.
 * Starting from X = 0, Bbar = 0, C = 0 (L x M), with d_n = ||a_n||^2, for k = 0 .. K-1:
 *
 *   P = A X / N
 *   T = diag(d) X + A^H (Bbar - P - C)                    (row n = t_n of Theorem 1)
 *   X_{n,:} = max(0, 1 - lambda / (rho ||t_n||_2)) t_n / d_n          (eq. 9)
 *   P = A X / N
 *   Bbar = (Y + rho P + rho C) / (N + rho)                              (eq. 10)
 *   C = C + P - Bbar                                                     (eq. 8)
 *
 * Differentiable in y, pilots, lambda and rho (||t|| = sqrt(sum |t|^2 + 1e-12) keeps the gradient
 * finite at 0). All tensors are real pairs; A X and A^H Q are each one real 2-D matMul over all
 * trials and antennas (layout [2 rows, B*M]).
 *
 * @param y      [B, L, M] complex
 * @param pilots [L, N] complex
 * @returns      [B, N, M] complex: X after `iterations` iterations
 */
export function groupLassoAdmm(y: ComplexTensor, pilots: ComplexTensor, lambda: tf.Scalar | number, rho: tf.Scalar | number, iterations: number): ComplexTensor {
  return cx.tidy(() => {
    const [B, L, M] = y.re.shape as [number, number, number];
    const N = pilots.re.shape[1] as number;
    const aReal = cx.realMatrix(pilots) as tf.Tensor2D; // [2L, 2N] = [[Ar, -Ai], [Ai, Ar]]
    const aHReal = tf.transpose(aReal) as tf.Tensor2D; // [2N, 2L] = real(A^H)
    const d = tf.sum(cx.abs2(pilots), 0); // [N]
    const d2 = tf.reshape(tf.concat([d, d]), [2 * N, 1]);
    const ys = stackColumns(y); // [2L, BM]
    const ratio = tf.div(lambda, rho);
    const nPlusRho = tf.add(N, rho);
    let x = tf.zeros([2 * N, B * M]) as tf.Tensor2D;
    let bbar = tf.zeros([2 * L, B * M]) as tf.Tensor2D;
    let c = tf.zeros([2 * L, B * M]) as tf.Tensor2D;
    let p = tf.zeros([2 * L, B * M]) as tf.Tensor2D; // A X / N
    for (let k = 0; k < iterations; k++) {
      const t = tf.add(tf.mul(d2, x), tf.matMul(aHReal, tf.sub(tf.sub(bbar, p), c))); // [2N, BM]
      const t4 = tf.reshape(t, [2, N, B, M]);
      const norm = tf.sqrt(tf.add(tf.sum(tf.square(t4), [0, 3]), 1e-12)); // [N, B]
      const gain = tf.div(tf.relu(tf.sub(1, tf.div(ratio, norm))), tf.reshape(d, [N, 1])); // [N, B]
      x = tf.reshape(tf.mul(t4, tf.reshape(gain, [1, N, B, 1])), [2 * N, B * M]) as tf.Tensor2D;
      p = tf.div(tf.matMul(aReal, x), N) as tf.Tensor2D;
      bbar = tf.div(tf.add(ys, tf.mul(rho, tf.add(p, c))), nPlusRho) as tf.Tensor2D;
      c = tf.sub(tf.add(c, p), bbar) as tf.Tensor2D;
    }
    return unstackColumns(x, B, M);
  });
}

/**
 * GROUP LASSO by block coordinate descent (the baseline Algorithm 1 replaces), one trial, float64
 * on the host: keep R = Y - A X; for n = 1..N in turn, R += a_n x_n, t = a_n^H R,
 * x_n = max(0, 1 - lambda / ||t||_2) t / ||a_n||^2, R -= a_n x_n. Each row update is the exact
 * minimiser of the objective over that row, so the objective never increases.
 *
 * @param aRe, aIm pilots, row-major [L, N]
 * @param yRe, yIm received block, row-major [L, M]
 * @returns X row-major [N, M] (re, im)
 */
export function groupLassoBcd(
  aRe: ArrayLike<number>,
  aIm: ArrayLike<number>,
  yRe: ArrayLike<number>,
  yIm: ArrayLike<number>,
  L: number,
  N: number,
  M: number,
  lambda: number,
  sweeps: number,
): { re: Float64Array; im: Float64Array } {
  const xr = new Float64Array(N * M);
  const xi = new Float64Array(N * M);
  const rr = Float64Array.from(yRe);
  const ri = Float64Array.from(yIm);
  const d = new Float64Array(N);
  for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) d[n] += aRe[l * N + n] ** 2 + aIm[l * N + n] ** 2;
  const t = new Float64Array(2 * M);
  for (let s = 0; s < sweeps; s++) {
    for (let n = 0; n < N; n++) {
      // t = a_n^H (R + a_n x_n) = a_n^H R + d_n x_n
      let norm2 = 0;
      for (let m = 0; m < M; m++) {
        let tr = d[n] * xr[n * M + m];
        let ti = d[n] * xi[n * M + m];
        for (let l = 0; l < L; l++) {
          const ar = aRe[l * N + n];
          const ai = aIm[l * N + n];
          // conj(a) r = (ar r_r + ai r_i) + i (ar r_i - ai r_r)
          tr += ar * rr[l * M + m] + ai * ri[l * M + m];
          ti += ar * ri[l * M + m] - ai * rr[l * M + m];
        }
        t[2 * m] = tr;
        t[2 * m + 1] = ti;
        norm2 += tr * tr + ti * ti;
      }
      const norm = Math.sqrt(norm2);
      const g = norm > lambda ? (1 - lambda / norm) / d[n] : 0;
      for (let m = 0; m < M; m++) {
        const dr = g * t[2 * m] - xr[n * M + m];
        const di = g * t[2 * m + 1] - xi[n * M + m];
        if (dr === 0 && di === 0) continue;
        xr[n * M + m] += dr;
        xi[n * M + m] += di;
        // R -= a_n (delta x):  (ar + i ai)(dr + i di) = (ar dr - ai di) + i (ar di + ai dr)
        for (let l = 0; l < L; l++) {
          const ar = aRe[l * N + n];
          const ai = aIm[l * N + n];
          rr[l * M + m] -= ar * dr - ai * di;
          ri[l * M + m] -= ar * di + ai * dr;
        }
      }
    }
  }
  return { re: xr, im: xi };
}

/** The GROUP LASSO objective 0.5 ||A X - Y||_F^2 + lambda sum_n ||X_{n,:}||_2 of one trial (host, float64). */
export function groupLassoObjective(
  aRe: ArrayLike<number>,
  aIm: ArrayLike<number>,
  yRe: ArrayLike<number>,
  yIm: ArrayLike<number>,
  xRe: ArrayLike<number>,
  xIm: ArrayLike<number>,
  L: number,
  N: number,
  M: number,
  lambda: number,
): number {
  let fit = 0;
  for (let l = 0; l < L; l++) {
    for (let m = 0; m < M; m++) {
      let er = -yRe[l * M + m];
      let ei = -yIm[l * M + m];
      for (let n = 0; n < N; n++) {
        const ar = aRe[l * N + n];
        const ai = aIm[l * N + n];
        er += ar * xRe[n * M + m] - ai * xIm[n * M + m];
        ei += ar * xIm[n * M + m] + ai * xRe[n * M + m];
      }
      fit += er * er + ei * ei;
    }
  }
  let penalty = 0;
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let m = 0; m < M; m++) s += xRe[n * M + m] ** 2 + xIm[n * M + m] ** 2;
    penalty += Math.sqrt(s);
  }
  return 0.5 * fit + lambda * penalty;
}

/**
 * GROUP LASSO channel estimation and activity detection (jointly sparse MMV signal recovery):
 *
 *   min_X 0.5 ||A X - Y||_F^2 + lambda sum_n ||X_{n,:}||_2          (paper 001, eq. 4)
 *
 * solved by the paper's parallel ADMM (Algorithm 1, Theorem 1; `solver: "admm"`) or by block
 * coordinate descent over the rows (`solver: "bcd"`, the baseline the paper compares against).
 * Both converge to the same optimum (convex problem); ADMM updates all rows in parallel (batched
 * tfjs, differentiable), BCD is sequential over rows (host float64, trial by trial).
 *
 * Reference: paper 001 (model-driven auto-encoders for MMV recovery), Sec. III-B, eqs. (4)-(10),
 * Algorithm 1; the BCD baseline follows the standard group-LASSO block update.
 *
 * Model: Y = A X + Z, A in C^{L x N} the pilots (codebook), X in C^{N x M} row-sparse.
 * Symbols: N numDevices, M numAntennas, L sequenceLength, K iterations.
 *
 * @input  y             [B, L, M] complex
 * @input  codebook      [L, N] complex (Q = 1)
 * @input  largeScaleFading [B, N] (threshold rule "beta" only)
 * @output channel       [B, N, M] complex: X
 * @output activityScore [B, N] ||x_n||^2 / M (divided by beta_n under rule "beta")
 * @output activity      [B, N] in {0, 1}
 * @remarks Deviations from the paper: Algorithm 1 initialises Bbar and C as 0_{N x M}; they are
 * L x M (spec A7). ||t_n|| carries + 1e-12 under the square root (finite gradient at 0).
 * lambda is in the units of y (with the framework's unit-norm pilots and beta_n = L E|h|^2 this is
 * the paper's lambda / sqrt(L)). The built-in activity decision is a fixed rule on the row energy;
 * the paper's gamma* fitted on training data is the candidate's `threshold` block.
 */
@injectable()
export class GroupLassoDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'group-lasso',
    summary: 'GROUP LASSO (l2,1-penalised least squares) by the parallel ADMM of paper 001 (Algorithm 1) or block coordinate descent; row-energy activity test',
    reference: 'Paper 001 (model-driven MMV auto-encoders), Sec. III-B, eqs. (4)-(10), Algorithm 1 (ADMM); BCD baseline',
    params: GroupLassoParams,
    requires: (p: GroupLassoParams) => {
      const needs: Capability[] = ['codebook'];
      if (p.threshold.rule === 'beta') needs.push('largeScaleFading');
      return needs;
    },
    provides: () => ['activityScore', 'activity', 'channel'],
    check: (_p: GroupLassoParams, s: Scenario) => {
      const problems: ParamProblem[] = [];
      if (numSequences(s) !== 1)
        problems.push({ path: '', message: `needs one pilot per device (scenario.bitsPerDevice = 0; got ${s.bitsPerDevice})`, hint: 'use mmv-amp or covariance-ml for Q > 1' });
      return problems;
    },
  });

  constructor(
    @inject(TOKENS.params) private readonly params: GroupLassoParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {}

  detect(obs: Observation): Estimate {
    return cx.tidy((): Estimate => rowEnergyEstimate(this.estimate(obs), this.params.threshold, obs.largeScaleFading));
  }

  /** X [B, N, M] complex, the GROUP LASSO estimate of the chosen solver. */
  estimate(obs: Observation): ComplexTensor {
    const S = obs.codebook;
    if (S === undefined) throw new Error('needs the codebook (pilots) as side information');
    const { lambda, rho, iterations } = this.params;
    if (this.params.solver === 'admm') return groupLassoAdmm(obs.y, S, lambda, rho, iterations);
    const { numDevices: N, numAntennas: M, sequenceLength: L } = this.scenario;
    const B = obs.y.re.shape[0];
    const [aRe, aIm] = [S.re.dataSync(), S.im.dataSync()];
    const [yRe, yIm] = [obs.y.re.dataSync(), obs.y.im.dataSync()];
    const re = new Float32Array(B * N * M);
    const im = new Float32Array(B * N * M);
    const per = L * M;
    for (let b = 0; b < B; b++) {
      const x = groupLassoBcd(aRe, aIm, yRe.subarray(b * per, (b + 1) * per), yIm.subarray(b * per, (b + 1) * per), L, N, M, lambda, iterations);
      re.set(x.re, b * N * M);
      im.set(x.im, b * N * M);
    }
    return { re: tf.tensor3d(re, [B, N, M]), im: tf.tensor3d(im, [B, N, M]) };
  }
}
