/**
 * The contracts every plugin implements, and the tokens through which the runner injects what a
 * plugin needs.
 *
 * Signal model shared by all plugins (batch axis first; B Monte Carlo trials per batch):
 *
 *   traffic  : activity a[B, N] in {0, 1}, message m[B, N] in [0, Q)          (Q = 2^J)
 *   encoder  : tx[B, N, L] complex: the length-L sequence device n sends (zero when inactive)
 *   channel  : y[B, L, M] complex, y[l, m] = sum_n tx[n, l] h[n, l, m] + w[l, m]
 *              block fading h[n, l, m] = h[n, m] (pilot-based GFRA over M antennas), or
 *              per-resource fading (code-domain NOMA over L resource elements)
 *   detector : estimate { activityScore, activity, message, channel }
 *   metric   : per-trial sufficient statistics from (truth, estimate)
 *
 * A plugin is a tsyringe-injectable class with a static `plugin` descriptor ({@link PluginInfo}).
 * Its constructor receives its validated parameters through {@link TOKENS.params}, the scenario
 * through {@link TOKENS.scenario} and its random streams through {@link TOKENS.random}.
 */
import * as tf from '@tensorflow/tfjs';
import type { Static, TObject } from '@sinclair/typebox';
import type { ComplexTensor } from './complex';
import type { TrialRange } from './rng';
import type { Scenario } from './scenario';

export const PLUGIN_KINDS = ['traffic', 'channel', 'encoder', 'detector', 'metric'] as const;
export type PluginKind = (typeof PLUGIN_KINDS)[number];

/** Injection tokens (interfaces are erased at run time, so they are injected by token). */
export const TOKENS = {
  /** The plugin's validated parameters (defaults applied). */
  params: Symbol.for('gfra:params'),
  /** The {@link Scenario} of the current sweep point. */
  scenario: Symbol.for('gfra:scenario'),
  /** The plugin's {@link RandomStreams}, keyed by (seed, point, candidate, slot). */
  random: Symbol.for('gfra:random'),
} as const;

/**
 * Schema keyword marking a string parameter as a file path: `Type.String({ [FILE_PATH_KEYWORD]: true })`.
 * The runner resolves a relative path against the directory of the spec file before it runs the
 * plugin's `check` and constructs it, so the plugin always receives an absolute path.
 */
export const FILE_PATH_KEYWORD = 'x-file-path';

/** Registry tokens: one per kind, under which plugin classes are registered. */
export const KIND_TOKENS: Record<PluginKind, symbol> = {
  traffic: Symbol.for('gfra:plugins:traffic'),
  channel: Symbol.for('gfra:plugins:channel'),
  encoder: Symbol.for('gfra:plugins:encoder'),
  detector: Symbol.for('gfra:plugins:detector'),
  metric: Symbol.for('gfra:plugins:metric'),
};

/**
 * Side information a receiver may be given. Traffic, encoder and channel plugins declare which
 * of these they provide; a detector declares which it requires, and a spec that cannot supply
 * them is rejected at validation.
 */
export const KNOWLEDGE = ['codebook', 'noiseVariance', 'largeScaleFading', 'activityProbability', 'channelState', 'signatures', 'trueActivity'] as const;
export type Knowledge = (typeof KNOWLEDGE)[number];

/**
 * Knowledge a real receiver cannot have: a detector that requires one of these is an oracle
 * (a bound, not a receiver), and the runner labels its results so (`oracle` in results.json,
 * `(oracle)` after the candidate's name in tables). The runner grants them from the ground truth.
 */
export const ORACLE_KNOWLEDGE: readonly Knowledge[] = ['trueActivity'];

/** Fields of a detector's {@link Estimate}; metrics declare which they require. */
export const ESTIMATE_FIELDS = ['activityScore', 'activity', 'message', 'channel', 'bitLLR', 'symbols'] as const;
export type EstimateField = (typeof ESTIMATE_FIELDS)[number];

export type Capability = Knowledge | EstimateField;

