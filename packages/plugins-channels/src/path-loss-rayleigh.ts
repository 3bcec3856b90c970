import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  definePlugin,
  toDb,
  RandomStreams,
  TOKENS,
  type Channel,
  type ChannelOutput,
  type ComplexTensor,
  type Generator,
  type ParamProblem,
  type Scenario,
  type TrialRange,
} from '@gfra/core';
import { blockFadingKnowledge, propagateBlockFading } from './block-fading';

export const PathLossRayleighParams = Type.Object(
  {
    minDistanceKm: Type.Number({ exclusiveMinimum: 0, default: 0.05, description: 'd_min: closest device distance, km' }),
    maxDistanceKm: Type.Number({ exclusiveMinimum: 0, default: 1, description: 'd_max: farthest device distance, km' }),
    placement: Type.Union([Type.Literal('uniform-distance'), Type.Literal('uniform-area')], {
      default: 'uniform-distance',
      description:
        '"uniform-distance": d ~ U[d_min, d_max] (as in the papers); "uniform-area": devices uniform over the annulus d_min <= d <= d_max (density of d proportional to d)',
    }),
    pathLossDb: Type.Number({ default: 128.1, description: 'a in PL(dB) = a + b log10(d / 1 km)' }),
    pathLossExponentDb: Type.Number({ exclusiveMinimum: 0, default: 37.6, description: 'b in PL(dB) = a + b log10(d / 1 km) (36.7 in [Ma2023], Sec. VI)' }),
    shadowingDb: Type.Number({ minimum: 0, default: 0, description: 'standard deviation of log-normal shadowing, dB (0 = none)' }),
    txPowerDbm: Type.Number({ default: 23, description: 'P_tx: transmit power of every device, dBm (energy of the whole unit-norm sequence)' }),
    noisePsdDbmHz: Type.Number({ default: -169, description: 'N_0: noise power spectral density, dBm/Hz' }),
    bandwidthHz: Type.Number({ exclusiveMinimum: 0, default: 1e6, description: 'W: bandwidth, Hz (noise power N_0 W)' }),
    geometry: Type.Union([Type.Literal('fixed'), Type.Literal('per-block')], {
      default: 'fixed',
      description:
        '"fixed": distances and shadowing drawn once per run from the seed (static devices; the same beta_n in every trial); "per-block": redrawn in every trial',
    }),
    geometrySeed: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'fixed geometry only: draw it from this seed alone, so that every sweep point and candidate sees the same devices (default: from the channel\'s random stream, which differs between sweep points and repetitions)',
      }),
    ),
    noiseVar: Type.Number({
      exclusiveMinimum: 0,
      default: 1,
      description: 'sigma^2: noise variance per complex sample in simulation units (beta_n = sigma^2 SNR_n: everything is normalised to the noise power)',
    }),
    knownNoiseVariance: Type.Boolean({ default: true, description: 'the receiver knows sigma^2' }),
    knownLargeScaleFading: Type.Boolean({ default: true, description: 'the receiver knows beta_n of every device' }),
  },
  { additionalProperties: false },
);
export type PathLossRayleighParams = Static<typeof PathLossRayleighParams>;

/** Default parameters (for `gfra list` notes and tests). */
export const PATH_LOSS_DEFAULTS: PathLossRayleighParams = {
  minDistanceKm: 0.05,
  maxDistanceKm: 1,
  placement: 'uniform-distance',
  pathLossDb: 128.1,
  pathLossExponentDb: 37.6,
  shadowingDb: 0,
  txPowerDbm: 23,
  noisePsdDbmHz: -169,
  bandwidthHz: 1e6,
  geometry: 'fixed',
  noiseVar: 1,
  knownNoiseVariance: true,
  knownLargeScaleFading: true,
};

/** Path loss in dB at distance d (km): PL(d) = a + b log10(d / 1 km). */
export function pathLossDb(p: PathLossRayleighParams, distanceKm: number): number {
  return p.pathLossDb + p.pathLossExponentDb * Math.log10(distanceKm);
}

/** Noise power N_0 W in dBm. */
export function noisePowerDbm(p: PathLossRayleighParams): number {
  return p.noisePsdDbmHz + toDb(p.bandwidthHz);
}

/**
 * Per-antenna SNR (dB) of a device at distance d (km) with shadowing draw x (dB):
 * SNR = P_tx - PL(d) - x - N_0 W  (dBm - dB - dB - dBm).
 */
