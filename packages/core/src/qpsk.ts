/**
 * Unit-energy Gray-mapped QPSK, the data constellation of code-domain NOMA with spreading
 * signatures (one symbol per device and slot, J = 2 bits).
 *
 * Message m in [0, 4) carries the bits (b0, b1) = (floor(m / 2), m mod 2) (natural binary, most
 * significant first, as core `messageBits`); b0 sets the sign of the real part, b1 that of the
 * imaginary part, bit 0 maps to +:
 *
 *   q(m) = ((1 - 2 b0) + j (1 - 2 b1)) / sqrt(2)
 *
 * so the slicer (sign of Re and Im) is the bitwise maximum-likelihood decision in Gaussian noise.
 */
import * as tf from '@tensorflow/tfjs';
import type { ComplexTensor } from './complex';

/** Bits per QPSK symbol. */
export const QPSK_BITS = 2;

const A = Math.SQRT1_2;

/** The four points, indexed by message: [re, im] of q(m). */
export const QPSK_POINTS: readonly (readonly [number, number])[] = [
  [A, A],
  [A, -A],
  [-A, A],
  [-A, -A],
];

/** Symbols q(m) of integer messages (any shape, int32 in [0, 4)), as a complex tensor of the same shape. */
export function qpskSymbols(message: tf.Tensor): ComplexTensor {
  return tf.tidy(() => {
    const m = tf.cast(message, 'int32');
    const b0 = tf.cast(tf.floorDiv(m, 2), 'float32');
    const b1 = tf.cast(tf.mod(m, 2), 'float32');
    const sign = (b: tf.Tensor) => tf.mul(tf.sub(1, tf.mul(2, b)), A);
    return { re: sign(b0), im: sign(b1) };
  });
}

/** The slicer: message of the nearest QPSK point to each soft symbol (int32, the symbols' shape). */
export function qpskSlice(symbols: ComplexTensor): tf.Tensor {
  return tf.tidy(() => {
    const b0 = tf.cast(tf.less(symbols.re, 0), 'int32');
    const b1 = tf.cast(tf.less(symbols.im, 0), 'int32');
    return tf.cast(tf.add(tf.mul(b0, 2), b1), 'int32');
  });
}

/** Host slicer for one soft symbol. */
export function qpskSliceHost(re: number, im: number): number {
  return (re < 0 ? 2 : 0) + (im < 0 ? 1 : 0);
}
