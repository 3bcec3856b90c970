import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { definePlugin, TOKENS, type ParamProblem, type SideInformation, type TrafficModel, type TrafficSample } from '../plugin';
import type { RandomStreams, TrialRange } from '../rng';
import { deviceSequences, numSequences, type Scenario } from '../scenario';
import { sampleWithMessages } from './messages';

export const PerDeviceParams = Type.Object(
  {
    activationProbabilities: Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 1 }), {
      minItems: 1,
      default: [0.8, 0.8, 0.8, 0.4, 0.4, 0.4],
      description: 'p_n: activation probability of each device n = 0..N-1, one entry per device (default: the asymmetric profile p_asy of Yu et al. for N = 6)',
    }),
  },
  { additionalProperties: false },
);
export type PerDeviceParams = Static<typeof PerDeviceParams>;

/**
 * P(|Gamma| > L): the probability that more devices are active than there are resource elements
 * (the overload a linear receiver cannot resolve), by convolving the N Bernoulli laws exactly.
 */
export function overloadProbability(p: readonly number[], L: number): number {
  let dist = [1];
  for (const pn of p) {
    const next = new Array<number>(dist.length + 1).fill(0);
    for (let k = 0; k < dist.length; k++) {
      next[k] += dist[k] * (1 - pn);
      next[k + 1] += dist[k] * pn;
    }
    dist = next;
  }
  return dist.slice(L + 1).reduce((a, b) => a + b, 0);
}

/**
 * Independent activity with a probability per device: device n is active with probability p_n
 * (a_n ~ Bernoulli(p_n), independent across devices and trials), and an active device sends a
 * message drawn uniformly from Q = 2^J. The activation profiles of H. Yu, Z. Fei, Z. Zheng,
 * N. Ye, "Finite-Alphabet Signature Design for Grant-Free NOMA: A Quantized Deep Learning
 * Approach" (Table II, Sec. IV): p_asy = [0.8, 0.8, 0.8, 0.4, 0.4, 0.4], p_high = 0.8 and
 * p_low = 0.4 for every device.
 *
 * @output activity [B, N] float32 in {0, 1}
 * @output message  [B, N] int32 in [0, Q_n) (Q_n = 2^{J_n} with bits per device, else Q)
 * @remarks Provides `activityProbability` (p_n per device). Supports bits per device
 * (`scenario.bitsPerDevice` as a list); p_n = 1 for every device gives the always-active users of
 * fixed-rate NOMA.
 */
@injectable()
export class PerDeviceTraffic implements TrafficModel {
  static readonly plugin = definePlugin({
    kind: 'traffic',
    name: 'per-device-bernoulli',
    draws: {
      activity: 'per trial: N uniforms, device n active when u_n < p_n',
      message: 'per trial: N uniform integers in [0, Q)',
    },
    summary: 'Device n active independently with its own probability p_n; uniform message over Q = 2^J',
    reference:
      'H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free NOMA: A Quantized Deep Learning Approach", Sec. II (a_n ~ Bernoulli(p_n)) and Table II (activation profiles)',
    params: PerDeviceParams,
    provides: () => ['activityProbability'],
    perDeviceBits: true,
    check: (p: PerDeviceParams, s: Scenario): ParamProblem[] =>
      p.activationProbabilities.length === s.numDevices
        ? []
        : [
            {
              path: 'activationProbabilities',
              message: `has ${p.activationProbabilities.length} entries, but scenario.numDevices is ${s.numDevices}`,
              hint: 'Give one activation probability per device',
            },
          ],
  });

  private prior: tf.Tensor1D | undefined;

  constructor(
    @inject(TOKENS.params) private readonly params: PerDeviceParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) private readonly random: RandomStreams,
  ) {}

  sample(trials: TrialRange): TrafficSample {
    const N = this.scenario.numDevices;
    const probs = this.params.activationProbabilities;
    let n = 0;
    const activity = this.random.fill(trials, 'activity', [N], (g) => {
      const a = g.uniform() < probs[n] ? 1 : 0;
      n = (n + 1) % N;
      return a;
    });
    if (this.scenario.deviceBits === undefined) return sampleWithMessages(this.random, trials, activity, N, numSequences(this.scenario));
    // Bits per device: device n's message is uniform on [0, 2^{J_n}) (same stream and order).
    const Qn = deviceSequences(this.scenario);
    let k = 0;
    const message = Int32Array.from(
      this.random.fill(trials, 'message', [N], (g) => {
        const m = g.integer(Qn[k]);
        k = (k + 1) % N;
        return m;
      }),
    );
    for (let i = 0; i < activity.length; i++) if (activity[i] === 0) message[i] = 0;
    return { activity: tf.tensor2d(activity, [trials.count, N], 'float32'), message: tf.tensor2d(message, [trials.count, N], 'int32') };
  }

  sideInformation(): SideInformation {
    this.prior ??= tf.keep(tf.tensor1d(this.params.activationProbabilities, 'float32'));
    return { activityProbability: this.prior };
  }

  dispose(): void {
    this.prior?.dispose();
    this.prior = undefined;
  }
}
