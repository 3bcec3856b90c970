/**
 * The network of the Mul-VAE multiuser detector (decoupling "attention" and multi-task sluice
 * network), and the pieces it shares with the per-user classifier baseline `e2e-autoencoder-rx`:
 * dense stacks batched over the tasks of equal width, the channel state per resource, the
 * estimate from per-user logits and the multi-task cross-entropy loss.
 *
 * Reference: Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint Constellation Design and Multiuser
 * Detection for Grant-Free NOMA", IEEE Trans. Wireless Commun., 2022: decoder Sec. III-C,
 * Fig. 4, attention Eq. (18), multi-task loss Eqs. (13), (15), (19)-(21).
 */
import * as tf from '@tensorflow/tfjs';
import { cx, matMulFast, type ComplexTensor, type Estimate, type Observation } from '@gfra/core';
import { perTaskCrossEntropy, prioritizedLoss, type TaskPriorityParams } from './task-priority';

/** Value of the padded logits of a device with Q_n < Q (no such message). */
export const PAD_LOGIT = -1e9;

/** The host generator the initial weights come from (a `RandomStreams.onceGenerator`). */
export interface UniformSource {
  uniform(): number;
}

/** Tasks (devices) with the same alphabet size Q_n, batched together. */
export interface TaskGroup {
  /** Q_n of every device of the group. */
  readonly q: number;
  /** Device indices, ascending. */
  readonly users: readonly number[];
}

/** Devices grouped by Q_n (groups in ascending Q_n, devices ascending within a group). */
export function taskGroups(sequences: readonly number[]): TaskGroup[] {
  const qs = [...new Set(sequences)].sort((a, b) => a - b);
  return qs.map((q) => ({ q, users: sequences.flatMap((s, n) => (s === q ? [n] : [])) }));
}

/**
 * G dense stacks of the same layer sizes, one per task of a group, applied with batched matmuls:
 * sizes[0] -> ... -> sizes[K], tanh after every layer but the last (linear output).
 *
 * Variables: `<prefix>dense<k>/kernel` [G, in, out] and `<prefix>dense<k>/bias` [G, 1, out] for
 * the hidden layers, `<prefix>output/...` for the last; row g of each belongs to task g of the
 * group. Kernels are Glorot-uniform per task, U(-a, a) with a = sqrt(6 / (in + out)), drawn layer
 * by layer (task by task within a layer, row-major) from `source`; biases start at zero.
 */
export class GroupedDenseStack {
  private readonly layers: { name: string; kernel: tf.Variable; bias: tf.Variable }[] = [];

  constructor(
    readonly tasks: number,
    readonly sizes: readonly number[],
    source: UniformSource,
    prefix = '',
  ) {
    for (let k = 0; k + 1 < sizes.length; k++) {
      const [fanIn, fanOut] = [sizes[k], sizes[k + 1]];
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      const values = new Float32Array(tasks * fanIn * fanOut);
      for (let i = 0; i < values.length; i++) values[i] = (2 * source.uniform() - 1) * limit;
      const name = `${prefix}${k + 2 === sizes.length ? 'output' : `dense${k}`}`;
      tf.tidy(() => {
        this.layers.push({ name, kernel: tf.variable(tf.tensor3d(values, [tasks, fanIn, fanOut]), true), bias: tf.variable(tf.zeros([tasks, 1, fanOut]), true) });
      });
    }
  }

  variables(): Record<string, tf.Variable> {
    return Object.fromEntries(this.layers.flatMap((l) => [[`${l.name}/kernel`, l.kernel], [`${l.name}/bias`, l.bias]]));
  }

  /** Number of trainable values. */
  parameterCount(): number {
    return this.layers.reduce((s, l) => s + l.kernel.size + l.bias.size, 0);
  }

  /** [G, rows, sizes[0]] -> [G, rows, sizes[K]]. Call inside a tidy or gradient scope. */
  apply(x: tf.Tensor3D): tf.Tensor3D {
    let h = x;
    this.layers.forEach((layer, k) => {
      const z = tf.add(matMulFast(h, layer.kernel as tf.Tensor3D), layer.bias) as tf.Tensor3D;
      h = k + 1 < this.layers.length ? tf.tanh(z) : z;
    });
    return h;
  }

