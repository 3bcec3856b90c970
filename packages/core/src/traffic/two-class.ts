import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { definePlugin, TOKENS, type SideInformation, type TrafficModel, type TrafficSample } from '../plugin';
import type { RandomStreams, TrialRange } from '../rng';
import { numSequences, type Scenario } from '../scenario';
import { sampleWithMessages } from './messages';

export const TwoClassParams = Type.Object(
  {
    activityProb: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.1, description: 'p = (p1 + p2) / 2: average access probability' }),
    ratio: Type.Number({ minimum: 1, default: 3, description: 'r = p1 / p2 >= 1: ratio of the two classes\' access probabilities' }),
  },
  { additionalProperties: false },
);
export type TwoClassParams = Static<typeof TwoClassParams>;

/** [p1, p2] = [2 p r / (1 + r), 2 p / (1 + r)]. */
export function twoClassProbabilities(p: TwoClassParams): [number, number] {
  const { activityProb: q, ratio: r } = p;
  return [(2 * q * r) / (1 + r), (2 * q) / (1 + r)];
}

/**
 * Independent activity with two access classes (the "independent case" of Y. Cui, S. Li, W. Zhang,
 * "Jointly Sparse Signal Recovery and Support Recovery via Deep Learning With Applications in
 * MIMO-Based Grant-Free Random Access" [Cui2021], Sec. V): the first
 * floor(N/2) devices (class N1) are active independently with probability p1, the others (N2)
 * with p2, where p = (p1 + p2) / 2 and r = p1 / p2, i.e. p1 = 2pr/(1+r), p2 = 2p/(1+r)
 * (p = 0.1, r = 3: p1 = 0.15, p2 = 0.05). Messages uniform over Q = 2^J. ratio = 1 is the
 * i.i.d. Bernoulli(p) model.
 *
 * @output activity [B, N] float32 in {0, 1}
 * @output message  [B, N] int32 in [0, Q)
 * @remarks Provides `activityProbability` (p1 or p2 per device). Class layout: the paper does not
 * say which devices form N1; gfra uses contiguous halves. With odd N the first class has
 * floor(N/2) devices. p1 <= 1 is checked.
 */
@injectable()
export class TwoClassTraffic implements TrafficModel {
  static readonly plugin = definePlugin({
    kind: 'traffic',
    name: 'two-class',
    draws: {
      activity: 'per trial: N uniforms, compared with each device\'s class probability',
      message: 'per trial: N uniform integers in [0, Q)',
    },
    summary: 'First half of the devices active w.p. p1 = 2pr/(1+r), second half w.p. p2 = 2p/(1+r), independently (ratio r = p1/p2)',
    reference: 'Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via deep learning with applications in MIMO-based grant-free random access", IEEE JSAC 2021 [Cui2021], Sec. V: independent case with two access classes',
    params: TwoClassParams,
    provides: () => ['activityProbability'],
    check: (p: TwoClassParams) => {
      const [p1] = twoClassProbabilities(p);
      return p1 > 1
        ? [{ path: 'activityProb', message: `gives p1 = 2 p r / (1 + r) = ${p1} > 1`, hint: 'lower activityProb or ratio so that 2 p r / (1 + r) <= 1' }]
        : [];
    },
  });

  private prior: tf.Tensor1D | undefined;

  constructor(
    @inject(TOKENS.params) private readonly params: TwoClassParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) private readonly random: RandomStreams,
  ) {}

  /** Per-device probability, host array [N]. */
  probabilities(): number[] {
    const N = this.scenario.numDevices;
    const [p1, p2] = twoClassProbabilities(this.params);
    return Array.from({ length: N }, (_, n) => (n < Math.floor(N / 2) ? p1 : p2));
  }

  sample(trials: TrialRange): TrafficSample {
    const N = this.scenario.numDevices;
    const probs = this.probabilities();
    let n = 0;
    const activity = this.random.fill(trials, 'activity', [N], (g) => {
      const a = g.uniform() < probs[n] ? 1 : 0;
      n = (n + 1) % N;
      return a;
    });
    return sampleWithMessages(this.random, trials, activity, N, numSequences(this.scenario));
  }

  sideInformation(): SideInformation {
    this.prior ??= tf.keep(tf.tensor1d(this.probabilities(), 'float32'));
    return { activityProbability: this.prior };
  }

  dispose(): void {
    this.prior?.dispose();
    this.prior = undefined;
  }
}
