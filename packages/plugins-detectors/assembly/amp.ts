// AssemblyScript source of the WebAssembly kernels of `src/algorithms/amp-host.ts` (compiled by
// `pnpm run build:wasm` into `src/algorithms/wasm/amp.generated.ts`; a test checks that the two
// agree). Every function repeats, operation for operation and in the same order, a float64
// JavaScript loop of amp-host.ts, so that both give the same bits: an f64x2 lane is an IEEE
// float64 operation like JavaScript's, float32 values are widened to float64 before any
// arithmetic and rounded to float32 when stored, as JavaScript does (float32 lanes only where one
// float32 operation equals JavaScript's float64 one rounded to float32). Two trials, or two devices
// of one trial, run side by side in the two lanes (each lane sees its own row's numbers only). Pointers are byte offsets into
// this module's memory, which the JavaScript side lays out; matrices are row-major.

import { approxExp, approxExp2 } from './lib/math';

@external("js", "log1p")
declare function log1p(x: f64): f64;

const ONE = f64x2.splat(1.0);

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
 * One row of one trial: x = g z + mix x (mix > 0) or x = g z for the M float32 pairs z (at zre,
 * zre + 4M) and x (at xre, xre + 4M); unless w == 0, the weighted row [c Re z | c Im z] at w.
 */
@inline
function writeRow(zre: usize, xre: usize, M: i32, g: f64, mix: f64, c: f64, w: usize): void {
  const gV = f64x2.splat(g);
  const mixV = f64x2.splat(mix);
  const cV = f64x2.splat(c);
  const im = <usize>M << 2;
  let m = 0;
  for (; m + 2 <= M; m += 2) {
    const o = <usize>m << 2;
    const zr = load2(zre + o);
    const zi = load2(zre + im + o);
    const vr = mix > 0 ? f64x2.add(f64x2.mul(gV, zr), f64x2.mul(mixV, load2(xre + o))) : f64x2.mul(gV, zr);
    const vi = mix > 0 ? f64x2.add(f64x2.mul(gV, zi), f64x2.mul(mixV, load2(xre + im + o))) : f64x2.mul(gV, zi);
    store2(xre + o, vr);
    store2(xre + im + o, vi);
    if (w != 0) {
      store2(w + o, f64x2.mul(cV, zr));
      store2(w + im + o, f64x2.mul(cV, zi));
    }
  }
  if (m < M) {
    const o = <usize>m << 2;
    const zr = <f64>load<f32>(zre + o);
    const zi = <f64>load<f32>(zre + im + o);
    const vr = mix > 0 ? g * zr + mix * <f64>load<f32>(xre + o) : g * zr;
    const vi = mix > 0 ? g * zi + mix * <f64>load<f32>(xre + im + o) : g * zi;
    store<f32>(xre + o, <f32>vr);
    store<f32>(xre + im + o, <f32>vi);
    if (w != 0) {
      store<f32>(w + o, <f32>(c * zr));
      store<f32>(w + im + o, <f32>(c * zi));
    }
  }
}

/**
 * The posterior activity probability of a row, per lane, as `denoise` of amp-host.ts computes it:
 * phi = 1 / (1 + (1 + beta / tau^2)^M exp(-a e - logOdds)), with power = (1 + beta / tau^2)^M,
 * negA = -omega / tau^2, e the row's energy and lo its log prior odds.
 */
@inline
function activity(power: v128, negA: v128, e: v128, lo: v128): v128 {
  return f64x2.div(ONE, f64x2.add(ONE, f64x2.mul(power, approxExp2(f64x2.sub(f64x2.mul(negA, e), lo)))));
}

/** phi (1 - phi) omega omega, left to right as in JavaScript (the row's posterior variance factor). */
@inline
function spread(phi: v128, omega: v128): v128 {
  return f64x2.mul(f64x2.mul(f64x2.mul(phi, f64x2.sub(ONE, phi)), omega), omega);
}

