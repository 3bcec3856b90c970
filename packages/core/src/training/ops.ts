/**
 * Differentiable ops tuned for training on the default (wasm) backend.
 *
 * tfjs's gradient of matMul calls matMul with its transpose flags set, which the wasm backend
 * runs several times slower than an explicit transpose followed by a plain matMul (the
 * measurement is in examples/learned-pilots/README.md, "Training speed"). {@link matMul2d} has
 * the same value as tf.matMul and a gradient written with explicit transposes:
 *
 *   C = A B,   dA = dC B^T,   dB = A^T dC,
 *
 * each product computed only when the tape needs that input's gradient; for matrices dB (a sum
 * over the rows, e.g. a dense layer's weight gradient over the batch) is one host BLAS gemm with
 * the transpose flag (equal to the tfjs product to float32 rounding).
 */
import * as tf from '@tensorflow/tfjs';
import { blas } from '../blas';
import { heapAccess, tapeIsRecording, type HeapAccess } from './wasm-heap';

/** Swap the last two axes. */
function swapLast(x: tf.Tensor): tf.Tensor {
  return x.rank === 2 ? tf.transpose(x) : tf.transpose(x, [...Array(x.rank - 2).keys(), x.rank - 1, x.rank - 2]);
}

/**
 * A differentiable op with several outputs and one gradient closure per input, through the
 * engine's kernel runner (what tf.customGrad calls, without customGrad's single output and its
 * eager computation of every input's gradient): the tape calls only the closures of inputs that
 * lead to a variable. `forwardFunc` computes the outputs and may `save` tensors for
 * `backwardsFunc(dy, saved)`. This uses an internal tfjs API (tfjs 4.22); a tfjs upgrade must
 * keep it.
 */
export function differentiableOp(
  forwardFunc: (backend: unknown, save: (tensors: tf.Tensor[]) => void) => tf.Tensor | tf.Tensor[],
  backwardsFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => Record<string, () => tf.Tensor>,
  inputs: Record<string, tf.Tensor>,
): tf.Tensor | tf.Tensor[] {
  const engine = tf.engine() as unknown as { runKernelFunc(params: { forwardFunc: unknown; backwardsFunc: unknown; inputs: Record<string, tf.Tensor> }): tf.Tensor | tf.Tensor[] };
  return engine.runKernelFunc({ forwardFunc, backwardsFunc, inputs });
}

/**
 * A^T D for matrices a [m, k], d [m, n] -> [k, n], on the host {@link blas} (the transpose is a
 * flag of the gemm there; on wasm it is an explicit [m, k] transpose and a long-contraction
 * matMul): a sum over the m rows, as a weight gradient over a batch is. Equal to the tfjs product
 * to float32 rounding; for gradients, not for forward values.
 */
export function transposedProduct(a: tf.Tensor2D, dC: tf.Tensor2D): tf.Tensor2D {
  const [m, k] = a.shape;
  const n = dC.shape[1];
  const heap = heapAccess();
  if (heap !== undefined) {
    // on the tensors' memory: no copies
    const product = heap.tensor<tf.Rank.R2>([k, n]);
    blas().sgemm(true, false, k, n, m, 1, heap.view(a), 0, k, heap.view(dC), 0, n, 0, heap.view(product), 0, n);
    return product;
  }
  const out = new Float32Array(k * n);
  blas().sgemm(true, false, k, n, m, 1, a.dataSync() as Float32Array, 0, k, dC.dataSync() as Float32Array, 0, n, 0, out, 0, n);
  return tf.tensor2d(out, [k, n]);
}

function fastMatMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const forwardFunc = (_backend: unknown, save: (tensors: tf.Tensor[]) => void): tf.Tensor => {
    save([a, b]);
    return tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D);
  };
  // a constant operand gets no gradient product
  const backwardsFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const [sa, sb] = saved;
    return {
      a: () => tf.tidy(() => tf.matMul(dy as tf.Tensor3D, swapLast(sb) as tf.Tensor3D)),
      b: () => (sa.rank === 2 ? transposedProduct(sa as tf.Tensor2D, dy as tf.Tensor2D) : tf.tidy(() => tf.matMul(swapLast(sa) as tf.Tensor3D, dy as tf.Tensor3D))),
    };
  };
  return differentiableOp(forwardFunc, backwardsFunc, { a, b }) as tf.Tensor;
}

