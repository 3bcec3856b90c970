/**
 * Run a spec: plan -> train -> engine -> results, the programmatic form of `gfra run`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { blas, GfraUserError, selectBackend, type BackendChoice, type BackendSelection } from '@gfra/core';
import { wasmDescription } from '@gfra/plugins-detectors';
import { inlineExecutor, poolExecutor } from './engine/executors';
import type { ProgressEvent } from './engine/events';
import type { LoadedSpec } from './plan/load';
import type { PlannedJob } from './plan/plan';
import { lockFolder } from './results/lock';
import { poolRepetitions } from './results/repetitions';
import { jobKeyString, ResultsStore, type BatchRecord, type JobKey, type StoredJob } from './results/store';
import { jobFailure } from './engine/montecarlo';
import {
  defaultOutDir,
  failureLine,
  prepareOutputDir,
  RESULTS_FORMAT_VERSION,
  writeResults,
  type JobFailure,
  type JobResult,
  type ResultsFile,
  type StatisticRecord,
} from './results/format';
import { ensureTrained, trainingKey, untrainedWarnings, type TrainingEvent } from './train/train';

export interface RunOptions {
  /** Output directory for results.json (default runs/<spec name>, the name shortened past 200 characters). */
  readonly out?: string;
  readonly backend?: BackendChoice;
  readonly onProgress?: (event: ProgressEvent) => void;
  /**
   * Abort at the next batch boundary (inline and in workers); the partial results are written
   * with complete: false, each stopped job with stop `interrupted`.
   */
  readonly signal?: AbortSignal;
  /** Only these candidates (default: all). */
  readonly candidates?: readonly string[];
  /**
   * Worker threads of the pool executor; 1 (the default) runs the jobs in this thread. `auto`
   * (the CLI's default): one per core, at most one per job, when the run has at least 2 jobs to
   * run and at least {@link AUTO_POOL_MIN_TRIALS} trials planned for them, else this thread (see
   * {@link autoWorkers}).
   */
  readonly workers?: number | 'auto';
  /**
   * Where the jobs run: `inline` (this thread), `pool` (worker threads; `workers` of them, default
   * one per core) or `bullmq` (`gfra worker` processes on any machine, through Redis at `redis`).
   * Default: `pool` when `workers` > 1, else `inline`.
   */
  readonly executor?: ExecutorName;
  /** The Redis URL of the bullmq executor (redis://host:port[/db]). */
  readonly redis?: string;
  /** Trained artifacts directory (default .gfra/artifacts). */
  readonly artifacts?: string;
  /** Train again even when a trained artifact exists. */
  readonly retrain?: boolean;
  /** Progress of the training that precedes the evaluation of trained candidates. */
  readonly onTraining?: (event: TrainingEvent) => void;
  /** When another run holds the output folder: wait for it (default: refuse, a FolderLocked error). */
  readonly wait?: boolean;
}

export type ExecutorName = 'inline' | 'pool' | 'bullmq';
export const EXECUTOR_NAMES: readonly ExecutorName[] = ['inline', 'pool', 'bullmq'];

export interface RunOutput {
  readonly results: ResultsFile;
  readonly resultsFile: string;
  readonly backend: BackendSelection;
  /**
   * Whether this run wrote resultsFile: false when it had no result to write and an earlier
   * run's results.json was there (that file is kept as it was).
   */
  readonly written: boolean;
  /** The jobs this run found finished in the store (not run again), and those it resumed. */
  readonly reused: number;
  readonly resumed: number;
}

function environment(backend: BackendSelection): Record<string, string> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const gfra = require('../package.json') as { version: string };
  return {
    gfra: gfra.version,
    ...gitCommit(),
    node: process.version,
    tfjs: tf.version_core,
    backend: backend.backend,
    backendProvider: backend.provider,
    platform: `${process.platform}-${process.arch}`,
    os: `${os.type()} ${os.release()}`,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: String(os.availableParallelism()),
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    blas: blas().description,
    kernels: wasmDescription(),
  };
}

let commit: Record<string, string> | undefined;

/**
 * The git commit of the gfra checkout that ran (`commit`, with `+modified` when it has local
 * changes); nothing when it is not a git checkout or git is missing.
 */
