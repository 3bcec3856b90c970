/**
 * Special functions and confidence intervals for Monte Carlo results.
 *
 * - Wilson score interval for error rates (events / samples), well behaved at zero events.
 * - Student-t interval for means of continuous per-trial values (e.g. NMSE).
 * - MOVER (Newcombe's method of variance estimates recovery) for the sum of two independent
 *   rates, e.g. P_MD + P_FA.
 */

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log Gamma(x) for x > 0 (Lanczos approximation, g = 7; about 15 significant digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let s = LANCZOS[0];
  for (let i = 1; i < 9; i++) s += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

const EPS = 1e-15;
const TINY = 1e-300;

/** Regularised lower incomplete gamma P(a, x) = gamma(a, x) / Gamma(a), a > 0, x >= 0. */
export function gammaP(a: number, x: number): number {
  if (x <= 0) return 0;
  if (x < a + 1) {
    // Series: P = e^{-x} x^a / Gamma(a+1) * sum_k x^k / ((a+1)...(a+k))
    let term = 1 / a;
    let total = term;
    for (let n = 1; n < 10000; n++) {
      term *= x / (a + n);
      total += term;
      if (Math.abs(term) < Math.abs(total) * EPS) break;
    }
    return Math.min(1, total * Math.exp(-x + a * Math.log(x) - logGamma(a)));
  }
  return 1 - gammaQContinuedFraction(a, x);
}

/** Regularised upper incomplete gamma Q(a, x) = 1 - P(a, x). */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  if (x < a + 1) return 1 - gammaP(a, x);
  return gammaQContinuedFraction(a, x);
}

// Modified Lentz evaluation of the continued fraction for Q(a, x), valid for x >= a + 1.
function gammaQContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** Regularised incomplete beta I_x(a, b). */
export function betaI(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < 10000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return h;
}

/** Standard normal CDF Phi(x). */
export function normalCdf(x: number): number {
  // erfc(t) = Q(1/2, t^2) for t >= 0
  const t = Math.abs(x) / Math.SQRT2;
  const tail = 0.5 * gammaQ(0.5, t * t);
  return x >= 0 ? 1 - tail : tail;
}

