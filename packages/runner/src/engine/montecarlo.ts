/**
 * The Monte Carlo engine: batches of trials for one (point, candidate) until the stopping rule
 * fires (every tracked error rate reached its target event count, or the trial or time budget is
 * spent). Statistics are accumulated trial by trial on the host, so the stop and the numbers do
 * not depend on the batch size (see {@link Accumulators}).
 */
import * as tf from '@tensorflow/tfjs';
import { Accumulators, GfraUserError, PipelineError, readTrainedArtifact, TrialDomain, type Registry, type StopReason, type TrialValues } from '@gfra/core';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import type { PlannedJob } from '../plan/plan';
import type { JobFailure, JobResult } from '../results/format';
import type { BatchRecord } from '../results/store';
import type { ProgressEvent } from './events';
import { evaluatedTrainedSlots } from '../plan/training';
import { Pipeline } from './pipeline';
import { fitActivityThreshold } from './threshold';

export interface RunJobOptions {
  readonly registry: Registry;
  readonly container?: DependencyContainer;
  /** Called after every batch and at the start and end of the job. */
  readonly onProgress?: (event: ProgressEvent) => void;
  /**
   * Checked between batches (the loop yields to the event loop after each one); an aborted job
   * ends with stop reason `interrupted` and the trials it has.
   */
  readonly signal?: AbortSignal;
  /** Position of this job in the run, for progress events. */
  readonly index?: number;
  readonly total?: number;
  /** Clock, injectable for tests. */
  readonly now?: () => number;
  /** Directory of the trained artifact whose weights the candidate's trainable plugins load. */
  readonly artifact?: string;
  /**
   * Batches of this job committed by an earlier run (results store), in order: they are replayed
   * through the accumulators, and the job continues at the next trial index, so its statistics are
   * bit-identical to an uninterrupted run. Seconds and detector time go on from the last one.
   */
  readonly resume?: readonly BatchRecord[];
  /** Called after every batch; the next batch starts once it resolves (the store commits it). */
  readonly onBatch?: (record: BatchRecord) => Promise<void>;
}

