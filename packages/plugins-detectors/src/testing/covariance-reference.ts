/**
 * Reference implementations of the covariance-based estimators for tests: direct float64 loops,
 * independent of the optimised solvers in `algorithms/covariance.ts`.
 */
import { choleskyComplex, sampleCovariance } from '../algorithms/host-complex';

/** One trial's codebook as columns: column k = { re[L], im[L] }. */
type Columns = readonly { re: ArrayLike<number>; im: ArrayLike<number> }[];

/**
 * f(gamma) = log det Sigma + tr(Sigma^{-1} Sigma_hat), Sigma = S diag(gamma) S^H + sigma^2 I, for
 * one trial, evaluated directly in float64 (Cholesky): the objective the covariance coordinate
 * descent minimises (the negative log-likelihood per antenna, up to a constant).
 *
 * @param codebook column k = { re[L], im[L] }
 * @param y        { re, im } row-major [L, M]
 */
export function covarianceObjective(gamma: ArrayLike<number>, codebook: Columns, y: { re: ArrayLike<number>; im: ArrayLike<number> }, L: number, M: number, noiseVar: number): number {
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

/**
 * Reference coordinate descent for the covariance ML estimate of one trial, in float64 with plain
 * loops (Sherman-Morrison on the complex inverse, full L x L matrices).
 *
 * MAP with `prior` (the weights c_k of the linear term - sum_k c_k gamma_k): the step is the root
 * u = 1 + d a of c u^2 - a u + b = 0 that tends to the ML step b / a as c -> 0,
 * u = 2 b / (a + sqrt(max(0, a^2 - 4 c b))), so d = (u - 1) / a.
 *
 * @param orders coordinate order of each sweep
 * @param prior  MAP weights c_k (length K); undefined: ML
 * @returns gamma (length K) after all sweeps
 */
export function covarianceCoordinateDescent(
  codebook: Columns,
  y: { re: ArrayLike<number>; im: ArrayLike<number> },
  L: number,
  M: number,
  noiseVar: number,
  orders: readonly (readonly number[])[],
  prior?: ArrayLike<number>,
): number[] {
  const { re: cr, im: ci } = sampleCovariance(y.re, y.im, L, M);
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
      const step = prior === undefined ? (b - a) / (a * a) : ((2 * b) / (a + Math.sqrt(Math.max(0, a * a - 4 * prior[k] * b))) - 1) / a;
      const d = Math.max(step, -gamma[k]);
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
