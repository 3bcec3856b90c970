/**
 * Host-side accumulation of Monte Carlo statistics, trial by trial, and the stopping rule.
 *
 * Statistics are added one trial at a time, in trial order, and the stopping rule is checked
 * after each trial. A run therefore stops at the same trial, with the same counts, whatever the
 * batch size: the batch only decides how much work is done ahead (and discarded past the stop).
 * Counts are exact JavaScript numbers (integers up to 2^53); means use Welford's update in
 * float64. Rate intervals treat the trial as the independent unit (clusteredRateInterval in
 * stats.ts); the stopping rule counts events.
 *
 * Nothing is lost silently: a trial that gives a statistic no value is counted, with its reason,
 * in the statistic's `skipped` (see {@link SkippedTrials}).
 */
import type { StatisticInfo } from '../plugin';
import { clusteredRateInterval, normalQuantile, sumInterval, tInterval } from '../stats';

/**
 * The per-trial values of one statistic for one batch, downloaded from the device. A trial
 * without a usable value says why through the value itself (the runner's pipeline folds a
 * metric's `undefinedTrials` and its own check of the detector's outputs into this form):
 *
 * - rates: non-finite `events` or `samples` (NaN or infinite): the trial is skipped as
 *   `nonFinite` (e.g. the detector returned a NaN for it);
 * - means: NaN: the statistic is undefined for the trial by definition (a 0/0 defined away,
 *   e.g. NMSE with no active device), skipped as `undefined`; +-Infinity: the value could not be
 *   computed (a non-finite detector output or metric value), skipped as `nonFinite`.
 */
export type TrialValues =
  | { readonly events: ArrayLike<number>; readonly samples: ArrayLike<number> }
  | { readonly values: ArrayLike<number> };

/** Trials a statistic has no value for, by reason. */
export interface SkippedTrials {
  /** The statistic is undefined for the trial by definition (a 0/0 defined away: NMSE with no active device). */
  readonly undefined: number;
  /** The trial's value was not finite: the detector's output (or the metric's arithmetic) gave NaN or infinity. */
  readonly nonFinite: number;
}

/** Value and confidence interval of one statistic, as stored in results.json. */
export interface StatisticResult {
  readonly value: number | null;
  readonly low: number | null;
  readonly high: number | null;
  /** Error events counted (rates), or null for means. */
  readonly events: number | null;
  /** Samples: trials x devices counted (rates), or trials with a value (means). */
  readonly samples: number;
  /**
   * Trials left out of this statistic, by reason; absent when none were (so that results of runs
   * without skipped trials are unchanged). For a `rate-sum`, the trials any part left out.
   */
  readonly skipped?: SkippedTrials;
}

/** Why a (point, candidate) stopped. */
export type StopReason = 'target-events' | 'max-trials' | 'max-seconds' | 'interrupted';

export interface StoppingRule {
  /** Stop once every tracked rate statistic has seen this many events. */
  readonly targetEvents: number;
  /** Stop after this many trials. */
  readonly maxTrials: number;
}

class Rate {
  /** Trials skipped because their events or samples were not finite. */
  nonFinite = 0;
  events = 0;
  samples = 0;
  /** Per-trial sums for the trial-clustered interval (see clusteredRateInterval). */
  trials = 0;
  events2 = 0;
  samples2 = 0;
  cross = 0;
  add(e: number, n: number): void {
    this.events += e;
    this.samples += n;
    if (n > 0) {
      this.trials += 1;
      this.events2 += e * e;
      this.samples2 += n * n;
      this.cross += e * n;
    }
  }
}

class Mean {
  /** Trials skipped: undefined by definition (NaN), not finite (+-Infinity). */
  undefined = 0;
  nonFinite = 0;
  n = 0;
  mean = 0;
  m2 = 0;
  /** Add one trial's value, or count it as skipped (see {@link TrialValues}). */
  addTrial(x: number): void {
    if (Number.isNaN(x)) this.undefined += 1;
    else if (!Number.isFinite(x)) this.nonFinite += 1;
    else this.add(x);
  }
  add(x: number): void {
    this.n += 1;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
  }
}

/**
 * Jain's index J = (sum r)^2 / (K sum r^2) of K ratio estimators r_n = sum_t E_nt / sum_t S_nt,
 * with the second moments of the per-trial vector v_t = [E_1t..E_Kt, S_1t..S_Kt] for its
 * delta-method interval.
 */
class Jain {
  nonFinite = 0;
  trials = 0;
  readonly sum: Float64Array;
  /** sum_t v_t v_t^T, row-major [2K, 2K]. */
  readonly outer: Float64Array;
  constructor(readonly parts: string[]) {
    const d = 2 * parts.length;
    this.sum = new Float64Array(d);
    this.outer = new Float64Array(d * d);
  }
  add(v: readonly number[]): void {
    const d = v.length;
    this.trials += 1;
    for (let i = 0; i < d; i++) {
      this.sum[i] += v[i];
      if (v[i] === 0) continue;
      for (let j = 0; j < d; j++) this.outer[i * d + j] += v[i] * v[j];
    }
  }
}

