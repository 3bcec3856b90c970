import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  definePlugin,
  deviceSequences,
  numSequences,
  TOKENS,
  type Capability,
  type Detector,
  type Estimate,
  type ObservationWith,
  type ParamProblem,
  type Scenario,
} from '@gfra/core';
import { HostWorkspace } from './algorithms/host-workspace';
import { hostExhaustiveSearch } from './algorithms/exhaustive-ml-host';
import { isPerTrialCodebook } from './codebook';

export const ExhaustiveMlParams = Type.Object(
  {
    model: Type.Union([Type.Literal('noncoherent'), Type.Literal('coherent')], {
      default: 'noncoherent',
      description:
        '"noncoherent": channels unknown, Y columns i.i.d. CN(0, S diag(gamma) S^H + sigma^2 I) with gamma from beta_n (pilot-based MIMO); "coherent": channels known (channelState), Y = sum_n h_n .* x_n + W (code-domain NOMA oracle)',
    }),
    criterion: Type.Union([Type.Literal('map'), Type.Literal('ml')], {
      default: 'map',
      description: '"map": maximise likelihood x prior (activity probability eps_n, uniform messages); "ml": likelihood only',
    }),
    activity: Type.Union([Type.Literal('unknown'), Type.Literal('all-active')], {
      default: 'unknown',
      description: '"unknown": hypotheses over activity and messages ((Q+1)^N); "all-active": every device known to be active, messages only (Q^N)',
    }),
    maxHypotheses: Type.Integer({
      minimum: 1,
      maximum: 16777216,
      default: 4096,
      description: 'refuse (at validation) scenarios with more hypotheses per trial than this',
    }),
  },
  { additionalProperties: false },
);
export type ExhaustiveMlParams = Static<typeof ExhaustiveMlParams>;

/** Side information exhaustive-ml always requires (beta_n, the channel state and eps_n depend on the params). */
const REQUIRES = ['codebook', 'noiseVariance'] as const;
type ExhaustiveMlObservation = ObservationWith<(typeof REQUIRES)[number]>;

/**
 * Number of hypotheses per trial: (Q+1)^N, or Q^N when all devices are known to be active; with
 * per-device bits prod_n (Q_n + 1), or prod_n Q_n.
 */
export function hypothesisCount(p: Pick<ExhaustiveMlParams, 'activity'>, s: Scenario): number {
  return deviceSequences(s).reduce((count, Qn) => count * (p.activity === 'all-active' ? Qn : Qn + 1), 1);
}

