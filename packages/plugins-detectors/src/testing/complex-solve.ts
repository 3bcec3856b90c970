/**
 * Reference linear algebra for the detector tests, independent of the plugins: a complex solve on
 * the host in float64.
 */

/** A complex number as [re, im]. */
export type HostComplex = [number, number];

/** Solves the complex system A x = b (A n x n) through its real 2n x 2n form, Gauss-Jordan with partial pivoting. */
export function solveComplex(A: HostComplex[][], b: HostComplex[]): HostComplex[] {
  const n = b.length;
  const M = Array.from({ length: 2 * n }, (_, i) => {
    const r = i % n;
    const imag = i >= n;
    const row = Array.from({ length: 2 * n }, (_, j) => {
      const c = j % n;
      const [ar, ai] = A[r][c];
      if (!imag) return j < n ? ar : -ai;
      return j < n ? ai : ar;
    });
    row.push(imag ? b[r][1] : b[r][0]);
    return row;
  });
  for (let col = 0; col < 2 * n; col++) {
    let piv = col;
    for (let i = col + 1; i < 2 * n; i++) if (Math.abs(M[i][col]) > Math.abs(M[piv][col])) piv = i;
    [M[col], M[piv]] = [M[piv], M[col]];
    for (let i = 0; i < 2 * n; i++) {
      if (i === col) continue;
      const f = M[i][col] / M[col][col];
      for (let j = col; j <= 2 * n; j++) M[i][j] -= f * M[col][j];
    }
  }
  return Array.from({ length: n }, (_, i) => [M[i][2 * n] / M[i][i], M[i + n][2 * n] / M[i + n][i + n]] as HostComplex);
}
