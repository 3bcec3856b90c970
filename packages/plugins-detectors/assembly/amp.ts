// AssemblyScript source of the WebAssembly kernels of `src/algorithms/amp-host.ts` (compiled by
// `pnpm run build:wasm` into `src/algorithms/wasm/amp.generated.ts`; a test checks that the two
// agree). Every function repeats, operation for operation and in the same order, a float64
// JavaScript loop of amp-host.ts, so that both give the same bits: an f64x2 lane is an IEEE
// float64 operation like JavaScript's, float32 values are widened to float64 before any
// arithmetic and rounded to float32 when stored, as JavaScript does. Two trials run side by side
// in the two lanes (each lane sees its own trial's numbers only). Pointers are byte offsets into
// this module's memory, which the JavaScript side lays out; matrices are row-major.

@external("js", "log1p")
declare function log1p(x: f64): f64;

const ONE = f64x2.splat(1.0);

/** approxExp of amp-host.ts, the same operations, one value per lane. */
@inline
function approxExp2(x: v128): v128 {
  const y = f64x2.mul(x, f64x2.splat(Math.LOG2E));
  const n = f64x2.floor(f64x2.add(y, f64x2.splat(0.5)));
  const t = f64x2.mul(f64x2.sub(y, n), f64x2.splat(Math.LN2));
  let a = f64x2.add(f64x2.splat(1.0 / 5040.0), f64x2.div(t, f64x2.splat(40320.0)));
  a = f64x2.add(f64x2.splat(1.0 / 720.0), f64x2.mul(t, a));
  a = f64x2.add(f64x2.splat(1.0 / 120.0), f64x2.mul(t, a));
  a = f64x2.add(f64x2.splat(1.0 / 24.0), f64x2.mul(t, a));
  a = f64x2.add(f64x2.splat(1.0 / 6.0), f64x2.mul(t, a));
  a = f64x2.add(f64x2.splat(1.0 / 2.0), f64x2.mul(t, a));
  a = f64x2.add(ONE, f64x2.mul(t, a));
  const p = f64x2.add(ONE, f64x2.mul(t, a));
  // 2^n: the float64 with biased exponent n + 1023 (n in -1022 .. 1023 where it is used)
  const biased = i64x2.add(i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(n)), i64x2.splat(1023));
  const e = f64x2.mul(p, i64x2.shl(biased, 52));
  // e^x < 3.3e-308 below -708: 0; from 709: Infinity; NaN: NaN
  const special = v128.bitselect(f64x2.splat(Infinity), f64x2.splat(NaN), f64x2.ge(x, f64x2.splat(709.0)));
  return v128.bitselect(v128.bitselect(f64x2.splat(0.0), e, f64x2.lt(x, f64x2.splat(-708.0))), special, f64x2.lt(x, f64x2.splat(709.0)));
}

/** approxExp of amp-host.ts, one value. */
@inline
function approxExp(x: f64): f64 {
  return f64x2.extract_lane(approxExp2(f64x2.splat(x)), 0);
}

/** integerPower of amp-host.ts: x^M by repeated squaring, per lane. */
@inline
function integerPower2(x: v128, M: i32): v128 {
  let result = ONE;
  let base = x;
  for (let m = M; m > 0; m >>= 1) {
    if (m & 1) result = f64x2.mul(result, base);
    base = f64x2.mul(base, base);
  }
  return result;
}

/** Two float32 at p, widened to float64 lanes. */
@inline
function load2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

/** Two float64 lanes, rounded to float32 and stored at p. */
@inline
function store2(p: usize, v: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0);
}

/** sum_m (zr_m^2 + zi_m^2) of M float32 pairs at re, im, summed in the order of m. */
@inline
function rowEnergy(re: usize, im: usize, M: i32): f64 {
  let e = 0.0;
  let m = 0;
  for (; m + 2 <= M; m += 2) {
    const zr = load2(re + (<usize>m << 2));
    const zi = load2(im + (<usize>m << 2));
    const sq = f64x2.add(f64x2.mul(zr, zr), f64x2.mul(zi, zi));
    e += f64x2.extract_lane(sq, 0);
    e += f64x2.extract_lane(sq, 1);
  }
  if (m < M) {
    const zr = <f64>load<f32>(re + (<usize>m << 2));
    const zi = <f64>load<f32>(im + (<usize>m << 2));
    e += zr * zr + zi * zi;
  }
  return e;
}

