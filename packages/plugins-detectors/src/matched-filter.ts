import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { cx, definePlugin, TOKENS, type Capability, type Detector, type Estimate, type ObservationWith, type Scenario } from '@gfra/core';
import { deviceAlphabets, matchedFilter, nomaBatchArrays, nomaEstimate, nomaScenarioProblems, nomaTrial, type DeviceAlphabet } from './algorithms/noma-linear';

export const MatchedFilterParams = Type.Object({}, { additionalProperties: false });
export type MatchedFilterParams = Static<typeof MatchedFilterParams>;

const REQUIRES = ['channelState', 'signatures', 'noiseVariance', 'activityProbability'] as const satisfies readonly Capability[];
type MatchedFilterObservation = ObservationWith<(typeof REQUIRES)[number]>;

/**
 * Single-stage matched filter for signature-spread QPSK NOMA with known channels (the "MF"
 * receiver of H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free
 * NOMA: A Quantized Deep Learning Approach", Fig. 6(b)). With the effective signature
 * g_n = h_n .* s_n of device n (eq. (5): y = sum_n g_n x_n + n),
 *
 *   x~_n = g_n^H y / ||g_n||^2,
 *   v_n  = (sigma^2 ||g_n||^2 + sum_{m != n} p_m |g_n^H g_m|^2) / ||g_n||^4,
 *
 * device n declared active when log p_n + log((1/4) sum_q exp(-|x~_n - q|^2 / v_n)) >
 * log(1 - p_n) - |x~_n|^2 / v_n (log-sum-exp), and the QPSK slicer on x~_n.
 *
 * Heterogeneous rates (`scenario.bitsPerDevice` a list, J_n in {1, 2}): a 1-bit device's
 * alphabet is BPSK (message 0 -> +1, 1 -> -1); the MAP test averages over its 2 points (1/2
 * instead of 1/4) and the slicer takes the sign of Re. p_n = 1 declares the device active
 * (activityScore +Infinity, never NaN).
 *
 * @input  y          [B, L, 1] complex
 * @input  channel    [B, N, 1] (block fading) or [B, N, L, 1] (per-resource) complex
 * @input  signatures [L, N] complex, unit-norm columns
 * @input  noiseVar   sigma^2
 * @input  activityProbability [N]
 * @output activity      [B, N] MAP decision
 * @output activityScore [B, N] posterior log-odds of activity under the Gaussian model of x~_n
 * @output message       [B, N] int32: slicer of x~_n (QPSK, or BPSK for a 1-bit device), for every device
 * @output symbols       [B, N] complex: x~_n, for every device
 * @remarks The paper names the MF receiver only; the unbiased scaling, the Gaussian
 * interference-plus-noise model with the activity prior p_m, and the MAP activity test are this
 * framework's. Computed on the host in float64, trial by trial (tiny N and L). One receive antenna
 * and QPSK (J = 2), or per device BPSK / QPSK (J_n in {1, 2}).
 */
@injectable()
export class MatchedFilterDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'matched-filter',
    summary: 'Matched filter g_n^H y / ||g_n||^2 per device with a MAP activity test, for signature-spread QPSK NOMA with known channels',
    reference:
      'H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free NOMA: A Quantized Deep Learning Approach" (MF baseline of Fig. 6(b); system model eq. (5))',
    params: MatchedFilterParams,
    requires: (): Capability[] => [...REQUIRES],
    provides: (): Capability[] => ['activity', 'activityScore', 'message', 'symbols'],
    check: (_p: MatchedFilterParams, s: Scenario) => nomaScenarioProblems('matched-filter', s, true),
    perDeviceBits: true,
    notes: ['effective signature g_n = h_n .* s_n (block or per-resource channel); soft output x~_n = g_n^H y / ||g_n||^2 for every device'],
  });

  private fittedThreshold: number | undefined;
  private readonly alphabets: readonly DeviceAlphabet[];

  constructor(
    @inject(TOKENS.params) readonly params: MatchedFilterParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {
    this.alphabets = deviceAlphabets(scenario);
  }

  detect(obs: MatchedFilterObservation): Estimate {
    const { numDevices: N, sequenceLength: L } = this.scenario;
    const arrays = nomaBatchArrays('matched-filter', obs.y, obs.channel, obs.signatures, N, L);
    const p = obs.activityProbability.dataSync();
    const results = Array.from({ length: arrays.B }, (_, b) => matchedFilter(nomaTrial(arrays, b, N, L), N, L, obs.noiseVar, p, { kind: 'map' }, this.fittedThreshold, this.alphabets));
    return cx.tidy(() => nomaEstimate(results, N));
  }

  /** The thresholding module's gamma*: decide log-odds >= gamma. */
  useActivityThreshold(gamma: number): void {
    this.fittedThreshold = gamma;
  }
}
