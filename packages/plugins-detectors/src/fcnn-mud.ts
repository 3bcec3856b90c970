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
  type ObservationWith,
  type ParamProblem,
  type RandomStreams,
  type Scenario,
  type Trainable,
  type TrainingBatch,
} from '@gfra/core';
import {
  CsiLayout,
  csiWidth,
  DenseInit,
  denseParameterCount,
  flatChannel,
  MseFairParams,
  mseFairLoss,
  mseFairProblems,
  SeededDenseStack,
  symbolEstimate,
} from './algorithms/mse-fair';

const REQUIRES = ['channelState'] as const satisfies readonly Capability[];
type FcnnObservation = ObservationWith<(typeof REQUIRES)[number]>;

export const FcnnMudParams = Type.Object(
  {
    hidden: Type.Array(Type.Integer({ minimum: 1 }), {
      default: [384, 1024, 768, 256, 64],
      description: 'hidden ReLU widths (the paper\'s [384, 1024, 768, 256, 64]); the output layer has 2N linear units',
    }),
    csi: CsiLayout,
    init: DenseInit,
    activityThreshold: Type.Number({ minimum: 0, default: 0.5, description: 'declare device n active when |x̂_n| exceeds this' }),
    loss: MseFairParams,
  },
  { additionalProperties: false },
);
export type FcnnMudParams = Static<typeof FcnnMudParams>;

/** Real inputs: 2 L M (received signal) + 2 N W (channel state, W = M or L M). */
export function fcnnInputWidth(p: Pick<FcnnMudParams, 'csi'>, s: Scenario): number {
  return 2 * s.sequenceLength * s.numAntennas + 2 * s.numDevices * csiWidth(p.csi, s);
}

/** Layer widths: input, hidden..., 2N. */
export function fcnnWidths(p: Pick<FcnnMudParams, 'csi' | 'hidden'>, s: Scenario): number[] {
  return [fcnnInputWidth(p, s), ...p.hidden, 2 * s.numDevices];
}

/**
 * FCNN multi-user detector: one fully connected network from [y; h] to the soft symbols of all N
 * devices at once, the baseline the SICNN is compared with (same loss, optimiser and data).
 *
 * Reference: H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free
 * NOMA: A Quantized Deep Learning Approach", Sec. IV (Table IV, Fig. 11: FCNN with layers 28 ->
 * 384 -> 1024 -> 768 -> 256 -> 64 -> 12); loss Eqs. (9)-(12).
 *
 *   v = MLP([Re y; Im y; Re h; Im h]) in R^{2N},  x̂_n = v_n + j v_{N+n}
 *
 * (h device-major), hidden ReLU, linear output, Glorot-uniform (or He-normal) kernels from the
 * `weights` stream, zero biases. Its own loss (`train.loss: "plugin"`) is mse-fair on the soft
 * symbols.
 *
 * Trainable variables: dense<k>/kernel [in, out], dense<k>/bias [out], output/kernel [h, 2N],
 * output/bias [2N].
 * Symbols: N numDevices, L sequenceLength (the paper's H), M numAntennas (1 in the paper),
 * W = M (block) or L M (per-resource).
 *
 * @input  y             [B, L, M] complex
 * @input  channel       [B, N, M] (csi "block") or [B, N, L, M] (csi "per-resource") complex
 * @output symbols       [B, N] complex: soft x̂_n
 * @output activityScore [B, N]: |x̂_n|
 * @output activity      [B, N] in {0, 1}: |x̂_n| > activityThreshold
 * @output message       [B, N] int32: QPSK slicer of x̂_n (every device)
 * @remarks Deviations from the paper: it does not say what the 28 inputs are (28 = 4H + 2N, i.e.
 *   [y; y; h] with one gain per device); this network takes [y; h] (2H + 2N W reals: 20 for N = 6,
 *   H = 4, block fading, so 1 401 088 kernel weights instead of the paper's 1 404 160) and keeps
 *   the hidden widths; activations, initialiser and decisions as for the SICNN (not stated).
 */
@injectable()
export class FcnnMudDetector implements Detector, Trainable {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'fcnn-mud',
    summary: 'Fully connected network from [y; h] to the soft QPSK symbols of all devices (0 if inactive); the SICNN\'s baseline, trained with mse-fair',
    reference:
      'H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free NOMA: A Quantized Deep Learning Approach", Sec. IV, Table IV, Fig. 11, loss Eqs. (9)-(12)',
    params: FcnnMudParams,
    draws: { weights: 'once per run: the initial kernels, layer by layer' },
    requires: () => REQUIRES,
    provides: () => ['symbols', 'activityScore', 'activity', 'message'],
    training: () => ({ loss: true }),
    check: (p: FcnnMudParams, s: Scenario): ParamProblem[] => {
      const problems: ParamProblem[] = [...mseFairProblems(p.loss, s)];
      if (s.bitsPerDevice !== 2) problems.push({ path: '', message: `regresses QPSK symbols, but the scenario has bitsPerDevice ${s.bitsPerDevice}`, hint: 'Use bitsPerDevice 2' });
      const count = denseParameterCount(fcnnWidths(p, s));
      if (count > 5e7) problems.push({ path: 'hidden', message: `gives about ${count.toExponential(1)} weights`, hint: 'Use smaller hidden widths' });
      return problems;
    },
    notes: [
      'Untrained it outputs noise: give its candidate a `train` block (loss "plugin" = mse-fair with params.loss).',
      'csi must match the channel: "block" for [B, N, M] channel state, "per-resource" for [B, N, L, M].',
    ],
  });

  private readonly mlp: SeededDenseStack;

  constructor(
    @inject(TOKENS.params) private readonly params: FcnnMudParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    this.mlp = new SeededDenseStack(fcnnWidths(params, scenario), random.onceGenerator('weights'), params.init);
  }

  trainableVariables(): Readonly<Record<string, tf.Variable>> {
    return this.mlp.variables();
  }

  /** mse-fair (params.loss) on the soft symbols of the batch's estimate. */
  loss(batch: TrainingBatch): tf.Scalar {
    const symbols = batch.estimate.symbols;
    if (symbols === undefined) throw new Error('detector:fcnn-mud loss: the batch estimate has no symbols');
    return mseFairLoss(symbols, batch.truth, this.params.loss);
  }

  detect(obs: FcnnObservation): Estimate {
    return cx.tidy((): Estimate => {
      const { numDevices: N, sequenceLength: L, numAntennas: M } = this.scenario;
      if (obs.channel === undefined) throw new Error('detector:fcnn-mud: needs the channel state as side information (it requires "channelState")');
      const B = obs.y.re.shape[0];
      const h = flatChannel('detector:fcnn-mud', obs.channel, this.params.csi, this.scenario);
      const W = csiWidth(this.params.csi, this.scenario);
      const flat = (t: tf.Tensor, width: number) => tf.reshape(t, [B, width]);
      const x = tf.concat([flat(obs.y.re, L * M), flat(obs.y.im, L * M), flat(h.re, N * W), flat(h.im, N * W)], 1) as tf.Tensor2D;
      const [re, im] = tf.split(this.mlp.apply(x), 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      return symbolEstimate(re, im, this.params.activityThreshold);
    });
  }

  dispose(): void {
    this.mlp.dispose();
  }
}
