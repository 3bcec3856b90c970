/**
 * Optimizers (Adam, SGD with momentum), learning-rate schedules and gradient clipping.
 *
 * gfra has its own small optimizers rather than `tf.train.adam` / `tf.train.sgd` because their
 * state must be checkpointed and restored exactly: tfjs's Adam keys its moments by position and,
 * on `setWeights`, recomputes its bias-correction accumulators with `pow` instead of the running
 * products it had, so a resumed run drifts from an uninterrupted one in the last bits. Here the
 * state is named per variable and the bias corrections are computed on the host in float64 from
 * the step count, so a resumed run is bit-identical to an uninterrupted one.
 *
 * Adam (Kingma and Ba, ICLR 2015, Algorithm 1), per variable w with gradient g at step t:
 *   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
 *   w = w - lr (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon)
 * SGD with momentum mu (mu = 0: plain SGD):
 *   u = mu u + g;   w = w - lr u   (Nesterov: w = w - lr (g + mu u))
 */
import * as tf from '@tensorflow/tfjs';
import type { OptimizerConfig, ScheduleConfig } from './config';
import { adamKernel, type AdamKernel } from './adam-kernel';
import { heapAccess, type HeapAccess } from './wasm-heap';

export interface Optimizer {
  /** Apply one update with these gradients (missing entries: no update) at learning rate `lr`. */
  apply(gradients: Readonly<Record<string, tf.Tensor>>, lr: number): void;
  /** Updates applied so far. */
  readonly iterations: number;
  /** The state to checkpoint: named tensors (owned by the optimizer) and the step count. */
  state(): { readonly tensors: Record<string, tf.Tensor>; readonly iterations: number };
  /** Restore a state saved by {@link state} (tensors are copied). */
  restore(tensors: Readonly<Record<string, tf.Tensor>>, iterations: number): void;
  dispose(): void;
}

/** Backends whose tensors are host memory, where a read is a copy and no device round trip. */
const HOST_BACKENDS: ReadonlySet<string> = new Set(['wasm', 'cpu']);

/** Zero-initialised slots (moments) per variable, created on first use. */
class Slots {
  readonly values = new Map<string, tf.Variable>();
  get(name: string, like: tf.Tensor): tf.Variable {
    let v = this.values.get(name);
    if (v === undefined) {
      v = tf.variable(tf.zerosLike(like), false);
      this.values.set(name, v);
    }
    return v;
  }
  set(name: string, value: tf.Tensor): void {
    const existing = this.values.get(name);
    if (existing !== undefined) existing.assign(value);
    else this.values.set(name, tf.variable(value, false));
  }
  dispose(): void {
    for (const v of this.values.values()) v.dispose();
    this.values.clear();
  }
}

/**
 * Adam. The moments of all variables live in two flat vectors m, v [P] (P = total number of
 * weights, variables in the order of `variables`), so that a step with a gradient for every
 * variable is one update over [P] (about ten kernels) instead of about fourteen kernels per
 * variable; on the wasm backend the per-kernel overhead dominated the small variables. The
 * arithmetic per weight is the same, op for op, so the numbers are bit-identical to a
 * per-variable update. {@link state} and {@link restore} speak per variable (`m/<name>`,
 * `v/<name>`), as checkpoints do.
 */
class Adam implements Optimizer {
  private t = 0;
  private readonly names: string[];
  private readonly sizes: number[];
  /** Flat moments [P], created on the first update or restore. */
  private m: tf.Variable | undefined;
  private v: tf.Variable | undefined;
  /** Variables whose moments have been set (updated or restored): the ones {@link state} lists. */
  private readonly touched = new Set<string>();
  /** The per-variable views handed out by the last {@link state} call. */
  private views: tf.Tensor[] = [];

  constructor(
    private readonly variables: Readonly<Record<string, tf.Variable>>,
    private readonly config: Extract<OptimizerConfig, { type: 'adam' }>,
  ) {
    this.names = Object.keys(variables);
    this.sizes = this.names.map((n) => variables[n].size);
  }

