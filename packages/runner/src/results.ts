/**
 * results.json — the stable output format other tools read:
 *
 * { "name", "seed", "specHash", "backend", "spec": <resolved spec>,
 *   "results": [ { "candidate", "point": { "<param path>": value }, "trials", "seconds",
 *                  "metrics": { "<statistic>": { "value", "low", "high", "events", "samples" } } } ] }
 *
 * plus `complete` (false while running or after an interruption), `stop` per result,
 * `detectorTime` (decode-only wall clock) and, where configured, `training` and `threshold` per
 * result, and `environment` (versions, backend provider). Fields are only ever added.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { JobResult } from './montecarlo';
import type { Spec } from './spec-schema';

export const RESULTS_FORMAT_VERSION = 1;

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
