import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { definePlugin, TOKENS, type SideInformation, type TrafficModel, type TrafficSample } from '../plugin';
import type { RandomStreams, TrialRange } from '../rng';
import { numSequences, type Scenario } from '../scenario';

export const FixedCountParams = Type.Object(
  {
    numActive: Type.Integer({ minimum: 0, default: 10, description: 'K: number of active devices in every block' }),
  },
  { additionalProperties: false },
);
export type FixedCountParams = Static<typeof FixedCountParams>;

/**
 * Fixed-count activity: exactly K of the N devices are active in each block, the active set
 * drawn uniformly among all K-subsets (partial Fisher-Yates shuffle); messages uniform over Q.
 *
 * @output activity [B, N] float32 in {0, 1}, every row sums to K
 * @output message  [B, N] int32 in [0, Q)
 * @remarks Provides `activityProbability` = K/N for every device.
 */
@injectable()
export class FixedCountTraffic implements TrafficModel {
  static readonly plugin = definePlugin({
    kind: 'traffic',
    name: 'fixed-count',
    draws: {
      'active-set': 'per trial: the active set, a uniformly drawn K-subset (partial Fisher-Yates)',
      message: 'per trial: N uniform integers in [0, Q)',
    },
    summary: 'Exactly numActive devices active per block, chosen uniformly; uniform message over Q = 2^J',
    reference: 'Common training/test recipe, e.g. Z. Ma, W. Wu, F. Gao, X. Shen, "Model-driven deep learning for non-coherent massive machine-type communications", IEEE TWC 2023 [Ma2023], Sec. V-B-2 (training data set)',
    params: FixedCountParams,
    provides: () => ['activityProbability'],
    check: (p: FixedCountParams, s: Scenario) =>
      p.numActive > s.numDevices
        ? [{ path: 'numActive', message: `must be <= scenario.numDevices = ${s.numDevices} (got ${p.numActive})` }]
        : [],
  });

  /** [N] prior activity probability, made on first request (owned by this plugin). */
  private prior: tf.Tensor1D | undefined;

  constructor(
    @inject(TOKENS.params) private readonly params: FixedCountParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) private readonly random: RandomStreams,
  ) {}

  sample(trials: TrialRange): TrafficSample {
    const N = this.scenario.numDevices;
    const K = this.params.numActive;
    const Q = numSequences(this.scenario);
    const activity = new Float32Array(trials.count * N);
    const message = new Int32Array(trials.count * N);
    const order = new Int32Array(N);
    for (let b = 0; b < trials.count; b++) {
      const g = this.random.generator('active-set', trials.first + b);
      const gm = this.random.generator('message', trials.first + b);
      for (let n = 0; n < N; n++) order[n] = n;
      for (let k = 0; k < K; k++) {
        const j = k + g.integer(N - k);
        const t = order[k];
        order[k] = order[j];
        order[j] = t;
        activity[b * N + order[k]] = 1;
      }
      for (let n = 0; n < N; n++) {
        const m = gm.integer(Q);
        if (activity[b * N + n] === 1) message[b * N + n] = m;
      }
    }
    return {
      activity: tf.tensor2d(activity, [trials.count, N], 'float32'),
      message: tf.tensor2d(message, [trials.count, N], 'int32'),
    };
  }

  sideInformation(): SideInformation {
    const N = this.scenario.numDevices;
    this.prior ??= tf.keep(tf.fill([N], this.params.numActive / N) as tf.Tensor1D);
    return { activityProbability: this.prior };
  }

  dispose(): void {
    this.prior?.dispose();
    this.prior = undefined;
  }
}
