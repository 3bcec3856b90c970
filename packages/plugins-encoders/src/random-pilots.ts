import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
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

export const RandomPilotsParams = Type.Object(
  {
    alphabet: Type.Union([Type.Literal('gaussian'), Type.Literal('qpsk'), Type.Literal('bpsk')], {
      default: 'gaussian',
      description:
        'Entry distribution before normalisation: "gaussian" i.i.d. CN(0, 1), "qpsk" uniform on {+-1 +- i}/sqrt(2), "bpsk" uniform on {+-1}',
    }),
  },
  { additionalProperties: false },
);
export type RandomPilotsParams = Static<typeof RandomPilotsParams>;

/**
 * Random pilot sequences with unit-norm columns: every device owns Q = 2^J sequences of length L
 * whose entries are drawn i.i.d. from the alphabet and then scaled so that ||s||^2 = 1 exactly
 * (qpsk and bpsk entries have modulus 1/sqrt(L); gaussian columns are CN(0, I_L) divided by
 * their norm, i.e. uniform on the unit sphere). Drawn once per run from the seed and known to the
 * receiver. An active device sends the sequence indexed by its message, as in gaussian-pilots.
 *
 * @output tx       [B, N, L] complex: a_n s_n^{m_n}
 * @output codebook [L, N*Q] complex, column n*Q + q = sequence q of device n, unit norm
 */
@injectable()
export class RandomPilotsEncoder implements Encoder {
  static readonly plugin = definePlugin({
    kind: 'encoder',
    name: 'random-pilots',
    summary: 'Random unit-norm pilot sequences (gaussian, qpsk or bpsk entries), Q = 2^J per device, known to the receiver',
    reference:
      'L. Liu, W. Yu, "Massive connectivity with massive MIMO - Part I: Device activity detection and channel estimation", IEEE TSP 2018 [Liu2018], Sec. II (i.i.d. random pilots); Z. Chen, F. Sohrabi, W. Yu, "Sparse activity detection for massive connectivity", IEEE TSP 2018 [Chen2018] (random signatures)',
    params: RandomPilotsParams,
    provides: () => ['codebook'],
  });

  private readonly book: FixedCodebook;

  constructor(
    @inject(TOKENS.params) params: RandomPilotsParams,
    @inject(TOKENS.scenario) scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    const { numDevices: N, sequenceLength: L } = scenario;
    const Q = numSequences(scenario);
    const K = N * Q;
    // Column-major draw (column k gets entries k*L .. k*L + L - 1), stored row-major [L, K].
    const re = new Float32Array(L * K);
    const im = new Float32Array(L * K);
    const g = random.onceGenerator(`pilots:${params.alphabet}`);
    for (let k = 0; k < K; k++) {
      const colRe = new Float64Array(L);
      const colIm = new Float64Array(L);
      for (let l = 0; l < L; l++) {
        if (params.alphabet === 'gaussian') {
          colRe[l] = g.normal();
          colIm[l] = g.normal();
        } else if (params.alphabet === 'qpsk') {
          colRe[l] = g.uniform() < 0.5 ? 1 : -1;
          colIm[l] = g.uniform() < 0.5 ? 1 : -1;
        } else {
          colRe[l] = g.uniform() < 0.5 ? 1 : -1;
        }
      }
      let norm2 = 0;
      for (let l = 0; l < L; l++) norm2 += colRe[l] * colRe[l] + colIm[l] * colIm[l];
      const scale = 1 / Math.sqrt(norm2);
      for (let l = 0; l < L; l++) {
        re[l * K + k] = colRe[l] * scale;
        im[l * K + k] = colIm[l] * scale;
      }
    }
    this.book = new FixedCodebook({ re: tf.tensor2d(re, [L, K], 'float32'), im: tf.tensor2d(im, [L, K], 'float32') }, scenario);
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