  get iterations(): number {
    return this.t;
  }

  private moments(): { m: tf.Variable; v: tf.Variable } {
    if (this.m === undefined || this.v === undefined) {
      const P = this.sizes.reduce((a, b) => a + b, 0);
      // the zero initial values are freed by the tidy; the variables stay
      [this.m, this.v] = tf.tidy(() => [tf.variable(tf.zeros([P]), false), tf.variable(tf.zeros([P]), false)]);
    }
    return { m: this.m, v: this.v };
  }

  /**
   * [P] -> one tensor per variable, in its shape. On the wasm backend the parts are copied within
   * its memory, and on the cpu backend made from one read of [P], rather than tf.split: the wasm
   * backend's SplitV copies the whole input once per part (its slice reads all of it), which took
   * 15-20 % of a learned-pilots training step. Elsewhere (a GPU) tf.split. The values are the same
   * either way: copies.
   */
  private unflatten(flat: tf.Tensor): tf.Tensor[] {
    const shapes = this.names.map((n) => this.variables[n].shape);
    if (this.names.length === 1) return [tf.reshape(flat, shapes[0])];
    const heap = heapAccess();
    if (heap !== undefined) {
      // copies within the wasm memory: no read into a JavaScript array (a fresh [P] array per
      // step is a fresh mmap under the fixed malloc thresholds of gfra run / gfra train)
      const parts = shapes.map((shape) => heap.tensor(shape));
      const values = heap.view(flat);
      let offset = 0;
      parts.forEach((part, i) => {
        heap.view(part).set(values.subarray(offset, offset + this.sizes[i]));
        offset += this.sizes[i];
      });
      return parts;
    }
    if (HOST_BACKENDS.has(tf.getBackend())) {
      const values = flat.dataSync() as Float32Array;
      let offset = 0;
      return this.sizes.map((size, i) => {
        const part = tf.tensor(values.subarray(offset, offset + size), shapes[i], 'float32');
        offset += size;
        return part;
      });
    }
    return tf.split(flat, this.sizes).map((part, i) => tf.reshape(part, shapes[i]));
  }

  private flatten(parts: readonly tf.Tensor[]): tf.Tensor {
    const flat = parts.map((p) => tf.reshape(p, [-1]));
    return flat.length === 1 ? flat[0] : tf.concat(flat);
  }

  apply(gradients: Readonly<Record<string, tf.Tensor>>, lr: number): void {
    const { beta1, beta2, epsilon } = this.config;
    this.t += 1;
    const c1 = 1 - beta1 ** this.t; // bias corrections, float64 on the host
    const c2 = 1 - beta2 ** this.t;
    const present = this.names.map((n) => gradients[n] !== undefined);
    if (!present.some((p) => p)) return;
    const { m, v } = this.moments();
    const [heap, kernel] = [heapAccess(), adamKernel()];
    if (heap !== undefined && kernel !== undefined) {
      this.applyWithKernel(heap, kernel, gradients, lr, c1, c2, present);
      return;
    }
    tf.tidy(() => {
      // Variables without a gradient get a zero gradient here, then their moments and weights are
      // put back unchanged below (no update: as if they were not in the step).
      const g = this.flatten(this.names.map((n) => gradients[n] ?? tf.zeros(this.variables[n].shape)));
      const mNew = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
      const vNew = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
      const step = tf.mul(tf.div(tf.div(mNew, c1), tf.add(tf.sqrt(tf.div(vNew, c2)), epsilon)), lr);
      const steps = this.unflatten(step);
      if (present.every((p) => p)) {
        m.assign(mNew);
        v.assign(vNew);
      } else {
        const [mOld, vOld, mUp, vUp] = [m, v, mNew, vNew].map((t) => this.unflatten(t));
        m.assign(this.flatten(this.names.map((_, i) => (present[i] ? mUp[i] : mOld[i]))));
        v.assign(this.flatten(this.names.map((_, i) => (present[i] ? vUp[i] : vOld[i]))));
      }
      this.names.forEach((n, i) => {
        if (!present[i]) return;
        const w = this.variables[n];
        w.assign(tf.sub(w, steps[i]));
        this.touched.add(n);
      });
    });
  }

