/**
 * Host float64 receivers for code-domain NOMA with one QPSK (or, per device, BPSK) symbol per
 * device spread over L resource elements (signature spreading), single receive antenna:
 *
 *   y = sum_n g_n x_n + w,  g_n = h_n .* s_n,  x_n = a_n q_n,  w ~ CN(0, sigma^2 I_L)
 *
 * with s_n the unit-norm signature of device n and h_n its channel (one gain for the block, or one
 * per resource element). The matched filter, MMSE-SIC and oracle least squares of H. Yu, Z. Fei,
 * Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free NOMA: A Quantized Deep
 * Learning Approach" (the baseline receivers of Figs. 6-8; MMSE-SIC is also the MUSA-SIC receiver of
 * Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint Constellation Design and Multiuser Detection for
 * Grant-Free NOMA", with BPSK for 1-bit and QPSK for 2-bit devices), one trial at a time: N and L are tiny
 * (6 x 4), so each trial's L x L algebra is done on the host; tfjs only to download a batch and
 * to pack the estimates.
 *
 * A trial's effective signatures G = [g_1 ... g_N] are stored column-major (g_n at
 * [n L, (n + 1) L)); vectors are { re, im } Float64Arrays.
 */
import * as tf from '@tensorflow/tfjs';
import { deviceBits, QPSK_POINTS, qpskSliceHost, type ComplexTensor, type Estimate, type ParamProblem, type Scenario } from '@gfra/core';
import { choleskyComplex, choleskySolveComplex, type HostComplex } from './host-complex';

/**
 * Relative margin under which two post-MMSE SINRs tie in the "sinr" ordering (the lower device
 * index wins): symmetric signature sets (e.g. the greedy MUSA codes under AWGN) give exactly equal
 * SINRs, which rounding would otherwise order arbitrarily.
 */
const SINR_TIE = 1e-9;

/** Floor on an error variance before it divides (sigma^2 -> 0 would otherwise give 0/0). */
const MIN_VARIANCE = 1e-300;

/**
 * Problems of a scenario for these receivers: one receive antenna, QPSK (J = 2). With
 * `perDeviceBits`, a `deviceBits` list may also give 1-bit (BPSK) devices: every J_n in {1, 2}.
 */
export function nomaScenarioProblems(plugin: string, s: Scenario, perDeviceBits = false): ParamProblem[] {
  const problems: ParamProblem[] = [];
  if (s.numAntennas !== 1) {
    problems.push({
      path: '',
      message: `${plugin} is a single-antenna code-domain NOMA receiver: scenario.numAntennas must be 1 (got ${s.numAntennas})`,
      hint: 'Set scenario.numAntennas to 1 (the signature-spreading NOMA model of the paper has one receive antenna)',
    });
  }
  if (perDeviceBits && s.deviceBits !== undefined) {
    const bad = s.deviceBits.map((j, n) => [j, n]).filter(([j]) => j !== 1 && j !== 2);
    if (bad.length > 0) {
      problems.push({
        path: '',
        message: `${plugin} detects one BPSK (1 bit) or QPSK (2 bits) symbol per device, but scenario.bitsPerDevice gives ${bad.map(([j, n]) => `device ${n} ${j} bits`).join(', ')}`,
        hint: 'Give every device 1 or 2 bits in scenario.bitsPerDevice',
      });
    }
  } else if (s.bitsPerDevice !== 2) {
    problems.push({
      path: '',
      message: `${plugin} detects one QPSK symbol per device: scenario.bitsPerDevice must be 2 (got ${s.bitsPerDevice})`,
      hint: 'Set scenario.bitsPerDevice to 2 (QPSK, core qpsk.ts message convention)',
    });
  }
  return problems;
}

/** One trial's received vector and effective signatures. */
export interface NomaTrial {
  /** [L] complex. */
  readonly y: HostComplex;
  /** Column-major [L, N]: g_n at [n L, (n + 1) L). */
  readonly g: HostComplex;
}

/** Host copies of a batch, as `dataSync()` gives them. */
export interface NomaBatchArrays {
  /** y [B, L, 1] row-major. */
  readonly yRe: ArrayLike<number>;
  readonly yIm: ArrayLike<number>;
  /** Channel [B, N, 1] (block) or [B, N, L, 1] (per-resource) row-major. */
  readonly hRe: ArrayLike<number>;
  readonly hIm: ArrayLike<number>;
  readonly perResource: boolean;
  /** Signatures [L, N] row-major (unit-norm columns). */
  readonly sRe: ArrayLike<number>;
  readonly sIm: ArrayLike<number>;
}

