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
  type ObservationWith,
  type ParamProblem,
  type RandomStreams,
  type Scenario,
  type Trainable,
} from '@gfra/core';
import { groupLassoAdmm } from './algorithms/group-lasso';
import { ColumnCorrection } from './algorithms/layers';
import { PowerThreshold, rowEnergyEstimate } from './decision';
import { refusePerTrialCodebook } from './codebook';

export const GroupLassoUnfoldedParams = Type.Object(
  {
    blocks: Type.Integer({ minimum: 1, default: 30, description: 'U: unrolled ADMM iterations (approximation blocks; 200 in Cui, Li, Zhang)' }),
    lambda: Type.Number({ exclusiveMinimum: 0, default: 0.5, description: 'initial lambda (in the units of y, as in group-lasso)' }),
    rho: Type.Number({ exclusiveMinimum: 0, default: 1, description: 'initial ADMM penalty rho' }),
    trainTunables: Type.Boolean({ default: true, description: 'learn lambda and rho (shared by all blocks); false keeps the initial values' }),
    correctionLayers: Type.Integer({ minimum: 0, default: 3, description: 'V: fully connected correction layers (ReLU on the first V - 1); 0 = the plain unrolled ADMM' }),
    hiddenWidth: Type.Optional(Type.Integer({ minimum: 1, description: 'units of the hidden correction layers (default 2 N)' })),
    residual: Type.Boolean({
      default: true,
      description: 'correction output = ADMM output + MLP (last layer zero-initialised), so training starts at the unrolled ADMM; false = the paper\'s plain MLP',
    }),
    threshold: PowerThreshold,
  },
  { additionalProperties: false },
);
export type GroupLassoUnfoldedParams = Static<typeof GroupLassoUnfoldedParams>;

/** Side information group-lasso-unfolded always requires (beta_n only with threshold rule "beta"). */
const REQUIRES = ['codebook'] as const;
type GroupLassoUnfoldedObservation = ObservationWith<(typeof REQUIRES)[number]>;

/**
 * GL-NN: the model-driven decoder for jointly sparse signal recovery (channel estimation) built
 * on GROUP LASSO. Approximation part: U unrolled iterations of the parallel ADMM (Algorithm 1,
 * see {@link groupLassoAdmm}) with the tunables lambda and rho learned (one value each, shared by
 * all blocks); correction part: V fully connected layers applied to every antenna column
 * u_m = [Re X^(U)_{:,m}; Im X^(U)_{:,m}] in R^{2N} ({@link ColumnCorrection}, weights shared over
 * the M antennas): 2N -> h -> ... -> h -> 2N, ReLU on the first V - 1 layers, none on the last.
 * Trained jointly with `learned-pilots` as an autoencoder with the MSE loss
 * (`train.loss: "mse"`); gradients reach the pilots through y and through the decoder's use of
 * the codebook.
 *
 * Reference: Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via
 * deep learning with applications in MIMO-based grant-free random access", IEEE J. Sel. Areas
 * Commun., 2021, Sec. III-B (model-driven decoder; 1) GROUP LASSO-based decoder, Algorithm 1,
 * Theorem 1).
 *
 * With V = 0 the decoder is exactly `group-lasso` (solver "admm", iterations U) at the current
 * lambda, rho: lambda = lambda_0 exp(theta_lambda), rho = rho_0 exp(theta_rho) with theta = 0 at
 * initialisation.
 *
 * Trainable variables: tunables/logLambda, tunables/logRho (scalars; with trainTunables),
 * correction<k>/kernel [in, out], correction<k>/bias [out].
 * Symbols: N numDevices, M numAntennas, L sequenceLength, U blocks, V correctionLayers.
 *
 * @input  y             [B, L, M] complex
 * @input  codebook      [L, N] complex
 * @input  largeScaleFading [B, N] (threshold rule "beta" only)
 * @output channel       [B, N, M] complex: Xhat
 * @output activityScore [B, N] ||xhat_n||^2 / M (divided by beta_n under rule "beta")
 * @output activity      [B, N] in {0, 1}
 * @remarks Deviations from the paper: lambda, rho are parameterised as lambda_0 exp(theta), so
 *   that they stay positive and the untrained decoder equals the iterative algorithm exactly;
 *   `residual` (default true, not in the paper) makes the correction a zero-initialised residual,
 *   so that short trainings start from the unrolled ADMM; hidden width 2N and Glorot-uniform
 *   weights with zero biases (the paper gives neither); the activity decision is a fixed rule on
 *   the row energy unless the candidate has a `threshold` block (the paper's gamma* fitted on the
 *   training set, by the runner).
 */
