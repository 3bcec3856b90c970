import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { RandomStreams, type Scenario, type TrainingBatch } from '@gfra/core';
import { synthetic } from '../testing/synthetic';
import { DlMampnetDetector, type DlMampnetParams } from './index';
import { layerKernel, resetLayerKernelForTests, type LayerInputs } from './layer-kernel';
import { ampNonlinearity } from './network';

const U = 2 ** -24; // float32 unit roundoff

/** One layer's op in float64 on host numbers: X, the Onsager coefficient and, per entry, p and the conditioning of log c. */
function forward64(inp: LayerInputs) {
  const B = inp.tau2.length;
  const E = inp.theta1.length;
  const x = new Float64Array(B * E);
  const p = new Float64Array(B * E);
  const kappa = new Float64Array(B * E); // |(1/2) log1p(theta2/tau2)| + |theta1| + |z^2 / (2 s)|
  const onsager = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    const t = inp.tau2[b];
    let sum = 0;
    for (let j = 0; j < E; j++) {
      const [z, a, th] = [inp.z[b * E + j], inp.theta1[j], inp.theta2[j]];
      const S = th + t;
      const s = (t * S) / th;
      const l = 0.5 * Math.log1p(th / t);
      const logC = l + a - (z * z) / (2 * s);
      const pj = 1 / (1 + Math.exp(logC));
      const g = th / S;
      x[b * E + j] = inp.v * g * pj * z;
      p[b * E + j] = pj;
      kappa[b * E + j] = Math.abs(l) + Math.abs(a) + (z * z) / (2 * s);
      sum += g * (pj + (pj * (1 - pj) * z * z) / s);
    }
    onsager[b] = (inp.v * sum) / inp.C;
  }
  return { x, p, kappa, onsager };
}

/** sum(upX . X) + sum(upO . onsager) of {@link forward64}. */
function objective64(inp: LayerInputs, upX: Float64Array, upO: Float64Array): number {
  const { x, onsager } = forward64(inp);
  return x.reduce((s, v, i) => s + v * upX[i], 0) + onsager.reduce((s, v, i) => s + v * upO[i], 0);
}

/** Random inputs: z from |z| ~ tau (inactive) to far into the saturated sigmoid (both ends), tau^2 per trial, theta2 over orders of magnitude. */
function drawInputs(B: number, E: number, key: string, C = 40): LayerInputs {
  const g = new RandomStreams(['dl-layer-kernel', key]).onceGenerator('values');
  const tau2 = Float32Array.from({ length: B }, () => 10 ** (3 * g.uniform() - 1.5));
  const theta1 = Float32Array.from({ length: E }, () => 3 + 2 * g.normal());
  const theta2 = Float32Array.from({ length: E }, () => 10 ** (4 * g.uniform() - 1.5));
  const z = Float32Array.from({ length: B * E }, (_, i) => {
    const t = tau2[Math.floor(i / E)];
    const kind = g.uniform();
    if (kind < 0.1) return 0;
    if (kind < 0.2) return (g.uniform() < 0.5 ? -1 : 1) * 1e3 * Math.sqrt(t); // p = 1 (saturated)
    return g.normal() * Math.sqrt(t) * 10 ** (1.5 * g.uniform());
  });
  return { z, tau2, theta1, theta2, v: 0.8, C };
}

/** ampNonlinearity (kernel or tfjs) on host inputs: X, onsager and the gradient of sum(upX X) + sum(upO onsager). */
function run(inp: LayerInputs, M: number, upX: Float32Array, upO: Float32Array, implementation: 'auto' | 'tfjs') {
  const B = inp.tau2.length;
  const K = inp.theta1.length / M;
  return tf.tidy(() => {
    const ins = [tf.tensor3d(inp.z, [B, M, K]), tf.tensor3d(inp.tau2, [B, 1, 1]), tf.tensor2d(inp.theta1, [M, K]), tf.tensor2d(inp.theta2, [M, K]), tf.scalar(inp.v)];
    const [ux, uo] = [tf.tensor3d(upX, [B, M, K]), tf.tensor3d(upO, [B, 1, 1])];
    const f = (z: tf.Tensor, t: tf.Tensor, a: tf.Tensor, b: tf.Tensor, v: tf.Tensor) =>
      ampNonlinearity(z as tf.Tensor3D, t as tf.Tensor3D, a as tf.Tensor2D, b as tf.Tensor2D, v as tf.Scalar, inp.C, implementation);
    const out = f(ins[0], ins[1], ins[2], ins[3], ins[4]);
    const grads = tf.grads((z, t, a, b, v) => {
      const o = f(z, t, a, b, v);
      return tf.add(tf.sum(tf.mul(o.x, ux)), tf.sum(tf.mul(o.onsager, uo)));
    })(ins);
    return {
      x: out.x.dataSync() as Float32Array,
      onsager: out.onsager.dataSync() as Float32Array,
      grads: grads.map((g) => g.dataSync() as Float32Array),
    };
  });
}

