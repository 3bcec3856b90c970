/**
 * The sample-covariance features of the covariance-based activity decoder: Y. Cui, S. Li,
 * W. Zhang, "Jointly sparse signal recovery and support recovery via deep learning with
 * applications in MIMO-based grant-free random access", IEEE J. Sel. Areas Commun., 2021,
 * Sec. IV-A.1, Eqs. (14)-(15):
 *
 *   S = Y Y^H / M,   Re S = (Yr Yr^T + Yi Yi^T) / M,   Im S = (Yi Yr^T - Yr Yi^T) / M,
 *   x = [vec Re S; vec Im S]   (row-major),
 *
 * for every trial of a batch, Y [L, M].
 */
import * as tf from '@tensorflow/tfjs';
import { differentiableOp, heapAccess, matMulFast, tapeIsRecording } from '@gfra/core';
import { hermitianSampleCovariance } from './covariance-host';

/** The features on tfjs: four batched products [L, M] x [M, L]. */
function onTfjs(yr: tf.Tensor3D, yi: tf.Tensor3D): tf.Tensor2D {
  const [B, L, M] = yr.shape;
  const yrT = tf.transpose(yr, [0, 2, 1]) as tf.Tensor3D;
  const yiT = tf.transpose(yi, [0, 2, 1]) as tf.Tensor3D;
  const re = tf.add(matMulFast(yr, yrT), matMulFast(yi, yiT));
  const im = tf.sub(matMulFast(yi, yrT), matMulFast(yr, yiT));
  return tf.div(tf.concat([tf.reshape(re, [B, L * L]), tf.reshape(im, [B, L * L])], 1), M) as tf.Tensor2D;
}

/**
 * x [B, 2 L^2] from yr, yi [B, L, M] (row-major views), trial by trial: the upper triangle of
 * Y Y^H / M from {@link hermitianSampleCovariance} (the covariance receivers' own), mirrored
 * (Re S symmetric, Im S antisymmetric).
 */
function forwardLoops(x: Float32Array, yr: Float32Array, yi: Float32Array, B: number, L: number, M: number): void {
  const LL = L * L;
  for (let b = 0; b < B; b++) {
    const y0 = b * L * M;
    const x0 = b * 2 * LL;
    const s = hermitianSampleCovariance(yr.subarray(y0, y0 + L * M), yi.subarray(y0, y0 + L * M), L, M);
    for (let i = 0; i < L; i++) {
      for (let j = i; j < L; j++) {
        const [re, im] = [s[2 * (i * L + j)], s[2 * (i * L + j) + 1]];
        x[x0 + i * L + j] = re;
        x[x0 + j * L + i] = re;
        x[x0 + LL + i * L + j] = im;
        x[x0 + LL + j * L + i] = -im;
      }
    }
  }
}

/**
 * dY from dx: with P = dRe + dRe^T and Q = dIm - dIm^T (per trial, times `scale` = 1 / M),
 * dYr = P Yr - Q Yi and dYi = P Yi + Q Yr.
 */
function backwardLoops(dyr: Float32Array, dyi: Float32Array, dx: Float32Array, yr: Float32Array, yi: Float32Array, B: number, L: number, M: number, scale: number): void {
  const LL = L * L;
  const P = new Float64Array(LL);
  const Q = new Float64Array(LL);
  for (let b = 0; b < B; b++) {
    const y0 = b * L * M;
    const x0 = b * 2 * LL;
    for (let k = 0; k < L; k++) {
      for (let j = 0; j < L; j++) {
        P[k * L + j] = scale * (dx[x0 + k * L + j] + dx[x0 + j * L + k]);
        Q[k * L + j] = scale * (dx[x0 + LL + k * L + j] - dx[x0 + LL + j * L + k]);
      }
    }
    for (let k = 0; k < L; k++) {
      for (let m = 0; m < M; m++) {
        let r = 0;
        let i = 0;
        for (let j = 0; j < L; j++) {
          const p = P[k * L + j];
          const q = Q[k * L + j];
          const rj = yr[y0 + j * M + m];
          const ij = yi[y0 + j * M + m];
          r += p * rj - q * ij;
          i += p * ij + q * rj;
        }
        dyr[y0 + k * M + m] = r;
        dyi[y0 + k * M + m] = i;
      }
    }
  }
}

/**
 * x = [vec Re(Y Y^H / M); vec Im(Y Y^H / M)] per trial: yr, yi [B, L, M] -> [B, 2 L^2].
 *
 * Outside a training step, four batched tfjs products. In a training step on the wasm backend,
 * one op whose forward and gradient are loops over each trial on the tensors' memory (sums in
 * float64), equal to the tfjs route to float32 rounding:
 *   dYr = P Yr - Q Yi,   dYi = P Yi + Q Yr,   P = (dRe + dRe^T) / M,   Q = (dIm - dIm^T) / M.
 */
export function covarianceFeatures(yr: tf.Tensor3D, yi: tf.Tensor3D): tf.Tensor2D {
  const [B, L, M] = yr.shape;
  const heap = tapeIsRecording() ? heapAccess() : undefined;
  if (heap === undefined) return onTfjs(yr, yi);
  const scale = 1 / M;
  const forwardFunc = (_backend: unknown, save: (tensors: tf.Tensor[]) => void): tf.Tensor => {
    const x = heap.tensor<tf.Rank.R2>([B, 2 * L * L]);
    forwardLoops(heap.view(x), heap.view(yr), heap.view(yi), B, L, M);
    save([yr, yi]);
    return x;
  };
  const backwardsFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const [sr, si] = saved;
    // both gradients come from one pass, in the backward pass's scope (the tape asks for them one
    // at a time, each inside its own tidy)
    const [dr, di] = [heap.tensor([B, L, M]), heap.tensor([B, L, M])];
    backwardLoops(heap.view(dr), heap.view(di), heap.view(dy as tf.Tensor), heap.view(sr), heap.view(si), B, L, M, scale);
    return { yr: () => dr, yi: () => di };
  };
  return differentiableOp(forwardFunc, backwardsFunc, { yr, yi }) as tf.Tensor2D;
}
