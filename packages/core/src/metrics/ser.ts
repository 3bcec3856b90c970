import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  definePlugin,
  TOKENS,
  type Estimate,
  type MeasuredStatistic,
  type Metric,
  type StatisticInfo,
  type Truth,
} from '../plugin';
import type { Scenario } from '../scenario';

export const SerParams = Type.Object({}, { additionalProperties: false });
export type SerParams = Static<typeof SerParams>;

/**
 * Symbol error rate of joint activity and data detection, as defined for DL-mAMPnet by Z. Ma, W. Wu,
 * F. Gao, X. Shen, "Model-Driven Deep Learning for Non-Coherent Massive Machine-Type
 * Communications" [Ma2023], Sec. VI: SER = (1/N) sum_n 1(alpha_hat_n != alpha_n), where alpha_n in {0,1}^Q
 * marks which sequence device n sent. A device is in error if it is missed, falsely detected,
 * or detected with the wrong message. Inactive devices are in the denominator, so declaring
 * every device inactive scores SER = epsilon.
 */
@injectable()
export class SerMetric implements Metric {
  static readonly plugin = definePlugin({
    kind: 'metric',
    name: 'ser',
    summary: 'Per-device symbol error rate: wrong activity or wrong message, over all N devices',
    reference: 'Z. Ma, W. Wu, F. Gao, X. Shen, "Model-driven deep learning for non-coherent massive machine-type communications", IEEE TWC 2023 [Ma2023], Sec. VI (SER)',
    params: SerParams,
    perDeviceBits: true,
    requires: (_p: SerParams, s: Scenario) => (s.bitsPerDevice > 0 ? ['activity', 'message'] : ['activity']),
    statistics: (): StatisticInfo[] => [
      { name: 'ser', kind: 'rate', description: 'symbol error rate over all devices (activity and message)' },
    ],
  });

  constructor(@inject(TOKENS.scenario) private readonly scenario: Scenario) {}

  measure(truth: Truth, estimate: Estimate): Record<string, MeasuredStatistic> {
    const a = truth.activity;
    const aHat = estimate.activity as tf.Tensor2D;
    const [B, N] = a.shape;
    const activityWrong = tf.notEqual(a, aHat);
    let wrong = activityWrong;
    if (this.scenario.bitsPerDevice > 0) {
      const bothActive = tf.logicalAnd(tf.greater(a, 0.5), tf.greater(aHat, 0.5));
      const messageWrong = tf.logicalAnd(bothActive, tf.notEqual(truth.message, estimate.message as tf.Tensor2D));
      wrong = tf.logicalOr(activityWrong, messageWrong);
    }
    return {
      ser: { events: tf.sum(tf.cast(wrong, 'float32'), 1) as tf.Tensor1D, samples: tf.fill([B], N) as tf.Tensor1D },
    };
  }
}
