import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { maxRelativeError as relErr } from '@gfra/core/testing';
import { linear, meanSquare, residual } from './network';

const normal = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

/** Values bit for bit, and every input gradient (of sum(out * w)) to float32 rounding, against the plain tfjs formulation. */
function compare(fast: (...xs: tf.Tensor[]) => tf.Tensor, plain: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]): void {
  tf.tidy(() => {
    const w = normal(plain(...inputs).shape, 99);
    expect(Array.from(fast(...inputs).dataSync())).to.deep.equal(Array.from(plain(...inputs).dataSync()));
    const loss = (f: (...xs: tf.Tensor[]) => tf.Tensor) => (...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), w));
    const got = tf.grads(loss(fast))(inputs);
    const want = tf.grads(loss(plain))(inputs);
    got.forEach((g, i) => expect(relErr(g, want[i]), `input ${i}`).to.be.below(2e-6));
  });
}

describe('dl-mampnet network ops', () => {
  it('linear: a w ("kp") and a w^T ("pk") equal tf.matMul bit for bit, gradients equal autodiff to float32 rounding', () => {
    const a = normal([9, 5], 1);
    compare((x, y) => linear(x as tf.Tensor2D, y as tf.Tensor2D, 'kp'), (x, y) => tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), [a, normal([5, 3], 2)]);
    compare((x, y) => linear(x as tf.Tensor2D, y as tf.Tensor2D, 'pk'), (x, y) => tf.matMul(x as tf.Tensor2D, tf.transpose(y) as tf.Tensor2D), [a, normal([3, 5], 3)]);
    tf.dispose(a);
  });

  it('meanSquare and residual equal their plain formulations, values bit for bit and gradients to float32 rounding', () => {
    const r = normal([4, 3, 6], 4);
    compare((x) => meanSquare(x as tf.Tensor3D, 36), (x) => tf.reshape(tf.div(tf.sum(tf.square(x), [1, 2]), 36), [4, 1, 1]), [r]);
    const ins = [normal([4, 3, 6], 5), normal([4, 3, 6], 6), normal([4, 1, 1], 7), r];
    compare((y, sx, b, rr) => residual(y as tf.Tensor3D, sx as tf.Tensor3D, b as tf.Tensor3D, rr as tf.Tensor3D), (y, sx, b, rr) => tf.add(tf.sub(y, sx), tf.mul(b, rr)), ins);
    tf.dispose(ins);
  });

  it('a constant operand gets no gradient product, and nothing is left behind', () => {
    const a = tf.variable(normal([6, 4], 8));
    const s = normal([3, 4], 9); // constant, as S_r
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.sum(linear(a as tf.Tensor2D, s as tf.Tensor2D, 'pk')) as tf.Scalar, [a]);
    const want = tf.tidy(() => tf.matMul(tf.ones([6, 3]), s));
    expect(relErr(grads[a.name], want)).to.be.below(1e-6);
    tf.dispose([value, grads, want]);
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([a, s]);
  });
});
