/**
 * Complex tensors as pairs of float32 tensors, and the few complex operations the methods need.
 *
 * tfjs's own complex64 dtype is rejected by matMul and sum on the cpu backend and is thinly
 * supported by gradients, so gfra keeps the real and imaginary parts separate. Every operation
 * here is composed of differentiable tfjs ops, so gradients flow through them.
 *
 * Shapes in doc comments use paper letters: `[batch, L, M] complex` is a pair of float32
 * tensors of that shape.
 */
import * as tf from '@tensorflow/tfjs';
import { matMulFast } from './training/ops';

export interface ComplexTensor<R extends tf.Rank = tf.Rank> {
  readonly re: tf.Tensor<R>;
  readonly im: tf.Tensor<R>;
}

function assertSameShape(op: string, a: ComplexTensor): void {
  const sa = a.re.shape;
  const sb = a.im.shape;
  if (sa.length !== sb.length || sa.some((d, i) => d !== sb[i])) {
    throw new Error(`${op}: real part has shape [${sa}] but imaginary part has shape [${sb}]`);
  }
}

/** A complex tensor from its parts (same shape). */
export function complex<R extends tf.Rank>(re: tf.Tensor<R>, im: tf.Tensor<R>): ComplexTensor<R> {
  const z = { re, im };
  assertSameShape('complex', z);
  return z;
}

/** A real tensor as a complex one with zero imaginary part. */
export function fromReal<R extends tf.Rank>(re: tf.Tensor<R>): ComplexTensor<R> {
  return { re, im: tf.zerosLike(re) };
}

/** A complex tensor from nested arrays of [re, im] values, e.g. for tests: `[[1, 2], [3, -1]]`. */
export function complexFromPairs(values: number[][], shape?: number[]): ComplexTensor {
  const re = values.map((p) => p[0]);
  const im = values.map((p) => p[1]);
  const s = shape ?? [values.length];
  return { re: tf.tensor(re, s, 'float32'), im: tf.tensor(im, s, 'float32') };
}

/** The shape shared by both parts. */
export function shapeOf(z: ComplexTensor): number[] {
  return z.re.shape.slice();
}

// (a+ib) + (c+id) = (a+c) + i(b+d), with broadcasting
export function add(a: ComplexTensor, b: ComplexTensor): ComplexTensor {
  return { re: tf.add(a.re, b.re), im: tf.add(a.im, b.im) };
}

// (a+ib) - (c+id) = (a-c) + i(b-d), with broadcasting
export function sub(a: ComplexTensor, b: ComplexTensor): ComplexTensor {
  return { re: tf.sub(a.re, b.re), im: tf.sub(a.im, b.im) };
}

// (a+ib)(c+id) = (ac-bd) + i(ad+bc), elementwise with broadcasting
export function mul(a: ComplexTensor, b: ComplexTensor): ComplexTensor {
  return {
    re: tf.sub(tf.mul(a.re, b.re), tf.mul(a.im, b.im)),
    im: tf.add(tf.mul(a.re, b.im), tf.mul(a.im, b.re)),
  };
}

/** Multiply by a real tensor or scalar: s(a+ib) = sa + isb, with broadcasting. */
export function scale(a: ComplexTensor, s: tf.Tensor | number): ComplexTensor {
  return { re: tf.mul(a.re, s), im: tf.mul(a.im, s) };
}

// conj(a+ib) = a - ib
export function conj<R extends tf.Rank>(a: ComplexTensor<R>): ComplexTensor<R> {
  return { re: a.re, im: tf.neg(a.im) };
}

// |a+ib|^2 = a^2 + b^2 (a real tensor)
export function abs2<R extends tf.Rank>(a: ComplexTensor<R>): tf.Tensor<R> {
  return tf.add(tf.square(a.re), tf.square(a.im));
}

/** Sum over `axis` (both parts). */
export function sum(a: ComplexTensor, axis?: number | number[], keepDims = false): ComplexTensor {
  return { re: tf.sum(a.re, axis, keepDims), im: tf.sum(a.im, axis, keepDims) };
}

export function reshape(a: ComplexTensor, shape: number[]): ComplexTensor {
  return { re: tf.reshape(a.re, shape), im: tf.reshape(a.im, shape) };
}

export function transpose(a: ComplexTensor, perm?: number[]): ComplexTensor {
  return { re: tf.transpose(a.re, perm), im: tf.transpose(a.im, perm) };
}

export function expandDims(a: ComplexTensor, axis: number): ComplexTensor {
  return { re: tf.expandDims(a.re, axis), im: tf.expandDims(a.im, axis) };
}

/** Swap the last two axes (plain transpose, no conjugation). */
export function matrixTranspose(a: ComplexTensor): ComplexTensor {
  const r = a.re.rank;
  if (r < 2) throw new Error(`matrixTranspose: need rank >= 2, got shape [${a.re.shape}]`);
  const perm = [...Array(r - 2).keys(), r - 1, r - 2];
  return transpose(a, perm);
}

/** Conjugate transpose A^H over the last two axes. */
export function hermitian(a: ComplexTensor): ComplexTensor {
  return conj(matrixTranspose(a));
}

function realMatMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  // equal ranks: tf.matMul's value; matMulFast's gradient (explicit transposes, only the needed
  // operand) where it applies, as tfjs's transpose-flag gradient is slow on wasm
  if (a.rank === b.rank) {
    const fast = a.rank === 2 || (a.rank === 3 && a.shape[0] === b.shape[0]);
    return fast ? matMulFast(a as tf.Tensor3D, b as tf.Tensor3D) : tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D);
  }
  if (a.rank === 2 && b.rank === 3) {
    // [m,k] x [B,k,n]: fold the batch into the columns, so gradients stay 2-D x 2-D.
    const [B, k, n] = b.shape;
    const m = a.shape[0];
    const folded = tf.reshape(tf.transpose(b, [1, 0, 2]), [k, B * n]);
    const out = tf.matMul(a as tf.Tensor2D, folded as tf.Tensor2D);
    return tf.transpose(tf.reshape(out, [m, B, n]), [1, 0, 2]);
  }
  if (a.rank === 3 && b.rank === 2) {
    // [B,m,k] x [k,n]: fold the batch into the rows.
    const [B, m, k] = a.shape;
    const n = b.shape[1] as number;
    const out = tf.matMul(tf.reshape(a, [B * m, k]) as tf.Tensor2D, b as tf.Tensor2D);
    return tf.reshape(out, [B, m, n]);
  }
  throw new Error(`matmul: unsupported ranks ${a.rank} x ${b.rank} (shapes [${a.shape}] and [${b.shape}])`);
}

/**
 * Complex matrix product over the last two axes: [..., m, k] x [..., k, n] -> [..., m, n].
 * Either side may be a single matrix shared by the whole batch ([m, k] x [B, k, n] or
 * [B, m, k] x [k, n]).
 *
 * (A + iB)(C + iD) = (AC - BD) + i(AD + BC)
 */
export function matmul(a: ComplexTensor, b: ComplexTensor): ComplexTensor {
  const ka = a.re.shape[a.re.rank - 1];
  const kb = b.re.shape[b.re.rank - 2];
  if (ka !== kb) {
    throw new Error(`matmul: inner dimensions differ: [${a.re.shape}] x [${b.re.shape}]`);
  }
  return {
    re: tf.sub(realMatMul(a.re, b.re), realMatMul(a.im, b.im)),
    im: tf.add(realMatMul(a.re, b.im), realMatMul(a.im, b.re)),
  };
}

/**
 * Real-valued equivalent of a complex matrix, as used in the real-valued networks of [Ma2023],
 * Eqs. (39)-(43), and [Cui2021], Eqs. (2)-(3) (docs/references.md):
 * A = Ar + i Ai  ->  [[Ar, -Ai], [Ai, Ar]]  ([..., m, n] -> [..., 2m, 2n]), so that
 * realMatrix(A) @ realVector(x) = realVector(A x).
 */
export function realMatrix(a: ComplexTensor): tf.Tensor {
  const r = a.re.rank;
  const top = tf.concat([a.re, tf.neg(a.im)], r - 1);
  const bottom = tf.concat([a.im, a.re], r - 1);
  return tf.concat([top, bottom], r - 2);
}

/**
 * Real-imaginary stacking of a complex vector (or of the columns of a matrix) along `axis`
 * (default: the second-to-last axis, i.e. the rows): x -> [Re x; Im x].
 */
export function realVector(a: ComplexTensor, axis?: number): tf.Tensor {
  const ax = axis ?? Math.max(0, a.re.rank - 2);
  return tf.concat([a.re, a.im], ax);
}

/** Inverse of {@link realVector}: split `axis` in two halves, [Re; Im] -> complex. */
export function fromRealVector(x: tf.Tensor, axis?: number): ComplexTensor {
  const ax = axis ?? Math.max(0, x.rank - 2);
  const size = x.shape[ax];
  if (size % 2 !== 0) throw new Error(`fromRealVector: axis ${ax} of [${x.shape}] has odd size ${size}`);
  const [re, im] = tf.split(x, 2, ax);
  return { re, im };
}

/** Dispose both parts. */
export function dispose(a: ComplexTensor | undefined): void {
  if (a === undefined) return;
  a.re.dispose();
  a.im.dispose();
}

/** Keep both parts alive outside the enclosing tf.tidy. */
export function keep<R extends tf.Rank>(a: ComplexTensor<R>): ComplexTensor<R> {
  tf.keep(a.re);
  tf.keep(a.im);
  return a;
}

/** Both parts as flat arrays (for tests and small host-side work; synchronous download). */
export function toArrays(a: ComplexTensor): { re: number[]; im: number[] } {
  return { re: Array.from(a.re.dataSync()), im: Array.from(a.im.dataSync()) };
}

/**
 * tf.tidy for functions returning complex tensors (or any object/array of tensors): typed so
 * that `{ re, im }` results pass through. The returned tensors survive; all others are freed.
 */
export function tidy<T>(fn: () => T): T {
  return tf.tidy(fn as () => tf.TensorContainer) as T;
}