/**
 * x = g z + mix x (mix > 0) or x = g z, for M float32 pairs (the re and im rows of one trial),
 * and unless top == 0 the weighted rows [c Re z | c Im z] at top and [c Im z | -c Re z] at bottom.
 */
@inline
function writeRow(zre: usize, zim: usize, xre: usize, xim: usize, M: i32, g: f64, mix: f64, c: f64, top: usize, bottom: usize): void {
  const gV = f64x2.splat(g);
  const mixV = f64x2.splat(mix);
  const cV = f64x2.splat(c);
  let m = 0;
  for (; m + 2 <= M; m += 2) {
    const o = <usize>m << 2;
    const zr = load2(zre + o);
    const zi = load2(zim + o);
    if (mix > 0) {
      store2(xre + o, f64x2.add(f64x2.mul(gV, zr), f64x2.mul(mixV, load2(xre + o))));
      store2(xim + o, f64x2.add(f64x2.mul(gV, zi), f64x2.mul(mixV, load2(xim + o))));
    } else {
      store2(xre + o, f64x2.mul(gV, zr));
      store2(xim + o, f64x2.mul(gV, zi));
    }
    if (top != 0) {
      const oM = <usize>(M + m) << 2;
      const cr = f64x2.mul(cV, zr);
      const ci = f64x2.mul(cV, zi);
      store2(top + o, cr);
      store2(top + oM, ci);
      store2(bottom + o, ci);
      store2(bottom + oM, f64x2.neg(cr));
    }
  }
  if (m < M) {
    const o = <usize>m << 2;
    const zr = <f64>load<f32>(zre + o);
    const zi = <f64>load<f32>(zim + o);
    if (mix > 0) {
      store<f32>(xre + o, <f32>(g * zr + mix * <f64>load<f32>(xre + o)));
      store<f32>(xim + o, <f32>(g * zi + mix * <f64>load<f32>(xim + o)));
    } else {
      store<f32>(xre + o, <f32>(g * zr));
      store<f32>(xim + o, <f32>(g * zi));
    }
    if (top != 0) {
      const oM = <usize>(M + m) << 2;
      const cr = c * zr;
      const ci = c * zi;
      store<f32>(top + o, <f32>cr);
      store<f32>(top + oM, <f32>ci);
      store<f32>(bottom + o, <f32>ci);
      store<f32>(bottom + oM, <f32>-cr);
    }
  }
}

/**
 * `denoise` of amp-host.ts for float32 z, x and weighted (weighted = 0: none); beta [N, B],
 * logOdds [K], tau2 [B], energy [K, B], sums [3, B] and inverseTau2 [B] are float64.
 * Trials b, b + 1 (b even) share the lanes of one pass; a trial without a partner, and a pair
 * where (1 + beta / tau^2)^M overflows in either lane, take the one-trial pass.
 */
