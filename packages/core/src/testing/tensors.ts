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

/** max_i |a_i - b_i| / max_i |b_i| (throws when the lengths differ). */
export function maxRelativeError(actual: tf.Tensor | ArrayLike<number>, expected: tf.Tensor | ArrayLike<number>): number {
  const a = 'dataSync' in actual ? actual.dataSync() : actual;
  const b = 'dataSync' in expected ? expected.dataSync() : expected;
  if (a.length !== b.length) throw new Error(`length ${a.length}, expected ${b.length}`);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / scale;
}
