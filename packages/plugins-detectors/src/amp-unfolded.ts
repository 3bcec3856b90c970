import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  numSequences,
  TOKENS,
  type ComplexTensor,
  type Detector,
  type Estimate,
  type ObservationWith,
  type ParamProblem,
  type RandomStreams,
  type Scenario,
  type Trainable,
} from '@gfra/core';
import { ampUnrolled, bernoulliLogOdds } from './algorithms/amp';
import { ColumnCorrection, priorDiagnostics } from './algorithms/layers';
import { PowerThreshold, rowEnergyEstimate } from './decision';
import { refusePerTrialCodebook } from './codebook';

export const AmpUnfoldedParams = Type.Object(
  {
    blocks: Type.Integer({ minimum: 1, default: 10, description: 'U: unrolled AMP iterations (approximation blocks; 50 in Cui, Li, Zhang)' }),
    activityProb: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.1, description: 'initial eps(n) of every device (paper: p)' }),
    trainPriors: Type.Boolean({ default: true, description: 'learn eps(1..N) (shared by all blocks); false keeps the initial value' }),
    correctionLayers: Type.Integer({ minimum: 0, default: 3, description: 'V: fully connected correction layers; 0 = the plain unrolled AMP' }),
    hiddenWidth: Type.Optional(Type.Integer({ minimum: 1, description: 'units of the hidden correction layers (default 2 N)' })),
    residual: Type.Boolean({ default: true, description: 'correction output = AMP output + MLP (last layer zero-initialised); false = the paper\'s plain MLP' }),
    threshold: PowerThreshold,
  },
  { additionalProperties: false },
);
export type AmpUnfoldedParams = Static<typeof AmpUnfoldedParams>;

/** Side information amp-unfolded always requires. */
const REQUIRES = ['codebook', 'largeScaleFading'] as const;
type AmpUnfoldedObservation = ObservationWith<(typeof REQUIRES)[number]>;

/**
 * AMP-NN: the model-driven decoder for jointly sparse signal recovery built on the generalised
 * AMP. Approximation part: U unrolled AMP iterations ({@link ampUnrolled}) with the per-device
 * activity probabilities eps(n) = sigmoid(theta_n) learned (N values shared by all blocks,
 * theta_n initialised to logit(p)); correction part: V fully connected layers on every antenna
 * column ({@link ColumnCorrection}). Train with `"loss": "mse"`, jointly with `learned-pilots`.
 * With V = 0 and the initial eps it equals `mmv-amp` (residual noise estimate, matrix Onsager
 * term, maxIterations U, eps_n = p) bit for bit.
 *
 * Reference: Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via
 * deep learning with applications in MIMO-based grant-free random access", IEEE J. Sel. Areas
 * Commun., 2021, Sec. III-B (model-driven decoder; 2) AMP-based decoder, Algorithm 2,
 * Eqs. (11)-(12)).
 *
 * Trainable variables: priors/theta [N] (with trainPriors), correction<k>/kernel, correction<k>/bias.
 * Symbols: N numDevices, M numAntennas, L sequenceLength, U blocks, V correctionLayers.
 *
 * @input  y                [B, L, M] complex
 * @input  codebook         [L, N] complex
 * @input  largeScaleFading [B, N] beta_n (the denoiser's channel variance)
 * @output channel       [B, N, M] complex: Xhat
 * @output activityScore [B, N] ||xhat_n||^2 / M (divided by beta_n under rule "beta")
 * @output activity      [B, N] in {0, 1}
 * @remarks Deviations from the paper: Algorithm 2 is run on unit-norm pilot columns (it is printed
 *   for them, while the paper's pilots have norm sqrt(L)), with tau^2 = ||R||_F^2 / (L M) (the
 *   paper prints tau = sqrt(||R||_F / (M L)), without the square of the norm) and the Onsager term (1/L) R sum_n J_n with
 *   the M x M Jacobian of the vector denoiser (Eq. (12) prints N/L times an unnormalised sum and a
 *   scalar second term); the denoiser's channel variance is beta_n (side information) instead of
 *   the paper's unit variance; the correction is residual by default (not in the paper); hidden
 *   width 2N (not given in the paper); the activity decision is a fixed rule on the row energy
 *   unless the candidate has a `threshold` block (gamma* fitted on training data, the paper's
 *   thresholding module).
 */
@injectable()
export class AmpUnfoldedDetector implements Detector, Trainable {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'amp-unfolded',
    draws: {
      weights: 'once per run: the initial weights of the correction layers',
    },
    summary: 'AMP-NN: U unrolled generalised-AMP iterations (learned per-device eps(n)) + V fully connected correction layers; train with MSE',
    reference:
      'Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via deep learning with applications in MIMO-based grant-free random access", IEEE JSAC 2021, Sec. III-B, Algorithm 2, Eqs. (11)-(12)',
    params: AmpUnfoldedParams,
    requires: () => [...REQUIRES],
    provides: () => ['activityScore', 'activity', 'channel'],
    training: () => ({}),
    check: (_p: AmpUnfoldedParams, s: Scenario) => {
      const problems: ParamProblem[] = [];
      if (numSequences(s) !== 1) problems.push({ path: '', message: `needs one pilot per device (scenario.bitsPerDevice = 0; got ${s.bitsPerDevice})` });
      return problems;
    },
  });

  /** theta_n = log(eps_n / (1 - eps_n)), or the fixed initial log-odds. */
  private readonly theta: tf.Variable | tf.Tensor1D;
  private readonly correction: ColumnCorrection;

  constructor(
    @inject(TOKENS.params) private readonly params: AmpUnfoldedParams,
    @inject(TOKENS.scenario) scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    const N = scenario.numDevices;
    this.theta = tf.tidy(() => {
      // mmv-amp's prior log-odds (Q = 1), so that V = 0 reproduces it bit for bit
      const odds = bernoulliLogOdds(tf.fill([N], params.activityProb), 1) as tf.Tensor1D;
      return params.trainPriors ? tf.variable(odds, true) : tf.keep(odds);
    });
    this.correction = new ColumnCorrection(N, params.correctionLayers, params.hiddenWidth ?? 2 * N, params.residual, random);
  }

  trainableVariables(): Readonly<Record<string, tf.Variable>> {
    const out: Record<string, tf.Variable> = this.theta instanceof tf.Variable ? { 'priors/theta': this.theta } : {};
    return { ...out, ...this.correction.variables() };
  }

  /** eps1, eps2 and eps1/eps2 of the current priors (see {@link priorDiagnostics}). */
  diagnostics(): Readonly<Record<string, number>> {
    return priorDiagnostics(this.priors());
  }

  /** Current eps(1..N) (host numbers). */
  priors(): number[] {
    return Array.from(tf.tidy(() => tf.sigmoid(this.theta).dataSync()));
  }

  /** Xhat [B, N, M] complex. */
  estimate(obs: AmpUnfoldedObservation): ComplexTensor {
    refusePerTrialCodebook(obs.codebook, 'amp-unfolded');
    return cx.tidy(() => this.correction.apply(ampUnrolled(obs.y, obs.codebook, obs.largeScaleFading, this.theta as tf.Tensor1D, this.params.blocks)));
  }

  detect(obs: AmpUnfoldedObservation): Estimate {
    return cx.tidy((): Estimate => rowEnergyEstimate(this.estimate(obs), this.params.threshold, obs.largeScaleFading));
  }

  dispose(): void {
    this.theta.dispose();
    this.correction.dispose();
  }
}
