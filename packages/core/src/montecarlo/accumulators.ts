/**
 * Host-side accumulation of Monte Carlo statistics, trial by trial, and the stopping rule.
 *
 * Statistics are added one trial at a time, in trial order, and the stopping rule is checked
 * after each trial. A run therefore stops at the same trial, with the same counts, whatever the
 * batch size: the batch only decides how much work is done ahead (and discarded past the stop).
 * Counts are exact JavaScript numbers (integers up to 2^53); means use Welford's update in
 * float64. Rate intervals treat the trial as the independent unit (clusteredRateInterval in
 * stats.ts); the stopping rule counts events.
 */
import type { StatisticInfo } from '../plugin';
import { clusteredRateInterval, sumInterval, tInterval } from '../stats';

/** The per-trial values of one statistic for one batch, downloaded from the device. */
export type TrialValues =
  | { readonly events: ArrayLike<number>; readonly samples: ArrayLike<number> }
  | { readonly values: ArrayLike<number> };

/** Value and confidence interval of one statistic, as stored in results.json. */
export interface StatisticResult {
  readonly value: number | null;
  readonly low: number | null;
  readonly high: number | null;
  /** Error events counted (rates), or null for means. */
  readonly events: number | null;
  /** Samples: trials x devices counted (rates), or trials with a value (means). */
  readonly samples: number;
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
  n = 0;
  mean = 0;
  m2 = 0;
  add(x: number): void {
    this.n += 1;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
  }
}

export class Accumulators {
  private readonly rates = new Map<string, Rate>();
  private readonly means = new Map<string, Mean>();
  private readonly tracked: Rate[] = [];
  private trialCount = 0;

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
    for (let t = 0; t < count; t++) {
      for (const { acc, v } of rates) acc.add(v.events[t], v.samples[t]);
      for (const { acc, v } of means) {
        const x = v.values[t];
        if (!Number.isNaN(x)) acc.add(x);
      }
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
        out[s.name] = { value: r.samples > 0 ? r.events / r.samples : null, low, high, events: r.events, samples: r.samples };
      } else if (s.kind === 'mean') {
        const m = this.means.get(s.name) as Mean;
        const variance = m.n > 1 ? m.m2 / (m.n - 1) : 0;
        const ci = tInterval(m.mean, variance, m.n, confidence);
        out[s.name] = { value: m.n > 0 ? m.mean : null, ...ci, events: null, samples: m.n };
      }
    }
    for (const s of this.statistics) {
      if (s.kind !== 'rate-sum') continue;
      const parts = (s.parts ?? []).map((p) => out[p]);
      if (parts.some((p) => p.value === null)) {
        out[s.name] = { value: null, low: null, high: null, events: 0, samples: 0 };
        continue;
      }
      const ci = sumInterval(parts.map((p) => ({ value: p.value as number, low: p.low, high: p.high })));
      out[s.name] = {
        value: parts.reduce((a, p) => a + (p.value as number), 0),
        ...ci,
        events: parts.reduce((a, p) => a + (p.events ?? 0), 0),
        samples: parts.reduce((a, p) => a + p.samples, 0),
      };
    }
    return out;
  }
}
