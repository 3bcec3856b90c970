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
import { codewordFactors, cx, matMul2d, type ChannelOutput, type ComplexTensor, type Knowledge, type RandomStreams, type Scenario, type TrialRange } from '@gfra/core';

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
 * [L, N] x [N, M]; equal to float32 rounding, and differentiable in S. Otherwise (per-trial
 * codebooks, other encoders) the batched product tx^T h.
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
