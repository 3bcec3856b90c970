/**
 * The exhaustive joint ML/MAP search of {@link ExhaustiveMlDetector} as a host kernel: every
 * hypothesis (a_n, m_n)_{n=1..N} (a_n in {0, 1}, m_n in [0, Q_n)) visited depth-first, device 0
 * first, "inactive" before messages 0, 1, ..., in float64; the best hypothesis is the first with the
 * largest score (strictly greater replaces), the soft outputs are exact posterior marginals.
 *
 * Scores (see the detector for the models): log prior (sums of the per-device terms given) plus
 *
 * - noncoherent: log p(Y | a, m) + L M log(pi) = -M [log det Sigma + tr(Sigma^{-1} Sigma_hat)],
 *   Sigma = sum_n a_n beta_n s_{n,m_n} s_{n,m_n}^H + sigma^2 I_L, Sigma_hat = Y Y^H / M;
 * - coherent: log p(Y | a, m) + L M log(pi sigma^2) = -||Y - sum_n a_n h_n .* x_{n,m_n}||_F^2 / sigma^2.
 *
 * Noncoherent search. Adding sequence x_j with gain g = beta_n to Sigma changes W = Sigma^{-1} by
 * Sherman-Morrison, W' = W - c u u^H with u = W x_j, a = x_j^H W x_j, c = g / (1 + g a), so that
 *
 *   log det Sigma' = log det Sigma + log(1 + g a),
 *   tr(W' Sigma_hat) = tr(W Sigma_hat) - c ||Y^H u||^2 / M.
 *
 * The search needs W only through G = X^H W X ([K, K], K = N Q: a = G_jj) and P = Y^H W X
 * ([M, K]: Y^H u = P_{:,j}), so it carries those instead of the L x L matrix W, updated by the
 * same rank-one step: G' = G - c G_{:,j} G_{j,:}, P' = P - c P_{:,j} G_{j,:}, and only for the
 * columns of the devices still to be decided (none below the last device). From the root
 * W = I / sigma^2: G = X^H X / sigma^2 (once per codebook) and P = Y^H X / sigma^2 (once per
 * trial), two products by the {@link blas} of `@gfra/core` in float64.
 *
 * Coherent search: the residual Y - sum of the chosen contributions h_n .* x_{n,m_n}, by
 * subtraction from one level to the next; the leaf's score is its energy.
 *
 * Marginals. With the leaf scores s(h) (log posterior up to a constant), the activity log-odds of
 * device n are LSE_{h: a_n = 1} s(h) - LSE_{h: a_n = 0} s(h) and the bit LLRs
 * LSE_{h: a_n = 1, b_j(m_n) = 1} s(h) - LSE_{h: a_n = 1, b_j(m_n) = 0} s(h) (LSE = log-sum-exp,
 * bit j of q is (q >> (J - 1 - j)) & 1). They are gathered per device and option,
 * T[n][o] = LSE_{h: option of device n = o} s(h), where o is "inactive" or a message: every node
 * of the tree returns the LSE of its subtree's leaves and adds each child's value to
 * T[level][child's option], so that the search takes about two exponentials per leaf (instead of
 * one per device and bit).
 *
 * Every trial's numbers depend on that trial's inputs only (the codebook product X^H X is a
 * function of the codebook alone), so the results do not depend on the batch split.
 */
import { blas } from '@gfra/core';
import { HostWorkspace, type HostObservation } from './host-workspace';

/** Inputs of {@link hostExhaustiveSearch}: host arrays, row-major as `dataSync()` gives them. */
export interface HostExhaustiveInput extends HostObservation {
  readonly model: 'noncoherent' | 'coherent';
  readonly N: number;
  /** Q: codebook columns per device. */
  readonly Q: number;
  /** Q_n <= Q: messages hypothesised for device n ([N]). */
  readonly deviceSequences: readonly number[];
  /** Bits J with Q = 2^J for the bit LLRs; 0: none computed. */
  readonly bits: number;
  /** sigma^2. */
  readonly noiseVar: number;
  /** [B, N] beta_n (noncoherent). */
  readonly beta?: ArrayLike<number>;
  /** Channels (coherent): [B, N, M], or [B, N, L, M] with `perResource`. */
  readonly channel?: { readonly re: ArrayLike<number>; readonly im: ArrayLike<number>; readonly perResource: boolean };
  /** log prior of device n inactive (-Infinity: known active, never hypothesised) and of active with one given message ([N] each). */
  readonly logPrior: { readonly inactive: ArrayLike<number>; readonly active: ArrayLike<number> };
  /** Buffers to reuse from call to call (omitted: fresh ones). */
  readonly workspace?: HostWorkspace;
}

