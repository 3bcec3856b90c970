/**
 * What every codebook-based encoder does with its codebook S in C^{L x NQ} (column n*Q + q is
 * sequence q of device n): an active device n sends the column of its message, tx_n = a_n
 * S[:, n*Q + m_n], and the receiver is given S.
 */
import * as tf from '@tensorflow/tfjs';
import { assertShape, cx, numSequences, type ComplexTensor, type Scenario, type SideInformation, type TrafficSample } from '@gfra/core';

/**
 * tx[B, N, L] complex with tx[b, n, :] = a_n S[:, n*Q + m_n] (zero for inactive devices).
 * Differentiable in S (learned pilots train through it). Not tidied: call inside cx.tidy.
 * @param codebook [L, N*Q] complex
 */
export function sendCodewords(codebook: ComplexTensor, traffic: TrafficSample, scenario: Scenario): ComplexTensor {
  const { numDevices: N, sequenceLength: L } = scenario;
  const Q = numSequences(scenario);
  const perDevice = cx.reshape(cx.transpose(codebook), [1, N, Q, L]); // [1, N, Q, L]
  // weights[b, n, q] = a_n 1(m_n = q); tf.oneHot needs depth >= 2, so Q = 1 uses a_n itself.
  const active = tf.expandDims(traffic.activity, 2);
  const weights = Q === 1 ? active : tf.mul(tf.oneHot(tf.cast(traffic.message, 'int32'), Q), active);
  return cx.sum(cx.scale(perDevice, tf.expandDims(weights, 3)), 2);
}

/** A fixed codebook an encoder owns: sends codewords, gives the codebook to the receiver, frees it. */
export class FixedCodebook {
  /** Takes ownership of `codebook` [L, N*Q] complex (kept until {@link dispose}). */
  constructor(
    readonly codebook: ComplexTensor,
    private readonly scenario: Scenario,
  ) {
    assertShape(codebook, [scenario.sequenceLength, scenario.numDevices * numSequences(scenario)], 'codebook');
  }

  encode(traffic: TrafficSample): ComplexTensor {
    return cx.tidy(() => sendCodewords(this.codebook, traffic, this.scenario));
  }

  sideInformation(): SideInformation {
    return { codebook: this.codebook };
  }

  dispose(): void {
    cx.dispose(this.codebook);
  }
}