  dispose(): void {
    for (const l of this.layers) tf.dispose([l.kernel, l.bias]);
  }
}

/**
 * The channel state as [B, N, R] complex, R = L M (RE-major, antenna fastest): per-resource
 * [B, N, L, M] is reshaped, block [B, N, M] is repeated over the L resource elements.
 */
export function channelPerResource(owner: string, h: ComplexTensor, numDevices: number, L: number, M: number): ComplexTensor {
  const s = h.re.shape;
  const B = s[0];
  if (s.length === 4 && s[1] === numDevices && s[2] === L && s[3] === M) return cx.reshape(h, [B, numDevices, L * M]);
  if (s.length === 3 && s[1] === numDevices && s[2] === M) {
    const rep = (t: tf.Tensor) => tf.reshape(tf.tile(tf.reshape(t, [B, numDevices, 1, M]), [1, 1, L, 1]), [B, numDevices, L * M]);
    return { re: rep(h.re), im: rep(h.im) };
  }
  throw new Error(`${owner}: channel state has shape [${s}]; expected per-resource [B, N, L, M] = [B, ${numDevices}, ${L}, ${M}] or block [B, N, M] = [B, ${numDevices}, ${M}]`);
}

/** The received signal as [B, R] complex, R = L M. */
export function flatReceived(y: ComplexTensor): ComplexTensor {
  const [B, L, M] = y.re.shape;
  return cx.reshape(y, [B, L * M]);
}

/** Smallest |h|^2 the channel inversion divides by (numerical guard). */
export const INVERSION_FLOOR = 1e-6;

/**
 * The decoupling module of Eq. (18), a_n = diag(h_n)^mu y, per resource element:
 *   mu = -1: a_{n,k} = y_k / h_{n,k} = y_k conj(h_{n,k}) / max(|h_{n,k}|^2, 1e-6)  (channel inversion);
 *   mu = +1: a_{n,k} = h_{n,k} y_k (literal, no conjugate).
 *
 * @param y [B, R] complex
 * @param h [B, N, R] complex
 * @returns [B, N, R] complex
 */
export function attention(y: ComplexTensor, h: ComplexTensor, mu: -1 | 1): ComplexTensor {
  const [B, R] = y.re.shape;
  const yb = cx.reshape(y, [B, 1, R]);
  if (mu === 1) return cx.mul(h, yb);
  const den = tf.maximum(cx.abs2(h), INVERSION_FLOOR);
  const num = cx.mul(yb, cx.conj(h));
  return { re: tf.div(num.re, den), im: tf.div(num.im, den) };
}

/**
 * [B, 2R + 2NR]: the shared input [Re y; Im y; vec(Re H); vec(Im H)] (H device-major, each
 * device's R = L M values RE-major), or [Re y; Im y] without the channel.
 */
export function sharedInput(y: ComplexTensor, h: ComplexTensor | undefined): tf.Tensor2D {
  const [B, R] = y.re.shape;
  if (h === undefined) return tf.concat([y.re, y.im], 1) as tf.Tensor2D;
  const N = h.re.shape[1] as number;
  return tf.concat([y.re, y.im, tf.reshape(h.re, [B, N * R]), tf.reshape(h.im, [B, N * R])], 1) as tf.Tensor2D;
}

/**
 * [G, B, d] -> G tensors [B, d] (slices: the gradient of tf.unstack fails for G = 1 in tfjs, as
 * does that of tf.split for one part).
 */
export function taskRows(x: tf.Tensor3D): tf.Tensor2D[] {
  const [G, B, d] = x.shape;
  return Array.from({ length: G }, (_, g) => tf.reshape(tf.slice(x, [g, 0, 0], [1, B, d]), [B, d]) as tf.Tensor2D);
}

