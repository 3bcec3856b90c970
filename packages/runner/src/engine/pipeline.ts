/**
 * One candidate at one sweep point, built from its {@link PipelinePlan}: traffic -> encoder ->
 * channel -> detector -> metrics. Plugins are constructed through a child container per
 * candidate that holds the scenario; each plugin gets its own child with its validated params and
 * its random streams (keys planned: seed, point, candidate, slot). The registry is used only to
 * construct plugins; what their descriptors say was resolved by the plan.
 */
import * as tf from '@tensorflow/tfjs';
import {
  assignWeights,
  checkVariableNames,
  checkWeightsMatch,
  cx,
  isTrainable,
  PipelineError,
  RandomStreams,
  TOKENS,
  type Trainable,
  type TrainingBatch,
  type TrialDomain,
  type Capability,
  type Channel,
  SLOTS,
  type Slot,
  type ChannelOutput,
  type Detector,
  type Encoder,
  type Estimate,
  type MeasuredStatistic,
  type Metric,
  type Observation,
  type Registry,
  type SideInformation,
  type StatisticInfo,
  type TrafficModel,
  type TrafficSample,
  type ComplexTensor,
  type TrialRange,
  type Truth,
} from '@gfra/core';
import type { DependencyContainer } from 'tsyringe';
import type { PipelinePlan, PlannedSlot } from '../plan/plan';
import type { NonFiniteCount } from './non-finite';

/**
 * Per-trial values of every rate/mean statistic of a batch, as [B] tensors, in the form the
 * accumulator reads (core `TrialValues`): a trial the pipeline found a non-finite detector
 * output in has NaN events (rates) or +Infinity (means) in every statistic; a mean's trial that its
 * metric marked undefined (`undefinedTrials`) is NaN. Only `events`/`samples` or `values` are
 * returned (no masks), every other value is the metric's own, bit for bit.
 */
export type BatchStatistics = Record<string, MeasuredStatistic>;

export { MAX_NON_FINITE_FRACTION } from './non-finite';

interface Stage<T> {
  readonly instance: T;
  readonly key: string;
  readonly path: string;
}

/** Run `fn`, re-throwing any error as a {@link PipelineError} naming the plugin and its spec path. */
function guarded<T>(stage: Stage<unknown>, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof PipelineError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new PipelineError(stage.key, stage.path, `${what} failed: ${message}`, { cause: err });
  }
}

export interface PipelineOptions {
  /** Per-trial draws of a training or validation domain instead of the evaluation ones. */
  readonly domain?: TrialDomain;
}

/** Trained weights to load into a pipeline (see {@link Pipeline.prepare}). */
export interface LoadedWeights {
  /** By artifact name, `<slot>/<variable>`. */
  readonly tensors: tf.NamedTensorMap;
  /** The file they came from, and how to fix a mismatch, for messages. */
  readonly file: string;
  readonly fix: string;
}

/** A trainable plugin of a pipeline. */
export interface TrainableStage {
  readonly slot: Slot;
  readonly key: string;
  readonly path: string;
  readonly instance: Trainable;
}

/**
 * One metric's statistic in the form the accumulator reads (see {@link BatchStatistics}): trials
 * in `bad` (a non-finite detector output) become NaN events or +Infinity values; a mean's
 * `undefinedTrials` become NaN; any other non-finite mean value becomes +Infinity (not finite,
 * never mistaken for a value defined away). Finite values pass unchanged.
 */
function markSkipped(m: MeasuredStatistic, bad: tf.Tensor1D | undefined): MeasuredStatistic {
  if ('events' in m) {
    if (bad === undefined) return { events: m.events, samples: m.samples };
    const events = tf.cast(m.events, 'float32');
    return { events: tf.where(bad, tf.fill(events.shape, Number.NaN), events) as tf.Tensor1D, samples: m.samples };
  }
  const values = m.values;
  let broken = tf.logicalNot(tf.isFinite(values));
  if (m.undefinedTrials !== undefined) broken = tf.logicalAnd(broken, tf.lessEqual(m.undefinedTrials, 0.5));
  if (bad !== undefined) broken = tf.logicalOr(broken, bad);
  let out = tf.where(broken, tf.fill(values.shape, Number.POSITIVE_INFINITY), values);
  if (m.undefinedTrials !== undefined) {
    const undefinedHere = bad === undefined ? tf.greater(m.undefinedTrials, 0.5) : tf.logicalAnd(tf.greater(m.undefinedTrials, 0.5), tf.logicalNot(bad));
    out = tf.where(undefinedHere, tf.fill(values.shape, Number.NaN), out);
  }
  return { values: out as tf.Tensor1D };
}