@injectable()
export class GroupLassoUnfoldedDetector implements Detector, Trainable {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'group-lasso-unfolded',
    draws: {
      weights: 'once per run: the initial weights of the correction layers',
    },
    summary: 'GL-NN: U unrolled GROUP LASSO ADMM iterations (learned lambda, rho) + V fully connected correction layers; train with MSE',
    reference:
      'Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via deep learning with applications in MIMO-based grant-free random access", IEEE JSAC 2021, Sec. III-B, Algorithm 1, Theorem 1',
    params: GroupLassoUnfoldedParams,
    requires: (p: GroupLassoUnfoldedParams) => {
      const needs: Capability[] = [...REQUIRES];
      if (p.threshold.rule === 'beta') needs.push('largeScaleFading');
      return needs;
    },
    provides: () => ['activityScore', 'activity', 'channel'],
    training: () => ({}),
    check: (_p: GroupLassoUnfoldedParams, s: Scenario) => {
      const problems: ParamProblem[] = [];
      if (numSequences(s) !== 1) problems.push({ path: '', message: `needs one pilot per device (scenario.bitsPerDevice = 0; got ${s.bitsPerDevice})` });
      return problems;
    },
  });

  private readonly logLambda: tf.Variable | undefined;
  private readonly logRho: tf.Variable | undefined;
  private readonly correction: ColumnCorrection;

  constructor(
    @inject(TOKENS.params) private readonly params: GroupLassoUnfoldedParams,
    @inject(TOKENS.scenario) scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    if (params.trainTunables) {
      // variables outlive the tidy; their initial values are freed
      [this.logLambda, this.logRho] = tf.tidy(() => [tf.variable(tf.scalar(0), true), tf.variable(tf.scalar(0), true)]);
    }
    this.correction = new ColumnCorrection(scenario.numDevices, params.correctionLayers, params.hiddenWidth ?? 2 * scenario.numDevices, params.residual, random);
  }

  trainableVariables(): Readonly<Record<string, tf.Variable>> {
    const out: Record<string, tf.Variable> = {};
    if (this.logLambda !== undefined && this.logRho !== undefined) {
      out['tunables/logLambda'] = this.logLambda;
      out['tunables/logRho'] = this.logRho;
    }
    return { ...out, ...this.correction.variables() };
  }

  /** Current [lambda, rho] (host numbers). */
  tunables(): [number, number] {
    const { lambda, rho } = this.params;
    if (this.logLambda === undefined || this.logRho === undefined) return [lambda, rho];
    return [lambda * Math.exp(this.logLambda.dataSync()[0]), rho * Math.exp(this.logRho.dataSync()[0])];
  }

  /** Xhat [B, N, M] complex. */
  estimate(obs: GroupLassoUnfoldedObservation): ComplexTensor {
    refusePerTrialCodebook(obs.codebook, 'group-lasso-unfolded');
    return cx.tidy(() => {
      const { lambda: lambda0, rho: rho0 } = this.params;
      const lambda = this.logLambda === undefined ? lambda0 : (tf.mul(lambda0, tf.exp(this.logLambda)) as tf.Scalar);
      const rho = this.logRho === undefined ? rho0 : (tf.mul(rho0, tf.exp(this.logRho)) as tf.Scalar);
      const x = groupLassoAdmm(obs.y, obs.codebook, lambda, rho, this.params.blocks);
      return this.correction.apply(x);
    });
  }

  detect(obs: GroupLassoUnfoldedObservation): Estimate {
    return cx.tidy((): Estimate => rowEnergyEstimate(this.estimate(obs), this.params.threshold, obs.largeScaleFading));
  }

  dispose(): void {
    this.logLambda?.dispose();
    this.logRho?.dispose();
    this.correction.dispose();
  }
}