/**
 * `denoise` of amp-host.ts for float32 z [K, W], x [K, W] and weighted [K, B 2M] (weighted = 0:
 * none); beta [N, B], logOdds [K], tau2 [B], energy [K, B], sums [3, B], inverseTau2 [B] and
 * scales [2 max(K, Q B)] (scratch) are float64.
 *
 * Two passes per device n, so that the long chain of dependent operations per row (omega, the
 * exponential, phi, the gain: about a hundred cycles) overlaps across rows: the first computes the
 * energies, sums, gains g and weights c of all of n's rows (trials b, b + 1 side by side in the
 * lanes; where (1 + beta / tau^2)^M overflows in either lane, `scalarsOne`) into scales, the
 * second writes the rows of X and weighted. A trial without a partner takes `denoiseTrial` after
 * all devices.
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
  scales: usize,
): void {
  const N = K / Q;
  const P = 2 * M;
  memory.fill(sums, 0, <usize>(3 * B) << 3);
  for (let b = 0; b < B; b++) store<f64>(inverseTau2 + (<usize>b << 3), 1.0 / load<f64>(tau2 + (<usize>b << 3)));
  const gainSums = sums;
  const ceSums = sums + (<usize>B << 3);
  const seSums = sums + (<usize>(2 * B) << 3);
  const invM = f64x2.splat(1.0 / <f64>M);
  const mixV = f64x2.splat(1.0 - mix);
  const next = <usize>P << 2; // the partner trial's columns
  const paired = B & ~1;
  const cScales = scales + (<usize>(Q * B) << 3);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < paired; b += 2) {
      const tb = <usize>b << 3;
      const t2 = v128.load(tau2 + tb);
      const bn = v128.load(beta + (<usize>(n * B + b) << 3));
      const it2 = v128.load(inverseTau2 + tb);
      const omega = f64x2.div(bn, f64x2.add(bn, t2));
      const a = f64x2.mul(omega, it2);
      const power = integerPower2(f64x2.add(ONE, f64x2.mul(bn, it2)), M);
      if (!i64x2.all_true(f64x2.lt(power, f64x2.splat(Infinity)))) {
        scalarsOne(z, W, col0, B, K, Q, M, n, b, beta, logOdds, tau2, mix, energy, sums, inverseTau2, scales, b, cScales, b, B);
        scalarsOne(z, W, col0, B, K, Q, M, n, b + 1, beta, logOdds, tau2, mix, energy, sums, inverseTau2, scales, b + 1, cScales, b + 1, B);
        continue;
      }
      const col = col0 + b * P;
      const negA = f64x2.neg(a);
      for (let q = 0; q < Q; q++) {
        const k = n * Q + q;
        const re = z + (<usize>(k * W + col) << 2);
        const im = re + (<usize>M << 2);
        const e = f64x2.replace_lane(f64x2.splat(rowEnergy(re, im, M)), 1, rowEnergy(re + next, im + next, M));
        v128.store(energy + (<usize>(k * B + b) << 3), e);
        const lo = f64x2.splat(load<f64>(logOdds + (<usize>k << 3)));
        const phi = activity(power, negA, e, lo);
        const gain = f64x2.mul(phi, omega);
        const v = spread(phi, omega);
        const c = f64x2.mul(v, it2);
        v128.store(gainSums + tb, f64x2.add(v128.load(gainSums + tb), gain));
        v128.store(ceSums + tb, f64x2.add(v128.load(ceSums + tb), f64x2.mul(c, e)));
        v128.store(seSums + tb, f64x2.add(v128.load(seSums + tb), f64x2.add(f64x2.mul(gain, t2), f64x2.mul(f64x2.mul(v, e), invM))));
        const at = <usize>(q * B + b) << 3;
        v128.store(scales + at, mix > 0 ? f64x2.mul(mixV, gain) : gain);
        v128.store(cScales + at, c);
      }
    }
    for (let q = 0; q < Q; q++) {
      const k = n * Q + q;
      const row = <usize>(k * W + col0) << 2;
      const wRow = weighted == 0 ? <usize>0 : weighted + (<usize>(k * B * P) << 2);
      for (let b = 0; b < paired; b++) {
        const o = <usize>(b * P) << 2;
        const at = <usize>(q * B + b) << 3;
        writeRow(z + row + o, x + row + o, M, load<f64>(scales + at), mix, load<f64>(cScales + at), wRow == 0 ? <usize>0 : wRow + o);
      }
    }
  }
  if (B & 1) denoiseTrial(z, x, W, col0, B, K, Q, M, B - 1, beta, logOdds, tau2, mix, weighted, energy, sums, inverseTau2, scales);
}

/**
 * Every device of trial b (a trial without a partner: with one codebook per trial, every trial),
 * in the two passes of `denoise` over all rows: with Q = 1, devices n, n + 1 share the lanes and
 * the trial's sums take lane 0, then lane 1, as JavaScript's loop over n does; otherwise (or where
 * (1 + beta / tau^2)^M overflows) `scalarsOne`. Gains and weights of row k at scales[k], [K + k].
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
  scales: usize,
): void {
  const N = K / Q;
  const P = 2 * M;
  const col = col0 + b * P;
  const cScales = scales + (<usize>K << 3);
  let n = 0;
  if (Q == 1) {
    const tb = <usize>b << 3;
    const t2 = f64x2.splat(load<f64>(tau2 + tb));
    const it2 = f64x2.splat(load<f64>(inverseTau2 + tb));
    const invM = f64x2.splat(1.0 / <f64>M);
    const mixV = f64x2.splat(1.0 - mix);
    const gainSum = sums + tb;
    const ceSum = sums + (<usize>B << 3) + tb;
    const seSum = sums + (<usize>(2 * B) << 3) + tb;
    const rowZ = <usize>W << 2; // the next row (device)
    // the trial's sums in registers (lane 0, then lane 1: the order of JavaScript's loop over n)
    let gainAcc = load<f64>(gainSum);
    let ceAcc = load<f64>(ceSum);
    let seAcc = load<f64>(seSum);
    for (; n + 2 <= N; n += 2) {
      const bn = f64x2.replace_lane(f64x2.splat(load<f64>(beta + (<usize>(n * B + b) << 3))), 1, load<f64>(beta + (<usize>((n + 1) * B + b) << 3)));
      const omega = f64x2.div(bn, f64x2.add(bn, t2));
      const a = f64x2.mul(omega, it2);
      const power = integerPower2(f64x2.add(ONE, f64x2.mul(bn, it2)), M);
      if (!i64x2.all_true(f64x2.lt(power, f64x2.splat(Infinity)))) {
        store<f64>(gainSum, gainAcc);
        store<f64>(ceSum, ceAcc);
        store<f64>(seSum, seAcc);
        scalarsOne(z, W, col0, B, K, Q, M, n, b, beta, logOdds, tau2, mix, energy, sums, inverseTau2, scales, n, cScales, n, 0);
        scalarsOne(z, W, col0, B, K, Q, M, n + 1, b, beta, logOdds, tau2, mix, energy, sums, inverseTau2, scales, n + 1, cScales, n + 1, 0);
        gainAcc = load<f64>(gainSum);
        ceAcc = load<f64>(ceSum);
        seAcc = load<f64>(seSum);
        continue;
      }
      // rows k = n and n + 1 (Q = 1)
      const re0 = z + (<usize>(n * W + col) << 2);
      const im0 = re0 + (<usize>M << 2);
      const e = f64x2.replace_lane(f64x2.splat(rowEnergy(re0, im0, M)), 1, rowEnergy(re0 + rowZ, im0 + rowZ, M));
      store<f64>(energy + (<usize>(n * B + b) << 3), f64x2.extract_lane(e, 0));
      store<f64>(energy + (<usize>((n + 1) * B + b) << 3), f64x2.extract_lane(e, 1));
      const lo = v128.load(logOdds + (<usize>n << 3));
      const phi = activity(power, f64x2.neg(a), e, lo);
      const gain = f64x2.mul(phi, omega);
      const v = spread(phi, omega);
      const c = f64x2.mul(v, it2);
      const ce = f64x2.mul(c, e);
      const se = f64x2.add(f64x2.mul(gain, t2), f64x2.mul(f64x2.mul(v, e), invM));
      gainAcc = gainAcc + f64x2.extract_lane(gain, 0) + f64x2.extract_lane(gain, 1);
      ceAcc = ceAcc + f64x2.extract_lane(ce, 0) + f64x2.extract_lane(ce, 1);
      seAcc = seAcc + f64x2.extract_lane(se, 0) + f64x2.extract_lane(se, 1);
      v128.store(scales + (<usize>n << 3), mix > 0 ? f64x2.mul(mixV, gain) : gain);
      v128.store(cScales + (<usize>n << 3), c);
    }
    store<f64>(gainSum, gainAcc);
    store<f64>(ceSum, ceAcc);
    store<f64>(seSum, seAcc);
  }
  for (; n < N; n++) scalarsOne(z, W, col0, B, K, Q, M, n, b, beta, logOdds, tau2, mix, energy, sums, inverseTau2, scales, n * Q, cScales, n * Q, 0);
  const wCol = weighted == 0 ? <usize>0 : weighted + (<usize>(b * P) << 2);
  const wRow = <usize>(B * P) << 2;
  for (let k = 0; k < K; k++) {
    const row = <usize>(k * W + col) << 2;
    writeRow(z + row, x + row, M, load<f64>(scales + (<usize>k << 3)), mix, load<f64>(cScales + (<usize>k << 3)), wCol == 0 ? <usize>0 : wCol + <usize>k * wRow);
  }
}

/**
 * The scalar part of the loop body of `denoise` of amp-host.ts for rows n Q .. n Q + Q - 1 of
 * trial b: energies and sums, and the row's gain (times 1 - mix when mixing) and weight c at
 * gains[first + q stride], weights[first + q stride] (stride 0: q; the caller's layout).
 */
