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
  type TrialRange,
} from '@gfra/core';
import { FixedCodebook, PerTrialCodebook, Redraw } from './codebook-transmitter';

export const GaussianPilotsParams = Type.Object(
  {
    normalize: Type.Boolean({
      default: false,
      description: 'scale every sequence to unit norm (otherwise unit norm only in expectation); with redraw "per-trial", every column of every trial\'s codebook',
    }),
    redraw: Type.Optional(Redraw),
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
 * `redraw: "per-trial"` draws a new codebook for every Monte Carlo trial instead (the ensemble
 * average over random pilots of the literature), given to the receiver per batch as
 * [B, L, N*Q]; `normalize` then scales every column of every trial's codebook (in float64 on the
 * host, rounded to float32).
 *
 * Draw names (components of the encoder's random streams): `pilots` once per run
 * (`complexNormalOnce('pilots', [L, N*Q], 1/L)`, redraw "per-run"), or `pilots` per trial t
 * (generator (`pilots`, t): the row-major [L, N*Q] entries in order, re then im of each,
 * CN(0, 1/L): the values of `complexNormal(trials, 'pilots', [L, N*Q], 1/L)`, redraw "per-trial").
 *
 * @output tx       [B, N, L] complex: a_n s_n^{m_n}
 * @output codebook [L, N*Q] complex (redraw "per-run") or [B, L, N*Q] complex (redraw
 *                  "per-trial", row b = trial b of the batch), column n*Q + q = sequence q of device n
 */
@injectable()
export class GaussianPilotsEncoder implements Encoder {
  static readonly plugin = definePlugin({
    kind: 'encoder',
    name: 'gaussian-pilots',
    draws: {
      pilots: 'the codebook [L, N*Q], i.i.d. CN(0, 1/L): once per run, or per trial with redraw "per-trial" (normalize rescales the same draw)',
    },
    summary: 'i.i.d. CN(0, 1/L) pilot sequences, Q = 2^J per device, known to the receiver',
    reference: 'L. Liu, W. Yu, "Massive connectivity with massive MIMO - Part I: Device activity detection and channel estimation", IEEE TSP 2018 [Liu2018], Sec. II; Z. Ma, W. Wu, F. Gao, X. Shen, "Model-driven deep learning for non-coherent massive machine-type communications", IEEE TWC 2023 [Ma2023], Sec. II-B, Eqs. (5)-(8) (Q > 1)',
    params: GaussianPilotsParams,
    provides: () => ['codebook'],
  });

  private readonly book: FixedCodebook | PerTrialCodebook;

  constructor(
    @inject(TOKENS.params) params: GaussianPilotsParams,
    @inject(TOKENS.scenario) scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    const { numDevices: N, sequenceLength: L } = scenario;
    const Q = numSequences(scenario);
    if (params.redraw === 'per-trial') {
      const K = N * Q;
      const std = Math.sqrt(1 / L / 2);
      this.book = new PerTrialCodebook('gaussian-pilots', 'pilots', random, scenario, (g, re, im) => {
        for (let i = 0; i < L * K; i++) {
          re[i] = std * g.normal();
          im[i] = std * g.normal();
        }
        if (params.normalize) normalizeColumns(re, im, L, K);
      });
      return;
    }
    const codebook = cx.tidy(() => {
      const s = random.complexNormalOnce('pilots', [L, N * Q], 1 / L);
      return params.normalize ? cx.scale(s, tf.rsqrt(tf.sum(cx.abs2(s), 0, true))) : s;
    });
    this.book = new FixedCodebook(codebook, scenario);
  }

  encode(traffic: TrafficSample, trials?: TrialRange): ComplexTensor {
    return this.book instanceof FixedCodebook ? this.book.encode(traffic) : this.book.encode(traffic, trials);
  }

  sideInformation(trials?: TrialRange): SideInformation {
    return this.book instanceof FixedCodebook ? this.book.sideInformation() : this.book.sideInformation(trials);
  }

  dispose(): void {
    if (this.book instanceof FixedCodebook) this.book.dispose();
  }
}

/** Scale every column of a row-major [L, K] complex matrix to unit norm, in place (float64 sums). */
export function normalizeColumns(re: Float32Array, im: Float32Array, L: number, K: number): void {
  for (let k = 0; k < K; k++) {
    let norm2 = 0;
    for (let l = 0; l < L; l++) norm2 += re[l * K + k] * re[l * K + k] + im[l * K + k] * im[l * K + k];
    const scale = 1 / Math.sqrt(norm2);
    for (let l = 0; l < L; l++) {
      re[l * K + k] *= scale;
      im[l * K + k] *= scale;
    }
  }
}
