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
