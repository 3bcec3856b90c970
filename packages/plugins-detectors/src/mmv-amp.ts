import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { cx, definePlugin, numSequences, TOKENS, type Capability, type Detector, type Estimate, type ObservationWith, type Scenario } from '@gfra/core';
import { bernoulliGaussianDenoiser, bernoulliLogOdds, mmvAmp, type AmpIterate } from './algorithms/amp';
import { bestSequence, decideActivity } from './decision';

export const MmvAmpThreshold = Type.Union(
  [
    Type.Object({ rule: Type.Literal('map') }, { additionalProperties: false }),
    Type.Object({ rule: Type.Literal('large-m') }, { additionalProperties: false }),
    Type.Object(
      { rule: Type.Literal('llr'), value: Type.Number({ description: 'threshold on the log-likelihood ratio LLR_n' }) },
      { additionalProperties: false },
    ),
  ],
  {
    default: { rule: 'map' },
    description:
      'Activity decision on LLR_n = M (pi_n - psi_n): "map" LLR_n > log((Q - eps_n) / eps_n) (posterior phi > 1/2), "large-m" LLR_n > 0 (DL-mAMPnet Eq. (37), the large-M limit), "llr" LLR_n > value (trade-off curves)',
  },
);

export const MmvAmpParams = Type.Object(
  {
    maxIterations: Type.Integer({ minimum: 1, default: 50, description: 'T: AMP iterations (T_AMP = 50 in DL-mAMPnet)' }),
    noiseEstimate: Type.Union([Type.Literal('residual'), Type.Literal('state-evolution')], {
      default: 'residual',
      description:
        'Effective noise tau_t^2: "residual" ||R_t||_F^2 / (L M) (needs no sigma^2), or "state-evolution" tau_0^2 = sigma^2 + (1/L) sum_n eps_n beta_n and the empirical recursion (34) (needs sigma^2)',
    }),
    onsager: Type.Union([Type.Literal('matrix'), Type.Literal('scalar')], {
      default: 'matrix',
      description:
        'Onsager term: "matrix" (1/L) R_t sum_k J_k^T with the M x M Jacobian of the vector denoiser, or "scalar" b_t R_t with b_t = (1/L) sum_k tr(J_k) / M (the literal Eq. (16); diverges under strong near-far)',
    }),
    threshold: MmvAmpThreshold,
    damping: Type.Optional(
      Type.Number({
        minimum: 0,
        exclusiveMaximum: 1,
        description:
          'd in [0, 1): from the second iteration on, X_{t+1} = (1 - d) eta(Z_t) + d X_t (the damping of Liu and Yu\'s reference implementation, which uses d = 0.05). Omitted or 0: no damping (the default)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type MmvAmpParams = Static<typeof MmvAmpParams>;

/**
 * Divergence rule of {@link MmvAmpDetector}: a trial diverged when its final residual energy
 * ||R_T||_F^2 exceeds DIVERGENCE_GROWTH times the smallest ||R_t||_F^2 over t = 0 .. T (R_0 = Y):
 * the effective noise tau^2 = ||R||_F^2 / (L M) ended more than 3 dB above the best the iteration
 * reached (the residual norm grew by more than sqrt(2) over its minimum).
 */
export const DIVERGENCE_GROWTH = 2;

/** Side information mmv-amp always requires (sigma^2 only with noiseEstimate "state-evolution"). */
const REQUIRES = ['codebook', 'largeScaleFading', 'activityProbability'] as const;
type MmvAmpObservation = ObservationWith<(typeof REQUIRES)[number]>;

/**
 * AMP for the multiple-measurement-vector model with the Bernoulli-Gaussian MMSE vector denoiser
 * (joint activity detection and channel estimation; with Q > 1 sequences per device, joint
 * activity and data detection).
 *
 * Reference: L. Liu, W. Yu, "Massive connectivity with massive MIMO - Part I: Device activity
 * detection and channel estimation", IEEE Trans. Signal Process., 2018 (AMP with the vector MMSE
 * denoiser, state evolution, LLR-based activity detection). Equation numbers are those of Z. Ma,
 * W. Wu, F. Gao, X. Shen, "Model-driven deep learning for non-coherent massive machine-type
 * communications" (DL-mAMPnet), Sec. III-B-C, Eqs. (14)-(16), (28)-(37), which restate the
 * algorithm for Q >= 1.
 *
 * Model: $Y = S X + W$, $S \in \mathbb{C}^{L \times NQ}$ (column nQ + q = sequence q of device n),
 * $X \in \mathbb{C}^{NQ \times M}$ with row nQ + q equal to h_n^T if device n is active and sent q
 * (h_n ~ CN(0, beta_n I_M)), W entries CN(0, sigma^2). The iteration (Eqs. (14)-(15) with the
 * MMSE denoiser (28)-(32) and prior eps_n / Q per row) is {@link mmvAmp}.
 *
 * Decision (35)-(37) from the last denoiser input: element selection q*_n = arg max_q ||z_{n,q}||^2
 * (equal to arg max_q ||x_{n,q}||^2, since omega_n is common to the device), then
 * LLR_n = M (pi_{n,q*} - psi_n) = log p(z | active, q*) / p(z | inactive) against the threshold.
 * Symbols: N numDevices, M numAntennas, L sequenceLength, Q = 2^J, T maxIterations.
 *
 * @input  y                   [B, L, M] complex
 * @input  codebook            [L, N*Q] complex, or [B, L, N*Q] (one per trial, encoder redraw "per-trial")
 * @input  largeScaleFading    [B, N] (beta_n)
 * @input  activityProbability [N] (eps_n)
 * @input  noiseVar            sigma^2 (only with noiseEstimate "state-evolution")
 * @output activityScore [B, N] LLR_n of the selected sequence
 * @output activity      [B, N] in {0, 1}
 * @output message       [B, N] int32 q*_n
 * @output channel       [B, N, M] complex: the AMP estimate x_{n,q*} (posterior mean phi omega z)
 * @remarks Deviations from the algorithm as printed (each an option):
 *   - Onsager term: by default (`onsager: "matrix"`) the residual update carries
 *     (1/L) R_t sum_k J_k^T with the full M x M Jacobian J_k = phi_k omega_k I + c_k z_k z_k^H of
 *     the vector denoiser, where Eq. (16) prints the scalar b_t; `"scalar"` uses
 *     b_t = (1/L) sum_k tr(J_k) / M, which diverges under a strong near-far spread.
 *   - Effective noise: by default (`noiseEstimate: "residual"`) tau_t^2 = ||R_t||_F^2 / (L M),
 *     instead of the state evolution (33)-(34); `"state-evolution"` evaluates (33) as
 *     sigma^2 + (1/L) sum_n eps_n beta_n and the expectation of (34) empirically (the sum over
 *     the rows of the current posterior variances, as the z inside the expectation implies).
 *   - Decision: by default (`threshold: "map"`) LLR_n > log((Q - eps_n) / eps_n) (posterior
 *     phi > 1/2), where (36)-(37) compare with 0 (`"large-m"`).
 *   - Damping (`damping` = d, omitted = 0 = none): X_{t+1} = (1 - d) eta(Z_t) + d X_t from the
 *     second iteration on, the residual (15) formed with the damped estimate and the undamped
 *     denoiser's Onsager term, as in Liu and Yu's reference implementation (`noisyCAMPmmseforKLS.m`
 *     of PolyuWirelessCommunicationLab/MMV-AMP-Algorithm-for-Massive-Connectivity-with-Massive-MIMO,
 *     `x = 0.95*x + 0.05*xold` for iterations i >= 2; see {@link mmvAmp}). Not in the paper's
 *     algorithm; with raw (not column-normalised) i.i.d. Gaussian pilots at small N the undamped
 *     iteration diverges on some draws. Its effect depends on the setting: on the five draws of
 *     mmv-amp.algorithm-2.test.ts (N = 100, L = 20, M = 4) d = 0.3 cuts the diverged trials from
 *     102 to 23 of 500, while at M = 8 and an equal 23 dB SNR (synthetic draws) d = 0.3 and 0.5
 *     flag more trials than no damping (32 and 57 against 23 of 200).
 *   All trials of a batch are processed together (trial b only ever sees its own data).
 *
 * Divergence diagnostics: every call of `detect` counts the trials whose residual grew, by the
 * rule of {@link DIVERGENCE_GROWTH} (||R_T||_F^2 > 2 min_t ||R_t||_F^2, t = 0 .. T), with one [B]
 * readback per batch; {@link MmvAmpDetector.diagnostics} reports `divergedTrials` and
 * `divergedFraction` (of all trials seen since construction), which the runner records per result.
 * The count never changes the estimates.
 */
@injectable()
export class MmvAmpDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'mmv-amp',
    summary: 'AMP with the Bernoulli-Gaussian MMSE vector denoiser and matrix Onsager term; LLR activity test, channel estimates',
    reference:
      'L. Liu, W. Yu, "Massive connectivity with massive MIMO - Part I: Device activity detection and channel estimation", IEEE TSP 2018; as restated in Z. Ma, W. Wu, F. Gao, X. Shen, "Model-driven deep learning for non-coherent massive machine-type communications", Sec. III, Eqs. (14)-(16), (28)-(37)',
    params: MmvAmpParams,
    requires: (p: MmvAmpParams) => {
      const needs: Capability[] = [...REQUIRES];
      if (p.noiseEstimate === 'state-evolution') needs.push('noiseVariance');
      return needs;
    },
    provides: () => ['activityScore', 'activity', 'message', 'channel'],
  });

  private observer: ((it: AmpIterate) => void) | undefined;
  /** Trials seen by detect() since construction, and those that diverged. */
  private trialsSeen = 0;
  private divergedSeen = 0;
  private lastFlags: boolean[] = [];

  constructor(
    @inject(TOKENS.params) private readonly params: MmvAmpParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {}

  detect(obs: MmvAmpObservation): Estimate {
    const { numDevices: N, numAntennas: M } = this.scenario;
    const Q = numSequences(this.scenario);
    const eps = obs.activityProbability;
    return cx.tidy((): Estimate => {
      const state = mmvAmp(obs.y, obs.codebook, {
        iterations: this.params.maxIterations,
        sequencesPerDevice: Q,
        beta: obs.largeScaleFading,
        logOdds: this.priorLogOdds(eps, Q),
        noise: this.params.noiseEstimate === 'state-evolution' ? { estimate: 'state-evolution', noiseVar: this.noiseVar(obs), eps } : { estimate: 'residual' },
        onsager: this.params.onsager,
        observe: this.observer,
        damping: this.params.damping ?? 0,
        trackResidual: true,
      });
      const B = state.tau2.shape[1];
      this.countDiverged(state.residualNorms as tf.Tensor2D);
      const energy = tf.reshape(state.energy, [N, Q, B]);
      const { best, message } = bestSequence(energy, 1); // [N, B]: q*_n and ||z_{n,q*}||^2
      const beta = tf.transpose(obs.largeScaleFading); // [N, B]
      const logOdds = tf.reshape(this.priorLogOdds(eps, 1), [N, 1]); // log(eps/Q) - log(1 - eps/Q)
      const { llr } = bernoulliGaussianDenoiser(best, beta, state.tau2, M, logOdds);
      const rule = this.params.threshold;
      const tau = rule.rule === 'map' ? tf.neg(logOdds) : rule.rule === 'large-m' ? tf.scalar(0) : tf.scalar(rule.value);
      const activity = decideActivity(llr, tau);
      // Channel estimate: the row of X_T at the selected sequence.
      const x = tf.reshape(state.x, [2, N, Q, B, M]);
      const pick = Q === 1 ? x : tf.mul(x, tf.reshape(tf.cast(tf.oneHot(message, Q), 'float32').transpose([0, 2, 1]), [1, N, Q, B, 1]));
      const h = tf.transpose(tf.sum(pick, 2), [0, 2, 1, 3]); // [2, B, N, M]
      const [re, im] = tf.unstack(h, 0) as [tf.Tensor3D, tf.Tensor3D];
      return {
        activityScore: tf.transpose(llr) as tf.Tensor2D,
        activity: tf.transpose(activity) as tf.Tensor2D,
        message: tf.transpose(message) as tf.Tensor2D,
        channel: { re, im },
      };
    });
  }

  /**
   * `divergedTrials`: the trials of all detect() calls since construction whose residual grew
   * (||R_T||_F^2 > {@link DIVERGENCE_GROWTH} min_t ||R_t||_F^2); `divergedFraction`: their share
   * of all trials seen (0 before the first call).
   */
  diagnostics(): Readonly<Record<string, number>> {
    return { divergedTrials: this.divergedSeen, divergedFraction: this.trialsSeen === 0 ? 0 : this.divergedSeen / this.trialsSeen };
  }

  /** Per trial of the last detect() call: whether it diverged (the rule of {@link DIVERGENCE_GROWTH}). */
  get lastDiverged(): readonly boolean[] {
    return this.lastFlags;
  }

  /** Flags the trials whose residual grew (one [B] readback) and adds them to the counts. */
  private countDiverged(norms: tf.Tensor2D): void {
    // ||R_T||^2 <= G min_t ||R_t||^2 (false, i.e. diverged, also when ||R_T|| is NaN or infinite)
    const ok = tf.tidy(() => tf.lessEqual(tf.gather(norms, norms.shape[0] - 1), tf.mul(DIVERGENCE_GROWTH, tf.min(norms, 0))));
    const flags = Array.from(ok.dataSync(), (v) => v === 0);
    ok.dispose();
    this.lastFlags = flags;
    this.trialsSeen += flags.length;
    this.divergedSeen += flags.filter((f) => f).length;
  }

  /**
   * Run the detector with an observer called after every iteration (tests, diagnostics: e.g. the
   * effective noise Z_t - X against tau_t^2). Tensors passed to `observe` are freed after it returns.
   */
  trace(obs: MmvAmpObservation, observe: (it: AmpIterate) => void): Estimate {
    this.observer = observe;
    try {
      return this.detect(obs);
    } finally {
      this.observer = undefined;
    }
  }

  /** [N*reps] log(p / (1 - p)) with p = eps_n / Q, each device's value repeated `reps` times. */
  private priorLogOdds(eps: tf.Tensor1D, reps: number): tf.Tensor1D {
    const odds = bernoulliLogOdds(eps, numSequences(this.scenario)) as tf.Tensor1D;
    return reps === 1 ? odds : (tf.reshape(tf.tile(tf.expandDims(odds, 1), [1, reps]), [-1]) as tf.Tensor1D);
  }

  /** sigma^2, which noiseEstimate "state-evolution" (and only it) requires. */
  private noiseVar(obs: MmvAmpObservation): number {
    if (obs.noiseVar === undefined) throw new Error('noiseEstimate "state-evolution" needs the noise variance sigma^2 as side information (or use noiseEstimate "residual")');
    return obs.noiseVar;
  }
}
