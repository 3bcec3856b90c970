import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  annulusMeanPathGain,
  cx,
  definePlugin,
  pathLossGain,
  TOKENS,
  type Channel,
  type ChannelOutput,
  type ComplexTensor,
  type ParamProblem,
  type RandomStreams,
  type Scenario,
  type TrialRange,
} from '@gfra/core';
import { blockFadingKnowledge, propagateBlockFading } from './block-fading';

export const NormalizedPathLossParams = Type.Object(
  {
    minDistanceKm: Type.Number({ exclusiveMinimum: 0, default: 0.1, description: 'r_min: inner radius of the annulus the devices lie in, km' }),
    maxDistanceKm: Type.Number({ exclusiveMinimum: 0, default: 0.3, description: 'r_max: outer radius of the annulus, km (must exceed r_min)' }),
    pathLossDb: Type.Number({ default: 128.1, description: 'a in PL(dB) = a + b log10(d / 1 km)' }),
    pathLossExponentDb: Type.Number({ exclusiveMinimum: 0, default: 37.6, description: 'b in PL(dB) = a + b log10(d / 1 km)' }),
    shadowingDb: Type.Number({ minimum: 0, default: 0, description: 'standard deviation of log-normal shadowing, dB, drawn per trial and device (0 = none)' }),
    gains: Type.Union([Type.Literal('path-loss'), Type.Literal('equal')], {
      default: 'path-loss',
      description: '"path-loss": beta_n from the distance (and shadowing); "equal": perfect power control, every device the same normalised gain N/K',
    }),
    expectedActive: Type.Number({
      exclusiveMinimum: 0,
      description: 'K (or N times the activity probability): the expected number of active devices, used by the normalisation c = (K/N) E[beta]; at most numDevices',
    }),
    snrDb: Type.Number({
      default: 20,
      description: 'average received SNR per entry of Y, E|(A X)_lm|^2 / sigma^2, dB: sigma^2 = (N E_s / L) 10^(-snrDb/10)',
    }),
    symbolEnergy: Type.Number({
      exclusiveMinimum: 0,
      default: 1,
      description: 'E_s: energy of each device\'s pilot column (1: unit-norm sequences, as gfra\'s pilot encoders produce; L: the paper\'s unit-modulus QPSK pilots)',
    }),
    knownNoiseVariance: Type.Boolean({ default: true, description: 'the receiver knows sigma^2' }),
    knownLargeScaleFading: Type.Boolean({ default: true, description: 'the receiver knows the normalised beta_n / c of every device' }),
  },
  { additionalProperties: false },
);
export type NormalizedPathLossParams = Static<typeof NormalizedPathLossParams>;

/** Default parameters (expectedActive has none: the defaults of the paper's reduced setting, K = 4). */
export const NORMALIZED_PATH_LOSS_DEFAULTS: Omit<NormalizedPathLossParams, 'expectedActive'> = {
  minDistanceKm: 0.1,
  maxDistanceKm: 0.3,
  pathLossDb: 128.1,
  pathLossExponentDb: 37.6,
  shadowingDb: 0,
  gains: 'path-loss',
  snrDb: 20,
  symbolEnergy: 1,
  knownNoiseVariance: true,
  knownLargeScaleFading: true,
};

/**
 * The normalisation c and the normalised gains beta_n / c for `numDevices` devices:
 * c = (K/N) E[beta] (path-loss gains) so that E|x_nm|^2 = 1 over all devices, inactive zeros
 * included; c = K/N with equal gains (raw gain 1 per device). `min` = beta(r_max)/c is the weakest
 * active device's gain (the b_min an activity threshold is set from), `max` = beta(r_min)/c, both
 * without shadowing (shadowing spreads the gains beyond them); `meanActive` = E[beta]/c = N/K.
 */
export function normalizedPathLossGains(
  p: NormalizedPathLossParams,
  numDevices: number,
): { c: number; min: number; max: number; meanActive: number } {
  const share = p.expectedActive / numDevices;
  const meanActive = numDevices / p.expectedActive;
  if (p.gains === 'equal') return { c: share, min: meanActive, max: meanActive, meanActive };
  const c = share * annulusMeanPathGain(p);
  return { c, min: pathLossGain(p, p.maxDistanceKm) / c, max: pathLossGain(p, p.minDistanceKm) / c, meanActive };
}

