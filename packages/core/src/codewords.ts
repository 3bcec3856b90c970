/**
 * The factored form of a codeword transmission. An encoder that sends the columns of a per-run
 * codebook S [L, N*Q] (tx[b, n, :] = a_{b,n} S[:, n*Q + m_{b,n}]) may record with its tx the
 * tensors it was made from ({@link withCodewordFactors}), so that a channel can compute
 * sum_n tx_n h_n^T as one product of S with all trials' channels at once instead of B small
 * products (see the block-fading channels).
 */
import type * as tf from '@tensorflow/tfjs';
import type { ComplexTensor } from './complex';

/** What a codeword transmission tx [B, N, L] was made of; valid while its traffic sample and codebook are. */
export interface CodewordFactors {
  /** S [L, N*Q] complex, column n*Q + q = sequence q of device n (one codebook for every trial). */
  readonly codebook: ComplexTensor<tf.Rank.R2>;
  /** a [B, N] in {0, 1}. */
  readonly activity: tf.Tensor2D;
  /** m [B, N] int32 in [0, Q). */
  readonly message: tf.Tensor2D;
}

/**
 * Factors by transmitted signal. A side table rather than a field of tx, so that disposing tx (or
 * any container holding it: tf.dispose and tidy walk objects) never reaches the codebook, which
 * its encoder owns.
 */
const attached = new WeakMap<ComplexTensor, CodewordFactors>();

/** Records that `tx` [B, N, L] was made of `factors`; returns tx. */
export function withCodewordFactors<T extends ComplexTensor>(tx: T, factors: CodewordFactors): T {
  attached.set(tx, factors);
  return tx;
}

/**
 * The factors a codebook encoder recorded for `tx`, or undefined: any other encoder, or one of the
 * factors has been disposed since (e.g. a codebook built inside the encoder's own tidy scope).
 */
export function codewordFactors(tx: ComplexTensor): CodewordFactors | undefined {
  const f = attached.get(tx);
  if (f === undefined) return undefined;
  return [f.codebook.re, f.codebook.im, f.activity, f.message].some((t) => t.isDisposed) ? undefined : f;
}
