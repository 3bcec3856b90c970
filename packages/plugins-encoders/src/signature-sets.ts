/**
 * Spreading-signature sets for code-domain NOMA and their correlation diagnostics, computed on
 * the host in float64 (no tensors): the baseline families of H. Yu, Z. Fei, Z. Zheng, N. Ye,
 * "Finite-Alphabet Signature Design for Grant-Free NOMA: A Quantized Deep Learning Approach"
 * (chirp-based WBE, MUSA, quantized WBE, Sec. II and Table III), an activity-weighted
 * frame-potential baseline, and the weighted cross-correlation CCw of its eq. (29).
 *
 * Layout: a {@link SignatureSet} holds N rows (devices) of L complex entries (resource elements),
 * `re[n][k]` + j `im[n][k]` = s_n(k) — the paper's N x H. The encoders hand the receiver the
 * transpose, [L, N] with column n the unit-norm s̄_n (SideInformation.signatures).
 *
 * Symbols: N numDevices, L sequenceLength (the paper's H), Q alphabetHalfWidth (the paper's
 * quantization level Q; entries of a finite-alphabet set have Re, Im in {-Q, ..., Q}),
 * p_n activation probability of device n, c_ij = s̄_i^H s̄_j.
 */
import { Generator } from '@gfra/core';

/** N signatures of length L: row n = device n (re and im parts, each N x L). */
export interface SignatureSet {
  readonly re: readonly (readonly number[])[];
  readonly im: readonly (readonly number[])[];
}

/** A mutable set (what the constructions return). */
export interface MutableSignatureSet extends SignatureSet {
  readonly re: number[][];
  readonly im: number[][];
}

function zeros(N: number, L: number): MutableSignatureSet {
  return { re: Array.from({ length: N }, () => new Array<number>(L).fill(0)), im: Array.from({ length: N }, () => new Array<number>(L).fill(0)) };
}

function shape(set: SignatureSet): [number, number] {
  return [set.re.length, set.re[0]?.length ?? 0];
}

function rowNorm2(set: SignatureSet, n: number): number {
  let e = 0;
  for (let k = 0; k < set.re[n].length; k++) e += set.re[n][k] ** 2 + set.im[n][k] ** 2;
  return e;
}

/**
 * Every row scaled to unit norm (s̄_n = s_n / ||s_n||). Throws on an all-zero row, naming it.
 */
export function normalise(set: SignatureSet): MutableSignatureSet {
  const [N, L] = shape(set);
  const out = zeros(N, L);
  for (let n = 0; n < N; n++) {
    const e = rowNorm2(set, n);
    if (!(e > 0)) throw new Error(`normalise: signature of device ${n} is all zero and cannot be normalised`);
    const s = 1 / Math.sqrt(e);
    for (let k = 0; k < L; k++) {
      out.re[n][k] = set.re[n][k] * s;
      out.im[n][k] = set.im[n][k] * s;
    }
  }
  return out;
}

/** c_ij = s̄_i^H s̄_j of unit-norm rows, as [re, im] N x N matrices. */
function gram(unit: SignatureSet): { re: number[][]; im: number[][] } {
  const [N, L] = shape(unit);
  const re = Array.from({ length: N }, () => new Array<number>(N).fill(0));
  const im = Array.from({ length: N }, () => new Array<number>(N).fill(0));
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      let r = 0;
      let m = 0;
      for (let k = 0; k < L; k++) {
        // conj(a) b = (ar - j ai)(br + j bi)
        r += unit.re[i][k] * unit.re[j][k] + unit.im[i][k] * unit.im[j][k];
        m += unit.re[i][k] * unit.im[j][k] - unit.im[i][k] * unit.re[j][k];
      }
      re[i][j] = r;
      im[i][j] = m;
    }
  }
  return { re, im };
}

/** |c_ij| = |s̄_i^H s̄_j| (N x N, ones on the diagonal) of the normalised rows of `set`. */
export function crossCorrelation(set: SignatureSet): number[][] {
  const g = gram(normalise(set));
  return g.re.map((row, i) => row.map((r, j) => Math.hypot(r, g.im[i][j])));
}

