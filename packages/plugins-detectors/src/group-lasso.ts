import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { cx, definePlugin, numSequences, TOKENS, type Capability, type ComplexTensor, type Detector, type Estimate, type ObservationWith, type ParamProblem, type Scenario } from '@gfra/core';
import { HostWorkspace } from './algorithms/host-workspace';
import { hostGroupLassoAdmm, hostGroupLassoBcd } from './algorithms/group-lasso-host';
import { PowerThreshold, rowEnergyEstimate } from './decision';

export const GroupLassoParams = Type.Object(
  {
    solver: Type.Union([Type.Literal('admm'), Type.Literal('bcd')], {
      default: 'admm',
      description:
        '"admm": the parallel ADMM of Cui, Li, Zhang (Algorithm 1; all rows at once: float32 BLAS products, float64 row updates on the host); "bcd": block coordinate descent over the rows (sequential, float64 on the host)',
    }),
    iterations: Type.Integer({ minimum: 1, default: 200, description: 'K: ADMM iterations or BCD sweeps (200 in Cui, Li, Zhang)' }),
    lambda: Type.Number({ minimum: 0, default: 0.5, description: 'lambda: weight of the l2,1 penalty sum_n ||x_n||_2 (in the units of y)' }),
    rho: Type.Number({ exclusiveMinimum: 0, default: 1, description: 'rho: ADMM penalty (solver "admm" only; sets the convergence speed, not the optimum)' }),
    threshold: PowerThreshold,
  },
  { additionalProperties: false },
);
export type GroupLassoParams = Static<typeof GroupLassoParams>;

/** Side information group-lasso always requires (beta_n only with threshold rule "beta"). */
const REQUIRES = ['codebook'] as const;
type GroupLassoObservation = ObservationWith<(typeof REQUIRES)[number]>;

/**
 * GROUP LASSO channel estimation and activity detection (jointly sparse MMV signal recovery):
 *
 *   $\min_X \tfrac12 \|A X - Y\|_F^2 + \lambda \sum_n \|X_{n,:}\|_2$          (Eq. (4))
 *
 * solved by the parallel ADMM of Algorithm 1 (Theorem 1; `solver: "admm"`, {@link hostGroupLassoAdmm})
 * or by block coordinate descent over the rows (`solver: "bcd"`, {@link hostGroupLassoBcd}, the
 * baseline the paper compares against). Both converge to the same optimum (convex problem); ADMM
 * updates all rows in parallel (float32 BLAS products, float64 row updates), BCD is sequential over
 * rows (float64, trial by trial). Both run on the host (inference only; the differentiable tfjs
 * ADMM `groupLassoAdmm` serves the trainable `group-lasso-unfolded`), with the same numbers
 * whatever the batch split.
 *
 * Reference: Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via
 * deep learning with applications in MIMO-based grant-free random access", IEEE J. Sel. Areas
 * Commun., 2021, Sec. III-B.1, Eqs. (4)-(10), Algorithm 1; the BCD baseline follows the standard
 * group-LASSO block update.
 *
 * Model: Y = A X + Z, A in C^{L x N} the pilots (codebook), X in C^{N x M} row-sparse.
 * Symbols: N numDevices, M numAntennas, L sequenceLength, K iterations.
 *
 * @input  y             [B, L, M] complex
 * @input  codebook      [L, N] complex (Q = 1), or [B, L, N] (one per trial, encoder redraw "per-trial")
 * @input  largeScaleFading [B, N] (threshold rule "beta" only)
 * @output channel       [B, N, M] complex: X
 * @output activityScore [B, N] ||x_n||^2 / M (divided by beta_n under rule "beta")
 * @output activity      [B, N] in {0, 1}
 * @remarks Deviations from the paper: Algorithm 1 initialises Bbar and C as 0_{N x M}; they are
 *   L x M. ||t_n|| carries + 1e-12 under the square root (finite gradient at 0). lambda is in the
 *   units of y (with the framework's unit-norm pilots and beta_n = L E|h|^2 this is the paper's
 *   lambda / sqrt(L)). The built-in activity decision is a fixed rule on the row energy; the
 *   paper's gamma* fitted on training data is the candidate's `threshold` block.
 *   Implementation: BCD keeps a_n^H R for all rows as A^H Y - (A^H A) X (the same iterates as
 *   the residual form up to float64 rounding); ADMM's products are float32, its row updates float64.
 */
@injectable()
export class GroupLassoDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'group-lasso',
    summary: 'GROUP LASSO (l2,1-penalised least squares) by the parallel ADMM of Cui, Li, Zhang (Algorithm 1) or block coordinate descent; row-energy activity test',
    reference:
      'Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via deep learning with applications in MIMO-based grant-free random access", IEEE JSAC 2021, Sec. III-B.1, Eqs. (4)-(10), Algorithm 1 (ADMM); BCD baseline',
    params: GroupLassoParams,
    requires: (p: GroupLassoParams) => {
      const needs: Capability[] = [...REQUIRES];
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

  /** The host kernels' buffers, reused by every detect(). */
  private readonly workspace = new HostWorkspace();

  constructor(
    @inject(TOKENS.params) private readonly params: GroupLassoParams,
    // the sizes come from the observation; the scenario is injected like every detector's
    @inject(TOKENS.scenario) _scenario: Scenario,
  ) {}

  detect(obs: GroupLassoObservation): Estimate {
    return cx.tidy((): Estimate => rowEnergyEstimate(this.estimate(obs), this.params.threshold, obs.largeScaleFading));
  }

  /** X [B, N, M] complex, the GROUP LASSO estimate of the chosen solver. */
  estimate(obs: GroupLassoObservation): ComplexTensor {
    const { lambda, rho, iterations } = this.params;
    const [B, L, M] = obs.y.re.shape as [number, number, number];
    const N = obs.codebook.re.shape[obs.codebook.re.rank - 1] as number;
    const input = {
      yRe: obs.y.re.dataSync(),
      yIm: obs.y.im.dataSync(),
      sRe: obs.codebook.re.dataSync(),
      sIm: obs.codebook.im.dataSync(),
      perTrial: obs.codebook.re.rank === 3,
      B,
      L,
      N,
      M,
      lambda,
      firstTrial: obs.trials?.first ?? 0,
      workspace: this.workspace,
    };
    const x = this.params.solver === 'admm' ? hostGroupLassoAdmm(input, rho, iterations) : hostGroupLassoBcd(input, iterations);
    // precision float32 (the default): Float32Array results
    return { re: tf.tensor3d(x.re as Float32Array, [B, N, M]), im: tf.tensor3d(x.im as Float32Array, [B, N, M]) };
  }
}
