/**
 * The `train` block of a candidate: what the generic trainer does (loss, optimizer, learning-rate
 * schedule, clipping, data, validation and early stopping, training-only overrides, checkpoints).
 *
 * One TypeBox declaration gives the JSON Schema (assembled into the spec schema by the runner),
 * the TypeScript type and the defaults.
 */
import { Type, type Static } from '@sinclair/typebox';

export const AdamSchema = Type.Object(
  {
    type: Type.Literal('adam'),
    learningRate: Type.Number({ exclusiveMinimum: 0, default: 1e-3, description: 'step size (before the schedule)' }),
    beta1: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0.9, description: 'decay of the first-moment estimate' }),
    beta2: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0.999, description: 'decay of the second-moment estimate' }),
    epsilon: Type.Number({ exclusiveMinimum: 0, default: 1e-7, description: 'added to sqrt(v) in the denominator' }),
  },
  { additionalProperties: false },
);

export const SgdSchema = Type.Object(
  {
    type: Type.Literal('sgd'),
    learningRate: Type.Number({ exclusiveMinimum: 0, default: 1e-2, description: 'step size (before the schedule)' }),
    momentum: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0, description: 'heavy-ball momentum (0: plain SGD)' }),
    nesterov: Type.Boolean({ default: false, description: 'Nesterov momentum' }),
  },
  { additionalProperties: false },
);

export const OptimizerSchema = Type.Union([AdamSchema, SgdSchema], {
  default: { type: 'adam' },
  description: 'Optimizer: "adam" (Kingma and Ba 2015) or "sgd" (with optional momentum)',
});
export type OptimizerConfig = Static<typeof OptimizerSchema>;

export const ScheduleSchema = Type.Union(
  [
    Type.Object({ type: Type.Literal('constant') }, { additionalProperties: false }),
    Type.Object(
      {
        type: Type.Literal('exponential'),
        decayRate: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'factor per decaySteps steps' }),
        decaySteps: Type.Integer({ minimum: 1, description: 'steps over which the rate is multiplied by decayRate' }),
        staircase: Type.Boolean({ default: false, description: 'decay in whole steps of decaySteps' }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        type: Type.Literal('cosine'),
        finalFraction: Type.Number({ minimum: 0, maximum: 1, default: 0, description: 'final rate as a fraction of the initial one' }),
      },
      { additionalProperties: false },
    ),
  ],
  {
    default: { type: 'constant' },
    description:
      'Learning-rate schedule over the steps of a phase: "constant", "exponential" (lr0 decayRate^(step/decaySteps)) or "cosine" (from lr0 down to finalFraction lr0 at the last step)',
  },
);
export type ScheduleConfig = Static<typeof ScheduleSchema>;

export const ValidationSchema = Type.Object(
  {
    size: Type.Integer({ minimum: 1, default: 1000, description: 'held-out trials (a fixed set, drawn from its own random stream)' }),
    every: Type.Optional(
      Type.Integer({ minimum: 1, description: 'validate every this many steps (default: once per epoch; with fresh samples, 20 times per phase)' }),
    ),
    patience: Type.Optional(
      Type.Integer({ minimum: 1, description: 'early stopping: stop after this many validations without improvement (default: no early stopping)' }),
    ),
    minDelta: Type.Number({ minimum: 0, default: 0, description: 'an improvement must lower the validation loss by more than this' }),
    restoreBest: Type.Boolean({ default: true, description: 'end with the weights of the best validation loss' }),
  },
  { additionalProperties: false, description: 'Held-out validation set, early stopping' },
);
export type ValidationConfig = Static<typeof ValidationSchema>;

export const LOSS_NAMES = ['auto', 'bce', 'mse', 'ce', 'plugin'] as const;
export type LossName = (typeof LOSS_NAMES)[number];

export const TrainSchema = Type.Object(
  {
    loss: Type.Union(
      LOSS_NAMES.map((n) => Type.Literal(n)),
      {
        default: 'auto',
        description:
          'Training loss: "bce" (activity, from activityScore), "mse" (channel estimate of the active devices), "ce" (bit-wise cross-entropy of the messages, from bitLLR), "plugin" (the trainable plugin\'s own loss); "auto" = the plugin\'s own loss if it has one, else "bce"',
      },
    ),
    optimizer: OptimizerSchema,
    schedule: ScheduleSchema,
    clipGlobalNorm: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: 'rescale the gradients when their global norm exceeds this (default: no clipping)' }),
    ),
    batchSize: Type.Integer({ minimum: 1, default: 32, description: 'trials per training step' }),
    steps: Type.Optional(Type.Integer({ minimum: 1, description: 'training steps (give steps or epochs)' })),
    epochs: Type.Optional(Type.Integer({ minimum: 1, description: 'passes over the training set (needs trainingSetSize)' })),
    trainingSetSize: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'a fixed training set of this many trials, reshuffled every epoch (default: fresh trials for every batch)',
      }),
    ),
    trainingNoise: Type.Union([Type.Literal('redraw'), Type.Literal('fixed')], {
      default: 'redraw',
      description:
        'with trainingSetSize: "redraw" draws the channel noise of every training trial anew on every epoch (activity, messages and fading stay those of the trial), "fixed" keeps the same noise in every epoch; the validation set never changes',
    }),
    validation: Type.Optional(ValidationSchema),
    overrides: Type.Record(Type.String(), Type.Unknown(), {
      default: {},
      description:
        'training-only changes to the candidate, as parameter paths, e.g. { "channel.params.snrDb": 10 } or { "channel.params.snrDb": { "min": 0, "max": 20 } }, or whole slots, e.g. { "detector": { "plugin": "sicnn" } } to train the encoder through one receiver and evaluate it with another (the evaluation then loads only the weights of slots that run the same plugin)',
    }),
    checkpointEvery: Type.Integer({ minimum: 1, default: 200, description: 'save a resumable checkpoint every this many steps' }),
    shareAcrossPoints: Type.Optional(
      Type.Boolean({
        description:
          'train once for every sweep point whose training configuration is the same (typically when the swept parameter is overridden for training, e.g. "channel.params.snrDb": { "set": [...] }): the training draws are keyed without the point, and points that would train identically share one model',
      }),
    ),
    shareAcrossRepetitions: Type.Optional(
      Type.Boolean({
        description:
          'with montecarlo.repetitions > 1: train once (on the first repetition\'s draws) and evaluate that model in every repetition, instead of one training per repetition (the default, which also varies the initialisation and training data)',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Train this candidate\'s trainable plugins end to end (traffic -> encoder -> channel -> detector) before evaluating it; trained weights are cached by content hash',
  },
);
export type TrainConfig = Static<typeof TrainSchema>;

/**
 * The draws `trainingNoise: "redraw"` renews on every epoch: the `noise` component of the
 * channel's random streams (a channel draws its additive noise under this name; other draws,
 * such as activity, messages and fading, keep their values in every epoch). This is the training
 * of [Cui2021] (Sec. III-A): its encoder generates the noise Z on every forward pass over the
 * fixed training samples (X[i], alpha[i]).
 */
export const TRAINING_NOISE_DRAWS: readonly string[] = ['noise'];

/** Fields of a train block that do not change the trained weights (left out of the cache key). */
export const TRAIN_FIELDS_NOT_HASHED: readonly (keyof TrainConfig)[] = ['checkpointEvery', 'shareAcrossRepetitions'];