/** Frame potential Σ_{i,j} |c_ij|^2 (diagonal included) of the normalised set; >= N^2/L (Welch bound). */
export function framePotential(set: SignatureSet): number {
  return crossCorrelation(set).reduce((s, row) => s + row.reduce((t, c) => t + c * c, 0), 0);
}

/** Which reading of the paper's eq. (29) {@link weightedCrossCorrelation} computes. */
export type CcwVariant = 'squared' | 'paper-literal';

/**
 * Activity-weighted cross-correlation CCw of eq. (29) of Yu et al.
 *
 * - `squared` (default): Σ_{i≠j} p_i p_j |c_ij|^2 / (N(N-1)).
 * - `paper-literal`: eq. (29) as printed, Σ_{i,j} p_i p_j |c_ij| / (N(N-1)) (no square, diagonal
 *   included).
 *
 * @remarks Deviation: the printed formula cannot produce the paper's Table III values (its
 *   diagonal alone gives Σ p_i^2 / (N(N-1)) = 0.08 for p = [0.8 x3, 0.4 x3]); with the square and
 *   without the diagonal the chirp WBE set gives Table III's 0.0367 exactly, so `squared` is the
 *   default and the literal reading is kept as a variant.
 */
export function weightedCrossCorrelation(set: SignatureSet, p: readonly number[], variant: CcwVariant = 'squared'): number {
  const c = crossCorrelation(set);
  const N = c.length;
  if (p.length !== N) throw new Error(`weightedCrossCorrelation: ${p.length} activation probabilities for ${N} signatures`);
  if (N < 2) return 0;
  let s = 0;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      if (variant === 'squared') {
        if (i !== j) s += p[i] * p[j] * c[i][j] ** 2;
      } else s += p[i] * p[j] * c[i][j];
    }
  }
  return s / (N * (N - 1));
}

/**
 * Diagnostics of a set under activation probabilities p:
 * - `ccw`: CCw (squared variant of eq. (29));
 * - `cc-max`: max_{i≠j} |c_ij| (near 1: two devices collapsed onto the same signature);
 * - `cc-frequent`: mean |c_ij| over pairs i < j whose devices both have the largest p;
 * - `cc-other`: mean |c_ij| over the remaining pairs i < j.
 * The two group means are omitted when every p is equal (or a group has no pair).
 */
export function signatureDiagnostics(set: SignatureSet, p: readonly number[]): Record<string, number> {
  const c = crossCorrelation(set);
  const N = c.length;
  const out: Record<string, number> = { ccw: weightedCrossCorrelation(set, p) };
  let max = 0;
  for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++) max = Math.max(max, c[i][j]);
  out['cc-max'] = max;
  const pMax = Math.max(...p);
  if (p.every((v) => v === p[0])) return out;
  const frequent: number[] = [];
  const other: number[] = [];
  for (let i = 0; i < N; i++) {
    for (let j = i + 1; j < N; j++) (p[i] === pMax && p[j] === pMax ? frequent : other).push(c[i][j]);
  }
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  if (frequent.length > 0) out['cc-frequent'] = mean(frequent);
  if (other.length > 0) out['cc-other'] = mean(other);
  return out;
}

/**
 * Chirp-modulated harmonic frame ("WBE" sequences):
 *   s_n(k) = L^{-1/2} exp(jπ k²/N) exp(j2π k n/N),  k = 0..L-1, n = 0..N-1,
 * i.e. L consecutive rows of the N-point DFT with a common quadratic phase, a unit-norm tight
 * frame for L <= N (S S^H = (N/L) I_L), so it meets the Welch bound Σ|c_ij|^2 = N^2/L of eq. (1).
 *
 * @remarks Deviation: the paper generates its WBE set from the "modified chirp" sequences of
 *   3GPP TR 38.812 Sec. A.4.2 without restating them; this frame has the same |c_ij| spectrum
 *   as Table III's WBE (CCw 0.0367 for N = 6, L = 4, p = [0.8 x3, 0.4 x3]).
 */
