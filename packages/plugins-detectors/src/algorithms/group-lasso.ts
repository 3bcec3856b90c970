/**
 * GROUP LASSO for the multiple-measurement-vector model Y = A X + Z (jointly sparse rows of X):
 *
 *   min_X 0.5 ||A X - Y||_F^2 + lambda sum_n ||X_{n,:}||_2
 *
 * solved by the parallel ADMM of Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and
 * support recovery via deep learning with applications in MIMO-based grant-free random access",
 * IEEE J. Sel. Areas Commun., 2021, Sec. III-B.1, Eqs. (4)-(10), Algorithm 1 ({@link groupLassoAdmm},
 * batched in tfjs and differentiable), or by block coordinate descent over the rows
 * ({@link groupLassoBcd}, float64 on the host, trial by trial).
 */
import * as tf from '@tensorflow/tfjs';
import { cx, type ComplexTensor } from '@gfra/core';

/** Stacked-real layout: [Re; Im] rows, trials and antennas as columns ([2R, B*M]). */
function stackColumns(z: ComplexTensor): tf.Tensor2D {
  const [B, R, M] = z.re.shape as [number, number, number];
  const flat = (t: tf.Tensor) => tf.reshape(tf.transpose(t, [1, 0, 2]), [R, B * M]);
  return tf.concat([flat(z.re), flat(z.im)], 0) as tf.Tensor2D;
}

/** Inverse of {@link stackColumns}: [2R, B*M] -> [B, R, M] complex. */
function unstackColumns(v: tf.Tensor2D, B: number, M: number): ComplexTensor {
  const R = v.shape[0] / 2;
  const [re, im] = tf.split(v, 2, 0);
  const back = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [R, B, M]), [1, 0, 2]) as tf.Tensor3D;
  return { re: back(re), im: back(im) };
}

/**
 * Algorithm 1 of Cui, Li, Zhang (GROUP LASSO by ADMM in sharing form, all rows in parallel), for
 * a batch: solves min_X 0.5 ||A X - Y||_F^2 + lambda sum_n ||X_{n,:}||_2 for every trial.
 * Starting from X = 0, Bbar = 0, C = 0 (L x M), with d_n = ||a_n||^2, for k = 0 .. K-1:
 *
 *   P = A X / N
 *   T = diag(d) X + A^H (Bbar - P - C)                    (row n = t_n of Theorem 1)
 *   X_{n,:} = max(0, 1 - lambda / (rho ||t_n||_2)) t_n / d_n          (Eq. (9))
 *   P = A X / N
 *   Bbar = (Y + rho P + rho C) / (N + rho)                              (Eq. (10))
 *   C = C + P - Bbar                                                     (Eq. (8))
 *
 * Differentiable in y, pilots, lambda and rho (||t|| = sqrt(sum |t|^2 + 1e-12) keeps the gradient
 * finite at 0). All tensors are real pairs; A X and A^H Q are each one real 2-D matMul over all
 * trials and antennas (layout [2 rows, B*M]).
 *
 * @param y      [B, L, M] complex
 * @param pilots [L, N] complex, or [B, L, N] (one pilot matrix per trial)
 * @returns      [B, N, M] complex: X after `iterations` iterations
 */
