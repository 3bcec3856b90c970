/** Helpers for tests: compare tensors with a stated tolerance. */
import type * as tf from '@tensorflow/tfjs';

/** Throws unless |a_i - b_i| <= atol + rtol |b_i| for all i (and the lengths match). */
export function expectClose(actual: tf.Tensor | ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-5, rtol = 0, what = 'value'): void {
  const a = 'dataSync' in actual ? actual.dataSync() : actual;
  if (a.length !== expected.length) throw new Error(`${what}: length ${a.length}, expected ${expected.length}`);
  for (let i = 0; i < a.length; i++) {
    const tol = atol + rtol * Math.abs(expected[i]);
    if (!(Math.abs(a[i] - expected[i]) <= tol)) {
      throw new Error(`${what}[${i}] = ${a[i]}, expected ${expected[i]} (tolerance ${tol})`);
    }
  }
}
