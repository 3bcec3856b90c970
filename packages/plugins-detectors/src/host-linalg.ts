/**
 * Small float64 linear algebra on the host, for exhaustive search over tiny systems and as an
 * independent reference in tests (no tfjs, no shared code with the iterative detectors).
 * Complex matrices are pairs of row-major Float64Arrays.
 */

/**
 * f(gamma) = log det Sigma + tr(Sigma^{-1} Sigma_hat), Sigma = S diag(gamma) S^H + sigma^2 I, for
 * one trial, evaluated directly in float64 (Cholesky) — the objective the coordinate descent
 * minimises (the negative log-likelihood per antenna, up to a constant). Host-side reference for
 * tests and diagnostics.
 *
 * @param codebook column k = { re[L], im[L] }
 * @param y        { re, im } row-major [L, M]
 */
export function covarianceObjective(
  gamma: ArrayLike<number>,
  codebook: readonly { re: ArrayLike<number>; im: ArrayLike<number> }[],
  y: { re: ArrayLike<number>; im: ArrayLike<number> },
  L: number,
  M: number,
  noiseVar: number,
): number {
  // Sigma (Hermitian) in float64.
  const sr = new Float64Array(L * L);
  const si = new Float64Array(L * L);
  for (let i = 0; i < L; i++) sr[i * L + i] = noiseVar;
  codebook.forEach((s, k) => {
    const g = gamma[k];
    if (g === 0) return;
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < L; j++) {
        // s_i conj(s_j)
        sr[i * L + j] += g * (s.re[i] * s.re[j] + s.im[i] * s.im[j]);
        si[i * L + j] += g * (s.im[i] * s.re[j] - s.re[i] * s.im[j]);
      }
    }
  });
  const chol = choleskyComplex(sr, si, L);
  let logDet = 0;
  for (let i = 0; i < L; i++) logDet += 2 * Math.log(chol.re[i * L + i]);
  // tr(Sigma^{-1} Y Y^H) / M = ||C^{-1} Y||_F^2 / M, Sigma = C C^H.
  let trace = 0;
  for (let m = 0; m < M; m++) {
    const zr = new Float64Array(L);
    const zi = new Float64Array(L);
    for (let i = 0; i < L; i++) {
      let ar = y.re[i * M + m];
      let ai = y.im[i * M + m];
      for (let j = 0; j < i; j++) {
        const cr = chol.re[i * L + j];
        const ci = chol.im[i * L + j];
        ar -= cr * zr[j] - ci * zi[j];
        ai -= cr * zi[j] + ci * zr[j];
      }
      const dii = chol.re[i * L + i];
      zr[i] = ar / dii;
      zi[i] = ai / dii;
      trace += zr[i] * zr[i] + zi[i] * zi[i];
    }
  }
  return logDet + trace / M;
}

/** Lower Cholesky factor C (real diagonal) of a Hermitian positive-definite matrix, float64. */
export function choleskyComplex(ar: Float64Array, ai: Float64Array, n: number): { re: Float64Array; im: Float64Array } {
  const cr = new Float64Array(n * n);
  const ci = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = ar[j * n + j];
    for (let k = 0; k < j; k++) d -= cr[j * n + k] ** 2 + ci[j * n + k] ** 2;
    if (!(d > 0)) throw new Error(`choleskyComplex: matrix is not positive definite (pivot ${j}: ${d})`);
    const djj = Math.sqrt(d);
    cr[j * n + j] = djj;
    for (let i = j + 1; i < n; i++) {
      // C_ij = (A_ij - sum_k C_ik conj(C_jk)) / C_jj
      let sr = ar[i * n + j];
      let si = ai[i * n + j];
      for (let k = 0; k < j; k++) {
        const pr = cr[i * n + k];
        const pi = ci[i * n + k];
        const qr = cr[j * n + k];
        const qi = -ci[j * n + k];
        sr -= pr * qr - pi * qi;
        si -= pr * qi + pi * qr;
      }
      cr[i * n + j] = sr / djj;
      ci[i * n + j] = si / djj;
    }
  }
  return { re: cr, im: ci };
}

/**
 * Solves C C^H X = R in place (R overwritten by X) for a lower Cholesky factor C (row-major n x n,
 * real diagonal; as returned by {@link choleskyComplex}) and R row-major n x m complex, float64:
 * forward substitution C Z = R, then back substitution C^H X = Z.
 */
