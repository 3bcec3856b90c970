/**
 * Repetitions: a (point, candidate) run R times with independent run-level draws (pilot matrix,
 * geometry, weight initialisation and training data, fitted thresholds). Each repetition's
 * statistic is one sample of what a method gives on a fresh draw of those; the pooled value is
 * their mean, with a Student-t interval on R - 1 degrees of freedom (the repetitions are the
 * independent units, so the interval includes the spread across pilot draws that one run's
 * Monte Carlo interval cannot see).
 */
import { studentTQuantile } from '@gfra/core';
import { pointCandidateKey, type JobResult, type PooledResult, type PooledStatistic } from './format';

/**
 * The across-repetition summary of one statistic from its per-repetition values (nulls left out).
 * For a rate (`rate`: a probability) the interval is cut to [0, 1], where the t-interval of a
 * mean of small rates can reach past 0.
 */
export function poolValues(
  values: readonly (number | null)[],
  confidence: number,
  rate = false,
  intervals: readonly { low: number | null; high: number | null }[] = [],
): PooledStatistic {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { value: null, low: null, high: null, sd: null, min: null, max: null, repetitions: 0 };
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)) : null;
  const half = sd === null ? null : studentTQuantile(0.5 + confidence / 2, n - 1) * (sd / Math.sqrt(n));
  const cut = (x: number) => (rate ? Math.min(1, Math.max(0, x)) : x);
  // Identical values (e.g. no error in any repetition) give a zero-width t-interval, which says
  // nothing; the repetitions' own intervals, joined, are the honest statement then.
  const lows = intervals.map((i) => i.low).filter((v): v is number => v !== null);
  const highs = intervals.map((i) => i.high).filter((v): v is number => v !== null);
  if (sd === 0 && lows.length === n && highs.length === n) {
    return { value: mean, low: Math.min(...lows), high: Math.max(...highs), sd, min: mean, max: mean, repetitions: n };
  }
  return {
    value: mean,
    low: half === null ? null : cut(mean - half),
    high: half === null ? null : cut(mean + half),
    sd,
    min: Math.min(...xs),
    max: Math.max(...xs),
    repetitions: n,
  };
}

/**
 * One pooled row per (point, candidate) that has results with a `repetition` field, in the order
 * of their first repetition; a (point, candidate) with a single result (no repetitions) has none.
 * Interrupted repetitions count as they are (results.json says `stop: "interrupted"`). When every
 * repetition gives the same value (no error in any of them, say) the interval is the union of the
 * repetitions' own intervals instead of the zero-width t-interval.
 */
export function poolRepetitions(results: readonly JobResult[], confidence: number, unitInterval: ReadonlySet<string> = new Set()): PooledResult[] {
  const groups = new Map<string, JobResult[]>();
  for (const r of results) {
    if (r.repetition === undefined) continue;
    const key = pointCandidateKey(r);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [r]);
    else group.push(r);
  }
  return [...groups.values()].map((group) => {
    const names = [...new Set(group.flatMap((r) => Object.keys(r.metrics)))];
    return {
      candidate: group[0].candidate,
      point: group[0].point,
      repetitions: group.length,
      trials: group.reduce((s, r) => s + r.trials, 0),
      // A rate counts events (a mean has events null): its pooled interval stays in [0, 1], as
      // does that of a statistic in `unitInterval` (a Jain index).
      metrics: Object.fromEntries(
        names.map((name) => [
          name,
          poolValues(
            group.map((r) => r.metrics[name]?.value ?? null),
            confidence,
            unitInterval.has(name) || group.every((r) => r.metrics[name] === undefined || r.metrics[name].events !== null),
            group.flatMap((r) => (r.metrics[name] === undefined || r.metrics[name].value === null ? [] : [r.metrics[name]])),
          ),
        ]),
      ),
    };
  });
}

/**
 * The results to draw: one per (point, candidate). Without repetitions, the results themselves.
 * With them, each (point, candidate)'s pooled row as a result: the across-repetition mean with its
 * t-interval, `events` null, `samples` and `trials` summed, the detector time averaged over the
 * repetitions that timed it, and `repetitions`/`sd` for tooltips. A pooled value of 0 (no error in
 * any repetition) has a zero-width t-interval; its upper end is the largest per-repetition upper
 * end, so that a log axis still shows it as a bound.
 */
export function plottedResults(data: { readonly results: readonly JobResult[]; readonly pooled?: readonly PooledResult[] }): (JobResult & { readonly repetitions?: number })[] {
  const pooled = data.pooled ?? [];
  if (pooled.length === 0) return [...data.results];
  const reps = new Map<string, JobResult[]>();
  for (const r of data.results) reps.set(pointCandidateKey(r), [...(reps.get(pointCandidateKey(r)) ?? []), r]);
  const out: (JobResult & { readonly repetitions?: number })[] = data.results.filter((r) => r.repetition === undefined);
  for (const p of pooled) {
    const group = reps.get(pointCandidateKey(p)) ?? [];
    const timed = group.flatMap((r) => (r.detectorTime === undefined ? [] : [r.detectorTime]));
    const metrics = Object.fromEntries(
      Object.entries(p.metrics).map(([name, m]) => {
        const highs = group.map((r) => r.metrics[name]?.high).filter((h): h is number => typeof h === 'number');
        const high = m.value === 0 && highs.length > 0 ? Math.max(...highs) : m.high;
        const samples = group.reduce((s, r) => s + (r.metrics[name]?.samples ?? 0), 0);
        return [name, { value: m.value, low: m.low, high, events: null, samples }];
      }),
    );
    out.push({
      candidate: p.candidate,
      point: p.point,
      trials: p.trials,
      seconds: group.reduce((s, r) => s + r.seconds, 0),
      stop: group.some((r) => r.stop === 'interrupted') ? 'interrupted' : (group[0]?.stop ?? 'max-trials'),
      metrics,
      repetitions: p.repetitions,
      ...(timed.length === 0
        ? {}
        : {
            detectorTime: {
              seconds: timed.reduce((s, t) => s + t.seconds, 0),
              trials: timed.reduce((s, t) => s + t.trials, 0),
              msPerTrial: timed.reduce((s, t) => s + t.msPerTrial, 0) / timed.length,
            },
          }),
    });
  }
  return out;
}