/** One traffic realisation. */
export interface TrafficSample {
  /** [B, N] float32 in {0, 1}: device n is active in trial b. */
  readonly activity: tf.Tensor2D;
  /** [B, N] int32 in [0, Q): the message (sequence index) of device n; 0 when J = 0. */
  readonly message: tf.Tensor2D;
}

/**
 * What the receiver may know besides the received signal. Tensors here are owned by the plugin
 * that provides them (it frees them in `dispose`); receivers must not dispose them.
 */
export interface SideInformation {
  /**
   * All sequences, column n*Q + q is sequence q of device n (device-major), either
   * - [L, N*Q] complex: one codebook for the whole run (every trial uses it), or
   * - [B, L, N*Q] complex: one codebook per trial (an encoder with `redraw: "per-trial"`), row b
   *   the codebook of trial b of the batch, i.e. of trial `trials.first + b` of the
   *   {@link TrialRange} the runner passed to {@link Encoder.sideInformation}.
   * Detectors that take a codebook accept both (those that cannot, e.g. trained ones, refuse
   * rank 3 with an error naming the option).
   */
  readonly codebook?: ComplexTensor;
  /** Noise variance sigma^2 per complex sample. */
  readonly noiseVar?: number;
  /** [B, N] float32: large-scale fading beta_n of each device in each trial. */
  readonly largeScaleFading?: tf.Tensor2D;
  /** [N] float32: prior activity probability of each device. */
  readonly activityProbability?: tf.Tensor1D;
  /**
   * Perfect channel state (coherent receivers, e.g. code-domain NOMA): as
   * {@link ChannelOutput.channel}, [B, N, M] or [B, N, L, M] complex.
   */
  readonly channel?: ComplexTensor;
  /**
   * [L, N] complex: the unit-norm spreading signature of each device (column n), for encoders
   * that spread one symbol per device over L resource elements (code-domain NOMA); the codebook
   * is then column n*Q + q = signature n times constellation point q.
   */
  readonly signatures?: ComplexTensor;
  /**
   * [B, N] float32 in {0, 1}: the true activity of the batch (oracle knowledge, granted by the
   * runner from the traffic; see {@link ORACLE_KNOWLEDGE}).
   */
  readonly trueActivity?: tf.Tensor2D;
}

/** The received signal plus the side information the spec grants the detector. */
export interface Observation extends SideInformation {
  /** [B, L, M] complex. */
  readonly y: ComplexTensor;
  /**
   * The batch's trials (row b is trial `trials.first + b`), for a detector whose algorithm draws
   * random numbers (e.g. a posterior sampler): drawing them per trial from its `RandomStreams`
   * keeps the results independent of the batch split. Set by the runner; absent in hand-built
   * observations.
   */
  readonly trials?: TrialRange;
}

/** The {@link SideInformation} field that carries each {@link Knowledge} item. */
export type KnowledgeField<K extends Knowledge = Knowledge> = {
  readonly codebook: 'codebook';
  readonly noiseVariance: 'noiseVar';
  readonly largeScaleFading: 'largeScaleFading';
  readonly activityProbability: 'activityProbability';
  readonly channelState: 'channel';
  readonly signatures: 'signatures';
  readonly trueActivity: 'trueActivity';
}[K];

/**
 * An {@link Observation} that is known to carry the side information `K`. The runner runs a
 * detector only once every item its descriptor `requires` is granted, so a detector's `detect`
 * may take `ObservationWith<...>` of the items it always requires (method parameters are
 * bivariant, so the class still implements {@link Detector}) and need not re-check them.
 */
export type ObservationWith<K extends Knowledge> = Observation & { readonly [P in KnowledgeField<K>]-?: NonNullable<Observation[P]> };

/** What a channel returns for one batch. */
export interface ChannelOutput {
  /** [B, L, M] complex: received signal. */
  readonly y: ComplexTensor;
  /** [B, N, M] complex (block fading) or [B, N, L, M] complex (per-resource fading). */
  readonly channel: ComplexTensor;
  /** [B, N] float32: large-scale fading beta_n (channel power gain) per device and trial. */
  readonly largeScaleFading: tf.Tensor2D;
  /**
   * Noise variance sigma^2 per complex sample; with {@link noiseVarPerTrial}, the mean over the
   * channel's SNR distribution (the receiver is then not granted it).
   */
  readonly noiseVar: number;
  /**
   * [B] float32: sigma^2 of each trial, when the channel draws the SNR per trial (e.g. training
   * over a set of SNRs); absent when every trial has {@link noiseVar}.
   */
  readonly noiseVarPerTrial?: tf.Tensor1D;
}