export function choleskySolveComplex(c: { re: Float64Array; im: Float64Array }, n: number, rRe: Float64Array, rIm: Float64Array, m: number): void {
  const { re: cr, im: ci } = c;
  for (let col = 0; col < m; col++) {
    // z_i = (r_i - sum_{k<i} C_ik z_k) / C_ii
    for (let i = 0; i < n; i++) {
      let sr = rRe[i * m + col];
      let si = rIm[i * m + col];
      for (let k = 0; k < i; k++) {
        const pr = cr[i * n + k];
        const pi = ci[i * n + k];
        const zr = rRe[k * m + col];
        const zi = rIm[k * m + col];
        sr -= pr * zr - pi * zi;
        si -= pr * zi + pi * zr;
      }
      const d = cr[i * n + i];
      rRe[i * m + col] = sr / d;
      rIm[i * m + col] = si / d;
    }
    // x_i = (z_i - sum_{k>i} conj(C_ki) x_k) / C_ii
    for (let i = n - 1; i >= 0; i--) {
      let sr = rRe[i * m + col];
      let si = rIm[i * m + col];
      for (let k = i + 1; k < n; k++) {
        const pr = cr[k * n + i];
        const pi = -ci[k * n + i];
        const xr = rRe[k * m + col];
        const xi = rIm[k * m + col];
        sr -= pr * xr - pi * xi;
        si -= pr * xi + pi * xr;
      }
      const d = cr[i * n + i];
      rRe[i * m + col] = sr / d;
      rIm[i * m + col] = si / d;
    }
  }
}

/**
 * Reference coordinate descent for the covariance ML estimate of one trial, in float64 with plain
 * loops (Sherman-Morrison on the complex inverse): for tests of the batched tfjs implementation.
 *
 * @param orders coordinate order of each sweep
 * @returns gamma (length K) after all sweeps
 */
export function covarianceCoordinateDescent(
  codebook: readonly { re: ArrayLike<number>; im: ArrayLike<number> }[],
  y: { re: ArrayLike<number>; im: ArrayLike<number> },
  L: number,
  M: number,
  noiseVar: number,
  orders: readonly (readonly number[])[],
): number[] {
  // Sigma_hat = Y Y^H / M
  const cr = new Float64Array(L * L);
  const ci = new Float64Array(L * L);
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      let sr = 0;
      let si = 0;
      for (let m = 0; m < M; m++) {
        // y_i conj(y_j)
        const ar = y.re[i * M + m];
        const ai = y.im[i * M + m];
        const br = y.re[j * M + m];
        const bi = y.im[j * M + m];
        sr += ar * br + ai * bi;
        si += ai * br - ar * bi;
      }
      cr[i * L + j] = sr / M;
      ci[i * L + j] = si / M;
    }
  }
  const wr = new Float64Array(L * L);
  const wi = new Float64Array(L * L);
  for (let i = 0; i < L; i++) wr[i * L + i] = 1 / noiseVar;
  const gamma = new Array<number>(codebook.length).fill(0);
  const ur = new Float64Array(L);
  const ui = new Float64Array(L);
  for (const order of orders) {
    for (const k of order) {
      const s = codebook[k];
      for (let i = 0; i < L; i++) {
        let r = 0;
        let im = 0;
        for (let j = 0; j < L; j++) {
          r += wr[i * L + j] * s.re[j] - wi[i * L + j] * s.im[j];
          im += wr[i * L + j] * s.im[j] + wi[i * L + j] * s.re[j];
        }
        ur[i] = r;
        ui[i] = im;
      }
      let a = 0;
      for (let i = 0; i < L; i++) a += s.re[i] * ur[i] + s.im[i] * ui[i];
      let b = 0;
      for (let i = 0; i < L; i++) {
        // (Sigma_hat u)_i, then conj(u_i) * that
        let vr = 0;
        let vi = 0;
        for (let j = 0; j < L; j++) {
          vr += cr[i * L + j] * ur[j] - ci[i * L + j] * ui[j];
          vi += cr[i * L + j] * ui[j] + ci[i * L + j] * ur[j];
        }
        b += ur[i] * vr + ui[i] * vi;
      }
      const d = Math.max((b - a) / (a * a), -gamma[k]);
      gamma[k] += d;
      const c = d / (1 + d * a);
      for (let i = 0; i < L; i++) {
        for (let j = 0; j < L; j++) {
          // u_i conj(u_j)
          wr[i * L + j] -= c * (ur[i] * ur[j] + ui[i] * ui[j]);
          wi[i * L + j] -= c * (ui[i] * ur[j] - ur[i] * ui[j]);
        }
      }
    }
  }
  return gamma;
}

/**
 * Covariance coordinate descent for one trial in float64 (the state of the iteration of
 * {@link covarianceCoordinateDescent}, optimised): b = u^H Sigma_hat u from Y (cost L M) when
 * M < L, otherwise from Sigma_hat (cost L^2).
 */
export class CovarianceCd {
  /** The estimate gamma (length K), updated in place by {@link sweep}. */
  readonly gamma: Float64Array;
  private readonly ytr: Float64Array;
  private readonly yti: Float64Array;
  private readonly cr: Float64Array | undefined;
  private readonly ci: Float64Array | undefined;
  private readonly wr: Float64Array;
  private readonly wi: Float64Array;
  private readonly ur: Float64Array;
  private readonly ui: Float64Array;