export function groupLassoAdmm(y: ComplexTensor, pilots: ComplexTensor, lambda: tf.Scalar | number, rho: tf.Scalar | number, iterations: number): ComplexTensor {
  if (pilots.re.rank === 3) return groupLassoAdmmPerTrial(y, pilots, lambda, rho, iterations);
  return cx.tidy(() => {
    const [B, L, M] = y.re.shape as [number, number, number];
    const N = pilots.re.shape[1] as number;
    const aReal = cx.realMatrix(pilots) as tf.Tensor2D; // [2L, 2N] = [[Ar, -Ai], [Ai, Ar]]
    const aHReal = tf.transpose(aReal) as tf.Tensor2D; // [2N, 2L] = real(A^H)
    const d = tf.sum(cx.abs2(pilots), 0); // [N]
    const d2 = tf.reshape(tf.concat([d, d]), [2 * N, 1]);
    const ys = stackColumns(y); // [2L, BM]
    const ratio = tf.div(lambda, rho);
    const nPlusRho = tf.add(N, rho);
    let x = tf.zeros([2 * N, B * M]) as tf.Tensor2D;
    let bbar = tf.zeros([2 * L, B * M]) as tf.Tensor2D;
    let c = tf.zeros([2 * L, B * M]) as tf.Tensor2D;
    let p = tf.zeros([2 * L, B * M]) as tf.Tensor2D; // A X / N
    for (let k = 0; k < iterations; k++) {
      const t = tf.add(tf.mul(d2, x), tf.matMul(aHReal, tf.sub(tf.sub(bbar, p), c))); // [2N, BM]
      const t4 = tf.reshape(t, [2, N, B, M]);
      const norm = tf.sqrt(tf.add(tf.sum(tf.square(t4), [0, 3]), 1e-12)); // [N, B]
      const gain = tf.div(tf.relu(tf.sub(1, tf.div(ratio, norm))), tf.reshape(d, [N, 1])); // [N, B]
      x = tf.reshape(tf.mul(t4, tf.reshape(gain, [1, N, B, 1])), [2 * N, B * M]) as tf.Tensor2D;
      p = tf.div(tf.matMul(aReal, x), N) as tf.Tensor2D;
      bbar = tf.div(tf.add(ys, tf.mul(rho, tf.add(p, c))), nPlusRho) as tf.Tensor2D;
      c = tf.sub(tf.add(c, p), bbar) as tf.Tensor2D;
    }
    return unstackColumns(x, B, M);
  });
}

/**
 * {@link groupLassoAdmm} with one pilot matrix per trial, A_b = pilots[b] ([B, L, N] complex): the
 * same iteration, trial b with its own A_b, in the layout [B, 2R, M] with batched matmuls.
 */
function groupLassoAdmmPerTrial(y: ComplexTensor, pilots: ComplexTensor, lambda: tf.Scalar | number, rho: tf.Scalar | number, iterations: number): ComplexTensor {
  return cx.tidy(() => {
    const [B, L, M] = y.re.shape as [number, number, number];
    const N = pilots.re.shape[2] as number;
    const aReal = cx.realMatrix(pilots) as tf.Tensor3D; // [B, 2L, 2N]
    const aHReal = tf.transpose(aReal, [0, 2, 1]) as tf.Tensor3D; // [B, 2N, 2L] = real(A_b^H)
    const d = tf.sum(cx.abs2(pilots), 1); // [B, N]
    const d2 = tf.reshape(tf.concat([d, d], 1), [B, 2 * N, 1]);
    const ys = tf.concat([y.re, y.im], 1); // [B, 2L, M]
    const ratio = tf.div(lambda, rho);
    const nPlusRho = tf.add(N, rho);
    let x = tf.zeros([B, 2 * N, M]) as tf.Tensor3D;
    let bbar = tf.zeros([B, 2 * L, M]) as tf.Tensor3D;
    let c = tf.zeros([B, 2 * L, M]) as tf.Tensor3D;
    let p = tf.zeros([B, 2 * L, M]) as tf.Tensor3D; // A X / N
    for (let k = 0; k < iterations; k++) {
      const t = tf.add(tf.mul(d2, x), tf.matMul(aHReal, tf.sub(tf.sub(bbar, p), c) as tf.Tensor3D)); // [B, 2N, M]
      const t4 = tf.reshape(t, [B, 2, N, M]);
      const norm = tf.sqrt(tf.add(tf.sum(tf.square(t4), [1, 3]), 1e-12)); // [B, N]
      const gain = tf.div(tf.relu(tf.sub(1, tf.div(ratio, norm))), d); // [B, N]
      x = tf.reshape(tf.mul(t4, tf.reshape(gain, [B, 1, N, 1])), [B, 2 * N, M]) as tf.Tensor3D;
      p = tf.div(tf.matMul(aReal, x), N) as tf.Tensor3D;
      bbar = tf.div(tf.add(ys, tf.mul(rho, tf.add(p, c))), nPlusRho) as tf.Tensor3D;
      c = tf.sub(tf.add(c, p), bbar) as tf.Tensor3D;
    }
    const [re, im] = tf.split(x, 2, 1) as [tf.Tensor3D, tf.Tensor3D];
    return { re, im };
  });
}

/**
 * GROUP LASSO by block coordinate descent (the baseline Algorithm 1 replaces), one trial, float64
 * on the host: keep R = Y - A X; for n = 1..N in turn, R += a_n x_n, t = a_n^H R,
 * x_n = max(0, 1 - lambda / ||t||_2) t / ||a_n||^2, R -= a_n x_n. Each row update is the exact
 * minimiser of the objective over that row, so the objective never increases.
 *
 * @param aRe, aIm pilots, row-major [L, N]
 * @param yRe, yIm received block, row-major [L, M]
 * @returns X row-major [N, M] (re, im)
 */
