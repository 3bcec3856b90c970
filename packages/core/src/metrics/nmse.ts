import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { abs2, sub } from '../complex';
import { definePlugin, TOKENS, type Estimate, type MeasuredStatistic, type Metric, type StatisticInfo, type Truth } from '../plugin';

export const NmseParams = Type.Object(
  {
    devices: Type.Union([Type.Literal('active'), Type.Literal('all')], {
      default: 'active',
      description:
        'Rows compared: "active" = the truly active devices only (an estimate on an inactive device is ignored); "all" = all N rows of the effective channel X = lambda (.) h, so energy an estimate puts on an inactive device counts as error',
    }),
  },
  { additionalProperties: false },
);
export type NmseParams = Static<typeof NmseParams>;

/**
 * Normalised mean squared error of the channel estimates. Per trial, with `devices: "active"`
 * (the default),
 *
 *   NMSE = sum_{n active} ||h_hat_n - h_n||^2 / sum_{n active} ||h_n||^2,
 *
 * and with `devices: "all"`, against the effective channel X = lambda (.) h (the rows of inactive
 * devices are zero),
 *
 *   NMSE = ||X_hat - X||_F^2 / ||X||_F^2 = sum_n ||x_hat_n - lambda_n h_n||^2 / sum_{n active} ||h_n||^2,
 *
 * so that energy an estimate puts on an inactive device's row counts as error. The latter is the
 * NMSE of a joint activity-detection and channel-estimation receiver that estimates the whole
 * row-sparse X: C. Tang, Z. Li, Z. Chen, H. H. Yang, "Device Activity Detection and Channel
 * Estimation Using Score-Based Generative Models in Massive MIMO", ZTE Communications 23(1), 2025,
 * report the NMSE of the estimated X (Figs. 5-6) without defining it; this is the per-sample
 * ||H_hat - H||_F^2 / ||H||_F^2, averaged over samples, of their reference [34], M. Arvinte,
 * J. I. Tamir, "MIMO Channel Estimation Using Score-Based Generative Models", IEEE TWC 22(6), 2023.
 *
 * Either way 0/0 when no device is active: such a trial is marked in `undefinedTrials` and counted
 * as `skipped.undefined`, apart from a NaN the detector produced; the statistic is the mean over
 * trials with a Student-t interval, as in the channel-estimation results of L. Liu, W. Yu,
 * "Massive Connectivity With Massive MIMO - Part I: Device Activity Detection and Channel
 * Estimation" [Liu2018] (and its Part II).
 *
 * In dB: reports and plots show 10 log10 of the mean and of its interval bounds (`decibel`). That
 * is the dB value of the NMSE; the mean of per-trial dB values would instead be the log of a
 * geometric mean (biased low by Jensen's inequality, and -infinity for a perfect trial), so there
 * is deliberately no per-trial dB statistic.
 *
 * @input truth.channel    [B, N, M] complex (block fading; inactive devices' rows included)
 * @input truth.activity   [B, N] in {0, 1}
 * @input estimate.channel [B, N, M] complex
 * @remarks No pooled statistic (sum over trials of errors / sum over trials of energies): none of
 *   the statistic kinds (`rate`: a proportion in [0, 1] with a Wilson interval and event counts
 *   for the stopping rule; `mean`; `rate-sum`; `jain-index`) gives a ratio of sums of real
 *   values a valid interval.
 */
@injectable()
export class NmseMetric implements Metric {
  constructor(@inject(TOKENS.params) private readonly params: NmseParams = { devices: 'active' }) {}

  static readonly plugin = definePlugin({
    kind: 'metric',
    name: 'nmse',
    summary: 'NMSE of the channel estimates over the active devices, or over all rows of X = lambda (.) h (mean of per-trial ratios; shown in dB)',
    reference:
      'Standard channel-estimation NMSE, e.g. L. Liu, W. Yu, "Massive connectivity with massive MIMO - Part I: Device activity detection and channel estimation", IEEE TSP 2018 [Liu2018]; devices "all": C. Tang, Z. Li, Z. Chen, H. H. Yang, "Device Activity Detection and Channel Estimation Using Score-Based Generative Models in Massive MIMO", ZTE Communications 23(1), 2025',
    params: NmseParams,
    requires: () => ['channel'],
    statistics: (p: NmseParams): StatisticInfo[] => [
      {
        name: 'nmse',
        kind: 'mean',
        decibel: true,
        description:
          p.devices === 'all'
            ? 'NMSE: ||X_hat - X||_F^2 / ||X||_F^2 over all N rows of X = lambda (.) h per trial, averaged over trials (10 log10 of it in dB)'
            : 'NMSE: sum over active devices of ||h_hat - h||^2 / ||h||^2 per trial, averaged over trials (10 log10 of it in dB)',
      },
    ],
    notes: [
      'NMSE in dB = 10 log10(mean NMSE), with the interval bounds converted the same way (not the mean of per-trial dB values).',
      'devices "all": the error over all N rows of the effective channel lambda (.) h, so an estimate on an inactive device counts.',
    ],
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
    // "active": the error of the active rows only; "all": X_hat - lambda (.) h over every row.
    const err =
      this.params.devices === 'all'
        ? tf.sum(abs2(sub(hHat, { re: tf.mul(h.re, active), im: tf.mul(h.im, active) })), [1, 2])
        : tf.sum(tf.mul(abs2(sub(hHat, h)), active), [1, 2]);
    const energy = tf.sum(tf.mul(abs2(h), active), [1, 2]);
    // 0 / 0 = NaN when no device is active: defined away (undefinedTrials), not an error.
    const noneActive = tf.cast(tf.equal(tf.sum(truth.activity, 1), 0), 'float32') as tf.Tensor1D;
    return { nmse: { values: tf.div(err, energy) as tf.Tensor1D, undefinedTrials: noneActive } };
  }
}
