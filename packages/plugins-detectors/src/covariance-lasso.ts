import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { cx, definePlugin, numSequences, TOKENS, type Capability, type Detector, type Estimate, type ObservationWith, type ParamProblem, type Scenario } from '@gfra/core';
import { covarianceLassoGram, covarianceLassoHost } from './algorithms/covariance';
import { interleavedColumns } from './algorithms/covariance-host';
import { hostCodebook, isPerTrialCodebook } from './codebook';
import { decideActivity, PowerThreshold, powerScore } from './decision';

export const CovarianceLassoParams = Type.Object(
  {
    sweeps: Type.Integer({ minimum: 1, default: 200, description: 'cyclic coordinate-descent sweeps over n = 1..N (200 in Cui, Li, Zhang)' }),
    lambda: Type.Number({
      minimum: 0,
      default: 0.1,
      description:
        'l1 weight lambda, in the units of the entries of Sigma_hat = Y Y^H / M (the same units as sigma^2 and beta_n; with unit-norm pilots r_n ~ beta_n for an active device). Not given in the paper: tune per configuration',
    }),
    subtractNoise: Type.Boolean({ default: true, description: 'fit vec(Sigma_hat - sigma^2 I) (true) or vec(Sigma_hat) (false)' }),
    threshold: PowerThreshold,
  },
  { additionalProperties: false },
);
export type CovarianceLassoParams = Static<typeof CovarianceLassoParams>;

/** Side information covariance-lasso always requires (beta_n only with threshold rule "beta"). */
const REQUIRES = ['codebook', 'noiseVariance'] as const;
type CovarianceLassoObservation = ObservationWith<(typeof REQUIRES)[number]>;

/**
 * Covariance-based LASSO activity detection (the "covariance-based LASSO" baseline of Cui, Li,
 * Zhang, their reference [17]): as M grows, vec(Sigma_hat) = (A^* (.) A) r + vec(E1) + vec(E2)
 * with r_n = ||X_{n,:}||^2 / M, E1 -> 0 and E2 -> sigma^2 I (Eq. (13)), so r is recovered from
 * noiseless-looking linear measurements by a non-negative LASSO:
 *
 *   $\min_{r \ge 0} \tfrac12 \|\operatorname{vec}(\hat\Sigma - \sigma^2 I) - (A^* \odot A) r\|_2^2 + \lambda \|r\|_1$,
 *
 * column n of A^* (.) A being b_n = vec(a_n a_n^H). Solved per trial on the host in float64 by
 * cyclic coordinate descent from r = 0 (n = 1..N in order, `sweeps` sweeps; each step the exact
 * 1-D minimiser, so the objective never increases; see {@link covarianceLassoHost}). With
 * unit-norm pilots r_n estimates the channel variance beta_n of an active device and 0 otherwise.
 * Decision: device n is declared active when r_n > fraction * beta_n (rule "beta") or r_n > value
 * (rule "fixed").
 *
 * Reference: Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via
 * deep learning with applications in MIMO-based grant-free random access", IEEE J. Sel. Areas
 * Commun., 2021, Sec. IV-A.1 (covariance model, Eq. (13)) and the baselines of Sec. V
 * (Figs. 8(a), 9(a)).
 *
 * @input  y                [B, L, M] complex
 * @input  codebook         [L, N] complex, or [B, L, N] (one per trial, encoder redraw "per-trial")
 * @input  noiseVar         sigma^2 (subtracted from the diagonal of Sigma_hat with `subtractNoise`)
 * @input  largeScaleFading [B, N] (threshold rule "beta" only)
 * @output activityScore [B, N] r_n / beta_n (rule "beta") or r_n (rule "fixed")
 * @output activity      [B, N] in {0, 1}
 * @remarks Not stated in the paper, chosen here: sigma^2 I is subtracted and r is constrained
 *   non-negative; lambda is not given (tune it; it is in the units of Sigma_hat's entries); the
 *   built-in decision is a fixed rule on r (fraction of beta_n); gamma* fitted on training data is
 *   the candidate's `threshold` block; cyclic coordinate order n = 1..N. One pilot per device only
 *   (bitsPerDevice = 0). Runs trial by trial on the host (not differentiable, not batched in tfjs).
 */
@injectable()
export class CovarianceLassoDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'covariance-lasso',
    summary: 'Non-negative LASSO on the sample covariance, vec(Sigma_hat - sigma^2 I) ~ (A^* (.) A) r, by cyclic coordinate descent; r_n > beta_n / 2',
    reference:
      'Covariance-based LASSO baseline of Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via deep learning with applications in MIMO-based grant-free random access", IEEE JSAC 2021, Sec. IV-A.1, Eq. (13), and Sec. V (its reference [17])',
    params: CovarianceLassoParams,
    requires: (p: CovarianceLassoParams) => {
      const needs: Capability[] = [...REQUIRES];
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

  detect(obs: CovarianceLassoObservation): Estimate {
    return cx.tidy((): Estimate => {
      const { score, level } = powerScore(this.estimate(obs), this.params.threshold, obs.largeScaleFading);
      return { activityScore: score, activity: decideActivity(score, level) };
    });
  }

  /** The LASSO estimate r [B, N] after all sweeps (float64 on the host, returned as float32). */
  estimate(obs: CovarianceLassoObservation): tf.Tensor2D {
    const { numDevices: N, numAntennas: M, sequenceLength: L } = this.scenario;
    if (numSequences(this.scenario) !== 1) throw new Error('covariance-lasso needs one pilot per device (bitsPerDevice = 0)');
    const B = obs.y.re.shape[0];
    const cb = hostCodebook(obs.codebook); // per run, or trial b's own [L, N] block
    const yRe = obs.y.re.dataSync();
    const yIm = obs.y.im.dataSync();
    const per = L * M;
    const out = new Float32Array(B * N);
    const { lambda, sweeps, subtractNoise } = this.params;
    // a per-run codebook: one Gram matrix for the whole batch (it depends on the pilots only)
    const gram = isPerTrialCodebook(obs.codebook) ? undefined : covarianceLassoGram(interleavedColumns(cb.re, cb.im, L, N), L, N);
    for (let b = 0; b < B; b++) {
      const { re: aRe, im: aIm } = cb.trial(b);
      const r = covarianceLassoHost(aRe, aIm, yRe.subarray(b * per, (b + 1) * per), yIm.subarray(b * per, (b + 1) * per), L, N, M, obs.noiseVar, lambda, sweeps, subtractNoise, undefined, gram);
      out.set(r, b * N);
    }
    return tf.tensor2d(out, [B, N]);
  }
}
