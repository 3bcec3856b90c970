/**
 * The layer-wise training of DL-mAMPnet (Z. Ma, W. Wu, F. Gao, X. Shen, "Model-driven deep
 * learning for non-coherent massive machine-type communications", Sec. V-A, Algorithm 1): T + 2
 * phases with a fresh optimizer each — phase t trains layer t {B_t, v_t, theta_{t,1}, theta_{t,2}}
 * on the MSE of X_t (Eq. (58)), phase T+1 the refinement module on the BCE (59), phase T+2
 * everything on the BCE — with the schedule parameter, the training targets and the losses.
 */
import * as tf from '@tensorflow/tfjs';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { numSequences, type FitContext, type ParamProblem, type Scenario, type TrainingBatch } from '@gfra/core';

const PhaseList = <T extends TSchema>(item: T, description: string) => Type.Optional(Type.Array(item, { minItems: 1, description }));

/** Per-phase epochs, steps and learning rates (each list has T + 2 entries). */
export const LayerwiseSchedule = Type.Object(
  {
    epochs: PhaseList(Type.Integer({ minimum: 1 }), 'epochs of each of the T + 2 phases (needs train.trainingSetSize); paper: [2000, 1500, 1000, 1000, 1500, 5000]'),
    steps: PhaseList(Type.Integer({ minimum: 1 }), 'steps of each of the T + 2 phases (instead of epochs)'),
    learningRates: PhaseList(
      Type.Number({ exclusiveMinimum: 0 }),
      'learning rate of each of the T + 2 phases (a fresh optimizer of train.optimizer.type per phase); paper: [2e-5 x 4, 1e-5 x 2]',
    ),
  },
  {
    additionalProperties: false,
    description: 'Layer-wise schedule (Algorithm 1): phases 1..T train layer t on the MSE of X_t, T+1 the refinement module on BCE, T+2 everything on BCE. Omitted entries use the train block',
  },
);
export type LayerwiseSchedule = Static<typeof LayerwiseSchedule>;

/** Problems of a schedule for T = `layers`: one entry per phase, and epochs or steps, not both. */
export function scheduleProblems(layers: number, schedule: LayerwiseSchedule | undefined): ParamProblem[] {
  const problems: ParamProblem[] = [];
  const phases = layers + 2;
  for (const key of ['epochs', 'steps', 'learningRates'] as const) {
    const list = schedule?.[key];
    if (list !== undefined && list.length !== phases) {
      problems.push({ path: `schedule.${key}`, message: `has ${list.length} entries; layers = ${layers} needs T + 2 = ${phases}`, hint: 'Give one value per phase' });
    }
  }
  if (schedule?.epochs !== undefined && schedule.steps !== undefined) {
    problems.push({ path: 'schedule', message: 'gives both epochs and steps', hint: 'Give one of them' });
  }
  return problems;
}

/** What {@link runLayerwiseSchedule} asks of the network being trained. */
export interface LayerwiseHooks {
  /** Called before the phase of `stage` (1..T: layer t, MSE; T+1, T+2: BCE) starts. */
  enter(stage: number): void;
  /** Called after each phase, also when it fails. */
  leave(): void;
  /** The loss of phase `stage` on a batch. */
  loss(batch: TrainingBatch, stage: number): tf.Scalar;
}

/**
 * Run the T + 2 phases in order through `ctx.phase`: `layer<t>-mse` on the variables
 * `<slot>/layer<t>/` (t = 1..T), `refinement-bce` on `<slot>/rm/`, `joint-bce` on both.
 */
