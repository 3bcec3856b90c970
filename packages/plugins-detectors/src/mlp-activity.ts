import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  TOKENS,
  type Capability,
  type Detector,
  type Estimate,
  type Observation,
  type ParamProblem,
  type RandomStreams,
  type Scenario,
  type Trainable,
} from '@gfra/core';
import { covarianceFeatures } from './algorithms/covariance-features';
import { DenseStack } from './algorithms/layers';
import { decideActivity } from './decision';

export const MlpActivityParams = Type.Object(
  {
    input: Type.Union([Type.Literal('covariance'), Type.Literal('received')], {
      default: 'covariance',
      description:
        'Features: "covariance" = [vec Re(S); vec Im(S)] of the sample covariance S = Y Y^H / M (2 L^2 values, the paper\'s covariance NN), "received" = [vec Re(Y); vec Im(Y)] (2 L M values)',
    }),
    hiddenLayers: Type.Integer({ minimum: 0, default: 2, description: 'hidden ReLU layers (V - 1 in the paper; V = 3 layers in all)' }),
    hiddenWidth: Type.Optional(Type.Integer({ minimum: 1, description: 'units per hidden layer (default max(2 L^2, 2 N))' })),
    scaleByNoise: Type.Boolean({
      default: true,
      description: 'divide the features by the noise variance sigma^2 (needs it as side information), so their scale does not depend on it',
    }),
    threshold: Type.Number({
      exclusiveMinimum: 0,
      exclusiveMaximum: 1,
      default: 0.5,
      description: 'declare device n active when its output probability exceeds this',
    }),
  },
  { additionalProperties: false },
);
export type MlpActivityParams = Static<typeof MlpActivityParams>;

/** Width of the hidden layers: the given one, else max(2 L^2, 2 N) (the paper does not give it). */
export function mlpHiddenWidth(p: MlpActivityParams, s: Scenario): number {
  return p.hiddenWidth ?? Math.max(2 * s.sequenceLength ** 2, 2 * s.numDevices);
}

/**
 * Fully connected activity decoder: the data-driven special case (U = 0 approximation blocks,
 * V = 3 dense layers) of the model-driven auto-encoder for device activity detection (the
 * covariance-based decoder "NN"), trained with binary cross-entropy.
 *
 * Reference: Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via
 * deep learning with applications in MIMO-based grant-free random access", IEEE J. Sel. Areas
 * Commun., 2021, Sec. IV-A.1 (covariance-based decoder, Eqs. (13)-(15)) and Sec. IV-B (BCE loss,
 * Eq. (20)).
 *
 * Features (default `covariance`): the sample covariance
 *   S = Y Y^H / M,  Re S = (Yr Yr^T + Yi Yi^T)/M,  Im S = (Yi Yr^T - Yr Yi^T)/M   (Eqs. (14)-(15)),
 * vectorised as x = [vec Re S; vec Im S] in R^{2 L^2} (row-major; the order of the inputs of a
 * dense layer is immaterial). Under Rayleigh fading the M columns of Y are i.i.d.
 * CN(0, A diag(gamma) A^H + sigma^2 I), so S is a sufficient statistic for the activity: the
 * decoder's input size does not grow with M, and it does not have to learn that the antennas are
 * exchangeable or that a common phase of a device's channel is irrelevant, which it would with
 * Y itself (`received`, 2 L M features, kept for comparison).
 *
 * Network: x -> [dense h, ReLU] x hiddenLayers -> dense N -> sigmoid, giving the activity
 * probabilities p in (0, 1)^N; Glorot-uniform weights from the plugin's seeded `weights` stream,
 * zero biases. Device n is declared active when p_n > threshold.
 *
 * Trainable variables: dense<k>/kernel [in, h], dense<k>/bias [h], output/kernel [h, N],
 * output/bias [N].
 * Symbols: N numDevices, M numAntennas, L sequenceLength, V = hiddenLayers + 1.
 *
 * @input  y             [B, L, M] complex
 * @input  noiseVar      sigma^2 (with scaleByNoise)
 * @output activityScore [B, N] float32: activity probability p_n
 * @output activity      [B, N] in {0, 1}: p_n > threshold
 * @remarks Deviations from the paper: the built-in decision is a parameter (0.5, the minimum-error
 *   rule for calibrated probabilities); the paper's gamma* fitted on the training set after
 *   training is the candidate's `threshold` block (the runner's thresholding module); features
 *   scaled by 1/sigma^2 by default (the paper does not scale, with sigma^2 fixed at 0.1); the
 *   hidden width max(2 L^2, 2 N) and the initialisation are not given in the paper.
 */