/**
 * Wait until every output of an estimate is computed (asynchronous backends queue kernels), by
 * reading it back, so that a clock read afterwards covers the whole detection.
 */
function settle(estimate: Estimate): void {
  for (const t of Object.values(estimate) as (tf.Tensor | { re: tf.Tensor; im: tf.Tensor } | undefined)[]) {
    if (t === undefined) continue;
    if (t instanceof tf.Tensor) t.dataSync();
    else {
      t.re.dataSync();
      t.im.dataSync();
    }
  }
}

export class Pipeline {
  readonly statistics: readonly StatisticInfo[];
  private readonly traffic: Stage<TrafficModel>;
  private readonly encoder: Stage<Encoder>;
  private readonly channel: Stage<Channel>;
  private readonly detector: Stage<Detector>;
  private readonly metrics: readonly Stage<Metric>[];
  private readonly granted: ReadonlySet<Capability>;
  private sideInfo: SideInformation = {};
  /** gamma* of the thresholding module, once fitted ({@link setActivityThreshold}). */
  private activityThreshold: number | undefined;
  /** Detector wall-clock time of the timed batches (every batch but the first, a warm-up). */
  private detectTime = { seconds: 0, trials: 0, batches: 0 };
  /** Evaluation trials simulated, and those with a non-finite value in a declared output (by output). */
  private nonFinite = { trials: 0, of: 0, outputs: {} as Record<string, number> };
  /** The same count for the last batch alone. */
  private lastNonFinite: NonFiniteCount = { trials: 0, outputs: {} };

  constructor(
    registry: Registry,
    readonly plan: PipelinePlan,
    parent: DependencyContainer,
    options: PipelineOptions = {},
  ) {
    const container = parent.createChildContainer();
    container.register(TOKENS.scenario, { useValue: plan.scenario });
    const root = new RandomStreams(plan.streams.root, options.domain);
    const make = <T>(slot: PlannedSlot, streamKey: string): Stage<T> => {
      const key = `${slot.kind}:${slot.plugin}`;
      const values = new Map<symbol, unknown>([[TOKENS.random, root.child(streamKey)]]);
      const stage = { key, path: slot.path, instance: undefined as unknown as T };
      const instance = guarded(stage, 'construction', () => registry.create(slot.kind, slot.plugin, slot.params, container, values)) as unknown as T;
      return { ...stage, instance };
    };
    this.traffic = make(plan.slots.traffic, plan.streams.slots.traffic);
    this.encoder = make(plan.slots.encoder, plan.streams.slots.encoder);
    this.channel = make(plan.slots.channel, plan.streams.slots.channel);
    this.detector = make(plan.slots.detector, plan.streams.slots.detector);
    this.metrics = plan.metrics.map((m, i) => make<Metric>(m, plan.streams.metrics[i]));
    this.statistics = plan.statistics;
    this.granted = new Set(plan.granted);
  }

