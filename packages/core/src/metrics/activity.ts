import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { definePlugin, TOKENS, type Estimate, type MeasuredStatistic, type Metric, type StatisticInfo, type Truth } from '../plugin';

export const ActivityMetricParams = Type.Object(
  {
    errorRate: Type.Boolean({
      default: false,
      description: 'also report pe = (misses + false alarms) / (N trials), the per-device error rate P_E of Cui, Li, Zhang [Cui2021], Sec. V-B',
    }),
  },
  { additionalProperties: false },
);
export type ActivityMetricParams = Static<typeof ActivityMetricParams>;

/**
 * Activity detection error rates.
 *
 *   P_MD = (missed active devices) / (active devices)
 *   P_FA = (inactive devices declared active) / (inactive devices)
 *
 * and their sum P_MD + P_FA, whose interval combines the two rates' intervals (MOVER). The rate
 * intervals treat the trial as the independent unit (clusteredRateInterval in stats.ts). With
 * `errorRate`, also
 *
 *   P_E = (missed + falsely declared devices) / (N trials)
 *
 * (Cui, Li, Zhang [Cui2021], Sec. V-B: (1/(N T)) sum_t ||alpha - alpha_hat||_1) as the mean over trials of each
 * trial's error fraction, with a Student-t interval over trials: the decisions within a trial
 * are not independent (correlated activity, one noise draw), so an interval that counted the
 * N T decisions as independent would be too narrow; trials are independent.
 * Missed detections and false alarms are counted separately; the stopping rule waits for the
 * rarer of the two.
 */
@injectable()
export class ActivityMetric implements Metric {
  constructor(@inject(TOKENS.params) private readonly params: ActivityMetricParams = { errorRate: false }) {}

  static readonly plugin = definePlugin({
    kind: 'metric',
    name: 'activity',
    summary: 'Missed-detection and false-alarm probabilities (pmd, pfa) and their sum (pmd+pfa)',
    reference:
      'Standard activity-detection error rates, e.g. L. Liu, W. Yu, "Massive connectivity with massive MIMO - Part I: Device activity detection and channel estimation", IEEE TSP 2018 [Liu2018], Sec. V; P_E: Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via deep learning with applications in MIMO-based grant-free random access", IEEE JSAC 2021 [Cui2021], Sec. V-B',
    params: ActivityMetricParams,
    perDeviceBits: true,
    requires: () => ['activity'],
    statistics: (p: ActivityMetricParams): StatisticInfo[] => [
      { name: 'pmd', kind: 'rate', description: 'missed-detection probability: missed / active devices' },
      { name: 'pfa', kind: 'rate', description: 'false-alarm probability: falsely declared / inactive devices' },
      { name: 'pmd+pfa', kind: 'rate-sum', parts: ['pmd', 'pfa'], description: 'P_MD + P_FA' },
      ...(p.errorRate ? [{ name: 'pe', kind: 'mean' as const, description: 'per-device error rate: (missed + falsely declared) / (N trials)' }] : []),
    ],
  });

  measure(truth: Truth, estimate: Estimate): Record<string, MeasuredStatistic> {
    const a = truth.activity;
    const aHat = estimate.activity as tf.Tensor2D;
    const N = a.shape[1];
    const actives = tf.sum(a, 1) as tf.Tensor1D;
    const misses = tf.sum(tf.mul(a, tf.sub(1, aHat)), 1) as tf.Tensor1D;
    const falseAlarms = tf.sum(tf.mul(tf.sub(1, a), aHat), 1) as tf.Tensor1D;
    const out: Record<string, MeasuredStatistic> = {
      pmd: { events: misses, samples: actives },
      pfa: { events: falseAlarms, samples: tf.sub(N, actives) as tf.Tensor1D },
    };
    if (this.params.errorRate) out.pe = { values: tf.div(tf.add(misses, falseAlarms), N) as tf.Tensor1D };
    return out;
  }
}
