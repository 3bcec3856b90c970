// AssemblyScript source of the WebAssembly kernels of the covariance coordinate descent
// (`src/algorithms/covariance-host.ts` and the loops of `CovarianceCd.sweep` and
// `covarianceLassoHost` in `src/algorithms/covariance.ts`; compiled by `pnpm run build:wasm` into
// `src/algorithms/wasm/covariance.generated.ts`, a test checks that the two agree). Every function
// repeats, operation for operation and in the same order, a float64 JavaScript loop there, so that
// both give the same bits. The two lanes of an f64x2 hold (re, im) of one complex number; each
// lane operation is the IEEE float64 operation JavaScript performs on that part, with a - b
// computed as a + (-b) (exact: the same bits) and a product by a negated operand as the negated
// product (exact too); sums keep the JavaScript order and grouping. Pointers are byte offsets into
// this module's memory, which the JavaScript side lays out; complex vectors and matrices are
// interleaved (entry i at [2i, 2i + 1] = (re, im)), Hermitian matrices by their upper triangle.

/** (-1, 1): times (xi, xr) gives (-xi, xr). */
const NEG_RE = f64x2(-1.0, 1.0);
/** (1, -1). */
const NEG_IM = f64x2(1.0, -1.0);

/** The complex entry (re, im) at entry index e (2 doubles per entry) of p. */
@inline
function at(p: usize, e: i32): usize {
  return p + (<usize>e << 4);
}

/** (-xi, xr) for x = (xr, xi): i x. */
@inline
function timesI(x: v128): v128 {
  return f64x2.mul(v128.shuffle<f64>(x, x, 1, 0), NEG_RE);
}

/** lane 0 + lane 1. */
@inline
function hsum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/** out[j] = i x[j] = (-xi, xr), j < n. */
@inline
function fillTimesI(x: usize, n: i32, out: usize): void {
  for (let j = 0; j < n; j++) v128.store(at(out, j), timesI(v128.load(at(x, j))));
}

/**
 * `hermitianTimes` of covariance-host.ts: u = H x for a Hermitian n x n H (upper triangle,
 * interleaved), x (n entries) and xi = i x (n entries; see `fillTimesI`); u is overwritten.
 */
function hermitianTimes(h: usize, n: i32, x: usize, xi: usize, u: usize): void {
  memory.fill(u, 0, <usize>n << 4);
  let i = 0;
  for (; i + 1 < n; i += 2) {
    // rows i and i + 1: their own entries, then the columns j >= i + 2
    const row0 = h + (<usize>(i * n) << 4);
    const row1 = row0 + (<usize>n << 4);
    const x0 = v128.load(at(x, i));
    const x1 = v128.load(at(x, i + 1));
    // (x0i, -x0r): conj(H) x_0 = p x_0 + q (x0i, -x0r) for H = (p, q)
    const x0c = f64x2.mul(v128.shuffle<f64>(x0, x0, 1, 0), NEG_IM);
    const x1c = f64x2.mul(v128.shuffle<f64>(x1, x1, 1, 0), NEG_IM);
    const x1i = v128.load(at(xi, i + 1));
    const d0 = v128.load64_splat(at(row0, i));
    const d1 = v128.load64_splat(at(row1, i + 1));
    const pr = v128.load64_splat(at(row0, i + 1)); // H_{i, i+1}
    const pi = v128.load64_splat(at(row0, i + 1) + 8);
    let r0 = f64x2.add(f64x2.add(v128.load(at(u, i)), f64x2.mul(d0, x0)), f64x2.add(f64x2.mul(pr, x1), f64x2.mul(pi, x1i)));
    let r1 = f64x2.add(f64x2.add(v128.load(at(u, i + 1)), f64x2.mul(d1, x1)), f64x2.add(f64x2.mul(pr, x0), f64x2.mul(pi, x0c)));
    for (let j = i + 2; j < n; j++) {
      const xv = v128.load(at(x, j));
      const xiv = v128.load(at(xi, j));
      const e0 = at(row0, j);
      const e1 = at(row1, j);
      const p0 = v128.load64_splat(e0);
      const q0 = v128.load64_splat(e0 + 8);
      const p1 = v128.load64_splat(e1);
      const q1 = v128.load64_splat(e1 + 8);
      r0 = f64x2.add(r0, f64x2.add(f64x2.mul(p0, xv), f64x2.mul(q0, xiv)));
      r1 = f64x2.add(r1, f64x2.add(f64x2.mul(p1, xv), f64x2.mul(q1, xiv)));
      // u_j += conj(H_ij) x_i + conj(H_{i+1, j}) x_{i+1}
      const uj = at(u, j);
      const t0 = f64x2.add(f64x2.mul(p0, x0), f64x2.mul(q0, x0c));
      const t1 = f64x2.add(f64x2.mul(p1, x1), f64x2.mul(q1, x1c));
      v128.store(uj, f64x2.add(v128.load(uj), f64x2.add(t0, t1)));
    }
    v128.store(at(u, i), r0);
    v128.store(at(u, i + 1), r1);
  }
  if (i < n) {
    // odd n: the last row has only its diagonal entry
    const ui = at(u, i);
    const d = v128.load64_splat(at(h + (<usize>(i * n) << 4), i));
    v128.store(ui, f64x2.add(v128.load(ui), f64x2.mul(d, v128.load(at(x, i)))));
  }
}