/** Value and delta-method interval of a {@link Jain} accumulator. */
export function jainSummary(acc: { readonly trials: number; readonly sum: ArrayLike<number>; readonly outer: ArrayLike<number> }, K: number, confidence: number): { value: number | null; low: number | null; high: number | null } {
  const T = acc.trials;
  const S = Array.from({ length: K }, (_, n) => acc.sum[K + n]);
  if (T === 0 || S.some((s) => s <= 0)) return { value: null, low: null, high: null };
  const r = Array.from({ length: K }, (_, n) => acc.sum[n] / S[n]);
  const A = r.reduce((a, b) => a + b, 0);
  const B2 = r.reduce((a, b) => a + b * b, 0);
  if (B2 === 0) return { value: 1, low: null, high: null };
  const value = (A * A) / (K * B2);
  if (T < 2) return { value, low: null, high: null };
  // influence of trial t: u_t = sum_n g_n (E_nt - r_n S_nt) / mean(S_n), g_n = dJ/dr_n
  const d = 2 * K;
  const w = new Float64Array(d);
  for (let n = 0; n < K; n++) {
    const g = ((2 * A) / (K * B2)) * (1 - (A * r[n]) / B2);
    const meanS = S[n] / T;
    w[n] = g / meanS;
    w[K + n] = (-g * r[n]) / meanS;
  }
  let sumU = 0;
  let sumU2 = 0;
  for (let i = 0; i < d; i++) {
    sumU += w[i] * acc.sum[i];
    for (let j = 0; j < d; j++) sumU2 += w[i] * acc.outer[i * d + j] * w[j];
  }
  const varU = Math.max(0, (sumU2 - (sumU * sumU) / T) / (T - 1));
  const half = normalQuantile(0.5 + confidence / 2) * Math.sqrt(varU / T);
  return { value, low: Math.max(1 / K, value - half), high: Math.min(1, value + half) };
}

export class Accumulators {
  private readonly rates = new Map<string, Rate>();
  private readonly means = new Map<string, Mean>();
  private readonly tracked: Rate[] = [];
  /** Per rate-sum statistic: its part rates, and the trials any of them skipped. */
  private readonly sums = new Map<string, { parts: Rate[]; nonFinite: number }>();
  /** Per jain-index statistic: its accumulator over the part rates. */
  private readonly jains = new Map<string, Jain>();
  private trialCount = 0;
  private nonFiniteTrialCount = 0;

  constructor(readonly statistics: readonly StatisticInfo[]) {
    for (const s of statistics) {
      if (s.kind === 'rate') {
        const r = new Rate();
        this.rates.set(s.name, r);
        if (s.tracked !== false) this.tracked.push(r);
      } else if (s.kind === 'mean') {
        this.means.set(s.name, new Mean());
      }
    }
    for (const s of statistics) {
      if (s.kind === 'rate-sum') {
        for (const p of s.parts ?? []) {
          if (!this.rates.has(p)) throw new Error(`statistic ${s.name}: part "${p}" is not a rate statistic`);
        }
        this.sums.set(s.name, { parts: (s.parts ?? []).map((p) => this.rates.get(p) as Rate), nonFinite: 0 });
      }
      if (s.kind === 'jain-index') {
        for (const p of s.parts ?? []) {
          if (!this.rates.has(p)) throw new Error(`statistic ${s.name}: part "${p}" is not a rate statistic`);
        }
        this.jains.set(s.name, new Jain([...(s.parts ?? [])]));
      }
    }
  }

  /** Trials accumulated so far. */
  get trials(): number {
    return this.trialCount;
  }

  /** Smallest progress towards the event target over tracked statistics, in [0, 1]. */
  eventProgress(targetEvents: number): number {
    if (this.tracked.length === 0) return 0;
    return Math.min(1, ...this.tracked.map((r) => r.events / targetEvents));
  }

  /** Whether the rule says stop now (checked after each trial). */
  stopReason(rule: StoppingRule): StopReason | undefined {
    if (this.tracked.length > 0 && this.tracked.every((r) => r.events >= rule.targetEvents)) return 'target-events';
    if (this.trialCount >= rule.maxTrials) return 'max-trials';
    return undefined;
  }

