/**
 * What each statistic of a results file is, for drawing it: error rates on a log axis, means on
 * a linear one (in dB when the metric says so).
 *
 * The results file's own `statistics` records (written from the metrics' descriptors when the
 * run planned them) say what each statistic is; a statistic they do not describe (a file written
 * before they existed) is classified from the numbers: rates have `events`, means have
 * `events: null`. No plugin registry is needed to read results.
 */
import { GfraUserError, type StatisticKind } from '@gfra/core';
import type { StoredResults } from './read';

/** The name under which the detector time is plotted (`gfra plot --metric detector-ms`). */
export const DETECTOR_TIME = 'detector-ms';

export interface StatisticDescription {
  readonly name: string;
  readonly kind: StatisticKind;
  /** One line, e.g. "missed-detection probability". Empty when unknown. */
  readonly description: string;
  /** Plot 10 log10(value) on a linear axis (NMSE-like means). */
  readonly decibel: boolean;
  /** Log y axis for error rates, linear otherwise. */
  readonly scale: 'log' | 'linear';
  /** How the confidence interval was computed, for captions ('none': a value without interval). */
  readonly interval: string;
}

const INTERVALS: Record<StatisticKind, string> = { rate: 'trial-clustered Wilson', 'rate-sum': 'MOVER', mean: 'Student-t', 'jain-index': 'delta method' };

function describe(name: string, kind: StatisticKind, description: string, decibel: boolean): StatisticDescription {
  const rate = kind === 'rate' || kind === 'rate-sum';
  return { name, kind, description, decibel: !rate && decibel, scale: rate ? 'log' : 'linear', interval: INTERVALS[kind] };
}

/** The statistics in a results file, in first-seen order, with how to draw each. */
export function describeStatistics(data: StoredResults): StatisticDescription[] {
  const declared = new Map<string, StatisticDescription>();
  for (const s of data.statistics ?? []) declared.set(s.name, describe(s.name, s.kind, s.description.split(':')[0].trim(), s.decibel));
  const names = [...new Set(data.results.flatMap((r) => Object.keys(r.metrics)))];
  return names.map((name) => {
    const known = declared.get(name);
    if (known !== undefined) return known;
    const isRate = data.results.some((r) => r.metrics[name] !== undefined && r.metrics[name].events !== null);
    return describe(name, isRate ? 'rate' : 'mean', '', false);
  });
}

/**
 * The pseudo-statistics the results record besides the metrics: the detector time
 * ({@link DETECTOR_TIME}) and every key of the detectors' `diagnostics`. Not default figures
 * (timings are noisy and machine-specific), drawn when asked for by name.
 */
export function extraStatistics(data: StoredResults): StatisticDescription[] {
  // No intervals; times span decades across detectors, so a log axis.
  const time: StatisticDescription = { ...describe(DETECTOR_TIME, 'mean', 'detector time per trial (ms)', false), scale: 'log', interval: 'none' };
  const out = data.results.some((r) => r.detectorTime !== undefined) ? [time] : [];
  const keys = [...new Set(data.results.flatMap((r) => Object.keys(r.diagnostics ?? {})))];
  return [...out, ...keys.map((k) => ({ ...describe(k, 'mean', 'reported by the detector', false), interval: 'none' }))];
}

/** Find a statistic by name; the error lists the valid ones. */
export function pickStatistic(stats: readonly StatisticDescription[], name: string): StatisticDescription {
  const found = stats.find((s) => s.name === name);
  if (found !== undefined) return found;
  throw new GfraUserError(`Unknown metric "${name}". The results have: ${stats.map((s) => s.name).join(', ') || '(none)'}`);
}
