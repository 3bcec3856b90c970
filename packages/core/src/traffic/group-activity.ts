import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { definePlugin, TOKENS, type ParamProblem, type SideInformation, type TrafficModel, type TrafficSample } from '../plugin';
import type { RandomStreams, TrialRange } from '../rng';
import { numSequences, type Scenario } from '../scenario';
import { sampleWithMessages } from './messages';

export const GroupActivityParams = Type.Object(
  {
    numGroups: Type.Integer({ minimum: 1, default: 10, description: 'G: number of equal-size groups of consecutive devices (must divide N)' }),
    mode: Type.Union([Type.Literal('single'), Type.Literal('independent')], {
      default: 'single',
      description:
        '"single": exactly one group, uniform over the G groups, is active in each block (p = 1/G); "independent": each group active independently with probability activityProb',
    }),
    activityProb: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.1, description: 'p: per-group activity probability (mode "independent" only)' }),
  },
  { additionalProperties: false },
);
export type GroupActivityParams = Static<typeof GroupActivityParams>;

/**
 * Correlated (group) activity (the two correlated cases of Y. Cui, S. Li, W. Zhang, "Jointly Sparse
 * Signal Recovery and Support Recovery via Deep Learning With Applications in MIMO-Based Grant-Free
 * Random Access" [Cui2021], Sec. V): the N devices form G groups of N/G consecutive devices, and
 * all devices of a group share one activity state.
 *
 * - mode "single" (correlated case with a single active group, used for channel estimation):
 *   g ~ Uniform{0, ..., G-1}, alpha(n) = 1[floor(n / (N/G)) = g]; every block has exactly N/G
 *   active devices and every device is active with probability 1/G.
 * - mode "independent" (correlated case with i.i.d. group activity, used for activity detection):
 *   b(g) ~ Bernoulli(p) i.i.d., alpha(n) = b(floor(n / (N/G))); correlation falls as G grows.
 *
 * Messages uniform over Q = 2^J, drawn per device.
 *
 * @output activity [B, N] float32 in {0, 1}
 * @output message  [B, N] int32 in [0, Q)
 * @remarks Provides `activityProbability` (1/G or p for every device; the marginal, the
 * correlation is not side information). Groups are contiguous index blocks (the paper does not
 * say which devices form a group).
 */
@injectable()
export class GroupActivityTraffic implements TrafficModel {
  static readonly plugin = definePlugin({
    kind: 'traffic',
    name: 'group-activity',
    draws: {
      groups: 'per trial: G uniforms deciding which groups are active',
      message: 'per trial: N uniform integers in [0, Q)',
    },
    summary: 'G groups of N/G consecutive devices sharing one state: exactly one group active ("single") or groups i.i.d. Bernoulli(p) ("independent")',
    reference:
      'Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via deep learning with applications in MIMO-based grant-free random access", IEEE JSAC 2021 [Cui2021], Sec. V: correlated cases (single active group; i.i.d. group activity)',
    params: GroupActivityParams,
    provides: () => ['activityProbability'],
    check: (p: GroupActivityParams, s: Scenario) => {
      const problems: ParamProblem[] = [];
      if (s.numDevices % p.numGroups !== 0)
        problems.push({
          path: 'numGroups',
          message: `must divide scenario.numDevices = ${s.numDevices} (got ${p.numGroups})`,
          hint: 'groups have equal size N/G',
        });
      return problems;
    },
  });

  private prior: tf.Tensor1D | undefined;

  constructor(
    @inject(TOKENS.params) private readonly params: GroupActivityParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) private readonly random: RandomStreams,
  ) {
    if (scenario.numDevices % params.numGroups !== 0)
      throw new Error(`numGroups = ${params.numGroups} must divide numDevices = ${scenario.numDevices}`);
  }

  /** Marginal activity probability of every device. */
  marginal(): number {
    return this.params.mode === 'single' ? 1 / this.params.numGroups : this.params.activityProb;
  }

  sample(trials: TrialRange): TrafficSample {
    const N = this.scenario.numDevices;
    const G = this.params.numGroups;
    const size = N / G;
    // One draw per trial: the group states [G] (a single group index in mode "single").
    const states = this.random.fill(trials, 'groups', [G], (g) => g.uniform());
    const activity = new Float32Array(trials.count * N);
    for (let b = 0; b < trials.count; b++) {
      const u = states.subarray(b * G, (b + 1) * G);
      const single = Math.min(G - 1, Math.floor(u[0] * G));
      for (let n = 0; n < N; n++) {
        const g = Math.floor(n / size);
        activity[b * N + n] = this.params.mode === 'single' ? (g === single ? 1 : 0) : u[g] < this.params.activityProb ? 1 : 0;
      }
    }
    return sampleWithMessages(this.random, trials, activity, N, numSequences(this.scenario));
  }

  sideInformation(): SideInformation {
    this.prior ??= tf.keep(tf.fill([this.scenario.numDevices], this.marginal()) as tf.Tensor1D);
    return { activityProbability: this.prior };
  }

  dispose(): void {
    this.prior?.dispose();
    this.prior = undefined;
  }
}
