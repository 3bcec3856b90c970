import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
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
import { hostCodebook, isPerTrialCodebook } from './codebook';

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

/** Online log-sum-exp accumulator. */
class LogSum {
  max = -Infinity;
  sum = 0;
  add(x: number): void {
    if (x === -Infinity) return;
    if (x > this.max) {
      this.sum = this.sum * Math.exp(this.max - x) + 1;
      this.max = x;
    } else {
      this.sum += Math.exp(x - this.max);
    }
  }
  get value(): number {
    return this.max === -Infinity ? -Infinity : this.max + Math.log(this.sum);
  }
}

/** Per-trial result of the search. */
interface TrialResult {
  readonly activity: number[];
  readonly message: number[];
  /** Posterior log-odds of activity per device (+Infinity when known active). */
  readonly activityLogOdds: number[];
  /** [N][J] bit LLRs given the device is active. */
  readonly bitLlr: number[][];
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
 * (a flat prior over hypotheses for the soft outputs). The search is a depth-first enumeration
 * over devices, with the covariance updated by Sherman-Morrison (noncoherent) or the residual by
 * subtraction (coherent) from one level to the next, in float64 on the host.
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
 * @remarks The joint MAP decision minimises the probability that any device of the block is
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

  detect(obs: ExhaustiveMlObservation): Estimate {
    const { numDevices: N, sequenceLength: L, numAntennas: M, bitsPerDevice: J } = this.scenario;
    const Q = numSequences(this.scenario);
    const K = N * Q;
    const count = hypothesisCount(this.params, this.scenario);
    if (count > this.params.maxHypotheses) throw new Error(`${count} hypotheses per trial exceed maxHypotheses = ${this.params.maxHypotheses}`);
    const S = obs.codebook;
    const B = obs.y.re.shape[0];
    const cb = hostCodebook(S);
    // Sequences of trial b (per run: the same for every trial), column-major: seq[k] = { re[L], im[L] }
    const sequencesOf = (b: number): { seqRe: Float64Array[]; seqIm: Float64Array[] } => {
      const { re: cbRe, im: cbIm } = cb.trial(b);
      return {
        seqRe: Array.from({ length: K }, (_, k) => Float64Array.from({ length: L }, (_, l) => cbRe[l * K + k])),
        seqIm: Array.from({ length: K }, (_, k) => Float64Array.from({ length: L }, (_, l) => cbIm[l * K + k])),
      };
    };
    const shared = isPerTrialCodebook(S) ? undefined : sequencesOf(0);
    const trialSequences = (b: number) => shared ?? sequencesOf(b);
    const yRe = obs.y.re.dataSync();
    const yIm = obs.y.im.dataSync();
    const logPrior = this.logPriors(obs);
    const results: TrialResult[] = [];
    if (this.params.model === 'noncoherent') {
      if (obs.largeScaleFading === undefined) throw new Error('model "noncoherent" needs the large-scale fading beta_n as side information (or use model "coherent" with the channel state)');
      const beta = obs.largeScaleFading.dataSync();
      for (let b = 0; b < B; b++) {
        const off = b * L * M;
        const { seqRe, seqIm } = trialSequences(b);
        results.push(
          this.searchNoncoherent(seqRe, seqIm, yRe.subarray(off, off + L * M), yIm.subarray(off, off + L * M), Array.from(beta.subarray(b * N, (b + 1) * N)), obs.noiseVar, logPrior),
        );
      }
    } else {
      const h = obs.channel;
      if (h === undefined) throw new Error('model "coherent" needs the channel state as side information (or use model "noncoherent" with beta_n)');
      const perResource = h.re.rank === 4;
      const hRe = h.re.dataSync();
      const hIm = h.im.dataSync();
      const hPer = perResource ? N * L * M : N * M;
      for (let b = 0; b < B; b++) {
        const off = b * L * M;
        const { seqRe, seqIm } = trialSequences(b);
        // c[k] = h_n .* x_{n,q} as [L, M] complex
        const cRe: Float64Array[] = [];
        const cIm: Float64Array[] = [];
        for (let k = 0; k < K; k++) {
          const n = Math.floor(k / Q);
          const re = new Float64Array(L * M);
          const im = new Float64Array(L * M);
          for (let l = 0; l < L; l++) {
            for (let m = 0; m < M; m++) {
              const hi = b * hPer + (perResource ? (n * L + l) * M + m : n * M + m);
              // (x_r + i x_i)(h_r + i h_i)
              re[l * M + m] = seqRe[k][l] * hRe[hi] - seqIm[k][l] * hIm[hi];
              im[l * M + m] = seqRe[k][l] * hIm[hi] + seqIm[k][l] * hRe[hi];
            }
          }
          cRe.push(re);
          cIm.push(im);
        }
        results.push(this.searchCoherent(cRe, cIm, yRe.subarray(off, off + L * M), yIm.subarray(off, off + L * M), obs.noiseVar, logPrior));
      }
    }
    return cx.tidy((): Estimate => {
      const est: Estimate = {
        activity: tf.tensor2d(results.flatMap((r) => r.activity), [B, N], 'float32'),
        message: tf.tensor2d(results.flatMap((r) => r.message), [B, N], 'int32'),
        ...(this.params.activity === 'all-active' ? {} : { activityScore: tf.tensor2d(results.flatMap((r) => r.activityLogOdds), [B, N], 'float32') }),
      };
      if (J === 0 || this.scenario.deviceBits !== undefined) return est;
      return { ...est, bitLLR: tf.tensor3d(results.flatMap((r) => r.bitLlr.flat()), [B, N, J], 'float32') };
    });
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

  /**
   * Enumerate all hypotheses for one trial: `visit(level, ...)` descends device by device; the
   * per-branch score update is given by the model.
   */
  private enumerate<State>(
    root: State,
    extend: (state: State, k: number, level: number) => { state: State; score: number },
    leafScore: (state: State) => number,
    logPrior: { inactive: number[]; active: number[] },
  ): TrialResult {
    const { numDevices: N, bitsPerDevice: J } = this.scenario;
    const Q = numSequences(this.scenario);
    const Qn = deviceSequences(this.scenario);
    const choice = new Array<number>(N).fill(-1); // -1 inactive, else message
    let best = -Infinity;
    let bestChoice = choice.slice();
    const activeSum = Array.from({ length: N }, () => new LogSum());
    const inactiveSum = Array.from({ length: N }, () => new LogSum());
    const bitOne = Array.from({ length: N }, () => Array.from({ length: J }, () => new LogSum()));
    const bitZero = Array.from({ length: N }, () => Array.from({ length: J }, () => new LogSum()));
    const visit = (level: number, state: State, partial: number): void => {
      if (level === N) {
        const score = partial + leafScore(state);
        if (score > best) {
          best = score;
          bestChoice = choice.slice();
        }
        for (let n = 0; n < N; n++) {
          const q = choice[n];
          if (q < 0) {
            inactiveSum[n].add(score);
            continue;
          }
          activeSum[n].add(score);
          for (let j = 0; j < J; j++) ((q >> (J - 1 - j)) & 1 ? bitOne : bitZero)[n][j].add(score);
        }
        return;
      }
      if (logPrior.inactive[level] > -Infinity) {
        choice[level] = -1;
        visit(level + 1, state, partial + logPrior.inactive[level]);
      }
      for (let q = 0; q < Qn[level]; q++) {
        const next = extend(state, level * Q + q, level);
        choice[level] = q;
        visit(level + 1, next.state, partial + logPrior.active[level] + next.score);
      }
      choice[level] = -1;
    };
    visit(0, root, 0);
    return {
      activity: bestChoice.map((q) => (q >= 0 ? 1 : 0)),
      message: bestChoice.map((q) => Math.max(q, 0)),
      activityLogOdds: activeSum.map((s, n) => s.value - inactiveSum[n].value),
      bitLlr: bitOne.map((row, n) => row.map((one, j) => one.value - bitZero[n][j].value)),
    };
  }

  /** Noncoherent search: state = (Sigma^{-1}, log det Sigma, tr(Sigma^{-1} Sigma_hat)). */
  private searchNoncoherent(
    seqRe: Float64Array[],
    seqIm: Float64Array[],
    yRe: ArrayLike<number>,
    yIm: ArrayLike<number>,
    beta: number[],
    noiseVar: number,
    logPrior: { inactive: number[]; active: number[] },
  ): TrialResult {
    const { sequenceLength: L, numAntennas: M } = this.scenario;
    const Q = numSequences(this.scenario);
    interface State {
      wr: Float64Array;
      wi: Float64Array;
      logDet: number;
      trace: number;
    }
    const wr = new Float64Array(L * L);
    const wi = new Float64Array(L * L);
    let yEnergy = 0;
    for (let i = 0; i < L; i++) wr[i * L + i] = 1 / noiseVar;
    for (let i = 0; i < L * M; i++) yEnergy += yRe[i] * yRe[i] + yIm[i] * yIm[i];
    const root: State = { wr, wi, logDet: L * Math.log(noiseVar), trace: yEnergy / (M * noiseVar) };
    const ur = new Float64Array(L);
    const ui = new Float64Array(L);
    const extend = (s: State, k: number): { state: State; score: number } => {
      const g = beta[Math.floor(k / Q)];
      const xr = seqRe[k];
      const xi = seqIm[k];
      // u = Sigma^{-1} x, a = x^H u
      let a = 0;
      for (let i = 0; i < L; i++) {
        let r = 0;
        let im = 0;
        for (let j = 0; j < L; j++) {
          r += s.wr[i * L + j] * xr[j] - s.wi[i * L + j] * xi[j];
          im += s.wr[i * L + j] * xi[j] + s.wi[i * L + j] * xr[j];
        }
        ur[i] = r;
        ui[i] = im;
        a += xr[i] * r + xi[i] * im;
      }
      // u^H Sigma_hat u = ||Y^H u||^2 / M
      let quad = 0;
      for (let m = 0; m < M; m++) {
        let r = 0;
        let im = 0;
        for (let i = 0; i < L; i++) {
          const pr = yRe[i * M + m];
          const pi = yIm[i * M + m];
          r += pr * ur[i] + pi * ui[i];
          im += pr * ui[i] - pi * ur[i];
        }
        quad += r * r + im * im;
      }
      quad /= M;
      const c = g / (1 + g * a);
      const nwr = s.wr.slice();
      const nwi = s.wi.slice();
      for (let i = 0; i < L; i++) {
        for (let j = 0; j < L; j++) {
          // u_i conj(u_j)
          nwr[i * L + j] -= c * (ur[i] * ur[j] + ui[i] * ui[j]);
          nwi[i * L + j] -= c * (ui[i] * ur[j] - ur[i] * ui[j]);
        }
      }
      return { state: { wr: nwr, wi: nwi, logDet: s.logDet + Math.log1p(g * a), trace: s.trace - c * quad }, score: 0 };
    };
    const leaf = (s: State): number => -M * (s.logDet + s.trace);
    return this.enumerate(root, extend, leaf, logPrior);
  }

  /** Coherent search: state = residual Y - sum of the chosen contributions. */
  private searchCoherent(
    cRe: Float64Array[],
    cIm: Float64Array[],
    yRe: ArrayLike<number>,
    yIm: ArrayLike<number>,
    noiseVar: number,
    logPrior: { inactive: number[]; active: number[] },
  ): TrialResult {
    const size = yRe.length;
    interface State {
      re: Float64Array;
      im: Float64Array;
    }
    const root: State = { re: Float64Array.from(yRe), im: Float64Array.from(yIm) };
    const extend = (s: State, k: number): { state: State; score: number } => {
      const re = new Float64Array(size);
      const im = new Float64Array(size);
      for (let i = 0; i < size; i++) {
        re[i] = s.re[i] - cRe[k][i];
        im[i] = s.im[i] - cIm[k][i];
      }
      return { state: { re, im }, score: 0 };
    };
    const leaf = (s: State): number => {
      let e = 0;
      for (let i = 0; i < size; i++) e += s.re[i] * s.re[i] + s.im[i] * s.im[i];
      return -e / noiseVar;
    };
    return this.enumerate(root, extend, leaf, logPrior);
  }
}
