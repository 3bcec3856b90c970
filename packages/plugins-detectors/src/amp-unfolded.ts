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
  type Observation,
  type ParamProblem,
  type RandomStreams,
  type Scenario,
  type Trainable,
} from '@gfra/core';
import { bernoulliGaussianDenoiser } from './mmv-amp';
import { RowEnergyThreshold, rowEnergyEstimate } from './group-lasso';
import { ColumnCorrection } from './column-correction';
import { priorDiagnostics } from './prior-diagnostics';

export const AmpUnfoldedParams = Type.Object(
  {
    blocks: Type.Integer({ minimum: 1, default: 10, description: 'U: unrolled AMP iterations (approximation blocks; 50 in paper 001)' }),
    activityProb: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.1, description: 'initial eps(n) of every device (paper: p)' }),
    trainPriors: Type.Boolean({ default: true, description: 'learn eps(1..N) (shared by all blocks); false keeps the initial value' }),
    correctionLayers: Type.Integer({ minimum: 0, default: 3, description: 'V: fully connected correction layers; 0 = the plain unrolled AMP' }),
    hiddenWidth: Type.Optional(Type.Integer({ minimum: 1, description: 'units of the hidden correction layers (default 2 N)' })),
    residual: Type.Boolean({ default: true, description: 'correction output = AMP output + MLP (last layer zero-initialised); false = the paper\'s plain MLP' }),
    threshold: RowEnergyThreshold,
  },
  { additionalProperties: false },
);
export type AmpUnfoldedParams = Static<typeof AmpUnfoldedParams>;

/**
 * U iterations of paper 001's generalised AMP (Algorithm 2 as corrected in the spec: tau^2 =
 * ||R||_F^2 / (LM), matrix Onsager term) for a batch, differentiable in y, the pilots and the
 * prior log-odds. The same iteration (and op order) as `mmv-amp` with Q = 1, residual noise
 * estimate and matrix Onsager term; starting from X = 0, R = Y:
 *
 *   tau^2 = ||R||_F^2 / (L M),   Z = X + A^H R,   X' = phi omega Z (Bernoulli-Gaussian MMSE denoiser)
 *   R' = Y - A X' + (1/L) R [ (sum_n phi_n omega_n) I_M + Z^H diag(c) Z ]
 *
 * @param y        [B, L, M] complex
 * @param pilots   [L, N] complex (unit-norm columns: the spec's A / sqrt(L))
 * @param beta     [B, N] channel variance beta_n
 * @param logOdds  [N] log(eps_n / (1 - eps_n))
 * @returns        [B, N, M] complex: X after U iterations
 */
export function ampUnrolled(y: ComplexTensor, pilots: ComplexTensor, beta: tf.Tensor2D, logOdds: tf.Tensor1D, iterations: number): ComplexTensor {
  return cx.tidy(() => {
    const [B, L, M] = y.re.shape as [number, number, number];
    const K = pilots.re.shape[1] as number;
    const sHat = cx.realMatrix(pilots) as tf.Tensor2D; // [2L, 2K]
    const sHatT = tf.transpose(sHat) as tf.Tensor2D; // real(A^H)
    const apply = (A: tf.Tensor2D, V: tf.Tensor): tf.Tensor3D =>
      tf.reshape(tf.matMul(A, tf.reshape(V, [V.shape[0] as number, B * M]) as tf.Tensor2D), [A.shape[0], B, M]);
    const stack = (z: ComplexTensor): tf.Tensor3D => tf.concat([tf.transpose(z.re, [1, 0, 2]), tf.transpose(z.im, [1, 0, 2])], 0) as tf.Tensor3D;
    const timesI = (v: tf.Tensor, axis: number): tf.Tensor => {
      const [re, im] = tf.split(v, 2, axis);
      return tf.concat([tf.neg(im), re], axis);
    };
    const residualTau = (v: tf.Tensor): tf.Tensor2D => tf.reshape(tf.div(tf.sum(tf.square(v), [0, 2]), L * M), [1, B]);
    const yS = stack(y);
    const betaRows = tf.reshape(tf.tile(tf.expandDims(tf.transpose(beta), 1), [1, 1, 1]), [K, B]);
    const odds = tf.reshape(logOdds, [K, 1]);
    let x = tf.zeros([2 * K, B, M]) as tf.Tensor3D;
    let r = yS;
    for (let t = 0; t < iterations; t++) {
      const tau = residualTau(r);
      const z = tf.add(x, apply(sHatT, r)) as tf.Tensor3D;
      const e = tf.sum(tf.reshape(tf.square(z), [2, K, B, M]), [0, 3]) as tf.Tensor2D;
      const den = bernoulliGaussianDenoiser(e, betaRows, tau, M, odds);
      const gain = tf.mul(den.phi, den.omega);
      const xNext = tf.reshape(tf.mul(tf.reshape(z, [2, K, B, M]), tf.reshape(gain, [1, K, B, 1])), [2 * K, B, M]) as tf.Tensor3D;
      const sumGain = tf.sum(gain, 0);
      const zb = tf.transpose(z, [1, 0, 2]);
      const c2 = tf.reshape(tf.tile(tf.transpose(den.c), [1, 2]), [B, 2 * K, 1]);
      const left = tf.transpose(tf.mul(tf.concat([zb, timesI(zb, 1)], 2), c2), [0, 2, 1]);
      const g = tf.matMul(left as tf.Tensor3D, zb as tf.Tensor3D);
      const rb = tf.transpose(r, [1, 0, 2]);
      const rg = tf.matMul(tf.concat([rb, timesI(rb, 1)], 2) as tf.Tensor3D, g);
      const onsager = tf.div(tf.add(tf.transpose(rg, [1, 0, 2]), tf.mul(r, tf.reshape(sumGain, [1, B, 1]))), L);
      r = tf.add(tf.sub(yS, apply(sHat, xNext)), onsager) as tf.Tensor3D;
      x = xNext;
    }
    const h = tf.transpose(tf.reshape(x, [2, K, B, M]), [0, 2, 1, 3]);
    const [re, im] = tf.unstack(h, 0) as [tf.Tensor3D, tf.Tensor3D];
    return { re, im };
  });
}

