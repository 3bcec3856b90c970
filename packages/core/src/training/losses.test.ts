import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { binaryCrossEntropy, bitCrossEntropy, channelMse } from './losses';
import type { TrainingBatch } from './trainable';

const batch = (parts: Record<string, unknown>) => parts as unknown as TrainingBatch;

describe('training: built-in losses', () => {
  it('bce = -mean(a log p + (1 - a) log(1 - p)), finite at p = 0 and 1', () => {
    const b = batch({ truth: { activity: tf.tensor2d([[1, 0], [0, 1]]) }, estimate: { activityScore: tf.tensor2d([[0.9, 0.2], [0, 1]]) } });
    const expected = -(Math.log(0.9) + Math.log(0.8) + Math.log(1 - 1e-7) + Math.log(1 - 1e-7)) / 4;
    expect(binaryCrossEntropy(b).dataSync()[0]).to.be.closeTo(expected, 1e-6);
    const wrong = batch({ truth: { activity: tf.tensor2d([[1]]) }, estimate: { activityScore: tf.tensor2d([[0]]) } });
    expect(binaryCrossEntropy(wrong).dataSync()[0]).to.be.closeTo(-Math.log(1e-7), 1e-3);
    expect(() => binaryCrossEntropy(batch({ estimate: {} }))).to.throw('loss "bce" needs the detector to provide activityScore, but its estimate has none');
  });

  it('mse = mean |a h - h_hat|^2 over devices and antennas (complex)', () => {
    // B = 1, N = 2, M = 1: device 0 active h = 1 + 1i, estimate 0; device 1 inactive, estimate 2i
    const b = batch({
      truth: { activity: tf.tensor2d([[1, 0]]), channel: { re: tf.tensor3d([[[1], [5]]]), im: tf.tensor3d([[[1], [5]]]) } },
      estimate: { channel: { re: tf.tensor3d([[[0], [0]]]), im: tf.tensor3d([[[0], [2]]]) } },
    });
    expect(channelMse(b).dataSync()[0]).to.be.closeTo((2 + 4) / 2, 1e-6);
  });

  it('ce = mean over active devices and bits of log(1 + exp(-s LLR))', () => {
    // J = 2; device 0 active with message 2 = bits [1, 0]; device 1 inactive (ignored)
    const b = batch({
      truth: { activity: tf.tensor2d([[1, 0]]), message: tf.tensor2d([[2, 1]], [1, 2], 'int32') },
      estimate: { bitLLR: tf.tensor3d([[[3, 1], [-50, 50]]]) },
    });
    const expected = (Math.log(1 + Math.exp(-3)) + Math.log(1 + Math.exp(1))) / 2;
    expect(bitCrossEntropy(b).dataSync()[0]).to.be.closeTo(expected, 1e-6);
  });
});
