import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { cx, definePlugin, TOKENS, type Capability, type Detector, type Estimate, type ObservationWith, type ParamProblem, type Scenario } from '@gfra/core';
import { finiteAlphabetLs, linearLs, nomaBatchArrays, nomaEstimate, nomaScenarioProblems, nomaTrial } from './algorithms/noma-linear';

export const OracleLsParams = Type.Object(
  {
    variant: Type.Union([Type.Literal('finite-alphabet'), Type.Literal('linear')], {
      default: 'finite-alphabet',
      description:
        '"finite-alphabet": argmin over QPSK^|Gamma| of ||y - G_Gamma x||^2 (ML given the true support, 4^|Gamma| candidates); "linear": pinv(G_Gamma) y then the QPSK slicer (minimum-norm solution when |Gamma| > L)',
    }),
    maxActive: Type.Integer({
      minimum: 1,
      maximum: 12,
      default: 8,
      description: 'finite-alphabet: refuse (at validation) scenarios with more devices than this (4^N candidates in the worst trial)',
    }),
  },
  { additionalProperties: false },
);
export type OracleLsParams = Static<typeof OracleLsParams>;

const REQUIRES = ['channelState', 'signatures', 'trueActivity'] as const satisfies readonly Capability[];
type OracleLsObservation = ObservationWith<(typeof REQUIRES)[number]>;

/**
 * ORACLE: least-squares data detection over the TRUE active set Gamma (the "oracle-LS" benchmark
 * of H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free NOMA: A
 * Quantized Deep Learning Approach", Fig. 8: "the active set is known at the receiver"). With
 * g_n = h_n .* s_n (eq. (5)) and G_Gamma the effective signatures of the truly active devices:
 *
 * - `finite-alphabet` (default): x^_Gamma = argmin_{x in QPSK^|Gamma|} ||y - G_Gamma x||^2, by
 *   exhaustive search (ML detection given the support);
 * - `linear`: x_Gamma = pinv(G_Gamma) y (the minimum-norm solution when |Gamma| > L), then the
 *   QPSK slicer.
 *
 * @input  y            [B, L, 1] complex
 * @input  channel      [B, N, 1] (block fading) or [B, N, L, 1] (per-resource) complex
 * @input  signatures   [L, N] complex, unit-norm columns
 * @input  trueActivity [B, N] (oracle knowledge)
 * @output activity      [B, N] = the true activity
 * @output activityScore [B, N] = the true activity
 * @output message       [B, N] int32: detected message of active devices, 0 for inactive ones
 * @output symbols       [B, N] complex: the QPSK decision (finite-alphabet) or the LS estimate
 *                       (linear) of active devices, 0 for inactive ones
 * @remarks An ORACLE: it is given the true activity, which no real receiver knows, so its activity
 * error is 0 by construction and it bounds what activity detection costs. The paper does not say
 * whether its LS is linear or over the finite alphabet: the default is the finite-alphabet one
 * (the linear one floors because |Gamma| > L happens often, and is kept as `variant: "linear"`).
 * The finite-alphabet search is exponential in |Gamma| (4^|Gamma|), hence `maxActive`. Computed on
 * the host in float64, trial by trial. One receive antenna and QPSK (J = 2) only.
 */
@injectable()
export class OracleLsDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'oracle-ls',
    summary: 'ORACLE (knows the true activity): least squares over the true active set, finite-alphabet (QPSK ML given the support) or linear pinv, for signature-spread NOMA',
    reference:
      'H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free NOMA: A Quantized Deep Learning Approach" (oracle-LS benchmark of Fig. 8; system model eq. (5))',
    params: OracleLsParams,
    requires: (): Capability[] => [...REQUIRES],
    provides: (): Capability[] => ['activity', 'activityScore', 'message', 'symbols'],
    check: (p: OracleLsParams, s: Scenario): ParamProblem[] => {
      const problems = nomaScenarioProblems('oracle-ls', s);
      if (p.variant === 'finite-alphabet' && s.numDevices > p.maxActive) {
        problems.push({
          path: 'maxActive',
          message: `oracle-ls (finite-alphabet) searches up to 4^N = 4^${s.numDevices} candidates per trial; keep numDevices at most maxActive = ${p.maxActive}`,
          hint: 'Reduce numDevices, raise maxActive if you can wait, or use variant "linear"',
        });
      }
      return problems;
    },
    notes: ['oracle: requires the true activity (trueActivity); its activity outputs are the truth'],
  });

  constructor(
    @inject(TOKENS.params) private readonly params: OracleLsParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {}

  detect(obs: OracleLsObservation): Estimate {
    const { numDevices: N, sequenceLength: L } = this.scenario;
    const arrays = nomaBatchArrays('oracle-ls', obs.y, obs.channel, obs.signatures, N, L);
    const truth = obs.trueActivity.dataSync();
    if (truth.length !== arrays.B * N) throw new Error(`oracle-ls: trueActivity must be [B, N] = [${arrays.B}, ${N}], got [${obs.trueActivity.shape.join(', ')}]`);
    const solve = this.params.variant === 'linear' ? linearLs : finiteAlphabetLs;
    const results = Array.from({ length: arrays.B }, (_, b) => {
      const active = Uint8Array.from({ length: N }, (_, n) => (truth[b * N + n] > 0.5 ? 1 : 0));
      const support = [...active.keys()].filter((n) => active[n] === 1);
      if (support.length > this.params.maxActive && this.params.variant === 'finite-alphabet') {
        throw new Error(`oracle-ls: ${support.length} active devices exceed maxActive = ${this.params.maxActive}`);
      }
      const x = solve(nomaTrial(arrays, b, N, L), N, L, support);
      return { ...x, active, score: Float64Array.from(active) };
    });
    return cx.tidy(() => nomaEstimate(results, N));
  }
}
