/**
 * Exponential and logarithm in float64 arithmetic (approxExp to 4e-10, preciseExp to a few ulps,
 * approxLog to 1e-13 relative), several times faster than Math.exp and Math.log in V8, written so
 * that a WebAssembly kernel can repeat them operation for operation (`assembly/lib/math.ts`) and
 * give the same bits. Used by the host kernels' inner loops (the AMP denoiser, the SCMA message
 * passing).
 */

/** 2^i for i = -1022 .. 1023, at index i + 1022. */
const POWERS_OF_TWO = Float64Array.from({ length: 2046 }, (_, i) => 2 ** (i - 1022));

/** 1.5 2^52: y + ROUNDING_SHIFT - ROUNDING_SHIFT is y rounded to an integer (ties to even) for |y| < 2^51. */
const ROUNDING_SHIFT = 6755399441055744;

/**
 * e^x to within 4e-10 relative (float64 arithmetic; Math.exp costs about half of the denoiser's
 * time in V8): e^x = 2^n 2^f with n = x log2 e rounded to an integer, |f| <= 1/2, and
 * 2^f = e^t, t = f ln 2, |t| <= 0.347, from its Taylor polynomial of degree 8 (remainder
 * <= e^0.347 t^9 / 9! < 3e-10). 0 below -708 (e^x < 3.3e-308), Infinity from 709 (e^x > 8.2e307),
 * NaN for NaN. The WebAssembly kernels repeat these operations.
 */
export function approxExp(x: number): number {
  if (!(x < 709)) return x >= 709 ? Infinity : NaN;
  if (x < -708) return 0;
  const y = x * Math.LOG2E;
  const n = y + ROUNDING_SHIFT - ROUNDING_SHIFT;
  const t = (y - n) * Math.LN2;
  const p = 1 + t * (1 + t * (1 / 2 + t * (1 / 6 + t * (1 / 24 + t * (1 / 120 + t * (1 / 720 + t * (1 / 5040 + t * (1 / 40320))))))));
  return p * POWERS_OF_TWO[n + 1022];
}

/** ln 2 split for {@link preciseExp} (Cody and Waite): LN2_HI has 32 significant bits, so n LN2_HI is exact for |n| < 2^21. */
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;

/**
 * e^x to within a few units in the last place (float64 arithmetic): n = x log2 e rounded to an
 * integer, t = x - n ln 2 in two parts (Cody and Waite, so that t carries no error from a large
 * x), |t| <= 0.347, e^t from its Taylor polynomial of degree 12 (remainder <= e^0.347 t^13 / 13! <
 * 2.4e-16), times 2^n. 0 below -708, Infinity from 709, NaN for NaN. For float64 message passing
 * held to float64 rounding bounds (the SCMA kernel); the WebAssembly kernels repeat these
 * operations.
 */
export function preciseExp(x: number): number {
  if (!(x < 709)) return x >= 709 ? Infinity : NaN;
  if (x < -708) return 0;
  const n = x * Math.LOG2E + ROUNDING_SHIFT - ROUNDING_SHIFT;
  const t = x - n * LN2_HI - n * LN2_LO;
  let p = 1 / 39916800 + t * (1 / 479001600);
  p = 1 / 3628800 + t * p;
  p = 1 / 362880 + t * p;
  p = 1 / 40320 + t * p;
  p = 1 / 5040 + t * p;
  p = 1 / 720 + t * p;
  p = 1 / 120 + t * p;
  p = 1 / 24 + t * p;
  p = 1 / 6 + t * p;
  p = 1 / 2 + t * p;
  p = 1 + t * p;
  p = 1 + t * p;
  return p * POWERS_OF_TWO[n + 1022];
}

/** sqrt(2): the logarithm reduces its argument's mantissa to [sqrt(1/2), sqrt(2)). */
const SQRT2 = Math.SQRT2;
/** 2^54, to bring a subnormal argument of {@link approxLog} into the normal range. */
const TWO_54 = 2 ** 54;
const SMALLEST_NORMAL = 2 ** -1022;
const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);

/**
 * ln x to within 1e-13 relative (float64 arithmetic): x = 2^k m with m in [sqrt(1/2), sqrt(2)),
 * ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716, from the odd series of atanh up to
 * s^15 (remainder < 2 s^17 / 17 / (1 - s^2) < 1.2e-14), then k ln 2 + ln m. -Infinity at 0,
 * Infinity at Infinity, NaN below 0 and for NaN; a subnormal x as ln(2^54 x) - 54 ln 2. The
 * WebAssembly kernels repeat these operations. (Reads the bits of x through a little-endian
 * Float64Array view, as every platform Node runs on.)
 */
export function approxLog(x: number): number {
  if (!(x >= SMALLEST_NORMAL && x < Infinity)) {
    if (x > 0 && x < SMALLEST_NORMAL) return approxLog(x * TWO_54) - 54 * Math.LN2;
    return x === 0 ? -Infinity : x === Infinity ? Infinity : NaN;
  }
  bits[0] = x;
  const hi = words[1];
  let k = ((hi >>> 20) & 0x7ff) - 1023;
  words[1] = (hi & 0xfffff) | 0x3ff00000;
  let m = bits[0];
  if (m > SQRT2) {
    m *= 0.5;
    k += 1;
  }
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  const p = s2 * (1 / 3 + s2 * (1 / 5 + s2 * (1 / 7 + s2 * (1 / 9 + s2 * (1 / 11 + s2 * (1 / 13 + s2 * (1 / 15)))))));
  const t = 2 * s;
  return k * Math.LN2 + (t + t * p);
}
