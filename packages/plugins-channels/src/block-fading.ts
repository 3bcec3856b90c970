/**
 * What the block-fading channels share once the large-scale fading beta is known:
 *
 *   Y = sum_n x_n h_n^T + W,   h_n = sqrt(beta_n) g_n,  g_n ~ CN(0, I_M),  W entries CN(0, sigma^2)
 *
 * and the receiver knowledge their `known*` switches grant.
 *
 * Draw names: `fading` (g) and `noise` (W), per trial. `noise` is the channel contract's name for
 * the additive noise and nothing else: a training with a fixed training set and
 * `train.trainingNoise: "redraw"` (the default) draws it anew every epoch, keeping the others.
 */
import * as tf from '@tensorflow/tfjs';
import {
  blas,
  codewordFactors,
  cx,
  differentiableOp,
  matMul2d,
  trainingStepHeap,
  type ChannelOutput,
  type CodewordFactors,
  type ComplexTensor,
  type HeapAccess,
  type Knowledge,
  type RandomStreams,
  type Scenario,
  type TrialRange,
} from '@gfra/core';

/**
 * @param tx   [B, N, L] complex
 * @param beta [B, N] large-scale fading of each device in each trial
 * @returns y [B, L, M], channel h [B, N, M] (components `fading` and `noise` of `random`)
 */
export function propagateBlockFading(
  tx: ComplexTensor,
  trials: TrialRange,
  beta: tf.Tensor2D,
  noiseVar: number,
  scenario: Scenario,
  random: RandomStreams,
): ChannelOutput {
  const { numDevices: N, numAntennas: M, sequenceLength: L } = scenario;
  const g = random.complexNormal(trials, 'fading', [N, M]);
  const h = cx.scale(g, tf.expandDims(tf.sqrt(beta), 2));
  const noise = random.complexNormal(trials, 'noise', [L, M], noiseVar);
  const y = cx.add(superpose(tx, h, scenario), noise);
  return { y, channel: h, largeScaleFading: beta, noiseVar };
}

/**
 * The noiseless received signal sum_n tx_n h_n^T, [B, L, M].
 *
 * For a codeword transmission from a per-run codebook S [L, K] (K = N Q, factors attached by the
 * encoder, see `codewordFactors`), tx[b, n, :] = sum_q w_{b,n,q} S[:, nQ + q] with
 * w_{b,n,q} = a_{b,n} 1(m_{b,n} = q), so trial b receives S G_b with G_b[nQ + q, :] = w_{b,n,q} h_{b,n}.
 * All trials then share one real product, row (b, m) of
 *
 *   [Re G^T | Im G^T] [[Re S^T, Im S^T], [-Im S^T, Re S^T]] = [Re Y_b^T | Im Y_b^T][m, :]
 *
 * ([B M, 2K] x [2K, 2L]; a trial's rows do not depend on the batch size), instead of B products
 * [L, N] x [N, M]; equal to float32 rounding, and differentiable in S. In a training step (wasm
 * backend, native BLAS) the same product is one host op ({@link superposeOnHost}).
 * Otherwise (per-trial codebooks, other encoders) the batched product tx^T h.
 *
 * @param tx [B, N, L] complex
 * @param h  [B, N, M] complex
 */
