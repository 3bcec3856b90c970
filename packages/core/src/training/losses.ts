/**
 * The built-in training losses. Each is the mean over the batch, so its value does not depend on
 * the batch size.
 *
 * - `bce`: binary cross-entropy of the activity (Cui, Li, Zhang [Cui2021], Sec. IV-B, Eq. (20)):
 *     -(1/(B N)) sum_{b,n} [a log p + (1 - a) log(1 - p)],   p = activityScore in (0, 1),
 *   with p clipped to [1e-7, 1 - 1e-7] (as Keras does) so that log stays finite.
 * - `mse`: squared error of the channel estimate of the row-sparse X = diag(a) H ([Cui2021],
 *   Sec. III-C):  (1/(B N M)) sum ||X - X_hat||_F^2  (complex squared error).
 * - `ce`: bit-wise cross-entropy of the messages of the active devices, from the bit LLRs
 *   (log P(b=1)/P(b=0)):  sum_{b,n,j} a log(1 + exp(-s LLR)) / (J sum a),  s = 2 bit - 1. It is the
 *   categorical cross-entropy of the message when the receiver's bit posteriors are independent
 *   (the bit-metric loss of end-to-end learning, e.g. Sionna's BMD training).
 */
import * as tf from '@tensorflow/tfjs';
import * as cx from '../complex';
import { messageBits } from '../plugin';
import type { Capability } from '../plugin';
import type { LossFunction, TrainingBatch } from './trainable';

const CLIP = 1e-7;

function missing(field: string, loss: string): Error {
  return new Error(`loss "${loss}" needs the detector to provide ${field}, but its estimate has none`);
}

export function binaryCrossEntropy(batch: TrainingBatch): tf.Scalar {
  const p = batch.estimate.activityScore;
  if (p === undefined) throw missing('activityScore', 'bce');
  return tf.tidy(() => {
    const a = batch.truth.activity;
    const q = tf.clipByValue(p, CLIP, 1 - CLIP);
    const ll = tf.add(tf.mul(a, tf.log(q)), tf.mul(tf.sub(1, a), tf.log(tf.sub(1, q))));
    return tf.neg(tf.mean(ll)) as tf.Scalar;
  });
}

export function channelMse(batch: TrainingBatch): tf.Scalar {
  const hHat = batch.estimate.channel;
  if (hHat === undefined) throw missing('channel', 'mse');
  return tf.tidy(() => {
    const h = batch.truth.channel;
    if (h.re.rank !== 3) throw new Error(`loss "mse" needs a block-fading channel [B, N, M]; got shape [${h.re.shape}]`);
    const x = cx.scale(h, tf.expandDims(batch.truth.activity, 2)); // X = diag(a) H
    return tf.mean(cx.abs2(cx.sub(x, hHat))) as tf.Scalar;
  });
}

export function bitCrossEntropy(batch: TrainingBatch): tf.Scalar {
  const llr = batch.estimate.bitLLR;
  if (llr === undefined) throw missing('bitLLR', 'ce');
  return tf.tidy(() => {
    const J = llr.shape[2];
    const bits = messageBits(batch.truth.message, J); // [B, N, J]
    const sign = tf.sub(tf.mul(bits, 2), 1);
    const perBit = tf.softplus(tf.neg(tf.mul(sign, llr))); // log(1 + exp(-s LLR))
    const active = tf.expandDims(batch.truth.activity, 2);
    const total = tf.sum(tf.mul(perBit, active));
    const count = tf.maximum(tf.mul(tf.sum(batch.truth.activity), J), 1);
    return tf.div(total, count) as tf.Scalar;
  });
}

export const BUILTIN_LOSSES: Readonly<Record<'bce' | 'mse' | 'ce', { readonly fn: LossFunction; readonly needs: Capability }>> = {
  bce: { fn: binaryCrossEntropy, needs: 'activityScore' },
  mse: { fn: channelMse, needs: 'channel' },
  ce: { fn: bitCrossEntropy, needs: 'bitLLR' },
};
