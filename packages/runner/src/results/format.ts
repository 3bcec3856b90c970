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
 * plus `complete` (true only when every planned (point, candidate) has a finished result: false
 * while running, after an interruption, or when a job failed), `stop` per result (`interrupted`
 * for the partial result of a job stopped by Ctrl-C), `detectorTime` (decode-only wall clock) and,
 * where configured, `training` and `threshold` per result, `environment` (versions, backend
 * provider), `statistics` (what each statistic is, from the metrics' descriptors) and, when a job
 * threw, `failures`: [{ "candidate", "point", "message", "plugin"?, "path"?, "internal"? }] (the
 * sweep goes on without it). Fields are only ever added.
 *
 * The file is written atomically (temporary file, fsync, rename, fsync of the folder) and only
 * once a run has a result, so an earlier run's file stays until then.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GfraUserError, type LossPoint, type StatisticKind, type StopReason, type StatisticResult } from '@gfra/core';
import { canonicalJson } from '../spec/canonical';
import type { Spec } from '../spec/schema';

/** The `format` field of results.json. */
export const RESULTS_FORMAT_VERSION = 1;

/** One (point, candidate) result, as stored in results.json. */
export interface JobResult {
  readonly candidate: string;
  readonly point: Readonly<Record<string, unknown>>;
  /** With `montecarlo.repetitions` > 1: which repetition (0-based); absent otherwise. */
  readonly repetition?: number;
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
  /**
   * Oracle knowledge the detector was given (e.g. `trueActivity`): the result is a bound, not a
   * receiver; tables mark the candidate. Absent for real receivers.
   */
  readonly oracle?: readonly string[];
  /** Trials left out of every statistic because the detector returned a non-finite output (absent when none). */
  readonly nonFiniteTrials?: number;
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
  /** A rate-sum: the rate statistics it adds (absent otherwise, and in files written before it existed). */
  readonly parts?: readonly string[];
}

/**
 * A (point, candidate) whose job threw (`failures` of results.json): it has no result, and the
 * sweep went on without it.
 */
export interface JobFailure {
  readonly candidate: string;
  readonly point: Readonly<Record<string, unknown>>;
  /** With `montecarlo.repetitions` > 1: which repetition failed. */
  readonly repetition?: number;
  /** What went wrong, e.g. `[detector:x] candidates.c.detector: detect failed: not positive definite`. */
  readonly message: string;
  /** The plugin that threw (`detector:mmv-amp`), when a plugin did. */
  readonly plugin?: string;
  /** The spec path of that plugin's configuration. */
  readonly path?: string;
  /** True for an error of gfra itself (a bug to report) rather than of the spec, a plugin or a file. */
  readonly internal?: boolean;
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
  /** Jobs that threw, in spec order (absent when none did, and in files written before it existed). */
  readonly failures?: readonly JobFailure[];
  /** With `montecarlo.repetitions` > 1: per (point, candidate), the across-repetition summary. */
  readonly pooled?: readonly PooledResult[];
}

/** One statistic over the repetitions of a (point, candidate) (`pooled[i].metrics` of results.json). */
export interface PooledStatistic {
  /** Mean of the per-repetition values (each repetition weighs the same). */
  readonly value: number | null;
  /** Student-t interval over repetitions (R - 1 degrees of freedom), at `montecarlo.confidence`; null with one repetition. */
  readonly low: number | null;
  readonly high: number | null;
  /** Sample standard deviation across repetitions: the spread over run-level draws. */
  readonly sd: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** Repetitions with a value. */
  readonly repetitions: number;
}

/** The repetitions of one (point, candidate) pooled (`pooled` of results.json). */
export interface PooledResult {
  readonly candidate: string;
  readonly point: Readonly<Record<string, unknown>>;
  /** Repetitions with a result. */
  readonly repetitions: number;
  /** Trials over every repetition. */
  readonly trials: number;
  readonly metrics: Record<string, PooledStatistic>;
}

/** The output folder or results.json cannot be used or written; the message names the path, the errno and a fix. */
export class OutputError extends GfraUserError {
  override readonly name = 'OutputError';
}

/** What an errno means for a file we write, in words. */
function errnoText(err: unknown): string {
  const code = (err as { code?: string }).code ?? 'error';
  const words: Record<string, string> = {
    ENOSPC: 'the disk is full',
    EDQUOT: 'the disk quota is used up',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'the file system is read-only',
    EISDIR: 'it is a folder',
    ENOTDIR: 'a part of the path is a file, not a folder',
    ENAMETOOLONG: 'a name in the path is too long',
    ELOOP: 'too many symbolic links',
  };
  return `${words[code] ?? (err instanceof Error ? err.message.replace(/^[A-Z]+: /, '') : String(err))} (${code})`;
}

/** The fix for a write that failed with `err`. */
function errnoFix(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'Free some space, or choose a folder on another disk with --out';
  if (code === 'ENAMETOOLONG') return 'Choose a shorter --out';
  return 'Choose a folder you can write to with --out';
}

/** Results folder names are cut to this many characters (file systems allow 255 bytes). */
export const MAX_OUT_NAME = 200;

/**
 * The default output folder of a spec, `runs/<name>`; a name over {@link MAX_OUT_NAME}
 * characters is shortened (its start plus a hash, so different names stay apart) and `warn` says so.
 */
export function defaultOutDir(name: string, warn: (message: string) => void): string {
  if (Buffer.byteLength(name) <= MAX_OUT_NAME) return path.join('runs', name);
  const short = `${name.slice(0, 100)}-${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
  warn(`the spec name is ${name.length} characters long; its results go to ${path.join('runs', short)} (folder names over ${MAX_OUT_NAME} characters are shortened; --out chooses the folder)`);
  return path.join('runs', short);
}

/**
 * Check the output folder before any work: refuse '' and a path that is a file, create the
 * folder one level at a time (never a recursive mkdir, which loops on /proc), make sure
 * DIR/results.json is not a folder, and write, sync and remove a probe file to check that the
 * folder is writable and the disk not full. Throws {@link OutputError}.
 */
export function prepareOutputDir(dir: string): void {
  if (dir.trim() === '') throw new OutputError(`--out is empty. Name the output folder, e.g. --out runs/NAME (--out . for the current folder)`);
  const missing: string[] = [];
  const resolved = path.resolve(dir);
  for (let at = resolved; ; ) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(at);
    } catch (err) {
      const code = (err as { code?: string }).code;
      const parent = path.dirname(at);
      if (code === 'ENOENT' && parent !== at) {
        missing.unshift(at);
        at = parent;
        continue;
      }
      throw new OutputError(`Cannot use --out ${dir}: ${at === resolved ? '' : `${at}: `}${errnoText(err)}. ${errnoFix(err)}`);
    }
    if (!stat.isDirectory()) {
      throw new OutputError(
        at === resolved
          ? `--out ${dir} is a file, not a folder. Name a folder (it is created if missing), or remove the file`
          : `Cannot use --out ${dir}: ${at} is a file, not a folder. Choose another --out`,
      );
    }
    break;
  }
  for (const folder of missing) {
    try {
      fs.mkdirSync(folder);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'EEXIST' && fs.statSync(folder).isDirectory()) continue; // created meanwhile
      const why = code === 'ENOENT' ? `its file system does not allow new folders (ENOENT)` : errnoText(err);
      throw new OutputError(`Cannot create the output folder ${folder}: ${why}. ${errnoFix(err)}`);
    }
  }
  const file = path.join(dir, 'results.json');
  const existing = statOrUndefined(file);
  if (existing !== undefined && !existing.isFile()) {
    throw new OutputError(`${file} is ${existing.isDirectory() ? 'a folder' : 'not a regular file'}; results.json must be a file. Remove it, or choose another --out`);
  }
  const probe = path.join(dir, `.gfra-write-test-${process.pid}`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(probe, 'wx');
    fs.writeSync(fd, Buffer.alloc(4096, 32));
    fs.fsyncSync(fd);
  } catch (err) {
    throw new OutputError(`Cannot write to the output folder ${dir}: ${errnoText(err)}. ${errnoFix(err)}`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(probe, { force: true });
  }
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Write results.json atomically: a temporary file beside it, fsync, rename over the old file,
 * fsync of the folder; the temporary file is removed when anything fails, and the error (an
 * {@link OutputError}) names the file, the errno and a fix. An earlier results.json stays
 * whole until the rename.
 */
export function writeResults(file: string, results: ResultsFile): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeFileSync(fd, `${JSON.stringify(results, null, 2)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new OutputError(`Cannot write ${file}: ${errnoText(err)}. ${errnoFix(err)}`);
  }
  syncFolder(path.dirname(file));
}

/** fsync a folder so that a rename in it survives a crash (not supported everywhere: then skipped). */
function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some systems cannot open or sync folders (Windows); the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** One (point, candidate): what the repetitions of a job and their pooled row share. */
export function pointCandidateKey(r: { readonly candidate: string; readonly point: Readonly<Record<string, unknown>> }): string {
  return `${r.candidate}\u0000${canonicalJson(r.point)}`;
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
 * The swept keys worth a column, in first-seen order: a key whose values equal, point by point,
 * those of an earlier key with the same last segment (coupled keys that set one parameter in
 * several slots, e.g. `channel.params.ebN0Db` and a candidate's override of it) is shown once.
 */
export function shownPointKeys(points: readonly Readonly<Record<string, unknown>>[]): string[] {
  const keys = [...new Set(points.flatMap((p) => Object.keys(p)))];
  const shown: string[] = [];
  for (const key of keys) {
    const last = key.split('.').pop();
    const same = shown.some((k) => k.split('.').pop() === last && points.every((p) => JSON.stringify(p[k]) === JSON.stringify(p[key])));
    if (!same) shown.push(key);
  }
  return shown;
}

/** The display label of every candidate of a spec that has one (`label`), by key. */
export function candidateLabels(spec: { readonly candidates: Readonly<Record<string, { readonly label?: string }>> }): Record<string, string> {
  return Object.fromEntries(Object.entries(spec.candidates).flatMap(([name, c]) => (c.label === undefined ? [] : [[name, c.label]])));
}

/**
 * A plain-text table: candidate, swept values, trials, the detector's mean time per trial in
 * milliseconds (decoding only, warm-up batch excluded; `-` when a single batch ran), then
 * value [low, high] per statistic. Jobs that failed follow, with `failed` for their trials. With
 * repetitions, a `rep` column, and after the repetitions of each (point, candidate) its pooled
 * row (`mean`: the across-repetition mean [t-interval] and, after `sd`, the spread). Candidates
 * appear under their `labels` (a spec's `label`s, {@link candidateLabels}); coupled swept keys once
 * ({@link shownPointKeys}).
 */
export function formatTable(
  results: readonly JobResult[],
  failures: readonly JobFailure[] = [],
  pooled: readonly PooledResult[] = [],
  options: { readonly labels?: Readonly<Record<string, string>> } = {},
): string {
  if (results.length === 0 && failures.length === 0) return '(no results)';
  const all = [...results, ...failures];
  const pointKeys = shownPointKeys(all.map((r) => r.point));
  const statNames = [...new Set(results.flatMap((r) => Object.keys(r.metrics)))];
  const repeated = all.some((r) => r.repetition !== undefined);
  const label = (candidate: string) => options.labels?.[candidate] ?? candidate;
  const header = ['candidate', ...pointKeys.map((k) => k.split('.').pop() as string), ...(repeated ? ['rep'] : []), 'trials', 'detect ms', ...statNames];
  const point = (r: { point: Readonly<Record<string, unknown>> }) => pointKeys.map((k) => (k in r.point ? JSON.stringify(r.point[k]) : ''));
  const rep = (r: JobResult | JobFailure) => (repeated ? [r.repetition === undefined ? '' : String(r.repetition)] : []);
  const interval = (m: { value: number | null; low: number | null; high: number | null } | undefined) =>
    m === undefined ? '' : `${formatNumber(m.value)} [${formatNumber(m.low)}, ${formatNumber(m.high)}]`;
  const rows: string[][] = [];
  const pooledBy = new Map(pooled.map((p) => [pointCandidateKey(p), p]));
  results.forEach((r, i) => {
    rows.push([
      r.oracle === undefined ? label(r.candidate) : `${label(r.candidate)} (oracle)`,
      ...point(r),
      ...rep(r),
      String(r.trials),
      r.detectorTime === undefined ? '-' : formatNumber(r.detectorTime.msPerTrial),
      ...statNames.map((s) => interval(r.metrics[s])),
    ]);
    // The pooled row after the last repetition of its (point, candidate).
    const p = pooledBy.get(pointCandidateKey(r));
    if (p !== undefined && (i + 1 === results.length || pointCandidateKey(results[i + 1]) !== pointCandidateKey(r))) {
      rows.push([
        label(p.candidate),
        ...point(p),
        `mean of ${p.repetitions}`,
        String(p.trials),
        '',
        ...statNames.map((s) => {
          const m = p.metrics[s];
          return m === undefined ? '' : `${interval(m)} sd ${formatNumber(m.sd)}`;
        }),
      ]);
    }
  });
  for (const f of failures) rows.push([label(f.candidate), ...point(f), ...rep(f), 'failed', '-', ...statNames.map(() => '-')]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** `5 undefined (by definition), 2 non-finite`: the trials a statistic left out, in words ('' when none). */
export function skippedText(skipped: { readonly undefined: number; readonly nonFinite: number } | undefined): string {
  if (skipped === undefined) return '';
  const parts = [
    ...(skipped.undefined > 0 ? [`${skipped.undefined} undefined by definition`] : []),
    ...(skipped.nonFinite > 0 ? [`${skipped.nonFinite} non-finite`] : []),
  ];
  return parts.join(', ');
}

/**
 * One line per (point, candidate) whose statistics left trials out (`skipped`), for under the
 * table: which statistic, how many trials and why. Empty when none did.
 */
export function skippedLines(results: readonly JobResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    const parts = Object.entries(r.metrics)
      .map(([name, m]) => [name, skippedText(m.skipped)] as const)
      .filter(([, text]) => text !== '')
      .map(([name, text]) => `${name}: ${text}`);
    if (parts.length === 0) continue;
    const point = Object.entries(r.point).map(([k, v]) => `${k.split('.').pop()}=${JSON.stringify(v)}`);
    const rep = r.repetition === undefined ? '' : ` repetition ${r.repetition}`;
    lines.push(`trials left out, "${r.candidate}"${point.length > 0 ? ` at ${point.join(', ')}` : ''}${rep}: ${parts.join('; ')}`);
  }
  return lines;
}

/** `energy at numAntennas=2: [detector:x] ...`: one failed job, for summaries. */
export function failureLine(f: JobFailure): string {
  const entries = Object.entries(f.point);
  const at = entries.length === 0 ? '' : ` at ${entries.map(([k, v]) => `${k.split('.').pop()}=${JSON.stringify(v)}`).join(', ')}`;
  const rep = f.repetition === undefined ? '' : ` (repetition ${f.repetition})`;
  return `"${f.candidate}"${at}${rep}: ${f.message}`;
}