function scalarsOne(
  z: usize,
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
  energy: usize,
  sums: usize,
  inverseTau2: usize,
  gains: usize,
  gainFirst: i32,
  weights: usize,
  weightFirst: i32,
  stride: i32,
): void {
  const invM = 1.0 / <f64>M;
  const P = 2 * M;
  const tb = <usize>b << 3;
  const t2 = load<f64>(tau2 + tb);
  const bn = load<f64>(beta + (<usize>(n * B + b) << 3));
  const it2 = load<f64>(inverseTau2 + tb);
  const omega = bn / (bn + t2);
  const a = omega * it2;
  const power = f64x2.extract_lane(integerPower2(f64x2.splat(1.0 + bn * it2), M), 0);
  const mPsi = power < Infinity ? 0.0 : <f64>M * log1p(bn / t2);
  const col = col0 + b * P;
  const gainSum = sums + tb;
  const ceSum = sums + (<usize>B << 3) + tb;
  const seSum = sums + (<usize>(2 * B) << 3) + tb;
  const step = stride == 0 ? 1 : stride;
  for (let q = 0; q < Q; q++) {
    const k = n * Q + q;
    const re = z + (<usize>(k * W + col) << 2);
    const e = rowEnergy(re, re + (<usize>M << 2), M);
    store<f64>(energy + (<usize>(k * B + b) << 3), e);
    const lo = load<f64>(logOdds + (<usize>k << 3));
    const phi = power < Infinity ? 1.0 / (1.0 + power * approxExp(-a * e - lo)) : 1.0 / (1.0 + approxExp(mPsi - a * e - lo));
    const gain = phi * omega;
    const v = phi * (1.0 - phi) * omega * omega;
    const c = v * it2;
    store<f64>(gainSum, load<f64>(gainSum) + gain);
    store<f64>(ceSum, load<f64>(ceSum) + c * e);
    store<f64>(seSum, load<f64>(seSum) + (gain * t2 + v * e * invM));
    store<f64>(gains + (<usize>(gainFirst + q * step) << 3), mix > 0 ? (1.0 - mix) * gain : gain);
    store<f64>(weights + (<usize>(weightFirst + q * step) << 3), c);
  }
}