export function groupLassoBcd(
  aRe: ArrayLike<number>,
  aIm: ArrayLike<number>,
  yRe: ArrayLike<number>,
  yIm: ArrayLike<number>,
  L: number,
  N: number,
  M: number,
  lambda: number,
  sweeps: number,
): { re: Float64Array; im: Float64Array } {
  const xr = new Float64Array(N * M);
  const xi = new Float64Array(N * M);
  const rr = Float64Array.from(yRe);
  const ri = Float64Array.from(yIm);
  const d = new Float64Array(N);
  for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) d[n] += aRe[l * N + n] ** 2 + aIm[l * N + n] ** 2;
  const t = new Float64Array(2 * M);
  for (let s = 0; s < sweeps; s++) {
    for (let n = 0; n < N; n++) {
      // t = a_n^H (R + a_n x_n) = a_n^H R + d_n x_n
      let norm2 = 0;
      for (let m = 0; m < M; m++) {
        let tr = d[n] * xr[n * M + m];
        let ti = d[n] * xi[n * M + m];
        for (let l = 0; l < L; l++) {
          const ar = aRe[l * N + n];
          const ai = aIm[l * N + n];
          // conj(a) r = (ar r_r + ai r_i) + i (ar r_i - ai r_r)
          tr += ar * rr[l * M + m] + ai * ri[l * M + m];
          ti += ar * ri[l * M + m] - ai * rr[l * M + m];
        }
        t[2 * m] = tr;
        t[2 * m + 1] = ti;
        norm2 += tr * tr + ti * ti;
      }
      const norm = Math.sqrt(norm2);
      const g = norm > lambda ? (1 - lambda / norm) / d[n] : 0;
      for (let m = 0; m < M; m++) {
        const dr = g * t[2 * m] - xr[n * M + m];
        const di = g * t[2 * m + 1] - xi[n * M + m];
        if (dr === 0 && di === 0) continue;
        xr[n * M + m] += dr;
        xi[n * M + m] += di;
        // R -= a_n (delta x):  (ar + i ai)(dr + i di) = (ar dr - ai di) + i (ar di + ai dr)
        for (let l = 0; l < L; l++) {
          const ar = aRe[l * N + n];
          const ai = aIm[l * N + n];
          rr[l * M + m] -= ar * dr - ai * di;
          ri[l * M + m] -= ar * di + ai * dr;
        }
      }
    }
  }
  return { re: xr, im: xi };
}

/**
 * {@link groupLassoBcd} for every trial of a batch (host, float64), returned as float32 tensors.
 *
 * @param y      [B, L, M] complex
 * @param pilots [L, N] complex, or [B, L, N] (one pilot matrix per trial)
 * @returns      [B, N, M] complex: X after `sweeps` sweeps
 */
export function groupLassoBcdBatch(y: ComplexTensor, pilots: ComplexTensor, lambda: number, sweeps: number): ComplexTensor {
  const [B, L, M] = y.re.shape as [number, number, number];
  const N = pilots.re.shape[pilots.re.rank - 1] as number;
  const [allRe, allIm] = [pilots.re.dataSync(), pilots.im.dataSync()];
  // per-trial pilots [B, L, N]: trial b's own [L, N] block
  const perTrial = pilots.re.rank === 3;
  const [yRe, yIm] = [y.re.dataSync(), y.im.dataSync()];
  const re = new Float32Array(B * N * M);
  const im = new Float32Array(B * N * M);
  const per = L * M;
  for (let b = 0; b < B; b++) {
    const aRe = perTrial ? allRe.subarray(b * L * N, (b + 1) * L * N) : allRe;
    const aIm = perTrial ? allIm.subarray(b * L * N, (b + 1) * L * N) : allIm;
    const x = groupLassoBcd(aRe, aIm, yRe.subarray(b * per, (b + 1) * per), yIm.subarray(b * per, (b + 1) * per), L, N, M, lambda, sweeps);
    re.set(x.re, b * N * M);
    im.set(x.im, b * N * M);
  }
  return { re: tf.tensor3d(re, [B, N, M]), im: tf.tensor3d(im, [B, N, M]) };
}