  /**
   * {@link apply} on the wasm backend: one pass of the Adam kernel over each variable (the same
   * bits as the tfjs ops, see `adam-kernel.ts`) instead of about ten kernels over [P] and the
   * concatenation of the gradients. New tensors receive the moments and weights (then assigned):
   * a variable's memory may be shared by clones taken earlier (a kept best state).
   */
  private applyWithKernel(heap: HeapAccess, kernel: AdamKernel, gradients: Readonly<Record<string, tf.Tensor>>, lr: number, c1: number, c2: number, present: readonly boolean[]): void {
    const { beta1, beta2, epsilon } = this.config;
    const constants = { b1: beta1, nb1: 1 - beta1, b2: beta2, nb2: 1 - beta2, c1, c2, eps: epsilon, lr };
    const { m, v } = this.moments();
    tf.tidy(() => {
      const P = m.size;
      const [mNew, vNew] = [heap.tensor([P]), heap.tensor([P])];
      const weights = this.names.map((n, i) => (present[i] ? heap.tensor(this.variables[n].shape) : undefined));
      // views only after the last allocation (a growing wasm memory detaches earlier views)
      const [mo, vo, mn, vn] = [m, v, mNew, vNew].map((t) => heap.view(t));
      let offset = 0;
      this.names.forEach((n, i) => {
        const size = this.sizes[i];
        const out = weights[i];
        if (out === undefined) {
          mn.set(mo.subarray(offset, offset + size), offset);
          vn.set(vo.subarray(offset, offset + size), offset);
        } else {
          const at = (view: Float32Array) => view.byteOffset + 4 * offset;
          const pointers = { m: at(mo), v: at(vo), g: heap.view(gradients[n]).byteOffset, w: heap.view(this.variables[n]).byteOffset, mOut: at(mn), vOut: at(vn), wOut: heap.view(out).byteOffset };
          kernel(pointers, size, constants);
        }
        offset += size;
      });
      m.assign(mNew);
      v.assign(vNew);
      this.names.forEach((n, i) => {
        const out = weights[i];
        if (out === undefined) return;
        this.variables[n].assign(out);
        this.touched.add(n);
      });
    });
  }

  state() {
    tf.dispose(this.views);
    this.views = [];
    const tensors: Record<string, tf.Tensor> = {};
    if (this.m !== undefined && this.v !== undefined && this.touched.size > 0) {
      const [ms, vs] = [this.m, this.v].map((t) => tf.tidy(() => this.unflatten(t)));
      this.views = [...ms, ...vs];
      this.names.forEach((n, i) => {
        if (this.touched.has(n)) tensors[`m/${n}`] = ms[i];
      });
      this.names.forEach((n, i) => {
        if (this.touched.has(n)) tensors[`v/${n}`] = vs[i];
      });
    }
    return { tensors, iterations: this.t };
  }

  restore(tensors: Readonly<Record<string, tf.Tensor>>, iterations: number): void {
    this.t = iterations;
    const given = { m: new Map<string, tf.Tensor>(), v: new Map<string, tf.Tensor>() };
    for (const [key, value] of Object.entries(tensors)) {
      const [slot, ...rest] = key.split('/');
      const name = rest.join('/');
      if (!(name in this.variables)) throw new Error(`optimizer state "${key}" names no variable of this phase`);
      if (slot === 'm' || slot === 'v') given[slot].set(name, value);
    }
    const { m, v } = this.moments();
    tf.tidy(() => {
      for (const [slot, target] of [['m', m], ['v', v]] as const) {
        const parts = this.unflatten(target);
        target.assign(this.flatten(this.names.map((n, i) => given[slot].get(n) ?? parts[i])));
      }
    });
    for (const n of [...given.m.keys(), ...given.v.keys()]) this.touched.add(n);
  }

