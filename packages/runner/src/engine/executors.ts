/**
 * Executors run planned jobs: `inline` one after another in this thread, or `pool` on worker
 * threads (`gfra run --workers N`). Both give identical numbers: every draw is keyed by (seed,
 * point, candidate, component, trial), and statistics are accumulated trial by trial, so neither
 * the order nor the thread a job runs on matters. A worker receives each planned job as data.
 *
 * A job that throws is a failure, not the end of the run: both report it (`failure`, with a
 * warning) and go on with the next job. An abort stops every running job at its next batch
 * boundary (each gives its partial result, stop `interrupted`) and starts no other.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { GfraUserError, type BackendChoice, type Registry } from '@gfra/core';
import type { PlannedJob } from '../plan/plan';
import { failureLine, type JobFailure, type JobResult } from '../results/format';
import type { BatchRecord } from '../results/store';
import type { ProgressEvent } from './events';
import { CommitPipeline } from './commits';
import { jobFailure, runJob } from './montecarlo';

export interface ExecutorContext {
  readonly registry: Registry;
  /** Jobs to run, each with, for trained candidates, the directory of the trained artifact to load. */
  readonly jobs: readonly { readonly job: PlannedJob; readonly artifact?: string; readonly resume?: readonly BatchRecord[] }[];
  readonly onProgress?: (event: ProgressEvent) => void;
  /**
   * Called with every batch a job runs (in this thread, whichever thread ran it), one call of a job
   * at a time: its next batch is not handed over before the call resolves (inline it is not even
   * computed before; a pool worker computes it meanwhile). When it rejects, the job fails with
   * that error, and a job's result or failure comes only after its last call settled.
   */
  readonly onBatch?: (position: number, record: BatchRecord) => Promise<void>;
  readonly signal?: AbortSignal;
  /** For the pool: the third-party plugin modules each worker loads (resolved files or package names). */
  readonly pluginModules: readonly string[];
  /** The spec file the modules were named in (for messages), and the backend each worker selects. */
  readonly specFile: string;
  readonly backend: BackendChoice;
}

/** What a pool worker starts with (see worker.ts). */
export interface WorkerData {
  readonly pluginModules: readonly string[];
  readonly specFile: string;
  readonly backend: BackendChoice;
}

/** A finished job: its position in `ExecutorContext.jobs` and its result, or why it failed. */
export type Completed =
  | { readonly position: number; readonly result: JobResult; readonly failure?: undefined }
  | { readonly position: number; readonly failure: JobFailure; readonly result?: undefined };

/** Tell the progress sink that a job failed (an event, and a warning that the run goes on). */
function reportFailure(ctx: ExecutorContext, position: number, failure: JobFailure): void {
  ctx.onProgress?.({ type: 'job-failed', job: ctx.jobs[position].job, index: position, total: ctx.jobs.length, failure });
  ctx.onProgress?.({ type: 'warning', message: `${failureLine(failure)} (the run goes on without it)` });
}

export type Executor = (ctx: ExecutorContext) => AsyncIterable<Completed>;

/** Run the jobs one after another in this thread. */
export async function* inlineExecutor(ctx: ExecutorContext): AsyncIterable<Completed> {
  const total = ctx.jobs.length;
  for (const [position, { job, artifact, resume }] of ctx.jobs.entries()) {
    if (ctx.signal?.aborted) return;
    let result: JobResult;
    const onBatch = ctx.onBatch;
    // as in a pool worker: a batch's commit overlaps the next batch's computation
    const commits = onBatch === undefined ? undefined : new CommitPipeline((record) => onBatch(position, record));
    try {
      result = await runJob(job, {
        registry: ctx.registry,
        onProgress: ctx.onProgress,
        signal: ctx.signal,
        index: position,
        total,
        artifact,
        resume,
        ...(commits === undefined ? {} : { onBatch: commits.onBatch }),
      });
      await commits?.flush();
    } catch (err) {
      await commits?.settled();
      const failure = jobFailure(job, err);
      reportFailure(ctx, position, failure);
      yield { position, failure };
      continue;
    }
    yield { position, result };
    if (result.stop === 'interrupted') return;
  }
}