export function denoise(
  z: usize,
  x: usize,
  W: i32,
  col0: i32,
  B: i32,
  K: i32,
  Q: i32,
  M: i32,
  beta: usize,
  logOdds: usize,
  tau2: usize,
  mix: f64,
  weighted: usize,
  energy: usize,
  sums: usize,
  inverseTau2: usize,
): void {
  const N = K / Q;
  memory.fill(sums, 0, <usize>(3 * B) << 3);
  for (let b = 0; b < B; b++) store<f64>(inverseTau2 + (<usize>b << 3), 1.0 / load<f64>(tau2 + (<usize>b << 3)));
  const gainSums = sums;
  const ceSums = sums + (<usize>B << 3);
  const seSums = sums + (<usize>(2 * B) << 3);
  const invM = f64x2.splat(1.0 / <f64>M);
  const twoM = 2 * M;
  for (let n = 0; n < N; n++) {
    let b = 0;
    for (; b + 2 <= B; b += 2) {
      const tb = <usize>b << 3;
      const t2 = v128.load(tau2 + tb);
      const bn = v128.load(beta + (<usize>(n * B + b) << 3));
      const it2 = v128.load(inverseTau2 + tb);
      const omega = f64x2.div(bn, f64x2.add(bn, t2));
      const a = f64x2.mul(omega, it2);
      const power = integerPower2(f64x2.add(ONE, f64x2.mul(bn, it2)), M);
      if (!i64x2.all_true(f64x2.lt(power, f64x2.splat(Infinity)))) {
        denoiseOne(z, x, W, col0, B, K, Q, M, n, b, beta, logOdds, tau2, mix, weighted, energy, sums, inverseTau2);
        denoiseOne(z, x, W, col0, B, K, Q, M, n, b + 1, beta, logOdds, tau2, mix, weighted, energy, sums, inverseTau2);
        continue;
      }
      const col = col0 + b * M;
      const negA = f64x2.neg(a);
      const omega2 = f64x2.mul(omega, omega);
      for (let q = 0; q < Q; q++) {
        const k = n * Q + q;
        const re = z + (<usize>(k * W + col) << 2);
        const im = z + (<usize>((K + k) * W + col) << 2);
        const mOff = <usize>M << 2;
        const e = f64x2.replace_lane(f64x2.splat(rowEnergy(re, im, M)), 1, rowEnergy(re + mOff, im + mOff, M));
        v128.store(energy + (<usize>(k * B + b) << 3), e);
        const lo = f64x2.splat(load<f64>(logOdds + (<usize>k << 3)));
        const phi = f64x2.div(ONE, f64x2.add(ONE, f64x2.mul(power, approxExp2(f64x2.sub(f64x2.mul(negA, e), lo)))));
        const gain = f64x2.mul(phi, omega);
        // phi (1 - phi) omega omega, left to right as in JavaScript
        const v = f64x2.mul(f64x2.mul(f64x2.mul(phi, f64x2.sub(ONE, phi)), omega), omega);
        const c = f64x2.mul(v, it2);
        v128.store(gainSums + tb, f64x2.add(v128.load(gainSums + tb), gain));
        v128.store(ceSums + tb, f64x2.add(v128.load(ceSums + tb), f64x2.mul(c, e)));
        v128.store(seSums + tb, f64x2.add(v128.load(seSums + tb), f64x2.add(f64x2.mul(gain, t2), f64x2.mul(f64x2.mul(v, e), invM))));
        const xre = x + (<usize>(k * W + col) << 2);
        const xim = x + (<usize>((K + k) * W + col) << 2);
        const top = weighted == 0 ? 0 : weighted + (<usize>(k * B * twoM + b * twoM) << 2);
        const bottom = weighted == 0 ? 0 : weighted + (<usize>((K + k) * B * twoM + b * twoM) << 2);
        const mix1 = 1.0 - mix;
        const g0 = mix > 0 ? mix1 * f64x2.extract_lane(gain, 0) : f64x2.extract_lane(gain, 0);
        const g1 = mix > 0 ? mix1 * f64x2.extract_lane(gain, 1) : f64x2.extract_lane(gain, 1);
        const c0 = f64x2.extract_lane(c, 0);
        const c1 = f64x2.extract_lane(c, 1);
        const tM = <usize>twoM << 2;
        writeRow(re, im, xre, xim, M, g0, mix, c0, top, bottom);
        writeRow(re + mOff, im + mOff, xre + mOff, xim + mOff, M, g1, mix, c1, top == 0 ? 0 : top + tM, bottom == 0 ? 0 : bottom + tM);
      }
    }
  }
  if (B & 1) denoiseTrial(z, x, W, col0, B, K, Q, M, B - 1, beta, logOdds, tau2, mix, weighted, energy, sums, inverseTau2);
}

/**
 * Every device of trial b (a trial without a partner: with one codebook per trial, every trial):
 * with Q = 1, devices n, n + 1 share the lanes and the trial's sums take lane 0, then lane 1, as
 * JavaScript's loop over n does; otherwise (or where (1 + beta / tau^2)^M overflows) `denoiseOne`.
 */
