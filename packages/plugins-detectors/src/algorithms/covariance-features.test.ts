import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { maxRelativeError } from '@gfra/core/testing';
import { covarianceFeatures } from './covariance-features';

/** The features by an independent route: complex entries S[i, j] = sum_m y[i, m] conj(y[j, m]) / M, through tf.matMul's transpose flag. */
function reference(yr: tf.Tensor3D, yi: tf.Tensor3D): tf.Tensor2D {
  const [B, L, M] = yr.shape;
  const re = tf.div(tf.add(tf.matMul(yr, yr, false, true), tf.matMul(yi, yi, false, true)), M);
  const im = tf.div(tf.sub(tf.matMul(yi, yr, false, true), tf.matMul(yr, yi, false, true)), M);
  return tf.concat([tf.reshape(re, [B, L * L]), tf.reshape(im, [B, L * L])], 1) as tf.Tensor2D;
}

describe('covarianceFeatures', () => {
  it('in a training step: the features and their gradients in Y of the direct formula, to float32 rounding', () => {
    const yr = tf.variable(tf.randomNormal([5, 6, 3], 0, 1, 'float32', 1));
    const yi = tf.variable(tf.randomNormal([5, 6, 3], 0, 1, 'float32', 2));
    const w = tf.randomNormal([5, 72], 0, 1, 'float32', 3);
    const before = tf.memory().numTensors;
    const loss = (f: typeof reference) => () => tf.sum(tf.mul(f(yr as tf.Tensor3D, yi as tf.Tensor3D), w)) as tf.Scalar;
    const got = tf.variableGrads(loss(covarianceFeatures), [yr, yi]);
    const want = tf.variableGrads(loss(reference), [yr, yi]);
    expect(Math.abs(got.value.dataSync()[0] - want.value.dataSync()[0])).to.be.below(1e-4 * (1 + Math.abs(want.value.dataSync()[0])));
    expect(maxRelativeError(got.grads[yr.name], want.grads[yr.name])).to.be.below(1e-5);
    expect(maxRelativeError(got.grads[yi.name], want.grads[yi.name])).to.be.below(1e-5);
    tf.dispose([got.value, got.grads, want.value, want.grads]);
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([yr, yi, w]);
  });

  it('outside a training step: the direct formula, trial by trial whatever the batch', () => {
    const yr = tf.randomNormal([7, 4, 5], 0, 1, 'float32', 4) as tf.Tensor3D;
    const yi = tf.randomNormal([7, 4, 5], 0, 1, 'float32', 5) as tf.Tensor3D;
    const all = covarianceFeatures(yr, yi);
    expect(maxRelativeError(all, reference(yr, yi))).to.be.below(1e-5);
    const some = covarianceFeatures(tf.slice(yr, [2], [3]), tf.slice(yi, [2], [3]));
    expect(Array.from(some.dataSync())).to.deep.equal(Array.from(tf.slice(all, [2], [3]).dataSync()));
    tf.dispose([yr, yi, all, some]);
  });
});
