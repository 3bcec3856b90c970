// Exponential and logarithm of `src/algorithms/approx-math.ts` (approxExp, preciseExp, approxLog) for the
// AssemblyScript kernels: the same float64 operations in the same order, one value per f64x2 lane,
// so that a kernel gives the JavaScript loops' bits. Imported by the kernels (assembly/*.ts); not
// a module of its own.

/** 1.5 2^52: y + it - it is y rounded to an integer (ties to even) for |y| < 2^51. */
const ROUNDING_SHIFT: f64 = 6755399441055744.0;
const ONE = f64x2.splat(1.0);

/**
 * The last step of both exponentials, per lane: p 2^n, with n in the low bits of k = (x log2 e) +
 * ROUNDING_SHIFT (their bits are those of the shift plus n, so n + 1023 moved to the exponent
 * field is 2^n); e^x < 3.3e-308 below -708: 0; from 709: Infinity; NaN: NaN.
 */
@inline
function scaled(p: v128, k: v128, x: v128): v128 {
  const e = f64x2.mul(p, i64x2.shl(i64x2.add(i64x2.sub(k, f64x2.splat(ROUNDING_SHIFT)), i64x2.splat(1023)), 52));
  const special = v128.bitselect(f64x2.splat(Infinity), f64x2.splat(NaN), f64x2.ge(x, f64x2.splat(709.0)));
  return v128.bitselect(v128.bitselect(f64x2.splat(0.0), e, f64x2.lt(x, f64x2.splat(-708.0))), special, f64x2.lt(x, f64x2.splat(709.0)));
}

/** approxExp of approx-math.ts, the same operations, one value per lane. */
@inline
export function approxExp2(x: v128): v128 {
  const y = f64x2.mul(x, f64x2.splat(Math.LOG2E));
  // n = y rounded to the nearest integer (ties to even) by the 1.5 2^52 shift (n in -1022 .. 1023 where used)
  const k = f64x2.add(y, f64x2.splat(ROUNDING_SHIFT));
  const n = f64x2.sub(k, f64x2.splat(ROUNDING_SHIFT));
  const t = f64x2.mul(f64x2.sub(y, n), f64x2.splat(Math.LN2));
  let a = f64x2.add(f64x2.splat(1.0 / 5040.0), f64x2.mul(t, f64x2.splat(1.0 / 40320.0)));
  a = f64x2.add(f64x2.splat(1.0 / 720.0), f64x2.mul(t, a));
  a = f64x2.add(f64x2.splat(1.0 / 120.0), f64x2.mul(t, a));
  a = f64x2.add(f64x2.splat(1.0 / 24.0), f64x2.mul(t, a));
  a = f64x2.add(f64x2.splat(1.0 / 6.0), f64x2.mul(t, a));
  a = f64x2.add(f64x2.splat(1.0 / 2.0), f64x2.mul(t, a));
  a = f64x2.add(ONE, f64x2.mul(t, a));
  const p = f64x2.add(ONE, f64x2.mul(t, a));
  return scaled(p, k, x);
}

/** approxExp of approx-math.ts, one value. */
@inline
export function approxExp(x: f64): f64 {
  return f64x2.extract_lane(approxExp2(f64x2.splat(x)), 0);
}

const LN2_HI: f64 = 6.93147180369123816490e-1;
const LN2_LO: f64 = 1.90821492927058770002e-10;

/** preciseExp of approx-math.ts, the same operations, one value per lane. */
@inline
export function preciseExp2(x: v128): v128 {
  const k = f64x2.add(f64x2.mul(x, f64x2.splat(Math.LOG2E)), f64x2.splat(ROUNDING_SHIFT));
  const n = f64x2.sub(k, f64x2.splat(ROUNDING_SHIFT));
  const t = f64x2.sub(f64x2.sub(x, f64x2.mul(n, f64x2.splat(LN2_HI))), f64x2.mul(n, f64x2.splat(LN2_LO)));
  let p = f64x2.add(f64x2.splat(1.0 / 39916800.0), f64x2.mul(t, f64x2.splat(1.0 / 479001600.0)));
  p = f64x2.add(f64x2.splat(1.0 / 3628800.0), f64x2.mul(t, p));
  p = f64x2.add(f64x2.splat(1.0 / 362880.0), f64x2.mul(t, p));
  p = f64x2.add(f64x2.splat(1.0 / 40320.0), f64x2.mul(t, p));
  p = f64x2.add(f64x2.splat(1.0 / 5040.0), f64x2.mul(t, p));
  p = f64x2.add(f64x2.splat(1.0 / 720.0), f64x2.mul(t, p));
  p = f64x2.add(f64x2.splat(1.0 / 120.0), f64x2.mul(t, p));
  p = f64x2.add(f64x2.splat(1.0 / 24.0), f64x2.mul(t, p));
  p = f64x2.add(f64x2.splat(1.0 / 6.0), f64x2.mul(t, p));
  p = f64x2.add(f64x2.splat(1.0 / 2.0), f64x2.mul(t, p));
  p = f64x2.add(ONE, f64x2.mul(t, p));
  p = f64x2.add(ONE, f64x2.mul(t, p));
  return scaled(p, k, x);
}

