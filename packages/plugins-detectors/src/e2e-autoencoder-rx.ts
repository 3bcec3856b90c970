import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  deviceSequences,
  numSequences,
  TOKENS,
  type Capability,
  type Detector,
  type Estimate,
  type Observation,
  type ParamProblem,
  type RandomStreams,
  type Scenario,
  type Trainable,
  type TrainingBatch,
} from '@gfra/core';
import {
  ceTerms,
  channelPerResource,
  classificationEstimate,
  flatReceived,
  GroupedDenseStack,
  LogitsCache,
  multiTaskLoss,
  PLAIN_SUM,
  repeatForTasks,
  sharedInput,
  taskGroups,
  taskRows,
  type TaskGroup,
} from './algorithms/multitask-network';

export const E2eAutoencoderRxParams = Type.Object(
  {
    hidden: Type.Integer({ minimum: 0, default: 5, description: 'tanh hidden layers of every user\'s MLP (5: the depth of a Mul-VAE block)' }),
    widthFactor: Type.Integer({ minimum: 1, default: 8, description: 'hidden width of user n = widthFactor Q_n (2^{R_n + 3} in the paper: 8 Q_n)' }),
    csi: Type.Boolean({
      default: true,
      description:
        'append the channel state [vec(Re H); vec(Im H)] (per RE; block fading repeated over the REs) to [Re y; Im y]; needs the "channelState" knowledge. Off: [Re y; Im y] only (enough under AWGN, where H is constant)',
    }),
  },
  { additionalProperties: false },
);
export type E2eAutoencoderRxParams = Static<typeof E2eAutoencoderRxParams>;

/** Input width: 2 L M, plus 2 N L M with the channel state. */
export function e2eInputWidth(p: Pick<E2eAutoencoderRxParams, 'csi'>, s: Scenario): number {
  const R = s.sequenceLength * s.numAntennas;
  return 2 * R + (p.csi ? 2 * s.numDevices * R : 0);
}

/** Layer sizes of the MLP of a user with Q_n = q: input, hidden x widthFactor q, q. */
export function e2eLayerSizes(p: E2eAutoencoderRxParams, s: Scenario, q: number): number[] {
  return [e2eInputWidth(p, s), ...Array<number>(p.hidden).fill(p.widthFactor * q), q];
}

/**
 * Receiver of the conventional end-to-end autoencoder baseline of Mul-VAE: one independent MLP
 * per user, from the received signal (and the channel state) to a softmax over that user's
 * messages, trained with the plain sum of the per-user cross-entropies.
 *
 * Reference: Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint Constellation Design and Multiuser
 * Detection for Grant-Free NOMA", IEEE Trans. Wireless Commun., 2022, Sec. IV (E2E baseline,
 * "DNNs in encoder and decoder have the same width and depth as Mul-VAE"), loss Eqs. (13), (15)
 * with unit weights; the design follows T. O'Shea, J. Hoydis, "An introduction to deep learning
 * for the physical layer", IEEE TCCN, 2017.
 *
 *   x = [Re y; Im y; vec(Re H); vec(Im H)]      (R = L M values each; H device-major)
 *   logits_n = MLP_n(x) in R^{Q_n},  message_n = argmax logits_n,  loss = sum_n L_n
 *
 * MLP_n: `hidden` tanh layers of width widthFactor Q_n, linear output Q_n (softmax in the loss).
 * Users with the same Q_n run as one batched matmul.
 *
 * Trainable variables (G users in the group of alphabet size Q, devices ascending):
 * q<Q>/dense<k>/kernel [G, in, out], q<Q>/dense<k>/bias [G, 1, out], q<Q>/output/kernel
 * [G, width, Q], q<Q>/output/bias [G, 1, Q]. Glorot-uniform kernels from the `weights` stream
 * (groups in ascending Q, layer by layer, user by user within a layer), zero biases.
 *
 * @input  y        [B, L, M] complex
 * @input  channel  [B, N, L, M] or [B, N, M] complex (with csi)
 * @output message  [B, N] int32 in [0, Q_n)
 * @output bitLLR   [B, N, J] float32 from the logits (bits a device does not carry: ~ -1e9)
 * @output activity, activityScore [B, N]: all ones (every user always transmits)
 * @remarks Deviations from the paper: its E2E decoder is specified only as "same width and
 *   depth" as Mul-VAE; the per-user MLP with 5 hidden layers and the [y; H] input under fading are
 *   our reading. Block fading is repeated over the REs so the input width does not depend on the
 *   channel model. bitLLR and the constant activity outputs are additions (all users active).
 */