export function superpose(tx: ComplexTensor, h: ComplexTensor, scenario: Scenario): ComplexTensor {
  const f = codewordFactors(tx);
  if (f === undefined) return cx.matmul(cx.matrixTranspose(tx), h);
  const { numDevices: N, numAntennas: M, sequenceLength: L } = scenario;
  const B = tx.re.shape[0];
  const K = f.codebook.re.shape[1];
  const Q = K / N;
  const heap = trainingStepHeap();
  if (heap !== undefined) return superposeOnHost(heap, f, h, Q);
  const active = tf.expandDims(f.activity, 2); // [B, N, 1]
  const w = Q === 1 ? active : tf.mul(tf.oneHot(tf.cast(f.message, 'int32'), Q), active); // [B, N, Q]
  const g = cx.scale(cx.expandDims(h, 2), tf.expandDims(w, 3)); // [B, N, Q, M]
  const rows = (t: tf.Tensor) => tf.reshape(tf.transpose(tf.reshape(t, [B, K, M]), [0, 2, 1]), [B * M, K]);
  const gT = tf.concat([rows(g.re), rows(g.im)], 1) as tf.Tensor2D; // [B M, 2K]
  const [sr, si] = [tf.transpose(f.codebook.re), tf.transpose(f.codebook.im)]; // [K, L]
  const s = tf.concat([tf.concat([sr, si], 1), tf.concat([tf.neg(si), sr], 1)], 0) as tf.Tensor2D; // [2K, 2L]
  const [re, im] = tf.split(matMul2d(gT, s), 2, 1); // [B M, L] each
  const back = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, M, L]), [0, 2, 1]) as tf.Tensor3D;
  return { re: back(re), im: back(im) };
}

/** The side information a block-fading channel gives the receiver. */
export function blockFadingKnowledge(p: { readonly knownNoiseVariance: boolean; readonly knownLargeScaleFading: boolean }): Knowledge[] {
  const out: Knowledge[] = [];
  if (p.knownNoiseVariance) out.push('noiseVariance');
  if (p.knownLargeScaleFading) out.push('largeScaleFading');
  return out;
}

/**
 * {@link superpose} in a training step, as one op on the host (the rows are the training batch,
 * fixed by the spec): with X [B M, 2K] the rows (b, m) holding a_{b,n} h_{b,n,m} at column
 * n Q + m_{b,n} (real parts, then imaginary parts at K + n Q + m_{b,n}; zero elsewhere) and
 * T = [[Re S^T, Im S^T], [-Im S^T, Re S^T]] [2K, 2L], P = X T (one sgemm) holds the received
 * rows. Gradients: dT = X^T dP gives dS (dRe S^T = dT_11 + dT_22, dIm S^T = dT_12 - dT_21), and
 * dX = dP T^T gives dh (times a, at each device's column). Equal to the tfjs route to float32
 * rounding.
 */
