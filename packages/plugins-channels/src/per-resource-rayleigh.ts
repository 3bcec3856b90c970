import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  noiseVarForEbN0,
  TOKENS,
  type Channel,
  type ChannelOutput,
  type ComplexTensor,
  type Knowledge,
  type ParamProblem,
  type RandomStreams,
  type Scenario,
  type TrialRange,
} from '@gfra/core';

/** Eb/N0 used when neither `ebN0Db` nor `noiseVar` is given. */
export const DEFAULT_EBN0_DB = 10;

export const PerResourceRayleighParams = Type.Object(
  {
    mode: Type.Union([Type.Literal('rayleigh'), Type.Literal('awgn')], {
      default: 'rayleigh',
      description: '"rayleigh": h[n, l, m] i.i.d. CN(0, 1) per resource element; "awgn": h = 1',
    }),
    ebN0Db: Type.Optional(
      Type.Number({
        description: `Eb/N0 per user in dB: sigma^2 = symbolEnergy / (J 10^(EbN0/10)). Give this or noiseVar, not both (neither: ${DEFAULT_EBN0_DB} dB)`,
      }),
    ),
    noiseVar: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: 'sigma^2 per complex sample, set directly (instead of ebN0Db)' }),
    ),
    symbolEnergy: Type.Number({
      exclusiveMinimum: 0,
      default: 1,
      description:
        'E_s: average codeword energy per user, E||x_n||^2 over its Q codewords (1 for encoders that normalise per user, e.g. scma-codebook by default)',
    }),
    knownChannel: Type.Boolean({ default: true, description: 'the receiver knows h[n, l, m] (perfect CSI, provides channelState)' }),
    knownNoiseVariance: Type.Boolean({ default: true, description: 'the receiver knows sigma^2' }),
  },
  { additionalProperties: false },
);
export type PerResourceRayleighParams = Static<typeof PerResourceRayleighParams>;

/** sigma^2 from the parameters (Eb/N0 convention of `@gfra/core` conventions.ts). */
export function perResourceNoiseVar(p: PerResourceRayleighParams, scenario: Scenario): number {
  if (p.noiseVar !== undefined) return p.noiseVar;
  return noiseVarForEbN0(p.ebN0Db ?? DEFAULT_EBN0_DB, p.symbolEnergy, scenario.bitsPerDevice);
}

/**
 * Per-resource-element Rayleigh fading plus AWGN, the channel of code-domain NOMA (SCMA) over L
 * resource elements (e.g. the OFDM tones one SCMA block spans) and M receive antennas:
 *
 *   y[l, m] = sum_n x_n[l] h[n, l, m] + w[l, m],   h[n, l, m] ~ CN(0, 1) i.i.d.,   w ~ CN(0, sigma^2)
 *
 * (mode "awgn": h = 1). This is the uplink model of H. Nikopour, H. Baligh, "Sparse Code Multiple
 * Access" [Nikopour2013] (y = sum_j diag(h_j) x_j + n), with independent
 * fading on every resource element and antenna.
 *
 * Noise level (conventions of `@gfra/core`, conventions.ts). With E_s = `symbolEnergy` the
 * average codeword energy of a user, J = bitsPerDevice and lambda = N / L:
 *
 *   Eb/N0 = E_s / (J sigma^2)  (per user),   Es/N0 = N E_s / (L sigma^2) = lambda J Eb/N0  (per RE).
 *
 * The channel cannot see the codebook, so E_s is a parameter: it must equal the encoder's average
 * codeword energy (1 for `scma-codebook` with its default per-user normalisation; 2/3 for the
 * published 6x4 SCMA values without normalisation). Since E|h|^2 = 1, these are also the average
 * received Eb/N0 and Es/N0.
 *
 * Draw names: `fading` (h) and `noise` (w), per trial; `noise` is the additive noise that a
 * training with a fixed training set redraws every epoch (`train.trainingNoise: "redraw"`).
 *
 * @input  tx       [B, N, L] complex
 * @output y        [B, L, M] complex
 * @output channel  [B, N, L, M] complex (h; all ones in "awgn" mode)
 * @output largeScaleFading [B, N] float32, all ones
 * @remarks Provides `channelState` (perfect CSI: the receiver gets `channel`) and
 * `noiseVariance` when `knownChannel` / `knownNoiseVariance`.
 */
