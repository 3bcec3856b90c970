import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
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

export const SnrSet = Type.Object(
  {
    set: Type.Array(Type.Number(), { minItems: 1, description: 'SNRs in dB; each trial draws one uniformly from this set' }),
  },
  { additionalProperties: false },
);

export const SNR_DEFINITIONS = ['per-re', 'per-symbol', 'received-total'] as const;
export type SnrDefinition = (typeof SNR_DEFINITIONS)[number];

export const NomaRayleighParams = Type.Object(
  {
    mode: Type.Union([Type.Literal('block'), Type.Literal('per-resource'), Type.Literal('awgn')], {
      default: 'block',
      description:
        '"block": one CN(0, 1) gain per device, flat over the L resource elements; "per-resource": an independent CN(0, 1) gain per device and resource element; "awgn": no fading (h = 1 on every resource element)',
    }),
    snrDb: Type.Union([Type.Number(), SnrSet], {
      default: 10,
      description: 'SNR in dB (see snrDefinition): a number, or { "set": [...] } to draw it per trial from a set (training over several SNRs; the receiver is then not told sigma^2)',
    }),
    snrDefinition: Type.Union(
      SNR_DEFINITIONS.map((d) => Type.Literal(d)),
      {
        default: 'per-re',
        description:
          '"per-re": per device, per resource element, sigma^2 = 10^(-SNR/10) / L; "per-symbol" (Es/N0 per device): sigma^2 = 10^(-SNR/10); "received-total": average received power per RE over noise, sigma^2 = expectedActive 10^(-SNR/10) / L',
      },
    ),
    expectedActive: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: 'sum_n p_n, the mean number of active devices (needed by snrDefinition "received-total")' }),
    ),
    knownChannel: Type.Boolean({ default: true, description: 'the receiver knows the fading (perfect CSI, provides channelState)' }),
    knownNoiseVariance: Type.Boolean({ default: true, description: 'the receiver knows sigma^2 (only with a fixed snrDb)' }),
  },
  { additionalProperties: false },
);
export type NomaRayleighParams = Static<typeof NomaRayleighParams>;

/** sigma^2 of one SNR (dB) under a definition; each active device sends unit energy per symbol. */
export function nomaNoiseVar(snrDb: number, p: Pick<NomaRayleighParams, 'snrDefinition' | 'expectedActive'>, L: number): number {
  const inv = 10 ** (-snrDb / 10);
  switch (p.snrDefinition) {
    case 'per-symbol':
      return inv;
    case 'received-total':
      return ((p.expectedActive ?? Number.NaN) * inv) / L;
    default:
      return inv / L;
  }
}

/**
 * Single-antenna uplink of code-domain NOMA with spreading signatures over L resource elements
 * (H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free NOMA: A
 * Quantized Deep Learning Approach", Eq. (5)):
 *
 *   y = sum_n diag(h_n) z_n + w,   h_n in C^L,   w ~ CN(0, sigma^2 I_L)
 *
 * with h "block" (h_{n,l} = h_n ~ CN(0, 1) for every l), "per-resource" (h_{n,l} i.i.d. CN(0, 1))
 * or "awgn" (h = 1), unit average gain for every device, redrawn every trial. The per-RE SNR with
 * unit energy per device is also the convention of Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint
 * Constellation Design and Multiuser Detection for Grant-Free NOMA" read with E||x_n||^2 = K and
 * SNR = 1 / sigma^2 (the same ratio, scaled by K).
 *
 * SNR (the paper's "corruption level" eta, used as an SNR) is per device and per resource element
 * by default: an active device sends ||z_n||^2 = 1 spread over L REs, so snr = 1 / (L sigma^2),
 * sigma^2 = 10^(-SNR/10) / L (the 3GPP link-level convention; at a fixed per-RE SNR, longer
 * signatures gain L after despreading). "per-symbol" (Es/N0, 10 log10 L dB harder) and
 * "received-total" (mean received power per RE over the noise) are there for sensitivity checks.
 *
 * Draw names: `fading` (h), `noise` (w, unit variance, scaled by sigma), `snr` (index into the
 * set, with `snrDb: { set }` only), all per trial.
 *
 * @input  tx       [B, N, L] complex
 * @output y        [B, L, 1] complex
 * @output channel  [B, N, 1] complex ("block") or [B, N, L, 1] complex ("per-resource"; "awgn": all ones)
 * @output largeScaleFading [B, N] float32, all ones
 * @output noiseVarPerTrial [B] (with an SNR set only)
 * @remarks Deviations from the paper: eta = sigma^2 / ||y||^2 as printed is a noise-to-signal
 * ratio of one realisation that includes the noise itself; the per-RE definition replaces it (the
 * only one under which the paper's Fig. 9 explanation holds). The correlation of the fading over
 * the L resource elements is not stated; both readings are offered ("block" matches the FCNN's
 * 28 inputs and the paper's cross-correlation argument, "per-resource" the SICNN's input size).
 */