export async function runLayerwiseSchedule(ctx: FitContext, layers: number, schedule: LayerwiseSchedule | undefined, hooks: LayerwiseHooks): Promise<void> {
  const T = layers;
  const slot = ctx.slot;
  const config = (k: number) => {
    const c: Record<string, unknown> = {};
    if (schedule?.epochs !== undefined) c.epochs = schedule.epochs[k];
    if (schedule?.steps !== undefined) c.steps = schedule.steps[k];
    if (schedule?.learningRates !== undefined) c.optimizer = { ...ctx.config.optimizer, learningRate: schedule.learningRates[k] };
    return c;
  };
  const layerVars = (t: number) => [`${slot}/layer${t}/`];
  const run = async (name: string, stage: number, variables: string[]) => {
    hooks.enter(stage);
    try {
      await ctx.phase(name, { variables, config: config(stage - 1), loss: (batch) => hooks.loss(batch, stage) });
    } finally {
      hooks.leave();
    }
  };
  for (let t = 1; t <= T; t++) await run(`layer${t}-mse`, t, layerVars(t));
  await run('refinement-bce', T + 1, [`${slot}/rm/`]);
  await run('joint-bce', T + 2, [...Array.from({ length: T }, (_, i) => layerVars(i + 1)).flat(), `${slot}/rm/`]);
}

/**
 * Training targets from the truth: X_r / sigma in the row layout [B, M, 2NQ] (entry (m, r) =
 * X_r[r, m]) and alpha [B, NQ] (alpha_{n,q} = 1 when device n is active and sent q).
 */
export function trainingTargets(scenario: Scenario, batch: Pick<TrainingBatch, 'truth' | 'observation'>): { x: tf.Tensor3D; alpha: tf.Tensor2D } {
  const { numDevices: N, numAntennas: M } = scenario;
  const Q = numSequences(scenario);
  const truth = batch.truth;
  const h = truth.channel;
  if (h.re.rank !== 3) throw new Error(`needs a block-fading channel [B, N, M] for its training targets; got shape [${h.re.shape}]`);
  const B = h.re.shape[0];
  const sel = tf.mul(tf.oneHot(tf.cast(truth.message, 'int32'), Q).toFloat(), tf.expandDims(truth.activity, 2)); // [B, N, Q]
  const rows = (part: tf.Tensor) => tf.reshape(tf.mul(tf.reshape(tf.transpose(part, [0, 2, 1]), [B, M, N, 1]), tf.reshape(sel, [B, 1, N, Q])), [B, M, N * Q]);
  const sigma = Math.sqrt(batch.observation.noiseVar ?? 1);
  const x = tf.div(tf.concat([rows(h.re), rows(h.im)], 2), sigma) as tf.Tensor3D;
  return { x, alpha: tf.reshape(sel, [B, N * Q]) as tf.Tensor2D };
}

/** The MSE phases' loss (Eq. (58)): the mean over real entries of (X_t - X)^2. */
export function layerMse(x: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.mean(tf.square(tf.sub(x, target))) as tf.Scalar;
}

/**
 * The BCE phases' loss (Eq. (59)) of the refinement output a [B, NQ] against alpha: "logits" the
 * BCE with logits z = 2 rho a (the smooth relative of f_rho, since (1 + tanh(rho a)) / 2 =
 * sigmoid(2 rho a)); "literal" the BCE of f_rho(a) = ReLU(tanh(rho a)) clipped to [1e-7, 1 - 1e-7].
 */
export function refinementBce(a: tf.Tensor, alpha: tf.Tensor, rho: number, surrogate: 'logits' | 'literal'): tf.Scalar {
  if (surrogate === 'logits') {
    // BCE with logits z = 2 rho a: max(z, 0) - z alpha + log(1 + exp(-|z|))
    const z = tf.mul(2 * rho, a);
    return tf.mean(tf.add(tf.sub(tf.relu(z), tf.mul(z, alpha)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))))) as tf.Scalar;
  }
  const p = tf.clipByValue(tf.relu(tf.tanh(tf.mul(rho, a))), 1e-7, 1 - 1e-7);
  return tf.neg(tf.mean(tf.add(tf.mul(alpha, tf.log(p)), tf.mul(tf.sub(1, alpha), tf.log(tf.sub(1, p)))))) as tf.Scalar;
}
