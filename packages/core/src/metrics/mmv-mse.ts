import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { injectable } from 'tsyringe';
import { abs2, sub } from '../complex';
import { definePlugin, type Estimate, type MeasuredStatistic, type Metric, type StatisticInfo, type Truth } from '../plugin';

export const MmvMseParams = Type.Object({}, { additionalProperties: false });
export type MmvMseParams = Static<typeof MmvMseParams>;

/**
 * Mean squared error of the recovered row-sparse signal X = diag(a) H (jointly sparse MMV signal
 * recovery: the channel-estimation metric of Y. Cui, S. Li, W. Zhang, "Jointly Sparse Signal
 * Recovery and Support Recovery via Deep Learning With Applications in MIMO-Based Grant-Free
 * Random Access" [Cui2021]), over all N rows, active or not (an estimate
 * that puts energy on an inactive device's row is penalised, unlike `nmse`). Per trial,
 *
 *   mse       = (1/N) sum_n ||x_n - xhat_n||^2 / beta_n          ([Cui2021], Sec. V-A: MSE)
 *   mse-entry = mse / M                                           (per entry, the training loss)
 *
 * with x_n = a_n h_n and beta_n the device's large-scale fading: dividing by beta_n expresses the
 * error in units of unit-variance channels, as in [Cui2021] (pilots with ||a_n|| = sqrt(L) and
 * h ~ CN(0, 1) there, unit-norm pilots and h ~ CN(0, beta_n) here). The all-zero estimate has
 * mse = p M in expectation. Mean over trials with a Student-t interval.
 *
 * @input truth.channel    [B, N, M] complex (block fading)
 * @input truth.activity   [B, N]
 * @input truth.largeScaleFading [B, N]
 * @input estimate.channel [B, N, M] complex
 */
@injectable()
export class MmvMseMetric implements Metric {
  static readonly plugin = definePlugin({
    kind: 'metric',
    name: 'mmv-mse',
    summary: 'MSE of the row-sparse X = diag(a) H over all N rows, in units of unit-variance channels (the MSE of [Cui2021], and per entry)',
    reference: 'Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via deep learning with applications in MIMO-based grant-free random access", IEEE JSAC 2021 [Cui2021], Sec. V-A: MSE = (1/(N T)) sum ||X - Xhat||_F^2',
    params: MmvMseParams,
    requires: () => ['channel'],
    statistics: (): StatisticInfo[] => [
      { name: 'mse', kind: 'mean', description: 'MSE of [Cui2021]: (1/N) sum_n ||x_n - xhat_n||^2 / beta_n per trial, averaged over trials' },
      { name: 'mse-entry', kind: 'mean', description: 'per-entry MSE: mse / M' },
    ],
  });

  measure(truth: Truth, estimate: Estimate): Record<string, MeasuredStatistic> {
    const hHat = estimate.channel;
    if (hHat === undefined) throw new Error('the detector gave no channel estimate');
    const h = truth.channel;
    if (h.re.rank !== 3) throw new Error(`mmv-mse compares block-fading channels [B, N, M]; the true channel has shape [${h.re.shape}]`);
    return tf.tidy(() => {
      const [, N, M] = h.re.shape as [number, number, number];
      const a = tf.expandDims(truth.activity, 2);
      const x = { re: tf.mul(h.re, a), im: tf.mul(h.im, a) };
      const perRow = tf.div(tf.sum(abs2(sub(x, hHat)), 2), truth.largeScaleFading); // [B, N]
      const mse = tf.div(tf.sum(perRow, 1), N) as tf.Tensor1D;
      return { mse: { values: mse }, 'mse-entry': { values: tf.div(mse, M) as tf.Tensor1D } };
    });
  }
}
