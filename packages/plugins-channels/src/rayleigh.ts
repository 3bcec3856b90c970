import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  definePlugin,
  TOKENS,
  type Channel,
  type ChannelOutput,
  type ComplexTensor,
  type RandomStreams,
  type Scenario,
  type TrialRange,
} from '@gfra/core';
import { blockFadingKnowledge, propagateBlockFading } from './block-fading';

export const SnrRange = Type.Object(
  {
    min: Type.Number({ description: 'lowest per-device SNR, dB' }),
    max: Type.Number({ description: 'highest per-device SNR, dB' }),
  },
  { additionalProperties: false },
);

export const RayleighParams = Type.Object(
  {
    snrDb: Type.Union([Type.Number(), SnrRange], {
      default: 10,
      description:
        'Per-device SNR beta_n / sigma^2 in dB: a number (all devices), or { "min", "max" } to draw each device uniformly in dB per block',
    }),
    noiseVar: Type.Number({ exclusiveMinimum: 0, default: 1, description: 'sigma^2: noise variance per complex sample' }),
    knownNoiseVariance: Type.Boolean({ default: true, description: 'the receiver knows sigma^2' }),
    knownLargeScaleFading: Type.Boolean({ default: true, description: 'the receiver knows beta_n of every device' }),
  },
  { additionalProperties: false },
);
export type RayleighParams = Static<typeof RayleighParams>;

/**
 * Rayleigh block fading with additive white Gaussian noise.
 *
 *   Y = sum_n x_n h_n^T + W,   h_n ~ CN(0, beta_n I_M),   W entries CN(0, sigma^2)
 *
 * with x_n in C^L the sequence device n sends (zero if inactive). The per-device SNR is
 * SNR_n = beta_n / sigma^2: the received energy of a unit-energy sequence per antenna over the
 * noise variance per sample (with CN(0, 1/L) pilots, E||x_n||^2 = 1).
 *
 * @input  tx      [B, N, L] complex
 * @output y       [B, L, M] complex
 * @output channel [B, N, M] complex (h_n as rows)
 * @output largeScaleFading [B, N] float32 (beta_n)
 */
@injectable()
export class RayleighChannel implements Channel {
  static readonly plugin = definePlugin({
    kind: 'channel',
    name: 'rayleigh',
    draws: {
      fading: 'per trial: h [N, M], i.i.d. CN(0, 1)',
      noise: 'per trial: w [L, M], i.i.d. CN(0, sigma^2); the additive noise, the draw a training with a fixed training set renews every epoch (train.trainingNoise)',
      snr: 'per trial, with an snrDb range only: N uniforms giving each device\'s SNR',
    },
    summary: 'Rayleigh block fading h_n ~ CN(0, beta_n I_M) plus AWGN; beta_n from a per-device SNR in dB',
    reference: 'Standard block-fading MIMO uplink, e.g. L. Liu, W. Yu, "Massive connectivity with massive MIMO - Part I: Device activity detection and channel estimation", IEEE TSP 2018 [Liu2018], Eq. (1)',
    params: RayleighParams,
    provides: (p: RayleighParams) => blockFadingKnowledge(p),
    check: (p: RayleighParams) =>
      typeof p.snrDb === 'object' && p.snrDb.min > p.snrDb.max
        ? [{ path: 'snrDb', message: `min (${p.snrDb.min} dB) must be <= max (${p.snrDb.max} dB)` }]
        : [],
    notes: ['SNR_n = beta_n / sigma^2 per receive antenna, for a unit-energy sequence (E||x_n||^2 = 1).'],
  });

  constructor(
    @inject(TOKENS.params) private readonly params: RayleighParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) private readonly random: RandomStreams,
  ) {}

  /** [B, N] beta_n = sigma^2 10^(SNR_n / 10). */
  largeScaleFading(trials: TrialRange): tf.Tensor2D {
    const N = this.scenario.numDevices;
    const { snrDb, noiseVar } = this.params;
    if (typeof snrDb === 'number') return tf.fill([trials.count, N], noiseVar * 10 ** (snrDb / 10)) as tf.Tensor2D;
    const draws = this.random.fill(trials, 'snr', [N], (g) => noiseVar * 10 ** ((snrDb.min + (snrDb.max - snrDb.min) * g.uniform()) / 10));
    return tf.tensor2d(draws, [trials.count, N], 'float32');
  }

  propagate(tx: ComplexTensor, trials: TrialRange): ChannelOutput {
    return propagateBlockFading(tx, trials, this.largeScaleFading(trials), this.params.noiseVar, this.scenario, this.random);
  }
}