/** A detector's output. Which fields are present is declared in its `provides`. */
export interface Estimate {
  /** [B, N] float32: soft activity score (larger = more likely active). */
  readonly activityScore?: tf.Tensor2D;
  /** [B, N] float32 in {0, 1}: detected activity. */
  readonly activity?: tf.Tensor2D;
  /** [B, N] int32 in [0, Q): detected message (meaningful where detected active). */
  readonly message?: tf.Tensor2D;
  /** [B, N, M] complex: channel estimate. */
  readonly channel?: ComplexTensor;
  /**
   * [B, N, J] float32: log-likelihood ratios log P(b = 1 | y) / P(b = 0 | y) of the J bits of each
   * device's message (bit j of message m is bit J-1-j of m: natural binary, most significant
   * first; see {@link messageBits}). Decide b = 1 where the LLR is positive.
   */
  readonly bitLLR?: tf.Tensor3D;
  /**
   * [B, N] complex: the soft estimate of each device's transmitted symbol x_n (0 when inactive),
   * for every device, including those declared inactive (e.g. a regression receiver's output, or
   * a linear receiver's unbiased estimate at the device's stage).
   */
  readonly symbols?: ComplexTensor;
}

/**
 * [..., J] float32 bits of integer messages [...] (natural binary, most significant bit first):
 * message 2 with J = 2 -> [1, 0].
 */
export function messageBits(message: tf.Tensor, bitsPerDevice: number): tf.Tensor {
  return tf.tidy(() => {
    const m = tf.cast(message, 'int32');
    const powers = tf.tensor1d(Array.from({ length: bitsPerDevice }, (_, j) => 2 ** (bitsPerDevice - 1 - j)), 'int32');
    const expanded = tf.expandDims(m, -1);
    return tf.cast(tf.mod(tf.floorDiv(expanded, powers), 2), 'float32');
  });
}

/** Ground truth for metrics. */
export interface Truth extends TrafficSample {
  /** As in {@link ChannelOutput.channel}. */
  readonly channel: ComplexTensor;
  /** [B, N] float32. */
  readonly largeScaleFading: tf.Tensor2D;
}

/** Lifecycle hooks shared by every plugin instance. */
export interface PluginInstance {
  /** Asynchronous set-up (load a file, warm up); called once before the first batch. */
  prepare?(): Promise<void>;
  /** Release long-lived tensors. */
  dispose?(): void;
}

export interface TrafficModel extends PluginInstance {
  /** Draw activity and messages for a batch of trials. */
  sample(trials: TrialRange): TrafficSample;
  /** Static side information (e.g. activity probabilities), if the plugin provides any. */
  sideInformation?(): SideInformation;
}

export interface Encoder extends PluginInstance {
  /**
   * tx[B, N, L] complex: what each device sends (zero rows for inactive devices) in the trials
   * `trials` (B = trials.count). An encoder whose codebook is drawn per trial needs `trials`
   * (its draws are keyed by trial index) and throws without it; one with a codebook per run
   * ignores it. The runner always passes the batch's trials.
   */
  encode(traffic: TrafficSample, trials?: TrialRange): ComplexTensor;
  /**
   * Side information known to the receiver, typically the codebook. Without `trials`: the
   * static (per-run) side information, e.g. a codebook [L, N*Q]. With `trials`: the side
   * information of exactly those trials; an encoder with a per-trial codebook returns it as
   * [B, L, N*Q] (row b = trial trials.first + b, the codebook {@link encode} used for that trial,
   * whatever the batch split), one with a per-run codebook returns its static one. The runner
   * calls it once per batch with the batch's trials, after `encode`, inside the batch's tidy
   * scope: a per-trial codebook is a new tensor of that scope (freed with the batch), a per-run
   * one stays the encoder's; the caller never disposes either explicitly.
   */
  sideInformation?(trials?: TrialRange): SideInformation;
  /**
   * Optional numbers that describe the transmit side as evaluated (after trained weights are
   * loaded), e.g. the activity-weighted cross-correlation of learned signatures. `side` is the
   * traffic's static side information (activity probabilities). Recorded per result in
   * results.json (`diagnostics`, keys prefixed `encoder/`).
   */
  diagnostics?(side: SideInformation): Readonly<Record<string, number>>;
}