/**
 * [..., m, k] x [..., k, n] -> [..., m, n] for operands of equal rank (2 or 3, equal batch
 * sizes), as tf.matMul, with a faster gradient on wasm (see above).
 */
export function matMulFast<R extends tf.Rank.R2 | tf.Rank.R3>(a: tf.Tensor<R>, b: tf.Tensor<R>): tf.Tensor<R> {
  const ok = a.rank === b.rank && (a.rank === 2 || (a.rank === 3 && a.shape[0] === b.shape[0])) && a.shape[a.rank - 1] === b.shape[b.rank - 2];
  if (!ok) throw new Error(`matMulFast: need [m, k] x [k, n] or [B, m, k] x [B, k, n]; got [${a.shape}] x [${b.shape}]`);
  return fastMatMul(a, b) as tf.Tensor<R>;
}

/** [m, k] x [k, n] -> [m, n]: {@link matMulFast} for matrices. */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return matMulFast(a, b);
}

/**
 * Heap access for the host ops of a training step: while a gradient tape records, with a native
 * BLAS, on the wasm backend; else undefined (the tfjs path). A training step's rows are its batch,
 * fixed by the spec, so the BLAS's rounding by row count cannot make its numbers depend on a batch
 * split; outside a training step callers keep tfjs's row-invariant products.
 */
export function trainingStepHeap(): HeapAccess | undefined {
  return tapeIsRecording() && blas().native ? heapAccess() : undefined;
}

/** Activation of a {@link denseLayer}. */
export type DenseActivation = 'relu' | 'elu' | 'tanh' | 'linear';

/** The activation on tfjs (the path outside training, and on backends without heap access). */
function activate(z: tf.Tensor2D, activation: DenseActivation): tf.Tensor2D {
  switch (activation) {
    case 'relu':
      return tf.relu(z);
    case 'elu':
      return tf.elu(z);
    case 'tanh':
      return tf.tanh(z);
    case 'linear':
      return z;
  }
}

/** a[r, j] = act(a[r, j] + b[j]) in place; a [R, n] row-major, b [n]. One loop per activation (no per-entry dispatch). */
function addBiasAndActivate(a: Float32Array, b: Float32Array, activation: DenseActivation): void {
  const n = b.length;
  for (let i = 0; i < a.length; i += n) {
    switch (activation) {
      case 'relu':
        for (let j = 0; j < n; j++) {
          const z = a[i + j] + b[j];
          a[i + j] = z > 0 ? z : 0;
        }
        break;
      case 'elu':
        for (let j = 0; j < n; j++) {
          const z = a[i + j] + b[j];
          a[i + j] = z > 0 ? z : Math.expm1(Math.fround(z));
        }
        break;
      case 'tanh':
        for (let j = 0; j < n; j++) a[i + j] = Math.tanh(Math.fround(a[i + j] + b[j]));
        break;
      case 'linear':
        for (let j = 0; j < n; j++) a[i + j] = a[i + j] + b[j];
        break;
    }
  }
}

/** dz = da * act'(a), act' from the output a (relu: 1(a > 0); elu: 1 if a > 0 else a + 1; tanh: 1 - a^2). */
function activationGradient(dz: Float32Array, da: Float32Array, a: Float32Array, activation: Exclude<DenseActivation, 'linear'>): void {
  const n = dz.length;
  if (activation === 'relu') for (let i = 0; i < n; i++) dz[i] = a[i] > 0 ? da[i] : 0;
  else if (activation === 'elu') for (let i = 0; i < n; i++) dz[i] = a[i] > 0 ? da[i] : da[i] * (a[i] + 1);
  else for (let i = 0; i < n; i++) dz[i] = da[i] * (1 - a[i] * a[i]);
}