/** What {@link hostExhaustiveSearch} returns: fresh arrays, row-major. */
export interface HostExhaustiveOutput {
  /** [B, N] a_n of the best hypothesis. */
  readonly activity: Float32Array;
  /** [B, N] m_n of the best hypothesis (0 where inactive). */
  readonly message: Int32Array;
  /** [B, N] log P(a_n = 1 | Y) / P(a_n = 0 | Y) (+Infinity where "inactive" is never hypothesised). */
  readonly activityLogOdds: Float32Array;
  /** [B, N, J] log P(b_j = 1 | Y, a_n = 1) / P(b_j = 0 | Y, a_n = 1) (empty when `bits` is 0). */
  readonly bitLlr: Float32Array;
}

/** Exhaustive search over every trial of the batch (see the module comment). */
export function hostExhaustiveSearch(input: HostExhaustiveInput): HostExhaustiveOutput {
  const { B, L, M, N, Q, perTrial } = input;
  const K = N * Q;
  const J = input.bits;
  const ws = input.workspace ?? new HostWorkspace();
  const search = new Search(input, ws);
  const activity = new Float32Array(B * N);
  const message = new Int32Array(B * N);
  const activityLogOdds = new Float32Array(B * N);
  const bitLlr = new Float32Array(B * N * J);
  const dgemm = blas().dgemm;
  const noncoherent = input.model === 'noncoherent';
  const twoK = 2 * K;
  // noncoherent: the stacked codebook [[Xr, Xi], [Xi, -Xr]] [2L, 2K] and the Y of one trial [[Yr]; [Yi]] [2L, M]
  const stacked = noncoherent ? ws.take('ex stacked', 2 * L * twoK, true) : undefined;
  const yStacked = noncoherent ? ws.take('ex yStacked', 2 * L * M, true) : undefined;
  const loadCodebook = (c: number): void => {
    if (stacked === undefined) return;
    const base = c * L * K;
    for (let l = 0; l < L; l++) {
      const top = l * twoK;
      const bottom = (L + l) * twoK;
      for (let k = 0; k < K; k++) {
        const re = input.sRe[base + l * K + k];
        const im = input.sIm[base + l * K + k];
        stacked[top + k] = re;
        stacked[top + K + k] = im;
        stacked[bottom + k] = im;
        stacked[bottom + K + k] = -re;
      }
    }
    // G = X^H X / sigma^2 = [Xr; Xi]^T [[Xr, Xi], [Xi, -Xr]] / sigma^2 into the root slot: [K, 2K] = [Re G | Im G]
    dgemm(true, false, K, twoK, 2 * L, 1 / input.noiseVar, stacked, 0, twoK, stacked, 0, twoK, 0, search.gram, 0, twoK);
  };
  if (!perTrial) loadCodebook(0);
  for (let b = 0; b < B; b++) {
    if (perTrial) loadCodebook(b);
    const off = b * L * M;
    if (noncoherent && stacked !== undefined && yStacked !== undefined) {
      let yEnergy = 0;
      for (let l = 0; l < L; l++) {
        for (let m = 0; m < M; m++) {
          const re = input.yRe[off + l * M + m];
          const im = input.yIm[off + l * M + m];
          yStacked[l * M + m] = re;
          yStacked[(L + l) * M + m] = im;
        }
      }
      for (let i = 0; i < L * M; i++) yEnergy += input.yRe[off + i] * input.yRe[off + i] + input.yIm[off + i] * input.yIm[off + i];
      // P = Y^H X / sigma^2 = [Yr; Yi]^T [[Xr, Xi], [Xi, -Xr]] / sigma^2: [M, 2K] = [Re P | Im P]
      dgemm(true, false, M, twoK, 2 * L, 1 / input.noiseVar, yStacked, 0, M, stacked, 0, twoK, 0, search.proj, 0, twoK);
      search.runNoncoherent(b, L * Math.log(input.noiseVar), yEnergy / (M * input.noiseVar));
    } else {
      search.runCoherent(b, off);
    }
    search.write(b, activity, message, activityLogOdds, bitLlr);
  }
  return { activity, message, activityLogOdds, bitLlr };
}

