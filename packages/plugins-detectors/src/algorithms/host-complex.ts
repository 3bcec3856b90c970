/**
 * Small complex linear algebra on the host in float64: the sample covariance, Gram matrices and
 * matched-filter outputs of a few pilot columns, and Cholesky factorisation and solves. Used by
 * the sequential detectors (coordinate descent, LASSO set-up, LMMSE on a detected set) and by the
 * reference implementations of the tests. No tfjs.
 *
 * A complex matrix is a pair of row-major arrays `{ re, im }`; a codebook (pilot matrix) A is
 * row-major [L, K] (entry (l, k) at l K + k), as the tensors' `dataSync()` gives it.
 */

/** A complex matrix on the host: row-major real and imaginary parts. */
export interface HostComplex {
  readonly re: Float64Array;
  readonly im: Float64Array;
}

/**
 * The sample covariance Sigma_hat = Y Y^H / M, row-major [L, L], of Y row-major [L, M]:
 * (Sigma_hat)_ij = (1/M) sum_m y_im conj(y_jm).
 */
export function sampleCovariance(yRe: ArrayLike<number>, yIm: ArrayLike<number>, L: number, M: number): HostComplex {
  const cr = new Float64Array(L * L);
  const ci = new Float64Array(L * L);
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      let sr = 0;
      let si = 0;
      for (let m = 0; m < M; m++) {
        // y_i conj(y_j) = (ar + i ai)(br - i bi) = (ar br + ai bi) + i (ai br - ar bi)
        const ar = yRe[i * M + m];
        const ai = yIm[i * M + m];
        const br = yRe[j * M + m];
        const bi = yIm[j * M + m];
        sr += ar * br + ai * bi;
        si += ai * br - ar * bi;
      }
      cr[i * L + j] = sr / M;
      ci[i * L + j] = si / M;
    }
  }
  return { re: cr, im: ci };
}

/** The columns of a row-major [L, K] matrix, column-major (column k at [k L, (k + 1) L)), float64. */
export function columnMajor(aRe: ArrayLike<number>, aIm: ArrayLike<number>, L: number, K: number): HostComplex {
  const re = new Float64Array(L * K);
  const im = new Float64Array(L * K);
  for (let l = 0; l < L; l++) {
    for (let k = 0; k < K; k++) {
      re[k * L + l] = aRe[l * K + k];
      im[k * L + l] = aIm[l * K + k];
    }
  }
  return { re, im };
}

/**
 * The Gram matrix G = A_S^H A_S of the columns `columns` = (k_1, ..., k_s) of A (row-major
 * [L, K]), row-major [s, s]: G_ij = a_{k_i}^H a_{k_j} = sum_l conj(a_{l k_i}) a_{l k_j}, the upper
 * triangle computed and mirrored (G_ji = conj(G_ij)).
 */
export function gramColumns(aRe: ArrayLike<number>, aIm: ArrayLike<number>, L: number, K: number, columns: readonly number[]): HostComplex {
  const s = columns.length;
  const gRe = new Float64Array(s * s);
  const gIm = new Float64Array(s * s);
  for (let i = 0; i < s; i++) {
    const ki = columns[i];
    for (let j = i; j < s; j++) {
      const kj = columns[j];
      let re = 0;
      let im = 0;
      for (let l = 0; l < L; l++) {
        // conj(a_i[l]) a_j[l] = (ar - i ai)(br + i bi) = (ar br + ai bi) + i (ar bi - ai br)
        const ar = aRe[l * K + ki];
        const ai = aIm[l * K + ki];
        const br = aRe[l * K + kj];
        const bi = aIm[l * K + kj];
        re += ar * br + ai * bi;
        im += ar * bi - ai * br;
      }
      gRe[i * s + j] = re;
      gIm[i * s + j] = im;
      gRe[j * s + i] = re;
      gIm[j * s + i] = -im;
    }
  }
  return { re: gRe, im: gIm };
}

/**
 * The matched-filter outputs A_S^H Y, row-major [s, M], of the columns `columns` of A (row-major
 * [L, K]) and Y (row-major [L, M], starting at `yOffset`): entry (i, m) = sum_l conj(a_{l k_i}) y_lm.
 */
export function adjointTimes(
  aRe: ArrayLike<number>,
  aIm: ArrayLike<number>,
  L: number,
  K: number,
  columns: readonly number[],
  yRe: ArrayLike<number>,
  yIm: ArrayLike<number>,
  yOffset: number,
  M: number,
): HostComplex {
  const s = columns.length;
  const rRe = new Float64Array(s * M);
  const rIm = new Float64Array(s * M);
  for (let i = 0; i < s; i++) {
    const ki = columns[i];
    for (let l = 0; l < L; l++) {
      const ar = aRe[l * K + ki];
      const ai = aIm[l * K + ki];
      const base = yOffset + l * M;
      for (let m = 0; m < M; m++) {
        // conj(a) y = (ar - i ai)(vr + i vi) = (ar vr + ai vi) + i (ar vi - ai vr)
        const vr = yRe[base + m];
        const vi = yIm[base + m];
        rRe[i * M + m] += ar * vr + ai * vi;
        rIm[i * M + m] += ar * vi - ai * vr;
      }
    }
  }
  return { re: rRe, im: rIm };
}

/** Lower Cholesky factor C (real diagonal), A = C C^H, of a Hermitian positive-definite n x n matrix. */
export function choleskyComplex(ar: Float64Array, ai: Float64Array, n: number): HostComplex {
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
 * real diagonal; as returned by {@link choleskyComplex}) and R row-major n x m: forward
 * substitution C Z = R, then back substitution C^H X = Z.
 */
export function choleskySolveComplex(c: HostComplex, n: number, rRe: Float64Array, rIm: Float64Array, m: number): void {
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
