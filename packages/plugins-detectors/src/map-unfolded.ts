import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  numSequences,
  TOKENS,
  type Detector,
  type Estimate,
  type ObservationWith,
  type ParamProblem,
  type RandomStreams,
  type Scenario,
  type Trainable,
} from '@gfra/core';
import { covarianceCdTf, cyclicOrders } from './algorithms/covariance';
import { DenseStack, priorDiagnostics } from './algorithms/layers';
import { refusePerTrialCodebook } from './codebook';

export const MapUnfoldedParams = Type.Object(
  {
    sweeps: Type.Integer({ minimum: 1, default: 3, description: 'U: unrolled sweeps of Algorithm 3 (each updates all N coordinates in index order; 55 in Cui, Li, Zhang)' }),
    activityProb: Type.Number({
      exclusiveMinimum: 0,
      maximum: 0.5,
      default: 0.1,
      description: 'initial eps(n) of every device (paper: p); eps(n) = 0.5 sigmoid(theta_n) stays below 1/2',
    }),
    trainPriors: Type.Boolean({ default: true, description: 'learn eps(1..N) (shared by all sweeps); false keeps the initial value' }),
    correctionLayers: Type.Integer({ minimum: 0, default: 3, description: 'V: fully connected correction layers (ReLU on the first V - 1); 0 = no MLP' }),
    hiddenWidth: Type.Optional(Type.Integer({ minimum: 1, description: 'units of the hidden correction layers (default 2 N)' })),
    head: Type.Union([Type.Literal('skip-logit'), Type.Literal('plain')], {
      default: 'skip-logit',
      description:
        '"skip-logit": logit_n = kappa (alpha_n - b) + MLP(alpha)_n with kappa, b trainable (a soft threshold: the binary approximation of 1[alpha_n >= b] that BCE trains) and the MLP\'s last layer zero-initialised; "plain": the paper\'s MLP ending in a sigmoid (with V = 0: the raw alpha^(U), Algorithm 3 itself)',
    }),
    sharpness: Type.Number({ exclusiveMinimum: 0, default: 10, description: 'initial kappa of the skip-logit head' }),
    offset: Type.Number({ default: 0.5, description: 'initial b of the skip-logit head (alpha is on the 0/1 scale)' }),
    threshold: Type.Number({
      minimum: 0,
      default: 0.5,
      description: 'declare device n active when its score >= this (a probability, or alpha^(U) with head "plain" and V = 0); a candidate `threshold` block replaces it by gamma* fitted on training data',
    }),
  },
  { additionalProperties: false },
);
export type MapUnfoldedParams = Static<typeof MapUnfoldedParams>;

/** Side information map-unfolded always requires. */
const REQUIRES = ['codebook', 'noiseVariance', 'largeScaleFading'] as const;
type MapUnfoldedObservation = ObservationWith<(typeof REQUIRES)[number]>;