/** One trial's depth-first search; its buffers are reused from trial to trial. */
class Search {
  readonly N: number;
  readonly Q: number;
  readonly K: number;
  readonly M: number;
  readonly J: number;
  readonly Qn: Int32Array;
  readonly inactivePrior: Float64Array;
  readonly activePrior: Float64Array;
  /** Noncoherent: G of slot s at [s 2K^2, (s + 1) 2K^2), row-major [K, 2K] = [Re G | Im G] (upper triangle used). */
  readonly gram: Float64Array;
  /** Noncoherent: P of slot s at [s 2MK, (s + 1) 2MK), row-major [M, 2K] = [Re P | Im P]. */
  readonly proj: Float64Array;
  /** Noncoherent: log det Sigma and tr(Sigma^{-1} Sigma_hat) per slot. */
  readonly logDet: Float64Array;
  readonly trace: Float64Array;
  /** Coherent: the residual of slot s at [s LM, (s + 1) LM), and the contributions h_n .* x_k at [k LM, (k + 1) LM). */
  readonly resRe: Float64Array;
  readonly resIm: Float64Array;
  readonly cRe: Float64Array;
  readonly cIm: Float64Array;
  /** beta_n of the current trial (noncoherent). */
  readonly gain: Float64Array;
  /** T[n][o] as an online log-sum-exp: o = q < Q a message, o = Q inactive. */
  readonly tMax: Float64Array;
  readonly tSum: Float64Array;
  /** The children's subtree values of the node being visited at each level, and their options ([N, Q + 1]). */
  readonly values: Float64Array;
  readonly options: Int32Array;
  readonly choice: Int32Array;
  readonly bestChoice: Int32Array;
  best = -Infinity;

  constructor(
    private readonly input: HostExhaustiveInput,
    ws: HostWorkspace,
  ) {
    const { N, Q, M, L } = input;
    const K = N * Q;
    this.N = N;
    this.Q = Q;
    this.K = K;
    this.M = M;
    this.J = input.bits;
    this.Qn = Int32Array.from(input.deviceSequences);
    this.inactivePrior = Float64Array.from(input.logPrior.inactive);
    this.activePrior = Float64Array.from(input.logPrior.active);
    const noncoherent = input.model === 'noncoherent';
    const slots = N + 1;
    this.gram = ws.take('ex gram', noncoherent ? slots * 2 * K * K : 0, true);
    this.proj = ws.take('ex proj', noncoherent ? slots * 2 * M * K : 0, true);
    this.logDet = ws.take('ex logDet', slots, true);
    this.trace = ws.take('ex trace', slots, true);
    this.resRe = ws.take('ex resRe', noncoherent ? 0 : slots * L * M, true);
    this.resIm = ws.take('ex resIm', noncoherent ? 0 : slots * L * M, true);
    this.cRe = ws.take('ex cRe', noncoherent ? 0 : K * L * M, true);
    this.cIm = ws.take('ex cIm', noncoherent ? 0 : K * L * M, true);
    this.gain = ws.take('ex gain', N, true);
    this.tMax = ws.take('ex tMax', N * (Q + 1), true);
    this.tSum = ws.take('ex tSum', N * (Q + 1), true);
    this.values = ws.take('ex values', N * (Q + 1), true);
    this.options = new Int32Array(N * (Q + 1));
    this.choice = new Int32Array(N);
    this.bestChoice = new Int32Array(N);
  }

  private reset(): void {
    this.best = -Infinity;
    this.choice.fill(-1);
    this.bestChoice.fill(-1);
    this.tMax.fill(-Infinity);
    this.tSum.fill(0);
  }

  /** Noncoherent search of trial b, the root's G and P in slot 0 (filled by the caller). */
  runNoncoherent(b: number, logDet0: number, trace0: number): void {
    this.reset();
    const beta = this.input.beta;
    if (beta === undefined) throw new Error('the noncoherent search needs beta_n');
    for (let n = 0; n < this.N; n++) this.gain[n] = beta[b * this.N + n];
    this.logDet[0] = logDet0;
    this.trace[0] = trace0;
    this.visitNoncoherent(0, 0, 0);
  }

  /** Coherent search of trial b (Y at yRe/yIm[off ..]): the contributions h_n .* x_k, then the tree. */
  runCoherent(b: number, off: number): void {
    this.reset();
    const { L, M, N, Q } = this.input;
    const K = this.K;
    const LM = L * M;
    const h = this.input.channel;
    if (h === undefined) throw new Error('the coherent search needs the channel state');
    const hPer = h.perResource ? N * LM : N * M;
    const sOff = this.input.perTrial ? b * L * K : 0;
    const { sRe, sIm } = this.input;
    for (let k = 0; k < K; k++) {
      const n = Math.floor(k / Q);
      for (let l = 0; l < L; l++) {
        const xr = sRe[sOff + l * K + k];
        const xi = sIm[sOff + l * K + k];
        for (let m = 0; m < M; m++) {
          const hi = b * hPer + (h.perResource ? (n * L + l) * M + m : n * M + m);
          const hr = h.re[hi];
          const him = h.im[hi];
          // (x_r + i x_i)(h_r + i h_i)
          this.cRe[k * LM + l * M + m] = xr * hr - xi * him;
          this.cIm[k * LM + l * M + m] = xr * him + xi * hr;
        }
      }
    }
    for (let i = 0; i < LM; i++) {
      this.resRe[i] = this.input.yRe[off + i];
      this.resIm[i] = this.input.yIm[off + i];
    }
    this.visitCoherent(0, 0, 0);
  }

