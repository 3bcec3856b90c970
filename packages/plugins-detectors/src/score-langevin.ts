import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  TOKENS,
  type Capability,
  type ComplexTensor,
  type Detector,
  type Estimate,
  type Generator,
  type ObservationWith,
  type ParamProblem,
  type RandomStreams,
  type Scenario,
  type Trainable,
  type TrainingBatch,
} from '@gfra/core';
import { annealedLangevin, type LangevinSchedule } from './algorithms/langevin';
import {
  ColumnDeepSetsScore,
  ColumnRadialScore,
  denoisingScoreMatchingLoss,
  GaussianScore,
  geometricLevels,
  OracleMixtureScore,
  pathLossPrior,
  type ScoreModel,
} from './algorithms/score-models';
import { RefineNetLiteScore } from './algorithms/score-refinenet';

const REQUIRES = ['codebook', 'noiseVariance'] as const satisfies readonly Capability[];
type LangevinObservation = ObservationWith<(typeof REQUIRES)[number]>;

const Ladder = (max: number, min: number, count: number, what: string) =>
  Type.Object(
    {
      max: Type.Number({ exclusiveMinimum: 0, default: max, description: 'sigma_1, the largest level' }),
      min: Type.Number({ exclusiveMinimum: 0, default: min, description: 'sigma_S, the smallest level' }),
      count: Type.Integer({ minimum: 1, default: count, description: 'S, the number of levels' }),
    },
    { additionalProperties: false, default: {}, description: `${what}: geometric levels sigma_1 > ... > sigma_S` },
  );

const kind = <S extends string>(name: S) => Type.Literal(name, { description: 'score model' });

export const ScorePrior = Type.Union(
  [
    Type.Object(
      { type: kind('column-radial'), hidden: Type.Integer({ minimum: 1, default: 64, description: 'width of the two hidden layers' }) },
      {
        additionalProperties: false,
        description: 'learned radial score: score_n = -sigmoid(MLP(log energy of user n, log sigma, mean log energy)) x_n / sigma^2 (the structure of the exact score of the path-loss Rayleigh prior; about 4.5k parameters); train it (DSM)',
      },
    ),
    Type.Object(
      { type: kind('column-deepsets'), hidden: Type.Integer({ minimum: 1, default: 128, description: 'hidden width' }) },
      { additionalProperties: false, description: 'learned per-user MLP with a context pooled over users (permutation-equivariant, no radial assumption), output / sigma; train it (DSM)' },
    ),
    Type.Object(
      {
        type: kind('refinenet-lite'),
        channels: Type.Integer({ minimum: 1, default: 16, description: 'C: feature maps of the first level (level d has min(2^d C, 4 C))' }),
        depth: Type.Integer({ minimum: 1, default: 2, description: 'D: down-sampling levels (sizes padded to multiples of 2^D)' }),
        logSigmaInput: Type.Boolean({ default: true, description: 'an extra constant input channel log sigma' }),
        inputScaling: Type.Boolean({ default: true, description: 'feed x / sqrt(1 + sigma^2) (not in the papers)' }),
      },
      {
        additionalProperties: false,
        description:
          'learned fully convolutional RefineNet-style net on X as an N x M image (re, im channels): residual conv blocks, down-sampling, up-sampling with skips and chained residual pooling, output / sigma (the paper\'s Fig. 3 architecture, sizes ours); about 0.3M parameters at C = 16, D = 2; train it (DSM; far slower than the column models on a CPU)',
      },
    ),
    Type.Object(
      {
        type: kind('oracle-mixture'),
        activityProb: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'epsilon = K / N: the probability that a user is active' }),
        minDistanceKm: Type.Number({ exclusiveMinimum: 0, default: 0.1, description: 'inner radius of the annulus (must match the channel)' }),
        maxDistanceKm: Type.Number({ exclusiveMinimum: 0, default: 0.3, description: 'outer radius (must match the channel)' }),
        pathLossDb: Type.Number({ default: 128.1, description: 'a in PL(dB) = a + b log10(d / km)' }),
        pathLossExponentDb: Type.Number({ exclusiveMinimum: 0, default: 37.6, description: 'b in PL(dB) = a + b log10(d / km)' }),
        gains: Type.Union([Type.Literal('path-loss'), Type.Literal('equal')], { default: 'path-loss', description: 'as the channel: distance-based gains or perfect power control' }),
        rings: Type.Integer({ minimum: 1, default: 64, description: 'J: equal-probability rings the distance law is discretised into' }),
      },
      {
        additionalProperties: false,
        description: 'the exact score of the channel model normalised as channel normalized-path-loss (users independent, active with probability epsilon; not learned): a bound and a reference for the learned priors',
      },
    ),
    Type.Object(
      { type: kind('gaussian'), power: Type.Number({ exclusiveMinimum: 0, default: 1, description: 'p: the prior CN(0, p I) of every entry' }) },
      { additionalProperties: false, description: 'the score of CN(0, p I) (the LMMSE prior): the sampler then draws from the LMMSE posterior; an ablation and sanity check' },
    ),
  ],
  { default: { type: 'column-radial' }, description: 'the score model s(X, sigma) of the channel prior' },
);
export type ScorePrior = Static<typeof ScorePrior>;

