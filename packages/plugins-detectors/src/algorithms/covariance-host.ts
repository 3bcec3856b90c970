/**
 * Float64 host kernels of the covariance coordinate descent ({@link CovarianceCd} in
 * `covariance.ts`): complex vectors and matrices stored interleaved (entry i at [2i, 2i + 1] =
 * (re, im)), Hermitian matrices by their upper triangle only. No tfjs, no allocation.
 *
 * A Hermitian n x n matrix H is a row-major interleaved square array (entry (i, j) at
 * 2 (i n + j)) of which only the entries j >= i are read or written; the diagonal is real (its
 * imaginary slots are ignored). Reading each stored off-diagonal entry once for both H_ij and
 * H_ji = conj(H_ij) halves the memory traffic of a product and the work of a rank-one update.
 *
 * The loops take two rows at a time (four independent accumulators) so that consecutive
 * floating-point additions do not wait on each other; every entry of a result is a sum in a
 * fixed order that depends only on the sizes, never on other data or on a batch.
 *
 * `assembly/covariance.ts` repeats these loops (and the coordinate loops of `covariance.ts`) in
 * WebAssembly SIMD, one complex entry per f64x2, operation for operation, so with the same bits:
 * `covarianceCdHost` and `covarianceLassoHost` run them where they load (about 3 times faster),
 * these functions otherwise (GFRA_WASM=off, no WebAssembly SIMD). A change to a loop here must be
 * made there too (`covariance-host.test.ts` compares the two bit for bit).
 */

/**
 * The columns of a row-major [L, K] complex matrix, column-major and interleaved: column k at
 * [2 k L, 2 (k + 1) L), entry l at 2 (k L + l) (re) and 2 (k L + l) + 1 (im).
 */
export function interleavedColumns(aRe: ArrayLike<number>, aIm: ArrayLike<number>, L: number, K: number): Float64Array {
  const out = new Float64Array(2 * L * K);
  for (let l = 0; l < L; l++) {
    for (let k = 0; k < K; k++) {
      out[2 * (k * L + l)] = aRe[l * K + k];
      out[2 * (k * L + l) + 1] = aIm[l * K + k];
    }
  }
  return out;
}

/**
 * The upper triangle of the sample covariance Sigma_hat = Y Y^H / M of Y row-major [L, M] (split
 * re/im), as a Hermitian interleaved [L, L] array (see the module comment):
 * (Sigma_hat)_ij = (1/M) sum_m y_im conj(y_jm), j >= i.
 */
export function hermitianSampleCovariance(yRe: ArrayLike<number>, yIm: ArrayLike<number>, L: number, M: number): Float64Array {
  const out = new Float64Array(2 * L * L);
  for (let i = 0; i < L; i++) {
    for (let j = i; j < L; j++) {
      let sr = 0;
      let si = 0;
      for (let m = 0; m < M; m++) {
        // y_i conj(y_j) = (ar + i ai)(br - i bi)
        const ar = yRe[i * M + m];
        const ai = yIm[i * M + m];
        const br = yRe[j * M + m];
        const bi = yIm[j * M + m];
        sr += ar * br + ai * bi;
        si += ai * br - ar * bi;
      }
      out[2 * (i * L + j)] = sr / M;
      out[2 * (i * L + j) + 1] = i === j ? 0 : si / M;
    }
  }
  return out;
}

/** Y^H of Y row-major [L, M] (split re/im), as a row-major interleaved [M, L] array: entry (m, i) = conj(y_im). */
export function interleavedAdjoint(yRe: ArrayLike<number>, yIm: ArrayLike<number>, L: number, M: number): Float64Array {
  const out = new Float64Array(2 * L * M);
  for (let i = 0; i < L; i++) {
    for (let m = 0; m < M; m++) {
      out[2 * (m * L + i)] = yRe[i * M + m];
      out[2 * (m * L + i) + 1] = -yIm[i * M + m];
    }
  }
  return out;
}

/**
 * u = H x for a Hermitian n x n H (upper triangle, interleaved) and x interleaved at
 * x[xOff .. xOff + 2n); u (length 2n) is overwritten.
 */
export function hermitianTimes(h: Float64Array, n: number, x: Float64Array, xOff: number, u: Float64Array): void {
  const n2 = 2 * n;
  u.fill(0, 0, n2);
  let i2 = 0;
  for (; i2 + 2 < n2; i2 += 4) {
    // rows i and i + 1 (i2 = 2 i): their own entries, then the columns j >= i + 2
    const row0 = i2 * n;
    const row1 = row0 + n2;
    const x0r = x[xOff + i2];
    const x0i = x[xOff + i2 + 1];
    const x1r = x[xOff + i2 + 2];
    const x1i = x[xOff + i2 + 3];
    const d0 = h[row0 + i2];
    const d1 = h[row1 + i2 + 2];
    const pr = h[row0 + i2 + 2]; // H_{i, i+1}
    const pi = h[row0 + i2 + 3];
    let r0 = u[i2] + d0 * x0r + (pr * x1r - pi * x1i);
    let i0 = u[i2 + 1] + d0 * x0i + (pr * x1i + pi * x1r);
    let r1 = u[i2 + 2] + d1 * x1r + (pr * x0r + pi * x0i);
    let i1 = u[i2 + 3] + d1 * x1i + (pr * x0i - pi * x0r);
    for (let j = i2 + 4; j < n2; j += 2) {
      const xr = x[xOff + j];
      const xi = x[xOff + j + 1];
      const p0 = h[row0 + j];
      const q0 = h[row0 + j + 1];
      const p1 = h[row1 + j];
      const q1 = h[row1 + j + 1];
      r0 += p0 * xr - q0 * xi;
      i0 += p0 * xi + q0 * xr;
      r1 += p1 * xr - q1 * xi;
      i1 += p1 * xi + q1 * xr;
      // u_j += conj(H_ij) x_i + conj(H_{i+1, j}) x_{i+1}
      u[j] += p0 * x0r + q0 * x0i + (p1 * x1r + q1 * x1i);
      u[j + 1] += p0 * x0i - q0 * x0r + (p1 * x1i - q1 * x1r);
    }
    u[i2] = r0;
    u[i2 + 1] = i0;
    u[i2 + 2] = r1;
    u[i2 + 3] = i1;
  }
  if (i2 < n2) {
    // odd n: the last row has only its diagonal entry
    const d = h[i2 * n + i2];
    u[i2] += d * x[xOff + i2];
    u[i2 + 1] += d * x[xOff + i2 + 1];
  }
}