function gitCommit(): Record<string, string> {
  if (commit !== undefined) return commit;
  const root = path.resolve(__dirname, '..', '..', '..');
  const git = (...args: string[]) => spawnSync('git', ['-C', root, ...args], { encoding: 'utf8', timeout: 5000 });
  const head = git('rev-parse', 'HEAD');
  if (head.status !== 0 || !/^[0-9a-f]{40}$/.test(head.stdout.trim())) return (commit = {});
  const status = git('status', '--porcelain', '--untracked-files=no');
  return (commit = { commit: `${head.stdout.trim()}${status.status === 0 && status.stdout.trim() !== '' ? '+modified' : ''}` });
}

/**
 * Run every (point, candidate) of a loaded spec, writing results.json after each one. The output
 * folder is checked before any work, then locked (one run per folder: another run's lock is
 * refused, a FolderLocked error, or waited for with `wait`). Every batch is committed to the
 * folder's results store (results.duckdb) before the next starts; a rerun of the same spec reuses
 * its finished jobs and resumes the others after their stored batches (bit-identical numbers), a
 * changed spec is said and kept apart. results.json is derived from the store (every job of the
 * spec, whichever run computed it) and first written when there is a result (an earlier run's
 * file stays until then). A job that throws is recorded in `failures` and the others still run.
 */
export async function runSpec(loaded: LoadedSpec, options: RunOptions = {}): Promise<RunOutput> {
  const { validated } = loaded;
  const { spec } = validated;
  const only = options.candidates;
  if (only !== undefined) {
    const unknown = only.filter((c) => !Object.hasOwn(spec.candidates, c));
    if (unknown.length > 0) {
      throw new GfraUserError(`Unknown candidate${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => `"${c}"`).join(', ')}. The spec has: ${Object.keys(spec.candidates).join(', ')}`);
    }
  }
  const jobs = loaded.jobs.filter((job) => only === undefined || only.includes(job.candidate));
  const executor = checkExecutor(options, jobs.length);
  const auto = options.workers === 'auto' && options.executor === undefined;
  const requested = options.workers === 'auto' ? undefined : options.workers;
  const workers = executor === 'pool' ? Math.min(checkWorkers(requested ?? os.availableParallelism(), jobs.length), Math.max(1, jobs.length)) : auto ? 'auto' : 1;
  const warn = (message: string) => options.onProgress?.({ type: 'warning', message });
  const outDir = options.out ?? defaultOutDir(spec.name, warn);
  prepareOutputDir(outDir);
  const lock = await lockFolder(outDir, { wait: options.wait, onWait: (message) => options.onProgress?.({ type: 'note', message }) });
  let store: ResultsStore | undefined;
  try {
    store = await ResultsStore.open(outDir);
    return await runInto(loaded, jobs, executor, workers, outDir, store, options);
  } finally {
    store?.close();
    lock.release();
  }
}

const keyOf = (job: PlannedJob): JobKey => ({ candidate: job.candidate, point: job.point, repetition: job.repetition });

