// AssemblyScript source of the WebAssembly kernel of `src/algorithms/mpa-host.ts` (compiled by
// `pnpm run build:wasm` into `src/algorithms/wasm/mpa.generated.ts`; a test checks that the two
// agree). `mpaMessages` repeats, operation for operation and in the same order, the Log-MPA and
// Max-Log-MPA loops of `mpaDetectHost` up to the last RE -> user messages, so that both give the
// same bits: two trials run side by side in the two f64x2 lanes (each lane sees its own trial's
// numbers only; the factor graph is shared). A running maximum is kept as the loops keep it
// ("if (v > a) a = v": bitselect on f64x2.gt, not f64x2.max, which differs on NaN and on -0
// against +0). Pointers are byte offsets into this module's memory, which the JavaScript side lays
// out; index tables are i32, everything else float64, row-major.

import { approxLog, approxLog2, preciseExp, preciseExp2 } from './lib/math';

/** A Log-MPA group sum (relative to the RE's largest term) below this is redone relative to its own maximum (mpa-host.ts). */
const SMALL_GROUP_SUM: f64 = 1.1830521861667747e-271; // 2^-900, exactly

/** Two trials' float64 values at p and q as the lanes of a v128. */
@inline
function pair(p: usize, q: usize): v128 {
  return f64x2.replace_lane(f64x2.splat(load<f64>(p)), 1, load<f64>(q));
}

@inline
function index(table: usize, i: i32): i32 {
  return load<i32>(table + (<usize>i << 2));
}

/** Byte offset of entry i of a lane-pair array (entry i of both trials: 16 bytes). */
@inline
function at(array: usize, i: i32): usize {
  return array + (<usize>i << 4);
}

/**
 * The message passing of `mpaDetectHost` (mpa-host.ts; its module comment has the equations),
 * Log-MPA or, with `maxLog`, Max-Log-MPA, for B trials, two at a time: writes the last
 * iteration's RE -> user messages of trial b to toUserOut[b E Q ..] ([B, E, Q]). Inputs:
 * y [B, L, M] (yRe, yIm), h [B, N, L, M] (hRe, hIm), scale = -1 / sigma^2, the log-prior of the
 * joint hypotheses with per-device bits (prior [L, C], or 0 without); the graph's tables
 * slotIndex [C, d], groups [d Q, C / Q] (Log-MPA only), edgeChannel [E], edgeStart [N + 1],
 * edgeList, codeRe and codeIm [L, d, Q]; work: 2 (2 L C + 2 E Q + 4 d Q + L) + C / Q float64 of
 * scratch.
 */
export function mpaMessages(
  maxLog: bool,
  B: i32,
  N: i32,
  L: i32,
  M: i32,
  Q: i32,
  d: i32,
  T: i32,
  scale: f64,
  slotIndex: usize,
  groups: usize,
  edgeChannel: usize,
  edgeStart: usize,
  edgeList: usize,
  codeRe: usize,
  codeIm: usize,
  yRe: usize,
  yIm: usize,
  hRe: usize,
  hIm: usize,
  prior: usize,
  toUserOut: usize,
  work: usize,
): void {
  let C = 1;
  for (let k = 0; k < d; k++) C *= Q;
  const R = C / Q;
  const E = L * d;
  const dQ = d * Q;
  // lane-pair arrays (16 bytes per entry)
  const phi = work; // [L, C]
  const weight = phi + (<usize>(L * C) << 4); // [L, C], Log-MPA
  const toRe = weight + (<usize>(L * C) << 4); // [E, Q]
  const toUser = toRe + (<usize>(E * Q) << 4); // [E, Q]
  const hxRe = toUser + (<usize>(E * Q) << 4); // [d, Q]
  const hxIm = hxRe + (<usize>dQ << 4);
  const factor = hxIm + (<usize>dQ << 4); // [d Q], Log-MPA
  const acc = factor + (<usize>dQ << 4); // [d Q]
  const phiTop = acc + (<usize>dQ << 4); // [L], Log-MPA
  const total = phiTop + (<usize>L << 4); // [R], one lane's scalars, Log-MPA
  for (let b = 0; b < B; b += 2) {
    const b1 = b + 1 < B ? b + 1 : b; // a trial without a partner runs in both lanes
    likelihoods(b, b1, N, L, M, Q, d, C, scale, slotIndex, edgeChannel, codeRe, codeIm, yRe, yIm, hRe, hIm, prior, phi, hxRe, hxIm);
    if (!maxLog) {
      // w[c] = exp(phi_l(c) - top_l), top_l = max_c phi_l(c)
      for (let l = 0; l < L; l++) {
        let top = f64x2.splat(-Infinity);
        for (let c = 0; c < C; c++) top = f64x2.max(top, v128.load(at(phi, l * C + c)));
        v128.store(at(phiTop, l), top);
        for (let c = 0; c < C; c++) v128.store(at(weight, l * C + c), preciseExp2(f64x2.sub(v128.load(at(phi, l * C + c)), top)));
      }
    }
    memory.fill(toRe, 0, <usize>(E * Q) << 4);
    for (let t = 0; t < T; t++) {
      // RE -> user: acc[j] = the LSE (or max) of group j, then minus the recipient's own incoming message
      for (let l = 0; l < L; l++) {
        const base = l * dQ;
        if (maxLog) maxLogGroups(l, Q, d, C, slotIndex, phi, toRe, acc);
        else logGroups(l, Q, d, C, R, slotIndex, groups, phi, weight, phiTop, toRe, factor, acc, total);
        for (let j = 0; j < dQ; j++) v128.store(at(toUser, base + j), f64x2.sub(v128.load(at(acc, j)), v128.load(at(toRe, base + j))));
      }
      if (t == T - 1) break;
      userToRe(N, Q, edgeStart, edgeList, toUser, toRe);
    }
    writeMessages(b, b1, E * Q, toUser, toUserOut);
  }
}