export const ScoreLangevinParams = Type.Object(
  {
    prior: ScorePrior,
    training: Type.Object(
      { levels: Ladder(10, 1e-3, 60, 'denoising score matching levels (one drawn uniformly per training sample)') },
      { additionalProperties: false, default: {}, description: 'denoising score matching (learned priors; the train block sets steps, batch and optimizer)' },
    ),
    sampler: Type.Object(
      {
        mode: Type.Union([Type.Literal('recommended'), Type.Literal('paper')], {
          default: 'recommended',
          description:
            '"recommended": corrected sign, factor 2, pilot gain gamma in the annealed variance, step c min(sigma_i^2, v_i / (2 lambda_max)); "paper": the printed update of Eq. (10) and Algorithm 1 (sign corrected only), step alpha_0 r^i',
        }),
        levels: Ladder(10, 1e-3, 200, 'annealing levels'),
        stepsPerLevel: Type.Integer({ minimum: 1, default: 3, description: 'Q: Langevin steps per level' }),
        stepScale: Type.Number({ exclusiveMinimum: 0, default: 0.5, description: 'c: step scale (recommended mode)' }),
        chains: Type.Integer({
          minimum: 1,
          default: 1,
          description: 'C: independent chains per trial, run side by side on the batch axis; the estimate is their mean (approaches the posterior mean; 1 = one posterior sample, as the paper)',
        }),
        temperature: Type.Number({ minimum: 0, default: 0.9, description: 'T: Langevin temperature (the paper\'s beta, "initial value 0.9"); 0 = noiseless annealed gradient ascent' }),
        likelihoodGain: Type.Optional(
          Type.Number({ exclusiveMinimum: 0, description: 'gamma in v_i = s2 + 2 gamma sigma_i^2 (recommended mode); default ||A||_F^2 / L, the mean pilot row energy' }),
        ),
        paperStep: Type.Object(
          {
            initial: Type.Number({ exclusiveMinimum: 0, default: 1e-3, description: 'alpha_0' }),
            decay: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.99, description: 'r < 1' }),
          },
          { additionalProperties: false, default: {}, description: 'step alpha_i = alpha_0 r^i of the paper mode (the paper tunes both by grid search and reports neither)' },
        ),
      },
      { additionalProperties: false, default: {}, description: 'annealed Langevin posterior sampling' },
    ),
    activityThreshold: Type.Number({
      exclusiveMinimum: 0,
      default: 0.5,
      description:
        'declare user n active when e_n = ||x_hat_n||^2 / M exceeds this (channel units; with normalized-path-loss, kappa b_min with b_min the weakest active gain: about 0.53 for 0.1-0.3 km and K / N = 1/8 with kappa = 0.5); or fit it with the candidate\'s threshold block',
    }),
  },
  { additionalProperties: false },
);
export type ScoreLangevinParams = Static<typeof ScoreLangevinParams>;

const LEARNED = new Set(['column-radial', 'column-deepsets', 'refinenet-lite']);

