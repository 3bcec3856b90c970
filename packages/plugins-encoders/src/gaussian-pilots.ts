import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  numSequences,
  TOKENS,
  type ComplexTensor,
  type Encoder,
  type RandomStreams,
  type Scenario,
  type SideInformation,
  type TrafficSample,
} from '@gfra/core';

export const GaussianPilotsParams = Type.Object(
  {
    normalize: Type.Boolean({
      default: false,
      description: 'scale every sequence to unit norm (otherwise unit norm only in expectation)',
    }),
  },
  { additionalProperties: false },
);
export type GaussianPilotsParams = Static<typeof GaussianPilotsParams>;

/**
 * Gaussian pilot sequences: every device owns Q = 2^J sequences of length L with i.i.d.
 * CN(0, 1/L) entries (so E||s||^2 = 1), drawn once per run from the seed and known to the
 * receiver. An active device sends the sequence indexed by its message (Q = 1: plain activity
 * detection; Q > 1: the non-coherent scheme that embeds J bits in the sequence choice).
 *
 * @output tx       [B, N, L] complex: a_n s_n^{m_n}
 * @output codebook [L, N*Q] complex, column n*Q + q = sequence q of device n
 */
@injectable()
export class GaussianPilotsEncoder implements Encoder {
  static readonly plugin = definePlugin({
    kind: 'encoder',
    name: 'gaussian-pilots',
    summary: 'i.i.d. CN(0, 1/L) pilot sequences, Q = 2^J per device, known to the receiver',
    reference: 'L. Liu and W. Yu, IEEE TSP 2018, Sec. II; Z. Ma et al. (DL-mAMPnet), Sec. II (Q > 1)',
    params: GaussianPilotsParams,
    provides: () => ['codebook'],
  });

  private readonly codebookTensor: ComplexTensor;
  /** [N, Q, L] complex: the codebook arranged per device. */
  private readonly perDevice: ComplexTensor;

  constructor(
    @inject(TOKENS.params) params: GaussianPilotsParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    const { numDevices: N, sequenceLength: L } = scenario;
    const Q = numSequences(scenario);
    [this.codebookTensor, this.perDevice] = cx.tidy(() => {
      let s = random.complexNormalOnce('pilots', [L, N * Q], 1 / L);
      if (params.normalize) s = cx.scale(s, tf.rsqrt(tf.sum(cx.abs2(s), 0, true)));
      const perDevice = cx.reshape(cx.transpose(s), [N, Q, L]);
      return [s, perDevice];
    });
  }

  encode(traffic: TrafficSample): ComplexTensor {
    const Q = numSequences(this.scenario);
    return cx.tidy(() => {
      // weights[b, n, q] = a_n 1(m_n = q); tx[b, n, :] = sum_q weights[b, n, q] S[n, q, :]
      const active = tf.expandDims(traffic.activity, 2);
      // tf.oneHot needs depth >= 2; with Q = 1 the weight is the activity itself.
      const weights = Q === 1 ? active : tf.mul(tf.oneHot(tf.cast(traffic.message, 'int32'), Q), active);
      const w = tf.expandDims(weights, 3);
      return cx.sum(cx.scale(cx.expandDims(this.perDevice, 0), w), 2);
    });
  }

  sideInformation(): SideInformation {
    return { codebook: this.codebookTensor };
  }

  dispose(): void {
    cx.dispose(this.codebookTensor);
    cx.dispose(this.perDevice);
  }
}