/**
 * Log-MPA at RE l: acc[j] ([d Q] lane pairs) = LSE over the hypotheses of group j of
 * phi_l(c) + sum_k toRe_k, as w[c] prod_k exp(toRe_k) summed and logged relative to top_l (a group
 * whose sum falls below SMALL_GROUP_SUM is redone relative to its own maximum, per lane);
 * factor is scratch.
 */
function logGroups(l: i32, Q: i32, d: i32, C: i32, R: i32, slotIndex: usize, groups: usize, phi: usize, weight: usize, phiTop: usize, toRe: usize, factor: usize, acc: usize, total: usize): void {
  const zero = f64x2.splat(0.0);
  const dQ = d * Q;
  const base = l * dQ;
  const pOff = l * C;
  for (let j = 0; j < dQ; j++) {
    v128.store(at(factor, j), preciseExp2(v128.load(at(toRe, base + j))));
    v128.store(at(acc, j), zero);
  }
  if (d == 3) {
    // the common SCMA degree: hypothesis c = (q0 Q + q1) Q + q2 in increasing order, the
    // same products and sums as the general loop below, without its index loads
    for (let q0 = 0, c = 0; q0 < Q; q0++) {
      const f0 = v128.load(at(factor, q0));
      let a0 = v128.load(at(acc, q0));
      for (let q1 = 0; q1 < Q; q1++) {
        const f1 = v128.load(at(factor, Q + q1));
        const p1 = at(acc, Q + q1);
        for (let q2 = 0; q2 < Q; q2++, c++) {
          const w = f64x2.mul(f64x2.mul(f64x2.mul(v128.load(at(weight, pOff + c)), f0), f1), v128.load(at(factor, 2 * Q + q2)));
          a0 = f64x2.add(a0, w);
          v128.store(p1, f64x2.add(v128.load(p1), w));
          const p2 = at(acc, 2 * Q + q2);
          v128.store(p2, f64x2.add(v128.load(p2), w));
        }
      }
      v128.store(at(acc, q0), a0);
    }
  } else {
    for (let c = 0, i = 0; c < C; c++) {
      let w = v128.load(at(weight, pOff + c));
      for (let k = 0; k < d; k++) w = f64x2.mul(w, v128.load(at(factor, index(slotIndex, i + k))));
      for (let k = 0; k < d; k++, i++) {
        const a = at(acc, index(slotIndex, i));
        v128.store(a, f64x2.add(v128.load(a), w));
      }
    }
  }
  const top = v128.load(at(phiTop, l));
  for (let j = 0; j < dQ; j++) {
    const a = v128.load(at(acc, j));
    if (i64x2.all_true(f64x2.ge(a, f64x2.splat(SMALL_GROUP_SUM)))) {
      v128.store(at(acc, j), f64x2.add(top, approxLog2(a)));
    } else {
      for (let lane = 0; lane < 2; lane++) {
        const p = at(acc, j) + (<usize>lane << 3);
        const v = load<f64>(p);
        const laneTop = load<f64>(at(phiTop, l) + (<usize>lane << 3));
        store<f64>(p, v >= SMALL_GROUP_SUM ? laneTop + approxLog(v) : smallGroup(lane, j, base, pOff, d, R, phi, toRe, slotIndex, groups, total));
      }
    }
  }
}