/** Student-t CDF with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * betaI(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** Invert a continuous increasing CDF on [lo, hi] by bisection (to ~1e-12 relative). */
function invert(cdf: (x: number) => number, p: number, lo: number, hi: number): number {
  while (cdf(hi) < p) hi *= 2;
  while (cdf(lo) > p) lo = lo < 0 ? lo * 2 : lo - 1;
  for (let i = 0; i < 200 && hi - lo > 1e-13 * Math.max(1, Math.abs(hi)); i++) {
    const mid = 0.5 * (lo + hi);
    if (cdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

function checkProbability(p: number, what: string): void {
  if (!(p > 0 && p < 1)) throw new Error(`${what}: probability must be in (0, 1), got ${p}`);
}

/** Standard normal quantile Phi^{-1}(p). */
export function normalQuantile(p: number): number {
  checkProbability(p, 'normalQuantile');
  return invert(normalCdf, p, -40, 40);
}

/** Student-t quantile with `df` degrees of freedom. */
export function studentTQuantile(p: number, df: number): number {
  checkProbability(p, 'studentTQuantile');
  if (!(df > 0)) throw new Error(`studentTQuantile: degrees of freedom must be > 0, got ${df}`);
  return invert((x) => studentTCdf(x, df), p, -10, 10);
}

/** Quantile of the Gamma(shape, 1) distribution: x with P(shape, x) = p. */
export function gammaQuantile(p: number, shape: number): number {
  checkProbability(p, 'gammaQuantile');
  return invert((x) => gammaP(shape, x), p, 0, Math.max(1, 2 * shape));
}

/** A two-sided interval. `null` bounds mean "not enough samples to say". */
export interface Interval {
  readonly low: number | null;
  readonly high: number | null;
}

/**
 * Wilson score interval for a proportion with `events` successes out of `samples` trials at
 * two-sided `confidence`. With zero events the lower bound is 0 and the upper bound is the
 * usable "rate is below" bound.
 */
export function wilsonInterval(events: number, samples: number, confidence: number): Interval {
  if (samples <= 0) return { low: null, high: null };
  const z = normalQuantile(0.5 + confidence / 2);
  const p = events / samples;
  const z2n = (z * z) / samples;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / samples + z2n / (4 * samples));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** Per-trial sums of a rate statistic, for {@link clusteredRateInterval}. */
export interface ClusteredCounts {
  /** Trials that contributed samples (n_t > 0): the independent units. */
  readonly trials: number;
  /** sum_t e_t: error events. */
  readonly events: number;
  /** sum_t n_t: samples (devices, bits, ...). */
  readonly samples: number;
  /** sum_t e_t^2, sum_t n_t^2, sum_t e_t n_t. */
  readonly events2: number;
  readonly samples2: number;
  readonly cross: number;
}

/**
 * Interval for a rate R = sum_t e_t / sum_t n_t whose samples come in clusters (the N devices of
 * one trial share its activity pattern, noise and interference), treating the trial as the
 * independent unit: a Wilson interval on the effective sample size n_eff = R (1 - R) / V, where
 * V is the delta-method (ratio-estimator) variance of R over trials,
 *
 *   V = T / (T - 1) * sum_t (e_t - R n_t)^2 / (sum_t n_t)^2,
 *
 * (Kish's design effect, deff = n / n_eff; the Wilson-with-effective-size form of Korn and
 * Graubard, "Confidence intervals for proportions with small expected number of positive counts
 * estimated from survey data", Survey Methodology 24(2), 1998). n_eff is kept in [T, n]: between
 * perfectly correlated devices (one independent sample per trial) and independent ones (plain
 * Wilson). With no event, or only events, V says nothing about the correlation and the
 * conservative end n_eff = T is used. With one sample per trial this is exactly the Wilson
 * interval.
 */
export function clusteredRateInterval(c: ClusteredCounts, confidence: number): Interval & { readonly effectiveSamples: number } {
  const { trials: T, events, samples: n } = c;
  if (n <= 0 || T <= 0) return { low: null, high: null, effectiveSamples: 0 };
  const R = events / n;
  let effective = T;
  if (R > 0 && R < 1 && T > 1) {
    const residual = Math.max(0, c.events2 - 2 * R * c.cross + R * R * c.samples2); // sum_t (e_t - R n_t)^2
    const V = ((T / (T - 1)) * residual) / (n * n);
    effective = V > 0 ? Math.min(n, Math.max(T, (R * (1 - R)) / V)) : n;
  }
  return { ...wilsonInterval(R * effective, effective, confidence), effectiveSamples: effective };
}

/** Student-t interval for a mean from its sample mean, sample variance and count. */
export function tInterval(mean: number, variance: number, n: number, confidence: number): Interval {
  if (n < 2) return { low: null, high: null };
  const t = studentTQuantile(0.5 + confidence / 2, n - 1);
  const half = t * Math.sqrt(variance / n);
  return { low: mean - half, high: mean + half };
}

/**
 * Interval for p1 + p2 of two independent proportions from their own intervals (MOVER,
 * Newcombe 1998 / Zou & Donner 2008): the distances to each bound add in quadrature.
 */
export function sumInterval(parts: readonly { value: number; low: number | null; high: number | null }[]): Interval {
  if (parts.some((p) => p.low === null || p.high === null)) return { low: null, high: null };
  const total = parts.reduce((s, p) => s + p.value, 0);
  const down = Math.sqrt(parts.reduce((s, p) => s + (p.value - (p.low as number)) ** 2, 0));
  const up = Math.sqrt(parts.reduce((s, p) => s + ((p.high as number) - p.value) ** 2, 0));
  return { low: Math.max(0, total - down), high: total + up };
}
