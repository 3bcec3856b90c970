import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { cx, definePlugin, numSequences, TOKENS, type Capability, type ComplexTensor, type Detector, type Estimate, type ObservationWith, type RandomStreams, type Scenario } from '@gfra/core';
import { covarianceCdHost, covarianceCdTf, cyclicOrders, mapPriorWeights, randomOrders } from './algorithms/covariance';
import { adjointTimes, choleskyComplex, choleskySolveComplex, gramColumns } from './algorithms/host-complex';
import { hostCodebook } from './codebook';
import { bestSequence, decideActivity, PowerThreshold, powerScore } from './decision';

export const CovarianceMlParams = Type.Object(
  {
    sweeps: Type.Integer({ minimum: 1, default: 50, description: 'T: coordinate-descent sweeps over all N*Q coordinates (T_Cov = 50 in DL-mAMPnet)' }),
    order: Type.Union([Type.Literal('random'), Type.Literal('cyclic')], {
      default: 'random',
      description:
        '"random": a fresh random permutation of the coordinates in every sweep (drawn once per run from the seed, shared by all trials); "cyclic": 0, 1, ..., NQ - 1',
    }),
    threshold: PowerThreshold,
    objective: Type.Union([Type.Literal('ml'), Type.Literal('map')], {
      default: 'ml',
      description:
        '"ml": maximum likelihood; "map": maximum a posteriori with the per-device activity prior eps_n (Cui, Li, Zhang, Eq. (16) and Algorithm 3; needs eps_n and beta_n)',
    }),
    precision: Type.Union([Type.Literal('float64'), Type.Literal('float32')], {
      default: 'float64',
      description:
        '"float64": host loops in double precision (needed under strong near-far, e.g. a 48 dB path-loss spread); "float32": batched tfjs ops (differentiable; accurate for moderate power spreads, e.g. 20 dB, but the Sherman-Morrison recursion fails under a 48 dB path-loss spread)',
    }),
    channelEstimate: Type.Optional(
      Type.Union([Type.Literal('none'), Type.Literal('mmse')], {
        default: 'none',
        description:
          '"none": activity (and sequence) detection only; "mmse": also the ML-MMSE channel estimate (the ML-MMSE baseline of Cui, Li, Zhang): the LMMSE estimate (A_S^H A_S + sigma^2 diag(1/beta_S))^{-1} A_S^H Y on the detected set S (sequence q*_n of each detected device), zero rows elsewhere (needs beta_n)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CovarianceMlParams = Static<typeof CovarianceMlParams>;

/** Side information covariance-ml always requires (beta_n and eps_n depend on the params). */
const REQUIRES = ['codebook', 'noiseVariance'] as const;
type CovarianceMlObservation = ObservationWith<(typeof REQUIRES)[number]>;

/**
 * Covariance-based maximum-likelihood activity detection by coordinate descent (the
 * "non-Bayesian"/covariance approach; with Q > 1 sequences per device, the non-coherent joint
 * activity and data detection baseline of DL-mAMPnet).
 *
 * References: S. Haghighatshoar, P. Jung, G. Caire, "Improved scaling law for activity detection
 * in massive MIMO systems", ISIT 2018; A. Fengler, S. Haghighatshoar, P. Jung, G. Caire,
 * "Non-Bayesian activity detection, large-scale fading coefficient estimation, and unsourced
 * random access with a massive MIMO receiver", IEEE Trans. Inf. Theory, 2021; Z. Chen,
 * F. Sohrabi, Y.-F. Liu, W. Yu, "Covariance based joint activity and data detection for massive
 * random access with massive MIMO", ICC 2019 (Q > 1). Z. Ma, W. Wu, F. Gao, X. Shen,
 * "Model-driven deep learning for non-coherent massive machine-type communications" use it as a
 * baseline with T_Cov = 50 and the threshold beta_n / 2 (Sec. VI, footnote 3). MAP: Y. Cui, S. Li,
 * W. Zhang, "Jointly sparse signal recovery and support recovery via deep learning with
 * applications in MIMO-based grant-free random access", IEEE J. Sel. Areas Commun., 2021,
 * Sec. IV-A.2, Eqs. (16)-(19), Algorithm 3.
 *
 * Model: given the activity, the columns of Y in C^{L x M} are i.i.d. CN(0, Sigma(gamma)) with
 * $\Sigma(\gamma) = S \operatorname{diag}(\gamma) S^H + \sigma^2 I_L$, one gamma_k >= 0 per
 * sequence (k = nQ + q; truly gamma_k = beta_n if device n sent q, else 0). The ML estimate
 * minimises $f(\gamma) = \log\det\Sigma(\gamma) + \operatorname{tr}(\Sigma(\gamma)^{-1}\hat\Sigma)$,
 * $\hat\Sigma = Y Y^H / M$, by coordinate descent from gamma = 0 (see `algorithms/covariance.ts`:
 * each step is an exact 1-D minimisation, so f never increases). `objective: "map"` adds the
 * per-device activity prior eps_n: - sum_k c_k gamma_k with c_k = log(p_k / (1 - p_k)) / (M beta_n),
 * p_k = eps_n / Q.
 *
 * Decision: q*_n = arg max_q gamma_{n,q}; device n is declared active when gamma_{n,q*} exceeds
 * the threshold (default beta_n / 2).
 *
 * `channelEstimate: "mmse"` (the ML-MMSE baseline of Cui, Li, Zhang) adds the channel estimate of
 * the detected devices: with S the devices declared active by the decision above (gamma* when
 * the candidate has a `threshold` block) and A_S the pilots s_{n, q*_n} of them (device n's channel
 * is CN(0, beta_n I_M)), the LMMSE estimate given S is
 *
 *   $\hat X_S = (A_S^H A_S + \sigma^2 \operatorname{diag}(1/\beta_S))^{-1} A_S^H Y$,   other rows 0,
 *
 * which is the paper's (A_S^H A_S + sigma^2 I)^{-1} A_S^H Y in its units (the columns of A_S
 * scaled by sqrt(beta_n), rows of X by 1 / sqrt(beta_n): unit prior variance). It is computed on
 * the host in float64, trial by trial, by a complex Cholesky solve of the |S| x |S| system
 * (|S| = 0: all-zero estimate), from the decisions of either precision setting.
 *
 * Symbols: N numDevices, M numAntennas, L sequenceLength, Q = 2^J, T sweeps.
 *
 * @input  y                [B, L, M] complex
 * @input  codebook         [L, N*Q] complex, or [B, L, N*Q] (one per trial, encoder redraw
 *                          "per-trial"; also in the ML-MMSE estimate)
 * @input  noiseVar         sigma^2
 * @input  largeScaleFading [B, N] (threshold rule "beta", objective "map" or channelEstimate "mmse")
 * @input  activityProbability [N] (objective "map")
 * @output activityScore [B, N] gamma_{n,q*} / beta_n (rule "beta") or gamma_{n,q*} (rule "fixed")
 * @output activity      [B, N] in {0, 1}
 * @output message       [B, N] int32 q*_n
 * @output channel       [B, N, M] complex (`channelEstimate: "mmse"` only): the ML-MMSE estimate
 *                       Xhat_S, zero rows for devices not declared active
 * @remarks Deviations: the random coordinate order is one sequence of permutations per run
 *   (shared by all trials, so results do not depend on how trials are batched), rather than a
 *   fresh draw per trial. MAP: the paper prints Eq. (19) with (s^2 + (2/M) log(eps/(1-eps)) s)^2
 *   and Algorithm 3, step 6, with the denominator 1 + d a_n Sigma^{-1} a_n^H; both are corrected
 *   here (minus sign; 1 + d a_n^H Sigma^{-1} a_n); the discriminant is clamped at 0 (eps_n > 1/2
 *   makes the relaxed problem unbounded below); the paper's alpha (0/1 scale, unit channel power)
 *   is gamma / beta_n here. The default float64 path loops over the trials of a batch on the host
 *   (the recursion is sequential over coordinates, and float32 loses the optimum under strong
 *   near-far); only the float32 path is vectorised over the batch in tfjs.
 */
@injectable()
export class CovarianceMlDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'covariance-ml',
    draws: {
      'coordinate-order': 'once per run, with order "random": the coordinate permutations of the sweeps',
    },
    summary:
      'ML (or MAP with per-device priors) estimate of the per-sequence powers gamma from the sample covariance by coordinate descent; gamma_n > beta_n / 2; optionally the ML-MMSE channel estimate of the detected devices',
    reference:
      'A. Fengler, S. Haghighatshoar, P. Jung, G. Caire, "Non-Bayesian activity detection, large-scale fading coefficient estimation, and unsourced random access with a massive MIMO receiver", IEEE Trans. Inf. Theory 2021 (coordinate-wise ML); Z. Chen, F. Sohrabi, Y.-F. Liu, W. Yu, ICC 2019 (Q > 1); MAP and ML-MMSE: Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via deep learning with applications in MIMO-based grant-free random access", IEEE JSAC 2021, Sec. IV-A.2, Eqs. (16)-(19), Algorithm 3',
    params: CovarianceMlParams,
    requires: (p: CovarianceMlParams) => {
      const needs: Capability[] = [...REQUIRES];
      if (p.threshold.rule === 'beta' || p.objective === 'map' || p.channelEstimate === 'mmse') needs.push('largeScaleFading');
      if (p.objective === 'map') needs.push('activityProbability');
      return needs;
    },
    provides: (p: CovarianceMlParams) => (p.channelEstimate === 'mmse' ? ['activityScore', 'activity', 'message', 'channel'] : ['activityScore', 'activity', 'message']),
  });

  /** Coordinate order per sweep. */
  private readonly orders: readonly (readonly number[])[];
  /** gamma* of the runner's thresholding module, once fitted. */
  private fittedThreshold: number | undefined;

  constructor(
    @inject(TOKENS.params) private readonly params: CovarianceMlParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    const K = scenario.numDevices * numSequences(scenario);
    this.orders = params.order === 'cyclic' ? cyclicOrders(K, params.sweeps) : randomOrders(K, params.sweeps, random.onceGenerator('coordinate-order'));
  }

  detect(obs: CovarianceMlObservation): Estimate {
    const { numDevices: N } = this.scenario;
    const Q = numSequences(this.scenario);
    return cx.tidy((): Estimate => {
      const gamma = this.estimate(obs);
      const B = gamma.shape[0];
      const { best, message } = bestSequence(tf.reshape(gamma, [B, N, Q]), 2);
      const { score, level } = powerScore(best, this.params.threshold, obs.largeScaleFading);
      const activity = decideActivity(score, level, this.fittedThreshold);
      if (this.params.channelEstimate !== 'mmse') return { activityScore: score, activity, message };
      return { activityScore: score, activity, message, channel: this.mmseChannel(obs, activity.dataSync(), message.dataSync()) };
    });
  }

  /** The thresholding module's gamma*: decide activityScore >= gamma, also for the ML-MMSE set. */
  useActivityThreshold(gamma: number): void {
    this.fittedThreshold = gamma;
  }

  /**
   * The estimate gamma [B, N*Q] after all sweeps. `onSweep(s, gamma)` is called after sweep s
   * (0-based) with the current estimate (freed after it returns).
   */
  estimate(obs: CovarianceMlObservation, onSweep?: (sweep: number, gamma: tf.Tensor2D) => void): tf.Tensor2D {
    const prior = this.priorWeights(obs);
    if (this.params.precision === 'float64') return covarianceCdHost(obs.y, obs.codebook, obs.noiseVar, this.orders, prior, onSweep);
    const B = obs.y.re.shape[0];
    const K = obs.codebook.re.shape[obs.codebook.re.rank - 1] as number;
    return tf.tidy(() => {
      const priorTf = prior === undefined ? undefined : tf.tensor2d(Float32Array.from(prior), [B, K]);
      return covarianceCdTf(obs.y, obs.codebook, obs.noiseVar, this.orders, priorTf, onSweep);
    });
  }

  /** MAP only: the weights c_k of every trial and coordinate, host [B * N * Q] (undefined for ML). */
  private priorWeights(obs: CovarianceMlObservation): Float64Array | undefined {
    if (this.params.objective !== 'map') return undefined;
    const { numDevices: N, numAntennas: M } = this.scenario;
    if (obs.activityProbability === undefined) throw new Error('objective "map" needs the activity probability eps_n as side information (or use objective "ml")');
    if (obs.largeScaleFading === undefined) throw new Error('objective "map" needs the large-scale fading beta_n as side information (or use objective "ml")');
    const B = obs.largeScaleFading.shape[0];
    return mapPriorWeights(obs.activityProbability.dataSync(), obs.largeScaleFading.dataSync(), B, N, numSequences(this.scenario), M);
  }

  /**
   * ML-MMSE channel estimate [B, N, M] given the decisions (host arrays [B * N]: activity in
   * {0, 1}, q*_n): per trial, Xhat_S = (A_S^H A_S + sigma^2 diag(1 / beta_S))^{-1} A_S^H Y in
   * float64 (complex Cholesky), zero rows outside S. Devices with beta_n <= 0 get zero rows.
   */
  private mmseChannel(obs: CovarianceMlObservation, activity: ArrayLike<number>, message: ArrayLike<number>): ComplexTensor {
    const { numDevices: N, numAntennas: M, sequenceLength: L } = this.scenario;
    const Q = numSequences(this.scenario);
    const K = N * Q;
    if (obs.largeScaleFading === undefined) throw new Error('channelEstimate "mmse" needs the large-scale fading beta_n as side information');
    const sigma2 = obs.noiseVar;
    const B = obs.y.re.shape[0];
    const cb = hostCodebook(obs.codebook); // per run, or trial b's own [L, K] block
    const yRe = obs.y.re.dataSync();
    const yIm = obs.y.im.dataSync();
    const beta = obs.largeScaleFading.dataSync();
    const outRe = new Float32Array(B * N * M);
    const outIm = new Float32Array(B * N * M);
    for (let b = 0; b < B; b++) {
      const set: number[] = [];
      for (let n = 0; n < N; n++) if (activity[b * N + n] > 0.5 && beta[b * N + n] > 0) set.push(n);
      const s = set.length;
      if (s === 0) continue;
      const cols = set.map((n) => n * Q + message[b * N + n]);
      // G = A_S^H A_S + sigma^2 diag(1 / beta_S) (row-major s x s), R = A_S^H Y_b (s x M)
      const { re: cbRe, im: cbIm } = cb.trial(b);
      const g = gramColumns(cbRe, cbIm, L, K, cols);
      for (let i = 0; i < s; i++) {
        g.re[i * s + i] += sigma2 / beta[b * N + set[i]];
        g.im[i * s + i] = 0;
      }
      const r = adjointTimes(cbRe, cbIm, L, K, cols, yRe, yIm, b * L * M, M);
      choleskySolveComplex(choleskyComplex(g.re, g.im, s), s, r.re, r.im, M);
      set.forEach((n, i) => {
        outRe.set(r.re.subarray(i * M, (i + 1) * M), (b * N + n) * M);
        outIm.set(r.im.subarray(i * M, (i + 1) * M), (b * N + n) * M);
      });
    }
    return { re: tf.tensor3d(outRe, [B, N, M]), im: tf.tensor3d(outIm, [B, N, M]) };
  }
}