export function wbeChirp(N: number, L: number): MutableSignatureSet {
  const out = zeros(N, L);
  const a = 1 / Math.sqrt(L);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < L; k++) {
      const phase = (Math.PI * k * k) / N + (2 * Math.PI * k * n) / N;
      out.re[n][k] = a * Math.cos(phase);
      out.im[n][k] = a * Math.sin(phase);
    }
  }
  return out;
}

/**
 * The shipped `musa-3level` set for N = 6, L = 4 (unnormalised, rows = devices), the result of the
 * search of {@link musa3LevelSearch} with seed 0 in the reference implementation: |c_ij| in
 * [0.20, 0.447], frame potential 9.05 (Welch bound 9), CCw 0.0361 for p = [0.8 x3, 0.4 x3].
 */
export const MUSA_3LEVEL_6X4: SignatureSet = {
  re: [
    [1, 1, 1, 1],
    [1, -1, 0, 0],
    [1, -1, 1, 0],
    [1, -1, -1, 0],
    [1, 1, -1, 1],
    [1, 1, 0, -1],
  ],
  im: [
    [0, 0, 1, 0],
    [0, 0, 0, 1],
    [0, 0, 1, -1],
    [0, 0, -1, -1],
    [0, 0, -1, 0],
    [0, 0, 0, 0],
  ],
};

/** Options of the {@link musa3LevelSearch}. */
export interface MusaSearchOptions {
  /** Random restarts (default 20). */
  readonly restarts?: number;
  /** Largest candidate pool; a larger full pool is replaced by a seeded random sub-pool (default 20 000). */
  readonly maxPool?: number;
  /** Coordinate-descent sweeps per restart at most (default 50; a sweep without change stops it). */
  readonly maxSweeps?: number;
}

const LEVELS = [-1, 0, 1];

/**
 * Seeded local search for a 3-level MUSA-like set: candidates have s(0) = 1 and Re, Im of every
 * other entry in {-1, 0, 1} (9^(L-1) of them; above `maxPool`, a seeded random sub-pool); from
 * each of `restarts` random initial sets, coordinate-descent sweeps replace one signature at a
 * time by the pool member minimising Σ_{j≠i}|c_ij|^2 + 0.5 max_{j≠i}|c_ij|; the best set by
 * Σ_{i≠j}|c_ij|^2 + 0.5 N max_{i≠j}|c_ij| is returned (unnormalised, integer entries).
 *
 * @remarks Deviation: the paper does not list its MUSA set. The random numbers come from gfra's
 *   sfc32 generator keyed by ('musa-3level', seed), so this search does not reproduce the shipped
 *   {@link MUSA_3LEVEL_6X4} (found with another generator); {@link musa3Level} returns that
 *   fixture for N = 6, L = 4, seed 0. The pool keeps 0 as an entry value (as the fixture does).
 */
