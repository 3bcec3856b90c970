import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { cx, withCodewordFactors, type ComplexTensor, type Scenario } from '@gfra/core';
import { maxRelativeError } from '@gfra/core/testing';
import { superpose } from './block-fading';

/** tx[b, n, :] = a_{b,n} S[:, n Q + m_{b,n}], built entry by entry on the host, with its factors attached. */
function codewordSignal(s: ComplexTensor, activity: tf.Tensor2D, message: tf.Tensor2D, Q: number): ComplexTensor {
  const [L, K] = s.re.shape;
  const [B, N] = activity.shape;
  const [sr, si, a, m] = [s.re.arraySync() as number[][], s.im.arraySync() as number[][], activity.arraySync(), message.arraySync()];
  const re = new Float32Array(B * N * L);
  const im = new Float32Array(B * N * L);
  for (let b = 0; b < B; b++)
    for (let n = 0; n < N; n++)
      for (let l = 0; l < L; l++) {
        re[(b * N + n) * L + l] = a[b][n] * sr[l][n * Q + m[b][n]];
        im[(b * N + n) * L + l] = a[b][n] * si[l][n * Q + m[b][n]];
      }
  expect(K).to.equal(N * Q);
  return withCodewordFactors({ re: tf.tensor3d(re, [B, N, L]), im: tf.tensor3d(im, [B, N, L]) }, { codebook: s as ComplexTensor<tf.Rank.R2>, activity, message });
}

describe('block fading: superpose', () => {
  for (const Q of [1, 4]) {
    it(`Q = ${Q}: one shared product with the codebook gives sum_n tx_n h_n^T to float32 rounding, with the same gradients in S and h (in a training step, one host op)`, () => {
      const scenario: Scenario = { numDevices: 5, numAntennas: 3, sequenceLength: 6, bitsPerDevice: Math.log2(Q) };
      const B = 7;
      const sRe = tf.variable(tf.randomNormal([6, 5 * Q], 0, 1, 'float32', 1));
      const sIm = tf.variable(tf.randomNormal([6, 5 * Q], 0, 1, 'float32', 2));
      const activity = tf.cast(tf.greater(tf.randomUniform([B, 5], 0, 1, 'float32', 3), 0.4), 'float32') as tf.Tensor2D;
      const message = tf.floor(tf.randomUniform([B, 5], 0, Q, 'float32', 4)).toInt() as tf.Tensor2D;
      const h = { re: tf.variable(tf.randomNormal([B, 5, 3], 0, 1, 'float32', 5)), im: tf.variable(tf.randomNormal([B, 5, 3], 0, 1, 'float32', 6)) };
      const weights = { re: tf.randomNormal([B, 6, 3], 0, 1, 'float32', 7), im: tf.randomNormal([B, 6, 3], 0, 1, 'float32', 8) };
      const loss = (factored: boolean) => () =>
        tf.tidy(() => {
          const tx = codewordSignal({ re: sRe, im: sIm }, activity, message, Q);
          const y = superpose(factored ? tx : { re: tx.re, im: tx.im }, h, scenario);
          return tf.add(tf.sum(tf.mul(y.re, weights.re)), tf.sum(tf.mul(y.im, weights.im))) as tf.Scalar;
        });
      // values: the batched product tx^T h is the independent route
      const tx = codewordSignal({ re: sRe, im: sIm }, activity, message, Q);
      const [fast, plain] = [superpose(tx, h, scenario), cx.matmul(cx.matrixTranspose(tx), h)];
      expect(fast.re.shape).to.deep.equal([B, 6, 3]);
      expect(maxRelativeError(fast.re, plain.re)).to.be.below(1e-5);
      expect(maxRelativeError(fast.im, plain.im)).to.be.below(1e-5);
      // gradients in S (tx is built through a host loop here, so S's gradient comes from the factors alone)
      const g = tf.variableGrads(loss(true), [sRe, sIm, h.re, h.im]);
      const ref = tf.variableGrads(() => {
        // the reference differentiates tx^T h through tfjs, tx = S scattered by a one-hot of the messages
        const oneHot = Q === 1 ? tf.ones([B, 5, 1]) : tf.oneHot(message, Q);
        const w = tf.mul(oneHot.reshape([B, 5 * Q]), tf.tile(activity.expandDims(2), [1, 1, Q]).reshape([B, 5 * Q]));
        const txRef = { re: tf.transpose(tf.mul(tf.expandDims(sRe, 0), tf.expandDims(w, 1)), [0, 2, 1]), im: tf.transpose(tf.mul(tf.expandDims(sIm, 0), tf.expandDims(w, 1)), [0, 2, 1]) };
        // sum over q of the device's columns: [B, N Q, L] -> [B, N, L]
        const perDevice = (t: tf.Tensor) => tf.sum(tf.reshape(t, [B, 5, Q, 6]), 2);
        const y = cx.matmul(cx.matrixTranspose({ re: perDevice(txRef.re), im: perDevice(txRef.im) }), h);
        return tf.add(tf.sum(tf.mul(y.re, weights.re)), tf.sum(tf.mul(y.im, weights.im))) as tf.Scalar;
      }, [sRe, sIm, h.re, h.im]);
      expect(Math.abs(g.value.dataSync()[0] - ref.value.dataSync()[0])).to.be.below(1e-4 * (1 + Math.abs(ref.value.dataSync()[0])));
      expect(maxRelativeError(g.grads[sRe.name], ref.grads[sRe.name])).to.be.below(1e-5);
      expect(maxRelativeError(g.grads[sIm.name], ref.grads[sIm.name])).to.be.below(1e-5);
      expect(maxRelativeError(g.grads[h.re.name], ref.grads[h.re.name])).to.be.below(1e-5);
      expect(maxRelativeError(g.grads[h.im.name], ref.grads[h.im.name])).to.be.below(1e-5);
      tf.dispose([sRe, sIm, activity, message, h.re, h.im, weights.re, weights.im, tx.re, tx.im, fast.re, fast.im, plain.re, plain.im, g.value, g.grads, ref.value, ref.grads]);
    });
  }

  it("a trial's received signal does not depend on the other trials of its batch (bit for bit)", () => {
    const scenario: Scenario = { numDevices: 40, numAntennas: 4, sequenceLength: 12, bitsPerDevice: 0 };
    const B = 9;
    const s = { re: tf.randomNormal([12, 40], 0, 1, 'float32', 11), im: tf.randomNormal([12, 40], 0, 1, 'float32', 12) };
    const activity = tf.cast(tf.greater(tf.randomUniform([B, 40], 0, 1, 'float32', 13), 0.8), 'float32') as tf.Tensor2D;
    const message = tf.zeros([B, 40], 'int32') as tf.Tensor2D;
    const h = { re: tf.randomNormal([B, 40, 4], 0, 1, 'float32', 14), im: tf.randomNormal([B, 40, 4], 0, 1, 'float32', 15) };
    const all = superpose(codewordSignal(s, activity, message, 1), h, scenario);
    const part = (t: tf.Tensor) => tf.slice(t, [2], [3]);
    const some = superpose(codewordSignal(s, part(activity) as tf.Tensor2D, part(message) as tf.Tensor2D, 1), { re: part(h.re), im: part(h.im) }, scenario);
    expect(Array.from(some.re.dataSync())).to.deep.equal(Array.from(part(all.re).dataSync()));
    expect(Array.from(some.im.dataSync())).to.deep.equal(Array.from(part(all.im).dataSync()));
  });
});