  /** A leaf with score `score`: the best hypothesis so far when strictly better. */
  private leaf(score: number): void {
    if (score > this.best) {
      this.best = score;
      this.bestChoice.set(this.choice);
    }
  }

  /** Records child value v (option o of device `level`: a message, or Q for inactive) of the node being visited; returns the new count. */
  private child(level: number, o: number, v: number, count: number): number {
    const i = level * (this.Q + 1) + count;
    this.values[i] = v;
    this.options[i] = o;
    return count + 1;
  }

  /**
   * The node's `count` children at level `level`: adds each child's value to T[level][its option]
   * (an online log-sum-exp, as the detector's former LogSum: -Infinity adds nothing) and returns
   * the log-sum-exp of the values (the node's own value).
   */
  private gather(level: number, count: number): number {
    const Q1 = this.Q + 1;
    const base = level * Q1;
    const values = this.values;
    const tMax = this.tMax;
    const tSum = this.tSum;
    let max = -Infinity;
    for (let i = base; i < base + count; i++) {
      const v = values[i];
      if (v > max) max = v;
      if (v === -Infinity) continue;
      const t = base + this.options[i];
      const tm = tMax[t];
      if (v > tm) {
        tSum[t] = tSum[t] * Math.exp(tm - v) + 1;
        tMax[t] = v;
      } else {
        tSum[t] += Math.exp(v - tm);
      }
    }
    if (max === -Infinity) return -Infinity;
    let sum = 0;
    for (let i = base; i < base + count; i++) sum += values[i] === max ? 1 : Math.exp(values[i] - max);
    return max + Math.log(sum);
  }

  /** Noncoherent node at `level` with its state in slot `slot` and prior sum `partial`; returns the LSE of its leaves. */
  private visitNoncoherent(level: number, slot: number, partial: number): number {
    const { N, Q, K, M } = this;
    const twoK = 2 * K;
    let count = 0;
    const last = level === N - 1;
    const inactive = this.inactivePrior[level];
    if (inactive > -Infinity) {
      this.choice[level] = -1;
      const v = last ? this.leafNoncoherent(slot, partial + inactive) : this.visitNoncoherent(level + 1, slot, partial + inactive);
      count = this.child(level, Q, v, count);
    }
    const g = this.gain[level];
    const gram = this.gram;
    const proj = this.proj;
    const gs = slot * twoK * K; // slot's G
    const ps = slot * M * twoK; // slot's P
    const next = level + 1;
    const gt = next * twoK * K;
    const pt = next * M * twoK;
    const k0 = next * Q; // first column still needed below
    for (let q = 0; q < this.Qn[level]; q++) {
      const j = level * Q + q;
      // a = x_j^H W x_j = G_jj, ||Y^H u||^2 = ||P_{:,j}||^2
      const a = gram[gs + j * twoK + j];
      let quad = 0;
      for (let m = 0; m < M; m++) {
        const r = proj[ps + m * twoK + j];
        const im = proj[ps + m * twoK + K + j];
        quad += r * r + im * im;
      }
      quad /= M;
      const c = g / (1 + g * a);
      const logDet = this.logDet[slot] + Math.log1p(g * a);
      const trace = this.trace[slot] - c * quad;
      this.choice[level] = q;
      let v: number;
      if (last) {
        v = this.scoreLeaf(partial + this.activePrior[level], logDet, trace);
      } else {
        this.logDet[next] = logDet;
        this.trace[next] = trace;
        // G' = G - c G_{:,j} G_{j,:} on the upper triangle of the remaining columns, G_kj = conj(G_jk)
        const rowJ = gs + j * twoK;
        for (let k = k0; k < K; k++) {
          const ar = gram[rowJ + k];
          const ai = gram[rowJ + K + k];
          const cr = c * ar;
          const ci = c * ai;
          const src = gs + k * twoK;
          const dst = gt + k * twoK;
          for (let kk = k; kk < K; kk++) {
            const br = gram[rowJ + kk];
            const bi = gram[rowJ + K + kk];
            // c conj(G_jk) G_jk'
            gram[dst + kk] = gram[src + kk] - (cr * br + ci * bi);
            gram[dst + K + kk] = gram[src + K + kk] - (cr * bi - ci * br);
          }
        }
        // P' = P - c P_{:,j} G_{j,:}
        for (let m = 0; m < M; m++) {
          const pr = c * proj[ps + m * twoK + j];
          const pi = c * proj[ps + m * twoK + K + j];
          const src = ps + m * twoK;
          const dst = pt + m * twoK;
          for (let k = k0; k < K; k++) {
            const br = gram[rowJ + k];
            const bi = gram[rowJ + K + k];
            proj[dst + k] = proj[src + k] - (pr * br - pi * bi);
            proj[dst + K + k] = proj[src + K + k] - (pr * bi + pi * br);
          }
        }
        v = this.visitNoncoherent(next, next, partial + this.activePrior[level]);
      }
      count = this.child(level, q, v, count);
    }
    this.choice[level] = -1;
    return this.gather(level, count);
  }

