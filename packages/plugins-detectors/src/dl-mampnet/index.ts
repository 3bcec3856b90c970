import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  numSequences,
  TOKENS,
  type Detector,
  type Estimate,
  type FitContext,
  type ObservationWith,
  type ParamProblem,
  type RandomStreams,
  type Scenario,
  type Trainable,
  type TrainingBatch,
} from '@gfra/core';
import { bestSequence, decideActivity } from '../decision';
import { DlMampnetNetwork, receivedRows, theta1Base, theta2FromData, type DlMampnetForward } from './network';
import { LayerwiseSchedule, layerMse, refinementBce, runLayerwiseSchedule, scheduleProblems, trainingTargets } from './schedule';
import { refusePerTrialCodebook } from '../codebook';

export { poolUnpool, type DlMampnetForward } from './network';

export const DlMampnetParams = Type.Object(
  {
    layers: Type.Integer({ minimum: 1, default: 4, description: 'T: unfolded AMP layers (4 in the paper)' }),
    bMode: Type.Union([Type.Literal('shared'), Type.Literal('dense')], {
      default: 'shared',
      description:
        'Matched filter B_t: "shared" one 2NQ x 2L matrix applied to every antenna (Kronecker-free; init S_r^T), "dense" the paper-literal 2NQM x 2LM matrix acting on vec(R_r) (init (I_M kron S_r)^T; GPU-sized at the paper scale)',
    }),
    onsagerNorm: Type.Union([Type.Literal('2LM'), Type.Literal('LM')], {
      default: '2LM',
      description: 'Onsager normalisation C in (v_t / C) sum_j eta\'_j R_{t-1}: "2LM" (real system with 2LM measurements), "LM" (as printed in Eq. (57))',
    }),
    theta2Init: Type.Union([Type.Literal('data'), Type.Number({ exclusiveMinimum: 0 })], {
      default: 'data',
      description:
        'Initial theta_2 (per-real signal variance, uniform over entries): "data" = mean over the training set of (||Y_r||_F^2 / sigma^2 - L M) / (2 eps N M), estimated by fit() before phase 1; or a number (sigma^2-normalised)',
    }),
    rho: Type.Number({ exclusiveMinimum: 0, default: 1, description: 'output sharpness of f_rho(a) = ReLU(tanh(rho a)) (Eq. (55))' }),
    hiddenWidth: Type.Optional(Type.Integer({ minimum: 1, description: 'H: hidden width of FC1 of the soft-threshold branch (default 2NQ)' })),
    rmInputNorm: Type.Union([Type.Literal('tau'), Type.Literal('none')], {
      default: 'tau',
      description: 'Refinement inputs: "tau" = |X_T| / tau_T and [log theta_{T,2}; log tau_T^2] into FC2, "none" = raw |X_T|, [theta_{T,2}; tau_T^2] (paper-literal)',
    }),
    lossSurrogate: Type.Union([Type.Literal('logits'), Type.Literal('literal')], {
      default: 'logits',
      description:
        'BCE phases: "logits" = BCE-with-logits on 2 rho a (the smooth relative of f_rho, since (1 + tanh(rho a)) / 2 = sigmoid(2 rho a)), decision a > 0; "literal" = clipped BCE on f_rho(a), decision f_rho(a) > 1/2',
    }),
    convInit: Type.Union([Type.Literal('avg'), Type.Literal('he')], {
      default: 'avg',
      description: '1xM convolution init: "avg" w = 1/M, b = 0 (cannot start dead), "he" Kaiming-normal (paper)',
    }),
    fc3Init: Type.Union([Type.Literal('pair'), Type.Literal('he')], {
      default: 'pair',
      description: 'FC3 init: "pair" W3 = [I_NQ; I_NQ] + N(0, 0.01^2) (output k starts as real part + imaginary part of row k), "he" Kaiming-normal (paper)',
    }),
    schedule: Type.Optional(LayerwiseSchedule),
  },
  { additionalProperties: false },
);
export type DlMampnetParams = Static<typeof DlMampnetParams>;

/** Side information dl-mampnet always requires. */
const REQUIRES = ['codebook', 'noiseVariance', 'activityProbability'] as const;
export type DlMampnetObservation = ObservationWith<(typeof REQUIRES)[number]>;