export interface Channel extends PluginInstance {
  /** Propagate tx[B, N, L] to the receiver, adding fading and noise. */
  propagate(tx: ComplexTensor, trials: TrialRange): ChannelOutput;
}

export interface Detector extends PluginInstance {
  detect(observation: Observation): Estimate;
  /**
   * Optional numbers that describe the instance as evaluated (after trained weights are loaded),
   * e.g. the learned activity priors of an unfolded decoder (`eps1/eps2`). Recorded per result in
   * results.json (`diagnostics`) and plottable by name (`gfra plot --metric eps1/eps2`).
   */
  diagnostics?(): Readonly<Record<string, number>>;
  /**
   * Optional: the thresholding module (a candidate's `threshold` block) has fitted gamma*. A
   * detector whose other outputs build on its activity decision (e.g. a channel estimate on the
   * detected set) should decide `activityScore >= gamma` from now on, so that they agree with the
   * `activity` the runner reports.
   */
  useActivityThreshold?(gamma: number): void;
}

/** How a statistic is accumulated and how its interval is computed. */
export type StatisticKind =
  /** events / samples, trial-clustered Wilson interval (clusteredRateInterval); can be a stopping target. */
  | 'rate'
  /** mean of per-trial values, Student-t interval. */
  | 'mean'
  /** sum of other rate statistics of the same metric, MOVER interval. */
  | 'rate-sum'
  /**
   * Jain's fairness index (sum r_n)^2 / (K sum r_n^2) of K other rate statistics of the same
   * metric (e.g. per-device BERs), in [1/K, 1] (1 when every rate is 0); delta-method interval
   * with the trial as the unit.
   */
  | 'jain-index';

export interface StatisticInfo {
  /** Name in results, e.g. `pmd`. Unique across a spec's metrics. */
  readonly name: string;
  readonly kind: StatisticKind;
  readonly description: string;
  /** For `rate-sum`: the rate statistics added up; for `jain-index`: the rates it compares. */
  readonly parts?: readonly string[];
  /** Whether the Monte Carlo stopping rule waits for this statistic's target event count. */
  readonly tracked?: boolean;
  /** Display: plot/report in dB (10 log10) — for NMSE-like means. */
  readonly decibel?: boolean;
}

/**
 * Per-trial values of one statistic for a batch: rate -> events & samples, mean -> values.
 *
 * A mean statistic that is undefined for some trials by its definition (a 0/0 defined away, e.g.
 * NMSE of a trial with no active device) marks them in `undefinedTrials` ([B], 1 where undefined;
 * its `values` there are ignored): the runner counts them as `skipped.undefined`, apart from
 * trials whose value is not finite for any other reason (a NaN from the detector), counted as
 * `skipped.nonFinite` (see StatisticResult.skipped). Rates need no mask: a trial with nothing to
 * count has zero samples.
 */
export type MeasuredStatistic =
  | { readonly events: tf.Tensor1D; readonly samples: tf.Tensor1D }
  | { readonly values: tf.Tensor1D; readonly undefinedTrials?: tf.Tensor1D };

export interface Metric extends PluginInstance {
  /**
   * Per-trial statistics ([B] tensors), keyed by statistic name: every `rate` and `mean`
   * statistic its descriptor declares (`rate-sum` statistics are derived by the runner).
   */
  measure(truth: Truth, estimate: Estimate): Record<string, MeasuredStatistic>;
}