function superposeOnHost(heap: HeapAccess, f: CodewordFactors, h: ComplexTensor, Q: number): ComplexTensor {
  const { codebook: s, activity } = f;
  const [L, K] = s.re.shape;
  const [B, N, M] = h.re.shape;
  const { sgemm } = blas();
  // the sequence each device sends (a small int32 read; all zero for Q = 1)
  const message = Q === 1 ? new Int32Array(B * N) : Int32Array.from(f.message.dataSync());
  const forwardFunc = (_backend: unknown, save: (tensors: tf.Tensor[]) => void): tf.Tensor[] => {
    const [x, t, p, yr, yi] = [heap.tensor([B * M, 2 * K]), heap.tensor([2 * K, 2 * L]), heap.tensor([B * M, 2 * L]), heap.tensor([B, L, M]), heap.tensor([B, L, M])];
    const [xv, tv, pv, yrv, yiv] = [x, t, p, yr, yi].map((u) => heap.view(u));
    const [sr, si, a, hr, hi] = [s.re, s.im, activity, h.re, h.im].map((u) => heap.view(u));
    if (Q > 1) xv.fill(0);
    for (let b = 0; b < B; b++) {
      for (let n = 0; n < N; n++) {
        const an = a[b * N + n];
        const col = n * Q + message[b * N + n];
        for (let m = 0; m < M; m++) {
          const row = (b * M + m) * 2 * K;
          xv[row + col] = an * hr[(b * N + n) * M + m];
          xv[row + K + col] = an * hi[(b * N + n) * M + m];
        }
      }
    }
    for (let k = 0; k < K; k++) {
      for (let l = 0; l < L; l++) {
        const re = sr[l * K + k];
        const im = si[l * K + k];
        tv[k * 2 * L + l] = re;
        tv[k * 2 * L + L + l] = im;
        tv[(K + k) * 2 * L + l] = -im;
        tv[(K + k) * 2 * L + L + l] = re;
      }
    }
    sgemm(false, false, B * M, 2 * L, 2 * K, 1, xv, 0, 2 * K, tv, 0, 2 * L, 0, pv, 0, 2 * L);
    for (let b = 0; b < B; b++) {
      for (let l = 0; l < L; l++) {
        for (let m = 0; m < M; m++) {
          yrv[(b * L + l) * M + m] = pv[(b * M + m) * 2 * L + l];
          yiv[(b * L + l) * M + m] = pv[(b * M + m) * 2 * L + L + l];
        }
      }
    }
    p.dispose();
    save([x, t, activity]);
    return [yr, yi];
  };
  const backwardsFunc = (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const [dyr, dyi] = dys as tf.Tensor[];
    const [x, t, a] = saved;
    // dP [B M, 2L] from the two output gradients, in the backward pass's scope
    const dp = heap.tensor([B * M, 2 * L]);
    {
      const [dpv, dr, di] = [dp, dyr, dyi].map((u) => heap.view(u));
      for (let b = 0; b < B; b++) {
        for (let l = 0; l < L; l++) {
          for (let m = 0; m < M; m++) {
            dpv[(b * M + m) * 2 * L + l] = dr[(b * L + l) * M + m];
            dpv[(b * M + m) * 2 * L + L + l] = di[(b * L + l) * M + m];
          }
        }
      }
    }
    // dT = X^T dP [2K, 2L] and dX = dP T^T [B M, 2K], each computed once, on the first gradient
    // that needs it (the tape asks for the gradients one at a time, each in its own tidy scope, so
    // they are host arrays rather than tensors)
    let dT: Float32Array | undefined;
    let dX: Float32Array | undefined;
    const productT = (): Float32Array => {
      if (dT === undefined) {
        dT = new Float32Array(4 * K * L);
        sgemm(true, false, 2 * K, 2 * L, B * M, 1, heap.view(x), 0, 2 * K, heap.view(dp), 0, 2 * L, 0, dT, 0, 2 * L);
      }
      return dT;
    };
    const productX = (): Float32Array => {
      if (dX === undefined) {
        dX = new Float32Array(2 * B * M * K);
        sgemm(false, true, B * M, 2 * K, 2 * L, 1, heap.view(dp), 0, 2 * L, heap.view(t), 0, 2 * L, 0, dX, 0, 2 * K);
      }
      return dX;
    };
    const codebook = (part: 're' | 'im') => (): tf.Tensor => {
      const ds = heap.tensor([L, K]);
      const dtv = productT();
      const dsv = heap.view(ds);
      for (let k = 0; k < K; k++) {
        for (let l = 0; l < L; l++) {
          dsv[l * K + k] = part === 're' ? dtv[k * 2 * L + l] + dtv[(K + k) * 2 * L + L + l] : dtv[k * 2 * L + L + l] - dtv[(K + k) * 2 * L + l];
        }
      }
      return ds;
    };
    const channel = (part: 're' | 'im') => (): tf.Tensor => {
      const dh = heap.tensor([B, N, M]);
      const dxv = productX();
      const [dhv, av] = [heap.view(dh), heap.view(a)];
      const off = part === 're' ? 0 : K;
      for (let b = 0; b < B; b++) {
        for (let n = 0; n < N; n++) {
          const col = off + n * Q + message[b * N + n];
          for (let m = 0; m < M; m++) dhv[(b * N + n) * M + m] = av[b * N + n] * dxv[(b * M + m) * 2 * K + col];
        }
      }
      return dh;
    };
    return { sr: codebook('re'), si: codebook('im'), hr: channel('re'), hi: channel('im') };
  };
  const [re, im] = differentiableOp(forwardFunc, backwardsFunc, { sr: s.re, si: s.im, hr: h.re, hi: h.im }) as tf.Tensor[];
  return { re, im };
}
