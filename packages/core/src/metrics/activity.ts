import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { injectable } from 'tsyringe';
import { definePlugin, type Estimate, type MeasuredStatistic, type Metric, type StatisticInfo, type Truth } from '../plugin';

export const ActivityMetricParams = Type.Object({}, { additionalProperties: false });
export type ActivityMetricParams = Static<typeof ActivityMetricParams>;

/**
 * Activity detection error rates.
 *
 *   P_MD = (missed active devices) / (active devices)
 *   P_FA = (inactive devices declared active) / (inactive devices)
 *
 * and their sum P_MD + P_FA, whose interval combines the two Wilson intervals (MOVER).
 * Missed detections and false alarms are counted separately; the stopping rule waits for the
 * rarer of the two.
 */
@injectable()
export class ActivityMetric implements Metric {
  static readonly plugin = definePlugin({
    kind: 'metric',
    name: 'activity',
    summary: 'Missed-detection and false-alarm probabilities (pmd, pfa) and their sum (pmd+pfa)',
    reference: 'Standard activity-detection error rates, e.g. L. Liu and W. Yu, IEEE TSP 2018, Sec. V',
    params: ActivityMetricParams,
    requires: () => ['activity'],
    statistics: (): StatisticInfo[] => [
      { name: 'pmd', kind: 'rate', description: 'missed-detection probability: missed / active devices' },
      { name: 'pfa', kind: 'rate', description: 'false-alarm probability: falsely declared / inactive devices' },
      { name: 'pmd+pfa', kind: 'rate-sum', parts: ['pmd', 'pfa'], description: 'P_MD + P_FA' },
    ],
  });

  measure(truth: Truth, estimate: Estimate): Record<string, MeasuredStatistic> {
    const a = truth.activity;
    const aHat = estimate.activity as tf.Tensor2D;
    const N = a.shape[1];
    const actives = tf.sum(a, 1) as tf.Tensor1D;
    const misses = tf.sum(tf.mul(a, tf.sub(1, aHat)), 1) as tf.Tensor1D;
    const falseAlarms = tf.sum(tf.mul(tf.sub(1, a), aHat), 1) as tf.Tensor1D;
    return {
      pmd: { events: misses, samples: actives },
      pfa: { events: falseAlarms, samples: tf.sub(N, actives) as tf.Tensor1D },
    };
  }
}
