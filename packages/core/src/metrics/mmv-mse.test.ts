import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { MmvMseMetric } from './mmv-mse';
import type { Truth } from '../plugin';

describe('metric/mmv-mse', () => {
  it('hand-computed case: errors on active and inactive rows count, divided by beta_n; the all-zero estimate gives ||X||^2 / (N beta)', () => {
    // B = 1, N = 2, M = 2; device 0 active with h = [1 + i, 2], device 1 inactive; beta = [2, 4]
    const truth = {
      activity: tf.tensor2d([[1, 0]]),
      message: tf.zeros([1, 2], 'int32'),
      channel: { re: tf.tensor3d([[[1, 2], [5, 5]]]), im: tf.tensor3d([[[1, 0], [5, 5]]]) },
      largeScaleFading: tf.tensor2d([[2, 4]]),
    } as unknown as Truth;
    const m = new MmvMseMetric();
    const est = { channel: { re: tf.tensor3d([[[1, 1], [0, 2]]]), im: tf.tensor3d([[[0, 0], [0, 0]]]) } };
    const out = m.measure(truth, est) as Record<string, { values: tf.Tensor }>;
    // row 0: |i|^2 + |1|^2 = 2, / 2 = 1; row 1: 4 / 4 = 1; mse = (1 + 1) / 2 = 1
    expect(Array.from(out.mse.values.dataSync())).to.deep.equal([1]);
    expect(Array.from(out['mse-entry'].values.dataSync())).to.deep.equal([0.5]);
    const zero = m.measure(truth, { channel: { re: tf.zeros([1, 2, 2]), im: tf.zeros([1, 2, 2]) } }) as Record<string, { values: tf.Tensor }>;
    expect(zero.mse.values.dataSync()[0]).to.be.closeTo((1 + 1 + 4) / 2 / 2, 1e-6);
  });
});
