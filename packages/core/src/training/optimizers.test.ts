import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { clipByGlobalNorm, createOptimizer, learningRate } from './optimizers';

describe('training: optimizers, schedules, clipping', () => {
  it('Adam: two steps match the formulas of Kingma and Ba (bias-corrected moments)', () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const opt = createOptimizer({ type: 'adam', learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }, { w });
    const grads = [
      [0.5, -1],
      [0.25, 2],
    ];
    // reference in float64
    let m = [0, 0];
    let v = [0, 0];
    let ref = [1, -2];
    grads.forEach((g, k) => {
      const t = k + 1;
      m = m.map((mi, i) => 0.9 * mi + 0.1 * g[i]);
      v = v.map((vi, i) => 0.999 * vi + 0.001 * g[i] ** 2);
      ref = ref.map((wi, i) => wi - (0.1 * (m[i] / (1 - 0.9 ** t))) / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-7));
      const gt = tf.tensor1d(g);
      opt.apply({ w: gt }, 0.1);
      gt.dispose();
    });
    const got = Array.from(w.dataSync());
    got.forEach((x, i) => expect(x).to.be.closeTo(ref[i], 1e-6));
    expect(opt.iterations).to.equal(2);
    opt.dispose();
    w.dispose();
  });

  it('Adam over several variables (one flat update) gives the bits of one Adam per variable; a variable without a gradient keeps its weights', () => {
    const config = { type: 'adam', learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } as const;
    const shapes = [[3, 4], [4], [2, 3, 2], []];
    const initial = shapes.map((s, i) => tf.tidy(() => tf.sin(tf.mul(tf.range(1, tf.util.sizeFromShape(s) + 1), i + 1.3)).reshape(s)));
    const gradient = (i: number, k: number) => tf.tidy(() => tf.cos(tf.mul(initial[i], k + 2 + i)));
    const joint = initial.map((t) => tf.variable(t.clone()));
    const alone = initial.map((t) => tf.variable(t.clone()));
    const opt = createOptimizer(config, Object.fromEntries(joint.map((w, i) => [`w${i}`, w])));
    const single = alone.map((w) => createOptimizer(config, { w }));
    for (let k = 0; k < 4; k++) {
      const grads = shapes.map((_, i) => gradient(i, k));
      opt.apply(Object.fromEntries(grads.map((g, i) => [`w${i}`, g])), 0.01);
      single.forEach((o, i) => o.apply({ w: grads[i] }, 0.01));
      tf.dispose(grads);
    }
    joint.forEach((w, i) => expect(Array.from(w.dataSync()), `variable ${i}`).to.deep.equal(Array.from(alone[i].dataSync())));
    // a step without w1's gradient: w1 unchanged, the others move
    const before = joint.map((w) => Array.from(w.dataSync()));
    const grads = shapes.map((_, i) => gradient(i, 9));
    opt.apply({ w0: grads[0], w2: grads[2], w3: grads[3] }, 0.01);
    tf.dispose(grads);
    expect(Array.from(joint[1].dataSync())).to.deep.equal(before[1]);
    for (const i of [0, 2, 3]) expect(Array.from(joint[i].dataSync())).to.not.deep.equal(before[i]);
    opt.dispose();
    single.forEach((o) => o.dispose());
    tf.dispose([...initial, ...joint, ...alone]);
  });

  it('Adam gives the bits of its formulas written as tfjs ops, over many weights and steps (on wasm: its SIMD kernel, 4 lanes and a scalar tail)', () => {
    const config = { type: 'adam', learningRate: 0.003, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } as const;
    const w = tf.variable(tf.randomNormal([37, 29], 0, 1, 'float32', 41));
    let [ref, m, v]: tf.Tensor[] = [tf.clone(w), tf.zeros([37, 29]), tf.zeros([37, 29])];
    const opt = createOptimizer(config, { w });
    for (let t = 1; t <= 5; t++) {
      // gradients over several orders of magnitude
      const g = tf.tidy(() => tf.mul(tf.randomNormal([37, 29], 0, 1, 'float32', 50 + t), tf.exp(tf.randomUniform([37, 29], -8, 4, 'float32', 60 + t))));
      const lr = 0.003 * (1 - t / 10);
      opt.apply({ w: g }, lr);
      const [c1, c2] = [1 - 0.9 ** t, 1 - 0.999 ** t];
      const next = tf.tidy(() => {
        const mNew = tf.add(tf.mul(m, 0.9), tf.mul(g, 1 - 0.9));
        const vNew = tf.add(tf.mul(v, 0.999), tf.mul(tf.square(g), 1 - 0.999));
        const step = tf.mul(tf.div(tf.div(mNew, c1), tf.add(tf.sqrt(tf.div(vNew, c2)), 1e-7)), lr);
        return [tf.sub(ref, step), mNew, vNew];
      });
      tf.dispose([ref, m, v, g]);
      [ref, m, v] = next;
    }
    expect(Array.from(w.dataSync())).to.deep.equal(Array.from(ref.dataSync()));
    opt.dispose();
    tf.dispose([w, ref, m, v]);
  });

  it('SGD with momentum: u = mu u + g, w = w - lr u (and plain SGD with mu = 0)', () => {
    const w = tf.variable(tf.tensor1d([1]));
    const opt = createOptimizer({ type: 'sgd', learningRate: 0.5, momentum: 0.5, nesterov: false }, { w });
    for (const g of [1, 1]) {
      const gt = tf.tensor1d([g]);
      opt.apply({ w: gt }, 0.5);
      gt.dispose();
    }
    // u1 = 1, w1 = 0.5; u2 = 1.5, w2 = -0.25
    expect(w.dataSync()[0]).to.be.closeTo(-0.25, 1e-7);
    opt.dispose();
    const plain = createOptimizer({ type: 'sgd', learningRate: 0.5, momentum: 0, nesterov: false }, { w });
    const g = tf.tensor1d([2]);
    plain.apply({ w: g }, 0.5);
    expect(w.dataSync()[0]).to.be.closeTo(-1.25, 1e-7);
    tf.dispose([g, w]);
    plain.dispose();
  });

  it('state() / restore() continue an Adam run exactly', () => {
    const run = (split: boolean): Float32Array => {
      const w = tf.variable(tf.tensor1d([0.3, 0.7, -1]));
      let opt = createOptimizer({ type: 'adam', learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }, { w });
      for (let k = 0; k < 6; k++) {
        if (split && k === 3) {
          const { tensors, iterations } = opt.state();
          const copies = Object.fromEntries(Object.entries(tensors).map(([n, t]) => [n, tf.clone(t)]));
          opt.dispose();
          opt = createOptimizer({ type: 'adam', learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }, { w });
          opt.restore(copies, iterations);
          tf.dispose(Object.values(copies));
        }
        const g = tf.tidy(() => tf.mul(tf.sin(w), k + 1));
        opt.apply({ w: g }, 0.01);
        g.dispose();
      }
      const out = w.dataSync() as Float32Array;
      opt.dispose();
      w.dispose();
      return out;
    };
    expect(Array.from(run(true))).to.deep.equal(Array.from(run(false)));
  });

  it('learning-rate schedules: constant, exponential (smooth and staircase), cosine', () => {
    expect(learningRate(0.1, { type: 'constant' }, 50, 100)).to.equal(0.1);
    expect(learningRate(0.1, { type: 'exponential', decayRate: 0.5, decaySteps: 10, staircase: false }, 15, 100)).to.be.closeTo(0.1 * 0.5 ** 1.5, 1e-15);
    expect(learningRate(0.1, { type: 'exponential', decayRate: 0.5, decaySteps: 10, staircase: true }, 15, 100)).to.be.closeTo(0.05, 1e-15);
    expect(learningRate(0.1, { type: 'cosine', finalFraction: 0 }, 0, 100)).to.be.closeTo(0.1, 1e-15);
    expect(learningRate(0.1, { type: 'cosine', finalFraction: 0 }, 50, 100)).to.be.closeTo(0.05, 1e-15);
    expect(learningRate(0.1, { type: 'cosine', finalFraction: 0.1 }, 100, 100)).to.be.closeTo(0.01, 1e-15);
  });

  it('clipByGlobalNorm rescales to the maximum norm and leaves small gradients alone', () => {
    const g = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([4]) }; // global norm 5
    const clipped = clipByGlobalNorm(g, 1);
    expect(Array.from(clipped.a.dataSync())).to.deep.equal([0.6000000238418579, 0]);
    expect(clipped.b.dataSync()[0]).to.be.closeTo(0.8, 1e-7);
    const untouched = clipByGlobalNorm(g, 10);
    expect(Array.from(untouched.a.dataSync())).to.deep.equal([3, 0]);
    tf.dispose([g.a, g.b, ...Object.values(clipped), ...Object.values(untouched)]);
  });
});