/**
 * `matrixOnsager` (matrix) or `scaledResidual` of amp-host.ts for every trial b of the batch, at
 * columns col0 + b 2M of y [L, W], r (the first L rows of the augmented [2L, W]) and rNext:
 * rNext = Y + (1/L) (R G_b + (sum_k phi_k omega_k) R) with G_b = F_11 + F_22 + j (F_12 - F_21) of
 * the trial's F ([2M, 2M] at gram + b 4M^2, float32), or rNext = Y + b_t R with
 * b_t = (sum_k phi_k omega_k + sum_k c_k ||z_k||^2 / M) / L; sums [3, B] float64. G_b goes to
 * work ([2, M, M] float64: Re G, then Im G) once per trial. Columns j, j + 1 share the lanes.
 */
export function onsager(y: usize, r: usize, rNext: usize, W: i32, col0: i32, B: i32, L: i32, M: i32, gram: usize, matrix: bool, sums: usize, work: usize): void {
  const P = 2 * M;
  const Lf = <f64>L;
  const LV = f64x2.splat(Lf);
  const imOff = <usize>M << 2;
  for (let b = 0; b < B; b++) {
    const col = col0 + b * P;
    const sumGain = load<f64>(sums + (<usize>b << 3));
    if (!matrix) {
      const bt = (sumGain + load<f64>(sums + (<usize>(B + b) << 3)) / <f64>M) / Lf;
      for (let l = 0; l < L; l++) {
        const o = <usize>(l * W + col) << 2;
        for (let p = 0; p < P; p++) {
          const at = o + (<usize>p << 2);
          store<f32>(rNext + at, <f32>(<f64>load<f32>(y + at) + bt * <f64>load<f32>(r + at)));
        }
      }
      continue;
    }
    const F = gram + (<usize>(b * P * P) << 2);
    const gIm = work + (<usize>(M * M) << 3);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < M; j++) {
        const at = <usize>(i * M + j) << 3;
        store<f64>(work + at, <f64>load<f32>(F + (<usize>(i * P + j) << 2)) + <f64>load<f32>(F + (<usize>((M + i) * P + M + j) << 2)));
        store<f64>(gIm + at, <f64>load<f32>(F + (<usize>(i * P + M + j) << 2)) - <f64>load<f32>(F + (<usize>((M + i) * P + j) << 2)));
      }
    }
    const sg = f64x2.splat(sumGain);
    for (let l = 0; l < L; l++) {
      const re = <usize>(l * W + col) << 2;
      const im = re + imOff;
      let j = 0;
      for (; j + 2 <= M; j += 2) {
        const oj = <usize>j << 2;
        let sr = f64x2.mul(sg, load2(r + re + oj));
        let si = f64x2.mul(sg, load2(r + im + oj));
        for (let i = 0; i < M; i++) {
          const xr = f64x2.splat(<f64>load<f32>(r + re + (<usize>i << 2)));
          const xi = f64x2.splat(<f64>load<f32>(r + im + (<usize>i << 2)));
          const at = <usize>(i * M + j) << 3;
          const gr = v128.load(work + at);
          const gi = v128.load(gIm + at);
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
          const at = <usize>(i * M + j) << 3;
          const gr = load<f64>(work + at);
          const gi = load<f64>(gIm + at);
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
 * `finishTrialResidual` of amp-host.ts for every trial: with t (T = [Re S; Im S] X [2L, W]; 0:
 * none), first Re r -= Re S Re X - Im S Im X, Im r -= Re S Im X + Im S Re X (float32 lanes:
 * JavaScript rounds the same float64 results to float32, and double rounding of one operation on
 * float32 inputs through float64 gives the float32 result); then out[b] = ||R_b||_F^2 of the first
 * L rows of the augmented r [2L, W] (float32; summed over rows, then columns, in order; trials
 * b, b + 1 share the lanes), and rows L + l = [Im r_l | -Re r_l] written.
 */
export function finishResidual(r: usize, t: usize, W: i32, col0: i32, B: i32, L: i32, M: i32, out: usize): void {
  const P = 2 * M;
  const next = <usize>P << 2;
  const imOff = <usize>M << 2;
  if (t != 0) {
    for (let l = 0; l < L; l++) {
      for (let bb = 0; bb < B; bb++) {
        const o = <usize>(l * W + col0 + bb * P) << 2;
        const lo = <usize>((L + l) * W + col0 + bb * P) << 2;
        let m = 0;
        for (; m + 4 <= M; m += 4) {
          const at = <usize>m << 2;
          v128.store(r + o + at, f32x4.sub(v128.load(r + o + at), f32x4.sub(v128.load(t + o + at), v128.load(t + lo + imOff + at))));
          v128.store(r + o + imOff + at, f32x4.sub(v128.load(r + o + imOff + at), f32x4.add(v128.load(t + o + imOff + at), v128.load(t + lo + at))));
        }
        for (; m < M; m++) {
          const at = <usize>m << 2;
          store<f32>(r + o + at, load<f32>(r + o + at) - (load<f32>(t + o + at) - load<f32>(t + lo + imOff + at)));
          store<f32>(r + o + imOff + at, load<f32>(r + o + imOff + at) - (load<f32>(t + o + imOff + at) + load<f32>(t + lo + at)));
        }
      }
    }
  }
  let b = 0;
  for (; b + 2 <= B; b += 2) {
    const col = col0 + b * P;
    let s = f64x2.splat(0.0);
    for (let l = 0; l < L; l++) {
      const o = r + (<usize>(l * W + col) << 2);
      for (let p = 0; p < P; p++) {
        const at = o + (<usize>p << 2);
        const v = f64x2.replace_lane(f64x2.splat(<f64>load<f32>(at)), 1, <f64>load<f32>(at + next));
        s = f64x2.add(s, f64x2.mul(v, v));
      }
    }
    v128.store(out + (<usize>b << 3), s);
  }
  if (b < B) {
    const col = col0 + b * P;
    let s = 0.0;
    for (let l = 0; l < L; l++) {
      const o = r + (<usize>(l * W + col) << 2);
      for (let p = 0; p < P; p++) {
        const v = <f64>load<f32>(o + (<usize>p << 2));
        s += v * v;
      }
    }
    store<f64>(out + (<usize>b << 3), s);
  }
  // the lower half: a copy with signs flipped (exact), every trial's 2M columns
  for (let l = 0; l < L; l++) {
    for (let bb = 0; bb < B; bb++) {
      const o = r + (<usize>(l * W + col0 + bb * P) << 2);
      const lower = r + (<usize>((L + l) * W + col0 + bb * P) << 2);
      for (let m = 0; m < M; m++) {
        const at = <usize>m << 2;
        store<f32>(lower + at, load<f32>(o + imOff + at));
        store<f32>(lower + imOff + at, -load<f32>(o + at));
      }
    }
  }
}
