/**
 * The two GROUP LASSO solvers of `group-lasso.ts` on the host, for inference: the same algorithms,
 * the same equations and iteration counts, in typed arrays, with the matrix products done by the
 * {@link blas} of `@gfra/core` (OpenBLAS when it loads). Not differentiable: the trainable
 * `group-lasso-unfolded` keeps the tfjs {@link groupLassoAdmm}.
 *
 *   min_X 0.5 ||A X - Y||_F^2 + lambda sum_n ||X_{n,:}||_2
 *
 * Reference: Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via
 * deep learning with applications in MIMO-based grant-free random access", IEEE J. Sel. Areas
 * Commun., 2021, Sec. III-B.1, Eqs. (4)-(10), Algorithm 1 (ADMM); block coordinate descent over
 * the rows (the standard group-LASSO block update) for the BCD baseline.
 *
 * Layout. Stacked-real, row-major: A_hat = [[Re A, -Im A], [Im A, Re A]] [2L, 2N], so that A X is
 * A_hat X and A^H Q is A_hat^T Q for X [2N, W], Q [2L, W] (rows 0 .. N-1 / L-1 the real parts, the
 * rest the imaginary parts), one column per (trial, antenna).
 *
 * Same numbers whatever the batch split: a BLAS product's rounding depends on the matrix sizes and
 * on an entry's position in them. ADMM with a shared codebook runs its products over fixed chunks
 * of {@link TRIALS_PER_PRODUCT} trial slots, global trial t in slot t mod TRIALS_PER_PRODUCT of its
 * chunk (the columns of slots without a trial of this batch are zero and stay zero); with one
 * codebook per trial, and for BCD, every product is one trial's. Everything else is computed per
 * trial from that trial's numbers only, in float64.
 */
import { blas, type Gemm, type RealArray } from '@gfra/core';
import { TRIALS_PER_PRODUCT } from './amp-host';
import { HostWorkspace, type HostObservation } from './host-workspace';

/**
 * Inputs of {@link hostGroupLassoAdmm} and {@link hostGroupLassoBcd}: the observation with the pilot
 * matrix as S ([L, N], or [B, L, N] with `perTrial`) and the penalty.
 */
export interface HostGroupLassoInput extends HostObservation {
  /** N: pilot columns (devices). */
  readonly N: number;
  /** lambda: weight of the l2,1 penalty. */
  readonly lambda: number;
  /** Global index of trial 0 of the batch (0 when unknown). */
  readonly firstTrial: number;
  /**
   * Result (and, for ADMM, storage and products) in float32 (the default, as the tfjs path) or
   * float64 (for checks against float64 references). BCD computes in float64 either way; the
   * per-trial scalar work of ADMM is float64 either way.
   */
  readonly precision?: 'float32' | 'float64';
  /** Buffers to reuse from one call to the next (a detector keeps one); omitted: fresh buffers per call. */
  readonly workspace?: HostWorkspace;
}

/** X [B, N, M] (real and imaginary parts), new arrays owned by the caller. */
export interface HostGroupLassoResult {
  readonly re: RealArray;
  readonly im: RealArray;
}

/** A_hat [2L, 2N] of pilot matrix `book` (0 when shared) into `out`. */
function stackedPilots(input: HostGroupLassoInput, book: number, out: RealArray): void {
  const { L, N } = input;
  const twoN = 2 * N;
  const src = book * L * N;
  for (let l = 0; l < L; l++) {
    const top = l * twoN;
    const bottom = (L + l) * twoN;
    for (let n = 0; n < N; n++) {
      const re = input.sRe[src + l * N + n];
      const im = input.sIm[src + l * N + n];
      out[top + n] = re;
      out[top + N + n] = -im;
      out[bottom + n] = im;
      out[bottom + N + n] = re;
    }
  }
}

/** d_n = ||a_n||^2 ([N], float64) of pilot matrix `book`, summed over l in order. */
function columnEnergies(input: HostGroupLassoInput, book: number, d: Float64Array): void {
  const { L, N } = input;
  const src = book * L * N;
  d.fill(0);
  for (let l = 0; l < L; l++)
    for (let n = 0; n < N; n++) {
      const re = input.sRe[src + l * N + n];
      const im = input.sIm[src + l * N + n];
      d[n] += re * re + im * im;
    }
}

/**
 * Algorithm 1 of Cui, Li, Zhang (ADMM in sharing form, all rows in parallel), the iteration of
 * the tfjs {@link groupLassoAdmm}: from X = 0, Bbar = 0, C = 0, with d_n = ||a_n||^2, for
 * k = 0 .. K-1,
 *
 *   T = diag(d) X + A^H (Bbar - P - C)                      (P = A X / N; row n = t_n of Theorem 1)
 *   X_{n,:} = max(0, 1 - lambda / (rho sqrt(||t_n||^2 + 1e-12))) t_n / d_n          (Eq. (9))
 *   P = A X / N,   Bbar = (Y + rho P + rho C) / (N + rho)                          (Eq. (10))
 *   C = C + P - Bbar                                                                (Eq. (8))
 *
 * A^H Q and A X are BLAS products (float32 by default, as tfjs; see `precision`); the row norms,
 * gains and the Bbar, C updates are float64 loops (C is kept in float64; Q = Bbar - P - C, the
 * next product's input, is stored in the products' precision). The trials are independent, so
 * each chunk of trial slots (or each trial, with one pilot matrix per trial) runs all K
 * iterations before the next: its state stays in cache.
 *
 * @returns X [B, N, M] after `iterations` iterations
 */