  dispose(): void {
    tf.dispose(this.views);
    this.views = [];
    this.m?.dispose();
    this.v?.dispose();
    this.m = undefined;
    this.v = undefined;
  }
}

class Sgd implements Optimizer {
  private t = 0;
  private readonly u = new Slots();

  constructor(
    private readonly variables: Readonly<Record<string, tf.Variable>>,
    private readonly config: Extract<OptimizerConfig, { type: 'sgd' }>,
  ) {}

  get iterations(): number {
    return this.t;
  }

  apply(gradients: Readonly<Record<string, tf.Tensor>>, lr: number): void {
    const { momentum, nesterov } = this.config;
    this.t += 1;
    tf.tidy(() => {
      for (const [name, w] of Object.entries(this.variables)) {
        const g = gradients[name];
        if (g === undefined) continue;
        if (momentum === 0) {
          w.assign(tf.sub(w, tf.mul(g, lr)));
          continue;
        }
        const u = this.u.get(name, w);
        const uNew = tf.add(tf.mul(u, momentum), g);
        u.assign(uNew);
        const direction = nesterov ? tf.add(g, tf.mul(uNew, momentum)) : uNew;
        w.assign(tf.sub(w, tf.mul(direction, lr)));
      }
    });
  }

  state() {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [name, t] of this.u.values) tensors[`u/${name}`] = t;
    return { tensors, iterations: this.t };
  }

  restore(tensors: Readonly<Record<string, tf.Tensor>>, iterations: number): void {
    this.t = iterations;
    for (const [key, value] of Object.entries(tensors)) {
      const name = key.slice(2);
      if (!key.startsWith('u/') || !(name in this.variables)) throw new Error(`optimizer state "${key}" names no variable of this phase`);
      this.u.set(name, value);
    }
  }

  dispose(): void {
    this.u.dispose();
  }
}

/** An optimizer over `variables` (by name). */
export function createOptimizer(config: OptimizerConfig, variables: Readonly<Record<string, tf.Variable>>): Optimizer {
  return config.type === 'adam' ? new Adam(variables, config) : new Sgd(variables, config);
}

/**
 * Learning rate at `step` (0-based) of a phase of `totalSteps` steps:
 * constant lr0; exponential lr0 decayRate^(step/decaySteps) (floor of the exponent when
 * staircase); cosine lr0 (f + (1 - f)(1 + cos(pi step / totalSteps)) / 2).
 */
export function learningRate(lr0: number, schedule: ScheduleConfig, step: number, totalSteps: number): number {
  switch (schedule.type) {
    case 'constant':
      return lr0;
    case 'exponential': {
      const e = step / schedule.decaySteps;
      return lr0 * schedule.decayRate ** (schedule.staircase ? Math.floor(e) : e);
    }
    case 'cosine': {
      const f = schedule.finalFraction;
      const x = Math.min(1, step / Math.max(1, totalSteps));
      return lr0 * (f + ((1 - f) * (1 + Math.cos(Math.PI * x))) / 2);
    }
  }
}

/**
 * Clip by global norm: when ||g|| = sqrt(sum_k ||g_k||^2) exceeds `maxNorm`, every gradient is
 * scaled by maxNorm / ||g|| (direction kept). Computed on the device, without a download.
 * Returns new tensors (the caller disposes both sets).
 */
export function clipByGlobalNorm(gradients: Readonly<Record<string, tf.Tensor>>, maxNorm: number): Record<string, tf.Tensor> {
  return tf.tidy(() => {
    const names = Object.keys(gradients);
    if (names.length === 0) return {};
    const squares = names.map((n) => tf.sum(tf.square(gradients[n])));
    const norm = tf.sqrt(tf.addN(squares));
    const factor = tf.div(maxNorm, tf.maximum(norm, maxNorm));
    return Object.fromEntries(names.map((n) => [n, tf.mul(gradients[n], factor)]));
  });
}