@injectable()
export class NomaRayleighChannel implements Channel {
  static readonly plugin = definePlugin({
    kind: 'channel',
    name: 'noma-rayleigh',
    draws: {
      fading: 'per trial: h [N, 1] ("block") or [N, L] ("per-resource"), i.i.d. CN(0, 1); not drawn in mode "awgn"',
      noise: 'per trial: w [L, 1], i.i.d. CN(0, 1), scaled by sigma',
      snr: 'per trial, with snrDb { "set" } only: one uniform index into the set',
    },
    summary: 'Single-antenna code-domain NOMA channel: Rayleigh fading per device (block) or per resource element, AWGN at a per-RE SNR',
    reference:
      'H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free NOMA: A Quantized Deep Learning Approach", Eq. (5) (Rayleigh fading, perfect CSI at the receiver)',
    params: NomaRayleighParams,
    perDeviceBits: true,
    provides: (p: NomaRayleighParams) => {
      const out: Knowledge[] = [];
      if (p.knownChannel) out.push('channelState');
      if (p.knownNoiseVariance && typeof p.snrDb === 'number') out.push('noiseVariance');
      return out;
    },
    check: (p: NomaRayleighParams, s: Scenario): ParamProblem[] => {
      const problems: ParamProblem[] = [];
      if (s.numAntennas !== 1) {
        problems.push({ path: '', message: `is a single-antenna channel, but scenario.numAntennas is ${s.numAntennas}`, hint: 'Set scenario.numAntennas to 1' });
      }
      if (p.snrDefinition === 'received-total' && p.expectedActive === undefined) {
        problems.push({ path: 'expectedActive', message: 'is needed by snrDefinition "received-total"', hint: 'Give sum_n p_n, e.g. 3.6 for activation probabilities [0.8, 0.8, 0.8, 0.4, 0.4, 0.4]' });
      }
      return problems;
    },
    notes: [
      'per-re (default): sigma^2 = 10^(-SNR/10) / L; per-symbol: sigma^2 = 10^(-SNR/10) (10 log10 L dB harder); received-total: sigma^2 = expectedActive 10^(-SNR/10) / L.',
      'With snrDb { "set": [...] } (training), each trial draws its SNR from the set and the receiver is not granted sigma^2.',
    ],
  });

  private readonly noiseVars: readonly number[];

  constructor(
    @inject(TOKENS.params) private readonly params: NomaRayleighParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) private readonly random: RandomStreams,
  ) {
    const problems = NomaRayleighChannel.plugin.check?.(params, scenario) ?? [];
    if (problems.length > 0) throw new Error(`${problems[0].path === '' ? '' : `${problems[0].path} `}${problems[0].message}`);
    const snrs = typeof params.snrDb === 'number' ? [params.snrDb] : params.snrDb.set;
    this.noiseVars = snrs.map((snr) => nomaNoiseVar(snr, params, scenario.sequenceLength));
  }

  /** sigma^2 (the mean over the set when the SNR is drawn per trial). */
  get noiseVar(): number {
    return this.noiseVars.reduce((a, b) => a + b, 0) / this.noiseVars.length;
  }

  propagate(tx: ComplexTensor, trials: TrialRange): ChannelOutput {
    const { numDevices: N, sequenceLength: L } = this.scenario;
    const B = trials.count;
    const block = this.params.mode === 'block';
    const h: ComplexTensor =
      this.params.mode === 'awgn'
        ? { re: tf.ones([B, N, L, 1]), im: tf.zeros([B, N, L, 1]) }
        : this.random.complexNormal(trials, 'fading', block ? [N, 1] : [N, L, 1]);
    const w = this.random.complexNormal(trials, 'noise', [L, 1]);
    const perTrial =
      this.noiseVars.length === 1
        ? undefined
        : (tf.tensor1d(this.random.fill(trials, 'snr', [], (g) => this.noiseVars[g.integer(this.noiseVars.length)])) as tf.Tensor1D);
    const y = cx.tidy(() => {
      const gains: ComplexTensor = block ? h : { re: tf.squeeze(h.re, [3]), im: tf.squeeze(h.im, [3]) }; // [B, N, 1] or [B, N, L]
      const rx = cx.sum(cx.mul(tx, gains), 1); // [B, L]
      const sigma = perTrial === undefined ? Math.sqrt(this.noiseVars[0]) : tf.reshape(tf.sqrt(perTrial), [B, 1, 1]);
      return cx.add(cx.expandDims(rx, 2), cx.scale(w, sigma));
    });
    cx.dispose(w);
    return {
      y,
      channel: h,
      largeScaleFading: tf.ones([B, N]) as tf.Tensor2D,
      noiseVar: this.noiseVar,
      ...(perTrial === undefined ? {} : { noiseVarPerTrial: perTrial }),
    };
  }
}
