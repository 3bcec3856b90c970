/**
 * The pure JavaScript general matrix product, the fallback of {@link Blas} where no native BLAS
 * can be loaded: C = alpha op(A) op(B) + beta C on row-major storage with leading dimensions and
 * offsets, as `cblas_?gemm` with `CblasRowMajor`. Sums run in float64 (JavaScript numbers) in the
 * order p = 0 .. k-1 for every entry, so an entry never depends on the matrix sizes, its position
 * or the other columns; results are stored in the array's precision.
 */

/** A dense real array: float32 or float64. */
export type RealArray = Float32Array | Float64Array;

/**
 * C[m x n] = alpha op(A)[m x k] op(B)[k x n] + beta C, all row-major: entry (i, j) of C at
 * c[cOff + i ldc + j]; op(A)(i, p) = a[aOff + i lda + p], or a[aOff + p lda + i] when `transA`;
 * likewise op(B)(p, j) = b[bOff + p ldb + j], or b[bOff + j ldb + p] when `transB`.
 * beta = 0 overwrites C (NaN in C does not propagate), as BLAS specifies.
 */
export function gemmJs(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: RealArray,
  aOff: number,
  lda: number,
  b: RealArray,
  bOff: number,
  ldb: number,
  beta: number,
  c: RealArray,
  cOff: number,
  ldc: number,
): void {
  // strides of op(A)(i, p) and op(B)(p, j)
  const aI = transA ? 1 : lda;
  const aP = transA ? lda : 1;
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    const cRow = cOff + i * ldc;
    const aRow = aOff + i * aI;
    if (transB) {
      // op(B) row p is column p of the stored B: dot products over contiguous runs
      for (let j = 0; j < n; j++) {
        let s = 0;
        const bRow = bOff + j * ldb;
        for (let p = 0; p < k; p++) s += a[aRow + p * aP] * b[bRow + p];
        row[j] = s;
      }
    } else {
      // row i of op(A) times B, accumulated over p = 0 .. k-1 (the same order as above)
      row.fill(0);
      for (let p = 0; p < k; p++) {
        const aip = a[aRow + p * aP];
        const bRow = bOff + p * ldb;
        for (let j = 0; j < n; j++) row[j] += aip * b[bRow + j];
      }
    }
    if (beta === 0) for (let j = 0; j < n; j++) c[cRow + j] = alpha * row[j];
    else for (let j = 0; j < n; j++) c[cRow + j] = alpha * row[j] + beta * c[cRow + j];
  }
}