@injectable()
export class PerResourceRayleighChannel implements Channel {
  static readonly plugin = definePlugin({
    kind: 'channel',
    name: 'per-resource-rayleigh',
    draws: {
      fading: 'per trial: h [N, L, M], i.i.d. CN(0, 1) (not drawn in mode "awgn")',
      noise: 'per trial: w [L, M], i.i.d. CN(0, sigma^2); the additive noise, the draw a training with a fixed training set renews every epoch (train.trainingNoise)',
    },
    summary: 'Code-domain NOMA channel: h[n,l,m] ~ CN(0,1) i.i.d. per resource element (or h = 1, "awgn") plus AWGN set by Eb/N0',
    reference: 'H. Nikopour, H. Baligh, "Sparse code multiple access", IEEE PIMRC 2013 [Nikopour2013] (uplink model y = sum_j diag(h_j) x_j + n)',
    params: PerResourceRayleighParams,
    provides: (p: PerResourceRayleighParams) => {
      const out: Knowledge[] = [];
      if (p.knownChannel) out.push('channelState');
      if (p.knownNoiseVariance) out.push('noiseVariance');
      return out;
    },
    check: (p: PerResourceRayleighParams, s: Scenario): ParamProblem[] => {
      if (p.ebN0Db !== undefined && p.noiseVar !== undefined) {
        return [
          {
            path: '',
            message: `give either ebN0Db (${p.ebN0Db} dB) or noiseVar (${p.noiseVar}), not both`,
            hint: 'Remove one of them: ebN0Db sets sigma^2 = symbolEnergy / (J 10^(EbN0/10))',
          },
        ];
      }
      if (p.noiseVar === undefined && s.bitsPerDevice === 0) {
        return [
          {
            path: p.ebN0Db === undefined ? '' : 'ebN0Db',
            message: 'Eb/N0 needs scenario.bitsPerDevice > 0 (got 0)',
            hint: 'Set scenario.bitsPerDevice (J), or give noiseVar directly',
          },
        ];
      }
      return [];
    },
    notes: [
      'Eb/N0 = E_s / (J sigma^2) per user, E_s = symbolEnergy = average codeword energy of a user (must match the encoder: 1 for scma-codebook by default).',
      'Es/N0 = N E_s / (L sigma^2) = lambda J Eb/N0 per resource element, lambda = N / L (6x4 SCMA, J = 2: Es/N0 = Eb/N0 + 4.77 dB).',
      'E|h|^2 = 1, so these are also the average received ratios.',
    ],
  });

  readonly noiseVar: number;

  constructor(
    @inject(TOKENS.params) private readonly params: PerResourceRayleighParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) private readonly random: RandomStreams,
  ) {
    const problems = PerResourceRayleighChannel.plugin.check?.(params, scenario) ?? [];
    if (problems.length > 0) throw new Error(problems[0].message);
    this.noiseVar = perResourceNoiseVar(params, scenario);
  }

  propagate(tx: ComplexTensor, trials: TrialRange): ChannelOutput {
    const { numDevices: N, numAntennas: M, sequenceLength: L } = this.scenario;
    const B = trials.count;
    const sigma2 = this.noiseVar;
    const h: ComplexTensor =
      this.params.mode === 'awgn'
        ? { re: tf.ones([B, N, L, M]), im: tf.zeros([B, N, L, M]) }
        : this.random.complexNormal(trials, 'fading', [N, L, M]);
    const noise = this.random.complexNormal(trials, 'noise', [L, M], sigma2);
    const y = cx.tidy(() => cx.add(cx.sum(cx.mul(cx.expandDims(tx, 3), h), 1), noise));
    cx.dispose(noise);
    return { y, channel: h, largeScaleFading: tf.ones([B, N]) as tf.Tensor2D, noiseVar: sigma2 };
  }
}
