/**
 * The Monte Carlo engine: batches of trials for one (point, candidate) until the stopping rule
 * fires (every tracked error rate reached its target event count, or the trial or time budget is
 * spent). Statistics are accumulated trial by trial on the host, so the stop and the numbers do
 * not depend on the batch size (see {@link Accumulators}).
 */
import * as tf from '@tensorflow/tfjs';
import { Accumulators, fitThreshold, readTrainedArtifact, TrialDomain, type Registry, type StatisticResult, type StopReason, type TrialValues } from '@gfra/core';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { Pipeline } from './pipeline';
import type { TrainingSummary } from './train';
import type { Job } from './validate';

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

export type ProgressEvent =
  | { readonly type: 'job-start'; readonly job: Job; readonly index: number; readonly total: number }
  | {
      readonly type: 'batch';
      readonly job: Job;
      readonly index: number;
      readonly total: number;
      readonly trials: number;
      /** Estimated fraction of this job done, in [0, 1]. */
      readonly fraction: number;
      readonly seconds: number;
    }
  | { readonly type: 'job-end'; readonly job: Job; readonly index: number; readonly total: number; readonly result: JobResult }
  | { readonly type: 'warning'; readonly message: string };

export interface RunJobOptions {
  readonly registry: Registry;
  readonly seed: number;
  readonly container?: DependencyContainer;
  /** Called after every batch and at the start and end of the job. */
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Checked between batches; an aborted job ends with stop reason `interrupted`. */
  readonly signal?: AbortSignal;
  /** Position of this job in the run, for progress events. */
  readonly index?: number;
  readonly total?: number;
  /** Clock, injectable for tests. */
  readonly now?: () => number;
  /** Directory of the trained artifact whose weights the candidate's trainable plugins load. */
  readonly artifact?: string;
}

export async function runJob(job: Job, options: RunJobOptions): Promise<JobResult> {
  const { montecarlo } = job.config;
  const now = options.now ?? (() => performance.now() / 1000);
  const index = options.index ?? 0;
  const total = options.total ?? 1;
  const emit = options.onProgress ?? (() => undefined);
  const start = now();
  emit({ type: 'job-start', job, index, total });

  // Evaluation draws; switched to the training domain while fitting the threshold.
  const domain = new TrialDomain();
  const pipeline = new Pipeline(options.registry, job, options.seed, options.container ?? rootContainer, { domain });
  try {
    if (options.artifact !== undefined) {
      const { weights } = readTrainedArtifact(options.artifact);
      try {
        await pipeline.prepare({ tensors: weights, file: options.artifact, fix: `Delete ${options.artifact} and run again to retrain it (or use --retrain)` });
      } finally {
        tf.dispose(Object.values(weights));
      }
    } else {
      await pipeline.prepare();
    }
    const threshold = job.config.threshold === undefined ? undefined : fitActivityThreshold(pipeline, domain, job.config.threshold);
    const acc = new Accumulators(pipeline.statistics);
    const rule = { targetEvents: montecarlo.targetEvents, maxTrials: montecarlo.maxTrials };
    let stop: StopReason | undefined;
    let tensorsBefore: number | undefined;
    let warnedLeak = false;
    while (stop === undefined) {
      if (options.signal?.aborted) {
        stop = 'interrupted';
        break;
      }
      const count = Math.min(montecarlo.batchSize, montecarlo.maxTrials - acc.trials);
      const measured = pipeline.runBatch({ first: acc.trials, count });
      const host = await download(measured);
      const added = acc.addBatch(host, count, rule);
      stop = added.stop;
      const seconds = now() - start;
      if (stop === undefined && seconds >= montecarlo.maxSeconds) stop = 'max-seconds';
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
    }
    const result: JobResult = {
      candidate: job.candidate,
      point: job.point,
      trials: acc.trials,
      seconds: now() - start,
      stop,
      metrics: acc.summary(montecarlo.confidence),
      ...(threshold === undefined ? {} : { threshold }),
      ...detectorTime(pipeline),
      ...diagnostics(pipeline),
    };
    emit({ type: 'job-end', job, index, total, result });
    return result;
  } finally {
    pipeline.dispose();
  }
}

/**
 * The thresholding module (paper 001, Sec. IV-C): gamma* minimising misses + false alarms of
 * `activityScore >= gamma` over trials 0 .. trials - 1 of the training domain (for a trained
 * candidate, its training set: the same traffic, channel and noise draws), then set on the
 * pipeline for the evaluation.
 */
function fitActivityThreshold(pipeline: Pipeline, domain: TrialDomain, config: { trials: number; batchSize: number }): ThresholdSummary {
  domain.current = 'train';
  try {
    const scores: Float32Array[] = [];
    const active: Float32Array[] = [];
    for (let first = 0; first < config.trials; first += config.batchSize) {
      const batch = pipeline.activityScores({ first, count: Math.min(config.batchSize, config.trials - first) });
      scores.push(batch.scores);
      active.push(batch.active);
    }
    const concat = (parts: Float32Array[]): Float32Array => {
      const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    };
    const fit = fitThreshold(concat(scores), concat(active));
    pipeline.setActivityThreshold(fit.gamma);
    return { gamma: fit.gamma, trials: config.trials, fittedErrorRate: fit.errors / fit.samples };
  } finally {
    domain.current = undefined;
  }
}

function detectorTime(pipeline: Pipeline): Pick<JobResult, 'detectorTime'> {
  const { seconds, trials } = pipeline.detectorTime();
  return trials === 0 ? {} : { detectorTime: { seconds, trials, msPerTrial: (1000 * seconds) / trials } };
}

function diagnostics(pipeline: Pipeline): Pick<JobResult, 'diagnostics'> {
  const values = pipeline.diagnostics();
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