/**
 * MAP-NN: the model-driven decoder for jointly sparse support recovery (device activity
 * detection) built on the MAP coordinate descent of Algorithm 3. Approximation part: U unrolled
 * sweeps of Algorithm 3 ({@link covarianceCdTf}, exactly `covariance-ml` with `objective: "map"`,
 * `precision: "float32"`, `order: "cyclic"`) on the sample covariance of Y, with the per-device
 * activity probabilities eps(n) learned; correction part: V fully connected layers from
 * alpha^(U) in R^N to N activity probabilities; trained with binary cross-entropy
 * (`"loss": "bce"`, Eq. (20)), jointly with `learned-pilots` or on fixed pilots.
 *
 * Reference: Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via
 * deep learning with applications in MIMO-based grant-free random access", IEEE J. Sel. Areas
 * Commun., 2021, Sec. IV-A.2 (MAP-based decoder, Eqs. (16)-(19), Algorithm 3) and Sec. IV-B
 * (training, Eq. (20)).
 *
 * Per coordinate n (Eqs. (18)-(19) with the corrections listed below): s = a_n^H Sinv a_n,
 * q = a_n^H Sinv Sigma_hat Sinv a_n, c = log(eps_n / (1 - eps_n)) / (M beta_n),
 * u* = 2 q / (s + sqrt(s^2 - 4 c q)), d = max((u* - 1) / s, -gamma_n), gamma_n += d, Sherman-Morrison
 * update of Sinv; alpha_n = gamma_n / beta_n. eps_n = 0.5 sigmoid(theta_n), theta_n initialised so
 * that eps_n = activityProb (eps <= 1/2 keeps the relaxed problem bounded below).
 *
 * With `activityProb: 0.5` and `trainPriors: false` the prior term vanishes (c = 0) and the
 * approximation part is the ML coordinate descent (the covariance-based ML detector of the
 * paper's baselines), i.e. an unrolled covariance decoder with correction layers.
 *
 * Correction (head "plain", the paper): alpha -> [dense h, ReLU] x (V - 1) -> dense N -> sigmoid.
 * Head "skip-logit" (default; not in the paper): logit = kappa (alpha - b) + MLP(alpha) with the
 * MLP's last layer zero-initialised, so training starts from a soft threshold of Algorithm 3's
 * output instead of from a random MLP.
 *
 * Trainable variables: priors/theta [N] (trainPriors), head/kappa [], head/offset [] (skip-logit),
 * correction<k>/kernel, correction<k>/bias. Symbols: N numDevices, M numAntennas,
 * L sequenceLength, U sweeps, V correctionLayers.
 *
 * @input  y                [B, L, M] complex
 * @input  codebook         [L, N] complex
 * @input  noiseVar         sigma^2
 * @input  largeScaleFading [B, N] beta_n (the channel variance of an active device)
 * @output activityScore [B, N] activity probability (alpha^(U) with head "plain" and V = 0)
 * @output activity      [B, N] in {0, 1}: score >= threshold
 * @remarks Deviations from the paper: Eq. (16) prints A Gamma A for A Gamma A^H, Eq. (19) a plus
 *   sign before the prior term (it is a minus) and Algorithm 3, step 6, the denominator
 *   1 + d a_n Sinv a_n^H (it is 1 + d a_n^H Sinv a_n); the step is the division-free form above,
 *   with the discriminant clamped at 0. The skip-logit head by default; the paper's alpha (0/1
 *   scale, unit channel power) is gamma / beta_n here; eps(n) parameterised as 0.5 sigmoid(theta)
 *   (eps > 1/2 would make the relaxed problem unbounded below); float32 throughout (the float64
 *   host path of covariance-ml is not differentiable); U sweeps of N sequential steps are
 *   U N small tensor operations per pass (no truncated backpropagation).
 */