  /**
   * Asynchronous set-up of every plugin, then (when given) the trained weights, then the static
   * side information.
   */
  async prepare(weights?: LoadedWeights): Promise<void> {
    for (const stage of this.stages()) {
      try {
        await stage.instance.prepare?.();
      } catch (err) {
        throw new PipelineError(stage.key, stage.path, `prepare failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
    if (weights !== undefined) {
      const variables = this.variables();
      checkWeightsMatch(weights.file, weights.tensors, Object.fromEntries(Object.entries(variables).map(([n, v]) => [n, v.shape])), weights.fix);
      assignWeights(variables, weights.tensors);
      this.setTraining(false);
    }
    this.sideInfo = {
      ...guarded(this.traffic, 'sideInformation', () => this.traffic.instance.sideInformation?.() ?? {}),
      ...guarded(this.encoder, 'sideInformation', () => this.encoder.instance.sideInformation?.() ?? {}),
    };
  }

  /**
   * Simulate one batch of trials and return the per-trial statistics ([B] tensors, owned by the
   * caller; see {@link BatchStatistics}). Everything else is freed. Trials with a non-finite value
   * in a declared output of the detector are measured but marked, so that every statistic leaves
   * them out and counts them ({@link lastBatchNonFinite}; the Monte Carlo loop applies the
   * {@link MAX_NON_FINITE_FRACTION} rule, see non-finite.ts).
   */
  runBatch(trials: TrialRange): BatchStatistics {
    return cx.tidy(() => {
      const { traffic, channel: out } = this.transmit(trials);
      const observation = this.observation(out, traffic, this.batchSide(trials), trials);
      const start = performance.now();
      let estimate: Estimate = guarded(this.detector, 'detect', () => this.detector.instance.detect(observation));
      settle(estimate);
      const seconds = (performance.now() - start) / 1000;
      this.checkEstimate(estimate, trials.count);
      const bad = this.countNonFinite(estimate, trials.count);
      if (this.detectTime.batches++ > 0) {
        this.detectTime.seconds += seconds;
        this.detectTime.trials += trials.count;
      }
      if (this.activityThreshold !== undefined) estimate = this.thresholded(estimate);
      const truth: Truth = { ...traffic, channel: out.channel, largeScaleFading: out.largeScaleFading };
      const stats: BatchStatistics = {};
      for (const metric of this.metrics) {
        const measured = guarded(metric, 'measure', () => metric.instance.measure(truth, estimate));
        for (const [name, m] of Object.entries(measured)) stats[name] = markSkipped(m, bad);
      }
      return stats;
    });
  }

  /**
   * Evaluation trials so far with a non-finite value (NaN or infinity) in a declared output of
   * the detector, out of the trials simulated (`of`; past a stop, a batch's trials are simulated
   * but not accumulated), and by output.
   */
  nonFiniteTrials(): { readonly trials: number; readonly of: number; readonly outputs: Readonly<Record<string, number>> } {
    return { trials: this.nonFinite.trials, of: this.nonFinite.of, outputs: { ...this.nonFinite.outputs } };
  }

  /** The trials of the last {@link runBatch} with a non-finite value in a declared output. */
  lastBatchNonFinite(): NonFiniteCount {
    return this.lastNonFinite;
  }

  /**
   * Mark the trials of a batch with a non-finite value in a declared output ([B] bool, or
   * undefined when there are none) and count them.
   */
  private countNonFinite(estimate: Estimate, batch: number): tf.Tensor1D | undefined {
    const perOutput: { field: string; bad: tf.Tensor1D; count: number }[] = [];
    for (const field of this.plan.outputs) {
      const value = estimate[field] as tf.Tensor | ComplexTensor;
      const parts = value instanceof tf.Tensor ? [value] : [value.re, value.im];
      if (parts.every((t) => t.dtype === 'int32' || t.dtype === 'bool')) continue;
      const bad = tf.tidy(() => {
        const flags = parts.map((t) => tf.any(tf.logicalNot(tf.isFinite(tf.reshape(t, [batch, -1]))), 1));
        return flags.reduce((a, b) => tf.logicalOr(a, b)) as tf.Tensor1D;
      });
      const count = tf.tidy(() => tf.sum(tf.cast(bad, 'int32')).dataSync()[0]);
      perOutput.push({ field, bad, count });
    }
    const any = perOutput.filter((o) => o.count > 0);
    const mask = any.length === 0 ? undefined : (tf.tidy(() => any.map((o) => o.bad).reduce((a, b) => tf.logicalOr(a, b))) as tf.Tensor1D);
    const count = mask === undefined ? 0 : tf.tidy(() => tf.sum(tf.cast(mask, 'int32')).dataSync()[0]);
    const n = this.nonFinite;
    n.of += batch;
    n.trials += count;
    for (const o of any) n.outputs[o.field] = (n.outputs[o.field] ?? 0) + o.count;
    this.lastNonFinite = { trials: count, outputs: Object.fromEntries(any.map((o) => [o.field, o.count])) };
    return mask;
  }

  /**
   * The detector's soft activity scores and the true activity of a batch of trials, as host
   * arrays [B * N] (trial-major), for fitting the thresholding module.
   */
  activityScores(trials: TrialRange): { scores: Float32Array; active: Float32Array } {
    return tf.tidy(() => {
      const { traffic, channel: out } = this.transmit(trials);
      const estimate: Estimate = guarded(this.detector, 'detect', () => this.detector.instance.detect(this.observation(out, traffic, this.batchSide(trials), trials)));
      this.checkEstimate(estimate, trials.count);
      this.checkFiniteScores(estimate, trials.count);
      if (estimate.activityScore === undefined) {
        throw new PipelineError(this.detector.key, this.detector.path, 'the threshold block needs an activityScore, but the detector returned none');
      }
      return { scores: estimate.activityScore.dataSync() as Float32Array, active: traffic.activity.dataSync() as Float32Array };
    });
  }

  /**
   * The detector returned every output it declares, each with its documented shape. Throws a
   * {@link PipelineError} naming the detector. (Non-finite values are counted by runBatch.)
   */
  private checkEstimate(estimate: Estimate, batch: number): void {
    const { numDevices: N, bitsPerDevice: J } = this.plan.scenario;
    const fail = (message: string): never => {
      throw new PipelineError(this.detector.key, this.detector.path, message);
    };
    const expectShape = (name: string, t: tf.Tensor, lead: readonly number[], rank?: number) => {
      const ok = lead.every((d, i) => t.shape[i] === d) && (rank === undefined || t.rank === rank);
      if (!ok) fail(`output ${name} has shape [${t.shape.join(', ')}]; expected [${[...lead, ...(rank !== undefined && rank > lead.length ? ['...'] : [])].join(', ')}] (batch=${batch}, N=${N})`);
    };
    for (const field of this.plan.outputs) {
      const value = estimate[field];
      if (value === undefined) fail(`declares the output ${field} (provides) but returned none`);
      if (field === 'channel') {
        const c = value as ComplexTensor;
        expectShape('channel.re', c.re, [batch, N]);
        if (c.im.shape.join(',') !== c.re.shape.join(',')) fail(`output channel has re [${c.re.shape.join(', ')}] but im [${c.im.shape.join(', ')}]`);
      } else if (field === 'symbols') {
        const c = value as ComplexTensor;
        expectShape('symbols.re', c.re, [batch, N], 2);
        if (c.im.shape.join(',') !== c.re.shape.join(',')) fail(`output symbols has re [${c.re.shape.join(', ')}] but im [${c.im.shape.join(', ')}]`);
      } else if (field === 'bitLLR') {
        expectShape('bitLLR', value as tf.Tensor, [batch, N, J], 3);
      } else {
        expectShape(field, value as tf.Tensor, [batch, N], 2);
      }
    }
  }

  /**
   * Fitting the thresholding module: no non-finite activity score at all (a threshold cannot be
   * placed against NaN scores, and would silently count them as misses).
   */
  private checkFiniteScores(estimate: Estimate, batch: number): void {
    const score = estimate.activityScore;
    if (score === undefined) return;
    const bad = tf.tidy(() => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(score)), 'int32')).dataSync()[0]);
    if (bad > 0) {
      throw new PipelineError(
        this.detector.key,
        this.detector.path,
        `returned ${bad} non-finite activity score${bad === 1 ? '' : 's'} (NaN or infinite) in ${batch} trials x ${this.plan.scenario.numDevices} devices while the threshold was fitted; check the detector's numerics at this operating point (e.g. a very high SNR)`,
      );
    }
  }

  /** From now on, the activity decision is activityScore >= gamma (the thresholding module). */
  setActivityThreshold(gamma: number): void {
    this.activityThreshold = gamma;
    guarded(this.detector, 'useActivityThreshold', () => this.detector.instance.useActivityThreshold?.(gamma));
  }

  /**
   * Wall-clock time of the detector alone (decoding, not sampling or the channel), over every
   * evaluation batch but the first (a warm-up), in seconds, and the trials it covers.
   */
  detectorTime(): { readonly seconds: number; readonly trials: number } {
    return { seconds: this.detectTime.seconds, trials: this.detectTime.trials };
  }

  /**
   * The detector's {@link Detector.diagnostics} and the encoder's ({@link Encoder.diagnostics},
   * keys prefixed `encoder/`); empty when neither has any.
   */
  diagnostics(): Readonly<Record<string, number>> {
    const detector = guarded(this.detector, 'diagnostics', () => this.detector.instance.diagnostics?.() ?? {});
    const encoder = guarded(this.encoder, 'diagnostics', () => tf.tidy(() => this.encoder.instance.diagnostics?.(this.sideInfo) ?? {}));
    return { ...detector, ...Object.fromEntries(Object.entries(encoder).map(([k, v]) => [`encoder/${k}`, v])) };
  }

  private thresholded(estimate: Estimate): Estimate {
    const score = estimate.activityScore;
    if (score === undefined) throw new PipelineError(this.detector.key, this.detector.path, 'the threshold block needs an activityScore, but the detector returned none');
    return { ...estimate, activity: tf.cast(tf.greaterEqual(score, this.activityThreshold as number), 'float32') as tf.Tensor2D };
  }

  /** The static side information, once {@link prepare} has run (owned by the plugins). */
  sideInformation(): SideInformation {
    return this.sideInfo;
  }

  /**
   * The trainable plugins (the plan's `trainable`: their descriptors say so with their params), in pipeline order.
   * Throws if a plugin declares itself trainable but its instance is not {@link Trainable}.
   */
  trainables(): TrainableStage[] {
    const out: TrainableStage[] = [];
    const stages: Record<Slot, Stage<object>> = { traffic: this.traffic, encoder: this.encoder, channel: this.channel, detector: this.detector };
    for (const { slot } of this.plan.trainable) {
      const stage = stages[slot];
      if (!isTrainable(stage.instance)) {
        throw new PipelineError(stage.key, stage.path, 'declares itself trainable (training) but its instance has no trainableVariables()');
      }
      checkVariableNames(stage.key, stage.instance.trainableVariables());
      out.push({ slot, key: stage.key, path: stage.path, instance: stage.instance });
    }
    return out;
  }

  /** Every trainable variable, by artifact name `<slot>/<variable>` (`encoder/pilotsRe`). */
  variables(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = {};
    for (const t of this.trainables()) {
      for (const [name, v] of Object.entries(t.instance.trainableVariables())) out[`${t.slot}/${name}`] = v;
    }
    return out;
  }

  /** Switch the trainable plugins between training and inference (see Trainable.setTraining). */
  setTraining(training: boolean): void {
    for (const t of this.trainables()) t.instance.setTraining?.(training);
  }

  /**
   * One differentiable forward pass (traffic -> encoder -> channel -> detector), not tidied: call
   * it inside a trainer's gradient scope. The side information is taken afresh from the plugins,
   * so a codebook computed from trainable variables carries its gradient to the detector.
   */
  forward(trials: TrialRange): TrainingBatch {
    const { traffic, tx, channel } = this.transmit(trials);
    const side: SideInformation = {
      ...guarded(this.traffic, 'sideInformation', () => this.traffic.instance.sideInformation?.() ?? {}),
      ...guarded(this.encoder, 'sideInformation', () => this.encoder.instance.sideInformation?.(trials) ?? {}),
    };
    const observation = this.observation(channel, traffic, side, trials);
    const estimate: Estimate = guarded(this.detector, 'detect', () => this.detector.instance.detect(observation));
    const truth: Truth = { ...traffic, channel: channel.channel, largeScaleFading: channel.largeScaleFading };
    return { trials, traffic, tx, channel, observation, estimate, truth };
  }

  /** Traffic -> encoder -> channel for a batch of trials (in the caller's tidy or gradient scope). */
  private transmit(trials: TrialRange): { traffic: TrafficSample; tx: ComplexTensor; channel: ChannelOutput } {
    const traffic = guarded(this.traffic, 'sample', () => this.traffic.instance.sample(trials));
    const tx = guarded(this.encoder, 'encode', () => this.encoder.instance.encode(traffic, trials));
    const channel = guarded(this.channel, 'propagate', () => this.channel.instance.propagate(tx, trials));
    return { traffic, tx, channel };
  }

  /**
   * The side information of one batch: the static part (from prepare) and what the encoder gives
   * for these trials (a per-trial codebook [B, L, N*Q] under `redraw: "per-trial"`; the same
   * per-run codebook otherwise). Call inside the batch's tidy scope; never dispose the result.
   */
  private batchSide(trials: TrialRange): SideInformation {
    return { ...this.sideInfo, ...guarded(this.encoder, 'sideInformation', () => this.encoder.instance.sideInformation?.(trials) ?? {}) };
  }

  /** The received signal plus exactly the side information the spec grants. */
  private observation(out: ChannelOutput, traffic: TrafficSample, side: SideInformation | undefined, trials: TrialRange): Observation {
    const g = this.granted;
    const s = side ?? this.sideInfo;
    return {
      y: out.y,
      trials,
      codebook: g.has('codebook') ? s.codebook : undefined,
      signatures: g.has('signatures') ? s.signatures : undefined,
      trueActivity: g.has('trueActivity') ? traffic.activity : undefined,
      activityProbability: g.has('activityProbability') ? s.activityProbability : undefined,
      noiseVar: g.has('noiseVariance') ? out.noiseVar : undefined,
      largeScaleFading: g.has('largeScaleFading') ? out.largeScaleFading : undefined,
      channel: g.has('channelState') ? out.channel : undefined,
    };
  }

  private stages(): Stage<{ prepare?(): Promise<void>; dispose?(): void }>[] {
    return [this.traffic, this.encoder, this.channel, this.detector, ...this.metrics];
  }

  dispose(): void {
    for (const stage of this.stages()) stage.instance.dispose?.();
  }
}