function denoiseTrial(
  z: usize,
  x: usize,
  W: i32,
  col0: i32,
  B: i32,
  K: i32,
  Q: i32,
  M: i32,
  b: i32,
  beta: usize,
  logOdds: usize,
  tau2: usize,
  mix: f64,
  weighted: usize,
  energy: usize,
  sums: usize,
  inverseTau2: usize,
): void {
  const N = K / Q;
  let n = 0;
  if (Q == 1) {
    const tb = <usize>b << 3;
    const t2 = f64x2.splat(load<f64>(tau2 + tb));
    const it2 = f64x2.splat(load<f64>(inverseTau2 + tb));
    const invM = f64x2.splat(1.0 / <f64>M);
    const gainSum = sums + tb;
    const ceSum = sums + (<usize>B << 3) + tb;
    const seSum = sums + (<usize>(2 * B) << 3) + tb;
    const col = col0 + b * M;
    const twoM = 2 * M;
    for (; n + 2 <= N; n += 2) {
      const bn = f64x2.replace_lane(f64x2.splat(load<f64>(beta + (<usize>(n * B + b) << 3))), 1, load<f64>(beta + (<usize>((n + 1) * B + b) << 3)));
      const omega = f64x2.div(bn, f64x2.add(bn, t2));
      const a = f64x2.mul(omega, it2);
      const power = integerPower2(f64x2.add(ONE, f64x2.mul(bn, it2)), M);
      if (!i64x2.all_true(f64x2.lt(power, f64x2.splat(Infinity)))) {
        denoiseOne(z, x, W, col0, B, K, Q, M, n, b, beta, logOdds, tau2, mix, weighted, energy, sums, inverseTau2);
        denoiseOne(z, x, W, col0, B, K, Q, M, n + 1, b, beta, logOdds, tau2, mix, weighted, energy, sums, inverseTau2);
        continue;
      }
      // rows k = n and n + 1 (Q = 1)
      const re0 = z + (<usize>(n * W + col) << 2);
      const im0 = z + (<usize>((K + n) * W + col) << 2);
      const re1 = re0 + (<usize>W << 2);
      const im1 = im0 + (<usize>W << 2);
      const e = f64x2.replace_lane(f64x2.splat(rowEnergy(re0, im0, M)), 1, rowEnergy(re1, im1, M));
      store<f64>(energy + (<usize>(n * B + b) << 3), f64x2.extract_lane(e, 0));
      store<f64>(energy + (<usize>((n + 1) * B + b) << 3), f64x2.extract_lane(e, 1));
      const lo = v128.load(logOdds + (<usize>n << 3));
      const phi = f64x2.div(ONE, f64x2.add(ONE, f64x2.mul(power, approxExp2(f64x2.sub(f64x2.mul(f64x2.neg(a), e), lo)))));
      const gain = f64x2.mul(phi, omega);
      const v = f64x2.mul(f64x2.mul(f64x2.mul(phi, f64x2.sub(ONE, phi)), omega), omega);
      const c = f64x2.mul(v, it2);
      const ce = f64x2.mul(c, e);
      const se = f64x2.add(f64x2.mul(gain, t2), f64x2.mul(f64x2.mul(v, e), invM));
      store<f64>(gainSum, load<f64>(gainSum) + f64x2.extract_lane(gain, 0));
      store<f64>(ceSum, load<f64>(ceSum) + f64x2.extract_lane(ce, 0));
      store<f64>(seSum, load<f64>(seSum) + f64x2.extract_lane(se, 0));
      store<f64>(gainSum, load<f64>(gainSum) + f64x2.extract_lane(gain, 1));
      store<f64>(ceSum, load<f64>(ceSum) + f64x2.extract_lane(ce, 1));
      store<f64>(seSum, load<f64>(seSum) + f64x2.extract_lane(se, 1));
      const mix1 = 1.0 - mix;
      const g0 = mix > 0 ? mix1 * f64x2.extract_lane(gain, 0) : f64x2.extract_lane(gain, 0);
      const g1 = mix > 0 ? mix1 * f64x2.extract_lane(gain, 1) : f64x2.extract_lane(gain, 1);
      const xre0 = x + (<usize>(n * W + col) << 2);
      const xim0 = x + (<usize>((K + n) * W + col) << 2);
      const rowW = <usize>(B * twoM) << 2;
      const top = weighted == 0 ? 0 : weighted + (<usize>(n * B * twoM + b * twoM) << 2);
      const bottom = weighted == 0 ? 0 : weighted + (<usize>((K + n) * B * twoM + b * twoM) << 2);
      writeRow(re0, im0, xre0, xim0, M, g0, mix, f64x2.extract_lane(c, 0), top, bottom);
      writeRow(re1, im1, xre0 + (<usize>W << 2), xim0 + (<usize>W << 2), M, g1, mix, f64x2.extract_lane(c, 1), top == 0 ? 0 : top + rowW, bottom == 0 ? 0 : bottom + rowW);
    }
  }
  for (; n < N; n++) denoiseOne(z, x, W, col0, B, K, Q, M, n, b, beta, logOdds, tau2, mix, weighted, energy, sums, inverseTau2);
}

