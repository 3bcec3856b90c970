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
import { FixedCodebook } from './codebook-transmitter';

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
    reference: 'L. Liu, W. Yu, "Massive connectivity with massive MIMO - Part I: Device activity detection and channel estimation", IEEE TSP 2018 [Liu2018], Sec. II; Z. Ma, W. Wu, F. Gao, X. Shen, "Model-driven deep learning for non-coherent massive machine-type communications", IEEE TWC 2023 [Ma2023], Sec. II-B, Eqs. (5)-(8) (Q > 1)',
    params: GaussianPilotsParams,
    provides: () => ['codebook'],
  });

  private readonly book: FixedCodebook;

  constructor(
    @inject(TOKENS.params) params: GaussianPilotsParams,
    @inject(TOKENS.scenario) scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    const { numDevices: N, sequenceLength: L } = scenario;
    const Q = numSequences(scenario);
    const codebook = cx.tidy(() => {
      const s = random.complexNormalOnce('pilots', [L, N * Q], 1 / L);
      return params.normalize ? cx.scale(s, tf.rsqrt(tf.sum(cx.abs2(s), 0, true))) : s;
    });
    this.book = new FixedCodebook(codebook, scenario);
  }

  encode(traffic: TrafficSample): ComplexTensor {
    return this.book.encode(traffic);
  }

  sideInformation(): SideInformation {
    return this.book.sideInformation();
  }

  dispose(): void {
    this.book.dispose();
  }
}