/** Max-Log-MPA at RE l: acc[j] ([d Q] lane pairs) = the largest phi_l(c) + sum_k toRe_k of group j. */
function maxLogGroups(l: i32, Q: i32, d: i32, C: i32, slotIndex: usize, phi: usize, toRe: usize, acc: usize): void {
  const dQ = d * Q;
  const base = l * dQ;
  const pOff = l * C;
  for (let j = 0; j < dQ; j++) v128.store(at(acc, j), f64x2.splat(-Infinity));
  if (d == 3) {
    // the common SCMA degree: hypothesis c = (q0 Q + q1) Q + q2 in increasing order, the
    // same sums and comparisons as the general loop below, without its index loads
    for (let q0 = 0, c = 0; q0 < Q; q0++) {
      const t0 = v128.load(at(toRe, base + q0));
      let a0 = v128.load(at(acc, q0));
      for (let q1 = 0; q1 < Q; q1++) {
        const t1 = v128.load(at(toRe, base + Q + q1));
        const p1 = at(acc, Q + q1);
        let a1 = v128.load(p1);
        for (let q2 = 0; q2 < Q; q2++, c++) {
          const v = f64x2.add(f64x2.add(f64x2.add(v128.load(at(phi, pOff + c)), t0), t1), v128.load(at(toRe, base + 2 * Q + q2)));
          a0 = v128.bitselect(v, a0, f64x2.gt(v, a0));
          a1 = v128.bitselect(v, a1, f64x2.gt(v, a1));
          const p2 = at(acc, 2 * Q + q2);
          const a2 = v128.load(p2);
          v128.store(p2, v128.bitselect(v, a2, f64x2.gt(v, a2)));
        }
        v128.store(p1, a1);
      }
      v128.store(at(acc, q0), a0);
    }
  } else {
    for (let c = 0, i = 0; c < C; c++) {
      let v = v128.load(at(phi, pOff + c));
      for (let k = 0; k < d; k++) v = f64x2.add(v, v128.load(at(toRe, base + index(slotIndex, i + k))));
      for (let k = 0; k < d; k++, i++) {
        const p = at(acc, index(slotIndex, i));
        const a = v128.load(p);
        v128.store(p, v128.bitselect(v, a, f64x2.gt(v, a)));
      }
    }
  }
}

/**
 * phi[l, c] ([L, C] lane pairs) of trials b (lane 0) and b1 (lane 1): scale sum_m |y[l, m] -
 * sum_k h[u_k, l, m] x_{u_k, q_k(c)}[l]|^2 + prior[l, c] (float64 [L, C], shared by the trials;
 * + 0 where prior is 0: none); hxRe and hxIm ([d, Q] lane pairs) are scratch.
 */
function likelihoods(
  b: i32,
  b1: i32,
  N: i32,
  L: i32,
  M: i32,
  Q: i32,
  d: i32,
  C: i32,
  scale: f64,
  slotIndex: usize,
  edgeChannel: usize,
  codeRe: usize,
  codeIm: usize,
  yRe: usize,
  yIm: usize,
  hRe: usize,
  hIm: usize,
  prior: usize,
  phi: usize,
  hxRe: usize,
  hxIm: usize,
): void {
  const zero = f64x2.splat(0.0);
  const yStride = <usize>(L * M) << 3;
  const hStride = <usize>(N * L * M) << 3;
  const y0 = <usize>b * yStride;
  const y1 = <usize>b1 * yStride;
  const h0 = <usize>b * hStride;
  const h1 = <usize>b1 * hStride;
  memory.fill(phi, 0, <usize>(L * C) << 4);
  for (let l = 0; l < L; l++) {
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < d; k++) {
        const row = index(edgeChannel, l * d + k);
        const cOff = (l * d + k) * Q;
        if (row < 0) {
          memory.fill(at(hxRe, k * Q), 0, <usize>Q << 4);
          memory.fill(at(hxIm, k * Q), 0, <usize>Q << 4);
          continue;
        }
        const hAt = <usize>(row * M + m) << 3;
        const hr = pair(hRe + h0 + hAt, hRe + h1 + hAt);
        const hi = pair(hIm + h0 + hAt, hIm + h1 + hAt);
        for (let q = 0; q < Q; q++) {
          const xr = f64x2.splat(load<f64>(codeRe + (<usize>(cOff + q) << 3)));
          const xi = f64x2.splat(load<f64>(codeIm + (<usize>(cOff + q) << 3)));
          v128.store(at(hxRe, k * Q + q), f64x2.sub(f64x2.mul(hr, xr), f64x2.mul(hi, xi)));
          v128.store(at(hxIm, k * Q + q), f64x2.add(f64x2.mul(hr, xi), f64x2.mul(hi, xr)));
        }
      }
      const yAt = <usize>(l * M + m) << 3;
      const yr = pair(yRe + y0 + yAt, yRe + y1 + yAt);
      const yi = pair(yIm + y0 + yAt, yIm + y1 + yAt);
      for (let c = 0, i = 0; c < C; c++) {
        let re = yr;
        let im = yi;
        for (let k = 0; k < d; k++, i++) {
          const s = index(slotIndex, i);
          re = f64x2.sub(re, v128.load(at(hxRe, s)));
          im = f64x2.sub(im, v128.load(at(hxIm, s)));
        }
        const p = at(phi, l * C + c);
        v128.store(p, f64x2.add(v128.load(p), f64x2.add(f64x2.mul(re, re), f64x2.mul(im, im))));
      }
    }
  }
  const scaleV = f64x2.splat(scale);
  if (prior == 0) for (let i = 0; i < L * C; i++) v128.store(at(phi, i), f64x2.add(f64x2.mul(v128.load(at(phi, i)), scaleV), zero));
  else for (let i = 0; i < L * C; i++) v128.store(at(phi, i), f64x2.add(f64x2.mul(v128.load(at(phi, i)), scaleV), f64x2.splat(load<f64>(prior + (<usize>i << 3)))));
}

