/**
 * Load, validate and run a spec: the programmatic form of `gfra validate` and `gfra run`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { GfraUserError, selectBackend, SpecError, type BackendChoice, type BackendSelection, type Registry, type SpecIssue } from '@gfra/core';
import { builtinRegistry, loadPluginModules, pluginList } from './builtins';
import { inlineExecutor, poolExecutor } from './executors';
import type { JobResult, ProgressEvent } from './montecarlo';
import { writeResults, type ResultsFile } from './results';
import { JsonLocator, type PathSegment } from './json-location';
import { SpecValidator, type ValidatedSpec } from './validate';
import { ensureTrained, untrainedWarnings, type TrainingEvent } from './train';

/** `plugins[0]` -> ['plugins', 0]. */
function pointerlessSegments(path: string): PathSegment[] {
  return path.split(/\.|\[|\]/).filter((s) => s !== '').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export interface LoadedSpec {
  readonly validated: ValidatedSpec;
  readonly registry: Registry;
}

/** Read a spec file, load the plugin modules it lists, and validate it. Throws user errors. */
export function loadSpec(file: string, registry: Registry = builtinRegistry()): LoadedSpec {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new GfraUserError(code === 'ENOENT' ? `Spec file not found: ${file}` : `Cannot read spec file ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // Reported with its position by the validator below.
  }
  // Plugin modules first (the schema depends on what they register); their problems are
  // reported together with everything the validator finds.
  let pluginIssues: SpecIssue[] = [];
  if (data !== undefined) {
    try {
      loadPluginModules(registry, pluginList(data), file);
    } catch (err) {
      if (err instanceof SpecError) pluginIssues = [...err.issues];
      else if (err instanceof GfraUserError) pluginIssues = [{ path: 'plugins', message: err.message.replace(/^plugins: /, '') }];
      else throw err;
      const locator = new JsonLocator(text);
      pluginIssues = pluginIssues.map((i) => ({ ...i, ...locator.locate(pointerlessSegments(i.path)) }));
    }
  }
  try {
    const validated = new SpecValidator(registry).validateText(text, file);
    if (pluginIssues.length > 0) throw new SpecError(file, pluginIssues);
    return { validated, registry };
  } catch (err) {
    if (!(err instanceof SpecError) || pluginIssues.length === 0) throw err;
    const seen = new Set(pluginIssues.map((i) => `${i.path}|${i.message}`));
    throw new SpecError(file, [...pluginIssues, ...err.issues.filter((i) => !seen.has(`${i.path}|${i.message}`))]);
  }
}

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
  const jobs = validated.jobs
    .map((job, specIndex) => ({ job, specIndex }))
    .filter(({ job }) => only === undefined || only.includes(job.candidate));
  const workers = Math.min(options.workers ?? 1, Math.max(1, jobs.length));
  if (!Number.isInteger(workers) || workers < 1) throw new GfraUserError(`--workers must be a positive integer (got ${workers})`);
  const backend = await selectBackend(options.backend ?? 'auto');
  const resultsFile = path.join(options.out ?? path.join('runs', spec.name), 'results.json');
  const byPosition: (JobResult | undefined)[] = [];
  const results: JobResult[] = [];
  const snapshot = (complete: boolean): ResultsFile => ({
    format: 1,
    name: spec.name,
    seed: spec.seed,
    specHash: validated.hash,
    backend: backend.backend,
    spec,
    results,
    complete,
    environment: environment(backend),
  });
  writeResults(resultsFile, snapshot(false));
  // Train what is missing (or reuse the cached artifacts), then evaluate with those weights.
  for (const message of untrainedWarnings(loaded, jobs.map((j) => j.job))) options.onProgress?.({ type: 'warning', message });
  const trained = await ensureTrained(
    loaded,
    jobs.map((j) => j.job),
    { artifacts: options.artifacts, retrain: options.retrain, onProgress: options.onTraining, signal: options.signal },
  );
  const executorJobs = jobs.map((j, position) => ({ ...j, artifact: trained.get(position)?.dir }));
  const executor = workers === 1 ? inlineExecutor : poolExecutor(workers);
  const context = { registry, seed: spec.seed, jobs: executorJobs, onProgress: options.onProgress, signal: options.signal, specFile: validated.file, backend: options.backend ?? 'auto' };
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
