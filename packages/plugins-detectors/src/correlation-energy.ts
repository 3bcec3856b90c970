import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  definePlugin,
  gammaQuantile,
  numSequences,
  TOKENS,
  type Capability,
  type Detector,
  type Estimate,
  type ObservationWith,
  type Scenario,
} from '@gfra/core';
import { HostWorkspace } from './algorithms/host-workspace';
import { hostCorrelationEnergy, type HostCorrelationInput } from './algorithms/correlation-energy-host';
import { isPerTrialCodebook } from './codebook';

export const ThresholdRule = Type.Union(
  [
    Type.Object(
      {
        rule: Type.Literal('false-alarm'),
        falseAlarm: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.01, description: 'target per-device false-alarm probability' }),
      },
      { additionalProperties: false },
    ),
    Type.Object({ rule: Type.Literal('midpoint') }, { additionalProperties: false }),
    Type.Object(
      { rule: Type.Literal('fixed'), value: Type.Number({ minimum: 0, description: 'threshold on the normalised energy' }) },
      { additionalProperties: false },
    ),
  ],
  {
    default: { rule: 'false-alarm', falseAlarm: 0.01 },
    description:
      'How to set the threshold on the normalised energy: "false-alarm" (Gamma quantile for a target P_FA), "midpoint" (halfway to the expected energy of an active device; needs beta_n), or "fixed"',
  },
);

export const CorrelationEnergyParams = Type.Object(
  {
    threshold: ThresholdRule,
    noiseLevel: Type.Union([Type.Literal('estimated'), Type.Literal('known')], {
      default: 'estimated',
      description:
        'Reference level v0 of an inactive device\'s energy: "estimated" = ||Y||_F^2 / (L M) (noise plus multi-user interference, no side information), "known" = sigma^2 (ignores interference)',
    }),
  },
  { additionalProperties: false },
);
export type CorrelationEnergyParams = Static<typeof CorrelationEnergyParams>;

/** Side information correlation-energy always requires (sigma^2 and beta_n depend on the params). */
const REQUIRES = ['codebook'] as const;
type CorrelationEnergyObservation = ObservationWith<(typeof REQUIRES)[number]>;

/**
 * Matched-filter (correlation) energy detector, a standard simple baseline.
 *
 * For every sequence k (column s_k of the codebook S in C^{L x NQ}) the normalised energy
 *
 *   e_k = ||s_k^H Y||^2 / (M ||s_k||^2 v0)
 *
 * is computed, with v0 the energy level of an inactive sequence (see `noiseLevel`). For an
 * inactive sequence, treating noise plus interference as CN(0, v0), M e_k ~ Gamma(M, 1).
 * Device n's score is max_q e_{n,q}; its message is the arg max (J > 0), and it is declared
 * active when the score exceeds the threshold:
 *
 * - `false-alarm`: tau = G^{-1}(M, 1 - p) / M with p = 1 - (1 - P_FA)^{1/Q}, so that the maximum
 *   of Q null energies exceeds tau with probability P_FA;
 * - `midpoint`: tau_n = 1 + beta_n mean_q ||s_{n,q}||^2 / (2 v0): halfway between the expected
 *   energy of an inactive and of an active device (E e_k = 1 + beta ||s_k||^2 / v0 when active);
 * - `fixed`: a given tau.
 *
 * Computed on the host by {@link hostCorrelationEnergy}: the correlations S^H Y as float32 BLAS
 * products (as the float32 tfjs matmul this detector used before), the norms, v0, energies and
 * threshold in float64, the score and threshold compared after rounding both to float32. Results do
 * not depend on the batch split (products over fixed chunks aligned to the global trial index).
 *
 * @input  y        [B, L, M] complex
 * @input  codebook [L, N*Q] complex, or [B, L, N*Q] (one per trial, encoder redraw "per-trial")
 * @output activityScore [B, N] normalised energy of the strongest sequence
 * @output activity      [B, N] in {0, 1}
 * @output message       [B, N] int32 arg max sequence
 */
/** tau = G^{-1}(M, 1 - p) / M with p = 1 - (1 - P_FA)^{1/Q}: the false-alarm rule's threshold. */
function falseAlarmTau(falseAlarm: number, scenario: Scenario): number {
  const M = scenario.numAntennas;
  const Q = numSequences(scenario);
  const perSequence = 1 - (1 - falseAlarm) ** (1 / Q);
  return gammaQuantile(1 - perSequence, M) / M;
}

