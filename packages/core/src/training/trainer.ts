/**
 * The generic end-to-end trainer.
 *
 * A {@link TrainingProblem} supplies the variables of a candidate and a differentiable forward
 * pass (traffic -> encoder -> channel -> detector) over trials of a training or validation set;
 * the trainer runs phases of
 *
 *   sample a batch -> forward -> loss -> gradients (tf.variableGrads) -> clip -> optimizer step
 *
 * with a learning-rate schedule, a held-out validation set, early stopping (restoring the best
 * weights), a loss history, progress events and checkpoints every `checkpointEvery` steps. A
 * plugin with its own schedule (`Trainable.fit`) calls phases itself; otherwise one phase
 * (`main`) updates every variable.
 *
 * Data. Every trial is drawn from random streams keyed by its index, in the `train` and
 * `validation` domains (distinct from each other and from the evaluation draws), so any batch can
 * be regenerated from its position alone:
 * - fresh samples (no `trainingSetSize`): batch k takes the next B trial indices;
 * - a fixed training set of S trials: it is cut into ceil(S/B) batches of consecutive indices,
 *   visited in a new seeded order every epoch (the order of the batches is reshuffled, their
 *   composition is fixed); `epochs` counts passes over it. With `trainingNoise: "redraw"` (the
 *   default) every batch is drawn with its {@link DataPass} (phase, epoch), and the problem
 *   redraws the noise of its trials for that pass, so a trial keeps its activity and fading but
 *   gets new noise every epoch (the same noise whenever the same (trial, pass) is drawn, which
 *   keeps resumption and batch-size invariance exact); with `"fixed"` no pass is given and a
 *   trial has the same draws in every epoch;
 * - the validation set is trials 0..size-1 of the validation domain, the same at every check.
 *
 * Resuming. A checkpoint holds the weights, the optimizer state, the best weights so far, the
 * step, the data position and the loss history; a training resumed from it ends with the same
 * weights, bit for bit, as an uninterrupted one (same backend).
 */
import * as tf from '@tensorflow/tfjs';
import { GfraUserError } from '../errors';
import { Generator, type DataPass, type TrialRange } from '../rng';
import { assignWeights, type CheckpointStore } from './artifacts';
import type { TrainConfig } from './config';
import { clipByGlobalNorm, createOptimizer, learningRate, type Optimizer } from './optimizers';
import type { DataSet, FitContext, LossFunction, PhaseOptions, PhaseResult, TrainingBatch } from './trainable';

/** What the trainer trains: a candidate's variables and its differentiable forward pass. */
export interface TrainingProblem {
  /** Every trainable variable, by artifact name (`encoder/pilotsRe`). */
  readonly variables: Readonly<Record<string, tf.Variable>>;
  /**
   * One forward pass over trials of a data set; called inside the trainer's scope. `pass`: the
   * pass over a fixed training set whose per-pass draws (the noise) the trials get; undefined for
   * the validation set, fresh samples, `trainingNoise: "fixed"`, and a plugin's own calls through
   * {@link FitContext.forward} (these get the trials' pass-independent draws).
   */
  forward(trials: TrialRange, set: DataSet, pass?: DataPass): TrainingBatch;
  /** The configured loss (built-in or a plugin's own). */
  readonly loss: LossFunction;
  /** Switch every trainable plugin between training and inference. */
  setTraining(training: boolean): void;
  /** After every optimizer step: the trainable plugins' {@link Trainable.afterStep} (projections). */
  afterStep?(): void;
  /** The parts of the last step's loss ({@link Trainable.lossTerms}), for the loss history. */
  lossTerms?(): Readonly<Record<string, number>> | undefined;
  /** A plugin that drives its own schedule. */
  readonly fit?: { readonly slot: string; run(context: FitContext): Promise<void> };
}