/** User -> RE messages ([E, Q] lane pairs) from the RE -> user ones: the sum over the user's other edges, normalised to max 0. */
function userToRe(N: i32, Q: i32, edgeStart: usize, edgeList: usize, toUser: usize, toRe: usize): void {
  const zero = f64x2.splat(0.0);
  for (let n = 0; n < N; n++) {
    const first = index(edgeStart, n);
    const last = index(edgeStart, n + 1);
    for (let a = first; a < last; a++) {
      const e = index(edgeList, a);
      let top = f64x2.splat(-Infinity);
      for (let q = 0; q < Q; q++) {
        let s = zero;
        for (let a2 = first; a2 < last; a2++) if (a2 != a) s = f64x2.add(s, v128.load(at(toUser, index(edgeList, a2) * Q + q)));
        v128.store(at(toRe, e * Q + q), s);
        top = v128.bitselect(s, top, f64x2.gt(s, top));
      }
      for (let q = 0; q < Q; q++) v128.store(at(toRe, e * Q + q), f64x2.sub(v128.load(at(toRe, e * Q + q)), top));
    }
  }
}

/** Trial b's RE -> user messages (lane 0 of toUser [E Q]) to toUserOut[b E Q ..], trial b1's (lane 1) to toUserOut[b1 E Q ..]. */
function writeMessages(b: i32, b1: i32, EQ: i32, toUser: usize, toUserOut: usize): void {
  const out0 = toUserOut + (<usize>(b * EQ) << 3);
  const out1 = toUserOut + (<usize>(b1 * EQ) << 3);
  for (let i = 0; i < EQ; i++) {
    const v = v128.load(at(toUser, i));
    store<f64>(out0 + (<usize>i << 3), f64x2.extract_lane(v, 0));
    store<f64>(out1 + (<usize>i << 3), f64x2.extract_lane(v, 1));
  }
}

/**
 * One lane's LSE of group j of the RE at base (= l d Q; pOff = l C) when its sum fell below
 * SMALL_GROUP_SUM: relative to the group's own maximum, as mpa-host.ts redoes it.
 */
function smallGroup(lane: i32, j: i32, base: i32, pOff: i32, d: i32, R: i32, phi: usize, toRe: usize, slotIndex: usize, groups: usize, total: usize): f64 {
  const off = <usize>lane << 3;
  for (let r = 0; r < R; r++) {
    const c = index(groups, j * R + r);
    let v = load<f64>(at(phi, pOff + c) + off);
    for (let k = 0; k < d; k++) v += load<f64>(at(toRe, base + index(slotIndex, c * d + k)) + off);
    store<f64>(total + (<usize>r << 3), v);
  }
  let gTop = -Infinity;
  for (let r = 0; r < R; r++) gTop = Math.max(gTop, load<f64>(total + (<usize>r << 3)));
  let sum = 0.0;
  for (let r = 0; r < R; r++) sum += preciseExp(load<f64>(total + (<usize>r << 3)) - gTop);
  return gTop + approxLog(sum);
}
