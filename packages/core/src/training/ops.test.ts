import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { maxRelativeError as relErr } from '../testing/tensors';
import { blas } from '../blas';
import { denseLayer, matMulFast, type DenseActivation } from './ops';

/** The names of the kernels `f` runs (a spy on the engine's runKernel). */
function kernelsOf(f: () => void): string[] {
  const calls: string[] = [];
  const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
  const orig = engine.runKernel;
  engine.runKernel = function (this: unknown, name: string, ...rest: unknown[]) {
    calls.push(name);
    return orig.call(this, name, ...rest);
  };
  try {
    f();
  } finally {
    engine.runKernel = orig;
  }
  return calls;
}

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
    let value!: tf.Scalar;
    let grads!: tf.NamedTensorMap;
    const calls = kernelsOf(() => {
      ({ value, grads } = tf.variableGrads(() => tf.sum(matMulFast(a as tf.Tensor2D, b as tf.Tensor2D)) as tf.Scalar, [a]));
    });
    // forward: one product; gradient: one transpose (of b) and one product (dA), no dB
    expect(calls.filter((c) => c === 'BatchMatMul')).to.have.length(2);
    tf.dispose([value, grads]);
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([a, b]);
  });
});

describe('training ops: denseLayer', () => {
  const reference = (h: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, act: DenseActivation): tf.Tensor2D => {
    const z = tf.add(tf.matMul(h, w), b) as tf.Tensor2D;
    return act === 'relu' ? tf.relu(z) : act === 'elu' ? tf.elu(z) : act === 'tanh' ? tf.tanh(z) : z;
  };

  for (const act of ['relu', 'elu', 'tanh', 'linear'] as const) {
    it(`${act}: in a training step, the value and the gradients of tfjs's dense layer to float32 rounding (fused on the host where the BLAS is native)`, () => {
      const h = tf.variable(tf.randomNormal([9, 7], 0, 1, 'float32', 11));
      const w = tf.variable(tf.randomNormal([7, 5], 0, 1, 'float32', 12));
      const b = tf.variable(tf.randomNormal([5], 0, 1, 'float32', 13));
      const weights = tf.randomNormal([9, 5], 0, 1, 'float32', 14);
      const before = tf.memory().numTensors;
      const loss = (f: typeof reference) => () => tf.sum(tf.mul(f(h as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D, act), weights)) as tf.Scalar;
      let fused!: { value: tf.Scalar; grads: tf.NamedTensorMap };
      const kernels = kernelsOf(() => {
        fused = tf.variableGrads(loss(denseLayer), [h, w, b]);
      });
      const ref = tf.variableGrads(loss(reference), [h, w, b]);
      // the host path runs no tfjs product; without a native BLAS the tfjs path runs
      expect(kernels.includes('BatchMatMul')).to.equal(!blas().native);
      expect(Math.abs(fused.value.dataSync()[0] - ref.value.dataSync()[0])).to.be.below(1e-4 * (1 + Math.abs(ref.value.dataSync()[0])));
      for (const v of [h, w, b]) expect(relErr(fused.grads[v.name], ref.grads[v.name]), v.name).to.be.below(1e-5);
      tf.dispose([fused.value, fused.grads, ref.value, ref.grads]);
      expect(tf.memory().numTensors).to.equal(before);
      tf.dispose([h, w, b, weights]);
    });
  }

  it('outside a training step: the bits of tfjs\'s dense layer, row by row whatever the number of rows', () => {
    const h = tf.randomNormal([13, 6], 0, 1, 'float32', 21) as tf.Tensor2D;
    const w = tf.randomNormal([6, 4], 0, 1, 'float32', 22) as tf.Tensor2D;
    const b = tf.randomNormal([4], 0, 1, 'float32', 23) as tf.Tensor1D;
    const all = denseLayer(h, w, b, 'relu');
    expect(Array.from(all.dataSync())).to.deep.equal(Array.from(reference(h, w, b, 'relu').dataSync()));
    const part = denseLayer(tf.slice(h, [3, 0], [5, 6]), w, b, 'relu');
    expect(Array.from(part.dataSync())).to.deep.equal(Array.from(tf.slice(all, [3, 0], [5, 4]).dataSync()));
    tf.dispose([h, w, b, all, part]);
  });

  it('only the gradients the tape asks for (a constant kernel gets no product)', () => {
    const h = tf.variable(tf.randomNormal([6, 4], 0, 1, 'float32', 31));
    const w = tf.randomNormal([4, 3], 0, 1, 'float32', 32) as tf.Tensor2D;
    const b = tf.zeros([3]) as tf.Tensor1D;
    const { value, grads } = tf.variableGrads(() => tf.sum(denseLayer(h as tf.Tensor2D, w, b, 'tanh')) as tf.Scalar, [h]);
    const ref = tf.variableGrads(() => tf.sum(tf.tanh(tf.add(tf.matMul(h as tf.Tensor2D, w), b))) as tf.Scalar, [h]);
    expect(Object.keys(grads)).to.deep.equal([h.name]);
    expect(relErr(grads[h.name], ref.grads[h.name])).to.be.below(1e-5);
    tf.dispose([h, w, b, value, grads, ref.value, ref.grads]);
  });
});
