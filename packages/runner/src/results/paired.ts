/**
 * Paired differences between two candidates that saw the same trials (`gfra compare`): pure
 * functions of per-trial values, no I/O.
 *
 * With shared draws, trial t of candidate A and trial t of candidate B come from the same random
 * key: the same activity, channel and noise. A − B estimated on those common trials then has the
 * variance of the per-trial differences, which is far smaller than the sum of the two variances
 * when the candidates err on the same trials. This module computes both, so that the gain of
 * pairing can be seen.
 *
 * Rates R = Σ_t e_t / Σ_t n_t are ratio estimators. Their difference is linearised with the
 * delta method for ratio estimators (W. G. Cochran, Sampling Techniques, 3rd ed., Wiley, 1977,
 * Sec. 6.4, the variance of a ratio estimate; the trial is the sampling unit, as in
 * clusteredRateInterval of @gfra/core):
 *
 *   $z_t = (e^A_t - \hat R_A n^A_t)/\bar n^A - (e^B_t - \hat R_B n^B_t)/\bar n^B$,
 *   $\widehat{Var}(\hat R_A - \hat R_B) = s^2(z)/T$,
 *
 * over the T common trials, with $\bar n = \frac1T\sum_t n_t$ and $s^2$ the sample variance
 * (T − 1 denominator). A rate-sum (P_MD + P_FA) adds the linearised terms of its parts. Means are
 * the paired t of the per-trial differences $d_t = x^A_t - x^B_t$. The interval is Student-t with
 * T − 1 degrees of freedom at the spec's confidence. The unpaired interval uses the same estimates
 * and the same t quantile with the variances added as if the candidates were independent,
 * $s^2(z^A)/T + s^2(z^B)/T$, so the two widths differ only through the covariance that pairing
 * removes.
 *
 * Assumed: trials are independent and identically distributed (the trial is the independent
 * unit; the devices of one trial are not); trial t of A and of B share their draws (checked by
 * the caller from the spec); T is large enough for the delta method and the t approximation (with
 * few error events, say under ~10 per candidate, the interval is optimistic). A trial is used only
 * when both candidates have a finite value for the statistic (the trials the accumulators skip:
 * non-finite events or samples of any part of a rate, NaN or ±∞ of a mean, are left out of both).
 *
 * Repetitions (independent run-level draws, the same for A and B within a repetition) give one
 * difference each; the pooled row is their mean with a Student-t interval over the R repetitions
 * (R − 1 degrees of freedom), the repetitions being the independent units.
 */
import { studentTQuantile, type Interval, type TrialValues } from '@gfra/core';
import type { BatchRecord } from './store';

/** Per-trial counts of one rate: events e_t and samples n_t. */
export interface RateTrials {
  readonly events: ArrayLike<number>;
  readonly samples: ArrayLike<number>;
}

/**
 * The per-trial values of one statistic of the two candidates, each over the trials its job used
 * (trial 0 first). A rate has one part, a rate-sum one per summed rate.
 */
export type PairedTrials =
  | { readonly kind: 'rate'; readonly a: readonly RateTrials[]; readonly b: readonly RateTrials[] }
  | { readonly kind: 'mean'; readonly a: ArrayLike<number>; readonly b: ArrayLike<number> };

/** A − B for one statistic, with its paired and unpaired intervals. */
export interface PairedDifference {
  /** Common trials used (finite for both candidates). */
  readonly trials: number;
  /** A's and B's estimates on those trials (null when undefined: no samples). */
  readonly a: number | null;
  readonly b: number | null;
  /** a − b. */
  readonly difference: number | null;
  /** Interval of the difference from the per-trial differences (null bounds below 2 trials). */
  readonly paired: Interval;
  /** The same, with the two variances added as if independent. */
  readonly unpaired: Interval;
  /** Whether the paired interval lies entirely above or below 0. */
  readonly excludesZero: boolean;
}

const NO_INTERVAL: Interval = { low: null, high: null };

/** The common trials 0..min(nA, nB)−1 where every value of both candidates is finite. */
function commonTrials(lengthA: number, lengthB: number, finite: (t: number) => boolean): number[] {
  const out: number[] = [];
  for (let t = 0; t < Math.min(lengthA, lengthB); t++) if (finite(t)) out.push(t);
  return out;
}

function sampleVariance(xs: readonly number[]): number {
  const T = xs.length;
  if (T < 2) return 0;
  const mean = xs.reduce((s, x) => s + x, 0) / T;
  return xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (T - 1);
}

/** mid ± t_{df} · se at two-sided `confidence`; no interval without degrees of freedom. */
function tBounds(mid: number | null, se2: number, df: number, confidence: number): Interval {
  if (mid === null || df < 1) return NO_INTERVAL;
  const half = studentTQuantile(0.5 + confidence / 2, df) * Math.sqrt(Math.max(0, se2));
  return { low: mid - half, high: mid + half };
}

function excludesZero(i: Interval): boolean {
  return (i.low !== null && i.low > 0) || (i.high !== null && i.high < 0);
}