/**
 * Brute-force joint maximum-likelihood (or MAP) detection of activity and messages: evaluates
 * every hypothesis (a_n, m_n)_{n=1..N}, a_n in {0, 1}, m_n in [0, Q_n), and returns the best one,
 * together with exact posterior marginals (activity log-odds, bit LLRs) from the same sums. For
 * tiny systems only — it is the correctness oracle for the iterative detectors and the optimum
 * for small research cases.
 *
 * `noncoherent` (pilot-based MIMO, unknown Rayleigh channels h_n ~ CN(0, beta_n I_M)): given a
 * hypothesis, the M columns of Y are i.i.d. CN(0, Sigma), Sigma = sum_n a_n beta_n s_{n,m_n}
 * s_{n,m_n}^H + sigma^2 I_L, so
 *
 *   log p(Y | a, m) = -M [log det Sigma + tr(Sigma^{-1} Sigma_hat)] - L M log(pi),  Sigma_hat = Y Y^H / M
 *
 * (cf. the covariance-based detectors: A. Fengler, S. Haghighatshoar, P. Jung, G. Caire,
 * "Non-Bayesian activity detection, large-scale fading coefficient estimation, and unsourced random
 * access with a massive MIMO receiver", IEEE Trans. Inf. Theory, 2021, and the MAP objective of
 * Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via deep learning
 * with applications in MIMO-based grant-free random access", IEEE J. Sel. Areas Commun., 2021,
 * Eq. (16)).
 *
 * `coherent` (known channels, e.g. code-domain NOMA with per-resource fading h[n, l, m]):
 *
 *   log p(Y | a, m) = -||Y - sum_n a_n h_n .* x_{n,m_n}||_F^2 / sigma^2 - L M log(pi sigma^2)
 *
 * with x_{n,q} column nQ + q of the codebook and h_n of shape [L, M] (per-resource) or [M]
 * broadcast over l (block fading).
 *
 * `map` adds log P(a, m) = sum_n [a_n log(eps_n / Q_n) + (1 - a_n) log(1 - eps_n)]; `ml` does not
 * (a flat prior over hypotheses for the soft outputs). The search ({@link hostExhaustiveSearch})
 * is a depth-first enumeration over devices in float64 on the host: noncoherent, Sigma^{-1}
 * updated by Sherman-Morrison from one level to the next, carried as its projections
 * X^H Sigma^{-1} X and Y^H Sigma^{-1} X on the sequences (the root's from two BLAS products);
 * coherent, the residual by subtraction.
 *
 * @input  y           [B, L, M] complex
 * @input  codebook    [L, N*Q] complex, or [B, L, N*Q] (one per trial, encoder redraw "per-trial")
 * @input  noiseVar    sigma^2
 * @input  largeScaleFading    [B, N] (noncoherent)
 * @input  channel             [B, N, M] or [B, N, L, M] complex (coherent: channelState)
 * @input  activityProbability [N] (map with unknown activity)
 * @output activity      [B, N] in {0, 1}: the best hypothesis
 * @output message       [B, N] int32: its messages (0 where inactive)
 * @output activityScore [B, N] posterior log-odds log P(a_n = 1 | Y) / P(a_n = 0 | Y) (not with
 *         activity "all-active": every device is known to be active)
 * @output bitLLR        [B, N, J] log P(b_j = 1 | Y, a_n = 1) / P(b_j = 0 | Y, a_n = 1) (J > 0)
 * Heterogeneous rates (`scenario.bitsPerDevice` a list): device n has Q_n = 2^{J_n} <= Q messages
 * (Q = 2^{max J_n}); only m_n in [0, Q_n) is hypothesised (the codebook columns q >= Q_n, zeros,
 * are never used), so with every device active there are prod_n Q_n hypotheses, e.g. 512 for
 * J_n = (1, 1, 1, 2, 2, 2), the configuration of Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint
 * constellation design and multiuser detection for grant-free NOMA", IEEE Trans. Wireless Commun.
 * 2022 (a diagnostic optimum beside that paper's baselines; the paper itself has no exhaustive
 * detector).
 *
 * @remarks The noncoherent likelihoods are those of the L x L Sherman-Morrison recursion up to
 * float64 rounding (the same updates, applied to the projections of Sigma^{-1} on the sequences:
 * O(K^2) per node at the upper levels, O(M) at the last, instead of O(L^2 + L M)); a tie between
 * hypotheses broken by rounding may therefore go the other way than in an L x L evaluation. The
 * marginals are the same log-sum-exps gathered per subtree. The joint MAP decision minimises the probability that any device of the block is
 * wrong (block error rate), not each device's error rate separately. With per-device bits no
 * `bitLLR` is provided (J_n differs per device while the output has J = max J_n columns); the
 * message decisions and activity log-odds are.
 */
