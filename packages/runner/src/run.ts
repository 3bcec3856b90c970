/**
 * Run a spec: plan -> train -> engine -> results, the programmatic form of `gfra run`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { GfraUserError, selectBackend, type BackendChoice, type BackendSelection } from '@gfra/core';
import { inlineExecutor, poolExecutor } from './engine/executors';
import type { ProgressEvent } from './engine/events';
import type { LoadedSpec } from './plan/load';
import type { PlannedJob } from './plan/plan';
import {
  defaultOutDir,
  prepareOutputDir,
  RESULTS_FORMAT_VERSION,
  writeResults,
  type JobFailure,
  type JobResult,
  type ResultsFile,
  type StatisticRecord,
} from './results/format';
import { ensureTrained, untrainedWarnings, type TrainingEvent } from './train/train';

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
  /** Worker threads; 1 (the default) runs the jobs in this thread. */
  readonly workers?: number;
  /** Trained artifacts directory (default .gfra/artifacts). */
  readonly artifacts?: string;
  /** Train again even when a trained artifact exists. */
  readonly retrain?: boolean;
  /** Progress of the training that precedes the evaluation of trained candidates. */
  readonly onTraining?: (event: TrainingEvent) => void;
}

export interface RunOutput {
  readonly results: ResultsFile;
  readonly resultsFile: string;
  readonly backend: BackendSelection;
  /**
   * Whether this run wrote resultsFile: false when it had no result to write and an earlier
   * run's results.json was there (that file is kept as it was).
   */
  readonly written: boolean;
}

function environment(backend: BackendSelection): Record<string, string> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const gfra = require('../package.json') as { version: string };
  return {
    gfra: gfra.version,
    node: process.version,
    tfjs: tf.version_core,
    backend: backend.backend,
    backendProvider: backend.provider,
    platform: `${process.platform}-${process.arch}`,
  };
}

/**
 * Run every (point, candidate) of a loaded spec, writing results.json after each one. The output
 * folder is checked before any work; results.json is first written when the run has its first
 * result (an earlier run's file stays until then). A job that throws is recorded in `failures`
 * and the others still run.
 */
export async function runSpec(loaded: LoadedSpec, options: RunOptions = {}): Promise<RunOutput> {
  const { validated, registry } = loaded;
  const { spec } = validated;
  const only = options.candidates;
  if (only !== undefined) {
    const unknown = only.filter((c) => !Object.hasOwn(spec.candidates, c));
    if (unknown.length > 0) {
      throw new GfraUserError(`Unknown candidate${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => `"${c}"`).join(', ')}. The spec has: ${Object.keys(spec.candidates).join(', ')}`);
    }
  }
  const jobs = loaded.jobs.filter((job) => only === undefined || only.includes(job.candidate));
  const workers = Math.min(checkWorkers(options.workers, jobs.length), Math.max(1, jobs.length));
  const warn = (message: string) => options.onProgress?.({ type: 'warning', message });
  const outDir = options.out ?? defaultOutDir(spec.name, warn);
  prepareOutputDir(outDir);
  const backend = await selectBackend(options.backend ?? 'auto');
  const resultsFile = path.join(outDir, 'results.json');
  const byPosition: (JobResult | undefined)[] = [];
  const failedAt: (JobFailure | undefined)[] = [];
  const results: JobResult[] = [];
  const failures: JobFailure[] = [];
  const statistics = statisticRecords(jobs);
  const snapshot = (complete: boolean): ResultsFile => ({
    format: RESULTS_FORMAT_VERSION,
    name: spec.name,
    seed: spec.seed,
    specHash: validated.hash,
    backend: backend.backend,
    spec,
    results,
    complete,
    environment: environment(backend),
    statistics,
    ...(failures.length > 0 ? { failures } : {}),
  });
  // Train what is missing (or reuse the cached artifacts), then evaluate with those weights.
  for (const message of untrainedWarnings(jobs)) warn(message);
  const trained = await ensureTrained(
    loaded,
    jobs,
    { artifacts: options.artifacts, retrain: options.retrain, onProgress: options.onTraining, signal: options.signal },
  );
  const executorJobs = jobs.map((job, position) => ({ job, artifact: trained.get(position)?.dir }));
  const executor = workers === 1 ? inlineExecutor : poolExecutor(workers);
  const context = {
    registry,
    jobs: executorJobs,
    onProgress: options.onProgress,
    signal: options.signal,
    pluginModules: loaded.pluginModules,
    specFile: validated.file,
    backend: options.backend ?? 'auto',
  };
  let written = false;
  for await (const done of executor(context)) {
    if (done.failure !== undefined) failedAt[done.position] = done.failure;
    else {
      const training = trained.get(done.position);
      byPosition[done.position] = training === undefined ? done.result : { ...done.result, training };
    }
    // Results and failures in spec order, whatever order the jobs finished in.
    results.splice(0, results.length, ...byPosition.filter((r): r is JobResult => r !== undefined));
    failures.splice(0, failures.length, ...failedAt.filter((f): f is JobFailure => f !== undefined));
    if (results.length > 0) {
      writeResults(resultsFile, snapshot(false));
      written = true;
    }
  }
  const complete = results.length === jobs.length && results.every((r) => r.stop !== 'interrupted');
  const final = snapshot(complete);
  // A run without a single result (every job failed, or Ctrl-C before the first batch) never
  // replaces an earlier run's results.json; it writes one only where there was none.
  if (written || !fs.existsSync(resultsFile)) {
    writeResults(resultsFile, final);
    written = true;
  }
  return { results: final, resultsFile, backend, written };
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
      if (!out.has(s.name)) out.set(s.name, { name: s.name, kind: s.kind, description: s.description, decibel: s.decibel === true });
    }
  }
  return [...out.values()];
}
