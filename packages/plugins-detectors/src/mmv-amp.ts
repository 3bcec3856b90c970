import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { definePlugin, numSequences, TOKENS, type Capability, type ComplexTensor, type Detector, type Estimate, type ObservationWith, type RealArray, type Scenario } from '@gfra/core';
import type { AmpIterate } from './algorithms/amp';
import { hostMmvAmp, type HostAmpLayout } from './algorithms/amp-host';
import { HostWorkspace } from './algorithms/host-workspace';

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
  /** The host kernel's buffers, reused by every detect() (its results are read before the next). */
  private readonly workspace = new HostWorkspace();

  constructor(
    @inject(TOKENS.params) private readonly params: MmvAmpParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {}

  detect(obs: MmvAmpObservation): Estimate {
    const { numDevices: N, numAntennas: M, sequenceLength: L } = this.scenario;
    const Q = numSequences(this.scenario);
    const K = N * Q;
    const B = obs.y.re.shape[0];
    const eps = obs.activityProbability.dataSync();
    const beta = obs.largeScaleFading.dataSync();
    // log(p / (1 - p)), p = eps_n / Q: the prior of one of device n's Q rows
    const odds = Float64Array.from(eps, (e) => Math.log(e / Q) - Math.log1p(-e / Q));
    const rowOdds = Q === 1 ? odds : Float64Array.from({ length: K }, (_, k) => odds[Math.floor(k / Q)]);
    const observer = this.observer;
    const state = hostMmvAmp(
      {
        yRe: obs.y.re.dataSync(),
        yIm: obs.y.im.dataSync(),
        sRe: obs.codebook.re.dataSync(),
        sIm: obs.codebook.im.dataSync(),
        perTrial: obs.codebook.re.rank === 3,
        B,
        L,
        M,
        K,
        Q,
        beta,
        logOdds: rowOdds,
        firstTrial: obs.trials?.first ?? 0,
        workspace: this.workspace,
      },
      {
        iterations: this.params.maxIterations,
        noise: this.params.noiseEstimate === 'state-evolution' ? { estimate: 'state-evolution', noiseVar: this.noiseVar(obs), eps } : { estimate: 'residual' },
        onsager: this.params.onsager,
        damping: this.params.damping ?? 0,
        ...(observer !== undefined ? { observe: (t: number, z: RealArray, tau2: Float64Array, x: RealArray, layout: HostAmpLayout) => this.observeIterate(observer, t, z, tau2, x, B, K, M, layout) } : {}),
      },
    );
    this.countDiverged(state.residualNorms, B, this.params.maxIterations);
    const rule = this.params.threshold;
    const score = new Float32Array(B * N);
    const activity = new Float32Array(B * N);
    const message = new Int32Array(B * N);
    const hRe = new Float32Array(B * N * M);
    const hIm = new Float32Array(B * N * M);
    const { x, energy, tau2, layout } = state;
    const W = layout.width;
    for (let b = 0; b < B; b++) {
      const t2 = tau2[b];
      const col = layout.column(b);
      for (let n = 0; n < N; n++) {
        // q*_n = arg max_q ||z_{n,q}||^2 (the first on ties), then LLR_n = M (pi - psi)   (35)-(37)
        let q = 0;
        for (let j = 1; j < Q; j++) if (energy[(n * Q + j) * B + b] > energy[(n * Q + q) * B + b]) q = j;
        const bn = beta[b * N + n];
        const llr = Math.fround((bn * energy[(n * Q + q) * B + b]) / (t2 * (bn + t2)) - M * Math.log1p(bn / t2));
        const level = rule.rule === 'map' ? -odds[n] : rule.rule === 'large-m' ? 0 : rule.value;
        score[b * N + n] = llr;
        activity[b * N + n] = llr > Math.fround(level) ? 1 : 0;
        message[b * N + n] = q;
        const k = n * Q + q;
        for (let m = 0; m < M; m++) {
          hRe[(b * N + n) * M + m] = x[k * W + col + m];
          hIm[(b * N + n) * M + m] = x[k * W + col + M + m];
        }
      }
    }
    return {
      activityScore: tf.tensor2d(score, [B, N]),
      activity: tf.tensor2d(activity, [B, N]),
      message: tf.tensor2d(message, [B, N], 'int32'),
      channel: { re: tf.tensor3d(hRe, [B, N, M]), im: tf.tensor3d(hIm, [B, N, M]) },
    };
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

  /** Flags the trials whose residual grew ([T + 1, B] norms) and adds them to the counts. */
  private countDiverged(norms: Float64Array, B: number, T: number): void {
    const flags = Array.from({ length: B }, (_, b) => {
      let least = Infinity;
      for (let t = 0; t <= T; t++) least = Math.min(least, Math.fround(norms[t * B + b]));
      // ||R_T||^2 <= G min_t ||R_t||^2 fails (diverged) also when ||R_T|| is NaN or infinite
      return !(Math.fround(norms[T * B + b]) <= DIVERGENCE_GROWTH * least);
    });
    this.lastFlags = flags;
    this.trialsSeen += flags.length;
    this.divergedSeen += flags.filter((f) => f).length;
  }

  /** Hands one iteration to a {@link trace} observer as tensors [B, K, M] (freed after it returns; rows 0 .. K - 1 of z and x, see `hostMmvAmp`'s layout). */
  private observeIterate(observe: (it: AmpIterate) => void, t: number, z: RealArray, tau2: Float64Array, x: RealArray, B: number, K: number, M: number, layout: HostAmpLayout): void {
    const unstack = (v: RealArray): ComplexTensor => {
      const re = new Float32Array(B * K * M);
      const im = new Float32Array(B * K * M);
      const W = layout.width;
      for (let b = 0; b < B; b++)
        for (let k = 0; k < K; k++)
          for (let m = 0; m < M; m++) {
            re[(b * K + k) * M + m] = v[k * W + layout.column(b) + m];
            im[(b * K + k) * M + m] = v[k * W + layout.column(b) + M + m];
          }
      return { re: tf.tensor3d(re, [B, K, M]), im: tf.tensor3d(im, [B, K, M]) };
    };
    tf.tidy(() => observe({ t, z: unstack(z), tau2: tf.tensor1d(Float32Array.from(tau2)), x: unstack(x) }));
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

  /** sigma^2, which noiseEstimate "state-evolution" (and only it) requires. */
  private noiseVar(obs: MmvAmpObservation): number {
    if (obs.noiseVar === undefined) throw new Error('noiseEstimate "state-evolution" needs the noise variance sigma^2 as side information (or use noiseEstimate "residual")');
    return obs.noiseVar;
  }
}