/**
 * DL-mAMPnet: AMP unfolded into T real-valued layers with trainable matched filters, per-entry
 * denoiser parameters and a refinement module, for non-coherent joint activity and data detection
 * (each device owns Q = 2^J sequences and sends the one indexed by its J-bit message).
 *
 * Reference: Z. Ma, W. Wu, F. Gao, X. Shen, "Model-driven deep learning for non-coherent massive
 * machine-type communications", Secs. IV-V, Eqs. (38)-(59), Algorithm 1.
 *
 * Model (38)-(43): Y_r = S_r X_r + W_r with Y_r = [Re Y; Im Y] (2L x M), X_r = [Re X; Im X]
 * (2NQ x M), S_r = [[Re S, -Im S], [Im S, Re S]] (2L x 2NQ); everything in sigma-normalised units
 * (Y / sigma). The T AMP layers (Eqs. (44)-(48), (56)-(57)) and the refinement module (Sec. IV-C)
 * are {@link DlMampnetNetwork}.
 *
 * Kronecker-free form ("shared", default): the paper vectorises column-wise, vec(Y_r) = S~ vec(X_r)
 * + vec(W_r) with S~ = I_M kron S_r (printed as S_r kron I_M, which belongs to row-major vec), and
 * multiplies vec(R) by a matrix B_t of the size of S~^T. Every quantity here is kept as a matrix in
 * the row layout [B, M, 2NQ] / [B, M, 2L], whose row-major flattening *is* the column-major vec; then
 * (I_M kron S_r) vec(X) = vec(S_r X), and B_t = I_M kron B with B in R^{2NQ x 2L} gives
 * vec(B R) — the same numbers with no Kronecker product in memory (a test checks it against the
 * literal Kronecker matrices). "dense" keeps a full 2NQM x 2LM B_t (the paper's parameter count).
 *
 * Decision: per device q* = arg max_q a_{n,q} of the refinement output a; active iff
 * a_{n,q*} > 0 ("logits") or f_rho(a_{n,q*}) = ReLU(tanh(rho a_{n,q*})) > 1/2 ("literal").
 *
 * Training (fit, Algorithm 1; see `schedule.ts`): T + 2 phases with a fresh optimizer each — phase
 * t trains layer t on the MSE of X_t (Eq. (58)), phase T+1 the refinement module on BCE (59),
 * phase T+2 everything on BCE.
 *
 * Trainable variables: layer<t>/dB, layer<t>/v, layer<t>/dTheta1, layer<t>/dLogTheta2 (t = 1..T),
 * theta2Init (never updated by a phase: the data-dependent initial value, stored with the weights),
 * rm/conv/{kernel,bias}, rm/fc1a/{kernel,bias}, rm/fc1b/{kernel,bias}, rm/fc2/{kernel,tau,bias},
 * rm/fc3/{kernel,bias}.
 * Symbols: N numDevices, M numAntennas, L sequenceLength, Q = 2^J, T layers.
 *
 * @input  y                   [B, L, M] complex
 * @input  codebook            [L, N*Q] complex (fixed: the network is trained for one codebook)
 * @input  noiseVar            sigma^2
 * @input  activityProbability [N] (eps, for the theta_1 initialisation)
 * @output activityScore [B, N] sigmoid(2 rho a_{n,q*}) ("logits") or f_rho(a_{n,q*}) ("literal")
 * @output activity      [B, N] in {0, 1}
 * @output message       [B, N] int32 q*_n
 * @remarks Deviations from the paper (each a parameter where it matters):
 *   - Parametrisation relative to the initial values: B_t = S_r^T + dB_t, theta_{t,1} =
 *     log((Q - eps)/eps) + dTheta1, theta_{t,2} = theta2Init exp(dLogTheta2). The shift by a constant
 *     leaves the gradients, and so Adam's and SGD's steps, unchanged (B_t and theta_{t,1} train exactly
 *     as the paper's); it lets the variables exist before the codebook and eps are seen. theta_{t,2}
 *     is trained in the log domain, which keeps it positive.
 *   - tau_t^2 = ||R_{t-1}||^2 / (2LM), the per-real-entry variance of the residual entering layer t,
 *     instead of the printed ||R_t|| / sqrt(2LM) (a standard deviation, indexed by the layer's output).
 *   - Onsager normalisation 2LM by default (the standard coefficient of a real system with 2LM
 *     measurements); "LM" as printed in (57).
 *   - theta2Init "data" = the per-real variance of an active row instead of the printed
 *     ||Y~||^2 / sqrt(2K), which mixes a squared norm with a square root and ignores M and the noise.
 *   - B_t "shared" (one 2NQ x 2L matrix for all antennas) by default; "dense" is the paper.
 *   - Refinement: a = FC3(u - kappa_HT) (the text is ambiguous about the sign); rmInputNorm "tau",
 *     lossSurrogate "logits", fc3Init "pair" and convInit "avg" by default (the literal module
 *     saturates or starts dead at small sizes); FC1 hidden width 2NQ with ReLU, one conv channel,
 *     biases (not given); rho = 1 (not given); a final per-device arg-max (FC3 is a dense map and
 *     does not keep one entry per device).
 *   - MSE phases use the mean over real entries instead of the sum (a constant factor).
 *   - BCE (59) with the standard sign and roles (the printed one lacks the minus sign and swaps
 *     prediction and label), clipped at 1e-7.
 *   - theta2Init is a stored variable that no phase updates; before training ("data"), an untrained
 *     network estimates it from each batch it sees.
 *   - Not implemented: a raw (not log) theta2 parametrisation, the literal theta2 init
 *     ||Y~||^2 / sqrt(2K), the literal RMS tau, a row-wise denoiser, and gradient clipping per
 *     phase (train.clipGlobalNorm applies to every phase).
 */