export function musa3LevelSearch(N: number, L: number, seed = 0, options: MusaSearchOptions = {}): MutableSignatureSet {
  const restarts = options.restarts ?? 20;
  const maxPool = options.maxPool ?? 20000;
  const maxSweeps = options.maxSweeps ?? 50;
  const g = Generator.fromKey(['musa-3level', seed]);
  const per = L - 1;
  const full = 9 ** per;
  const count = Math.min(full, maxPool);
  // pool as flat unit-norm arrays, pool member p at [p*L, (p+1)*L)
  const pre = new Float64Array(count * L);
  const pim = new Float64Array(count * L);
  const raw: { re: number[]; im: number[] }[] = [];
  for (let p = 0; p < count; p++) {
    let code = full === count ? p : g.integer(full);
    const re = [1];
    const im = [0];
    for (let k = 1; k < L; k++) {
      const d = code % 9;
      code = Math.floor(code / 9);
      re.push(LEVELS[d % 3]);
      im.push(LEVELS[Math.floor(d / 3)]);
    }
    raw.push({ re, im });
    const s = 1 / Math.sqrt(re.reduce((t, x, k) => t + x * x + im[k] * im[k], 0));
    for (let k = 0; k < L; k++) {
      pre[p * L + k] = re[k] * s;
      pim[p * L + k] = im[k] * s;
    }
  }
  // |pool_p^H pool_q|^2
  const corr2 = (p: number, q: number): number => {
    let r = 0;
    let m = 0;
    for (let k = 0; k < L; k++) {
      const ar = pre[p * L + k];
      const ai = pim[p * L + k];
      const br = pre[q * L + k];
      const bi = pim[q * L + k];
      r += ar * br + ai * bi;
      m += ar * bi - ai * br;
    }
    return r * r + m * m;
  };
  const setScore = (idx: number[]): number => {
    let sum = 0;
    let max = 0;
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        if (i === j) continue;
        const c2 = corr2(idx[i], idx[j]);
        sum += c2;
        max = Math.max(max, Math.sqrt(c2));
      }
    }
    return sum + 0.5 * N * max;
  };
  let best: number[] = [];
  let bestScore = Infinity;
  // cols[j][p] = |pool_p^H s_j|^2 for the current member j, updated when s_j changes
  const cols = Array.from({ length: N }, () => new Float64Array(count));
  const fillCol = (j: number, q: number) => {
    for (let p = 0; p < count; p++) cols[j][p] = corr2(p, q);
  };
  for (let r = 0; r < restarts; r++) {
    const idx = Array.from({ length: N }, () => g.integer(count));
    idx.forEach((q, j) => fillCol(j, q));
    for (let sweep = 0; sweep < maxSweeps; sweep++) {
      let changed = false;
      for (let i = 0; i < N; i++) {
        let arg = idx[i];
        let argCost = Infinity;
        for (let p = 0; p < count; p++) {
          let sum = 0;
          let max = 0;
          for (let j = 0; j < N; j++) {
            if (j === i) continue;
            const c2 = cols[j][p];
            sum += c2;
            if (c2 > max) max = c2;
          }
          const cost = sum + 0.5 * Math.sqrt(max);
          if (cost < argCost - 1e-12) {
            argCost = cost;
            arg = p;
          }
        }
        if (arg !== idx[i]) {
          idx[i] = arg;
          fillCol(i, arg);
          changed = true;
        }
      }
      if (!changed) break;
    }
    const score = setScore(idx);
    if (score < bestScore - 1e-12) {
      bestScore = score;
      best = idx.slice();
    }
  }
  return { re: best.map((p) => raw[p].re.slice()), im: best.map((p) => raw[p].im.slice()) };
}

/**
 * The `musa-3level` set: the shipped {@link MUSA_3LEVEL_6X4} for N = 6, L = 4 and seed 0 (the
 * default), otherwise {@link musa3LevelSearch}. Unnormalised integer entries in {-1, 0, 1}.
 */
export function musa3Level(N: number, L: number, seed = 0): MutableSignatureSet {
  if (N === 6 && L === 4 && seed === 0) return { re: MUSA_3LEVEL_6X4.re.map((r) => r.slice()), im: MUSA_3LEVEL_6X4.im.map((r) => r.slice()) };
  return musa3LevelSearch(N, L, seed);
}

/** Candidates above which {@link musaGreedyCodes} refuses (8^L grows fast: L <= 7). */
const MUSA_GREEDY_MAX_CANDIDATES = 2 ** 21;

/**
 * The greedy 3-ary MUSA spreading codes of the MUSA-SIC baseline of Z. Ma, W. Wu, M. Jian, F. Gao,
 * X. Shen, "Joint Constellation Design and Multiuser Detection for Grant-Free NOMA" (complex
 * spreading codes generated from the 3-ary set {1, 0, -1}), unnormalised with integer chips:
 *
 * - candidates c in C^L with chips a_k + j b_k, a_k, b_k in {-1, 0, +1} and no zero chip
 *   (8^L of them), in lexicographic order of (a_1..a_L, b_1..b_L) over (-1, 0, 1);
 * - the first candidate is taken, then N - 1 times the candidate (not yet taken) minimising the
 *   largest normalised correlation max_j |c^H c_j| / (||c|| ||c_j||) with those already taken,
 *   the lowest index on ties (compared exactly, as integer fractions of the squared values).
 *
 * Row n = code of device n, in the order taken.
 *
 * @remarks The paper states only "complex spreading codes from the 3-ary set {1, 0, -1}"; the
 *   exclusion of zero chips, the lexicographic enumeration and the greedy max-correlation rule are
 *   gfra's deterministic resolution. Refuses 8^L > 2^21 candidates (L > 7) and N > 8^L.
 */