  /**
   * Add the trials of one batch in order, stopping early when the rule says so.
   * @param batch per-statistic values of `count` trials (every rate and mean statistic)
   * @returns trials consumed and the stop reason, if the rule fired
   */
  addBatch(batch: ReadonlyMap<string, TrialValues>, count: number, rule: StoppingRule): { consumed: number; stop?: StopReason } {
    const rates = [...this.rates].map(([name, acc]) => {
      const v = batch.get(name);
      if (v === undefined || !('events' in v)) throw new Error(`missing per-trial events for rate statistic "${name}"`);
      return { acc, v };
    });
    const means = [...this.means].map(([name, acc]) => {
      const v = batch.get(name);
      if (v === undefined || !('values' in v)) throw new Error(`missing per-trial values for mean statistic "${name}"`);
      return { acc, v };
    });
    const sums = [...this.sums.values()];
    const skippedRates = new Set<Rate>();
    for (let t = 0; t < count; t++) {
      skippedRates.clear();
      for (const { acc, v } of rates) {
        const e = v.events[t];
        const n = v.samples[t];
        if (Number.isFinite(e) && Number.isFinite(n)) acc.add(e, n);
        else {
          acc.nonFinite += 1;
          skippedRates.add(acc);
        }
      }
      if (skippedRates.size > 0) {
        for (const sum of sums) if (sum.parts.some((p) => skippedRates.has(p))) sum.nonFinite += 1;
      }
      for (const [, jain] of this.jains) {
        const parts = jain.parts.map((p) => batch.get(p) as { events: ArrayLike<number>; samples: ArrayLike<number> });
        const v = [...parts.map((p) => p.events[t]), ...parts.map((p) => p.samples[t])];
        if (v.every(Number.isFinite)) jain.add(v);
        else jain.nonFinite += 1;
      }
      let nonFinite = skippedRates.size > 0;
      for (const { acc, v } of means) {
        const x = v.values[t];
        acc.addTrial(x);
        if (!Number.isNaN(x) && !Number.isFinite(x)) nonFinite = true;
      }
      if (nonFinite) this.nonFiniteTrialCount += 1;
      this.trialCount += 1;
      const stop = this.stopReason(rule);
      if (stop !== undefined) return { consumed: t + 1, stop };
    }
    return { consumed: count };
  }

  /** Values and intervals at two-sided `confidence`. */
  summary(confidence: number): Record<string, StatisticResult> {
    const out: Record<string, StatisticResult> = {};
    for (const s of this.statistics) {
      if (s.kind === 'rate') {
        const r = this.rates.get(s.name) as Rate;
        const { low, high } = clusteredRateInterval(r, confidence);
        out[s.name] = { value: r.samples > 0 ? r.events / r.samples : null, low, high, events: r.events, samples: r.samples, ...skipped(0, r.nonFinite) };
      } else if (s.kind === 'mean') {
        const m = this.means.get(s.name) as Mean;
        const variance = m.n > 1 ? m.m2 / (m.n - 1) : 0;
        const ci = tInterval(m.mean, variance, m.n, confidence);
        out[s.name] = { value: m.n > 0 ? m.mean : null, ...ci, events: null, samples: m.n, ...skipped(m.undefined, m.nonFinite) };
      }
    }
    for (const s of this.statistics) {
      if (s.kind !== 'rate-sum') continue;
      const parts = (s.parts ?? []).map((p) => out[p]);
      const partsSkipped = skipped(0, (this.sums.get(s.name) as { nonFinite: number }).nonFinite);
      if (parts.some((p) => p.value === null)) {
        out[s.name] = { value: null, low: null, high: null, events: 0, samples: 0, ...partsSkipped };
        continue;
      }
      const ci = sumInterval(parts.map((p) => ({ value: p.value as number, low: p.low, high: p.high })));
      out[s.name] = {
        value: parts.reduce((a, p) => a + (p.value as number), 0),
        ...ci,
        events: parts.reduce((a, p) => a + (p.events ?? 0), 0),
        samples: parts.reduce((a, p) => a + p.samples, 0),
        ...partsSkipped,
      };
    }
    for (const s of this.statistics) {
      if (s.kind !== 'jain-index') continue;
      const jain = this.jains.get(s.name) as Jain;
      out[s.name] = { ...jainSummary(jain, jain.parts.length, confidence), events: null, samples: jain.trials, ...skipped(0, jain.nonFinite) };
    }
    return out;
  }

  /**
   * Trials that at least one statistic skipped as not finite (a non-finite detector output makes
   * the runner skip the trial in every statistic), out of {@link trials}.
   */
  get nonFiniteTrials(): number {
    return this.nonFiniteTrialCount;
  }
}

/** `{ skipped }` when any trial was skipped, else nothing (results without skips are unchanged). */
function skipped(undefinedTrials: number, nonFinite: number): { skipped?: SkippedTrials } {
  return undefinedTrials === 0 && nonFinite === 0 ? {} : { skipped: { undefined: undefinedTrials, nonFinite } };
}
