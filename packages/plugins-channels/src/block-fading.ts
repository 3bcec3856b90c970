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
import { cx, type ChannelOutput, type ComplexTensor, type Knowledge, type RandomStreams, type Scenario, type TrialRange } from '@gfra/core';

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
  const y = cx.add(cx.matmul(cx.matrixTranspose(tx), h), noise);
  return { y, channel: h, largeScaleFading: beta, noiseVar };
}

/** The side information a block-fading channel gives the receiver. */
export function blockFadingKnowledge(p: { readonly knownNoiseVariance: boolean; readonly knownLargeScaleFading: boolean }): Knowledge[] {
  const out: Knowledge[] = [];
  if (p.knownNoiseVariance) out.push('noiseVariance');
  if (p.knownLargeScaleFading) out.push('largeScaleFading');
  return out;
}