/** `hermitianForm` of covariance-host.ts: u^H H u, with ui = i u (see `fillTimesI`). */
function hermitianForm(h: usize, n: i32, u: usize, ui: usize): f64 {
  let diagonal = 0.0;
  let cross = 0.0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const row0 = h + (<usize>(i * n) << 4);
    const row1 = row0 + (<usize>n << 4);
    const u0 = v128.load(at(u, i));
    const u1 = v128.load(at(u, i + 1));
    const pr = v128.load64_splat(at(row0, i + 1));
    const pi = v128.load64_splat(at(row0, i + 1) + 8);
    let r0 = f64x2.add(f64x2.mul(pr, u1), f64x2.mul(pi, v128.load(at(ui, i + 1))));
    let r1 = f64x2.splat(0.0);
    for (let j = i + 2; j < n; j++) {
      const xv = v128.load(at(u, j));
      const xiv = v128.load(at(ui, j));
      const e0 = at(row0, j);
      const e1 = at(row1, j);
      r0 = f64x2.add(r0, f64x2.add(f64x2.mul(v128.load64_splat(e0), xv), f64x2.mul(v128.load64_splat(e0 + 8), xiv)));
      r1 = f64x2.add(r1, f64x2.add(f64x2.mul(v128.load64_splat(e1), xv), f64x2.mul(v128.load64_splat(e1 + 8), xiv)));
    }
    const s0 = f64x2.mul(u0, u0);
    const s1 = f64x2.mul(u1, u1);
    diagonal += load<f64>(at(row0, i)) * hsum(s0) + load<f64>(at(row1, i + 1)) * hsum(s1);
    cross += hsum(f64x2.mul(u0, r0)) + hsum(f64x2.mul(u1, r1));
  }
  if (i < n) {
    const ue = v128.load(at(u, i));
    diagonal += load<f64>(at(h + (<usize>(i * n) << 4), i)) * hsum(f64x2.mul(ue, ue));
  }
  return diagonal + 2 * cross;
}

/** `rowsTimesNorm2` of covariance-host.ts: ||A x||^2 for A [rows, n] (interleaved), with xi = i x. */
function rowsTimesNorm2(a: usize, rows: i32, n: i32, x: usize, xi: usize): f64 {
  let sum = 0.0;
  let r = 0;
  for (; r + 1 < rows; r += 2) {
    const row0 = a + (<usize>(r * n) << 4);
    const row1 = row0 + (<usize>n << 4);
    let r0 = f64x2.splat(0.0);
    let r1 = f64x2.splat(0.0);
    for (let j = 0; j < n; j++) {
      const xv = v128.load(at(x, j));
      const xiv = v128.load(at(xi, j));
      const e0 = at(row0, j);
      const e1 = at(row1, j);
      r0 = f64x2.add(r0, f64x2.add(f64x2.mul(v128.load64_splat(e0), xv), f64x2.mul(v128.load64_splat(e0 + 8), xiv)));
      r1 = f64x2.add(r1, f64x2.add(f64x2.mul(v128.load64_splat(e1), xv), f64x2.mul(v128.load64_splat(e1 + 8), xiv)));
    }
    sum += hsum(f64x2.mul(r0, r0)) + hsum(f64x2.mul(r1, r1));
  }
  if (r < rows) {
    const row = a + (<usize>(r * n) << 4);
    let v = f64x2.splat(0.0);
    for (let j = 0; j < n; j++) {
      const e = at(row, j);
      v = f64x2.add(v, f64x2.add(f64x2.mul(v128.load64_splat(e), v128.load(at(x, j))), f64x2.mul(v128.load64_splat(e + 8), v128.load(at(xi, j)))));
    }
    sum += hsum(f64x2.mul(v, v));
  }
  return sum;
}