/**
 * Downloads a batch once (`dataSync`, call outside tf.tidy) after checking the shapes: y [B, L, 1],
 * channel [B, N, 1] (block) or [B, N, L, 1] (per-resource), signatures [L, N]. `plugin` names the
 * receiver in the errors.
 */
export function nomaBatchArrays(plugin: string, y: ComplexTensor, channel: ComplexTensor, signatures: ComplexTensor, N: number, L: number): NomaBatchArrays & { readonly B: number } {
  const B = y.re.shape[0];
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  if (!same(y.re.shape, [B, L, 1])) throw new Error(`${plugin}: y must be [B, L, 1] = [${B}, ${L}, 1] (one receive antenna), got [${y.re.shape.join(', ')}]`);
  const h = channel.re.shape;
  const perResource = h.length === 4;
  if (!same(h, perResource ? [B, N, L, 1] : [B, N, 1])) {
    throw new Error(`${plugin}: the channel state must be [B, N, 1] (block fading) or [B, N, L, 1] (per-resource fading) = [${B}, ${N}, 1] or [${B}, ${N}, ${L}, 1], got [${h.join(', ')}]`);
  }
  if (!same(signatures.re.shape, [L, N])) throw new Error(`${plugin}: the signatures must be [L, N] = [${L}, ${N}], got [${signatures.re.shape.join(', ')}]`);
  return {
    B,
    yRe: y.re.dataSync(),
    yIm: y.im.dataSync(),
    hRe: channel.re.dataSync(),
    hIm: channel.im.dataSync(),
    perResource,
    sRe: signatures.re.dataSync(),
    sIm: signatures.im.dataSync(),
  };
}

/**
 * Trial b of a batch: y_b and g_n = h_n .* s_n (per resource element: h_{n,l} s_n(l); block:
 * h_n s_n).
 */
export function nomaTrial(a: NomaBatchArrays, b: number, N: number, L: number): NomaTrial {
  const yRe = new Float64Array(L);
  const yIm = new Float64Array(L);
  for (let l = 0; l < L; l++) {
    yRe[l] = a.yRe[b * L + l];
    yIm[l] = a.yIm[b * L + l];
  }
  const gRe = new Float64Array(N * L);
  const gIm = new Float64Array(N * L);
  for (let n = 0; n < N; n++) {
    for (let l = 0; l < L; l++) {
      const hi = a.perResource ? (b * N + n) * L + l : b * N + n;
      const hr = a.hRe[hi];
      const him = a.hIm[hi];
      const sr = a.sRe[l * N + n];
      const si = a.sIm[l * N + n];
      gRe[n * L + l] = hr * sr - him * si;
      gIm[n * L + l] = hr * si + him * sr;
    }
  }
  return { y: { re: yRe, im: yIm }, g: { re: gRe, im: gIm } };
}

/** g_i^H v for column i of the column-major G and a vector v of length L: [re, im]. */
function columnDot(g: HostComplex, i: number, L: number, vRe: ArrayLike<number>, vIm: ArrayLike<number>): [number, number] {
  let re = 0;
  let im = 0;
  for (let l = 0; l < L; l++) {
    const ar = g.re[i * L + l];
    const ai = g.im[i * L + l];
    re += ar * vRe[l] + ai * vIm[l];
    im += ar * vIm[l] - ai * vRe[l];
  }
  return [re, im];
}

/** ||g_i||^2. */
function columnEnergy(g: HostComplex, i: number, L: number): number {
  let e = 0;
  for (let l = 0; l < L; l++) e += g.re[i * L + l] ** 2 + g.im[i * L + l] ** 2;
  return e;
}

/**
 * The log-odds of a certain activity (prior p = 0 or 1, e.g. the always-active users of fixed-rate
 * NOMA): finite, so that the runner's check of the detector's outputs, which treats a non-finite
 * value as a numerical failure, accepts it; far beyond any log-odds the data can produce.
 */
export const CERTAIN_LOG_ODDS = 1e30;