/** Σ_p R_p and the linearised per-trial terms Σ_p (e_pt − R_p n_pt)/n̄_p over `trials`. */
function linearisedRate(parts: readonly RateTrials[], trials: readonly number[]): { value: number | null; z: number[] } {
  const T = trials.length;
  const z = new Array<number>(T).fill(0);
  let value = 0;
  for (const p of parts) {
    let events = 0;
    let samples = 0;
    for (const t of trials) {
      events += p.events[t];
      samples += p.samples[t];
    }
    if (!(samples > 0)) return { value: null, z };
    const R = events / samples;
    const nBar = samples / T;
    trials.forEach((t, i) => (z[i] += (p.events[t] - R * p.samples[t]) / nBar));
    value += R;
  }
  return { value, z };
}

/**
 * A − B for one statistic over the common trials, with the paired interval (delta method for
 * rates, paired t for means) and the unpaired one, at two-sided `confidence`.
 */
export function pairedDifference(input: PairedTrials, confidence: number): PairedDifference {
  let trials: number[];
  let a: number | null;
  let b: number | null;
  let zA: number[];
  let zB: number[];
  if (input.kind === 'mean') {
    const { a: xa, b: xb } = input;
    trials = commonTrials(xa.length, xb.length, (t) => Number.isFinite(xa[t]) && Number.isFinite(xb[t]));
    zA = trials.map((t) => xa[t]);
    zB = trials.map((t) => xb[t]);
    const mean = (xs: number[]) => (xs.length > 0 ? xs.reduce((s, x) => s + x, 0) / xs.length : null);
    a = mean(zA);
    b = mean(zB);
  } else {
    const { a: pa, b: pb } = input;
    const length = (parts: readonly RateTrials[]) => Math.min(...parts.map((p) => Math.min(p.events.length, p.samples.length)));
    const finite = (parts: readonly RateTrials[], t: number) => parts.every((p) => Number.isFinite(p.events[t]) && Number.isFinite(p.samples[t]));
    trials = commonTrials(length(pa), length(pb), (t) => finite(pa, t) && finite(pb, t));
    const la = linearisedRate(pa, trials);
    const lb = linearisedRate(pb, trials);
    ({ value: a, z: zA } = la);
    ({ value: b, z: zB } = lb);
  }
  const T = trials.length;
  const difference = a === null || b === null ? null : a - b;
  const paired = tBounds(difference, sampleVariance(zA.map((x, i) => x - zB[i])) / T, T - 1, confidence);
  const unpaired = tBounds(difference, (sampleVariance(zA) + sampleVariance(zB)) / T, T - 1, confidence);
  return { trials: T, a, b, difference, paired, unpaired, excludesZero: excludesZero(paired) };
}

/**
 * The mean of the per-repetition differences (those with a value), with a Student-t interval over
 * repetitions (R − 1 degrees of freedom); the unpaired interval from the spreads of A's and B's
 * per-repetition estimates, added. `trials` is the total over the repetitions used.
 */
export function pooledDifference(repetitions: readonly PairedDifference[], confidence: number): PairedDifference {
  const used = repetitions.filter((r) => r.difference !== null && r.a !== null && r.b !== null);
  const R = used.length;
  const mean = (xs: number[]) => (R > 0 ? xs.reduce((s, x) => s + x, 0) / R : null);
  const as = used.map((r) => r.a as number);
  const bs = used.map((r) => r.b as number);
  const ds = used.map((r) => r.difference as number);
  const difference = mean(ds);
  const paired = tBounds(difference, sampleVariance(ds) / R, R - 1, confidence);
  const unpaired = tBounds(difference, (sampleVariance(as) + sampleVariance(bs)) / R, R - 1, confidence);
  return {
    trials: used.reduce((s, r) => s + r.trials, 0),
    a: mean(as),
    b: mean(bs),
    difference,
    paired,
    unpaired,
    excludesZero: excludesZero(paired),
  };
}

/**
 * The per-trial values of statistic `name` over a job's first `trials` trials, from its committed
 * batches (in batch order, each covering trials first..first+count−1): fewer when the batches
 * stop short or leave a gap, undefined when the batches do not hold the statistic.
 */
export function jobTrialValues(batches: readonly BatchRecord[], trials: number, name: string): TrialValues | undefined {
  const events: number[] = [];
  const samples: number[] = [];
  const values: number[] = [];
  let rate: boolean | undefined;
  let next = 0;
  for (const batch of batches) {
    if (next >= trials || batch.first !== next) break;
    const v = batch.values.get(name);
    if (v === undefined) return undefined;
    rate ??= 'events' in v;
    const take = Math.min(batch.count, trials - next);
    for (let t = 0; t < take; t++) {
      if ('events' in v) {
        events.push(v.events[t]);
        samples.push(v.samples[t]);
      } else values.push(v.values[t]);
    }
    next += take;
  }
  if (rate === undefined) return undefined;
  return rate ? { events, samples } : { values };
}