export function snrDbAt(p: PathLossRayleighParams, distanceKm: number, shadowingDb = 0): number {
  return p.txPowerDbm - pathLossDb(p, distanceKm) - shadowingDb - noisePowerDbm(p);
}

/** SNR range without shadowing: `low` at d_max, `high` at d_min (dB). */
export function snrRangeDb(p: PathLossRayleighParams): { low: number; high: number } {
  return { low: snrDbAt(p, p.maxDistanceKm), high: snrDbAt(p, p.minDistanceKm) };
}

/** The `gfra list` / doc line for parameters `p`. */
export function snrRangeNote(p: PathLossRayleighParams): string {
  const { low, high } = snrRangeDb(p);
  const f = (x: number) => x.toFixed(1);
  const shadow = p.shadowingDb > 0 ? `, spread further by shadowing with std ${p.shadowingDb} dB` : '';
  return (
    `SNR_n = beta_n / sigma^2 = P_tx - PL(d_n) - X_n - N_0 W (dB), PL(d) = ${p.pathLossDb} + ${p.pathLossExponentDb} log10(d/km), ` +
    `N_0 W = ${f(noisePowerDbm(p))} dBm; with P_tx = ${p.txPowerDbm} dBm: SNR from ${f(low)} dB at d_max = ${p.maxDistanceKm} km ` +
    `to ${f(high)} dB at d_min = ${p.minDistanceKm} km${shadow} (defaults; other params shift it)`
  );
}

/**
 * Rayleigh block fading with large-scale fading from a path-loss model (the simulation setup of
 * L. Liu, W. Yu, "Massive Connectivity With Massive MIMO - Part I: Device Activity Detection and
 * Channel Estimation" [Liu2018], and of DL-mAMPnet in Z. Ma, W. Wu, F. Gao, X. Shen, "Model-Driven
 * Deep Learning for Non-Coherent Massive Machine-Type Communications" [Ma2023], Sec. VI):
 *
 *   Y = sum_n x_n h_n^T + W,   h_n = sqrt(beta_n) g_n,   g_n ~ CN(0, I_M),   W entries CN(0, sigma^2)
 *
 * Device n sits at distance d_n in [d_min, d_max] km (uniform in distance, or uniform over the
 * annulus area: d = sqrt(d_min^2 + u (d_max^2 - d_min^2))). Its path loss is
 * PL(d) = a + b log10(d / 1 km) dB, plus optional log-normal shadowing X_n ~ N(0, s^2) dB. With
 * transmit power P_tx (dBm, the energy of the whole unit-norm sequence) and noise power N_0 W
 * (PSD in dBm/Hz times bandwidth), the per-antenna SNR of device n (core conventions.ts:
 * SNR_n = beta_n / sigma^2 for a unit-energy sequence) is
 *
 *   SNR_n [dB] = P_tx - PL(d_n) - X_n - (N_0 + 10 log10 W),      beta_n = sigma^2 10^(SNR_n / 10).
 *
 * Everything is normalised to the noise power (sigma^2 = `noiseVar`, default 1), so no 1e-13-scale
 * numbers reach float32. With the defaults (a = 128.1, b = 37.6, P_tx = 23 dBm, N_0 = -169 dBm/Hz,
 * W = 1 MHz, d in [0.05, 1] km) SNR_n = 3.9 - 37.6 log10(d_n / km) dB, i.e. from 3.9 dB at
 * d_max to 52.8 dB at d_min (a 48.9 dB near-far range); the b = 36.7 of [Ma2023] gives 3.9 to
 * 51.6 dB. A per-symbol power convention (each of the L symbols at P_tx) is P_tx + 10 log10 L.
 *
 * The geometry (distances, shadowing) is drawn once (`fixed`: static devices, as the papers'
 * baselines assume when they use "the exact beta_n") or in every trial (`per-block`). A fixed
 * geometry comes from the channel's random stream, i.e. once per sweep point and repetition
 * (shared by every candidate with shared draws, the default), or from `geometrySeed` alone: the
 * same devices at every sweep point and repetition, as a paper's "fixed geometry" experiment needs.
 *
 * @input  tx      [B, N, L] complex
 * @output y       [B, L, M] complex
 * @output channel [B, N, M] complex (h_n as rows)
 * @output largeScaleFading [B, N] float32 (beta_n)
 * @remarks The papers print PL as a gain "128.1 - 36.7 log10(d)" ([Ma2023], Sec. VI) without a transmit
 * power; this plugin uses the loss form of the cited works and an explicit P_tx (default 23 dBm).
 */