/**
 * Posterior log-odds of activity of a device from its unbiased soft estimate x = x_n + e,
 * e ~ CN(0, v), with prior P(active) = p and uniform QPSK data:
 *
 *   log [ p (1/4) sum_q exp(-|x - q|^2 / v) ] - log [ (1 - p) exp(-|x|^2 / v) ]
 *
 * (the CN density's 1/(pi v) cancels), with the sum by log-sum-exp; MAP declares the device active
 * when it is positive. A certain prior gives a certain decision: p = 0 gives -CERTAIN_LOG_ODDS,
 * p = 1 +CERTAIN_LOG_ODDS.
 */
export function qpskActivityLogOdds(xRe: number, xIm: number, v: number, p: number): number {
  if (p <= 0) return -CERTAIN_LOG_ODDS;
  if (p >= 1) return CERTAIN_LOG_ODDS;
  const w = Math.max(v, MIN_VARIANCE);
  const terms = QPSK_POINTS.map(([qr, qi]) => -((xRe - qr) ** 2 + (xIm - qi) ** 2) / w);
  const m = Math.max(...terms);
  const lse = m + Math.log(terms.reduce((s, t) => s + Math.exp(t - m), 0));
  return Math.log(p) + lse - Math.log(4) - Math.log1p(-p) + (xRe * xRe + xIm * xIm) / w;
}

/**
 * The symbol alphabet of one device: its points, indexed by message, and its slicer (the nearest
 * point's message).
 */
export interface DeviceAlphabet {
  readonly points: readonly (readonly [number, number])[];
  slice(re: number, im: number): number;
}

/** Unit-energy Gray QPSK (core qpsk.ts): 2 bits, slicer = signs of Re and Im. */
export const QPSK_ALPHABET: DeviceAlphabet = { points: QPSK_POINTS, slice: qpskSliceHost };

/** BPSK: message 0 -> +1, 1 -> -1 (real); slicer = sign of Re (Re >= 0 -> message 0). */
export const BPSK_ALPHABET: DeviceAlphabet = {
  points: [
    [1, 0],
    [-1, 0],
  ],
  slice: (re: number) => (re < 0 ? 1 : 0),
};

/**
 * Every device's alphabet: with `scenario.deviceBits`, BPSK for J_n = 1 and QPSK for J_n = 2
 * (throws on any other J_n; the plugins' check refuses it first); without it QPSK for every device
 * (the receivers' behaviour for a single bitsPerDevice, which their check requires to be 2).
 */
export function deviceAlphabets(s: Scenario): DeviceAlphabet[] {
  if (s.deviceBits === undefined) return new Array<DeviceAlphabet>(s.numDevices).fill(QPSK_ALPHABET);
  return deviceBits(s).map((j, n) => {
    if (j === 1) return BPSK_ALPHABET;
    if (j === 2) return QPSK_ALPHABET;
    throw new Error(`device ${n} has ${j} bits: only BPSK (1 bit) and QPSK (2 bits) devices are supported`);
  });
}

/**
 * {@link qpskActivityLogOdds} for any equiprobable alphabet: log [ p (1/|A|) sum_{q in A}
 * exp(-|x - q|^2 / v) ] - log [ (1 - p) exp(-|x|^2 / v) ]. p = 0 gives -CERTAIN_LOG_ODDS, p = 1
 * +CERTAIN_LOG_ODDS (never log(0) arithmetic, so never NaN).
 */
export function activityLogOdds(xRe: number, xIm: number, v: number, p: number, alphabet: DeviceAlphabet): number {
  if (alphabet === QPSK_ALPHABET) return qpskActivityLogOdds(xRe, xIm, v, p);
  if (p <= 0) return -CERTAIN_LOG_ODDS;
  if (p >= 1) return CERTAIN_LOG_ODDS;
  const w = Math.max(v, MIN_VARIANCE);
  const terms = alphabet.points.map(([qr, qi]) => -((xRe - qr) ** 2 + (xIm - qi) ** 2) / w);
  const m = Math.max(...terms);
  const lse = m + Math.log(terms.reduce((s, t) => s + Math.exp(t - m), 0));
  return Math.log(p) + lse - Math.log(alphabet.points.length) - Math.log1p(-p) + (xRe * xRe + xIm * xIm) / w;
}

