/**
 * Reference objectives of the LASSO solvers for tests (host, float64, direct loops).
 */
import { sampleCovariance } from '../algorithms/host-complex';

/** The GROUP LASSO objective 0.5 ||A X - Y||_F^2 + lambda sum_n ||X_{n,:}||_2 of one trial (host, float64). */
export function groupLassoObjective(
  aRe: ArrayLike<number>,
  aIm: ArrayLike<number>,
  yRe: ArrayLike<number>,
  yIm: ArrayLike<number>,
  xRe: ArrayLike<number>,
  xIm: ArrayLike<number>,
  L: number,
  N: number,
  M: number,
  lambda: number,
): number {
  let fit = 0;
  for (let l = 0; l < L; l++) {
    for (let m = 0; m < M; m++) {
      let er = -yRe[l * M + m];
      let ei = -yIm[l * M + m];
      for (let n = 0; n < N; n++) {
        const ar = aRe[l * N + n];
        const ai = aIm[l * N + n];
        er += ar * xRe[n * M + m] - ai * xIm[n * M + m];
        ei += ar * xIm[n * M + m] + ai * xRe[n * M + m];
      }
      fit += er * er + ei * ei;
    }
  }
  let penalty = 0;
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let m = 0; m < M; m++) s += xRe[n * M + m] ** 2 + xIm[n * M + m] ** 2;
    penalty += Math.sqrt(s);
  }
  return 0.5 * fit + lambda * penalty;
}

/**
 * The covariance-LASSO objective 0.5 ||Z - sum_n r_n a_n a_n^H||_F^2 + lambda sum_n r_n of one
 * trial (host, float64), evaluated directly on the L x L matrices (an independent route from the
 * Gram form used by the solver `covarianceLassoHost`). Inputs as there; r of length N.
 */
export function covarianceLassoObjective(
  aRe: ArrayLike<number>,
  aIm: ArrayLike<number>,
  yRe: ArrayLike<number>,
  yIm: ArrayLike<number>,
  L: number,
  N: number,
  M: number,
  sigma2: number,
  lambda: number,
  r: ArrayLike<number>,
  subtractNoise = true,
): number {
  const cov = sampleCovariance(yRe, yIm, L, M);
  let fit = 0;
  for (let i = 0; i < L; i++)
    for (let j = 0; j < L; j++) {
      let er = cov.re[i * L + j];
      let ei = cov.im[i * L + j];
      if (subtractNoise && i === j) er -= sigma2;
      // - sum_n r_n a_in conj(a_jn)
      for (let n = 0; n < N; n++) {
        if (r[n] === 0) continue;
        const ar = aRe[i * N + n];
        const ai = aIm[i * N + n];
        const br = aRe[j * N + n];
        const bi = aIm[j * N + n];
        er -= r[n] * (ar * br + ai * bi);
        ei -= r[n] * (ai * br - ar * bi);
      }
      fit += er * er + ei * ei;
    }
  let l1 = 0;
  for (let n = 0; n < N; n++) l1 += r[n];
  return 0.5 * fit + lambda * l1;
}