  /**
   * @param sRe, sIm codebook, column-major: column k at [k L, (k + 1) L)
   * @param yRe, yIm received block, row-major [L, M]
   */
  constructor(
    private readonly sRe: Float64Array,
    private readonly sIm: Float64Array,
    yRe: ArrayLike<number>,
    yIm: ArrayLike<number>,
    private readonly L: number,
    private readonly M: number,
    noiseVar: number,
  ) {
    const K = sRe.length / L;
    this.gamma = new Float64Array(K);
    // Y^T as row-major [M, L], so that column m of Y is contiguous.
    this.ytr = new Float64Array(M * L);
    this.yti = new Float64Array(M * L);
    for (let i = 0; i < L; i++) {
      for (let m = 0; m < M; m++) {
        this.ytr[m * L + i] = yRe[i * M + m];
        this.yti[m * L + i] = yIm[i * M + m];
      }
    }
    if (M >= L) {
      // Sigma_hat = Y Y^H / M
      this.cr = new Float64Array(L * L);
      this.ci = new Float64Array(L * L);
      for (let i = 0; i < L; i++) {
        for (let j = 0; j < L; j++) {
          let sr = 0;
          let si = 0;
          for (let m = 0; m < M; m++) {
            // y_i conj(y_j)
            const ar = this.ytr[m * L + i];
            const ai = this.yti[m * L + i];
            const br = this.ytr[m * L + j];
            const bi = this.yti[m * L + j];
            sr += ar * br + ai * bi;
            si += ai * br - ar * bi;
          }
          this.cr[i * L + j] = sr / M;
          this.ci[i * L + j] = si / M;
        }
      }
    }
    this.wr = new Float64Array(L * L);
    this.wi = new Float64Array(L * L);
    for (let i = 0; i < L; i++) this.wr[i * L + i] = 1 / noiseVar;
    this.ur = new Float64Array(L);
    this.ui = new Float64Array(L);
  }

  /**
   * MAP objective (paper 001, eq. 16 in gamma units): per-coordinate weight c_k of the linear prior
   * term - sum_k c_k gamma_k, c_k = log(p_k / (1 - p_k)) / (M beta_k); undefined = ML (c = 0).
   */
  prior: Float64Array | undefined;

  /** One sweep over the coordinates in `order`. */
  sweep(order: readonly number[]): void {
    const { L, M, sRe, sIm, wr, wi, ur, ui, ytr, yti, gamma } = this;
    for (const k of order) {
      // u = Sigma^{-1} s_k, a = s_k^H u
      const off = k * L;
      let a = 0;
      for (let i = 0; i < L; i++) {
        let r = 0;
        let im = 0;
        const row = i * L;
        for (let j = 0; j < L; j++) {
          const xr = sRe[off + j];
          const xi = sIm[off + j];
          const pr = wr[row + j];
          const pi = wi[row + j];
          r += pr * xr - pi * xi;
          im += pr * xi + pi * xr;
        }
        ur[i] = r;
        ui[i] = im;
        a += sRe[off + i] * r + sIm[off + i] * im;
      }
      // b = u^H Sigma_hat u
      let b = 0;
      if (this.cr === undefined) {
        for (let m = 0; m < M; m++) {
          let r = 0;
          let im = 0;
          const row = m * L;
          for (let i = 0; i < L; i++) {
            // conj(y_i) u_i
            const yr = ytr[row + i];
            const yi = yti[row + i];
            r += yr * ur[i] + yi * ui[i];
            im += yr * ui[i] - yi * ur[i];
          }
          b += r * r + im * im;
        }
        b /= M;
      } else {
        const cr = this.cr;
        const ci = this.ci as Float64Array;
        for (let i = 0; i < L; i++) {
          let vr = 0;
          let vi = 0;
          const row = i * L;
          for (let j = 0; j < L; j++) {
            vr += cr[row + j] * ur[j] - ci[row + j] * ui[j];
            vi += cr[row + j] * ui[j] + ci[row + j] * ur[j];
          }
          b += ur[i] * vr + ui[i] * vi;
        }
      }
      const d = Math.max(this.prior === undefined ? (b - a) / (a * a) : mapStep(a, b, this.prior[k]), -gamma[k]);
      if (d === 0) continue;
      gamma[k] += d;
      // Sigma^{-1} -= c u u^H, c = d / (1 + d a)
      const c = d / (1 + d * a);
      for (let i = 0; i < L; i++) {
        const cr = c * ur[i];
        const cim = c * ui[i];
        const row = i * L;
        for (let j = 0; j < L; j++) {
          wr[row + j] -= cr * ur[j] + cim * ui[j];
          wi[row + j] -= cim * ur[j] - cr * ui[j];
        }
      }
    }
  }
}

/**
 * The exact minimiser d of f(d) = log(1 + d s) - d q / (1 + d s) - c d along one coordinate (the
 * MAP coordinate step of paper 001, eqs. 18-19 with the sign of eq. 19 corrected), in the
 * division-free form u* = 2 q / (s + sqrt(s^2 - 4 c q)), d = (u* - 1) / s (u = 1 + d s), which is
 * finite at c = 0, where it is the ML step (q - s) / s^2. For c > 0 (prior above 1/2) the
 * discriminant is clamped at 0. The caller clamps d >= -gamma_k.
 */
export function mapStep(s: number, q: number, c: number): number {
  if (c === 0) return (q - s) / (s * s);
  const u = (2 * q) / (s + Math.sqrt(Math.max(0, s * s - 4 * c * q)));
  return (u - 1) / s;
}