/** Per-device outputs of a receiver for one trial. */
export interface NomaTrialEstimate {
  /** Soft symbol estimates x~_n (unbiased, at the device's stage). */
  readonly re: Float64Array;
  readonly im: Float64Array;
  /** Error variance v_n of x~_n (noise plus interference, as the receiver models it). */
  readonly variance: Float64Array;
  /** Activity score (posterior log-odds, or |x~_n| under a threshold rule). */
  readonly score: Float64Array;
  /** Activity decision in {0, 1}. */
  readonly active: Uint8Array;
  /** Slicer of x~_n (the device's alphabet: QPSK, or BPSK), for every device. */
  readonly message: Int32Array;
  /** Order in which the devices were detected (SIC), or 0..N-1. */
  readonly order: readonly number[];
}

/** How a receiver turns x~_n into an activity decision. */
export type ActivityRule =
  /** MAP test: log-odds > 0 (score = log-odds). */
  | { readonly kind: 'map' }
  /** |x~_n| > threshold (score = |x~_n|). */
  | { readonly kind: 'threshold'; readonly threshold: number };

/** Score and decision of one device; a fitted threshold gamma* replaces the rule's level (score >= gamma*). */
function decide(rule: ActivityRule, xRe: number, xIm: number, v: number, p: number, fitted: number | undefined, alphabet: DeviceAlphabet): { score: number; active: boolean } {
  const score = rule.kind === 'map' ? activityLogOdds(xRe, xIm, v, p, alphabet) : Math.hypot(xRe, xIm);
  const level = rule.kind === 'map' ? 0 : rule.threshold;
  return { score, active: fitted === undefined ? score > level : score >= fitted };
}

function emptyEstimate(N: number): { re: Float64Array; im: Float64Array; variance: Float64Array; score: Float64Array; active: Uint8Array; message: Int32Array } {
  return {
    re: new Float64Array(N),
    im: new Float64Array(N),
    variance: new Float64Array(N),
    score: new Float64Array(N),
    active: new Uint8Array(N),
    message: new Int32Array(N),
  };
}

/**
 * Single-stage matched filter: x~_n = g_n^H y / ||g_n||^2, with the error variance of the
 * residual noise plus interference of the other devices, each active with probability p_m,
 *
 *   v_n = (sigma^2 ||g_n||^2 + sum_{m != n} p_m |g_n^H g_m|^2) / ||g_n||^4,
 *
 * activity by the MAP test on (x~_n, v_n) over the device's alphabet ({@link activityLogOdds}) and
 * the device's slicer (`alphabets`, default QPSK for every device).
 */
export function matchedFilter(
  t: NomaTrial,
  N: number,
  L: number,
  noiseVar: number,
  p: ArrayLike<number>,
  rule: ActivityRule = { kind: 'map' },
  fitted?: number,
  alphabets?: readonly DeviceAlphabet[],
): NomaTrialEstimate {
  const out = emptyEstimate(N);
  const energy = Array.from({ length: N }, (_, n) => columnEnergy(t.g, n, L));
  for (let n = 0; n < N; n++) {
    const e = energy[n];
    let xr = 0;
    let xi = 0;
    let v = Infinity;
    if (e > 0) {
      const [cr, ci] = columnDot(t.g, n, L, t.y.re, t.y.im);
      xr = cr / e;
      xi = ci / e;
      let interference = 0;
      for (let m = 0; m < N; m++) {
        if (m === n) continue;
        const [dr, di] = columnDot(t.g, n, L, t.g.re.subarray(m * L, (m + 1) * L), t.g.im.subarray(m * L, (m + 1) * L));
        interference += p[m] * (dr * dr + di * di);
      }
      v = (noiseVar * e + interference) / (e * e);
    }
    const alphabet = alphabets?.[n] ?? QPSK_ALPHABET;
    const d = decide(rule, xr, xi, v, p[n], fitted, alphabet);
    out.re[n] = xr;
    out.im[n] = xi;
    out.variance[n] = v;
    out.score[n] = d.score;
    out.active[n] = d.active ? 1 : 0;
    out.message[n] = alphabet.slice(xr, xi);
  }
  return { ...out, order: Array.from({ length: N }, (_, n) => n) };
}