/**
 * `hermitianRankOneUpdate` of covariance-host.ts: H -= c u u^H on the upper triangle, with
 * us[j] = (ui, ur) (u_j's parts swapped):
 * H_ij -= (cr vr + ci vi, ci vr - cr vi) = (cr, -cr) (vr, vi) + ci (vi, vr), (cr, ci) = c u_i.
 */
function hermitianRankOneUpdate(h: usize, n: i32, c: f64, u: usize, us: usize): void {
  for (let i = 0; i < n; i++) {
    const ur = load<f64>(at(u, i));
    const ui = load<f64>(at(u, i) + 8);
    const cr = c * ur;
    const ci = c * ui;
    const row = h + (<usize>(i * n) << 4);
    const di = at(row, i);
    store<f64>(di, load<f64>(di) - (cr * ur + ci * ui));
    const crv = f64x2.replace_lane(f64x2.splat(cr), 1, -cr);
    const civ = f64x2.splat(ci);
    for (let j = i + 1; j < n; j++) {
      const e = at(row, j);
      v128.store(e, f64x2.sub(v128.load(e), f64x2.add(f64x2.mul(crv, v128.load(at(u, j))), f64x2.mul(civ, v128.load(at(us, j))))));
    }
  }
}

/** `mapStep` / `coordinateStep` of covariance.ts: ML (b - a) / a^2 when there is no prior, else the MAP step. */
@inline
function coordinateStep(s: f64, q: f64, prior: usize, k: i32): f64 {
  if (prior == 0) return (q - s) / (s * s);
  const c = load<f64>(prior + (<usize>k << 3));
  if (c == 0) return (q - s) / (s * s);
  const u = (2 * q) / (s + Math.sqrt(max<f64>(0, s * s - 4 * c * q)));
  return (u - 1) / s;
}

/**
 * `count` coordinate steps of `CovarianceCd.sweep` (covariance.ts) of one trial, at the
 * coordinates order[0 .. count) (float64 integers): codebook `columns` (column k at entry k L),
 * Sigma^{-1} `w` [L, L], gamma [K] updated in place, b from the Hermitian form of Sigma_hat `cov`
 * [L, L] (cov != 0) or from ||Y^H u||^2 / M with `yAdjoint` [M, L]; `prior` [K] the MAP weights
 * (0: ML). `work`: 4 L complex entries of scratch (u, i s_k, i u, u swapped).
 */
export function sweep(columns: usize, w: usize, cov: usize, yAdjoint: usize, gamma: usize, prior: usize, order: usize, count: i32, L: i32, M: i32, work: usize): void {
  const u = work;
  const xi = at(work, L);
  const ui = at(work, 2 * L);
  const us = at(work, 3 * L);
  for (let n = 0; n < count; n++) {
    const k = <i32>load<f64>(order + (<usize>n << 3));
    const col = at(columns, k * L);
    // u = Sigma^{-1} s_k, a = s_k^H u (real), b = u^H Sigma_hat u
    fillTimesI(col, L, xi);
    hermitianTimes(w, L, col, xi, u);
    let a = 0.0;
    for (let j = 0; j < L; j++) {
      a += load<f64>(at(col, j)) * load<f64>(at(u, j));
      a += load<f64>(at(col, j) + 8) * load<f64>(at(u, j) + 8);
    }
    for (let j = 0; j < L; j++) {
      const v = v128.load(at(u, j));
      const s = v128.shuffle<f64>(v, v, 1, 0);
      v128.store(at(us, j), s);
      v128.store(at(ui, j), f64x2.mul(s, NEG_RE));
    }
    const b = cov != 0 ? hermitianForm(cov, L, u, ui) : rowsTimesNorm2(yAdjoint, M, L, u, ui) / <f64>M;
    const gk = gamma + (<usize>k << 3);
    const g = load<f64>(gk);
    const d = max<f64>(coordinateStep(a, b, prior, k), -g);
    if (d == 0) continue;
    store<f64>(gk, g + d);
    // Sigma^{-1} -= c u u^H, c = d / (1 + d a)
    hermitianRankOneUpdate(w, L, d / (1 + d * a), u, us);
  }
}