@injectable()
export class MlpActivityDetector implements Detector, Trainable {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'mlp-activity',
    draws: {
      weights: 'once per run: the initial weights of the dense layers',
    },
    summary: 'Fully connected activity decoder from the sample covariance (or Y) to N activity probabilities; train it with BCE',
    reference:
      'Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via deep learning with applications in MIMO-based grant-free random access", IEEE JSAC 2021, Sec. IV-A.1, covariance-based decoder, Eqs. (13)-(15), (20)',
    params: MlpActivityParams,
    requires: (p: MlpActivityParams) => (p.scaleByNoise ? (['noiseVariance'] as Capability[]) : []),
    provides: () => ['activityScore', 'activity'],
    training: () => ({}),
    check: (p: MlpActivityParams, s: Scenario): ParamProblem[] => {
      const width = mlpHiddenWidth(p, s);
      const inputs = p.input === 'covariance' ? 2 * s.sequenceLength ** 2 : 2 * s.sequenceLength * s.numAntennas;
      const weights = inputs * width + (p.hiddenLayers - 1) * width * width + width * s.numDevices;
      return weights > 5e7
        ? [{ path: 'hiddenWidth', message: `gives about ${weights.toExponential(1)} weights (${inputs} inputs, width ${width})`, hint: 'Use a smaller hiddenWidth' }]
        : [];
    },
    notes: ['Untrained it outputs noise: give its candidate a `train` block (loss "bce").'],
  });

  /** Hidden layers dense<k>, then the output layer. */
  private readonly mlp: DenseStack;

  constructor(
    @inject(TOKENS.params) private readonly params: MlpActivityParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    const { numDevices: N, numAntennas: M, sequenceLength: L } = scenario;
    const inputs = params.input === 'covariance' ? 2 * L * L : 2 * L * M;
    const width = mlpHiddenWidth(params, scenario);
    const sizes = [inputs, ...Array<number>(params.hiddenLayers).fill(width), N];
    this.mlp = new DenseStack(sizes, random, { name: (k, last) => (last ? 'output' : `dense${k}`) });
  }

  trainableVariables(): Readonly<Record<string, tf.Variable>> {
    return this.mlp.variables();
  }

  /** [B, F] real features of the received signal. */
  private features(obs: Observation): tf.Tensor2D {
    const { numAntennas: M, sequenceLength: L } = this.scenario;
    const y = obs.y;
    const B = y.re.shape[0];
    let x: tf.Tensor2D;
    if (this.params.input === 'covariance') {
      // S = Y Y^H / M: Re S = (Yr Yr^T + Yi Yi^T)/M, Im S = (Yi Yr^T - Yr Yi^T)/M  ([B, L, L])
      x = covarianceFeatures(y.re as tf.Tensor3D, y.im as tf.Tensor3D);
    } else {
      x = tf.concat([tf.reshape(y.re, [B, L * M]), tf.reshape(y.im, [B, L * M])], 1) as tf.Tensor2D;
    }
    if (!this.params.scaleByNoise) return x;
    if (obs.noiseVar === undefined) throw new Error('scaleByNoise needs the noise variance sigma^2 as side information (or set scaleByNoise to false)');
    // Covariance entries scale with sigma^2, entries of Y with sigma.
    return tf.div(x, this.params.input === 'covariance' ? obs.noiseVar : Math.sqrt(obs.noiseVar)) as tf.Tensor2D;
  }

  /** [B, N] logits log(p / (1 - p)). */
  logits(obs: Observation): tf.Tensor2D {
    return tf.tidy(() => this.mlp.apply(this.features(obs)));
  }

  detect(obs: Observation): Estimate {
    return cx.tidy((): Estimate => {
      const p = tf.sigmoid(this.logits(obs)) as tf.Tensor2D;
      return { activityScore: p, activity: decideActivity(p, this.params.threshold) };
    });
  }

  dispose(): void {
    this.mlp.dispose();
  }
}