/** The detector's [B, N] outputs from per-trial host estimates (call inside a tidy scope). */
export function nomaEstimate(results: readonly Pick<NomaTrialEstimate, 'active' | 'score' | 'message' | 're' | 'im'>[], N: number): Estimate {
  const B = results.length;
  const pack = (get: (r: (typeof results)[number]) => ArrayLike<number>) => {
    const out = new Float32Array(B * N);
    results.forEach((r, b) => out.set(Array.from(get(r)), b * N));
    return out;
  };
  return {
    activity: tf.tensor2d(pack((r) => r.active), [B, N], 'float32'),
    activityScore: tf.tensor2d(pack((r) => r.score), [B, N], 'float32'),
    message: tf.tensor2d(Int32Array.from(pack((r) => r.message)), [B, N], 'int32'),
    symbols: { re: tf.tensor2d(pack((r) => r.re), [B, N], 'float32'), im: tf.tensor2d(pack((r) => r.im), [B, N], 'float32') },
  };
}

/** Options of {@link mmseSic}. */
export interface MmseSicOptions {
  /** Prior power pi_m in the covariance: p_m ("activity") or 1 ("all-active"). */
  readonly prior: 'activity' | 'all-active';
  /** Detection order: largest post-MMSE SINR, device index, or largest p_n (ties: largest SINR). */
  readonly ordering: 'sinr' | 'index' | 'prob-then-sinr';
  readonly rule: ActivityRule;
  /** A fitted activity threshold gamma* (decide score >= gamma*), replacing the rule's level. */
  readonly fitted?: number;
  /** Every device's alphabet (default QPSK for all): the activity test, the slicer and the cancelled point. */
  readonly alphabets?: readonly DeviceAlphabet[];
}

/**
 * Cholesky factor of a Hermitian positive semi-definite matrix (row-major n x n), adding a tiny
 * ridge (1e-12 of the mean diagonal, growing) when it is numerically singular.
 */
function robustCholesky(ar: Float64Array, ai: Float64Array, n: number): HostComplex {
  let ridge = 0;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += ar[i * n + i] / n;
  const scale = mean > 0 ? mean : 1;
  for (let attempt = 0; ; attempt++) {
    const br = ar.slice();
    for (let i = 0; i < n; i++) br[i * n + i] += ridge;
    try {
      return choleskyComplex(br, ai, n);
    } catch (error) {
      if (attempt >= 8) throw error;
      ridge = ridge === 0 ? 1e-12 * scale : ridge * 100;
    }
  }
}

/**
 * MMSE successive interference cancellation. With R the devices not yet detected and r the
 * residual (initially y), each stage
 *
 * 1. forms C = sum_{m in R} pi_m g_m g_m^H + sigma^2 I_L;
 * 2. for n in R: beta_n = g_n^H C^{-1} g_n, post-MMSE SINR gamma_n = beta_n / (1 - pi_n beta_n),
 *    unbiased estimate x~_n = g_n^H C^{-1} r / beta_n with error variance v_n = 1 / gamma_n;
 * 3. picks n* by the ordering rule (largest SINR: SINRs within a relative 1e-9 tie, the lowest
 *    device index wins), decides its activity (MAP test on x~_{n*}, v_{n*} with the
 *    prior p_{n*}, or the threshold rule);
 * 4. if active, slices x~_{n*} to the nearest point q^_{n*} of its alphabet (QPSK, or BPSK) and
 *    subtracts g_{n*} q^_{n*} from r;
 * 5. removes n* from R.
 *
 * Every device's soft output is its x~_n at its own stage.
 */