export function musaGreedyCodes(N: number, L: number): MutableSignatureSet {
  if (!Number.isInteger(N) || !Number.isInteger(L) || N < 1 || L < 1) throw new Error(`musaGreedy: N and L must be positive integers, got N = ${N}, L = ${L}`);
  const count = 8 ** L;
  if (count > MUSA_GREEDY_MAX_CANDIDATES) throw new Error(`musaGreedy: L = ${L} gives 8^L = ${count} candidates (at most ${MUSA_GREEDY_MAX_CANDIDATES}, L <= 7)`);
  if (N > count) throw new Error(`musaGreedy: N = ${N} exceeds the ${count} candidates of length ${L}`);
  // candidates without a zero chip, in lexicographic order of (a_1..a_L, b_1..b_L)
  const re: Int8Array[] = [];
  const im: Int8Array[] = [];
  const digits = new Int8Array(2 * L);
  for (let idx = 0; idx < 3 ** (2 * L); idx++) {
    let x = idx;
    for (let d = 2 * L - 1; d >= 0; d--) {
      digits[d] = (x % 3) - 1;
      x = Math.floor(x / 3);
    }
    let ok = true;
    for (let k = 0; k < L && ok; k++) ok = digits[k] !== 0 || digits[L + k] !== 0;
    if (!ok) continue;
    re.push(digits.slice(0, L));
    im.push(digits.slice(L));
  }
  const norm2 = re.map((r, p) => r.reduce((t, a, k) => t + a * a + im[p][k] ** 2, 0));
  // |c_p^H c_q|^2 (an integer)
  const corr2 = (p: number, q: number): number => {
    let r = 0;
    let m = 0;
    for (let k = 0; k < L; k++) {
      r += re[p][k] * re[q][k] + im[p][k] * im[q][k];
      m += re[p][k] * im[q][k] - im[p][k] * re[q][k];
    }
    return r * r + m * m;
  };
  // worst squared normalised correlation with the chosen codes, as the fraction num / den
  const num = new Float64Array(re.length);
  const den = new Float64Array(re.length).fill(1);
  const taken = new Uint8Array(re.length);
  const chosen = [0];
  taken[0] = 1;
  while (chosen.length < N) {
    const last = chosen[chosen.length - 1];
    let best = -1;
    for (let p = 0; p < re.length; p++) {
      if (taken[p]) continue;
      const c = corr2(p, last);
      const d = norm2[p] * norm2[last];
      if (c * den[p] > num[p] * d) {
        num[p] = c;
        den[p] = d;
      }
      if (best < 0 || num[p] * den[best] < num[best] * den[p]) best = p;
    }
    taken[best] = 1;
    chosen.push(best);
  }
  return { re: chosen.map((p) => Array.from(re[p])), im: chosen.map((p) => Array.from(im[p])) };
}

/** {@link musaGreedyCodes} with every row scaled to unit norm (the framework's ||s_n|| = 1). */
export function musaGreedy(N: number, L: number): MutableSignatureSet {
  return normalise(musaGreedyCodes(N, L));
}

/** A set projected onto the finite alphabet, and the scale that was chosen. */
export interface QuantizedSignatures {
  /** Integer entries, Re and Im in {-Q, ..., Q} (unnormalised). */
  readonly set: MutableSignatureSet;
  /** The chosen c: entries were round(√L c s̄_n(k)). */
  readonly scale: number;
}

