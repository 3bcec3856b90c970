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
  type Generator,
  type TrafficSample,
  type TrialRange,
} from '@gfra/core';
import { FixedCodebook, PerTrialCodebook, Redraw } from './codebook-transmitter';

export const RandomPilotsParams = Type.Object(
  {
    alphabet: Type.Union([Type.Literal('gaussian'), Type.Literal('qpsk'), Type.Literal('bpsk')], {
      default: 'gaussian',
      description:
        'Entry distribution before normalisation: "gaussian" i.i.d. CN(0, 1), "qpsk" uniform on {+-1 +- i}/sqrt(2), "bpsk" uniform on {+-1}',
    }),
    redraw: Type.Optional(Redraw),
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
 * `redraw: "per-trial"` draws a new codebook for every Monte Carlo trial instead (the ensemble
 * average over random pilots), given to the receiver per batch as [B, L, N*Q]; every column of
 * every trial's codebook has unit norm.
 *
 * Draw names (components of the encoder's random streams): `pilots:<alphabet>` once per run
 * (its once generator, redraw "per-run"), or `pilots:<alphabet>` per trial t (the generator of
 * (`pilots:<alphabet>`, t), redraw "per-trial"); both fill the columns in the same order
 * (column k gets entries k*L .. k*L + L - 1).
 *
 * @output tx       [B, N, L] complex: a_n s_n^{m_n}
 * @output codebook [L, N*Q] complex (redraw "per-run") or [B, L, N*Q] complex (redraw
 *                  "per-trial", row b = trial b of the batch), column n*Q + q = sequence q of
 *                  device n, unit norm
 */
@injectable()
export class RandomPilotsEncoder implements Encoder {
  static readonly plugin = definePlugin({
    kind: 'encoder',
    name: 'random-pilots',
    draws: {
      'pilots:<alphabet>': 'the codebook [L, N*Q] of unit-norm columns over the alphabet: once per run, or per trial with redraw "per-trial"',
    },
    summary: 'Random unit-norm pilot sequences (gaussian, qpsk or bpsk entries), Q = 2^J per device, known to the receiver',
    reference:
      'L. Liu, W. Yu, "Massive connectivity with massive MIMO - Part I: Device activity detection and channel estimation", IEEE TSP 2018 [Liu2018], Sec. II (i.i.d. random pilots); Z. Chen, F. Sohrabi, W. Yu, "Sparse activity detection for massive connectivity", IEEE TSP 2018 [Chen2018] (random signatures)',
    params: RandomPilotsParams,
    provides: () => ['codebook'],
  });

  private readonly book: FixedCodebook | PerTrialCodebook;

  constructor(
    @inject(TOKENS.params) params: RandomPilotsParams,
    @inject(TOKENS.scenario) scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    const { numDevices: N, sequenceLength: L } = scenario;
    const Q = numSequences(scenario);
    const K = N * Q;
    const component = `pilots:${params.alphabet}`;
    if (params.redraw === 'per-trial') {
      this.book = new PerTrialCodebook('random-pilots', component, random, scenario, (g, re, im) => drawUnitColumns(g, params.alphabet, re, im, L, K));
      return;
    }
    const re = new Float32Array(L * K);
    const im = new Float32Array(L * K);
    drawUnitColumns(random.onceGenerator(component), params.alphabet, re, im, L, K);
    this.book = new FixedCodebook({ re: tf.tensor2d(re, [L, K], 'float32'), im: tf.tensor2d(im, [L, K], 'float32') }, scenario);
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

/**
 * Draw a row-major [L, K] codebook with unit-norm columns from `g` into `re`, `im`: column by
 * column (column k gets draws k*L .. k*L + L - 1), entries from the alphabet, then scaled to
 * ||s_k|| = 1 in float64.
 */
function drawUnitColumns(g: Generator, alphabet: RandomPilotsParams['alphabet'], re: Float32Array, im: Float32Array, L: number, K: number): void {
  const colRe = new Float64Array(L);
  const colIm = new Float64Array(L);
  for (let k = 0; k < K; k++) {
    for (let l = 0; l < L; l++) {
      if (alphabet === 'gaussian') {
        colRe[l] = g.normal();
        colIm[l] = g.normal();
      } else if (alphabet === 'qpsk') {
        colRe[l] = g.uniform() < 0.5 ? 1 : -1;
        colIm[l] = g.uniform() < 0.5 ? 1 : -1;
      } else {
        colRe[l] = g.uniform() < 0.5 ? 1 : -1;
        colIm[l] = 0;
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
}