export function mmseSic(t: NomaTrial, N: number, L: number, noiseVar: number, p: ArrayLike<number>, options: MmseSicOptions): NomaTrialEstimate {
  const out = emptyEstimate(N);
  const pi = Array.from({ length: N }, (_, n) => (options.prior === 'all-active' ? 1 : p[n]));
  const rRe = Float64Array.from(t.y.re);
  const rIm = Float64Array.from(t.y.im);
  const remaining = Array.from({ length: N }, (_, n) => n);
  const order: number[] = [];
  while (remaining.length > 0) {
    const K = remaining.length;
    // C = sum_m pi_m g_m g_m^H + sigma^2 I
    const cr = new Float64Array(L * L);
    const ci = new Float64Array(L * L);
    for (let i = 0; i < L; i++) cr[i * L + i] = noiseVar;
    for (const m of remaining) {
      for (let i = 0; i < L; i++) {
        const ar = t.g.re[m * L + i];
        const ai = t.g.im[m * L + i];
        for (let j = 0; j < L; j++) {
          // g_i conj(g_j)
          const br = t.g.re[m * L + j];
          const bi = t.g.im[m * L + j];
          cr[i * L + j] += pi[m] * (ar * br + ai * bi);
          ci[i * L + j] += pi[m] * (ai * br - ar * bi);
        }
      }
    }
    const chol = robustCholesky(cr, ci, L);
    // Solve C [u_1 ... u_K, w] = [g_{R_1} ... g_{R_K}, r], row-major L x (K + 1)
    const cols = K + 1;
    const sRe = new Float64Array(L * cols);
    const sIm = new Float64Array(L * cols);
    for (let l = 0; l < L; l++) {
      remaining.forEach((m, k) => {
        sRe[l * cols + k] = t.g.re[m * L + l];
        sIm[l * cols + k] = t.g.im[m * L + l];
      });
      sRe[l * cols + K] = rRe[l];
      sIm[l * cols + K] = rIm[l];
    }
    choleskySolveComplex(chol, L, sRe, sIm, cols);
    const wRe = Float64Array.from({ length: L }, (_, l) => sRe[l * cols + K]);
    const wIm = Float64Array.from({ length: L }, (_, l) => sIm[l * cols + K]);
    const stage = remaining.map((n, k) => {
      const uRe = Float64Array.from({ length: L }, (_, l) => sRe[l * cols + k]);
      const uIm = Float64Array.from({ length: L }, (_, l) => sIm[l * cols + k]);
      const beta = columnDot(t.g, n, L, uRe, uIm)[0];
      const [zr, zi] = columnDot(t.g, n, L, wRe, wIm);
      const slack = 1 - pi[n] * beta;
      const sinr = beta <= 0 ? 0 : slack > 0 ? beta / slack : Infinity;
      return { n, beta, sinr, xr: beta > 0 ? zr / beta : 0, xi: beta > 0 ? zi / beta : 0 };
    });
    let pick = 0;
    for (let k = 1; k < K; k++) {
      const a = stage[k];
      const b = stage[pick];
      const better =
        options.ordering === 'index'
          ? a.n < b.n
          : options.ordering === 'sinr'
            ? a.sinr > b.sinr * (1 + SINR_TIE)
            : p[a.n] > p[b.n] || (p[a.n] === p[b.n] && a.sinr > b.sinr);
      if (better) pick = k;
    }
    const { n, sinr, xr, xi } = stage[pick];
    const v = sinr > 0 ? 1 / sinr : Infinity;
    const alphabet = options.alphabets?.[n] ?? QPSK_ALPHABET;
    const d = decide(options.rule, xr, xi, v, p[n], options.fitted, alphabet);
    const message = alphabet.slice(xr, xi);
    out.re[n] = xr;
    out.im[n] = xi;
    out.variance[n] = v;
    out.score[n] = d.score;
    out.active[n] = d.active ? 1 : 0;
    out.message[n] = message;
    if (d.active) {
      const [qr, qi] = alphabet.points[message];
      for (let l = 0; l < L; l++) {
        const gr = t.g.re[n * L + l];
        const gi = t.g.im[n * L + l];
        rRe[l] -= gr * qr - gi * qi;
        rIm[l] -= gr * qi + gi * qr;
      }
    }
    order.push(n);
    remaining.splice(pick, 1);
  }
  return { ...out, order };
}

/** Oracle least-squares estimate over a known support: per-device symbols and messages. */
export interface SupportEstimate {
  readonly re: Float64Array;
  readonly im: Float64Array;
  readonly message: Int32Array;
}

/**
 * Finite-alphabet least squares over the support `support` (ML detection given the active set):
 * x^_Gamma = argmin_{x in QPSK^|Gamma|} ||y - G_Gamma x||^2 by exhaustive depth-first search
 * (4^|Gamma| leaves; the first minimum in message order wins ties). Devices off the support get
 * symbol 0 and message 0.
 */
