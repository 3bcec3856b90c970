import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { cx, definePlugin, TOKENS, type Capability, type Detector, type Estimate, type ObservationWith, type Scenario } from '@gfra/core';
import { deviceAlphabets, mmseSic, nomaBatchArrays, nomaEstimate, nomaScenarioProblems, nomaTrial, type ActivityRule, type DeviceAlphabet } from './algorithms/noma-linear';

export const MmseSicParams = Type.Object(
  {
    prior: Type.Union([Type.Literal('activity'), Type.Literal('all-active')], {
      default: 'activity',
      description: 'prior power pi_m of each undetected device in the MMSE covariance: "activity" pi_m = p_m, "all-active" pi_m = 1',
    }),
    ordering: Type.Union([Type.Literal('sinr'), Type.Literal('index'), Type.Literal('prob-then-sinr')], {
      default: 'sinr',
      description: 'detection order: "sinr" largest post-MMSE SINR first, "index" device 0 first, "prob-then-sinr" largest p_n first (ties: largest SINR)',
    }),
    activityDecision: Type.Union(
      [
        Type.Literal('map'),
        Type.Object(
          { threshold: Type.Number({ minimum: 0, description: 'declare active when |x~_n| > threshold' }) },
          { additionalProperties: false },
        ),
      ],
      {
        default: 'map',
        description: '"map": MAP test on the soft estimate x~_n (Gaussian error of variance 1/SINR, prior p_n; activityScore = log-odds); { threshold }: |x~_n| > threshold (activityScore = |x~_n|)',
      },
    ),
  },
  { additionalProperties: false },
);
export type MmseSicParams = Static<typeof MmseSicParams>;

const REQUIRES = ['channelState', 'signatures', 'noiseVariance', 'activityProbability'] as const satisfies readonly Capability[];
type MmseSicObservation = ObservationWith<(typeof REQUIRES)[number]>;

/**
 * MMSE successive interference cancellation for signature-spread QPSK NOMA with known channels
 * (the "MMSE-SIC" receiver of H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design
 * for Grant-Free NOMA: A Quantized Deep Learning Approach", Figs. 6-8, complexity O(H N^3)). With
 * g_n = h_n .* s_n (eq. (5)), R the undetected devices and r the residual (initially y), each
 * stage forms C = sum_{m in R} pi_m g_m g_m^H + sigma^2 I, computes for n in R
 *
 *   beta_n = g_n^H C^{-1} g_n,  gamma_n = beta_n / (1 - pi_n beta_n),  x~_n = g_n^H C^{-1} r / beta_n,
 *
 * detects the device n* picked by `ordering`, decides its activity (MAP test on x~_{n*} with
 * error variance 1 / gamma_{n*} and prior p_{n*}, log-sum-exp over its alphabet), and if active
 * slices it to its alphabet and cancels g_{n*} q^_{n*} from r.
 *
 * Heterogeneous rates (`scenario.bitsPerDevice` a list): a 1-bit device sends BPSK (message 0 ->
 * +1, 1 -> -1), a 2-bit device QPSK; its activity test, slicer (BPSK: sign of Re) and cancelled
 * point use its own alphabet, and its message lies in [0, 2^{J_n}). With prior "all-active" and
 * every p_n = 1 this is the MUSA-SIC receiver of Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint
 * Constellation Design and Multiuser Detection for Grant-Free NOMA" (plain MMSE-SIC over all
 * users, ordered by a_n^H R^{-1} a_n, i.e. post-MMSE SINR, with hard cancellation): p_n = 1
 * declares every device active (activityScore +Infinity, never NaN).
 *
 * @input  y          [B, L, 1] complex
 * @input  channel    [B, N, 1] (block fading) or [B, N, L, 1] (per-resource) complex
 * @input  signatures [L, N] complex, unit-norm columns
 * @input  noiseVar   sigma^2
 * @input  activityProbability [N]
 * @output activity      [B, N] decision at each device's stage
 * @output activityScore [B, N] posterior log-odds of activity ("map"), or |x~_n| (threshold rule)
 * @output message       [B, N] int32: slicer of x~_n (QPSK, or BPSK for a 1-bit device), for every device
 * @output symbols       [B, N] complex: the unbiased estimate x~_n at the device's stage, for every device
 * @remarks The paper names MMSE-SIC and its complexity only. The covariance prior, the SINR
 * ordering, the unbiased scaling and the MAP activity test (with p_n also under prior
 * "all-active") are this framework's resolution. Computed on the host in float64, trial by trial.
 * Once the thresholding module fits gamma*, the decisions (and hence the cancellation) use
 * activityScore >= gamma*. One receive antenna; QPSK (J = 2), or per device BPSK / QPSK (J_n in
 * {1, 2}). MUSA-SIC (Ma et al.): the paper names MUSA with MMSE-SIC only; the SINR ordering and
 * the unbiased estimate are the framework's, the circular (not widely linear) MMSE filter is kept
 * for the real BPSK symbols.
 */
@injectable()
export class MmseSicDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'mmse-sic',
    summary: 'MMSE successive interference cancellation (SINR ordering, MAP activity test per stage) for signature-spread QPSK (or per-device BPSK/QPSK) NOMA with known channels',
    reference:
      'H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free NOMA: A Quantized Deep Learning Approach" (MMSE-SIC baseline of Figs. 6-8 and Table IV; system model eq. (5))',
    params: MmseSicParams,
    requires: (): Capability[] => [...REQUIRES],
    provides: (): Capability[] => ['activity', 'activityScore', 'message', 'symbols'],
    check: (_p: MmseSicParams, s: Scenario) => nomaScenarioProblems('mmse-sic', s, true),
    perDeviceBits: true,
    notes: [
      'stage: C = sum_{m in R} pi_m g_m g_m^H + sigma^2 I, beta_n = g_n^H C^-1 g_n, SINR = beta_n / (1 - pi_n beta_n), x~_n = g_n^H C^-1 r / beta_n',
      'soft output x~_n at the device stage for every device (sign-mode BER possible)',
      'bits per device: 1 (BPSK, message 0 -> +1) or 2 (QPSK); MUSA-SIC of Ma et al.: prior "all-active", ordering "sinr", all p_n = 1',
    ],
  });

  private fittedThreshold: number | undefined;
  private readonly rule: ActivityRule;
  private readonly alphabets: readonly DeviceAlphabet[];

  constructor(
    @inject(TOKENS.params) private readonly params: MmseSicParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {
    const d = params.activityDecision;
    this.rule = d === 'map' ? { kind: 'map' } : { kind: 'threshold', threshold: d.threshold };
    this.alphabets = deviceAlphabets(scenario);
  }

  detect(obs: MmseSicObservation): Estimate {
    const { numDevices: N, sequenceLength: L } = this.scenario;
    const arrays = nomaBatchArrays('mmse-sic', obs.y, obs.channel, obs.signatures, N, L);
    const p = obs.activityProbability.dataSync();
    const options = { prior: this.params.prior, ordering: this.params.ordering, rule: this.rule, fitted: this.fittedThreshold, alphabets: this.alphabets };
    const results = Array.from({ length: arrays.B }, (_, b) => mmseSic(nomaTrial(arrays, b, N, L), N, L, obs.noiseVar, p, options));
    return cx.tidy(() => nomaEstimate(results, N));
  }

  /** The thresholding module's gamma*: decide activityScore >= gamma at every stage (and cancel accordingly). */
  useActivityThreshold(gamma: number): void {
    this.fittedThreshold = gamma;
  }
}