/** The rest of runSpec, with the output folder locked and its store open. */
async function runInto(
  loaded: LoadedSpec,
  jobs: readonly PlannedJob[],
  executorName: ExecutorName,
  workers: number | 'auto',
  outDir: string,
  store: ResultsStore,
  options: RunOptions,
): Promise<RunOutput> {
  const { validated, registry } = loaded;
  const { spec } = validated;
  const hash = validated.hash;
  const warn = (message: string) => options.onProgress?.({ type: 'warning', message });
  const note = (message: string) => options.onProgress?.({ type: 'note', message });
  const backend = await selectBackend(options.backend ?? 'auto');
  blasNotice(warn);
  const resultsFile = path.join(outDir, 'results.json');
  const distributed =
    executorName === 'bullmq'
      ? (await import('./distributed/coordinator')).bullmqExecutor({ redis: options.redis as string, specHash: hash, specName: spec.name, allJobs: loaded.jobs })
      : undefined;
  // `--workers auto` is decided below, once the jobs to run are known
  let threads = workers === 'auto' ? 1 : workers;
  const executorEnvironment = (): Record<string, string> =>
    distributed?.environment() ?? { executor: threads > 1 ? `pool (${threads} worker threads${workers === 'auto' ? ', --workers auto' : ''})` : 'inline' };

  // What the store holds: this spec's finished jobs and committed batches, and other specs.
  const specs = await store.specs();
  const previous = specs.find((s) => s.hash !== hash);
  if (!specs.some((s) => s.hash === hash) && previous !== undefined) {
    warn(
      `the spec changed since the last run into ${outDir} (spec ${previous.hash.slice(0, 12)}, "${previous.name}", ${previous.updated.toISOString()}): ` +
        `${specChanges(previous.spec, JSON.parse(JSON.stringify(spec)) as unknown)}. Its results are kept apart in the store (gfra results ls ${outDir}); this run starts afresh`,
    );
  }
  await store.beginSpec(hash, spec.name, spec, loaded.jobs.length);
  const stored = await store.jobs(hash);
  const batches = await store.batches(hash);

  // Results and failures by plan position, over every job of the spec (all candidates): the
  // store's, then this run's.
  const all = loaded.jobs;
  const positionOf = new Map(all.map((job, position) => [jobKeyString(keyOf(job)), position]));
  const byPosition: (JobResult | undefined)[] = [];
  const failedAt: (JobFailure | undefined)[] = [];
  for (const [position, job] of all.entries()) {
    const s = stored.get(jobKeyString(keyOf(job)));
    if (s?.result !== undefined) byPosition[position] = s.result;
    else if (s?.failure !== undefined) failedAt[position] = s.failure;
  }
  const results: JobResult[] = [];
  const failures: JobFailure[] = [];
  const collect = () => {
    results.splice(0, results.length, ...byPosition.filter((r): r is JobResult => r !== undefined));
    failures.splice(0, failures.length, ...failedAt.filter((f): f is JobFailure => f !== undefined));
  };
  collect();
  const statistics = statisticRecords(all);
  const isComplete = () => all.every((_, p) => byPosition[p] !== undefined && byPosition[p]?.stop !== 'interrupted');
  const snapshot = (complete: boolean): ResultsFile => ({
    format: RESULTS_FORMAT_VERSION,
    name: spec.name,
    seed: spec.seed,
    specHash: hash,
    backend: backend.backend,
    spec,
    results,
    complete,
    environment: { ...environment(backend), ...executorEnvironment() },
    statistics,
    ...(failures.length > 0 ? { failures } : {}),
    ...(spec.montecarlo.repetitions > 1 || results.some((r) => r.repetition !== undefined) ? { pooled: poolRepetitions(results, spec.montecarlo.confidence, new Set(statistics.filter((s) => s.kind === 'jain-index').map((s) => s.name))) } : {}),
  });

  // This run's jobs: those not finished in the store, each with its committed batches.
  const toRun = jobs.filter((job) => stored.get(jobKeyString(keyOf(job)))?.status !== 'done');
  const reused = jobs.length - toRun.length;
  const resumed = toRun.filter((job) => (batches.get(jobKeyString(keyOf(job)))?.length ?? 0) > 0);
  if (reused > 0 || resumed.length > 0) {
    const trials = resumed.reduce((n, job) => n + (batches.get(jobKeyString(keyOf(job))) ?? []).reduce((m, b) => m + b.count, 0), 0);
    note(
      `resuming from ${path.join(outDir, 'results.duckdb')}: ${reused} of ${jobs.length} jobs already done` +
        (resumed.length > 0 ? `, ${resumed.length} continue after their ${trials} stored trials` : ''),
    );
  }

  // Train what is missing (or reuse the cached artifacts), then evaluate with those weights.
  for (const message of untrainedWarnings(toRun)) warn(message);
  const perRepetition = toRun.filter((job) => job.training !== undefined && job.montecarlo.repetitions > 1 && job.training.block.shareAcrossRepetitions !== true);
  if (perRepetition.length > 0) {
    // Jobs that train identically (shared draws, same training configuration) share one model.
    const distinct = new Set(perRepetition.map((job) => trainingKey(loaded, job).key)).size;
    note(
      `${distinct} trainings: one per repetition of each trained (point, candidate) (its own initialisation and training data)` +
        `${distinct < perRepetition.length ? `, shared by the ${perRepetition.length} trained jobs that train identically` : ''}; ` +
        `"train": { "shareAcrossRepetitions": true } trains once and evaluates that model in every repetition`,
    );
  }
  // A training that throws fails its job (recorded like any failed job); the others go on.
  const trainingFailures = new Map<number, JobFailure>();
  const trainedAt = await ensureTrained(loaded, toRun, {
    artifacts: options.artifacts,
    retrain: options.retrain,
    onProgress: options.onTraining,
    signal: options.signal,
    onFailure: (i, err) => {
      const failure = jobFailure(toRun[i], err);
      const recorded = { ...failure, message: `training failed: ${failure.message}` };
      trainingFailures.set(i, recorded);
      warn(`${failureLine(recorded)} (the run goes on without it)`);
    },
  });
  for (const [i, failure] of trainingFailures) {
    const position = positionOf.get(jobKeyString(keyOf(toRun[i]))) as number;
    failedAt[position] = failure;
    byPosition[position] = undefined;
    collect();
    await store.putJob(hash, keyOf(toRun[i]), position, { status: 'failed', failure }, snapshot(isComplete()));
  }
  // The jobs to evaluate (those whose training did not fail), with their trained artifacts.
  const runnable = toRun.filter((_, i) => !trainingFailures.has(i));
  const trained = new Map([...trainedAt].map(([i, summary]) => [runnable.indexOf(toRun[i]), summary]));
  const executorJobs = runnable.map((job, i) => ({ job, artifact: trained.get(i)?.dir, resume: batches.get(jobKeyString(keyOf(job))) }));
  if (workers === 'auto') {
    threads = autoWorkers(executorJobs.map(({ job, resume }) => Math.max(0, job.montecarlo.maxTrials - (resume ?? []).reduce((n, b) => n + b.count, 0))));
    if (runnable.length > 0) note(threads > 1 ? `running the ${runnable.length} jobs on ${threads} worker threads (--workers auto; --workers 1 runs them in this thread)` : `running the jobs in this thread (--workers auto: ${autoReason(executorJobs.length)})`);
  }
  const executor = distributed?.executor ?? (threads <= 1 ? inlineExecutor : poolExecutor(Math.min(threads, Math.max(1, runnable.length))));
  // A store that cannot be written ends the run (after the batch in flight).
  const halt = new AbortController();
  let storeError: unknown;
  const signal = options.signal === undefined ? halt.signal : AbortSignal.any([options.signal, halt.signal]);
  const context = {
    registry,
    jobs: executorJobs,
    onProgress: options.onProgress,
    signal,
    pluginModules: loaded.pluginModules,
    specFile: validated.file,
    backend: options.backend ?? 'auto',
    onBatch: async (i: number, record: BatchRecord) => {
      try {
        await store.addBatch(hash, keyOf(runnable[i]), record);
      } catch (err) {
        storeError ??= err;
        halt.abort();
        throw err;
      }
    },
  };
  let written = false;
  const write = (complete: boolean) => {
    writeResults(resultsFile, snapshot(complete));
    written = true;
  };
  for await (const done of executor(context)) {
    if (storeError !== undefined) break;
    const job = runnable[done.position];
    const position = positionOf.get(jobKeyString(keyOf(job))) as number;
    let row: StoredJob;
    if (done.failure !== undefined) {
      failedAt[position] = done.failure;
      byPosition[position] = undefined;
      row = { status: 'failed', failure: done.failure };
    } else {
      const training = trained.get(done.position);
      const result = training === undefined ? done.result : { ...done.result, training };
      byPosition[position] = result;
      failedAt[position] = undefined;
      row = { status: result.stop === 'interrupted' ? 'interrupted' : 'done', result };
    }
    // Results and failures in spec order, whatever order the jobs finished in.
    collect();
    // The store first (one transaction: the job and the results it derives), then results.json.
    await store.putJob(hash, keyOf(job), position, row, snapshot(isComplete()));
    if (results.length > 0) write(false);
  }
  if (storeError !== undefined) throw storeError;
  const complete = isComplete();
  const final = snapshot(complete);
  await store.putResults(hash, final);
  // A run without a single result (every job failed, or Ctrl-C before the first batch) never
  // replaces an earlier run's results.json; it writes one only where there was none.
  if (written || results.length > 0 || !fs.existsSync(resultsFile)) write(complete);
  return { results: final, resultsFile, backend, written, reused, resumed: resumed.length };
}