export function finiteAlphabetLs(t: NomaTrial, N: number, L: number, support: readonly number[]): SupportEstimate {
  const re = new Float64Array(N);
  const im = new Float64Array(N);
  const message = new Int32Array(N);
  const k = support.length;
  if (k === 0) return { re, im, message };
  // residual per level: level d holds y - sum_{i < d} g_{support_i} q_i
  const resRe = Array.from({ length: k + 1 }, () => new Float64Array(L));
  const resIm = Array.from({ length: k + 1 }, () => new Float64Array(L));
  resRe[0].set(t.y.re);
  resIm[0].set(t.y.im);
  const choice = new Int32Array(k);
  let best = Infinity;
  let bestChoice = new Int32Array(k);
  const visit = (d: number): void => {
    if (d === k) {
      let e = 0;
      for (let l = 0; l < L; l++) e += resRe[k][l] ** 2 + resIm[k][l] ** 2;
      if (e < best) {
        best = e;
        bestChoice = choice.slice();
      }
      return;
    }
    const n = support[d];
    for (let q = 0; q < 4; q++) {
      const [qr, qi] = QPSK_POINTS[q];
      for (let l = 0; l < L; l++) {
        const gr = t.g.re[n * L + l];
        const gi = t.g.im[n * L + l];
        resRe[d + 1][l] = resRe[d][l] - (gr * qr - gi * qi);
        resIm[d + 1][l] = resIm[d][l] - (gr * qi + gi * qr);
      }
      choice[d] = q;
      visit(d + 1);
    }
  };
  visit(0);
  support.forEach((n, d) => {
    const q = bestChoice[d];
    re[n] = QPSK_POINTS[q][0];
    im[n] = QPSK_POINTS[q][1];
    message[n] = q;
  });
  return { re, im, message };
}

/**
 * Linear least squares over the support: x_Gamma = pinv(G_Gamma) y, then the QPSK slicer. With
 * |Gamma| <= L (full column rank) pinv(G) y = (G^H G)^{-1} G^H y; with |Gamma| > L it is the
 * minimum-norm solution G^H (G G^H)^{-1} y. Both by Cholesky, with a tiny ridge when the Gram
 * matrix is numerically singular. Devices off the support get symbol 0 and message 0.
 */
export function linearLs(t: NomaTrial, N: number, L: number, support: readonly number[]): SupportEstimate {
  const re = new Float64Array(N);
  const im = new Float64Array(N);
  const message = new Int32Array(N);
  const k = support.length;
  if (k === 0) return { re, im, message };
  const col = (n: number) => ({ re: t.g.re.subarray(n * L, (n + 1) * L), im: t.g.im.subarray(n * L, (n + 1) * L) });
  if (k <= L) {
    // (G^H G) x = G^H y
    const ar = new Float64Array(k * k);
    const ai = new Float64Array(k * k);
    const br = new Float64Array(k);
    const bi = new Float64Array(k);
    support.forEach((n, i) => {
      support.forEach((m, j) => {
        const c = col(m);
        const [dr, di] = columnDot(t.g, n, L, c.re, c.im);
        ar[i * k + j] = dr;
        ai[i * k + j] = di;
      });
      [br[i], bi[i]] = columnDot(t.g, n, L, t.y.re, t.y.im);
    });
    choleskySolveComplex(robustCholesky(ar, ai, k), k, br, bi, 1);
    support.forEach((n, i) => {
      re[n] = br[i];
      im[n] = bi[i];
    });
  } else {
    // (G G^H) w = y, x = G^H w
    const ar = new Float64Array(L * L);
    const ai = new Float64Array(L * L);
    for (const m of support) {
      for (let i = 0; i < L; i++) {
        for (let j = 0; j < L; j++) {
          const xr = t.g.re[m * L + i];
          const xi = t.g.im[m * L + i];
          const yr = t.g.re[m * L + j];
          const yi = t.g.im[m * L + j];
          ar[i * L + j] += xr * yr + xi * yi;
          ai[i * L + j] += xi * yr - xr * yi;
        }
      }
    }
    const wr = Float64Array.from(t.y.re);
    const wi = Float64Array.from(t.y.im);
    choleskySolveComplex(robustCholesky(ar, ai, L), L, wr, wi, 1);
    for (const n of support) [re[n], im[n]] = columnDot(t.g, n, L, wr, wi);
  }
  for (const n of support) message[n] = qpskSliceHost(re[n], im[n]);
  return { re, im, message };
}