/**
 * `covarianceLassoGram` of covariance.ts: G_ij = |a_i^H a_j|^2 ([N, N], both triangles) of the
 * pilot columns (column n at entry n L); `work`: L N entries of scratch.
 */
export function lassoGram(columns: usize, L: i32, N: i32, gram: usize, work: usize): void {
  // conj(a) b = ar (br, bi) + ai (bi, -br): the columns with (bi, -br)
  for (let e = 0; e < L * N; e++) {
    const v = v128.load(at(columns, e));
    v128.store(at(work, e), f64x2.mul(v128.shuffle<f64>(v, v, 1, 0), NEG_IM));
  }
  for (let i = 0; i < N; i++) {
    const oi = at(columns, i * L);
    for (let j = i; j < N; j++) {
      const oj = j * L;
      let v = f64x2.splat(0.0);
      for (let l = 0; l < L; l++) {
        const e = oi + (<usize>l << 4);
        v = f64x2.add(v, f64x2.add(f64x2.mul(v128.load64_splat(e), v128.load(at(columns, oj + l))), f64x2.mul(v128.load64_splat(e + 8), v128.load(at(work, oj + l)))));
      }
      const g = hsum(f64x2.mul(v, v));
      store<f64>(gram + (<usize>(i * N + j) << 3), g);
      store<f64>(gram + (<usize>(j * N + i) << 3), g);
    }
  }
}

/**
 * `lassoCorrelations` of covariance.ts, c_n = a_n^H Z a_n: ||Y^H a_n||^2 / M - noise ||a_n||^2
 * with `yAdjoint` [M, L] (z = 0), else the Hermitian form of `z` [L, L] (Sigma_hat with the noise
 * already taken off its diagonal). `work`: L entries of scratch.
 */
export function lassoCorrelations(columns: usize, z: usize, yAdjoint: usize, L: i32, N: i32, M: i32, noise: f64, c: usize, work: usize): void {
  for (let n = 0; n < N; n++) {
    const a = at(columns, n * L);
    fillTimesI(a, L, work);
    let value: f64;
    if (z == 0) {
      let norm2 = 0.0;
      for (let l = 0; l < 2 * L; l++) {
        const v = load<f64>(a + (<usize>l << 3));
        norm2 += v * v;
      }
      value = rowsTimesNorm2(yAdjoint, M, L, a, work) / <f64>M - noise * norm2;
    } else value = hermitianForm(z, L, a, work);
    store<f64>(c + (<usize>n << 3), value);
  }
}

/**
 * `sweeps` sweeps of the coordinate loop of `covarianceLassoHost` (covariance.ts): Gram `g`
 * [N, N], q (length N) and r (length N) updated in place.
 */
export function lassoSweeps(g: usize, q: usize, r: usize, N: i32, lambda: f64, sweeps: i32): void {
  for (let s = 0; s < sweeps; s++) {
    for (let n = 0; n < N; n++) {
      const row = g + (<usize>(n * N) << 3);
      const gnn = load<f64>(row + (<usize>n << 3));
      if (!(gnn > 0)) continue;
      const rn = r + (<usize>n << 3);
      const old = load<f64>(rn);
      const next = max<f64>(0, (load<f64>(q + (<usize>n << 3)) + gnn * old - lambda) / gnn);
      const d = next - old;
      if (d == 0) continue;
      store<f64>(rn, next);
      const dv = f64x2.splat(d);
      let j = 0;
      for (; j + 2 <= N; j += 2) {
        const qj = q + (<usize>j << 3);
        v128.store(qj, f64x2.sub(v128.load(qj), f64x2.mul(dv, v128.load(row + (<usize>j << 3)))));
      }
      if (j < N) {
        const qj = q + (<usize>j << 3);
        store<f64>(qj, load<f64>(qj) - d * load<f64>(row + (<usize>j << 3)));
      }
    }
  }
}