/** Instance type of each kind. */
export interface KindInstance {
  traffic: TrafficModel;
  channel: Channel;
  encoder: Encoder;
  detector: Detector;
  metric: Metric;
}

/** What a plugin's descriptor declares about training (`PluginInfo.training`). */
export interface TrainingCapabilities {
  /** The instance implements {@link Trainable.loss}. */
  readonly loss?: boolean;
  /** The instance implements {@link Trainable.fit}: it drives its own schedule. */
  readonly fit?: boolean;
  /**
   * The loss is computed from the batch's ground truth alone (e.g. score matching on the true
   * channels), not from the plugin's outputs, so a forward pass in training mode may skip the
   * expensive inference and its outputs need not carry gradients (the contract suite then checks
   * only the variables; the plugin's own tests check its loss).
   */
  readonly lossFromTruth?: boolean;
}

/** A problem with a plugin's parameters, found by its `check` hook. */
export interface ParamProblem {
  /** Path inside `params`, dotted (empty for the whole object). */
  readonly path: string;
  readonly message: string;
  readonly hint?: string;
}

/**
 * Static description of a plugin. `params` is a TypeBox object schema: one declaration gives the
 * JSON Schema (for validation and editors), the TypeScript type and the defaults.
 */
export interface PluginInfo<S extends TObject = TObject> {
  readonly kind: PluginKind;
  /** Name used in specs (`"plugin": "mmv-amp"`), kebab-case. */
  readonly name: string;
  /** One line: what the method is. */
  readonly summary: string;
  /** The paper (or standard reference) the method comes from, with equation numbers. */
  readonly reference?: string;
  readonly params: S;
  /** Capabilities this plugin needs upstream (detectors: knowledge; metrics: estimate fields). */
  readonly requires?: (params: Static<S>, scenario: Scenario) => readonly Capability[];
  /** Capabilities this plugin provides downstream. */
  readonly provides?: (params: Static<S>, scenario: Scenario) => readonly Capability[];
  /** Semantic checks of params against the scenario, beyond the schema. */
  readonly check?: (params: Static<S>, scenario: Scenario) => readonly ParamProblem[];
  /** Metrics only: the statistics this metric reports, given its params. */
  readonly statistics?: (params: Static<S>, scenario: Scenario) => readonly StatisticInfo[];
  /**
   * Trainable plugins: what the instance offers a trainer with these params (its own loss, its
   * own schedule), or undefined when it has nothing to train (e.g. frozen). The instance then
   * implements `Trainable` (training/trainable.ts).
   */
  readonly training?: (params: Static<S>, scenario: Scenario) => TrainingCapabilities | undefined;
  /** Extra lines for `gfra list` (conventions, SNR ranges, formulas). */
  readonly notes?: readonly string[];
  /**
   * The plugin's random draws, by draw name (the `component` of its RandomStreams calls): what
   * each is and whether it is drawn per trial or once per run. Part of the plugin's contract: with
   * shared draws (the default) a draw is keyed by (seed, point, repetition, slot, draw name,
   * trial), so two plugins in the same slot that use the same name and distribution see the same
   * numbers (e.g. `pilots` of gaussian-pilots and learned-pilots).
   */
  readonly draws?: Readonly<Record<string, string>>;
  /**
   * The plugin handles devices with different numbers of bits (`scenario.deviceBits`, from a
   * `bitsPerDevice` list): device n's messages lie in [0, 2^{J_n}). Without it the runner refuses
   * such a scenario for this plugin at validation.
   */
  readonly perDeviceBits?: boolean;
}

/** A plugin class: constructible by the container, with its static descriptor. */
export interface PluginClass<I extends object = object> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  new (...args: any[]): I;
  readonly plugin: PluginInfo;
}

/** Type helper for authoring a descriptor with typed `requires`/`check` callbacks. */
export function definePlugin<S extends TObject>(info: PluginInfo<S>): PluginInfo {
  return info as unknown as PluginInfo;
}

/** `detector:mmv-amp`. */
export function pluginKey(info: Pick<PluginInfo, 'kind' | 'name'>): string {
  return `${info.kind}:${info.name}`;
}