export function hostGroupLassoAdmm(input: HostGroupLassoInput, rho: number, iterations: number): HostGroupLassoResult {
  const { B, L, N, M, perTrial } = input;
  const double = input.precision === 'float64';
  const ws = input.workspace ?? new HostWorkspace();
  const real = (name: string, length: number) => ws.take(name, length, double);
  const f64 = (name: string, length: number) => ws.take(name, length, true);
  const gemm = (double ? blas().dgemm : blas().sgemm) as Gemm<RealArray>;
  const out = { re: double ? new Float64Array(B * N * M) : new Float32Array(B * N * M), im: double ? new Float64Array(B * N * M) : new Float32Array(B * N * M) };
  if (B === 0) return out;

  const twoL = 2 * L;
  const twoN = 2 * N;
  const G = perTrial ? 1 : TRIALS_PER_PRODUCT;
  const W = G * M;
  const ratio = input.lambda / rho;
  const nPlusRho = N + rho;
  const aHat = real('gl-admm aHat', twoL * twoN);
  const d = f64('gl-admm d', N);
  const y = f64('gl-admm y', twoL * W);
  const c = f64('gl-admm c', twoL * W);
  const q = real('gl-admm q', twoL * W); // Bbar - P - C
  const x = real('gl-admm x', twoN * W);
  const t = real('gl-admm t', twoN * W); // A^H Q
  const p = real('gl-admm p', twoL * W); // A X
  // chunks of G slots aligned to the global trial index (per trial: one trial each)
  const offset = perTrial ? 0 : input.firstTrial % G;
  const chunks = Math.ceil((offset + B) / G);
  if (!perTrial) {
    stackedPilots(input, 0, aHat);
    columnEnergies(input, 0, d);
  }
  const invN = 1 / N;
  const invNPlusRho = 1 / nPlusRho;
  for (let chunk = 0; chunk < chunks; chunk++) {
    const b0 = Math.max(0, chunk * G - offset);
    const b1 = Math.min(B, (chunk + 1) * G - offset);
    if (perTrial) {
      stackedPilots(input, b0, aHat);
      columnEnergies(input, b0, d);
    }
    // the chunk's trials b0 .. b1-1 hold consecutive slots: columns [from, to)
    const from = ((offset + b0) % G) * M;
    const to = from + (b1 - b0) * M;
    y.fill(0);
    c.fill(0);
    q.fill(0);
    x.fill(0);
    for (let b = b0; b < b1; b++) {
      const col = from + (b - b0) * M;
      for (let l = 0; l < L; l++)
        for (let m = 0; m < M; m++) {
          y[l * W + col + m] = input.yRe[(b * L + l) * M + m];
          y[(L + l) * W + col + m] = input.yIm[(b * L + l) * M + m];
        }
    }
    for (let k = 0; k < iterations; k++) {
      // T = diag(d) X + A^H Q; X = gain T   (9)
      gemm(true, false, twoN, W, twoL, 1, aHat, 0, twoN, q, 0, W, 0, t, 0, W);
      for (let n = 0; n < N; n++) {
        const dn = d[n];
        const re = n * W;
        const im = (N + n) * W;
        for (let col = from; col < to; col += M) {
          let s = 0;
          for (let m = re + col, end = re + col + M; m < end; m++) {
            const tr = dn * x[m] + t[m];
            s += tr * tr;
          }
          for (let m = im + col, end = im + col + M; m < end; m++) {
            const ti = dn * x[m] + t[m];
            s += ti * ti;
          }
          const gain = Math.max(0, 1 - ratio / Math.sqrt(s + 1e-12)) / dn;
          if (gain === 0) {
            x.fill(0, re + col, re + col + M);
            x.fill(0, im + col, im + col + M);
            continue;
          }
          for (let m = re + col, end = re + col + M; m < end; m++) x[m] = gain * (dn * x[m] + t[m]);
          for (let m = im + col, end = im + col + M; m < end; m++) x[m] = gain * (dn * x[m] + t[m]);
        }
      }
      // P = A X / N; Bbar (10); C (8); the next Q = Bbar - P - C
      gemm(false, false, twoL, W, twoN, 1, aHat, 0, twoN, x, 0, W, 0, p, 0, W);
      for (let row = 0; row < twoL; row++) {
        for (let m = row * W + from, end = row * W + to; m < end; m++) {
          const pm = p[m] * invN;
          const bbar = (y[m] + rho * (pm + c[m])) * invNPlusRho;
          const cm = c[m] + pm - bbar;
          c[m] = cm;
          q[m] = bbar - pm - cm;
        }
      }
    }
    for (let b = b0; b < b1; b++) {
      const col = from + (b - b0) * M;
      for (let n = 0; n < N; n++)
        for (let m = 0; m < M; m++) {
          out.re[(b * N + n) * M + m] = x[n * W + col + m];
          out.im[(b * N + n) * M + m] = x[(N + n) * W + col + m];
        }
    }
  }
  return out;
}