/** s[j] = sum_r d[r, j] (float32 sums, rows in order); d [R, n] row-major, s [n]. */
function columnSums(s: Float32Array, d: Float32Array): void {
  const n = s.length;
  s.fill(0);
  for (let i = 0; i < d.length; i += n) for (let j = 0; j < n; j++) s[j] += d[i + j];
}

/**
 * One fully connected layer, a = act(h W + b): h [R, in], kernel W [in, out], bias b [out] ->
 * a [R, out].
 *
 * Outside a gradient tape (inference, validation) this is tf.add(matMul2d(h, W), b) followed by
 * tf.relu / tf.elu / tf.tanh, whose rows do not depend on the number of rows R (the same numbers
 * whatever the batch split). While a tape records (a training step), on the wasm backend with a
 * native BLAS, it is one fused op on the host: the product is an sgemm on the tensors' memory (no
 * copies), the bias and activation one loop, and the gradient
 *
 *   dz = da * act'(a),   dh = dz W^T,   dW = h^T dz,   db = sum_r dz[r, :]
 *
 * two sgemms and a loop, each input's gradient computed only when the tape needs it (act' from
 * the output: relu' = 1(a > 0), elu' = 1 (a > 0) else a + 1, tanh' = 1 - a^2, as tfjs's
 * gradients). A training step's rows are its batch, fixed by the spec, so the BLAS's blocking by
 * row count does not make the numbers depend on anything but the spec. Equal to the tfjs path to
 * float32 rounding.
 */
export function denseLayer(h: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D, activation: DenseActivation): tf.Tensor2D {
  const [R, nIn] = h.shape;
  const nOut = kernel.shape[1];
  if (kernel.shape[0] !== nIn || bias.shape[0] !== nOut) throw new Error(`denseLayer: [${h.shape}] x [${kernel.shape}] + [${bias.shape}] do not fit`);
  const heap = trainingStepHeap();
  if (heap === undefined) return activate(tf.add(matMul2d(h, kernel), bias) as tf.Tensor2D, activation);
  const { sgemm } = blas();
  const forwardFunc = (_backend: unknown, save: (tensors: tf.Tensor[]) => void): tf.Tensor => {
    const a = heap.tensor<tf.Rank.R2>([R, nOut]);
    const [av, bv] = [heap.view(a), heap.view(bias)];
    sgemm(false, false, R, nOut, nIn, 1, heap.view(h), 0, nIn, heap.view(kernel), 0, nOut, 0, av, 0, nOut);
    addBiasAndActivate(av, bv, activation);
    save([h, kernel, a]);
    return a;
  };
  const backwardsFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const [sh, sw, sa] = saved;
    // dz lives in the backward pass's scope, shared by the three gradients
    let dz = dy as tf.Tensor2D;
    if (activation !== 'linear') {
      dz = heap.tensor<tf.Rank.R2>([R, nOut]);
      activationGradient(heap.view(dz), heap.view(dy as tf.Tensor), heap.view(sa), activation);
    }
    return {
      h: () => {
        const dh = heap.tensor<tf.Rank.R2>([R, nIn]);
        sgemm(false, true, R, nIn, nOut, 1, heap.view(dz), 0, nOut, heap.view(sw), 0, nOut, 0, heap.view(dh), 0, nIn);
        return dh;
      },
      kernel: () => {
        const dw = heap.tensor<tf.Rank.R2>([nIn, nOut]);
        sgemm(true, false, nIn, nOut, R, 1, heap.view(sh), 0, nIn, heap.view(dz), 0, nOut, 0, heap.view(dw), 0, nOut);
        return dw;
      },
      bias: () => {
        const db = heap.tensor<tf.Rank.R1>([nOut]);
        columnSums(heap.view(db), heap.view(dz));
        return db;
      },
    };
  };
  return differentiableOp(forwardFunc, backwardsFunc, { h, kernel, bias }) as tf.Tensor2D;
}
