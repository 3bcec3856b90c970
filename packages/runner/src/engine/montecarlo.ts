/**
 * The Monte Carlo engine: batches of trials for one (point, candidate) until the stopping rule
 * fires (every tracked error rate reached its target event count, or the trial or time budget is
 * spent). Statistics are accumulated trial by trial on the host, so the stop and the numbers do
 * not depend on the batch size (see {@link Accumulators}).
 */
import * as tf from '@tensorflow/tfjs';
import { Accumulators, fixNativeMmapThreshold, GfraUserError, PipelineError, readTrainedArtifact, TrialDomain, type Registry, type StopReason, type TrialRange, type TrialValues } from '@gfra/core';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import type { PlannedJob } from '../plan/plan';
import type { JobFailure, JobResult, ThresholdSummary } from '../results/format';
import type { BatchRecord } from '../results/store';
import type { ProgressEvent } from './events';
import { evaluatedTrainedSlots } from '../plan/training';
import { Pipeline } from './pipeline';
import { fitActivityThreshold } from './threshold';
import { NonFiniteBudget, type NonFiniteCount } from './non-finite';

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

/**
 * What one batch of a job gives, on the host: the per-trial statistics and what the Monte Carlo
 * loop records beside them. The same whichever thread or machine ran it.
 */
export interface BatchOutput {
  /** Per-statistic per-trial values, `count` each (see core `TrialValues`). */
  readonly values: ReadonlyMap<string, TrialValues>;
  /** Its trials with a non-finite detector output (the loop applies the rule of non-finite.ts). */
  readonly nonFinite: NonFiniteCount;
  /** The detector's timed seconds and trials in this batch (zero for a warm-up batch). */
  readonly detector: { readonly seconds: number; readonly trials: number };
  /** The detector's and encoder's diagnostics after this batch (empty when they have none). */
  readonly diagnostics: Readonly<Record<string, number>>;
}

/**
 * Where a job's batches come from: a pipeline in this thread ({@link PreparedJob}) or workers on
 * other machines (the bullmq executor). The loop asks for batches 0, 1, 2, ... in order (from
 * the first one not stored), each for the trials `range`; batch i always covers the same trials.
 */
export interface BatchSource {
  /** The batch, or undefined when the run was interrupted while waiting for it. */
  batch(index: number, range: TrialRange): Promise<BatchOutput | undefined>;
  /** Seconds this session has spent on the job (what montecarlo.maxSeconds counts). */
  elapsed(): number;
  /** The fitted threshold of a candidate with a `threshold` block. */
  threshold(): Promise<ThresholdSummary | undefined>;
  /** The job has stopped after batch `last`: batches after it are not needed. */
  finished?(last: number): Promise<void>;
}

/** Trials of batch `index` of a job: batchSize each, the last one cut at maxTrials. */
export function batchRange(montecarlo: PlannedJob['montecarlo'], index: number): TrialRange {
  const first = index * montecarlo.batchSize;
  return { first, count: Math.min(montecarlo.batchSize, montecarlo.maxTrials - first) };
}

/** One job's pipeline, prepared (plugins, trained weights, fitted threshold), that runs its batches. */
export class PreparedJob implements BatchSource {
  private tensorsBefore: number | undefined;
  private warnedLeak = false;

  private constructor(
    readonly job: PlannedJob,
    private readonly pipeline: Pipeline,
    private readonly fitted: ThresholdSummary | undefined,
    private readonly start: number,
    private readonly now: () => number,
    private readonly warn: (message: string) => void,
  ) {}

  /**
   * Build the pipeline of a planned job and prepare it: every plugin, then the trained weights of
   * `artifact` (the slots the job evaluates with trained weights), then the threshold.
   */
  static async prepare(
    job: PlannedJob,
    options: { registry: Registry; container?: DependencyContainer; artifact?: string; now?: () => number; warn?: (message: string) => void },
  ): Promise<PreparedJob> {
    // long sweeps (every executor prepares its jobs here): keep glibc's heap from fragmenting,
    // once per process (see fixNativeMmapThreshold)
    fixNativeMmapThreshold();
    const now = options.now ?? (() => performance.now() / 1000);
    const start = now();
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
      return new PreparedJob(job, pipeline, threshold, start, now, options.warn ?? (() => undefined));
    } catch (err) {
      pipeline.dispose();
      throw err;
    }
  }

  async batch(_index: number, range: TrialRange): Promise<BatchOutput> {
    const before = this.pipeline.detectorTime();
    const values = await download(this.pipeline.runBatch(range));
    const after = this.pipeline.detectorTime();
    // Leak check: after the first batch, the number of live tensors must stay constant.
    const tensors = tf.memory().numTensors;
    if (this.tensorsBefore !== undefined && tensors > this.tensorsBefore && !this.warnedLeak) {
      this.warnedLeak = true;
      this.warn(`candidate "${this.job.candidate}" leaks ${tensors - this.tensorsBefore} tensors per batch: a plugin is missing tf.tidy or dispose`);
    }
    this.tensorsBefore = tensors;
    return {
      values,
      nonFinite: this.pipeline.lastBatchNonFinite(),
      detector: { seconds: after.seconds - before.seconds, trials: after.trials - before.trials },
      diagnostics: { ...this.pipeline.diagnostics() },
    };
  }

  elapsed(): number {
    return this.now() - this.start;
  }

  async threshold(): Promise<ThresholdSummary | undefined> {
    return this.fitted;
  }

  dispose(): void {
    this.pipeline.dispose();
  }
}