@injectable()
export class PathLossRayleighChannel implements Channel {
  static readonly plugin = definePlugin({
    kind: 'channel',
    name: 'path-loss-rayleigh',
    draws: {
      geometry: 'each device\'s distance and shadowing (its large-scale fading): per trial, or once per run with a fixed geometry (then from geometrySeed alone when given)',
      fading: 'per trial: h [N, M], i.i.d. CN(0, 1)',
      noise: 'per trial: w [L, M], i.i.d. CN(0, sigma^2); the additive noise, the draw a training with a fixed training set renews every epoch (train.trainingNoise)',
    },
    summary: 'Rayleigh block fading with beta_n from distance-based path loss, shadowing, transmit power and noise PSD x bandwidth',
    reference:
      'L. Liu, W. Yu, "Massive connectivity with massive MIMO - Part I: Device activity detection and channel estimation", IEEE TSP 2018 [Liu2018], simulation setup (PL = 128.1 + 37.6 log10 d, -169 dBm/Hz); Z. Ma, W. Wu, F. Gao, X. Shen, "Model-driven deep learning for non-coherent massive machine-type communications", IEEE TWC 2023 [Ma2023], Sec. VI',
    params: PathLossRayleighParams,
    provides: (p: PathLossRayleighParams) => blockFadingKnowledge(p),
    check: (p: PathLossRayleighParams) => {
      const problems: ParamProblem[] = [];
      if (p.minDistanceKm > p.maxDistanceKm) {
        problems.push({
          path: 'minDistanceKm',
          message: `minDistanceKm (${p.minDistanceKm} km) must be <= maxDistanceKm (${p.maxDistanceKm} km)`,
        });
      }
      return problems;
    },
    notes: [snrRangeNote(PATH_LOSS_DEFAULTS), 'SNR_n = beta_n / sigma^2 per receive antenna, for a unit-energy sequence (E||x_n||^2 = 1).'],
  });

  /** [N] beta_n of the fixed geometry (drawn on first use). */
  private fixedBeta: Float32Array | undefined;

  constructor(
    @inject(TOKENS.params) private readonly params: PathLossRayleighParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) private readonly random: RandomStreams,
  ) {}

  /** One device's distance (km) from a uniform draw. */
  private distance(g: Generator): number {
    const { minDistanceKm: d0, maxDistanceKm: d1, placement } = this.params;
    const u = g.uniform();
    return placement === 'uniform-area' ? Math.sqrt(d0 * d0 + u * (d1 * d1 - d0 * d0)) : d0 + u * (d1 - d0);
  }

  /** One device's beta_n: distance, then shadowing, from the same generator. */
  private drawBeta(g: Generator): number {
    const d = this.distance(g);
    const shadow = this.params.shadowingDb > 0 ? this.params.shadowingDb * g.normal() : 0;
    return this.params.noiseVar * 10 ** (snrDbAt(this.params, d, shadow) / 10);
  }

  /** The generator of the fixed geometry. */
  private geometryGenerator(): Generator {
    const seed = this.params.geometrySeed;
    return seed === undefined ? this.random.onceGenerator('geometry') : new RandomStreams(['path-loss-geometry', seed]).onceGenerator('geometry');
  }

  /** [N] distances (km) of the fixed geometry (the draw behind {@link largeScaleFading}). */
  fixedDistances(): number[] {
    const g = this.geometryGenerator();
    return Array.from({ length: this.scenario.numDevices }, () => {
      const d = this.distance(g);
      if (this.params.shadowingDb > 0) g.normal();
      return d;
    });
  }

  /** [B, N] beta_n per trial. */
  largeScaleFading(trials: TrialRange): tf.Tensor2D {
    const N = this.scenario.numDevices;
    if (this.params.geometry === 'per-block') {
      return tf.tensor2d(this.random.fill(trials, 'geometry', [N], (g) => this.drawBeta(g)), [trials.count, N], 'float32');
    }
    if (this.fixedBeta === undefined) {
      const g = this.geometryGenerator();
      this.fixedBeta = Float32Array.from({ length: N }, () => this.drawBeta(g));
    }
    return tf.tile(tf.tensor2d(this.fixedBeta, [1, N], 'float32'), [trials.count, 1]) as tf.Tensor2D;
  }

  propagate(tx: ComplexTensor, trials: TrialRange): ChannelOutput {
    return propagateBlockFading(tx, trials, this.largeScaleFading(trials), this.params.noiseVar, this.scenario, this.random);
  }
}