/**
 * GROUP LASSO by block coordinate descent, the iteration of the tfjs-side {@link groupLassoBcd}
 * (float64, trial by trial): for n = 1 .. N in turn, t = a_n^H R + d_n x_n,
 * x_n = max(0, 1 - lambda / ||t||_2) t / d_n, R = Y - A X, `sweeps` times from X = 0.
 *
 * a_n^H R is kept for all rows as g = A^H R = A^H Y - G X (G = A^H A): A^H Y and G are BLAS
 * products (float64), and a row update x_n += delta subtracts G_{:,n} delta from g (N M complex
 * multiply-adds), done only for the rows that change. Same iterates as the residual form in exact
 * arithmetic; it touches nothing for the rows that stay 0 (most rows of a sparse X), where the
 * residual form recomputes a_n^H R (L M) for every row of every sweep.
 *
 * @returns X [B, N, M] after `sweeps` sweeps (float32 unless `precision` is "float64")
 */
export function hostGroupLassoBcd(input: HostGroupLassoInput, sweeps: number): HostGroupLassoResult {
  const { B, L, N, M, perTrial, lambda } = input;
  const double = input.precision === 'float64';
  const ws = input.workspace ?? new HostWorkspace();
  const f64 = (name: string, length: number) => ws.take(name, length, true);
  const { dgemm } = blas();
  const out = { re: double ? new Float64Array(B * N * M) : new Float32Array(B * N * M), im: double ? new Float64Array(B * N * M) : new Float32Array(B * N * M) };
  if (B === 0) return out;

  const twoL = 2 * L;
  const twoN = 2 * N;
  const aHat = f64('gl-bcd aHat', twoL * twoN);
  // A_hat^T A_hat = [[Re G, -Im G], [Im G, Re G]]: Re G_nj at n 2N + j, Im G_nj at (N + n) 2N + j
  const gram = f64('gl-bcd gram', twoN * twoN);
  const y = f64('gl-bcd y', twoL * M);
  const g = f64('gl-bcd g', twoN * M); // A^H R: Re rows 0 .. N-1, Im rows N .. 2N-1
  const x = f64('gl-bcd x', twoN * M);
  const tt = f64('gl-bcd t', 2 * M);
  const delta = f64('gl-bcd delta', 2 * M);
  for (let b = 0; b < B; b++) {
    if (perTrial || b === 0) {
      stackedPilots(input, perTrial ? b : 0, aHat);
      dgemm(true, false, twoN, twoN, twoL, 1, aHat, 0, twoN, aHat, 0, twoN, 0, gram, 0, twoN);
    }
    for (let l = 0; l < L; l++)
      for (let m = 0; m < M; m++) {
        y[l * M + m] = input.yRe[(b * L + l) * M + m];
        y[(L + l) * M + m] = input.yIm[(b * L + l) * M + m];
      }
    dgemm(true, false, twoN, M, twoL, 1, aHat, 0, twoN, y, 0, M, 0, g, 0, M); // A^H Y
    x.fill(0);
    for (let s = 0; s < sweeps; s++) {
      for (let n = 0; n < N; n++) {
        const dn = gram[n * twoN + n];
        const re = n * M;
        const im = (N + n) * M;
        // t = a_n^H R + d_n x_n
        let norm2 = 0;
        for (let m = 0; m < M; m++) {
          const tr = g[re + m] + dn * x[re + m];
          const ti = g[im + m] + dn * x[im + m];
          tt[m] = tr;
          tt[M + m] = ti;
          norm2 += tr * tr + ti * ti;
        }
        const norm = Math.sqrt(norm2);
        const gain = norm > lambda ? (1 - lambda / norm) / dn : 0;
        let changed = false;
        for (let m = 0; m < M; m++) {
          const dr = gain * tt[m] - x[re + m];
          const di = gain * tt[M + m] - x[im + m];
          delta[m] = dr;
          delta[M + m] = di;
          if (dr !== 0 || di !== 0) changed = true;
          x[re + m] += dr;
          x[im + m] += di;
        }
        if (!changed) continue;
        // g -= G_{:,n} delta, G_jn = conj(G_nj)
        const reG = n * twoN;
        const imG = (N + n) * twoN;
        for (let j = 0; j < N; j++) {
          const gr = gram[reG + j];
          const gi = -gram[imG + j];
          const jr = j * M;
          const ji = (N + j) * M;
          for (let m = 0; m < M; m++) {
            const dr = delta[m];
            const di = delta[M + m];
            g[jr + m] -= gr * dr - gi * di;
            g[ji + m] -= gr * di + gi * dr;
          }
        }
      }
    }
    for (let n = 0; n < N; n++)
      for (let m = 0; m < M; m++) {
        out.re[(b * N + n) * M + m] = x[n * M + m];
        out.im[(b * N + n) * M + m] = x[(N + n) * M + m];
      }
  }
  return out;
}
