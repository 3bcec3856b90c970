/**
 * Run a spec: plan -> train -> engine -> results, the programmatic form of `gfra run`.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { GfraUserError, selectBackend, type BackendChoice, type BackendSelection } from '@gfra/core';
import { inlineExecutor, poolExecutor } from './engine/executors';
import type { ProgressEvent } from './engine/events';
import type { LoadedSpec } from './plan/load';
import type { PlannedJob } from './plan/plan';
import { RESULTS_FORMAT_VERSION, writeResults, type JobResult, type ResultsFile, type StatisticRecord } from './results/format';
import { ensureTrained, untrainedWarnings, type TrainingEvent } from './train/train';

export interface RunOptions {
  /** Output directory for results.json (default runs/<spec name>). */
  readonly out?: string;
  readonly backend?: BackendChoice;
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Abort between batches; the partial results are written with complete: false. */
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

/** Run every (point, candidate) of a loaded spec, writing results.json after each one. */
export async function runSpec(loaded: LoadedSpec, options: RunOptions = {}): Promise<RunOutput> {
  const { validated, registry } = loaded;
  const { spec } = validated;
  const only = options.candidates;
  if (only !== undefined) {
    const unknown = only.filter((c) => !(c in spec.candidates));
    if (unknown.length > 0) {
      throw new GfraUserError(`Unknown candidate${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => `"${c}"`).join(', ')}. The spec has: ${Object.keys(spec.candidates).join(', ')}`);
    }
  }
  const jobs = loaded.jobs.filter((job) => only === undefined || only.includes(job.candidate));
  const workers = Math.min(options.workers ?? 1, Math.max(1, jobs.length));
  if (!Number.isInteger(workers) || workers < 1) throw new GfraUserError(`--workers must be a positive integer (got ${workers})`);
  const backend = await selectBackend(options.backend ?? 'auto');
  const resultsFile = path.join(options.out ?? path.join('runs', spec.name), 'results.json');
  const byPosition: (JobResult | undefined)[] = [];
  const results: JobResult[] = [];
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
  });
  writeResults(resultsFile, snapshot(false));
  // Train what is missing (or reuse the cached artifacts), then evaluate with those weights.
  for (const message of untrainedWarnings(jobs)) options.onProgress?.({ type: 'warning', message });
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
  for await (const { position, result } of executor(context)) {
    const training = trained.get(position);
    byPosition[position] = training === undefined ? result : { ...result, training };
    // Results in spec order, whatever order the jobs finished in.
    results.splice(0, results.length, ...byPosition.filter((r): r is JobResult => r !== undefined));
    writeResults(resultsFile, snapshot(false));
  }
  const complete = results.length === jobs.length && results.every((r) => r.stop !== 'interrupted');
  const final = snapshot(complete);
  writeResults(resultsFile, final);
  return { results: final, resultsFile, backend };
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