@injectable()
export class DlMampnetDetector implements Detector, Trainable {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'dl-mampnet',
    draws: {
      weights: 'once per run: the He-initialised weights of the network',
    },
    summary: 'DL-mAMPnet: T unfolded real AMP layers (trainable B_t, v_t, theta per entry) + refinement module; layer-wise training (T + 2 phases)',
    reference:
      'Z. Ma, W. Wu, F. Gao, X. Shen, "Model-driven deep learning for non-coherent massive machine-type communications", Secs. IV-V, Eqs. (38)-(59), Algorithm 1',
    params: DlMampnetParams,
    requires: () => [...REQUIRES],
    provides: () => ['activityScore', 'activity', 'message'],
    training: () => ({ loss: true, fit: true }),
    check: (p: DlMampnetParams, s: Scenario): ParamProblem[] => {
      const problems = scheduleProblems(p.layers, p.schedule);
      if (p.bMode === 'dense') {
        const K2 = 2 * s.numDevices * numSequences(s);
        const weights = K2 * s.numAntennas * 2 * s.sequenceLength * s.numAntennas * p.layers;
        if (weights > 5e8) problems.push({ path: 'bMode', message: `"dense" gives ${weights.toExponential(1)} weights`, hint: 'Use bMode "shared"' });
      }
      return problems;
    },
    notes: ['Untrained it is a real-valued scalar-denoiser AMP with T iterations and an untrained refinement module: give its candidate a `train` block.'],
  });

  private readonly network: DlMampnetNetwork;
  /** Phase being trained: 1..T (AMP layer t, MSE), T+1 or T+2 (BCE); 0 = full network. */
  private stage = 0;
  private training = false;
  /** theta2Init was seen > 0 (see {@link theta2Known}). */
  private theta2Set = false;
  /** The last forward pass in training mode, for the loss of the same batch. */
  private cache: { obs: DlMampnetObservation; out: DlMampnetForward } | undefined;

  constructor(
    @inject(TOKENS.params) private readonly params: DlMampnetParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    this.network = new DlMampnetNetwork(params, scenario, random);
  }

  trainableVariables(): Readonly<Record<string, tf.Variable>> {
    return this.network.variables();
  }

  setTraining(training: boolean): void {
    this.training = training;
    if (!training) {
      this.stage = 0;
      this.cache = undefined;
    }
  }

  /**
   * The forward pass up to AMP layer `upTo` (1..T), and through the refinement module when
   * `refine`. Not tidied (the caller's scope owns the tensors).
   */
  forward(obs: DlMampnetObservation, upTo: number = this.params.layers, refine = true): DlMampnetForward {
    refusePerTrialCodebook(obs.codebook, 'dl-mampnet');
    const y = receivedRows(obs.y, obs.noiseVar); // [B, M, 2L]
    const base1 = theta1Base(obs.activityProbability, numSequences(this.scenario));
    return this.network.forward(y, obs.codebook, base1, this.theta2Scale(obs, y), upTo, refine);
  }

  /**
   * Whether theta2Init holds its estimate (> 0). Read from the variable until it does, then
   * remembered (the estimate, once set by fit or loaded with trained weights, is never reset to
   * 0), so that a training step does not wait for a download.
   */
  private theta2Known(): boolean {
    this.theta2Set ||= this.network.theta2Init.dataSync()[0] > 0;
    return this.theta2Set;
  }

  /**
   * theta2Init, or (untrained, "data" not yet estimated) the same estimate from this batch:
   * mean_b (||Y_r||^2 / sigma^2 - L M) / (2 eps N M), at least 1e-3.
   */
  private theta2Scale(obs: DlMampnetObservation, yRows: tf.Tensor3D): tf.Scalar {
    const stored = this.network.theta2Init;
    if (this.theta2Known()) return stored as unknown as tf.Scalar;
    return theta2FromData([yRows], obs.activityProbability, this.scenario);
  }

  /**
   * While training, the pass stays in the caller's (gradient) scope and is kept for the loss of
   * the same batch (a layer-wise MSE phase reads X_t from it; the later layers and the refinement
   * module then get no gradient from that loss).
   */
  detect(obs: DlMampnetObservation): Estimate {
    if (this.training) {
      const out = this.forward(obs);
      this.cache = { obs, out };
      return this.decide(out.a as tf.Tensor2D);
    }
    return cx.tidy(() => this.decide(this.forward(obs).a as tf.Tensor2D));
  }

  /** Per-device arg-max of a, then the threshold of the chosen sequence. */
  private decide(a: tf.Tensor2D): Estimate {
    const { numDevices: N } = this.scenario;
    const Q = numSequences(this.scenario);
    const B = a.shape[0];
    const { best, message } = bestSequence(tf.reshape(a, [B, N, Q]), 2);
    const rho = this.params.rho;
    if (this.params.lossSurrogate === 'logits') {
      return { activityScore: tf.sigmoid(tf.mul(2 * rho, best)) as tf.Tensor2D, activity: decideActivity(best, 0), message };
    }
    const f = tf.relu(tf.tanh(tf.mul(rho, best))) as tf.Tensor2D;
    return { activityScore: f, activity: decideActivity(f, 0.5), message };
  }

  /** Targets from the truth: X_r / sigma in the row layout [B, M, 2NQ], and alpha [B, NQ]. */
  targets(batch: Pick<TrainingBatch, 'truth' | 'observation'>): { x: tf.Tensor3D; alpha: tf.Tensor2D } {
    return trainingTargets(this.scenario, batch);
  }

  /** The observation of a training batch: the runner grants what `requires` lists before training. */
  private observationOf(batch: Pick<TrainingBatch, 'observation'>): DlMampnetObservation {
    return batch.observation as DlMampnetObservation;
  }

  private pass(batch: TrainingBatch, upTo: number, refine: boolean): DlMampnetForward {
    const cached = this.cache;
    if (cached !== undefined && cached.obs === batch.observation && cached.out.x.length >= upTo && (!refine || cached.out.a !== undefined)) return cached.out;
    return this.forward(this.observationOf(batch), upTo, refine);
  }

  /** Loss of phase `stage` (1..T: MSE of X_t per real entry; T+1, T+2 or 0: BCE of the refinement output). */
  stageLoss(batch: TrainingBatch, stage: number): tf.Scalar {
    const T = this.params.layers;
    return tf.tidy(() => {
      const target = this.targets(batch);
      if (stage >= 1 && stage <= T) return layerMse(this.pass(batch, stage, false).x[stage - 1], target.x);
      const a = this.pass(batch, T, true).a as tf.Tensor2D;
      return refinementBce(a, target.alpha, this.params.rho, this.params.lossSurrogate);
    });
  }

  loss(batch: TrainingBatch): tf.Scalar {
    return this.stageLoss(batch, this.stage);
  }

  async fit(ctx: FitContext): Promise<void> {
    if (this.params.theta2Init === 'data' && !this.theta2Known()) {
      // Data-dependent initial theta_2, before phase 1. A resumed training finds the stored value
      // (> 0) and skips this.
      this.stage = 1;
      const size = Math.min(ctx.config.trainingSetSize ?? 1000, 2000);
      const value = tf.tidy(() => {
        const ys: tf.Tensor3D[] = [];
        let obs: DlMampnetObservation | undefined;
        for (let first = 0; first < size; first += 250) {
          const batch = ctx.forward({ first, count: Math.min(250, size - first) }, 'train');
          obs = this.observationOf(batch);
          ys.push(receivedRows(obs.y, obs.noiseVar));
        }
        return theta2FromData(ys, (obs as DlMampnetObservation).activityProbability, this.scenario).dataSync()[0];
      });
      tf.tidy(() => this.network.theta2Init.assign(tf.scalar(value)));
      this.cache = undefined;
    }
    await runLayerwiseSchedule(ctx, this.params.layers, this.params.schedule, {
      enter: (stage) => {
        this.stage = stage;
        this.cache = undefined;
      },
      leave: () => {
        this.cache = undefined;
      },
      loss: (batch, stage) => this.stageLoss(batch, stage),
    });
    this.stage = 0;
  }

  dispose(): void {
    this.network.dispose();
  }
}