/** The real quadratic form u^H H u for a Hermitian n x n H (upper triangle, interleaved) and u interleaved (length 2n). */
export function hermitianForm(h: Float64Array, n: number, u: Float64Array): number {
  const n2 = 2 * n;
  // sum_i H_ii |u_i|^2 + 2 Re sum_i conj(u_i) z_i, z_i = sum_{j > i} H_ij u_j
  let diagonal = 0;
  let cross = 0;
  let i2 = 0;
  for (; i2 + 2 < n2; i2 += 4) {
    const row0 = i2 * n;
    const row1 = row0 + n2;
    const u0r = u[i2];
    const u0i = u[i2 + 1];
    const u1r = u[i2 + 2];
    const u1i = u[i2 + 3];
    const pr = h[row0 + i2 + 2];
    const pi = h[row0 + i2 + 3];
    let r0 = pr * u1r - pi * u1i;
    let i0 = pr * u1i + pi * u1r;
    let r1 = 0;
    let i1 = 0;
    for (let j = i2 + 4; j < n2; j += 2) {
      const xr = u[j];
      const xi = u[j + 1];
      const p0 = h[row0 + j];
      const q0 = h[row0 + j + 1];
      const p1 = h[row1 + j];
      const q1 = h[row1 + j + 1];
      r0 += p0 * xr - q0 * xi;
      i0 += p0 * xi + q0 * xr;
      r1 += p1 * xr - q1 * xi;
      i1 += p1 * xi + q1 * xr;
    }
    diagonal += h[row0 + i2] * (u0r * u0r + u0i * u0i) + h[row1 + i2 + 2] * (u1r * u1r + u1i * u1i);
    cross += u0r * r0 + u0i * i0 + (u1r * r1 + u1i * i1);
  }
  if (i2 < n2) diagonal += h[i2 * n + i2] * (u[i2] * u[i2] + u[i2 + 1] * u[i2 + 1]);
  return diagonal + 2 * cross;
}

/**
 * ||A x||^2 for a row-major interleaved [rows, n] complex A and x interleaved (length 2n):
 * the rows' products summed in squares.
 */
export function rowsTimesNorm2(a: Float64Array, rows: number, n: number, x: Float64Array): number {
  const n2 = 2 * n;
  let sum = 0;
  let r = 0;
  for (; r + 1 < rows; r += 2) {
    const row0 = r * n2;
    const row1 = row0 + n2;
    let r0 = 0;
    let i0 = 0;
    let r1 = 0;
    let i1 = 0;
    for (let j = 0; j < n2; j += 2) {
      const xr = x[j];
      const xi = x[j + 1];
      const p0 = a[row0 + j];
      const q0 = a[row0 + j + 1];
      const p1 = a[row1 + j];
      const q1 = a[row1 + j + 1];
      r0 += p0 * xr - q0 * xi;
      i0 += p0 * xi + q0 * xr;
      r1 += p1 * xr - q1 * xi;
      i1 += p1 * xi + q1 * xr;
    }
    sum += r0 * r0 + i0 * i0 + (r1 * r1 + i1 * i1);
  }
  if (r < rows) {
    const row = r * n2;
    let re = 0;
    let im = 0;
    for (let j = 0; j < n2; j += 2) {
      const p = a[row + j];
      const q = a[row + j + 1];
      re += p * x[j] - q * x[j + 1];
      im += p * x[j + 1] + q * x[j];
    }
    sum += re * re + im * im;
  }
  return sum;
}

/** H -= c u u^H on the upper triangle of a Hermitian n x n H (interleaved; the diagonal stays real), c real. */
export function hermitianRankOneUpdate(h: Float64Array, n: number, c: number, u: Float64Array): void {
  const n2 = 2 * n;
  for (let i2 = 0; i2 < n2; i2 += 2) {
    const ur = u[i2];
    const ui = u[i2 + 1];
    const cr = c * ur;
    const ci = c * ui;
    const row = i2 * n;
    h[row + i2] -= cr * ur + ci * ui;
    // H_ij -= c u_i conj(u_j)
    for (let j = i2 + 2; j < n2; j += 2) {
      const vr = u[j];
      const vi = u[j + 1];
      h[row + j] -= cr * vr + ci * vi;
      h[row + j + 1] -= ci * vr - cr * vi;
    }
  }
}