/** Messages from a worker (see worker.ts). */
export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly position: number; readonly trials: number; readonly fraction: number; readonly seconds: number }
  | { readonly type: 'warning'; readonly message: string }
  /** A batch to commit; the worker sends the job's next batch, or its result, only after `committed` with the same seq. */
  | { readonly type: 'batch'; readonly position: number; readonly seq: number; readonly record: BatchRecord }
  | { readonly type: 'result'; readonly position: number; readonly result: JobResult }
  /** The job threw; the worker takes the next one. */
  | { readonly type: 'job-failed'; readonly position: number; readonly failure: JobFailure }
  /** The worker itself could not start (plugin modules, backend): the run ends. */
  | { readonly type: 'failed'; readonly message: string; readonly user: boolean };

/** Messages to a worker. */
export type WorkerCommand =
  | {
      readonly type: 'job';
      readonly position: number;
      readonly total: number;
      readonly job: PlannedJob;
      readonly artifact?: string;
      readonly resume?: readonly BatchRecord[];
      /** Whether to send every batch (`batch`), one awaiting `committed` at a time. */
      readonly commit: boolean;
    }
  /** The main thread committed batch `seq` (or could not: `error`). */
  | { readonly type: 'committed'; readonly seq: number; readonly error?: string }
  | { readonly type: 'abort' }
  | { readonly type: 'exit' };

/** Run the jobs on `workers` worker threads. */
export function poolExecutor(workers: number): Executor {
  return (ctx) => runPool(ctx, workers);
}

async function* runPool(ctx: ExecutorContext, workers: number): AsyncIterable<Completed> {
  const total = ctx.jobs.length;
  const queue = [...ctx.jobs.keys()];
  const done: Completed[] = [];
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const script = workerScript();
  const pool: Worker[] = [];

  const dispatch = (worker: Worker) => {
    const position = ctx.signal?.aborted === true ? undefined : queue.shift();
    if (position === undefined || failure !== undefined) {
      worker.postMessage({ type: 'exit' } satisfies WorkerCommand);
      return;
    }
    ctx.onProgress?.({ type: 'job-start', job: ctx.jobs[position].job, index: position, total });
    const { job, artifact, resume } = ctx.jobs[position];
    worker.postMessage({ type: 'job', position, total, job, artifact, resume, commit: ctx.onBatch !== undefined } satisfies WorkerCommand);
  };

  const live = new Set<Worker>();
  for (let w = 0; w < Math.min(workers, total); w++) {
    const worker = new Worker(script, { workerData: { pluginModules: ctx.pluginModules, specFile: path.resolve(ctx.specFile), backend: ctx.backend } satisfies WorkerData });
    pool.push(worker);
    live.add(worker);
    worker.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'ready':
          dispatch(worker);
          break;
        case 'progress':
          ctx.onProgress?.({ type: 'batch', job: ctx.jobs[m.position].job, index: m.position, total, trials: m.trials, fraction: m.fraction, seconds: m.seconds });
          break;
        case 'warning':
          ctx.onProgress?.({ type: 'warning', message: m.message });
          break;
        case 'batch':
          (ctx.onBatch?.(m.position, m.record) ?? Promise.resolve()).then(
            () => worker.postMessage({ type: 'committed', seq: m.seq } satisfies WorkerCommand),
            (err: unknown) => worker.postMessage({ type: 'committed', seq: m.seq, error: err instanceof Error ? err.message : String(err) } satisfies WorkerCommand),
          );
          break;
        case 'result':
          done.push({ position: m.position, result: m.result });
          ctx.onProgress?.({ type: 'job-end', job: ctx.jobs[m.position].job, index: m.position, total, result: m.result });
          dispatch(worker);
          notify();
          break;
        case 'job-failed':
          done.push({ position: m.position, failure: m.failure });
          reportFailure(ctx, m.position, m.failure);
          dispatch(worker);
          notify();
          break;
        case 'failed':
          failure ??= m.user ? new GfraUserError(m.message) : new Error(m.message);
          notify();
          break;
      }
    });
    worker.on('error', (err) => {
      failure ??= err;
      notify();
    });
    worker.on('exit', () => {
      live.delete(worker);
      notify();
    });
  }
  const onAbort = () => pool.forEach((w) => w.postMessage({ type: 'abort' } satisfies WorkerCommand));
  ctx.signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      while (done.length > 0) yield done.shift() as Completed;
      if (failure !== undefined) throw failure;
      if (live.size === 0) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort);
    await Promise.all(pool.map((w) => w.terminate()));
  }
}

/**
 * The worker entry point: bin/worker.js (the same path from src/engine and dist/engine), which
 * runs the compiled worker, or its TypeScript source when this thread runs the sources, and can
 * load a spec's `.ts` plugin modules either way.
 */
function workerScript(): string {
  return path.join(__dirname, '..', '..', 'bin', 'worker.js');
}