/** Run one planned job in this thread: prepare its pipeline, then {@link accumulateJob}. */
export async function runJob(job: PlannedJob, options: RunJobOptions): Promise<JobResult> {
  const emit = options.onProgress ?? (() => undefined);
  emit({ type: 'job-start', job, index: options.index ?? 0, total: options.total ?? 1 });
  const prepared = await PreparedJob.prepare(job, { ...options, warn: (message) => emit({ type: 'warning', message }) });
  try {
    return await accumulateJob(job, prepared, options);
  } finally {
    prepared.dispose();
  }
}

/**
 * The Monte Carlo loop of one job: the stored batches (`resume`) replayed, then batches from
 * `source` until the stopping rule fires, each accumulated trial by trial, checked against the
 * non-finite rule and handed to `onBatch` (which may commit it while the next batch is computed:
 * see commits.ts) before the next one is used.
 */
export async function accumulateJob(job: PlannedJob, source: BatchSource, options: Omit<RunJobOptions, 'registry' | 'container' | 'artifact'>): Promise<JobResult> {
  const { montecarlo } = job;
  const index = options.index ?? 0;
  const total = options.total ?? 1;
  const emit = options.onProgress ?? (() => undefined);
  const resume = options.resume ?? [];
  const last = resume.at(-1);
  // Seconds go on from where the stored batches left them.
  const base = last?.seconds ?? 0;
  const acc = new Accumulators(job.pipeline.statistics);
  const rule = { targetEvents: montecarlo.targetEvents, maxTrials: montecarlo.maxTrials };
  const detectorSlot = job.pipeline.slots.detector;
  const budget = new NonFiniteBudget({ key: `${detectorSlot.kind}:${detectorSlot.plugin}`, path: detectorSlot.path }, job.pipeline.scenario);
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
  budget.addStored(acc.nonFiniteTrials, resume.reduce((n, b) => n + b.count, 0));
  let batchIndex = resume.length;
  const detector = { seconds: last?.detector.seconds ?? 0, trials: last?.detector.trials ?? 0 };
  let diagnostics = last?.diagnostics ?? {};
  while (stop === undefined) {
    if (options.signal?.aborted) {
      stop = 'interrupted';
      break;
    }
    const range = batchRange(montecarlo, batchIndex);
    const output = await source.batch(batchIndex, range);
    if (output === undefined) {
      stop = 'interrupted';
      break;
    }
    budget.add(range.count, output.nonFinite);
    stop = acc.addBatch(output.values, range.count, rule).stop;
    const seconds = base + source.elapsed();
    if (stop === undefined && seconds >= montecarlo.maxSeconds) stop = 'max-seconds';
    detector.seconds += output.detector.seconds;
    detector.trials += output.detector.trials;
    diagnostics = output.diagnostics;
    if (options.onBatch !== undefined) {
      await options.onBatch({
        batch: batchIndex,
        first: range.first,
        count: range.count,
        values: output.values,
        seconds,
        detector: { ...detector },
        ...(Object.keys(diagnostics).length === 0 ? {} : { diagnostics: { ...diagnostics } }),
      });
    }
    batchIndex += 1;
    const fraction = Math.max(acc.trials / montecarlo.maxTrials, acc.eventProgress(montecarlo.targetEvents), seconds / montecarlo.maxSeconds);
    emit({ type: 'batch', job, index, total, trials: acc.trials, fraction: Math.min(1, fraction), seconds });
    // Let the event loop run once per batch: a Ctrl-C (or a worker's abort message) is seen
    // here, so an interruption stops the job at the next batch boundary.
    if (stop === undefined) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await source.finished?.(batchIndex - 1);
  if (acc.nonFiniteTrials > 0) {
    emit({
      type: 'warning',
      message: `"${job.candidate}"${job.montecarlo.repetitions > 1 ? ` (repetition ${job.repetition})` : ''}: detector ${job.pipeline.slots.detector.plugin} returned non-finite values in ${acc.nonFiniteTrials} of ${acc.trials} trials; they are left out of every statistic (skipped.nonFinite)`,
    });
  }
  const oracle = job.pipeline.oracle ?? [];
  const threshold = await source.threshold();
  const result: JobResult = {
    candidate: job.candidate,
    point: job.point,
    ...repetitionOf(job),
    trials: acc.trials,
    seconds: base + source.elapsed(),
    stop,
    metrics: acc.summary(montecarlo.confidence),
    ...(acc.nonFiniteTrials === 0 ? {} : { nonFiniteTrials: acc.nonFiniteTrials }),
    ...(threshold === undefined ? {} : { threshold }),
    ...(detector.trials === 0 ? {} : { detectorTime: { seconds: detector.seconds, trials: detector.trials, msPerTrial: (1000 * detector.seconds) / detector.trials } }),
    ...(Object.keys(diagnostics).length === 0 ? {} : { diagnostics: { ...diagnostics } }),
    ...(oracle.length === 0 ? {} : { oracle }),
  };
  emit({ type: 'job-end', job, index, total, result });
  return result;
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