/** One entry of the loss history. */
export interface LossPoint {
  /** Steps taken so far (over all phases). */
  readonly step: number;
  /** Mean training loss over the steps since the previous entry. */
  readonly loss: number;
  /** Validation loss, when the validation set was evaluated at this step. */
  readonly validationLoss?: number;
  /** Phase name, when it is not the single default phase. */
  readonly phase?: string;
  /**
   * The parts of the loss, by name, when a trainable plugin reports them
   * ({@link Trainable.lossTerms}), e.g. the per-user cross-entropies of a multi-task loss: each the
   * mean over the steps since the previous entry, like `loss`.
   */
  readonly terms?: Readonly<Record<string, number>>;
}

/** A progress report, after every step. */
export interface TrainingProgress {
  readonly phase: string;
  /** Step within the phase (1-based) and the phase's planned number of steps. */
  readonly step: number;
  readonly totalSteps: number;
  readonly globalStep: number;
  /** Mean training loss since the last history entry. */
  readonly loss: number;
  readonly validationLoss?: number;
  readonly bestValidationLoss?: number;
  readonly stepsPerSecond: number;
  /** Seconds left in this phase at the current rate. */
  readonly etaSeconds: number;
}

export interface TrainingOutcome {
  /** Steps taken over all phases. */
  readonly steps: number;
  readonly phases: readonly PhaseResult[];
  readonly lossHistory: readonly LossPoint[];
  /** How the last phase ended. */
  readonly stop: PhaseResult['stop'];
  readonly finalLoss: number;
  readonly bestValidationLoss?: number;
  readonly bestStep?: number;
  /** Wall-clock seconds of training, over every session of a resumed run. */
  readonly seconds: number;
  /** The global step of the checkpoint this run resumed from, if it did. */
  readonly resumedFrom?: number;
}

export interface TrainerOptions {
  readonly config: TrainConfig;
  /** Where checkpoints go; without one, nothing is saved and nothing resumed. */
  readonly checkpoints?: CheckpointStore;
  readonly onProgress?: (progress: TrainingProgress) => void;
  /** Between steps: save a checkpoint and throw {@link TrainingInterrupted}. */
  readonly signal?: AbortSignal;
  /** Seconds since an arbitrary origin (injectable for tests). */
  readonly now?: () => number;
  /**
   * Stop abruptly after this many global steps, without saving, as a killed process would (for
   * tests of resumption).
   */
  readonly killAfter?: number;
}

/** Training stopped by the user; a checkpoint was saved (when there is a store). */
export class TrainingInterrupted extends GfraUserError {
  override readonly name = 'TrainingInterrupted';
  constructor(
    readonly step: number,
    readonly location: string | undefined,
  ) {
    super(
      location === undefined
        ? `training interrupted at step ${step}`
        : `training interrupted at step ${step}; checkpoint saved in ${location}. Run the same command again to resume`,
    );
  }
}

/** The loss became NaN or infinite. */
export class TrainingDiverged extends GfraUserError {
  override readonly name = 'TrainingDiverged';
  constructor(step: number, loss: number) {
    super(
      `training diverged at step ${step}: the loss is ${loss}. Lower the learning rate (train.optimizer.learningRate) or clip the gradients (train.clipGlobalNorm)`,
    );
  }
}

/** Validation batches: large enough to be cheap, independent of the training batch size. */
const VALIDATION_BATCH = 256;
/** About this many loss-history entries per phase. */
const HISTORY_POINTS = 100;

interface PhaseState {
  name: string;
  index: number;
  step: number;
  totalSteps: number;
  runningSum: number;
  runningCount: number;
  /** Sums of the loss terms ({@link TrainingProblem.lossTerms}) over the steps since the last history point. */
  termSums?: Record<string, number>;
  finalLoss: number;
  lastValidationLoss?: number;
  bestValidationLoss?: number;
  bestStep?: number;
  sinceImprovement: number;
}

interface TrainerState {
  globalStep: number;
  /** Trials drawn so far with fresh sampling (the data position). */
  trialsDrawn: number;
  phaseIndex: number;
  completed: PhaseResult[];
  history: LossPoint[];
  seconds: number;
}

