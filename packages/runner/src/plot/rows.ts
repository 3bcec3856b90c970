/**
 * The data behind a figure: one row per (run, candidate, sweep point) of one statistic, with the
 * value to draw (with repetitions, their mean and t-interval: plottedResults), its interval, and whether it is an upper bound (no error observed, so the
 * estimate is 0 and only the interval's upper end says anything on a log axis).
 */
import * as path from 'node:path';
import { skippedText, type JobResult } from '../results/format';
import type { LoadedResults, StoredResults } from '../results/read';
import { plottedResults } from '../results/repetitions';
import { getPath } from '../spec/sweep';
import { paramLabel, shortName, sweptParams } from './params';
import { DETECTOR_TIME, type StatisticDescription } from '../results/statistics';

export { DETECTOR_TIME };

/** A run in a figure; `label` prefixes its candidates when several runs are compared. */
export interface PlotRun {
  readonly label: string;
  readonly data: StoredResults;
}

export const MARKER_ESTIMATE = 'estimate';
export const MARKER_BOUND = 'upper bound (0 errors)';

export interface ChartRow {
  /** Legend entry: the candidate, or `run/candidate` when several runs are compared. */
  readonly series: string;
  readonly run: string;
  readonly candidate: string;
  readonly x: number | string;
  /** The other swept values of the point (`snrDb=0`), '' when the x parameter is the only one. */
  readonly panel: string;
  /** Plotted value: the estimate, the interval's upper end for bounds, 10 log10 for dB means. */
  readonly y: number;
  /** Error bar ends in plotted units; null when not drawable (bounds, or <= 0 on a log/dB axis). */
  readonly yLow: number | null;
  readonly yHigh: number | null;
  readonly bound: boolean;
  readonly marker: typeof MARKER_ESTIMATE | typeof MARKER_BOUND;
  readonly value: number;
  readonly low: number | null;
  readonly high: number | null;
  readonly events: number | null;
  readonly samples: number;
  readonly trials: number;
  /** With repetitions: how many the point's mean (and its t-interval over repetitions) pools. */
  readonly repetitions?: number;
  /** Trials the statistic left out, in words (`3 non-finite`), when it left any out. */
  readonly skipped?: string;
  /** Trade-off figures (statistic against statistic): the x statistic's interval ends in plotted units. */
  readonly xLow?: number | null;
  readonly xHigh?: number | null;
  /** Trade-off figures: the place of the point along the swept parameter (the curve joins points in this order). */
  readonly order?: number;
}

/** Unique labels for runs: the spec name, else the run directory, else numbered. */
export function plotRuns(loaded: readonly LoadedResults[]): PlotRun[] {
  const names = loaded.map((l) => l.data.name);
  const dup = (xs: string[], x: string) => xs.filter((y) => y === x).length > 1;
  const labels = names.map((n, i) => (dup(names, n) ? path.basename(path.resolve(loaded[i].dir)) : n));
  return loaded.map((l, i) => ({ label: dup(labels, labels[i]) ? `${labels[i]}#${i + 1}` : labels[i], data: l.data }));
}

const db = (v: number | null): number | null => (v !== null && v > 0 ? 10 * Math.log10(v) : null);
const positive = (v: number | null): number | null => (v !== null && v > 0 ? v : null);

/**
 * The parameters that split a figure into panels: every path swept by some run, except `xPath`
 * and the paths coupled with it. A run that does not sweep one of them gets its spec's value.
 */
export function panelPaths(runs: readonly PlotRun[], xPath: string): string[] {
  const params = runs.flatMap((run) => sweptParams(run.data));
  const coupled = new Set(params.filter((p) => p.path === xPath).flatMap((p) => p.coupled));
  return [...new Set(params.map((p) => p.path))].filter((p) => p !== xPath && !coupled.has(p));
}

/**
 * Name of the pseudo-statistic for the detector's decode time per trial in milliseconds (a
 * result's `detectorTime`; no interval), plotted on request (`gfra plot --metric detector-ms`),
 * e.g. for the time figures of Cui, Li, Zhang [Cui2021] (Figs. 7 and 12).
 */

/**
 * The statistic `name` of a result, including the pseudo-statistics without interval: the
 * {@link DETECTOR_TIME} and the detector's `diagnostics` (e.g. `eps1/eps2`).
 */
function resultStatistic(r: JobResult, name: string): JobResult['metrics'][string] | undefined {
  if (name in r.metrics) return r.metrics[name];
  if (name === DETECTOR_TIME) {
    const t = r.detectorTime;
    return t === undefined ? undefined : { value: t.msPerTrial, low: null, high: null, events: null, samples: t.trials };
  }
  const d = r.diagnostics?.[name];
  return d === undefined ? undefined : { value: d, low: null, high: null, events: null, samples: r.trials };
}

interface Plotted {
  readonly y: number;
  readonly yLow: number | null;
  readonly yHigh: number | null;
  readonly bound: boolean;
}