/** [B, d] -> [G, B, d] (the same input for every task of a group). */
export function repeatForTasks(x: tf.Tensor2D, tasks: number): tf.Tensor3D {
  return tf.tile(tf.expandDims(x, 0), [tasks, 1, 1]) as tf.Tensor3D;
}

/**
 * The estimate of an all-active multi-class receiver from per-user logits:
 *   message[b, n]  = argmax over device n's own Q_n classes (int32);
 *   activity       = activityScore = 1 (every user transmits in every slot);
 *   bitLLR[b, n, j] = LSE_{q: bit_j(q) = 1} z_{b,n,q} - LSE_{q: bit_j(q) = 0} z_{b,n,q}, bits of q
 *     natural binary over J = log2 Q bits, most significant first; for a device with Q_n < Q the
 *     missing messages have logit -1e9, so its leading J - J_n bits get LLR ~ -1e9 (certainly 0).
 * Call inside a tidy or gradient scope.
 *
 * @param logits per device n, [B, Q_n]
 * @param Q      the largest alphabet size, 2^J
 */
export function classificationEstimate(logits: readonly tf.Tensor2D[], Q: number): Estimate {
  const B = logits[0].shape[0];
  const N = logits.length;
  const padded = tf.stack(logits.map((z) => (z.shape[1] === Q ? z : tf.concat([z, tf.fill([B, Q - z.shape[1]], PAD_LOGIT)], 1))), 1); // [B, N, Q]
  const message = tf.cast(tf.argMax(padded, 2), 'int32') as tf.Tensor2D;
  const ones = tf.ones([B, N]) as tf.Tensor2D;
  const J = Math.round(Math.log2(Q));
  if (J === 0) return { message, activity: ones, activityScore: tf.ones([B, N]) as tf.Tensor2D };
  // q = a 2^{J-j} + bit_j 2^{J-1-j} + c: split the class axis into [2^j, 2, 2^{J-1-j}] (slices, no gather: its gradient has no wasm kernel)
  const llr = Array.from({ length: J }, (_, j) => {
    const parts = tf.reshape(padded, [B, N, 2 ** j, 2, 2 ** (J - 1 - j)]);
    const side = (bit: number) => tf.logSumExp(tf.reshape(tf.slice(parts, [0, 0, 0, bit, 0], [B, N, 2 ** j, 1, 2 ** (J - 1 - j)]), [B, N, Q / 2]), 2);
    return tf.sub(side(1), side(0));
  });
  const bitLLR = tf.stack(llr, 2) as tf.Tensor3D;
  return { message, activity: ones, activityScore: tf.ones([B, N]) as tf.Tensor2D, bitLLR };
}

/** The prioritisation that gives the plain sum of the per-user cross-entropies. */
export const PLAIN_SUM: TaskPriorityParams = { prioritization: 'none', gamma: 2, c: 0.7357 };

/**
 * The multi-task loss over per-user logits: L_n = batch-mean cross-entropy of device n over its
 * Q_n classes with labels `message[:, n]` (Eq. (15)), combined by `prioritizedLoss` (Eqs. (13),
 * (19)-(21)). Also returns the L_n values (read on the host) for `lossTerms`.
 *
 * @param logits  per device n, [B, Q_n]
 * @param message [B, N] int32 true messages
 */
export function multiTaskLoss(logits: readonly tf.Tensor2D[], message: tf.Tensor2D, p: TaskPriorityParams): { loss: tf.Scalar; ce: number[] } {
  let ce: number[] = [];
  const loss = tf.tidy(() => {
    const labels = tf.unstack(tf.cast(message, 'int32'), 1) as tf.Tensor1D[];
    if (labels.length !== logits.length) throw new Error(`multiTaskLoss: ${logits.length} tasks but the messages have shape [${message.shape}]`);
    const perTask = logits.map((z, n) => perTaskCrossEntropy(z, labels[n], z.shape[1]));
    ce = Array.from(tf.stack(perTask).dataSync());
    let accuracy: number[] | undefined;
    if (p.prioritization === 'focal-accuracy') {
      accuracy = Array.from(tf.stack(logits.map((z, n) => tf.mean(tf.cast(tf.equal(tf.cast(tf.argMax(z, 1), 'int32'), labels[n]), 'float32')))).dataSync());
    }
    return prioritizedLoss(perTask, p, accuracy);
  });
  return { loss, ce };
}