type Json = Record<string, unknown>;

/** Select the variables named by `patterns` (names, or prefixes ending in '/'). */
export function selectVariables(all: Readonly<Record<string, tf.Variable>>, patterns?: readonly string[]): Record<string, tf.Variable> {
  if (patterns === undefined) return { ...all };
  const out: Record<string, tf.Variable> = {};
  for (const p of patterns) {
    const hits = Object.keys(all).filter((n) => (p.endsWith('/') ? n.startsWith(p) : n === p));
    if (hits.length === 0) throw new Error(`phase variables: "${p}" matches no variable (have ${Object.keys(all).join(', ')})`);
    for (const h of hits) out[h] = all[h];
  }
  return out;
}

/** Batches of a fixed training set of `size` trials with batch size `batch`. */
function batchesPerEpoch(size: number, batch: number): number {
  return Math.ceil(size / batch);
}

/** The seeded order of the batches of epoch `epoch` of phase `phase` (Fisher-Yates). */
export function epochOrder(count: number, phase: number, epoch: number): number[] {
  const g = Generator.fromKey(['gfra-train-epoch-order', phase, epoch]);
  const order = [...Array(count).keys()];
  for (let i = count - 1; i > 0; i--) {
    const j = g.integer(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

class Trainer {
  private state: TrainerState = { globalStep: 0, trialsDrawn: 0, phaseIndex: 0, completed: [], history: [], seconds: 0 };
  private resume: { state: TrainerState; phase: PhaseState; tensors: Record<string, tf.Tensor> } | undefined;
  private readonly resumedFrom: number | undefined;
  private readonly now: () => number;
  private sessionStart: number;
  private secondsBefore = 0;
  private singlePhase = true;

  constructor(
    private readonly problem: TrainingProblem,
    private readonly options: TrainerOptions,
  ) {
    this.now = options.now ?? (() => performance.now() / 1000);
    this.sessionStart = this.now();
    const saved = options.checkpoints?.load();
    if (saved !== undefined) {
      const s = saved.state as unknown as { trainer: TrainerState; phase: PhaseState };
      const tensors = saved.tensors as Record<string, tf.Tensor>;
      const weights = Object.fromEntries(Object.keys(problem.variables).map((n) => [n, tensors[`weights/${n}`]]));
      const missing = Object.keys(weights).filter((n) => weights[n] === undefined);
      if (missing.length > 0) {
        tf.dispose(Object.values(tensors));
        throw new GfraUserError(
          `checkpoint ${options.checkpoints?.location} has no weights for ${missing.join(', ')}. Delete it to restart this training (or run with --retrain)`,
        );
      }
      assignWeights(problem.variables, weights);
      // Phases are replayed from the first: completed ones return at once (see phase()).
      this.state = { ...structuredClone(s.trainer), phaseIndex: 0, completed: [] };
      this.secondsBefore = s.trainer.seconds;
      this.resume = { state: s.trainer, phase: s.phase, tensors };
      this.resumedFrom = s.trainer.globalStep;
    }
  }

  async run(): Promise<TrainingOutcome> {
    this.problem.setTraining(true);
    try {
      const fit = this.problem.fit;
      if (fit !== undefined) {
        this.singlePhase = false;
        await fit.run(this.context(fit.slot));
      } else {
        await this.phase('main', {});
      }
    } finally {
      this.problem.setTraining(false);
      if (this.resume !== undefined) tf.dispose(Object.values(this.resume.tensors));
      this.resume = undefined;
    }
    const phases = this.state.completed;
    const last = phases[phases.length - 1];
    const withBest = phases.filter((p) => p.bestValidationLoss !== undefined);
    const best = withBest[withBest.length - 1];
    return {
      steps: this.state.globalStep,
      phases,
      lossHistory: this.state.history,
      stop: last?.stop ?? 'completed',
      finalLoss: last?.finalLoss ?? NaN,
      bestValidationLoss: best?.bestValidationLoss,
      bestStep: best?.bestStep,
      seconds: this.elapsed(),
      resumedFrom: this.resumedFrom,
    };
  }

  private elapsed(): number {
    return this.secondsBefore + (this.now() - this.sessionStart);
  }

  private context(slot: string): FitContext {
    return {
      config: this.options.config,
      slot,
      variables: this.problem.variables,
      phase: (name, options) => this.phase(name, options ?? {}),
      forward: (trials, set) => this.problem.forward(trials, set),
      signal: this.options.signal,
    };
  }

  private phaseConfig(options: PhaseOptions): TrainConfig {
    const merged = { ...this.options.config, ...(options.config ?? {}) } as TrainConfig;
    if (options.config?.epochs !== undefined && options.config.steps === undefined) delete (merged as Partial<TrainConfig>).steps;
    if (options.config?.steps !== undefined && options.config.epochs === undefined) delete (merged as Partial<TrainConfig>).epochs;
    return merged;
  }

  async phase(name: string, options: PhaseOptions): Promise<PhaseResult> {
    const index = this.state.phaseIndex;
    const resume = this.resume;
    if (resume !== undefined && index < resume.state.phaseIndex) {
      // Completed before the checkpoint: its weights are already restored.
      const done = resume.state.completed[index];
      this.state.completed.push(done);
      this.state.phaseIndex += 1;
      return done;
    }
    const config = this.phaseConfig(options);
    const variables = selectVariables(this.problem.variables, options.variables);
    const lossFn = options.loss ?? this.problem.loss;
    const optimizer = createOptimizer(config.optimizer, variables);
    const perEpoch = config.trainingSetSize === undefined ? undefined : batchesPerEpoch(config.trainingSetSize, config.batchSize);
    const totalSteps = config.steps ?? (config.epochs as number) * (perEpoch as number);
    if (!Number.isInteger(totalSteps) || totalSteps < 1) {
      throw new GfraUserError(`train: phase "${name}" has no length; give steps, or epochs with trainingSetSize`);
    }
    const validation = config.validation;
    const validateEvery = validation?.every ?? (perEpoch ?? Math.max(1, Math.floor(totalSteps / 20)));
    const logEvery = Math.max(1, Math.floor(totalSteps / HISTORY_POINTS));
    let ps: PhaseState = { name, index, step: 0, totalSteps, runningSum: 0, runningCount: 0, finalLoss: NaN, sinceImprovement: 0 };
    let best: Record<string, tf.Tensor> | undefined;
    if (resume !== undefined && index === resume.state.phaseIndex) {
      ps = structuredClone(resume.phase);
      const opt = Object.fromEntries(Object.entries(resume.tensors).filter(([k]) => k.startsWith('optimizer/')).map(([k, t]) => [k.slice('optimizer/'.length), t]));
      optimizer.restore(opt, (resume.state as unknown as { optimizerIterations?: number }).optimizerIterations ?? ps.step);
      const bestEntries = Object.entries(resume.tensors).filter(([k]) => k.startsWith('best/'));
      if (bestEntries.length > 0) best = Object.fromEntries(bestEntries.map(([k, t]) => [k.slice('best/'.length), tf.clone(t)]));
      tf.dispose(Object.values(resume.tensors));
      this.resume = undefined;
    }
    const phaseStart = this.now();
    const stepAtStart = ps.step;
    let stop: PhaseResult['stop'] = 'completed';
    const lr0 = config.optimizer.learningRate;
    let lastYield = performance.now();
    try {
      while (ps.step < totalSteps) {
        // Let the event loop run now and then (signal handlers, timers): the steps themselves
        // resolve as microtasks on synchronous backends.
        if (performance.now() - lastYield > 50) {
          await new Promise((resolve) => setImmediate(resolve));
          lastYield = performance.now();
        }
        if (this.options.signal?.aborted) {
          await this.checkpoint(ps, optimizer, best);
          throw new TrainingInterrupted(this.state.globalStep, this.options.checkpoints?.location);
        }
        const { trials, pass } = this.trainingBatch(config, ps, perEpoch);
        const lr = learningRate(lr0, config.schedule, ps.step, totalSteps);
        const loss = await this.step(lossFn, trials, pass, variables, optimizer, lr, config.clipGlobalNorm);
        ps.step += 1;
        this.state.globalStep += 1;
        if (!Number.isFinite(loss)) throw new TrainingDiverged(this.state.globalStep, loss);
        ps.runningSum += loss;
        ps.runningCount += 1;
        const stepTerms = this.problem.lossTerms?.();
        if (stepTerms !== undefined) {
          const sums = (ps.termSums ??= {});
          for (const [k, v] of Object.entries(stepTerms)) sums[k] = (sums[k] ?? 0) + v;
        }

        let validationLoss: number | undefined;
        if (validation !== undefined && (ps.step % validateEvery === 0 || ps.step === totalSteps)) {
          validationLoss = await this.validate(lossFn, validation.size);
          ps.lastValidationLoss = validationLoss;
          if (ps.bestValidationLoss === undefined || validationLoss < ps.bestValidationLoss - validation.minDelta) {
            ps.bestValidationLoss = validationLoss;
            ps.bestStep = this.state.globalStep;
            ps.sinceImprovement = 0;
            if (validation.restoreBest) {
              tf.dispose(Object.values(best ?? {}));
              best = Object.fromEntries(Object.entries(variables).map(([n, v]) => [n, tf.clone(v)]));
            }
          } else {
            ps.sinceImprovement += 1;
          }
          if (validation.patience !== undefined && ps.sinceImprovement >= validation.patience) stop = 'early-stopping';
        }
        const last = ps.step === totalSteps || stop === 'early-stopping';
        if (ps.step % logEvery === 0 || validationLoss !== undefined || last) {
          const mean = ps.runningSum / ps.runningCount;
          ps.finalLoss = mean;
          const terms = ps.termSums === undefined ? undefined : Object.fromEntries(Object.entries(ps.termSums).map(([k, v]) => [k, v / ps.runningCount]));
          this.state.history.push({
            step: this.state.globalStep,
            loss: mean,
            ...(validationLoss !== undefined ? { validationLoss } : {}),
            ...(this.singlePhase ? {} : { phase: name }),
            ...(terms !== undefined && Object.keys(terms).length > 0 ? { terms: { ...terms } } : {}),
          });
          ps.runningSum = 0;
          ps.runningCount = 0;
          ps.termSums = undefined;
        }
        const seconds = this.now() - phaseStart;
        const rate = (ps.step - stepAtStart) / Math.max(seconds, 1e-9);
        this.options.onProgress?.({
          phase: name,
          step: ps.step,
          totalSteps,
          globalStep: this.state.globalStep,
          loss: ps.runningCount > 0 ? ps.runningSum / ps.runningCount : ps.finalLoss,
          validationLoss: ps.lastValidationLoss,
          bestValidationLoss: ps.bestValidationLoss,
          stepsPerSecond: rate,
          etaSeconds: (totalSteps - ps.step) / Math.max(rate, 1e-9),
        });
        if (stop === 'early-stopping') break;
        if (this.options.killAfter !== undefined && this.state.globalStep >= this.options.killAfter) {
          throw new TrainingInterrupted(this.state.globalStep, undefined);
        }
        if (this.state.globalStep % this.options.config.checkpointEvery === 0 && ps.step < totalSteps) {
          await this.checkpoint(ps, optimizer, best);
        }
      }
      if (best !== undefined && validation?.restoreBest) assignWeights(variables, best);
    } finally {
      tf.dispose(Object.values(best ?? {}));
      optimizer.dispose();
    }
    const result: PhaseResult = {
      name,
      steps: ps.step,
      stop,
      finalLoss: ps.finalLoss,
      ...(ps.bestValidationLoss !== undefined ? { bestValidationLoss: ps.bestValidationLoss, bestStep: ps.bestStep } : {}),
    };
    this.state.completed.push(result);
    this.state.phaseIndex += 1;
    return result;
  }

  /**
   * The trials of the next training batch (and advance the fresh-sample position), with the pass
   * whose noise they get (a fixed training set with `trainingNoise: "redraw"` only).
   */
  private trainingBatch(config: TrainConfig, ps: PhaseState, perEpoch: number | undefined): { trials: TrialRange; pass?: DataPass } {
    const B = config.batchSize;
    if (perEpoch === undefined) {
      const first = this.state.trialsDrawn;
      this.state.trialsDrawn += B;
      return { trials: { first, count: B } };
    }
    const size = config.trainingSetSize as number;
    const epoch = Math.floor(ps.step / perEpoch);
    const block = epochOrder(perEpoch, ps.index, epoch)[ps.step % perEpoch];
    const first = block * B;
    const trials = { first, count: Math.min(B, size - first) };
    return config.trainingNoise === 'fixed' ? { trials } : { trials, pass: { phase: ps.index, epoch } };
  }

  private async step(
    lossFn: LossFunction,
    trials: TrialRange,
    pass: DataPass | undefined,
    variables: Readonly<Record<string, tf.Variable>>,
    optimizer: Optimizer,
    lr: number,
    clip: number | undefined,
  ): Promise<number> {
    const list = Object.values(variables);
    const byId = new Map(Object.entries(variables).map(([n, v]) => [v.name, n]));
    const { value, grads } = tf.variableGrads(() => lossFn(this.problem.forward(trials, 'train', pass)), list);
    try {
      const named: Record<string, tf.Tensor> = {};
      for (const [id, g] of Object.entries(grads)) {
        const n = byId.get(id);
        if (n !== undefined && g !== null) named[n] = g;
      }
      const clipped = clip === undefined ? named : clipByGlobalNorm(named, clip);
      optimizer.apply(clipped, lr);
      if (clipped !== named) tf.dispose(Object.values(clipped));
      this.problem.afterStep?.();
      return (await value.data())[0];
    } finally {
      value.dispose();
      tf.dispose(Object.values(grads).filter((g): g is tf.Tensor => g !== null));
    }
  }

  /** Mean loss over the validation set (trials 0..size-1 of the validation domain). */
  private async validate(lossFn: LossFunction, size: number): Promise<number> {
    let total = 0;
    for (let first = 0; first < size; first += VALIDATION_BATCH) {
      const count = Math.min(VALIDATION_BATCH, size - first);
      const loss = tf.tidy(() => lossFn(this.problem.forward({ first, count }, 'validation')));
      total += (await loss.data())[0] * count;
      loss.dispose();
    }
    return total / size;
  }

  private async checkpoint(ps: PhaseState, optimizer: Optimizer, best: Record<string, tf.Tensor> | undefined): Promise<void> {
    const store = this.options.checkpoints;
    if (store === undefined) return;
    const { tensors: opt, iterations } = optimizer.state();
    const tensors: Record<string, tf.Tensor> = {};
    for (const [n, v] of Object.entries(this.problem.variables)) tensors[`weights/${n}`] = v;
    for (const [k, t] of Object.entries(opt)) tensors[`optimizer/${k}`] = t;
    for (const [k, t] of Object.entries(best ?? {})) tensors[`best/${k}`] = t;
    const trainer = { ...this.state, seconds: this.elapsed(), optimizerIterations: iterations };
    await store.save({ state: { trainer, phase: ps } as unknown as Json, tensors });
  }
}

/**
 * Train `problem` as its train block says, resuming from the store's checkpoint if it has one.
 * The variables end with the trained (or, with `restoreBest`, the best-validation) weights.
 */
export async function train(problem: TrainingProblem, options: TrainerOptions): Promise<TrainingOutcome> {
  return new Trainer(problem, options).run();
}