  private leafNoncoherent(slot: number, partial: number): number {
    return this.scoreLeaf(partial, this.logDet[slot], this.trace[slot]);
  }

  private scoreLeaf(partial: number, logDet: number, trace: number): number {
    const score = partial + -this.M * (logDet + trace);
    this.leaf(score);
    return score;
  }

  /** Coherent node at `level` with its residual in slot `slot`; returns the LSE of its leaves. */
  private visitCoherent(level: number, slot: number, partial: number): number {
    const { N, Q } = this;
    const LM = this.input.L * this.M;
    const noiseVar = this.input.noiseVar;
    let count = 0;
    const last = level === N - 1;
    const inactive = this.inactivePrior[level];
    const { resRe, resIm, cRe, cIm } = this;
    const activePrior = this.activePrior[level];
    const rs = slot * LM;
    if (inactive > -Infinity) {
      this.choice[level] = -1;
      let v: number;
      if (last) {
        let e = 0;
        for (let i = 0; i < LM; i++) e += resRe[rs + i] * resRe[rs + i] + resIm[rs + i] * resIm[rs + i];
        v = partial + inactive + -e / noiseVar;
        this.leaf(v);
      } else v = this.visitCoherent(level + 1, slot, partial + inactive);
      count = this.child(level, Q, v, count);
    }
    const rt = (level + 1) * LM;
    for (let q = 0; q < this.Qn[level]; q++) {
      const k = level * Q + q;
      const ck = k * LM;
      this.choice[level] = q;
      let v: number;
      if (last) {
        let e = 0;
        for (let i = 0; i < LM; i++) {
          const re = resRe[rs + i] - cRe[ck + i];
          const im = resIm[rs + i] - cIm[ck + i];
          e += re * re + im * im;
        }
        v = partial + activePrior + -e / noiseVar;
        this.leaf(v);
      } else {
        for (let i = 0; i < LM; i++) {
          resRe[rt + i] = resRe[rs + i] - cRe[ck + i];
          resIm[rt + i] = resIm[rs + i] - cIm[ck + i];
        }
        v = this.visitCoherent(level + 1, level + 1, partial + activePrior);
      }
      count = this.child(level, q, v, count);
    }
    this.choice[level] = -1;
    return this.gather(level, count);
  }

  /** The trial's decisions and marginals into row b of the outputs. */
  write(b: number, activity: Float32Array, message: Int32Array, logOdds: Float32Array, bitLlr: Float32Array): void {
    const { N, Q, J } = this;
    const value = (i: number) => (this.tMax[i] === -Infinity ? -Infinity : this.tMax[i] + Math.log(this.tSum[i]));
    const lse = (xs: number[]) => {
      const max = Math.max(...xs);
      return max === -Infinity ? -Infinity : max + Math.log(xs.reduce((s, x) => s + Math.exp(x - max), 0));
    };
    for (let n = 0; n < N; n++) {
      const q = this.bestChoice[n];
      activity[b * N + n] = q >= 0 ? 1 : 0;
      message[b * N + n] = Math.max(q, 0);
      const messages = Array.from({ length: this.Qn[n] }, (_, m) => value(n * (Q + 1) + m));
      logOdds[b * N + n] = lse(messages) - value(n * (Q + 1) + Q);
      for (let j = 0; j < J; j++) {
        const one = lse(messages.filter((_, m) => (m >> (J - 1 - j)) & 1));
        const zero = lse(messages.filter((_, m) => !((m >> (J - 1 - j)) & 1)));
        bitLlr[(b * N + n) * J + j] = one - zero;
      }
    }
  }
}