@injectable()
export class CorrelationEnergyDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'correlation-energy',
    summary: 'Matched-filter energy ||s_n^H Y||^2 against a threshold from the noise level (false-alarm, midpoint or fixed)',
    reference: 'Classical energy (correlation) detector; cf. S. M. Kay, Fundamentals of Statistical Signal Processing II, Ch. 7',
    params: CorrelationEnergyParams,
    requires: (p: CorrelationEnergyParams) => {
      const needs: Capability[] = [...REQUIRES];
      if (p.noiseLevel === 'known') needs.push('noiseVariance');
      if (p.threshold.rule === 'midpoint') needs.push('largeScaleFading');
      return needs;
    },
    provides: () => ['activityScore', 'activity', 'message'],
    check: (p: CorrelationEnergyParams, s: Scenario) => {
      // With the estimated level v0 = ||Y||_F^2 / (L M), Cauchy-Schwarz bounds every score:
      // e_k = L ||s_k^H Y||^2 / (||s_k||^2 ||Y||_F^2) <= L. A threshold at or above L is never
      // reached, so no device could ever be declared active (P_MD = 1 at any SNR).
      if (p.noiseLevel !== 'estimated' || p.threshold.rule === 'midpoint') return [];
      const L = s.sequenceLength;
      const tau = p.threshold.rule === 'fixed' ? p.threshold.value : falseAlarmTau(p.threshold.falseAlarm, s);
      if (tau < L) return [];
      return [
        {
          path: 'threshold',
          message: `with noiseLevel "estimated" every score is at most L = ${L}, but the threshold is ${Number(tau.toPrecision(4))}: no device could ever be declared active`,
          hint: 'Use noiseLevel "known" (needs the noise variance), a longer sequenceLength, more antennas or a higher falseAlarm',
        },
      ];
    },
  });

  constructor(
    @inject(TOKENS.params) private readonly params: CorrelationEnergyParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {}

  /** The host kernel's buffers, reused by every detect(). */
  private readonly workspace = new HostWorkspace();

  /** Per-sequence threshold of the false-alarm rule on the normalised energy. */
  falseAlarmThreshold(falseAlarm: number): number {
    return falseAlarmTau(falseAlarm, this.scenario);
  }

  detect(obs: CorrelationEnergyObservation): Estimate {
    const { numDevices: N, numAntennas: M, sequenceLength: L } = this.scenario;
    const Q = numSequences(this.scenario);
    const S = obs.codebook;
    const B = obs.y.re.shape[0];
    const rule = this.params.threshold;
    let threshold: HostCorrelationInput['threshold'];
    if (rule.rule === 'false-alarm') threshold = { rule: 'scalar', tau: this.falseAlarmThreshold(rule.falseAlarm) };
    else if (rule.rule === 'fixed') threshold = { rule: 'scalar', tau: rule.value };
    else {
      const beta = obs.largeScaleFading;
      if (beta === undefined) throw new Error('the midpoint rule needs the large-scale fading beta_n as side information (or use rule "false-alarm" or "fixed")');
      threshold = { rule: 'midpoint', beta: beta.dataSync() };
    }
    const out = hostCorrelationEnergy({
      yRe: obs.y.re.dataSync(),
      yIm: obs.y.im.dataSync(),
      sRe: S.re.dataSync(),
      sIm: S.im.dataSync(),
      perTrial: isPerTrialCodebook(S),
      B,
      L,
      M,
      N,
      Q,
      firstTrial: obs.trials?.first ?? 0,
      ...(this.params.noiseLevel === 'known' ? { noiseVar: this.noiseVariance(obs) } : {}),
      threshold,
      workspace: this.workspace,
    });
    return {
      activityScore: tf.tensor2d(out.score, [B, N]),
      activity: tf.tensor2d(out.activity, [B, N]),
      message: tf.tensor2d(out.message, [B, N], 'int32'),
    };
  }

  private noiseVariance(obs: CorrelationEnergyObservation): number {
    if (obs.noiseVar === undefined) throw new Error('noiseLevel "known" needs the noise variance sigma^2 as side information (or use noiseLevel "estimated")');
    return obs.noiseVar;
  }
}