@injectable()
export class MapUnfoldedDetector implements Detector, Trainable {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'map-unfolded',
    draws: {
      weights: 'once per run: the initial weights of the correction layers',
    },
    summary: 'MAP-NN: U unrolled sweeps of the MAP coordinate descent (learned per-device eps(n)) + V correction layers to activity probabilities; train with BCE',
    reference:
      'Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via deep learning with applications in MIMO-based grant-free random access", IEEE JSAC 2021, Sec. IV-A.2, MAP-based decoder, Eqs. (16)-(19), Algorithm 3',
    params: MapUnfoldedParams,
    requires: () => [...REQUIRES],
    provides: () => ['activityScore', 'activity'],
    training: () => ({}),
    check: (p: MapUnfoldedParams, s: Scenario) => {
      const problems: ParamProblem[] = [];
      if (numSequences(s) !== 1) problems.push({ path: '', message: `needs one pilot per device (scenario.bitsPerDevice = 0; got ${s.bitsPerDevice})` });
      if (p.activityProb === 0.5 && p.trainPriors) {
        problems.push({
          path: 'activityProb',
          message: 'eps(n) = 1/2 is the edge of the parameterisation 0.5 sigmoid(theta) (theta = +infinity), so it cannot be learned',
          hint: 'Set trainPriors to false for the unrolled ML decoder (eps = 1/2 makes the MAP step the ML step), or start below 0.5',
        });
      }
      if (p.sweeps * s.numDevices > 20000) {
        problems.push({
          path: 'sweeps',
          message: `${p.sweeps} sweeps x ${s.numDevices} devices = ${p.sweeps * s.numDevices} sequential coordinate steps per forward pass`,
          hint: 'Use fewer sweeps (each step is ~25 tensor operations, also in the backward pass)',
        });
      }
      return problems;
    },
  });

  private readonly theta: tf.Variable | tf.Tensor1D;
  private readonly head: { kappa: tf.Variable; offset: tf.Variable } | undefined;
  private readonly mlp: DenseStack;
  private readonly orders: readonly (readonly number[])[];

  constructor(
    @inject(TOKENS.params) private readonly params: MapUnfoldedParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    const N = scenario.numDevices;
    this.orders = cyclicOrders(N, params.sweeps);
    // eps = 0.5 sigmoid(theta)  <=>  theta = logit(2 eps)
    const theta0 = Math.log((2 * params.activityProb) / (1 - 2 * params.activityProb));
    this.theta = tf.tidy(() => (params.trainPriors ? tf.variable(tf.fill([N], theta0), true) : tf.keep(tf.fill([N], theta0) as tf.Tensor1D)));
    this.head =
      params.head === 'skip-logit'
        ? tf.tidy(() => ({ kappa: tf.variable(tf.scalar(params.sharpness), true), offset: tf.variable(tf.scalar(params.offset), true) }))
        : undefined;
    const V = params.correctionLayers;
    const width = params.hiddenWidth ?? 2 * N;
    const sizes = V === 0 ? [] : [N, ...Array<number>(V - 1).fill(width), N];
    this.mlp = new DenseStack(sizes, random, { name: (k) => `correction${k}`, zeroLast: this.head !== undefined });
  }

  trainableVariables(): Readonly<Record<string, tf.Variable>> {
    const out: Record<string, tf.Variable> = this.theta instanceof tf.Variable ? { 'priors/theta': this.theta } : {};
    if (this.head !== undefined) Object.assign(out, { 'head/kappa': this.head.kappa, 'head/offset': this.head.offset });
    return { ...out, ...this.mlp.variables() };
  }

  /** eps1, eps2 and eps1/eps2 of the current priors (see {@link priorDiagnostics}). */
  diagnostics(): Readonly<Record<string, number>> {
    return priorDiagnostics(this.priors());
  }

  /** Current eps(1..N) (host numbers). */
  priors(): number[] {
    return Array.from(tf.tidy(() => tf.mul(0.5, tf.sigmoid(this.theta)).dataSync()));
  }

  /** alpha^(U) [B, N]: Algorithm 3's estimate after U sweeps, on the 0/1 scale (gamma / beta_n). */
  approximation(obs: MapUnfoldedObservation): tf.Tensor2D {
    const { codebook, noiseVar, largeScaleFading: beta } = obs;
    refusePerTrialCodebook(codebook, 'map-unfolded');
    const M = this.scenario.numAntennas;
    return tf.tidy(() => {
      const eps = tf.mul(0.5, tf.sigmoid(this.theta));
      const logOdds = tf.sub(tf.log(eps), tf.log1p(tf.neg(eps))); // [N]
      const prior = tf.div(logOdds, tf.mul(beta, M)) as tf.Tensor2D; // c [B, N]
      return tf.div(covarianceCdTf(obs.y, codebook, noiseVar, this.orders, prior), beta) as tf.Tensor2D;
    });
  }

  /** The activity score [B, N] (see the `head` parameter). */
  score(obs: MapUnfoldedObservation): tf.Tensor2D {
    return tf.tidy(() => {
      const alpha = this.approximation(obs);
      const h = this.mlp.apply(alpha);
      if (this.head !== undefined) {
        const skip = tf.mul(this.head.kappa, tf.sub(alpha, this.head.offset));
        return tf.sigmoid(this.mlp.depth > 0 ? tf.add(skip, h) : skip) as tf.Tensor2D;
      }
      return this.mlp.depth > 0 ? (tf.sigmoid(h) as tf.Tensor2D) : alpha;
    });
  }

  detect(obs: MapUnfoldedObservation): Estimate {
    return cx.tidy((): Estimate => {
      const activityScore = this.score(obs);
      return { activityScore, activity: tf.cast(tf.greaterEqual(activityScore, this.params.threshold), 'float32') as tf.Tensor2D };
    });
  }

  dispose(): void {
    this.theta.dispose();
    if (this.head !== undefined) tf.dispose([this.head.kappa, this.head.offset]);
    this.mlp.dispose();
  }
}