/**
 * AMP-NN: the model-driven decoder of paper 001 for jointly sparse signal recovery built on the
 * generalised AMP (Algorithm 2). Approximation part: U unrolled AMP iterations ({@link ampUnrolled})
 * with the per-device activity probabilities eps(n) = sigmoid(theta_n) learned (N values shared by
 * all blocks, theta_n initialised to logit(p)); correction part: V fully connected layers on every
 * antenna column ({@link ColumnCorrection}). Train with `"loss": "mse"`, jointly with
 * `learned-pilots`. With V = 0 and the initial eps it equals `mmv-amp` (residual noise estimate,
 * matrix Onsager term, maxIterations U, eps_n = p).
 *
 * Reference: paper 001 (model-driven auto-encoders for MMV recovery), Sec. III-A, III-C
 * (AMP-based decoder, Algorithm 2, eqs. (11)-(12)); spec mmv-autoencoder.md 2.4 (corrections A4-A6).
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
 * @remarks Deviations from the paper: Algorithm 2 is run as corrected in the spec (A4-A6: unit-norm
 * pilots, squared Frobenius norm in tau^2, matrix Onsager term with 1/L); the denoiser's channel
 * variance is beta_n (side information) instead of the hard-coded 1; `residual` correction (not
 * in the paper, spec 2.2.1) by default; hidden width 2N (spec A2); the activity decision is a
 * fixed rule on the row energy (spec 2.8's statistic) unless the candidate has a `threshold` block
 * (gamma* fitted on training data, the paper's thresholding module).
 */
@injectable()
export class AmpUnfoldedDetector implements Detector, Trainable {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'amp-unfolded',
    summary: 'AMP-NN: U unrolled generalised-AMP iterations (learned per-device eps(n)) + V fully connected correction layers; train with MSE',
    reference: 'Paper 001 (model-driven MMV auto-encoders), Sec. III-C, Algorithm 2, eqs. (11)-(12)',
    params: AmpUnfoldedParams,
    requires: () => ['codebook', 'largeScaleFading'],
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
      // the same ops as mmv-amp's prior log-odds, so that V = 0 reproduces it bit for bit
      const p = tf.div(tf.fill([N], params.activityProb), 1);
      const odds = tf.sub(tf.log(p), tf.log1p(tf.neg(p))) as tf.Tensor1D;
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
  estimate(obs: Observation): ComplexTensor {
    if (obs.codebook === undefined) throw new Error('needs the codebook (pilots) as side information');
    if (obs.largeScaleFading === undefined) throw new Error('needs the large-scale fading beta_n as side information');
    const pilots = obs.codebook;
    const beta = obs.largeScaleFading;
    return cx.tidy(() => this.correction.apply(ampUnrolled(obs.y, pilots, beta, this.theta as tf.Tensor1D, this.params.blocks)));
  }

  detect(obs: Observation): Estimate {
    return cx.tidy((): Estimate => rowEnergyEstimate(this.estimate(obs), this.params.threshold, obs.largeScaleFading));
  }

  dispose(): void {
    this.theta.dispose();
    this.correction.dispose();
  }
}