/**
 * Project a set onto the (2Q+1)^2-point integer grid: round Re and Im of √L c s̄_n(k) to
 * {-Q, ..., Q} (clipped), with c on the grid 0.5, 0.6, ..., 4 chosen to minimise
 * ||normalise(round) - s̄||_F; a c that leaves any row all zero is rejected.
 *
 * @remarks Deviation: the paper's quantized WBE (Table III) does not give its quantizer; this is
 *   gfra's choice (chirp WBE, N = 6, L = 4, Q = 2: c = 1.8, CCw 0.0375 against the paper's 0.0401).
 */
export function quantizeSignatures(set: SignatureSet, alphabetHalfWidth: number): QuantizedSignatures {
  const Q = alphabetHalfWidth;
  if (!Number.isInteger(Q) || Q < 1) throw new Error(`quantizeSignatures: alphabetHalfWidth must be a positive integer, got ${Q}`);
  const unit = normalise(set);
  const [N, L] = shape(unit);
  const q = (x: number) => Math.max(-Q, Math.min(Q, Math.round(x)));
  let best: QuantizedSignatures | undefined;
  let bestErr = Infinity;
  for (let step = 5; step <= 40; step++) {
    const c = step / 10;
    const a = Math.sqrt(L) * c;
    const cand = zeros(N, L);
    let ok = true;
    for (let n = 0; n < N && ok; n++) {
      for (let k = 0; k < L; k++) {
        cand.re[n][k] = q(a * unit.re[n][k]);
        cand.im[n][k] = q(a * unit.im[n][k]);
      }
      ok = rowNorm2(cand, n) > 0;
    }
    if (!ok) continue;
    const back = normalise(cand);
    let err = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < L; k++) err += (back.re[n][k] - unit.re[n][k]) ** 2 + (back.im[n][k] - unit.im[n][k]) ** 2;
    if (err < bestErr - 1e-12) {
      bestErr = err;
      best = { set: cand, scale: c };
    }
  }
  if (best === undefined) throw new Error(`quantizeSignatures: every scale in [0.5, 4] rounds some signature to all zeros (alphabetHalfWidth ${Q}, L ${L})`);
  return best;
}

/** Options of {@link wfpSignatures}. */
export interface WfpOptions {
  /** Gradient steps (default 4000). */
  readonly steps?: number;
  /** Step size μ (default 0.02). */
  readonly mu?: number;
}

/**
 * Activity-weighted frame potential: minimise Σ_{i≠j} p_i p_j |s̄_i^H s̄_j|^2 over unit-norm rows by
 * projected gradient descent, s_i <- s_i - μ Σ_{j≠i} p_i p_j (s_j s_j^H) s_i for every i at once,
 * then renormalise each row; seeded CN(0, 1) initialisation (gfra generator keyed by
 * ('wfp', seed)). Returns unit-norm rows.
 *
 * @remarks Not in the paper: gfra's model-based sanity baseline for what the learned signatures
 *   should approach (frequently active devices nearly orthogonal).
 */
export function wfpSignatures(p: readonly number[], L: number, seed = 0, options: WfpOptions = {}): MutableSignatureSet {
  const steps = options.steps ?? 4000;
  const mu = options.mu ?? 0.02;
  const N = p.length;
  const g = Generator.fromKey(['wfp', seed]);
  let s = zeros(N, L);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < L; k++) {
      s.re[n][k] = g.normal();
      s.im[n][k] = g.normal();
    }
  }
  s = normalise(s);
  for (let t = 0; t < steps; t++) {
    const c = gram(s); // c[j][i] = s_j^H s_i
    const next = zeros(N, L);
    for (let i = 0; i < N; i++) {
      for (let k = 0; k < L; k++) {
        let gr = 0;
        let gi = 0;
        for (let j = 0; j < N; j++) {
          if (j === i) continue;
          const w = p[i] * p[j];
          // s_j (s_j^H s_i)
          const cr = c.re[j][i];
          const ci = c.im[j][i];
          gr += w * (s.re[j][k] * cr - s.im[j][k] * ci);
          gi += w * (s.re[j][k] * ci + s.im[j][k] * cr);
        }
        next.re[i][k] = s.re[i][k] - mu * gr;
        next.im[i][k] = s.im[i][k] - mu * gi;
      }
    }
    s = normalise(next);
  }
  return s;
}
