/**
 * Differentiable ops tuned for training on the default (wasm) backend.
 *
 * tfjs's gradient of matMul calls matMul with its transpose flags set, which the wasm backend
 * runs several times slower than an explicit transpose followed by a plain matMul (the
 * measurement is in examples/learned-pilots/README.md, "Training speed"). {@link matMul2d} has
 * the same value as tf.matMul and a gradient written with explicit transposes:
 *
 *   C = A B,   dA = dC B^T,   dB = A^T dC.
 */
import * as tf from '@tensorflow/tfjs';

/** Swap the last two axes. */
function swapLast(x: tf.Tensor): tf.Tensor {
  return x.rank === 2 ? tf.transpose(x) : tf.transpose(x, [...Array(x.rank - 2).keys(), x.rank - 1, x.rank - 2]);
}

const fastMatMul = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved;
      return [tf.matMul(dy as tf.Tensor3D, swapLast(sb) as tf.Tensor3D), tf.matMul(swapLast(sa) as tf.Tensor3D, dy as tf.Tensor3D)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

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