/** sigma^2 = (N E_s / L) 10^(-snrDb/10): the noise variance for an average received SNR snrDb per entry of Y. */
export function normalizedNoiseVar(p: NormalizedPathLossParams, scenario: Scenario): number {
  return ((scenario.numDevices * p.symbolEnergy) / scenario.sequenceLength) * 10 ** (-p.snrDb / 10);
}

/** The `gfra list` line: the normalised gain range at the defaults, N = 32, K = 4. */
function gainRangeNote(): string {
  const g = normalizedPathLossGains({ ...NORMALIZED_PATH_LOSS_DEFAULTS, expectedActive: 4 }, 32);
  return (
    `normalised gains beta_n / c with the defaults (annulus ${NORMALIZED_PATH_LOSS_DEFAULTS.minDistanceKm}-${NORMALIZED_PATH_LOSS_DEFAULTS.maxDistanceKm} km, ` +
    `PL = 128.1 + 37.6 log10(d/km)) at N = 32, K = 4: b_min = ${g.min.toFixed(2)} (weakest active device, at r_max) to ` +
    `${g.max.toFixed(1)} (at r_min), mean ${g.meanActive} = N/K; c = ${g.c.toExponential(3)}`
  );
}

/**
 * Rayleigh block fading with distance-based path loss, normalised so that the mean power of the
 * activity-masked channel entries is 1 and the SNR is the average received SNR per entry: the
 * channel model of C. Tang, Z. Li, Z. Chen, H. H. Yang, "Device Activity Detection and Channel Estimation Using
 * Score-Based Generative Models in Massive MIMO", ZTE Communications 23(1), 2025 [Tang2025],
 * Sec. 3 (channel model) and Sec. 4 (SNR = N / sigma^2).
 *
 * $Y = \sum_n x_n h_n^T + W$ (framework orientation $Y = A X + W$, $x_n = \lambda_n h_n$ row n of X),
 *
 *   d_n = sqrt(r_min^2 + u_n (r_max^2 - r_min^2)),  u_n ~ U(0, 1)      (uniform over the annulus area, km)
 *   beta_n = 10^(-(a + b log10 d_n + X_n)/10),       X_n ~ N(0, s^2) dB  (shadowing, optional)
 *   h_n = sqrt(beta_n / c) g_n,  g_n ~ CN(0, I_M),   W entries CN(0, sigma^2)
 *   c = (K/N) E[beta],  sigma^2 = (N E_s / L) 10^(-snrDb/10)
 *
 * so that E|x_nm|^2 = 1 over all N devices (inactive zeros included), an active device's entries
 * have mean power N/K, and E|(A X)_lm|^2 / sigma^2 = 10^(snrDb/10) for pilot columns of energy E_s.
 * beta_n / c is computed in float64 before the float32 tensors are made (raw beta_n ~ 1e-12).
 * With `gains: "equal"` (perfect power control) every device's normalised gain is N/K.
 *
 * @input  tx      [B, N, L] complex (column n of A times lambda_n, per trial)
 * @output y       [B, L, M] complex
 * @output channel [B, N, M] complex (h_n as rows; not masked by activity)
 * @output largeScaleFading [B, N] float32 (normalised beta_n / c)
 * @output noiseVar sigma^2
 * @remarks Deviations from / readings of the paper:
 * - The paper places users "randomly in a defined area" without its shape or size; we use an
 *   annulus r_min = 0.1 km to r_max = 0.3 km (near-far spread 37.6 log10 3 = 17.9 dB), devices
 *   uniform over its area, d in km in PL = 128.1 + 37.6 log10 d (the 3GPP formula's unit).
 * - Shadowing (off by default) and equal gains are options the paper does not use.
 * - The paper normalises by the mean channel power over "all training samples and their entries";
 *   we take that mean over all N devices including the zero rows of inactive devices, and use the
 *   closed form c = (K/N) E_d[beta] instead of an empirical mean over a training set.
 * - The paper's SNR is N / sigma^2 with unit-modulus QPSK pilots (column energy E_s = L); gfra's
 *   encoders produce unit-norm columns (E_s = 1), so sigma^2 = (N E_s / L) 10^(-snrDb/10) keeps
 *   snrDb the average received SNR per entry of Y for either convention (`symbolEnergy`).
 * - Geometry (distances, shadowing) is redrawn in every trial: one trial is one coherence block
 *   with fresh positions, as the paper's data-set generation implies.
 */