/** The score model of the params (weights from the `weights` stream). */
function buildPrior(p: ScorePrior, s: Scenario, weights: Generator): ScoreModel {
  switch (p.type) {
    case 'column-radial':
      return new ColumnRadialScore(weights, p.hidden);
    case 'column-deepsets':
      return new ColumnDeepSetsScore(weights, s.numAntennas, p.hidden);
    case 'refinenet-lite':
      return new RefineNetLiteScore(weights, { channels: p.channels, depth: p.depth, logSigmaInput: p.logSigmaInput, inputScaling: p.inputScaling });
    case 'oracle-mixture':
      return new OracleMixtureScore(
        pathLossPrior({ minDistanceKm: p.minDistanceKm, maxDistanceKm: p.maxDistanceKm, pathLossDb: p.pathLossDb, pathLossExponentDb: p.pathLossExponentDb, gains: p.gains }, p.activityProb, p.rings).filter((c) => c.weight > 0),
        s.numAntennas,
      );
    case 'gaussian':
      return new GaussianScore(p.power);
  }
}

/**
 * Score-based channel estimation and activity detection: annealed Langevin posterior sampling of
 * the activity-masked channel matrix X [N, M] from pilots Y = A X + W, with a learned (or
 * analytic) score of the channel prior, and an energy test per user.
 *
 * Reference: C. Tang, Z. Li, Z. Chen, H. H. Yang, "Device Activity Detection
 * and Channel Estimation Using Score-Based Generative Models in Massive MIMO", ZTE Communications
 * 23(1):53-62, 2025: score matching Eqs. (3)-(5), Langevin update Eq. (10), likelihood gradient
 * Eq. (11), Algorithm 1 (estimation, then "count the zero rows"); building on M. Arvinte,
 * J. I. Tamir, "MIMO channel estimation using score-based generative models", IEEE TWC 22(6), 2023.
 *
 * Per batch (framework orientation, user n = row n of X; A = the codebook [L, N], Q = 1):
 *   X_0 ~ CN(0, I) per trial and chain; for each level sigma_i, Q Langevin steps (see algorithms/langevin.ts)
 *   channel       = X_S (the last iterate), averaged over `sampler.chains` chains
 *   activityScore = e_n = ||x_hat_n||^2 / M;  activity = 1[e_n > activityThreshold]
 * Training (learned priors, through the train block): denoising score matching on the true
 * X = diag(a) H of the training batches, one level per sample drawn uniformly from
 * params.training.levels; the pilots and the noise play no part. In training mode `detect`
 * skips the sampler (the loss needs only the true channels) and returns zeros.
 *
 * Draws: `weights` once per run; `init` (X_0) and `langevin` (the noise of every step) per
 * trial, from the observation's trials (results do not depend on the batch split); `dsm`
 * (level and blur noise) per training trial.
 *
 * @input  y         [B, L, M] complex
 * @input  codebook  [L, N] complex (one pilot per device, shared by the batch)
 * @input  noiseVar  sigma^2 per complex sample
 * @output channel   [B, N, M] complex: the posterior sample X_S
 * @output activityScore [B, N]: e_n;  activity [B, N]: the energy test
 * @remarks Deviations from the paper. The score network: the paper draws a RefineNet-style
 *   2-D convolutional net with no sizes; `refinenet-lite` is such a net with sizes of our choice
 *   (see algorithms/score-refinenet.ts), and the column models (radial, deep-sets), whose
 *   structure matches the exchangeable users and i.i.d. antennas of its channel model, are the
 *   CPU-friendly alternatives; the exact score (oracle-mixture) is a bound. The sampler (recommended mode) corrects the sign of
 *   Eq. (11), uses real-view gradients (factor 2), adds the pilot gain to the annealed variance
 *   and uses a stiffness-based step rule; the paper's printed form is kept as sampler mode
 *   "paper" (with its sign corrected). The activity test needs a threshold the paper does not
 *   give ("count the zero rows"): a fixed one on e_n, or one fitted by the runner's threshold
 *   block. The output is the last iterate (the paper does not say; its ref. [34] picked the best
 *   step on the evaluation data). Noise levels are geometric (the paper "estimates them by
 *   maximum likelihood" without a procedure).
 */
