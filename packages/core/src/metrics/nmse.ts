import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { injectable } from 'tsyringe';
import { abs2, sub } from '../complex';
import { definePlugin, type Estimate, type MeasuredStatistic, type Metric, type StatisticInfo, type Truth } from '../plugin';

export const NmseParams = Type.Object({}, { additionalProperties: false });
export type NmseParams = Static<typeof NmseParams>;

/**
 * Normalised mean squared error of the channel estimates of the active devices. Per trial,
 *
 *   NMSE = sum_{n active} ||h_hat_n - h_n||^2 / sum_{n active} ||h_n||^2
 *
 * (0/0 when no device is active: such a trial is marked in `undefinedTrials` and counted as
 * `skipped.undefined`, apart from a NaN the detector produced); the statistic is the mean
 * over trials with a Student-t interval, as in the channel-estimation results of L. Liu, W. Yu,
 * "Massive Connectivity With Massive MIMO - Part I: Device Activity Detection and Channel
 * Estimation" [Liu2018] (and its Part II).
 *
 * In dB: reports and plots show 10 log10 of the mean and of its interval bounds (`decibel`). That
 * is the dB value of the NMSE; the mean of per-trial dB values would instead be the log of a
 * geometric mean (biased low by Jensen's inequality, and -infinity for a perfect trial), so there
 * is deliberately no per-trial dB statistic.
 *
 * @input truth.channel    [B, N, M] complex (block fading)
 * @input estimate.channel [B, N, M] complex
 */
@injectable()
export class NmseMetric implements Metric {
  static readonly plugin = definePlugin({
    kind: 'metric',
    name: 'nmse',
    summary: 'NMSE of the channel estimates over the active devices (mean of per-trial ratios; shown in dB)',
    reference: 'Standard channel-estimation NMSE, e.g. L. Liu, W. Yu, "Massive connectivity with massive MIMO - Part I: Device activity detection and channel estimation", IEEE TSP 2018 [Liu2018]',
    params: NmseParams,
    requires: () => ['channel'],
    statistics: (): StatisticInfo[] => [
      {
        name: 'nmse',
        kind: 'mean',
        decibel: true,
        description: 'NMSE: sum over active devices of ||h_hat - h||^2 / ||h||^2 per trial, averaged over trials (10 log10 of it in dB)',
      },
    ],
    notes: ['NMSE in dB = 10 log10(mean NMSE), with the interval bounds converted the same way (not the mean of per-trial dB values).'],
  });

  measure(truth: Truth, estimate: Estimate): Record<string, MeasuredStatistic> {
    const h = truth.channel;
    const hHat = estimate.channel;
    if (hHat === undefined) throw new Error('the detector gave no channel estimate');
    if (h.re.rank !== 3) {
      throw new Error(`nmse compares block-fading channels [B, N, M]; the true channel has shape [${h.re.shape}] (per-resource fading)`);
    }
    if (hHat.re.shape.some((d, i) => d !== h.re.shape[i])) {
      throw new Error(`channel estimate has shape [${hHat.re.shape}]; expected [${h.re.shape}] like the true channel`);
    }
    const active = tf.expandDims(truth.activity, 2); // [B, N, 1]
    const err = tf.sum(tf.mul(abs2(sub(hHat, h)), active), [1, 2]);
    const energy = tf.sum(tf.mul(abs2(h), active), [1, 2]);
    // 0 / 0 = NaN when no device is active: defined away (undefinedTrials), not an error.
    const noneActive = tf.cast(tf.equal(tf.sum(truth.activity, 1), 0), 'float32') as tf.Tensor1D;
    return { nmse: { values: tf.div(err, energy) as tf.Tensor1D, undefinedTrials: noneActive } };
  }
}