@injectable()
export class NormalizedPathLossChannel implements Channel {
  static readonly plugin = definePlugin({
    kind: 'channel',
    name: 'normalized-path-loss',
    draws: {
      geometry: 'per trial, path-loss gains only: N uniforms (each device\'s distance), then N normals (its shadowing) when shadowingDb > 0',
      fading: 'per trial: g [N, M], i.i.d. CN(0, 1)',
      noise: 'per trial: w [L, M], i.i.d. CN(0, sigma^2); the additive noise, the draw a training with a fixed training set renews every epoch (train.trainingNoise)',
    },
    summary: 'Rayleigh block fading with annulus path loss, normalised to unit mean channel power (inactive zeros included); snrDb = average received SNR per entry of Y',
    reference:
      'C. Tang, Z. Li, Z. Chen, H. H. Yang, "Device activity detection and channel estimation using score-based generative models in massive MIMO", ZTE Communications 23(1):53-62, 2025, Sec. 3 (channel model, PL = 128.1 + 37.6 log10 d, normalisation) and Sec. 4 (SNR = N / sigma^2)',
    params: NormalizedPathLossParams,
    provides: (p: NormalizedPathLossParams) => blockFadingKnowledge(p),
    check: (p: NormalizedPathLossParams, scenario: Scenario) => {
      const problems: ParamProblem[] = [];
      if (!(p.minDistanceKm < p.maxDistanceKm)) {
        problems.push({
          path: 'minDistanceKm',
          message: `minDistanceKm (${p.minDistanceKm} km) must be < maxDistanceKm (${p.maxDistanceKm} km)`,
          hint: 'devices lie in the annulus r_min < d < r_max; the paper-style default is 0.1 to 0.3 km',
        });
      }
      if (p.expectedActive > scenario.numDevices) {
        problems.push({
          path: 'expectedActive',
          message: `expectedActive (${p.expectedActive}) must be <= scenario.numDevices (${scenario.numDevices})`,
          hint: 'set it to scenario.numActive (fixed-K traffic) or numDevices times the activity probability',
        });
      }
      return problems;
    },
    notes: [
      gainRangeNote(),
      'E|x_nm|^2 = 1 over all devices (inactive zeros included); sigma^2 = (N E_s / L) 10^(-snrDb/10), E_s = symbolEnergy (1 for unit-norm pilot columns, L for the paper\'s unit-modulus QPSK, giving its N / sigma^2).',
    ],
  });

  constructor(
    @inject(TOKENS.params) private readonly params: NormalizedPathLossParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) private readonly random: RandomStreams,
  ) {}

  /** sigma^2 per complex entry of Y. */
  get noiseVar(): number {
    return normalizedNoiseVar(this.params, this.scenario);
  }

  /** [B, N] normalised gains beta_n / c, per trial (keyed by trial index: independent of the batch split). */
  largeScaleFading(trials: TrialRange): tf.Tensor2D {
    const N = this.scenario.numDevices;
    const p = this.params;
    const { c, meanActive } = normalizedPathLossGains(p, N);
    if (p.gains === 'equal') return tf.fill([trials.count, N], meanActive, 'float32') as tf.Tensor2D;
    const { minDistanceKm: r0, maxDistanceKm: r1 } = p;
    const logC = Math.log10(c);
    const out = new Float32Array(trials.count * N);
    const d = new Float64Array(N);
    for (let b = 0; b < trials.count; b++) {
      const g = this.random.generator('geometry', trials.first + b);
      for (let n = 0; n < N; n++) d[n] = Math.sqrt(r0 * r0 + g.uniform() * (r1 * r1 - r0 * r0));
      for (let n = 0; n < N; n++) {
        const shadow = p.shadowingDb > 0 ? p.shadowingDb * g.normal() : 0;
        // beta_n / c in float64, in the log domain: 10^(-(a + b log10 d + X)/10 - log10 c)
        out[b * N + n] = 10 ** (-(p.pathLossDb + p.pathLossExponentDb * Math.log10(d[n]) + shadow) / 10 - logC);
      }
    }
    return tf.tensor2d(out, [trials.count, N], 'float32');
  }

  propagate(tx: ComplexTensor, trials: TrialRange): ChannelOutput {
    return cx.tidy(() => propagateBlockFading(tx, trials, this.largeScaleFading(trials), this.noiseVar, this.scenario, this.random));
  }
}