@injectable()
export class E2eAutoencoderRxDetector implements Detector, Trainable {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'e2e-autoencoder-rx',
    summary: 'End-to-end autoencoder receiver: one independent tanh MLP per user from [y; H] to a softmax over its messages, trained with the sum of per-user cross-entropies',
    reference:
      'Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint Constellation Design and Multiuser Detection for Grant-Free NOMA", IEEE Trans. Wireless Commun., 2022, Sec. IV (E2E baseline)',
    params: E2eAutoencoderRxParams,
    draws: { weights: 'once per run: the initial kernels of every user\'s MLP (groups of equal Q_n in ascending order, layer by layer)' },
    requires: (p: E2eAutoencoderRxParams): readonly Capability[] => (p.csi ? ['channelState'] : []),
    provides: () => ['message', 'activity', 'activityScore', 'bitLLR'],
    training: () => ({ loss: true }),
    perDeviceBits: true,
    check: (p: E2eAutoencoderRxParams, s: Scenario): ParamProblem[] => {
      const problems: ParamProblem[] = [];
      if (s.bitsPerDevice < 1) problems.push({ path: '', message: 'classifies messages, but the scenario has bitsPerDevice 0', hint: 'Use bitsPerDevice >= 1' });
      return problems;
    },
    notes: [
      'Untrained it outputs noise: give its candidate a `train` block (loss "plugin" = the sum of per-user cross-entropies).',
      'lossTerms: ce-user<n>, the batch cross-entropy of each user (nats) at the last loss call.',
    ],
  });

  private readonly groups: TaskGroup[];
  private readonly mlps: GroupedDenseStack[];
  private readonly cache = new LogitsCache();
  private training = false;
  private lastCe: number[] = [];

  constructor(
    @inject(TOKENS.params) private readonly params: E2eAutoencoderRxParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    this.groups = taskGroups(deviceSequences(scenario));
    const source = random.onceGenerator('weights');
    this.mlps = this.groups.map((g) => new GroupedDenseStack(g.users.length, e2eLayerSizes(params, scenario, g.q), source, `q${g.q}/`));
  }

  trainableVariables(): Readonly<Record<string, tf.Variable>> {
    return Object.assign({}, ...this.mlps.map((m) => m.variables())) as Record<string, tf.Variable>;
  }

  setTraining(training: boolean): void {
    this.training = training;
    if (!training) this.cache.clear();
  }

  lossTerms(): Readonly<Record<string, number>> {
    return ceTerms(this.lastCe);
  }

  /** Sum over users of the batch cross-entropy of their logits against the true messages. */
  loss(batch: TrainingBatch): tf.Scalar {
    const cached = this.cache.get(batch.observation);
    const fresh = cached === undefined ? this.logits(batch.observation) : [];
    const { loss, ce } = multiTaskLoss(cached ?? fresh, batch.truth.message, PLAIN_SUM);
    tf.dispose(fresh);
    this.lastCe = ce;
    return loss;
  }

  /** Per-device logits [B, Q_n]. Call inside a tidy or gradient scope. */
  logits(obs: Observation): tf.Tensor2D[] {
    const { numDevices: N, sequenceLength: L, numAntennas: M } = this.scenario;
    let h;
    if (this.params.csi) {
      if (obs.channel === undefined) throw new Error('detector:e2e-autoencoder-rx: csi is true but the observation has no channel state (grant "channelState", or set csi false)');
      h = channelPerResource('detector:e2e-autoencoder-rx', obs.channel, N, L, M);
    }
    const x = sharedInput(flatReceived(obs.y), h);
    const perUser: tf.Tensor2D[] = new Array<tf.Tensor2D>(N);
    this.groups.forEach((g, gi) => {
      const z = taskRows(this.mlps[gi].apply(repeatForTasks(x, g.users.length)));
      g.users.forEach((n, i) => (perUser[n] = z[i]));
    });
    return perUser;
  }

  detect(obs: Observation): Estimate {
    this.cache.clear();
    return cx.tidy((): Estimate => {
      const logits = this.logits(obs);
      if (this.training) this.cache.set(obs, logits);
      return classificationEstimate(logits, numSequences(this.scenario));
    });
  }

  dispose(): void {
    this.cache.clear();
    for (const m of this.mlps) m.dispose();
  }
}