/** preciseExp of approx-math.ts, one value. */
@inline
export function preciseExp(x: f64): f64 {
  return f64x2.extract_lane(preciseExp2(f64x2.splat(x)), 0);
}

const SQRT2: f64 = 1.4142135623730951;
const LN2: f64 = 0.6931471805599453;
const SMALLEST_NORMAL: f64 = 2.2250738585072014e-308;
const TWO_54: f64 = 18014398509481984.0;

/** approxLog of approx-math.ts, one value (its branches for 0, subnormal, Infinity, NaN, x < 0). */
export function approxLog(x: f64): f64 {
  if (!(x >= SMALLEST_NORMAL && x < Infinity)) {
    if (x > 0 && x < SMALLEST_NORMAL) return approxLog(x * TWO_54) - 54.0 * LN2;
    return x == 0 ? -Infinity : x == Infinity ? Infinity : NaN;
  }
  return f64x2.extract_lane(approxLogNormal2(f64x2.splat(x)), 0);
}

/**
 * approxLog of approx-math.ts per lane, for lanes holding normal numbers in [2^-1022, Infinity);
 * `approxLog2` sends any other lane to the scalar `approxLog`.
 */
@inline
function approxLogNormal2(x: v128): v128 {
  // k = exponent - 1023 as a float64 (exact: 2^52 + e - 2^52), m = the mantissa with exponent 0
  const e = v128.and(i64x2.shr_u(x, 52), i64x2.splat(0x7ff));
  let k = f64x2.sub(f64x2.sub(v128.or(e, f64x2.splat(4503599627370496.0)), f64x2.splat(4503599627370496.0)), f64x2.splat(1023.0));
  let m = v128.or(v128.and(x, i64x2.splat(0x000fffffffffffff)), i64x2.splat(0x3ff0000000000000));
  const big = f64x2.gt(m, f64x2.splat(SQRT2));
  m = v128.bitselect(f64x2.mul(m, f64x2.splat(0.5)), m, big);
  k = v128.bitselect(f64x2.add(k, f64x2.splat(1.0)), k, big);
  const one = f64x2.splat(1.0);
  const s = f64x2.div(f64x2.sub(m, one), f64x2.add(m, one));
  const s2 = f64x2.mul(s, s);
  let p = f64x2.add(f64x2.splat(1.0 / 13.0), f64x2.mul(s2, f64x2.splat(1.0 / 15.0)));
  p = f64x2.add(f64x2.splat(1.0 / 11.0), f64x2.mul(s2, p));
  p = f64x2.add(f64x2.splat(1.0 / 9.0), f64x2.mul(s2, p));
  p = f64x2.add(f64x2.splat(1.0 / 7.0), f64x2.mul(s2, p));
  p = f64x2.add(f64x2.splat(1.0 / 5.0), f64x2.mul(s2, p));
  p = f64x2.add(f64x2.splat(1.0 / 3.0), f64x2.mul(s2, p));
  p = f64x2.mul(s2, p);
  const t = f64x2.mul(f64x2.splat(2.0), s);
  return f64x2.add(f64x2.mul(k, f64x2.splat(LN2)), f64x2.add(t, f64x2.mul(t, p)));
}

/** approxLog per lane. */
@inline
export function approxLog2(x: v128): v128 {
  if (i64x2.all_true(v128.and(f64x2.ge(x, f64x2.splat(SMALLEST_NORMAL)), f64x2.lt(x, f64x2.splat(Infinity))))) return approxLogNormal2(x);
  return f64x2.replace_lane(f64x2.splat(approxLog(f64x2.extract_lane(x, 0))), 1, approxLog(f64x2.extract_lane(x, 1)));
}
