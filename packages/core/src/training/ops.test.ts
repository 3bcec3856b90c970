import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { maxRelativeError as relErr } from '../testing/tensors';
import { matMulFast } from './ops';

describe('training ops: matMulFast', () => {
  for (const shapes of [
    [[7, 5], [5, 3]],
    [[4, 6, 5], [4, 5, 2]],
  ]) {
    it(`[${shapes[0]}] x [${shapes[1]}]: the value of tf.matMul bit for bit, the gradients of tf.matMul's to float32 rounding`, () => {
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
    const calls: string[] = [];
    const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
    const orig = engine.runKernel;
    engine.runKernel = function (this: unknown, name: string, ...rest: unknown[]) {
      calls.push(name);
      return orig.call(this, name, ...rest);
    };
    let value: tf.Scalar;
    let grads: tf.NamedTensorMap;
    try {
      ({ value, grads } = tf.variableGrads(() => tf.sum(matMulFast(a as tf.Tensor2D, b as tf.Tensor2D)) as tf.Scalar, [a]));
    } finally {
      engine.runKernel = orig;
    }
    // forward: one product; gradient: one transpose (of b) and one product (dA), no dB
    expect(calls.filter((c) => c === 'BatchMatMul')).to.have.length(2);
    tf.dispose([value, grads]);
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([a, b]);
  });
});
