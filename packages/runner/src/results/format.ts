/**
 * results.json — the stable output format other tools read. This module is its one definition:
 * every type written to the file, the format version, the statistic descriptions (so that
 * plots and reports read results without the plugin registry), writing and the text table.
 *
 *
 * { "name", "seed", "specHash", "backend", "spec": <resolved spec>,
 *   "results": [ { "candidate", "point": { "<param path>": value }, "trials", "seconds",
 *                  "metrics": { "<statistic>": { "value", "low", "high", "events", "samples" } } } ] }
 *
 * plus `complete` (false while running or after an interruption), `stop` per result,
 * `detectorTime` (decode-only wall clock) and, where configured, `training` and `threshold` per
 * result, `environment` (versions, backend provider) and `statistics` (what each statistic is,
 * from the metrics' descriptors). Fields are only ever added.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LossPoint, StatisticKind, StopReason, StatisticResult } from '@gfra/core';
import type { Spec } from '../spec/schema';

/** The `format` field of results.json. */
export const RESULTS_FORMAT_VERSION = 1;

/** One (point, candidate) result, as stored in results.json. */
export interface JobResult {
  readonly candidate: string;
  readonly point: Readonly<Record<string, unknown>>;
  readonly trials: number;
  readonly seconds: number;
  readonly stop: StopReason;
  readonly metrics: Record<string, StatisticResult>;
  /** Candidates with a `train` block: the trained artifact used and its loss history. */
  readonly training?: TrainingSummary;
  /** Candidates with a `threshold` block: the fitted gamma* and its error rate on the fitting trials. */
  readonly threshold?: ThresholdSummary;
  /**
   * Wall-clock time of the detector alone (decoding; not sampling, the channel or the metrics),
   * over every evaluation batch but the first (a warm-up): total seconds, the trials they cover,
   * and the mean per trial in milliseconds. Absent when only one batch ran.
   */
  readonly detectorTime?: { readonly seconds: number; readonly trials: number; readonly msPerTrial: number };
  /** Numbers the detector reports about itself (e.g. learned priors), when it has any. */
  readonly diagnostics?: Readonly<Record<string, number>>;
}

/** The thresholding module of one (point, candidate), as stored in results.json. */
export interface ThresholdSummary {
  /** Declare a device active when its activityScore >= gamma. */
  readonly gamma: number;
  /** Training-domain trials it was fitted on. */
  readonly trials: number;
  /** (misses + false alarms) / (trials * N) on those trials, the paper's P_E(gamma*). */
  readonly fittedErrorRate: number;
}

/** What results.json records for a trained candidate (`results[i].training`). */
export interface TrainingSummary {
  /** The artifact's key: sha256 of everything that determined the weights. */
  readonly artifact: string;
  /** Its directory. */
  readonly dir: string;
  /** Whether an existing artifact was used (no training in this run). */
  readonly reused: boolean;
  readonly steps: number;
  readonly seconds: number;
  readonly stop: string;
  /** Mean training loss over the last logging interval. */
  readonly finalLoss: number;
  readonly bestValidationLoss?: number;
  readonly bestStep?: number;
  /** { step, loss, validationLoss? } about 100 times per phase, and at every validation. */
  readonly lossHistory: readonly LossPoint[];
}

/** What a statistic is (`statistics` of results.json), from its metric's descriptor. */
export interface StatisticRecord {
  readonly name: string;
  readonly kind: StatisticKind;
  /** One line, e.g. "missed-detection probability". */
  readonly description: string;
  /** Plot 10 log10(value) (NMSE-like means). */
  readonly decibel: boolean;
}

export interface ResultsFile {
  readonly format: number;
  readonly name: string;
  readonly seed: number;
  readonly specHash: string;
  readonly backend: string;
  readonly spec: Spec;
  readonly results: JobResult[];
  readonly complete: boolean;
  readonly environment: Readonly<Record<string, string>>;
  /** Every statistic the results report, described (absent in files written before it existed). */
  readonly statistics?: readonly StatisticRecord[];
}

/** Write atomically (temp file + rename), so an interrupted write never leaves a torn file. */
export function writeResults(file: string, results: ResultsFile): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${JSON.stringify(results, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/** 3 significant digits; exponent form for very small or large magnitudes. */
export function formatNumber(x: number | null): string {
  if (x === null || Number.isNaN(x)) return '-';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e5) return x.toExponential(2);
  return Number(x.toPrecision(3)).toString();
}

/**
 * A plain-text table: candidate, swept values, trials, the detector's mean time per trial in
 * milliseconds (decoding only, warm-up batch excluded; `-` when a single batch ran), then
 * value [low, high] per statistic.
 */
export function formatTable(results: readonly JobResult[]): string {
  if (results.length === 0) return '(no results)';
  const pointKeys = [...new Set(results.flatMap((r) => Object.keys(r.point)))];
  const statNames = [...new Set(results.flatMap((r) => Object.keys(r.metrics)))];
  const header = ['candidate', ...pointKeys.map((k) => k.split('.').pop() as string), 'trials', 'detect ms', ...statNames];
  const rows = results.map((r) => [
    r.candidate,
    ...pointKeys.map((k) => (k in r.point ? JSON.stringify(r.point[k]) : '')),
    String(r.trials),
    r.detectorTime === undefined ? '-' : formatNumber(r.detectorTime.msPerTrial),
    ...statNames.map((s) => {
      const m = r.metrics[s];
      if (m === undefined) return '';
      return `${formatNumber(m.value)} [${formatNumber(m.low)}, ${formatNumber(m.high)}]`;
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