/** Rows n Q .. n Q + Q - 1 of trial b: the loop body of `denoise` of amp-host.ts. */
function denoiseOne(
  z: usize,
  x: usize,
  W: i32,
  col0: i32,
  B: i32,
  K: i32,
  Q: i32,
  M: i32,
  n: i32,
  b: i32,
  beta: usize,
  logOdds: usize,
  tau2: usize,
  mix: f64,
  weighted: usize,
  energy: usize,
  sums: usize,
  inverseTau2: usize,
): void {
  const invM = 1.0 / <f64>M;
  const twoM = 2 * M;
  const tb = <usize>b << 3;
  const t2 = load<f64>(tau2 + tb);
  const bn = load<f64>(beta + (<usize>(n * B + b) << 3));
  const it2 = load<f64>(inverseTau2 + tb);
  const omega = bn / (bn + t2);
  const a = omega * it2;
  const power = f64x2.extract_lane(integerPower2(f64x2.splat(1.0 + bn * it2), M), 0);
  const mPsi = power < Infinity ? 0.0 : <f64>M * log1p(bn / t2);
  const col = col0 + b * M;
  const gainSum = sums + tb;
  const ceSum = sums + (<usize>B << 3) + tb;
  const seSum = sums + (<usize>(2 * B) << 3) + tb;
  for (let q = 0; q < Q; q++) {
    const k = n * Q + q;
    const re = z + (<usize>(k * W + col) << 2);
    const im = z + (<usize>((K + k) * W + col) << 2);
    const e = rowEnergy(re, im, M);
    store<f64>(energy + (<usize>(k * B + b) << 3), e);
    const lo = load<f64>(logOdds + (<usize>k << 3));
    const phi = power < Infinity ? 1.0 / (1.0 + power * approxExp(-a * e - lo)) : 1.0 / (1.0 + approxExp(mPsi - a * e - lo));
    const gain = phi * omega;
    const v = phi * (1.0 - phi) * omega * omega;
    const c = v * it2;
    store<f64>(gainSum, load<f64>(gainSum) + gain);
    store<f64>(ceSum, load<f64>(ceSum) + c * e);
    store<f64>(seSum, load<f64>(seSum) + (gain * t2 + v * e * invM));
    const top = weighted == 0 ? 0 : weighted + (<usize>(k * B * twoM + b * twoM) << 2);
    const bottom = weighted == 0 ? 0 : weighted + (<usize>((K + k) * B * twoM + b * twoM) << 2);
    writeRow(re, im, x + (<usize>(k * W + col) << 2), x + (<usize>((K + k) * W + col) << 2), M, mix > 0 ? (1.0 - mix) * gain : gain, mix, c, top, bottom);
  }
}

/**
 * `matrixOnsager` (weighted != 0) or `scaledResidual` of amp-host.ts for every trial b of the
 * batch: rNext = Y + (1/L) (R G_b + (sum_k phi_k omega_k) R), G_b = [Re G | Im G] ([M, 2M] at
 * gram + b 2M M), or rNext = Y + b_t R with b_t = (sum_k phi_k omega_k + sum_k c_k ||z_k||^2 / M) / L;
 * y, r, rNext [2L, W] and gram float32, sums [3, B] float64. Columns j, j + 1 share the lanes.
 */