export async function runJob(job: PlannedJob, options: RunJobOptions): Promise<JobResult> {
  const { montecarlo } = job;
  const now = options.now ?? (() => performance.now() / 1000);
  const index = options.index ?? 0;
  const total = options.total ?? 1;
  const emit = options.onProgress ?? (() => undefined);
  const resume = options.resume ?? [];
  const last = resume.at(-1);
  // Seconds go on from where the stored batches left them.
  const start = now() - (last?.seconds ?? 0);
  emit({ type: 'job-start', job, index, total });

  // Evaluation draws; switched to the training domain while fitting the threshold.
  const domain = new TrialDomain();
  const pipeline = new Pipeline(options.registry, job.pipeline, options.container ?? rootContainer, { domain });
  try {
    if (options.artifact !== undefined) {
      const { weights } = readTrainedArtifact(options.artifact);
      try {
        const loaded = job.training === undefined ? undefined : evaluatedTrainedSlots(job.training.pipeline.slots, job.pipeline.slots);
        const tensors = loaded === undefined ? weights : Object.fromEntries(Object.entries(weights).filter(([name]) => (loaded as string[]).includes(name.split('/')[0])));
        await pipeline.prepare({ tensors, file: options.artifact, fix: `Delete ${options.artifact} and run again to retrain it (or use --retrain)` });
      } finally {
        tf.dispose(Object.values(weights));
      }
    } else {
      await pipeline.prepare();
    }
    const threshold = job.threshold === undefined ? undefined : fitActivityThreshold(pipeline, domain, job.threshold);
    const acc = new Accumulators(pipeline.statistics);
    const rule = { targetEvents: montecarlo.targetEvents, maxTrials: montecarlo.maxTrials };
    let stop: StopReason | undefined;
    for (const [i, b] of resume.entries()) {
      if (b.batch !== i || b.first !== acc.trials) {
        throw new Error(`results store: batch ${b.batch} of "${job.candidate}" starts at trial ${b.first}, expected batch ${i} at trial ${acc.trials}`);
      }
      if (stop !== undefined) throw new Error(`results store: "${job.candidate}" has batches after its stop (${stop})`);
      stop = acc.addBatch(b.values, b.count, rule).stop;
      if (stop === undefined && b.seconds >= montecarlo.maxSeconds) stop = 'max-seconds';
    }
    // The stored batches count towards the non-finite rule as they did when they ran.
    pipeline.countStoredTrials(acc.nonFiniteTrials, resume.reduce((n, b) => n + b.count, 0));
    let batchIndex = resume.length;
    const detectorBase = last?.detector ?? { seconds: 0, trials: 0 };
    let tensorsBefore: number | undefined;
    let warnedLeak = false;
    while (stop === undefined) {
      if (options.signal?.aborted) {
        stop = 'interrupted';
        break;
      }
      const count = Math.min(montecarlo.batchSize, montecarlo.maxTrials - acc.trials);
      const first = acc.trials;
      const measured = pipeline.runBatch({ first, count });
      const host = await download(measured);
      const added = acc.addBatch(host, count, rule);
      stop = added.stop;
      const seconds = now() - start;
      if (stop === undefined && seconds >= montecarlo.maxSeconds) stop = 'max-seconds';
      if (options.onBatch !== undefined) {
        const time = pipeline.detectorTime();
        const values = pipeline.diagnostics();
        await options.onBatch({
          batch: batchIndex,
          first,
          count,
          values: host,
          seconds,
          detector: { seconds: detectorBase.seconds + time.seconds, trials: detectorBase.trials + time.trials },
          ...(Object.keys(values).length === 0 ? {} : { diagnostics: { ...values } }),
        });
      }
      batchIndex += 1;
      // Leak check: after the first batch, the number of live tensors must stay constant.
      const tensors = tf.memory().numTensors;
      if (tensorsBefore !== undefined && tensors > tensorsBefore && !warnedLeak) {
        warnedLeak = true;
        emit({
          type: 'warning',
          message: `candidate "${job.candidate}" leaks ${tensors - tensorsBefore} tensors per batch: a plugin is missing tf.tidy or dispose`,
        });
      }
      tensorsBefore = tensors;
      const fraction = Math.max(acc.trials / montecarlo.maxTrials, acc.eventProgress(montecarlo.targetEvents), seconds / montecarlo.maxSeconds);
      emit({ type: 'batch', job, index, total, trials: acc.trials, fraction: Math.min(1, fraction), seconds });
      // Let the event loop run once per batch: a Ctrl-C (or a worker's abort message) is seen
      // here, so an interruption stops the job at the next batch boundary.
      if (stop === undefined) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (acc.nonFiniteTrials > 0) {
      emit({
        type: 'warning',
        message: `"${job.candidate}"${job.montecarlo.repetitions > 1 ? ` (repetition ${job.repetition})` : ''}: detector ${job.pipeline.slots.detector.plugin} returned non-finite values in ${acc.nonFiniteTrials} of ${acc.trials} trials; they are left out of every statistic (skipped.nonFinite)`,
      });
    }
    const oracle = job.pipeline.oracle ?? [];
    const result: JobResult = {
      candidate: job.candidate,
      point: job.point,
      ...repetitionOf(job),
      trials: acc.trials,
      seconds: now() - start,
      stop,
      metrics: acc.summary(montecarlo.confidence),
      ...(acc.nonFiniteTrials === 0 ? {} : { nonFiniteTrials: acc.nonFiniteTrials }),
      ...(threshold === undefined ? {} : { threshold }),
      ...detectorTime(pipeline, detectorBase),
      ...diagnostics(pipeline, batchIndex > resume.length ? undefined : last?.diagnostics),
      ...(oracle.length === 0 ? {} : { oracle }),
    };
    emit({ type: 'job-end', job, index, total, result });
    return result;
  } finally {
    pipeline.dispose();
  }
}

/**
 * What results.json records for a job that threw: the message and, for a plugin's error, the
 * plugin and its spec path; `internal` for an error of gfra itself (not a user error).
 */
export function jobFailure(job: PlannedJob, err: unknown): JobFailure {
  const message = err instanceof Error ? err.message : String(err);
  if (process.env.GFRA_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return {
    candidate: job.candidate,
    point: job.point,
    ...repetitionOf(job),
    message,
    ...(err instanceof PipelineError ? { plugin: err.pluginKey, path: err.specPath } : {}),
    ...(err instanceof GfraUserError ? {} : { internal: true }),
  };
}

/** The `repetition` field of a job's result: present only when the spec has repetitions. */
function repetitionOf(job: PlannedJob): { repetition?: number } {
  return job.montecarlo.repetitions > 1 ? { repetition: job.repetition } : {};
}

/**
 * The detector's time, including `base` (that of the stored batches of a resumed job: each run
 * session times every batch but its first, a warm-up).
 */
function detectorTime(pipeline: Pipeline, base: { readonly seconds: number; readonly trials: number }): Pick<JobResult, 'detectorTime'> {
  const time = pipeline.detectorTime();
  const seconds = base.seconds + time.seconds;
  const trials = base.trials + time.trials;
  return trials === 0 ? {} : { detectorTime: { seconds, trials, msPerTrial: (1000 * seconds) / trials } };
}

/** The detector's diagnostics; `stored` (the last stored batch's) when this session ran no batch. */
function diagnostics(pipeline: Pipeline, stored: Readonly<Record<string, number>> | undefined): Pick<JobResult, 'diagnostics'> {
  const values = stored ?? pipeline.diagnostics();
  return Object.keys(values).length === 0 ? {} : { diagnostics: { ...values } };
}

/** Download the per-trial statistics (small [B] tensors) and free them. */
async function download(measured: Record<string, { events: tf.Tensor; samples: tf.Tensor } | { values: tf.Tensor }>): Promise<Map<string, TrialValues>> {
  const out = new Map<string, TrialValues>();
  try {
    for (const [name, m] of Object.entries(measured)) {
      if ('values' in m) out.set(name, { values: await m.values.data() });
      else out.set(name, { events: await m.events.data(), samples: await m.samples.data() });
    }
  } finally {
    tf.dispose(Object.values(measured).flatMap((m) => ('values' in m ? [m.values] : [m.events, m.samples])));
  }
  return out;
}