const NAMES = ['z', 'tau2', 'theta1', 'theta2', 'v'];

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let [d, n] = [0, 0];
  for (let i = 0; i < b.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d) / Math.sqrt(n);
}

const bits = (a: Float32Array | Float64Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.byteLength / 4));

const params = (p: Partial<DlMampnetParams> = {}): DlMampnetParams => ({
  layers: 3,
  bMode: 'shared',
  onsagerNorm: '2LM',
  theta2Init: 4,
  rho: 1,
  rmInputNorm: 'tau',
  lossSurrogate: 'logits',
  convInit: 'avg',
  fc3Init: 'pair',
  ...p,
});

/** Runs f with GFRA_WASM=off (the tfjs formulation everywhere), then restores the setting. */
function withWasmOff<T>(f: () => T): T {
  const before = process.env.GFRA_WASM;
  process.env.GFRA_WASM = 'off';
  resetLayerKernelForTests();
  try {
    expect(layerKernel(), 'GFRA_WASM=off: no kernel').to.equal(undefined);
    return f();
  } finally {
    if (before === undefined) delete process.env.GFRA_WASM;
    else process.env.GFRA_WASM = before;
    resetLayerKernelForTests();
  }
}

describe('dl-mampnet layer kernel (WebAssembly)', () => {
  before(function () {
    if (layerKernel() === undefined) this.skip(); // GFRA_WASM=off or no WebAssembly SIMD: the tfjs path is what runs
  });

  it('forward: X and the Onsager coefficient agree with the tfjs formulation and with float64 to float32 rounding, per entry (shapes with E mod 4 = 0..3, saturated sigmoids)', () => {
    // [B, M, 2NQ]: E = 24, 7, 6, 5, 2, 1 entries per trial
    for (const [B, M, K] of [[5, 3, 8], [3, 1, 7], [4, 2, 3], [2, 5, 1], [1, 1, 2], [3, 1, 1]]) {
      const inp = drawInputs(B, M * K, `fwd-${B}-${M}-${K}`);
      const zeros = new Float32Array(B * M * K);
      const [got, tfjs] = [run(inp, M, zeros, new Float32Array(B), 'auto'), run(inp, M, zeros, new Float32Array(B), 'tfjs')];
      const ref = forward64(inp);
      // Per entry: log c has an absolute error of a few roundings of its largest term (kappa u), which
      // moves p by p (1 - p) kappa u, i.e. X by (1 - p) kappa u relatively; X = v g p z adds a few
      // roundings more. Bound per implementation: (1 - p) 8 kappa u + 16 u relative (polynomial
      // log / exp within 2 ulp each, 4 roundings in log c, 5 in g p z v); the two paths differ by
      // at most the sum of their bounds.
      ref.x.forEach((r, i) => {
        const bound = Math.abs(r) * ((1 - ref.p[i]) * 8 * ref.kappa[i] * U + 16 * U) + 1e-45;
        const label = `B ${B} M ${M} K ${K} entry ${i}: z ${inp.z[i]}, p ${ref.p[i]}`;
        expect(Math.abs(got.x[i] - r), `kernel vs float64, ${label}`).to.be.at.most(bound);
        expect(Math.abs(got.x[i] - tfjs.x[i]), `kernel vs tfjs, ${label}`).to.be.at.most(2 * bound + 2e-45);
      });
      // Onsager: a float64 sum of float32 terms with the same per-entry bounds (eta' has p (1 - p),
      // relatively at most 2 (1 - p) kappa u + 24 u more); 1e-5 relative covers kappa up to 50 in the
      // transition region. tfjs sums in float32 (E u relative more).
      ref.onsager.forEach((r, b) => {
        expect(Math.abs(got.onsager[b] - r), `onsager ${b}`).to.be.at.most(1e-5 * Math.abs(r));
        expect(Math.abs(tfjs.onsager[b] - r), `tfjs onsager ${b}`).to.be.at.most(1e-5 * Math.abs(r) + M * K * U * Math.abs(r));
      });
    }
  });

  it('backward: every input gradient agrees with the tfjs closed form (the float64 check is the central-difference test below)', () => {
    for (const [B, M, K] of [[5, 3, 8], [3, 1, 7], [4, 2, 3], [2, 5, 1], [1, 1, 2]]) {
      const inp = drawInputs(B, M * K, `bwd-${B}-${M}-${K}`);
      const g = new RandomStreams(['dl-layer-kernel', `up-${B}-${M}-${K}`]).onceGenerator('up');
      const upX = Float32Array.from({ length: B * M * K }, () => g.normal());
      const upO = Float32Array.from({ length: B }, () => g.normal());
      const [got, tfjs] = [run(inp, M, upX, upO, 'auto'), run(inp, M, upX, upO, 'tfjs')];
      // Both are float32 evaluations of the same closed form (about 30 roundings per entry, sums over
      // the batch or the entries in float32 for tfjs): normwise 1e-5 is 5 times 30 u.
      NAMES.forEach((name, i) => {
        expect(got.grads[i].every(Number.isFinite), `${name} finite`).to.equal(true);
        expect(relErr(got.grads[i], tfjs.grads[i]), `${name}: kernel vs tfjs, B ${B} M ${M} K ${K}`).to.be.below(1e-5);
      });
    }
  });

  it('gradient = float64 central differences of the float64 forward pass on a tiny case (rel 1e-5)', () => {
    const [B, M, K] = [3, 2, 3];
    // moderate z (every entry in the sigmoid's transition region or near it), so every input matters
    const g = new RandomStreams(['dl-layer-kernel', 'fd']).onceGenerator('fd');
    const tau2 = Float32Array.from([0.5, 2, 9]);
    const theta1 = Float32Array.from({ length: M * K }, () => 2 + g.normal());
    const theta2 = Float32Array.from({ length: M * K }, () => 10 ** (2 * g.uniform() - 0.5));
    const z = Float32Array.from({ length: B * M * K }, (_, i) => g.normal() * 3 * Math.sqrt(tau2[Math.floor(i / (M * K))]));
    const inp: LayerInputs = { z, tau2, theta1, theta2, v: 0.7, C: 12 };
    const upX = Float32Array.from({ length: B * M * K }, () => g.normal());
    const upO = Float32Array.from({ length: B }, () => g.normal());
    const got = run(inp, M, upX, upO, 'auto');
    const [ux, uo] = [Float64Array.from(upX), Float64Array.from(upO)];
    // inputs in float64 (the float32 values, exactly), perturbed one at a time
    const base = { z: Float64Array.from(z), tau2: Float64Array.from(tau2), theta1: Float64Array.from(theta1), theta2: Float64Array.from(theta2) };
    const fd = (name: string, i: number): number => {
      const at = (delta: number) => {
        const arrays = { z: base.z.slice(), tau2: base.tau2.slice(), theta1: base.theta1.slice(), theta2: base.theta2.slice() } as Record<string, Float64Array>;
        if (name !== 'v') arrays[name][i] += delta;
        return objective64({ ...arrays, v: name === 'v' ? inp.v + delta : inp.v, C: inp.C } as unknown as LayerInputs, ux, uo);
      };
      const x0 = name === 'v' ? inp.v : (base as Record<string, Float64Array>)[name][i];
      const h = 1e-6 * Math.max(1, Math.abs(x0));
      return (at(h) - at(-h)) / (2 * h);
    };
    const lengths = [B * M * K, B, M * K, M * K, 1];
    NAMES.forEach((name, k) => {
      const ref = Array.from({ length: lengths[k] }, (_, i) => fd(name, i));
      // central differences: truncation h^2 f''' ~ 1e-12, cancellation 1e-16 / 1e-6 = 1e-10 relative;
      // the kernel: float32, about 30 roundings per entry -> 1e-5 leaves 5x
      expect(relErr(got.grads[k], ref), `${name}: kernel vs central differences`).to.be.below(1e-5);
    });
  });

  it('depends on the inputs only: repeated calls are bit-identical, and the per-trial outputs (X, onsager, dZ, dtau^2) do not depend on the other trials of the batch', () => {
    const [B, M, K] = [7, 3, 5];
    const E = M * K;
    const inp = drawInputs(B, E, 'split');
    const g = new RandomStreams(['dl-layer-kernel', 'split-up']).onceGenerator('up');
    const upX = Float32Array.from({ length: B * E }, () => g.normal());
    const upO = Float32Array.from({ length: B }, () => g.normal());
    const whole = run(inp, M, upX, upO, 'auto');
    const again = run(inp, M, upX, upO, 'auto');
    expect(bits(again.x)).to.deep.equal(bits(whole.x));
    again.grads.forEach((gr, i) => expect(bits(gr), NAMES[i]).to.deep.equal(bits(whole.grads[i])));
    const part = (from: number, to: number) => {
      const sub: LayerInputs = { ...inp, z: inp.z.slice(from * E, to * E), tau2: inp.tau2.slice(from, to) };
      return run(sub, M, upX.slice(from * E, to * E), upO.slice(from, to), 'auto');
    };
    const [a, b] = [part(0, 3), part(3, 7)];
    const cat = (u: Float32Array, v: Float32Array) => Float32Array.from([...u, ...v]);
    expect(bits(cat(a.x, b.x)), 'X').to.deep.equal(bits(whole.x));
    expect(bits(cat(a.onsager, b.onsager)), 'onsager').to.deep.equal(bits(whole.onsager));
    expect(bits(cat(a.grads[0], b.grads[0])), 'dZ').to.deep.equal(bits(whole.grads[0]));
    expect(bits(cat(a.grads[1], b.grads[1])), 'dtau2').to.deep.equal(bits(whole.grads[1]));
  });

  it('leaves no tensor behind, with and without a gradient tape', () => {
    const [B, M, K] = [4, 2, 6];
    const inp = drawInputs(B, M * K, 'leak');
    const ins = [tf.tensor3d(inp.z, [B, M, K]), tf.tensor3d(inp.tau2, [B, 1, 1]), tf.tensor2d(inp.theta1, [M, K]), tf.tensor2d(inp.theta2, [M, K]), tf.scalar(inp.v)];
    const f = (z: tf.Tensor, t: tf.Tensor, a: tf.Tensor, b: tf.Tensor, v: tf.Tensor) => ampNonlinearity(z as tf.Tensor3D, t as tf.Tensor3D, a as tf.Tensor2D, b as tf.Tensor2D, v as tf.Scalar, inp.C);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      f(ins[0], ins[1], ins[2], ins[3], ins[4]);
    });
    expect(tf.memory().numTensors, 'forward only').to.equal(before);
    const grads = tf.grads((z, t, a, b, v) => {
      const o = f(z, t, a, b, v);
      return tf.add(tf.sum(o.x), tf.sum(o.onsager));
    })(ins);
    expect(tf.memory().numTensors, 'gradients: the 5 results only').to.equal(before + 5);
    tf.dispose(grads);
    tf.dispose(ins);
  });

  it('a DL-mAMPnet training step (joint BCE, Adam) gives the losses and gradients of the tfjs path (GFRA_WASM=off) over 3 steps', function () {
    this.timeout(30000);
    const scenario: Scenario = { numDevices: 10, numAntennas: 4, sequenceLength: 8, bitsPerDevice: 1 };
    const data = synthetic({ scenario, trials: 40, activityProb: 0.2, snrDb: [0, 20], key: 'dl-kernel-train' });
    const steps = (): { losses: number[]; grads: Record<string, Float32Array> } => {
      const before = tf.memory().numTensors;
      const det = new DlMampnetDetector(params(), scenario, new RandomStreams(['dl-kernel-train']));
      const opt = tf.train.adam(0.01);
      const losses: number[] = [];
      let grads: Record<string, Float32Array> = {};
      const trainable = Object.entries(det.trainableVariables()).filter(([n]) => n !== 'theta2Init');
      for (let s = 0; s < 3; s++) {
        tf.tidy(() => {
          const observation = data.observation();
          const N = scenario.numDevices;
          const truth = {
            activity: tf.tensor2d(data.activity.flat(), [40, N]),
            message: tf.tensor2d(data.message.flat(), [40, N], 'int32'),
            channel: data.channel(),
            largeScaleFading: observation.largeScaleFading as tf.Tensor2D,
          };
          const batch = { observation, truth } as unknown as TrainingBatch;
          const { value, grads: g } = tf.variableGrads(() => det.stageLoss(batch, 5), trainable.map(([, v]) => v));
          losses.push(value.dataSync()[0]);
          if (s === 0) grads = Object.fromEntries(trainable.map(([n, v]) => [n, Float32Array.from(g[v.name].dataSync())]));
          opt.applyGradients(g as Parameters<typeof opt.applyGradients>[0]);
        });
      }
      opt.dispose();
      det.dispose();
      expect(tf.memory().numTensors, 'tensors left').to.equal(before);
      return { losses, grads };
    };
    const kernel = steps();
    const fallback = withWasmOff(steps);
    // The two paths differ by float32 rounding in each AMP layer (about 1e-6 relative, see the
    // tests above), which 3 layers and the refinement module carry to the loss and gradients with
    // moderate amplification; Adam's first steps are lr sign(g)-like, so a rounding-size change in
    // a gradient near 0 moves a weight by up to lr: 1e-4 relative on the loss, 1e-3 normwise on
    // each variable's first gradient.
    kernel.losses.forEach((l, s) => expect(Math.abs(l - fallback.losses[s]), `step ${s + 1}: ${l} vs ${fallback.losses[s]}`).to.be.at.most(1e-4 * Math.abs(fallback.losses[s])));
    for (const [name, g] of Object.entries(fallback.grads)) {
      const err = relErr(kernel.grads[name], g);
      expect(err, `gradient of ${name}`).to.be.below(1e-3);
    }
    expect(kernel.losses[2], 'the loss falls').to.be.below(kernel.losses[0]);
  });
});
