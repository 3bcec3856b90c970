/**
 * An example third-party plugin: a detector in one file.
 *
 * Top-K energy detection: compute the matched-filter energy ||s_n^H Y||^2 / ||s_n||^2 of every
 * device and declare the K most energetic ones active, with K = round(sum_n epsilon_n) taken from
 * the traffic model's activity probabilities. Useful when the number of active devices is
 * (roughly) known, e.g. with `fixed-count` traffic.
 *
 * @input  y        [B, L, M] complex
 * @input  codebook [L, N] complex (Q = 1)
 * @output activityScore [B, N], activity [B, N] with exactly K ones per row
 */
import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { cx, definePlugin, TOKENS, type Detector, type Estimate, type Observation, type Scenario } from '@gfra/core';

export const TopKEnergyParams = Type.Object(
  { extra: Type.Integer({ minimum: 0, default: 0, description: 'declare this many more than K active' }) },
  { additionalProperties: false },
);
export type TopKEnergyParams = Static<typeof TopKEnergyParams>;

@injectable()
export class TopKEnergyDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'top-k-energy',
    summary: 'Declares the K devices with the largest matched-filter energy active (K from the activity prior)',
    reference: 'Example plugin (gfra README, "Write a plugin")',
    params: TopKEnergyParams,
    requires: () => ['codebook', 'activityProbability'],
    provides: () => ['activityScore', 'activity'],
    check: (_p: TopKEnergyParams, s: Scenario) =>
      s.bitsPerDevice > 0 ? [{ path: '', message: 'works with one sequence per device; set scenario.bitsPerDevice to 0' }] : [],
  });

  constructor(
    @inject(TOKENS.params) private readonly params: TopKEnergyParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {}

  detect(obs: Observation): Estimate {
    const { codebook, activityProbability } = obs;
    if (codebook === undefined || activityProbability === undefined) throw new Error('needs codebook and activityProbability');
    const N = this.scenario.numDevices;
    const K = Math.min(N, Math.round(tf.sum(activityProbability).dataSync()[0]) + this.params.extra);
    return cx.tidy((): Estimate => {
      const z = cx.matmul(cx.hermitian(codebook), obs.y); // [B, N, M]
      const score = tf.div(tf.sum(cx.abs2(z), 2), tf.sum(cx.abs2(codebook), 0)) as tf.Tensor2D; // [B, N]
      const kth = tf.topk(score, Math.max(K, 1)).values.slice([0, Math.max(K, 1) - 1], [-1, 1]); // [B, 1]
      const activity = K === 0 ? tf.zerosLike(score) : tf.cast(tf.greaterEqual(score, kth), 'float32');
      return { activityScore: score, activity: activity as tf.Tensor2D };
    });
  }
}

/** What gfra loads from a module named in a spec's `plugins` list. */
export const plugins = [TopKEnergyDetector];
