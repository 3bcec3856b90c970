import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { maxRelativeError as relErr } from '../testing/tensors';
import { matMulFast } from './ops';

/**
 * [batch, m, k] x [batch, k, n] in float64, entry by entry (an independent route), and the sums
 * of |a b| that bound a float32 product's rounding error.
 */
function reference(a: tf.Tensor, b: tf.Tensor): { exact: Float64Array; magnitude: Float64Array } {
  const [batch, m, k] = a.shape;
  const n = b.shape[2] as number;
  const av = a.dataSync();
  const bv = b.dataSync();
  const exact = new Float64Array(batch * m * n);
  const magnitude = new Float64Array(batch * m * n);
  for (let i = 0; i < batch; i++)
    for (let r = 0; r < m; r++)
      for (let c = 0; c < n; c++) {
        let s = 0;
        let t = 0;
        for (let j = 0; j < k; j++) {
          s += av[(i * m + r) * k + j] * bv[(i * k + j) * n + c];
          t += Math.abs(av[(i * m + r) * k + j] * bv[(i * k + j) * n + c]);
        }
        exact[(i * m + r) * n + c] = s;
        magnitude[(i * m + r) * n + c] = t;
      }
  return { exact, magnitude };
}

/** The tfjs kernels run until `stop()`. */
function countKernels(): { stop: () => string[] } {
  const calls: string[] = [];
  const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
  const orig = engine.runKernel;
  engine.runKernel = function (this: unknown, name: string, ...rest: unknown[]) {
    calls.push(name);
    return orig.call(this, name, ...rest);
  };
  return {
    stop: () => {
      engine.runKernel = orig;
      return calls;
    },
  };
}

describe('training ops: matMulFast', () => {
  it('a batch of products of >= 512 multiply-adds each (host gemms on wasm): the float64 product to float32 rounding, each entry the same bits alone as in its batch, the gradients of tf.matMul to float32 rounding', () => {
    const a = tf.randomNormal([5, 8, 8], 0, 1, 'float32', 11);
    const b = tf.randomNormal([5, 8, 9], 0, 1, 'float32', 12);
    const kernels = countKernels();
    const value = matMulFast(a as tf.Tensor3D, b as tf.Tensor3D);
    expect(kernels.stop().filter((c) => c === 'BatchMatMul'), 'no tfjs product: the host gemms').to.have.length(0);
    expect(value.shape).to.deep.equal([5, 8, 9]);
    const before = tf.memory().numTensors;
    const { exact, magnitude } = reference(a, b);
    const got = value.dataSync();
    // k = 8 float32 multiply-adds and the final rounding: |error| <= (k + 1) u sum_j |a_j b_j|
    for (let i = 0; i < exact.length; i++) expect(Math.abs(got[i] - exact[i])).to.be.at.most(9 * 2 ** -24 * magnitude[i]);
    // entry 2 alone: the same bits as in the batch of 5
    const alone = tf.tidy(() => matMulFast(tf.slice(a, [2, 0, 0], [1, 8, 8]) as tf.Tensor3D, tf.slice(b, [2, 0, 0], [1, 8, 9]) as tf.Tensor3D));
    expect(Array.from(alone.dataSync())).to.deep.equal(Array.from(got.subarray(2 * 72, 3 * 72)));
    const w = tf.randomNormal([5, 8, 9], 0, 1, 'float32', 13);
    const f = (mm: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(mm(x, y), w));
    const [ga, gb] = tf.grads(f((x, y) => matMulFast(x as tf.Tensor3D, y as tf.Tensor3D)))([a, b]);
    const [ra, rb] = tf.grads(f((x, y) => tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D)))([a, b]);
    expect(ga.shape).to.deep.equal(a.shape);
    expect(gb.shape).to.deep.equal(b.shape);
    expect(relErr(ga, ra)).to.be.below(1e-6);
    expect(relErr(gb, rb)).to.be.below(1e-6);
    tf.dispose([alone, w, ga, gb, ra, rb]);
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([a, b, value]);
  });

  for (const shapes of [
    [[7, 5], [5, 3]],
    [[4, 6, 5], [4, 5, 2]],
  ]) {
    it(`[${shapes[0]}] x [${shapes[1]}] (matrices, or a batch of small products): the value of tf.matMul bit for bit, the gradients of tf.matMul's to float32 rounding`, () => {
      const a = tf.randomNormal(shapes[0], 0, 1, 'float32', 1);
      const b = tf.randomNormal(shapes[1], 0, 1, 'float32', 2);
      const w = tf.randomNormal([...shapes[0].slice(0, -1), shapes[1][shapes[1].length - 1]], 0, 1, 'float32', 3);
      const f = (mm: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(mm(x, y), w));
      const fast = (x: tf.Tensor, y: tf.Tensor) => matMulFast(x as tf.Tensor3D, y as tf.Tensor3D);
      const ref = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D);
      expect(Array.from(fast(a, b).dataSync())).to.deep.equal(Array.from(ref(a, b).dataSync()));
      const [ga, gb] = tf.grads(f(fast))([a, b]);
      const [ra, rb] = tf.grads(f(ref))([a, b]);
      expect(relErr(ga, ra)).to.be.below(1e-6);
      expect(relErr(gb, rb)).to.be.below(1e-6);
      tf.dispose([a, b, w, ga, gb, ra, rb]);
    });
  }

  it('builds only the gradient the tape asks for, and leaves no tensor behind', () => {
    const a = tf.variable(tf.randomNormal([6, 4], 0, 1, 'float32', 4));
    const b = tf.randomNormal([4, 3], 0, 1, 'float32', 5); // a constant
    const before = tf.memory().numTensors;
    const kernels = countKernels();
    let value: tf.Scalar;
    let grads: tf.NamedTensorMap;
    let calls: string[];
    try {
      ({ value, grads } = tf.variableGrads(() => tf.sum(matMulFast(a as tf.Tensor2D, b as tf.Tensor2D)) as tf.Scalar, [a]));
    } finally {
      calls = kernels.stop();
    }
    // forward: one product; gradient: one transpose (of b) and one product (dA), no dB
    expect(calls.filter((c) => c === 'BatchMatMul')).to.have.length(2);
    tf.dispose([value, grads]);
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([a, b]);
  });
});
