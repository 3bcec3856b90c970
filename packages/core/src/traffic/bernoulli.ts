import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { definePlugin, TOKENS, type SideInformation, type TrafficModel, type TrafficSample } from '../plugin';
import type { RandomStreams, TrialRange } from '../rng';
import { numSequences, type Scenario } from '../scenario';

export const BernoulliParams = Type.Object(
  {
    activityProb: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.1,
      description: 'epsilon: probability that a device is active in a block',
    }),
  },
  { additionalProperties: false },
);
export type BernoulliParams = Static<typeof BernoulliParams>;

/**
 * Bernoulli activity: each of the N devices is active independently with probability epsilon;
 * an active device sends a message drawn uniformly from the Q = 2^J possible ones.
 * The number of active devices is K ~ Binomial(N, epsilon).
 *
 * @output activity [B, N] float32 in {0, 1}
 * @output message  [B, N] int32 in [0, Q)
 * @remarks Provides `activityProbability` (epsilon for every device) to detectors that use it.
 */
@injectable()
export class BernoulliTraffic implements TrafficModel {
  static readonly plugin = definePlugin({
    kind: 'traffic',
    name: 'bernoulli',
    draws: {
      activity: 'per trial: N uniforms, device n active when u_n < activityProb',
      message: 'per trial: N uniform integers in [0, Q)',
    },
    summary: 'Each device active independently with probability activityProb; uniform message over Q = 2^J',
    reference: 'Standard sporadic-activity model, e.g. L. Liu, W. Yu, "Massive connectivity with massive MIMO - Part I: Device activity detection and channel estimation", IEEE TSP 2018 [Liu2018], Sec. II',
    params: BernoulliParams,
    provides: () => ['activityProbability'],
  });

  /** [N] prior activity probability, made on first request (owned by this plugin). */
  private prior: tf.Tensor1D | undefined;

  constructor(
    @inject(TOKENS.params) private readonly params: BernoulliParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) private readonly random: RandomStreams,
  ) {}

  sample(trials: TrialRange): TrafficSample {
    const N = this.scenario.numDevices;
    const Q = numSequences(this.scenario);
    const p = this.params.activityProb;
    const activity = this.random.fill(trials, 'activity', [N], (g) => (g.uniform() < p ? 1 : 0));
    const message = Int32Array.from(this.random.fill(trials, 'message', [N], (g) => g.integer(Q)));
    for (let i = 0; i < activity.length; i++) if (activity[i] === 0) message[i] = 0;
    return {
      activity: tf.tensor2d(activity, [trials.count, N], 'float32'),
      message: tf.tensor2d(message, [trials.count, N], 'int32'),
    };
  }

  sideInformation(): SideInformation {
    this.prior ??= tf.keep(tf.fill([this.scenario.numDevices], this.params.activityProb) as tf.Tensor1D);
    return { activityProbability: this.prior };
  }

  dispose(): void {
    this.prior?.dispose();
    this.prior = undefined;
  }
}