@injectable()
export class ScoreLangevinDetector implements Detector, Trainable {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'score-langevin',
    summary: 'Score-based channel estimation: annealed Langevin posterior sampling of X from Y = A X + W with a learned (or exact) score of the channel prior; energy test per user for activity',
    reference:
      'C. Tang, Z. Li, Z. Chen, H. H. Yang, "Device Activity Detection and Channel Estimation Using Score-Based Generative Models in Massive MIMO", ZTE Communications 23(1), 2025, Eqs. (3)-(5), (10), (11), Algorithm 1; M. Arvinte, J. I. Tamir, IEEE TWC 2023 (ref. [34])',
    params: ScoreLangevinParams,
    draws: {
      weights: 'once per run: the initial weights of a learned score model',
      init: 'per trial: X_0 [N, M], i.i.d. CN(0, 1)',
      langevin: 'per trial: the noise of every Langevin step, S Q x [N, M] complex (re, im i.i.d. N(0, 1)); chain c > 0 of sampler.chains draws init:chain<c> and langevin:chain<c>',
      dsm: 'per training trial: the level index and the blur noise of denoising score matching',
    },
    requires: () => REQUIRES,
    provides: () => ['channel', 'activityScore', 'activity'],
    training: (p: ScoreLangevinParams) => (LEARNED.has(p.prior.type) ? { loss: true, lossFromTruth: true } : undefined),
    check: (p: ScoreLangevinParams, s: Scenario): ParamProblem[] => {
      const problems: ParamProblem[] = [];
      if (s.bitsPerDevice !== 0) problems.push({ path: '', message: `estimates channels from one pilot per device, but the scenario has bitsPerDevice ${s.bitsPerDevice}`, hint: 'Use "bitsPerDevice": 0' });
      for (const [path, ladder] of [['training.levels', p.training.levels], ['sampler.levels', p.sampler.levels]] as const) {
        if (ladder.min >= ladder.max && ladder.count > 1) problems.push({ path: `${path}.min`, message: `is ${ladder.min}, not below max ${ladder.max}`, hint: 'Levels decrease from max to min' });
      }
      if (p.prior.type === 'oracle-mixture' && p.prior.minDistanceKm >= p.prior.maxDistanceKm) {
        problems.push({ path: 'prior.minDistanceKm', message: 'must be below maxDistanceKm', hint: 'Copy the channel\'s distances' });
      }
      return problems;
    },
    notes: [
      'Learned priors (column-radial, column-deepsets, refinenet-lite) need a `train` block (loss "plugin" = denoising score matching on the true channels; the pilots and noise play no part, so one model serves every SNR: use "shareAcrossPoints": true).',
      'The prior must match the channel\'s normalisation: channel normalized-path-loss gives mean |x|^2 = 1 over all devices (inactive included).',
      'Cost: S Q steps (600 by default), each one pilot matmul for the whole batch and one score evaluation.',
    ],
  });

  private readonly prior: ScoreModel;
  private readonly trainingLevels: number[];
  private readonly schedule: Omit<LangevinSchedule, 'likelihoodGain'> & { likelihoodGain?: number };
  private training = false;

  constructor(
    @inject(TOKENS.params) private readonly params: ScoreLangevinParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) private readonly random: RandomStreams,
  ) {
    this.prior = buildPrior(params.prior, scenario, random.onceGenerator('weights'));
    const t = params.training.levels;
    this.trainingLevels = geometricLevels(t.max, t.min, t.count);
    const p = params.sampler;
    this.schedule = {
      levels: geometricLevels(p.levels.max, p.levels.min, p.levels.count),
      stepsPerLevel: p.stepsPerLevel,
      mode: p.mode,
      stepScale: p.stepScale,
      temperature: p.temperature,
      likelihoodGain: p.likelihoodGain,
      paperStep: p.paperStep,
    };
  }

  trainableVariables(): Readonly<Record<string, tf.Variable>> {
    return this.prior.variables();
  }

  setTraining(training: boolean): void {
    this.training = training;
  }

  /** Denoising score matching (Eq. (5), weighted by sigma^2) on the batch's true X = diag(a) H. */
  loss(batch: TrainingBatch): tf.Scalar {
    const { numDevices: N, numAntennas: M } = this.scenario;
    const h = batch.channel.channel;
    if (h.re.rank !== 3) throw new Error(`detector:score-langevin: learns block-fading channels [B, N, M]; the channel gives shape [${h.re.shape}]`);
    const trials = batch.trials;
    const levels = this.trainingLevels;
    const index = this.random.fill(trials, 'dsm', [1], (g) => g.integer(levels.length));
    const sigma = tf.tensor1d(Array.from(index, (j) => levels[j]));
    const z = this.random.complexNormal(trials, 'dsm-noise', [N, M], 2);
    const a = tf.expandDims(batch.traffic.activity, 2);
    const x = { re: tf.mul(h.re, a), im: tf.mul(h.im, a) };
    return denoisingScoreMatchingLoss(this.prior, x, sigma, z);
  }

  detect(obs: LangevinObservation): Estimate {
    const { numDevices: N, numAntennas: M } = this.scenario;
    const [B, L] = obs.y.re.shape;
    if (this.training) {
      // the DSM loss needs no posterior sample
      return { channel: { re: tf.zeros([B, N, M]), im: tf.zeros([B, N, M]) }, activityScore: tf.zeros([B, N]) as tf.Tensor2D, activity: tf.zeros([B, N]) as tf.Tensor2D };
    }
    const A = obs.codebook;
    if (A.re.rank !== 2 || A.re.shape[0] !== L || A.re.shape[1] !== N) {
      throw new Error(`detector:score-langevin: needs one pilot matrix [L, N] = [${L}, ${N}] shared by the batch; the codebook has shape [${A.re.shape}] (a per-trial codebook, redraw "per-trial", is not supported)`);
    }
    const trials = obs.trials ?? { first: 0, count: B };
    const gain = this.schedule.likelihoodGain ?? tf.tidy(() => tf.sum(cx.abs2(A)).dataSync()[0] / L);
    // C chains per trial, chain-major along the batch axis (row c B + b); chain 0 draws what a
    // single chain draws, chain c > 0 its own components
    const C = this.params.sampler.chains;
    const component = (name: string, c: number) => (c === 0 ? name : `${name}:chain${c}`);
    const inits = Array.from({ length: C }, (_, c) => this.random.complexNormal(trials, component('init', c), [N, M], 1));
    const init = C === 1 ? inits[0] : cx.tidy(() => ({ re: tf.concat(inits.map((t) => t.re)), im: tf.concat(inits.map((t) => t.im)) }));
    if (C > 1) inits.forEach((t) => cx.dispose(t));
    const y = C === 1 ? obs.y : cx.tidy(() => ({ re: tf.tile(obs.y.re, [C, 1, 1]), im: tf.tile(obs.y.im, [C, 1, 1]) }));
    const generators = Array.from({ length: C * B }, (_, r) => this.random.generator(component('langevin', Math.floor(r / B)), trials.first + (r % B)));
    const per = N * M;
    const noise = (): ComplexTensor => {
      const re = new Float32Array(C * B * per);
      const im = new Float32Array(C * B * per);
      generators.forEach((g, r) => {
        for (let i = 0; i < per; i++) {
          re[r * per + i] = g.normal();
          im[r * per + i] = g.normal();
        }
      });
      return { re: tf.tensor3d(re, [C * B, N, M]), im: tf.tensor3d(im, [C * B, N, M]) };
    };
    const samples = annealedLangevin(this.prior, { y, pilots: A, noiseVar: obs.noiseVar, init, noise }, { ...this.schedule, likelihoodGain: gain });
    if (y !== obs.y) cx.dispose(y);
    const x = C === 1 ? samples : cx.tidy(() => ({ re: tf.mean(tf.reshape(samples.re, [C, B, N, M]), 0), im: tf.mean(tf.reshape(samples.im, [C, B, N, M]), 0) }));
    if (C > 1) cx.dispose(samples);
    return cx.tidy((): Estimate => {
      const score = tf.div(tf.sum(cx.abs2(x), 2), M) as tf.Tensor2D;
      const activity = tf.cast(tf.greater(score, this.params.activityThreshold), 'float32') as tf.Tensor2D;
      return { channel: x, activityScore: score, activity };
    });
  }

  dispose(): void {
    this.prior.dispose();
  }
}