/** `ce-user<n>` entries of a plugin's `lossTerms`. */
export function ceTerms(ce: readonly number[]): Record<string, number> {
  return Object.fromEntries(ce.map((v, n) => [`ce-user${n}`, v]));
}

/**
 * The per-user logits of the last forward pass in training mode, kept for the plugin's loss on the
 * same batch (a detector's `Estimate` has no logits field, and recomputing them would double the
 * forward pass). The tensors escape the detector's tidy (tf.keep) and are freed on the next
 * forward pass, when training ends, or on dispose.
 */
export class LogitsCache {
  private observation: Observation | undefined;
  private logits: tf.Tensor2D[] = [];

  /** Keep `logits` (call inside the tidy that created them). */
  set(observation: Observation, logits: readonly tf.Tensor2D[]): void {
    this.clear();
    this.observation = observation;
    this.logits = logits.map((z) => tf.keep(z));
  }

  /** The logits computed from exactly this observation object, if kept. */
  get(observation: Observation): readonly tf.Tensor2D[] | undefined {
    return this.observation === observation && this.logits.every((z) => !z.isDisposed) ? this.logits : undefined;
  }

  clear(): void {
    tf.dispose(this.logits);
    this.logits = [];
    this.observation = undefined;
  }
}

/**
 * The corrected KL (prior) term of the Mul-VAE objective, Eq. (12) with the factor 1/sigma^2
 * (the paper prints 2/sigma^2): with the channel output q(y | x) = N(mu, (sigma^2 / 2) I_{2R}) and
 * the prior P(y) = N(p_R, (sigma^2 / 2) I_{2R}), p_R = sqrt(P_R) 1_{2R},
 *   KL_b = (1 / sigma_b^2) || mu_b - p_R ||^2,   mu_b = [Re; Im] of sum_n h_{b,n} x_{b,n} (noiseless y),
 * averaged over the batch. P_R, the average received power per real dimension, is taken from the
 * batch, mean_b ||mu_b||^2 / (2R), and held constant (read on the host: no gradient through it);
 * the paper leaves P_R undefined. Call inside a gradient scope.
 *
 * @param tx       [B, N, L] complex: what the devices sent
 * @param h        [B, N, R] complex: channel per resource element ({@link channelPerResource}), R = L M
 * @param noiseVar sigma^2 per complex sample: one number, or [B] per trial
 * @returns the batch-mean KL (a scalar) and P_R
 */
export function priorKlTerm(tx: ComplexTensor, h: ComplexTensor, noiseVar: number | tf.Tensor1D): { kl: tf.Scalar; receivedPower: number } {
  const [B, N, L] = tx.re.shape;
  const R = h.re.shape[2] as number;
  const M = R / L;
  // x per resource element and antenna: [B, N, L] -> [B, N, L, M] -> [B, N, R] (RE-major, antenna fastest)
  const x = M === 1 ? tx : cx.reshape({ re: tf.tile(tf.reshape(tx.re, [B, N, L, 1]), [1, 1, 1, M]), im: tf.tile(tf.reshape(tx.im, [B, N, L, 1]), [1, 1, 1, M]) }, [B, N, R]);
  const hx = cx.mul(h, x);
  const mean = tf.concat([tf.sum(hx.re, 1), tf.sum(hx.im, 1)], 1) as tf.Tensor2D; // [B, 2R]
  const receivedPower = tf.tidy(() => tf.mean(tf.square(mean)).dataSync()[0]);
  const perTrial = tf.sum(tf.square(tf.sub(mean, Math.sqrt(receivedPower))), 1); // [B]
  return { kl: tf.mean(tf.div(perTrial, noiseVar)) as tf.Scalar, receivedPower };
}