export function onsager(y: usize, r: usize, rNext: usize, W: i32, col0: i32, B: i32, L: i32, M: i32, gram: usize, matrix: bool, sums: usize): void {
  const twoM = 2 * M;
  const Lf = <f64>L;
  const LV = f64x2.splat(Lf);
  for (let b = 0; b < B; b++) {
    const col = col0 + b * M;
    const sumGain = load<f64>(sums + (<usize>b << 3));
    if (!matrix) {
      const bt = (sumGain + load<f64>(sums + (<usize>(B + b) << 3)) / <f64>M) / Lf;
      for (let row = 0; row < 2 * L; row++) {
        const o = <usize>(row * W + col) << 2;
        for (let m = 0; m < M; m++) {
          const p = o + (<usize>m << 2);
          store<f32>(rNext + p, <f32>(<f64>load<f32>(y + p) + bt * <f64>load<f32>(r + p)));
        }
      }
      continue;
    }
    const g0 = gram + (<usize>(b * twoM * M) << 2);
    const sg = f64x2.splat(sumGain);
    for (let l = 0; l < L; l++) {
      const re = <usize>(l * W + col) << 2;
      const im = <usize>((L + l) * W + col) << 2;
      let j = 0;
      for (; j + 2 <= M; j += 2) {
        const oj = <usize>j << 2;
        let sr = f64x2.mul(sg, load2(r + re + oj));
        let si = f64x2.mul(sg, load2(r + im + oj));
        for (let i = 0; i < M; i++) {
          const xr = f64x2.splat(<f64>load<f32>(r + re + (<usize>i << 2)));
          const xi = f64x2.splat(<f64>load<f32>(r + im + (<usize>i << 2)));
          const gr = load2(g0 + (<usize>(i * twoM + j) << 2));
          const gi = load2(g0 + (<usize>(i * twoM + M + j) << 2));
          sr = f64x2.add(sr, f64x2.sub(f64x2.mul(xr, gr), f64x2.mul(xi, gi)));
          si = f64x2.add(si, f64x2.add(f64x2.mul(xr, gi), f64x2.mul(xi, gr)));
        }
        store2(rNext + re + oj, f64x2.add(load2(y + re + oj), f64x2.div(sr, LV)));
        store2(rNext + im + oj, f64x2.add(load2(y + im + oj), f64x2.div(si, LV)));
      }
      if (j < M) {
        const oj = <usize>j << 2;
        let sr = sumGain * <f64>load<f32>(r + re + oj);
        let si = sumGain * <f64>load<f32>(r + im + oj);
        for (let i = 0; i < M; i++) {
          const xr = <f64>load<f32>(r + re + (<usize>i << 2));
          const xi = <f64>load<f32>(r + im + (<usize>i << 2));
          const gr = <f64>load<f32>(g0 + (<usize>(i * twoM + j) << 2));
          const gi = <f64>load<f32>(g0 + (<usize>(i * twoM + M + j) << 2));
          sr += xr * gr - xi * gi;
          si += xr * gi + xi * gr;
        }
        store<f32>(rNext + re + oj, <f32>(<f64>load<f32>(y + re + oj) + sr / Lf));
        store<f32>(rNext + im + oj, <f32>(<f64>load<f32>(y + im + oj) + si / Lf));
      }
    }
  }
}

/**
 * `residualEnergy` of amp-host.ts for every trial: out[b] = ||V_b||_F^2 of v [rows, W] (float32),
 * summed over rows, then columns, in order; trials b, b + 1 share the lanes.
 */
export function residualEnergies(v: usize, W: i32, col0: i32, B: i32, rows: i32, M: i32, out: usize): void {
  let b = 0;
  for (; b + 2 <= B; b += 2) {
    const col = col0 + b * M;
    let s = f64x2.splat(0.0);
    for (let row = 0; row < rows; row++) {
      const o = v + (<usize>(row * W + col) << 2);
      for (let m = 0; m < M; m++) {
        const p = o + (<usize>m << 2);
        const e = f64x2.replace_lane(f64x2.splat(<f64>load<f32>(p)), 1, <f64>load<f32>(p + (<usize>M << 2)));
        s = f64x2.add(s, f64x2.mul(e, e));
      }
    }
    v128.store(out + (<usize>b << 3), s);
  }
  if (b < B) {
    const col = col0 + b * M;
    let s = 0.0;
    for (let row = 0; row < rows; row++) {
      const o = v + (<usize>(row * W + col) << 2);
      for (let m = 0; m < M; m++) {
        const e = <f64>load<f32>(o + (<usize>m << 2));
        s += e * e;
      }
    }
    store<f64>(out + (<usize>b << 3), s);
  }
}
