/**
 * The `Trainable` contract: what a plugin instance offers a trainer.
 *
 * A plugin is trainable when its descriptor declares `training` (so the runner knows at
 * validation, before anything is built) and its instance implements {@link Trainable}:
 *
 * - it exposes its variables by stable local names (`pilotsRe`, `dense0/kernel`); trained
 *   artifacts store them as `<slot>/<name>` (`encoder/pilotsRe`);
 * - it may provide its own loss ({@link Trainable.loss}), used with `train.loss: "plugin"`
 *   (or `"auto"`);
 * - it may take over with its own schedule ({@link Trainable.fit}), e.g. layer-wise training or
 *   alternating phases, built from phases of the generic loop ({@link FitContext.phase});
 *   otherwise the generic trainer runs one phase over every variable of the candidate.
 *
 * Everything a trainable plugin computes from its variables must be tfjs ops, so that gradients
 * flow end to end: traffic -> encoder -> channel -> detector -> loss.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ComplexTensor } from '../complex';
import type { ChannelOutput, Estimate, Observation, TrafficSample, TrainingCapabilities, Truth } from '../plugin';

export type { TrainingCapabilities };
import type { TrialRange } from '../rng';
import type { TrainConfig } from './config';
import type { TransmitKind } from './transmit';


/** One forward pass of a candidate's pipeline, in a trainer's gradient scope. */
export interface TrainingBatch {
  readonly trials: TrialRange;
  readonly traffic: TrafficSample;
  /** [B, N, L] complex: what the devices sent. */
  readonly tx: ComplexTensor;
  readonly channel: ChannelOutput;
  /** What the detector saw (received signal plus the granted side information). */
  readonly observation: Observation;
  readonly estimate: Estimate;
  readonly truth: Truth;
}

/** A loss over one batch: a scalar tensor (mean over the batch). */
export type LossFunction = (batch: TrainingBatch) => tf.Scalar;

/** The two fixed data sets of a training run. */
export type DataSet = 'train' | 'validation';

export interface PhaseOptions {
  /**
   * The variables this phase updates: artifact names (`detector/output/bias`) or prefixes ending
   * in `/` (`detector/`). Default: every variable of the candidate.
   */
  readonly variables?: readonly string[];
  /** Changes to the train block for this phase (steps, epochs, optimizer, schedule, ...). */
  readonly config?: Partial<Omit<TrainConfig, 'overrides' | 'checkpointEvery'>>;
  /** A loss for this phase instead of the configured one. */
  readonly loss?: LossFunction;
}

export interface PhaseResult {
  readonly name: string;
  /** Steps taken in this phase. */
  readonly steps: number;
  /** Why it ended: all its steps, early stopping, or an interruption. */
  readonly stop: 'completed' | 'early-stopping';
  /** Mean training loss over its last logging interval. */
  readonly finalLoss: number;
  readonly bestValidationLoss?: number;
  /** Global step (over all phases) of the best validation loss. */
  readonly bestStep?: number;
}

/** What a plugin's own {@link Trainable.fit} receives. */
export interface FitContext {
  /** The resolved train block. */
  readonly config: TrainConfig;
  /** The slot of the plugin whose `fit` runs (`encoder`, `detector`, ...). */
  readonly slot: string;
  /** Every trainable variable of the candidate, by artifact name (`encoder/pilotsRe`). */
  readonly variables: Readonly<Record<string, tf.Variable>>;
  /**
   * Run one phase of the generic loop (sampling, loss, optimizer, schedule, clipping,
   * validation, early stopping, progress, checkpoints). Phases are numbered in call order; a
   * resumed training skips the phases its checkpoint has completed (their weights are restored),
   * so a `fit` must call the same phases in the same order and change variables only inside them.
   */
  phase(name: string, options?: PhaseOptions): Promise<PhaseResult>;
  /**
   * One forward pass over trials of the training or validation set, for custom steps. Call it
   * inside `tf.tidy` or a gradient function: the tensors it returns belong to that scope.
   */
  forward(trials: TrialRange, set: DataSet): TrainingBatch;
  /** Aborted when the user interrupts; phases check it between steps. */
  readonly signal?: AbortSignal;
}

export interface Trainable {
  /**
   * The variables a trainer updates, by stable local names (letters, digits, `_`, `-`, `/`).
   * They exist once the instance is constructed (or prepared) and keep their shapes.
   */
  trainableVariables(): Readonly<Record<string, tf.Variable>>;
  /**
   * Training (true) or inference (false, the initial mode). While training, every output that
   * depends on the variables (the transmitted signal, the codebook handed to the receiver as
   * side information) must be computed from them on each call, inside the caller's scope, so
   * gradients reach them; afterwards, and after trained weights are loaded, a plugin may cache
   * tensors derived from them again (it is switched to false at that point).
   */
  setTraining?(training: boolean): void;
  /**
   * Called after every optimizer step (generic loop and phases): project the variables back onto
   * their feasible set, e.g. clamp a quantizer's latent weights.
   */
  afterStep?(): void;
  /**
   * The parts of the plugin's loss at its last call, by name (plain numbers), e.g. per-user
   * cross-entropies; the trainer reads them after every step and records their mean over the
   * steps between two loss-history entries.
   */
  lossTerms?(): Readonly<Record<string, number>>;
  /** The plugin's own loss (`train.loss: "plugin"`, or `"auto"`). */
  loss?(batch: TrainingBatch): tf.Scalar;
  /** Take over the schedule (layer-wise training, alternating phases) with {@link FitContext.phase}. */
  fit?(context: FitContext): Promise<void>;
  /**
   * Encoders: the learned transmit-side object to export (`gfra export`), e.g. a constellation
   * [Q] or signatures [L, N]; without it the codebook the encoder gives the receiver is exported.
   * Returned tensors belong to the caller.
   */
  transmitObject?(): { readonly kind: TransmitKind; readonly value: ComplexTensor };
}

/** Whether a plugin instance implements {@link Trainable}. */
export function isTrainable(x: unknown): x is Trainable {
  return x !== null && typeof x === 'object' && typeof (x as Trainable).trainableVariables === 'function';
}

const VARIABLE_NAME = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

/** Check a plugin's variable names; throws naming the plugin and the bad name. */
export function checkVariableNames(owner: string, variables: Readonly<Record<string, tf.Variable>>): void {
  for (const name of Object.keys(variables)) {
    if (!VARIABLE_NAME.test(name)) {
      throw new Error(`${owner}: variable name "${name}" is not valid; use letters, digits, _ and -, with / between parts (e.g. "dense0/kernel")`);
    }
  }
}