/** What changed from spec `a` to spec `b`, in words: the paths that differ (at most 8). */
export function specChanges(a: unknown, b: unknown): string {
  const paths: string[] = [];
  const walk = (x: unknown, y: unknown, at: string) => {
    const object = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
    if (object(x) && object(y) && Array.isArray(x) === Array.isArray(y)) {
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) walk(x[k], y[k], at === '' ? k : `${at}.${k}`);
    } else if (JSON.stringify(x) !== JSON.stringify(y)) {
      paths.push(`${at || '(the whole spec)'}: ${JSON.stringify(x) ?? 'absent'} -> ${JSON.stringify(y) ?? 'absent'}`);
    }
  };
  walk(a, b, '');
  const shown = paths.slice(0, 8).map((p) => (p.length > 120 ? `${p.slice(0, 117)}...` : p));
  return paths.length === 0 ? 'only its description' : `${shown.join('; ')}${paths.length > 8 ? `; and ${paths.length - 8} more` : ''}`;
}

/** `--executor`, `--workers` and `--redis` together: which executor runs the jobs. */
function checkExecutor(options: RunOptions, jobs: number): ExecutorName {
  const name = options.executor ?? (typeof options.workers === 'number' && options.workers > 1 ? 'pool' : 'inline');
  if (!EXECUTOR_NAMES.includes(name)) throw new GfraUserError(`--executor must be one of ${EXECUTOR_NAMES.join(', ')} (got ${JSON.stringify(name)})`);
  if (name === 'bullmq') {
    if (options.redis === undefined) throw new GfraUserError('--executor bullmq needs --redis URL (e.g. --redis redis://127.0.0.1:6379): the Redis server the workers (gfra worker --redis URL) connect to');
    if (options.workers !== undefined) throw new GfraUserError('--workers is for the pool executor; with --executor bullmq the workers are `gfra worker --redis URL` processes, started on any machine');
  } else if (options.redis !== undefined) {
    throw new GfraUserError(`--redis is for --executor bullmq (this run uses --executor ${name})`);
  }
  if (name === 'inline' && options.executor !== undefined && options.workers === 'auto') {
    throw new GfraUserError('--executor inline runs the jobs in this thread: leave out --workers auto (or use --executor pool)');
  }
  if (name === 'inline' && typeof options.workers === 'number' && options.workers !== 1) {
    checkWorkers(options.workers, jobs);
    throw new GfraUserError(`--executor inline runs the jobs in this thread: leave out --workers ${options.workers} (or use --executor pool)`);
  }
  return name;
}

