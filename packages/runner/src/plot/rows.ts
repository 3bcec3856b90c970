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
import { shortName, sweptParams } from './params';
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

/** Rows of `stat` against the swept parameter `xPath`, over every run that sweeps it. */
export function chartRows(runs: readonly PlotRun[], xPath: string, stat: StatisticDescription): ChartRow[] {
  const prefix = runs.length > 1;
  const panelBy = panelPaths(runs, xPath);
  const rows: ChartRow[] = [];
  for (const run of runs) {
    for (const r of plottedResults(run.data)) {
      if (!(xPath in r.point)) continue;
      const m = resultStatistic(r, stat.name);
      if (m === undefined || m.value === null) continue;
      const raw = r.point[xPath];
      const x = typeof raw === 'number' ? raw : JSON.stringify(raw);
      const panel = panelBy
        .map((p) => {
          const v = p in r.point ? r.point[p] : getPath(run.data.spec, p);
          return `${shortName(p)}=${v === undefined ? '-' : JSON.stringify(v)}`;
        })
        .join(', ');
      let y: number | null;
      let yLow: number | null = null;
      let yHigh: number | null = null;
      let bound = false;
      if (stat.scale === 'log') {
        bound = m.value <= 0;
        y = bound ? positive(m.high) : m.value;
        if (!bound) {
          yLow = positive(m.low);
          yHigh = positive(m.high);
        }
      } else if (stat.decibel) {
        y = db(m.value);
        yLow = db(m.low);
        yHigh = db(m.high);
      } else {
        y = m.value;
        yLow = m.low;
        yHigh = m.high;
      }
      if (y === null) continue; // nothing drawable: a zero-width bound, or a non-positive mean in dB
      rows.push({
        series: prefix ? `${run.label}/${r.candidate}` : r.candidate,
        run: run.label,
        candidate: r.candidate,
        x,
        panel,
        y,
        yLow,
        yHigh,
        bound,
        marker: bound ? MARKER_BOUND : MARKER_ESTIMATE,
        value: m.value,
        low: m.low,
        high: m.high,
        events: m.events,
        samples: m.samples,
        trials: r.trials,
        ...(r.repetitions === undefined ? {} : { repetitions: r.repetitions }),
        ...(skippedText(m.skipped) === '' ? {} : { skipped: skippedText(m.skipped) }),
      });
    }
  }
  return rows;
}