/**
 * A statistic's value in plotted units: the estimate, the interval's upper end for a rate
 * without an observed error (a bound), 10 log10 for dB means; null when nothing is drawable
 * (a zero-width bound, or a non-positive mean in dB).
 */
function plotted(m: JobResult['metrics'][string], stat: StatisticDescription): Plotted | null {
  if (m.value === null) return null;
  if (stat.scale === 'log') {
    const bound = m.value <= 0;
    const y = bound ? positive(m.high) : m.value;
    return y === null ? null : { y, yLow: bound ? null : positive(m.low), yHigh: bound ? null : positive(m.high), bound };
  }
  if (stat.decibel) {
    const y = db(m.value);
    return y === null ? null : { y, yLow: db(m.low), yHigh: db(m.high), bound: false };
  }
  return { y: m.value, yLow: m.low, yHigh: m.high, bound: false };
}

/**
 * The other swept values of a point as a panel header, named as on axes: `SNR = 0 dB, Antennas
 * M = 16` ('' with none); coupled keys that give the same text appear once.
 */
function panelOf(run: PlotRun, point: JobResult['point'], panelBy: readonly string[]): string {
  const parts = panelBy.map((p) => {
    const v = p in point ? point[p] : getPath(run.data.spec, p);
    const value = v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v);
    const label = paramLabel(p);
    const unit = /^(.*) \(([^()]+)\)$/.exec(label);
    return unit === null ? `${label} = ${value}` : `${unit[1]} = ${value} ${unit[2]}`;
  });
  return [...new Set(parts)].join(', ');
}

/** A result as figures draw it (with repetitions: pooled). */
type PlottedResult = ReturnType<typeof plottedResults>[number];

function common(run: PlotRun, r: PlottedResult, m: JobResult['metrics'][string], prefix: boolean) {
  return {
    series: prefix ? `${run.label}/${r.candidate}` : r.candidate,
    run: run.label,
    candidate: r.candidate,
    value: m.value as number,
    low: m.low,
    high: m.high,
    events: m.events,
    samples: m.samples,
    trials: r.trials,
    ...(r.repetitions === undefined ? {} : { repetitions: r.repetitions }),
    ...(skippedText(m.skipped) === '' ? {} : { skipped: skippedText(m.skipped) }),
  };
}

/** Rows of `stat` against the swept parameter `xPath`, over every run that sweeps it. */
export function chartRows(runs: readonly PlotRun[], xPath: string, stat: StatisticDescription): ChartRow[] {
  const prefix = runs.length > 1;
  const panelBy = panelPaths(runs, xPath);
  const rows: ChartRow[] = [];
  for (const run of runs) {
    for (const r of plottedResults(run.data)) {
      if (!(xPath in r.point)) continue;
      const m = resultStatistic(r, stat.name);
      if (m === undefined) continue;
      const p = plotted(m, stat);
      if (p === null) continue;
      const raw = r.point[xPath];
      rows.push({
        ...common(run, r, m, prefix),
        x: typeof raw === 'number' ? raw : JSON.stringify(raw),
        panel: panelOf(run, r.point, panelBy),
        ...p,
        marker: p.bound ? MARKER_BOUND : MARKER_ESTIMATE,
      });
    }
  }
  return rows;
}

/**
 * Rows of a trade-off figure: `yStat` against `xStat` at every point of every run, one curve per
 * series through its points in the order of the swept parameter `alongPath` (e.g. a swept
 * threshold; the sweep order when undefined or not numeric), panels by the other swept
 * parameters. The `value`, `low`, `high` and `events` fields are the y statistic's. A point
 * without an observed error in either statistic is a bound (its interval's upper end).
 */
export function tradeOffRows(runs: readonly PlotRun[], xStat: StatisticDescription, yStat: StatisticDescription, alongPath?: string): ChartRow[] {
  const prefix = runs.length > 1;
  const panelBy = alongPath === undefined ? [] : panelPaths(runs, alongPath);
  const rows: ChartRow[] = [];
  for (const run of runs) {
    plottedResults(run.data).forEach((r, index) => {
      const mx = resultStatistic(r, xStat.name);
      const my = resultStatistic(r, yStat.name);
      if (mx === undefined || my === undefined) return;
      const px = plotted(mx, xStat);
      const py = plotted(my, yStat);
      if (px === null || py === null) return;
      const along = alongPath === undefined ? undefined : r.point[alongPath];
      const bound = px.bound || py.bound;
      rows.push({
        ...common(run, r, my, prefix),
        x: px.y,
        xLow: px.yLow,
        xHigh: px.yHigh,
        panel: panelOf(run, r.point, panelBy),
        ...py,
        bound,
        marker: bound ? MARKER_BOUND : MARKER_ESTIMATE,
        order: typeof along === 'number' ? along : index,
      });
    });
  }
  return rows;
}