let blasNoticed = false;

/**
 * Once per process: where no native BLAS loads, the classical receivers' host kernels run on the
 * JavaScript path; say so, and how to get the fast path.
 */
function blasNotice(warn: (message: string) => void): void {
  const missing = blas().missing;
  if (blasNoticed || missing === undefined) return;
  blasNoticed = true;
  warn(missing);
}

/** Trials planned over the jobs to run below which `--workers auto` keeps them in this thread. */
export const AUTO_POOL_MIN_TRIALS = 2000;

/**
 * `--workers auto`: one worker thread per core, at most one per job, when there are at least 2
 * jobs to run and at least {@link AUTO_POOL_MIN_TRIALS} trials left to plan for them (each job's
 * maxTrials less its stored trials: an upper bound, event targets may stop it sooner); else 1
 * (this thread). A worker costs about a second to start (tfjs and the plugins load in it), which
 * a short run does not win back.
 *
 * @param trialsLeft per job to run: the trials it may still need
 */
export function autoWorkers(trialsLeft: readonly number[], cores = os.availableParallelism()): number {
  const total = trialsLeft.reduce((s, t) => s + t, 0);
  if (cores < 2 || trialsLeft.length < 2 || total < AUTO_POOL_MIN_TRIALS) return 1;
  return Math.min(cores, trialsLeft.length);
}

/** Why `--workers auto` ran in this thread, for the note. */
function autoReason(jobs: number): string {
  if (os.availableParallelism() < 2) return 'this machine has one core';
  if (jobs < 2) return 'one job to run';
  return `fewer than ${AUTO_POOL_MIN_TRIALS} trials planned`;
}

/** `--workers`: a positive integer (any count; more than the jobs or cores gains nothing). */
function checkWorkers(workers: number | undefined, jobs: number): number {
  if (workers === undefined) return 1;
  if (Number.isInteger(workers) && workers >= 1) return workers;
  const cores = os.availableParallelism();
  const useful = Math.max(1, Math.min(jobs, cores));
  throw new GfraUserError(
    `--workers must be a positive integer (got ${Number.isNaN(workers) ? 'not a number' : workers}). Use ${useful === 1 ? '1' : `1 to ${useful}`}: more than the ${jobs} job${jobs === 1 ? '' : 's'} of this run or the ${cores} core${cores === 1 ? '' : 's'} of this machine gains nothing, and 1 runs the jobs in this thread`,
  );
}

/** What each statistic of the planned jobs is, once per name, in first-planned order. */
function statisticRecords(jobs: readonly PlannedJob[]): StatisticRecord[] {
  const out = new Map<string, StatisticRecord>();
  for (const job of jobs) {
    for (const s of job.pipeline.statistics) {
      if (!out.has(s.name)) {
        out.set(s.name, { name: s.name, kind: s.kind, description: s.description, decibel: s.decibel === true, ...(s.parts === undefined ? {} : { parts: s.parts }) });
      }
    }
  }
  return [...out.values()];
}