@injectable()
export class ExhaustiveMlDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'exhaustive-ml',
    summary: 'Brute-force joint ML/MAP over all (Q+1)^N activity and message hypotheses, noncoherent or coherent (tiny systems: the oracle)',
    reference:
      'Optimal joint detection by exhaustive search; noncoherent Gaussian likelihood of the covariance approach (A. Fengler, S. Haghighatshoar, P. Jung, G. Caire, "Non-Bayesian activity detection, large-scale fading coefficient estimation, and unsourced random access with a massive MIMO receiver", IEEE Trans. Inf. Theory 2021; Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via deep learning with applications in MIMO-based grant-free random access", IEEE JSAC 2021, Eq. (16))',
    params: ExhaustiveMlParams,
    requires: (p: ExhaustiveMlParams) => {
      const needs: Capability[] = [...REQUIRES];
      needs.push(p.model === 'noncoherent' ? 'largeScaleFading' : 'channelState');
      if (p.criterion === 'map' && p.activity === 'unknown') needs.push('activityProbability');
      return needs;
    },
    provides: (p: ExhaustiveMlParams, s: Scenario) => {
      // With every device known to be active there is no activity score to give (its log-odds
      // would be +Infinity).
      const out: Capability[] = p.activity === 'all-active' ? ['activity', 'message'] : ['activityScore', 'activity', 'message'];
      if (s.bitsPerDevice > 0 && s.deviceBits === undefined) out.push('bitLLR');
      return out;
    },
    perDeviceBits: true,
    check: (p: ExhaustiveMlParams, s: Scenario): ParamProblem[] => {
      const count = hypothesisCount(p, s);
      if (count <= p.maxHypotheses) return [];
      const Q = numSequences(s);
      const allActive = p.activity === 'all-active';
      const formula =
        s.deviceBits !== undefined
          ? allActive
            ? `prod_n Q_n = ${deviceSequences(s).join('*')}`
            : `prod_n (Q_n+1) = ${deviceSequences(s).map((q) => q + 1).join('*')}`
          : allActive
            ? `Q^N = ${Q}^${s.numDevices}`
            : `(Q+1)^N = ${Q + 1}^${s.numDevices}`;
      return [
        {
          path: '',
          message: `exhaustive-ml evaluates ${formula} = ${Number.isSafeInteger(count) ? count : count.toExponential(3)} hypotheses per trial; keep it at most maxHypotheses = ${p.maxHypotheses}: reduce numDevices or bitsPerDevice`,
          hint: `Use exhaustive-ml only on tiny systems (e.g. N <= ${Math.floor(Math.log(p.maxHypotheses) / Math.log(p.activity === 'all-active' ? Math.max(Q, 2) : Q + 1))} at J = ${s.bitsPerDevice}), or raise maxHypotheses if you can wait`,
        },
      ];
    },
  });

  constructor(
    @inject(TOKENS.params) private readonly params: ExhaustiveMlParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {}

  /** The host kernel's buffers, reused by every detect(). */
  private readonly workspace = new HostWorkspace();

  detect(obs: ExhaustiveMlObservation): Estimate {
    const { numDevices: N, sequenceLength: L, numAntennas: M, bitsPerDevice: J } = this.scenario;
    const Q = numSequences(this.scenario);
    const count = hypothesisCount(this.params, this.scenario);
    if (count > this.params.maxHypotheses) throw new Error(`${count} hypotheses per trial exceed maxHypotheses = ${this.params.maxHypotheses}`);
    const S = obs.codebook;
    const B = obs.y.re.shape[0];
    const logPrior = this.logPriors(obs);
    const noncoherent = this.params.model === 'noncoherent';
    if (noncoherent && obs.largeScaleFading === undefined) throw new Error('model "noncoherent" needs the large-scale fading beta_n as side information (or use model "coherent" with the channel state)');
    const h = obs.channel;
    if (!noncoherent && h === undefined) throw new Error('model "coherent" needs the channel state as side information (or use model "noncoherent" with beta_n)');
    const withBits = J > 0 && this.scenario.deviceBits === undefined;
    const out = hostExhaustiveSearch({
      model: this.params.model,
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
      deviceSequences: deviceSequences(this.scenario),
      bits: withBits ? J : 0,
      noiseVar: obs.noiseVar,
      ...(noncoherent && obs.largeScaleFading !== undefined ? { beta: obs.largeScaleFading.dataSync() } : {}),
      ...(h !== undefined && !noncoherent ? { channel: { re: h.re.dataSync(), im: h.im.dataSync(), perResource: h.re.rank === 4 } } : {}),
      logPrior,
      workspace: this.workspace,
    });
    const est: Estimate = {
      activity: tf.tensor2d(out.activity, [B, N], 'float32'),
      message: tf.tensor2d(out.message, [B, N], 'int32'),
      ...(this.params.activity === 'all-active' ? {} : { activityScore: tf.tensor2d(out.activityLogOdds, [B, N], 'float32') }),
    };
    return withBits ? { ...est, bitLLR: tf.tensor3d(out.bitLlr, [B, N, J], 'float32') } : est;
  }

  /** log prior of "inactive" and of "active with a given message", per device. */
  private logPriors(obs: ExhaustiveMlObservation): { inactive: number[]; active: number[] } {
    const N = this.scenario.numDevices;
    const Qn = deviceSequences(this.scenario);
    if (this.params.activity === 'all-active') return { inactive: Array(N).fill(-Infinity), active: Qn.map((q) => (this.params.criterion === 'map' ? -Math.log(q) : 0)) };
    if (this.params.criterion === 'ml') return { inactive: Array(N).fill(0), active: Array(N).fill(0) };
    if (obs.activityProbability === undefined) throw new Error('criterion "map" with unknown activity needs the activity probability eps_n as side information (or use criterion "ml")');
    const eps = Array.from(obs.activityProbability.dataSync());
    return { inactive: eps.map((e) => Math.log1p(-e)), active: eps.map((e, n) => Math.log(e / Qn[n])) };
  }
}
