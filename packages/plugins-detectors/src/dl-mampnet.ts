import * as tf from '@tensorflow/tfjs';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  matMul2d,
  numSequences,
  TOKENS,
  type Detector,
  type Estimate,
  type FitContext,
  type Observation,
  type ParamProblem,
  type RandomStreams,
  type Scenario,
  type Trainable,
  type TrainingBatch,
} from '@gfra/core';

const PhaseList = <T extends TSchema>(item: T, description: string) => Type.Optional(Type.Array(item, { minItems: 1, description }));

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
    schedule: Type.Optional(
      Type.Object(
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
      ),
    ),
  },
  { additionalProperties: false },
);
export type DlMampnetParams = Static<typeof DlMampnetParams>;

/** Per-entry real Bernoulli-Gaussian MMSE denoiser (Eqs. (47)-(48)) and its derivative. */
export interface ScalarDenoiserOutput {
  /** eta(Z): posterior mean. */
  readonly eta: tf.Tensor;
  /** d eta / d Z. */
  readonly derivative: tf.Tensor;
}

/**
 * The denoiser of one AMP layer, per real entry (DL-mAMPnet Eqs. (46)-(48) with the prior log-odds
 * of "inactive" theta1 and the signal variance theta2): for z = x + tau w, w ~ N(0, 1),
 * x ~ (1 - lambda) delta_0 + lambda N(0, theta2), theta1 = log((1 - lambda) / lambda):
 *
 *   s = tau^2 (theta2 + tau^2) / theta2,   log c = (1/2) log(1 + theta2 / tau^2) + theta1 - z^2 / (2 s)
 *   g = theta2 / (theta2 + tau^2),         p = 1 / (1 + c) = sigmoid(-log c)   (posterior P(x != 0))
 *   eta(z)  = g p z                         (= z / ((1 + tau^2/theta2)(1 + c)), Eq. (47))
 *   eta'(z) = g (p + p (1 - p) z^2 / s)     (= (1 + c (1 + z^2/s)) / ((1 + tau^2/theta2)(1 + c)^2), Eq. (48))
 *
 * computed through log c, so that it neither overflows nor underflows. Inputs broadcast.
 */
export function scalarBgDenoiser(z: tf.Tensor, tau2: tf.Tensor, theta1: tf.Tensor, theta2: tf.Tensor): ScalarDenoiserOutput {
  const sumVar = tf.add(theta2, tau2);
  const s = tf.div(tf.mul(tau2, sumVar), theta2);
  const z2 = tf.square(z);
  const logC = tf.sub(tf.add(tf.mul(0.5, tf.log1p(tf.div(theta2, tau2))), theta1), tf.div(z2, tf.mul(2, s)));
  const p = tf.sigmoid(tf.neg(logC));
  const g = tf.div(theta2, sumVar);
  const eta = tf.mul(tf.mul(g, p), z);
  const derivative = tf.mul(g, tf.add(p, tf.div(tf.mul(tf.mul(p, tf.sub(1, p)), z2), s)));
  return { eta, derivative };
}

/**
 * Max-pool / max-unpool with window Q along the last axis (Sec. IV-C): every consecutive block of
 * Q entries keeps its largest entry (the first one on ties) and the others are set to 0. The kept
 * positions are a constant mask, so the gradient flows only through the kept entries.
 *
 * @param o [B, blocks * Q]
 */
export function poolUnpool(o: tf.Tensor2D, Q: number): tf.Tensor2D {
  if (Q === 1) return o;
  const [B, width] = o.shape;
  const blocks = tf.reshape(o, [B, width / Q, Q]);
  const mask = tf.tidy(() => tf.oneHot(tf.argMax(blocks, 2), Q).toFloat()); // first maximum
  return tf.reshape(tf.mul(blocks, mask), [B, width]) as tf.Tensor2D;
}

/** Variables of one unfolded AMP layer. */
interface AmpLayer {
  /** B_t - S_r^T (shared: [2NQ, 2L]) or B_t - (I_M kron S_r)^T (dense: [2NQM, 2LM]); starts at 0. */
  readonly dB: tf.Variable;
  /** v_t (scalar), starts at 1. */
  readonly v: tf.Variable;
  /** theta_{t,1} - log((Q - eps)/eps), [M, 2NQ] (entry (m, r) = row r, antenna m of X_r); starts at 0. */
  readonly dTheta1: tf.Variable;
  /** log theta_{t,2} - log theta2Init, [M, 2NQ]; starts at 0. */
  readonly dLogTheta2: tf.Variable;
}

interface Refinement {
  readonly convW: tf.Variable; // [M]
  readonly convB: tf.Variable; // []
  readonly fc1aW: tf.Variable; // [2NQ, H]
  readonly fc1aB: tf.Variable; // [H]
  readonly fc1bW: tf.Variable; // [H, 2NQ]
  readonly fc1bB: tf.Variable; // [2NQ]
  readonly fc2W: tf.Variable; // [2NQM, 2NQ] (theta_{T,2} part, in the [M, 2NQ] order)
  readonly fc2Tau: tf.Variable; // [2NQ] (tau_T^2 part)
  readonly fc2B: tf.Variable; // [2NQ]
  readonly fc3W: tf.Variable; // [2NQ, NQ]
  readonly fc3B: tf.Variable; // [NQ]
}

/** What a forward pass up to some layer computed (row layout: antenna m is a row). */
export interface DlMampnetForward {
  /** X_{r,t} of every layer computed so far, each [B, M, 2NQ] (entry (m, r) = X_r[r, m]). */
  readonly x: tf.Tensor3D[];
  /** tau_t^2 used by each layer, each [B]. */
  readonly tau2: tf.Tensor1D[];
  /** Refinement pre-activation a [B, NQ] (only for a full pass). */
  readonly a?: tf.Tensor2D;
  /** Intermediate refinement signals [B, 2NQ]: u after pool/unpool, kappa_HT (full pass). */
  readonly u?: tf.Tensor2D;
}

/**
 * DL-mAMPnet: AMP unfolded into T real-valued layers with trainable matched filters, per-entry
 * denoiser parameters and a refinement module, for non-coherent joint activity and data detection
 * (each device owns Q = 2^J sequences and sends the one indexed by its J-bit message).
 *
 * Reference: Z. Ma, W. Wu, F. Gao, X. Shen, "Model-Driven Deep Learning for Non-Coherent Massive
 * Machine-Type Communications", Secs. IV-V, Eqs. (38)-(59), Algorithm 1; implementation spec
 * ../shared/specs/dl-mampnet.md (§2.3, §8).
 *
 * Model (38)-(43): Y_r = S_r X_r + W_r with Y_r = [Re Y; Im Y] (2L x M), X_r = [Re X; Im X]
 * (2NQ x M), S_r = [[Re S, -Im S], [Im S, Re S]] (2L x 2NQ); everything in sigma-normalised units
 * (Y / sigma). Layer t (t = 1..T), X_0 = 0, R_0 = Y_r:
 *
 *   tau_t^2 = ||R_{t-1}||_F^2 / (2 L M)
 *   Z_t = X_{t-1} + B_t(R_{t-1})
 *   X_t = v_t eta(Z_t; theta_{t,1}, theta_{t,2}, tau_t^2)                          (per real entry)
 *   R_t = Y_r - S_r X_t + (v_t / C) (sum over the 2NQM entries of eta'(Z_t)) R_{t-1}    (56)-(57)
 *
 * Kronecker-free form ("shared", default): the paper vectorises column-wise, vec(Y_r) = S~ vec(X_r)
 * + vec(W_r) with S~ = I_M kron S_r (printed as S_r kron I_M, which belongs to row-major vec), and
 * multiplies vec(R) by a matrix B_t of the size of S~^T. Every quantity here is kept as a matrix in
 * the row layout [B, M, 2NQ] / [B, M, 2L], whose row-major flattening *is* the column-major vec; then
 * (I_M kron S_r) vec(X) = vec(S_r X), and B_t = I_M kron B with B in R^{2NQ x 2L} gives
 * vec(B R) — the same numbers with no Kronecker product in memory (a test checks it against the
 * literal Kronecker matrices). "dense" keeps a full 2NQM x 2LM B_t (the paper's parameter count).
 *
 * Refinement module (Sec. IV-C, Fig. 4): X_bar = |X_T| (/ tau_T with rmInputNorm "tau");
 * c = 1xM convolution of X_bar; iota = mean over antennas; kappa_ST = sigmoid(FC1(iota)) * iota;
 * o = ReLU(c - kappa_ST); u = max-pool/max-unpool of o over each Q-block (device n, real or
 * imaginary half); kappa_HT = ReLU(FC2([vec theta_{T,2}; tau_T^2])); a = FC3(u - kappa_HT) in R^{NQ};
 * alpha_hat = f_rho(a) = ReLU(tanh(rho a)). Decision: per device q* = arg max_q a_{n,q}; active iff
 * a_{n,q*} > 0 ("logits") or f_rho(a_{n,q*}) > 1/2 ("literal").
 *
 * Training (fit, Algorithm 1): T + 2 phases with a fresh optimizer each — phase t trains layer t
 * {B_t, v_t, theta_{t,1}, theta_{t,2}} on the MSE of X_t (Eq. (58)), phase T+1 the refinement module
 * on BCE (59), phase T+2 everything on BCE. Initialisation (Sec. V-A): B_t = S_r^T, v_t = 1,
 * theta_{t,1} = log((Q - eps)/eps), theta_{t,2} = theta2Init, refinement He-normal (or the
 * convInit / fc3Init options), biases 0.
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
 * @remarks Deviations from the paper (each a parameter where it matters; spec §8):
 *   - Parametrisation relative to the initial values: B_t = S_r^T + dB_t, theta_{t,1} =
 *     log((Q - eps)/eps) + dTheta1, theta_{t,2} = theta2Init exp(dLogTheta2). The shift by a constant
 *     leaves the gradients, and so Adam's and SGD's steps, unchanged (B_t and theta_{t,1} train exactly
 *     as the paper's); it lets the variables exist before the codebook and eps are seen. theta_{t,2}
 *     is trained in the log domain (positivity; spec §8 item 9).
 *   - tau_t^2 = ||R_{t-1}||^2 / (2LM) instead of the printed ||R_t|| / sqrt(2LM) (item 6).
 *   - Onsager normalisation 2LM by default ("LM" literal, item 7).
 *   - theta2Init "data" = per-real variance of an active row instead of ||Y~||^2 / sqrt(2K) (item 8).
 *   - B_t "shared" (one 2NQ x 2L matrix for all antennas) by default; "dense" is the paper (item 11).
 *   - Refinement: u - kappa_HT (sign, item 15), rmInputNorm "tau", lossSurrogate "logits",
 *     fc3Init "pair", convInit "avg" by default (items 18-20, 34); FC1 hidden width 2NQ with ReLU,
 *     one conv channel, biases (item 22); rho = 1 (item 21); final per-device arg-max (item 16).
 *   - MSE phases use the mean over real entries instead of the sum (a constant factor).
 *   - BCE (59) with the standard sign and roles, clipped at 1e-7 (item 17).
 *   - theta2Init is a stored variable that no phase updates; before training ("data"), an untrained
 *     network estimates it from each batch it sees.
 *   - Not implemented (spec options): theta2Param "raw", the literal theta2 init ||Y~||^2 / sqrt(2K),
 *     tauFormula "rms", tauForRM "lastOutput", denoiser "rowwise", gradient clipping per phase (use
 *     train.clipGlobalNorm, which applies to every phase).
 */
@injectable()
export class DlMampnetDetector implements Detector, Trainable {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'dl-mampnet',
    summary: 'DL-mAMPnet: T unfolded real AMP layers (trainable B_t, v_t, theta per entry) + refinement module; layer-wise training (T + 2 phases)',
    reference:
      'Z. Ma, W. Wu, F. Gao, X. Shen, "Model-driven deep learning for non-coherent massive machine-type communications", Secs. IV-V, Eqs. (38)-(59), Algorithm 1',
    params: DlMampnetParams,
    requires: () => ['codebook', 'noiseVariance', 'activityProbability'],
    provides: () => ['activityScore', 'activity', 'message'],
    training: () => ({ loss: true, fit: true }),
    check: (p: DlMampnetParams, s: Scenario): ParamProblem[] => {
      const problems: ParamProblem[] = [];
      const phases = p.layers + 2;
      for (const key of ['epochs', 'steps', 'learningRates'] as const) {
        const list = p.schedule?.[key];
        if (list !== undefined && list.length !== phases) {
          problems.push({ path: `schedule.${key}`, message: `has ${list.length} entries; layers = ${p.layers} needs T + 2 = ${phases}`, hint: 'Give one value per phase' });
        }
      }
      if (p.schedule?.epochs !== undefined && p.schedule.steps !== undefined) {
        problems.push({ path: 'schedule', message: 'gives both epochs and steps', hint: 'Give one of them' });
      }
      if (p.bMode === 'dense') {
        const K2 = 2 * s.numDevices * numSequences(s);
        const weights = K2 * s.numAntennas * 2 * s.sequenceLength * s.numAntennas * p.layers;
        if (weights > 5e8) problems.push({ path: 'bMode', message: `"dense" gives ${weights.toExponential(1)} weights`, hint: 'Use bMode "shared"' });
      }
      return problems;
    },
    notes: ['Untrained it is a real-valued scalar-denoiser AMP with T iterations and an untrained refinement module: give its candidate a `train` block.'],
  });

  private readonly amp: AmpLayer[];
  private readonly rm: Refinement;
  private readonly theta2InitVar: tf.Variable;
  /** Phase being trained: 1..T (AMP layer t, MSE), T+1 or T+2 (BCE); 0 = full network. */
  private stage = 0;
  private training = false;
  /** The last forward pass in training mode, for the loss of the same batch. */
  private cache: { obs: Observation; out: DlMampnetForward } | undefined;

  constructor(
    @inject(TOKENS.params) private readonly params: DlMampnetParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    const { numDevices: N, numAntennas: M, sequenceLength: L } = scenario;
    const Q = numSequences(scenario);
    const K2 = 2 * N * Q;
    const H = params.hiddenWidth ?? K2;
    const g = random.onceGenerator('weights');
    const he = (fanIn: number, shape: number[]): tf.Tensor => {
      const size = shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(size);
      const std = Math.sqrt(2 / fanIn);
      for (let i = 0; i < size; i++) values[i] = std * g.normal();
      return tf.tensor(values, shape);
    };
    const built = tf.tidy(() => {
      const bShape = params.bMode === 'dense' ? [K2 * M, 2 * L * M] : [K2, 2 * L];
      const amp: AmpLayer[] = [];
      for (let t = 0; t < params.layers; t++) {
        amp.push({
          dB: tf.variable(tf.zeros(bShape), true),
          v: tf.variable(tf.scalar(1), true),
          dTheta1: tf.variable(tf.zeros([M, K2]), true),
          dLogTheta2: tf.variable(tf.zeros([M, K2]), true),
        });
      }
      const theta2 = tf.variable(tf.scalar(params.theta2Init === 'data' ? 0 : params.theta2Init), true);
      const convW = params.convInit === 'avg' ? tf.fill([M], 1 / M) : he(M, [M]);
      const eye = tf.eye(N * Q);
      // "pair": [I; I] + N(0, 0.01^2) (he(2, .) draws N(0, 1))
      const fc3W = params.fc3Init === 'pair' ? tf.add(tf.concat([eye, eye], 0), tf.mul(he(2, [K2, N * Q]), 0.01)) : he(K2, [K2, N * Q]);
      const rm: Refinement = {
        convW: tf.variable(convW, true),
        convB: tf.variable(tf.scalar(0), true),
        fc1aW: tf.variable(he(K2, [K2, H]), true),
        fc1aB: tf.variable(tf.zeros([H]), true),
        fc1bW: tf.variable(he(H, [H, K2]), true),
        fc1bB: tf.variable(tf.zeros([K2]), true),
        fc2W: tf.variable(he(K2 * M + 1, [K2 * M, K2]), true),
        fc2Tau: tf.variable(he(K2 * M + 1, [K2]), true),
        fc2B: tf.variable(tf.zeros([K2]), true),
        fc3W: tf.variable(fc3W, true),
        fc3B: tf.variable(tf.zeros([N * Q]), true),
      };
      return { amp, rm, theta2 } as unknown as tf.TensorContainer;
    }) as unknown as { amp: AmpLayer[]; rm: Refinement; theta2: tf.Variable };
    this.amp = built.amp;
    this.rm = built.rm;
    this.theta2InitVar = built.theta2;
  }

  trainableVariables(): Readonly<Record<string, tf.Variable>> {
    const out: Record<string, tf.Variable> = {};
    this.amp.forEach((l, t) => {
      out[`layer${t + 1}/dB`] = l.dB;
      out[`layer${t + 1}/v`] = l.v;
      out[`layer${t + 1}/dTheta1`] = l.dTheta1;
      out[`layer${t + 1}/dLogTheta2`] = l.dLogTheta2;
    });
    out.theta2Init = this.theta2InitVar;
    const r = this.rm;
    Object.assign(out, {
      'rm/conv/kernel': r.convW,
      'rm/conv/bias': r.convB,
      'rm/fc1a/kernel': r.fc1aW,
      'rm/fc1a/bias': r.fc1aB,
      'rm/fc1b/kernel': r.fc1bW,
      'rm/fc1b/bias': r.fc1bB,
      'rm/fc2/kernel': r.fc2W,
      'rm/fc2/tau': r.fc2Tau,
      'rm/fc2/bias': r.fc2B,
      'rm/fc3/kernel': r.fc3W,
      'rm/fc3/bias': r.fc3B,
    });
    return out;
  }

  setTraining(training: boolean): void {
    this.training = training;
    if (!training) {
      this.stage = 0;
      this.cache = undefined;
    }
  }

  /** Y_r in the row layout [B, M, 2L], divided by sigma. */
  private receivedRows(obs: Observation): tf.Tensor3D {
    if (obs.noiseVar === undefined) throw new Error('needs the noise variance sigma^2 as side information');
    const y = obs.y;
    const rows = tf.concat([tf.transpose(y.re, [0, 2, 1]), tf.transpose(y.im, [0, 2, 1])], 2);
    return tf.div(rows, Math.sqrt(obs.noiseVar)) as tf.Tensor3D;
  }

  /** S_r [2L, 2NQ]. */
  private realCodebook(obs: Observation): tf.Tensor2D {
    if (obs.codebook === undefined) throw new Error('needs the codebook as side information');
    return cx.realMatrix(obs.codebook) as tf.Tensor2D;
  }

  /** log((Q - eps)/eps) with eps the mean activity probability. */
  private theta1Base(obs: Observation): tf.Scalar {
    if (obs.activityProbability === undefined) throw new Error('needs the activity probability eps as side information');
    const Q = numSequences(this.scenario);
    const eps = tf.mean(obs.activityProbability);
    return tf.log(tf.div(tf.sub(Q, eps), eps)) as tf.Scalar;
  }

  /**
   * theta2Init, or (untrained, "data" not yet estimated) the same estimate from this batch:
   * mean_b (||Y_r||^2 / sigma^2 - L M) / (2 eps N M), at least 1e-3.
   */
  private theta2Scale(obs: Observation, yRows: tf.Tensor3D): tf.Scalar {
    if (this.theta2InitVar.dataSync()[0] > 0) return this.theta2InitVar as unknown as tf.Scalar;
    return this.theta2FromData([yRows], obs);
  }

  private theta2FromData(yRows: tf.Tensor3D[], obs: Observation): tf.Scalar {
    const { numDevices: N, numAntennas: M, sequenceLength: L } = this.scenario;
    if (obs.activityProbability === undefined) throw new Error('needs the activity probability eps as side information');
    const eps = tf.mean(obs.activityProbability);
    const energy = tf.concat(yRows.map((y) => tf.sum(tf.square(y), [1, 2])));
    const excess = tf.sub(tf.mean(energy), L * M);
    return tf.maximum(tf.div(excess, tf.mul(eps, 2 * N * M)), 1e-3) as tf.Scalar;
  }

  /**
   * The forward pass up to AMP layer `upTo` (1..T), and through the refinement module when
   * `refine`. Not tidied (the caller's scope owns the tensors).
   */
  forward(obs: Observation, upTo: number = this.params.layers, refine = true): DlMampnetForward {
    const { numDevices: N, numAntennas: M, sequenceLength: L } = this.scenario;
    const Q = numSequences(this.scenario);
    const K2 = 2 * N * Q;
    const y = this.receivedRows(obs); // [B, M, 2L]
    const B = y.shape[0];
    const Sr = this.realCodebook(obs); // [2L, 2NQ]
    const SrT = tf.transpose(Sr) as tf.Tensor2D; // [2NQ, 2L]
    const base1 = this.theta1Base(obs);
    const logInit = tf.log(this.theta2Scale(obs, y));
    const dense = this.params.bMode === 'dense';
    const kronBase = dense ? (tf.reshape(tf.mul(tf.reshape(tf.eye(M), [M, 1, M, 1]), tf.reshape(SrT, [1, K2, 1, 2 * L])), [M * K2, M * 2 * L]) as tf.Tensor2D) : undefined;
    const C = this.params.onsagerNorm === '2LM' ? 2 * L * M : L * M;
    let x: tf.Tensor3D = tf.zeros([B, M, K2]);
    let r: tf.Tensor3D = y;
    const xs: tf.Tensor3D[] = [];
    const taus: tf.Tensor1D[] = [];
    let theta2Last: tf.Tensor2D | undefined;
    for (let t = 0; t < upTo; t++) {
      const layer = this.amp[t];
      const tau2 = tf.div(tf.sum(tf.square(r), [1, 2]), 2 * L * M) as tf.Tensor1D; // [B]
      // Z_t = X_{t-1} + B_t(R_{t-1})
      let br: tf.Tensor3D;
      if (dense) {
        const Bt = tf.add(kronBase as tf.Tensor2D, layer.dB) as tf.Tensor2D; // [M 2NQ, M 2L]
        br = tf.reshape(matMul2d(tf.reshape(r, [B, M * 2 * L]) as tf.Tensor2D, tf.transpose(Bt) as tf.Tensor2D), [B, M, K2]);
      } else {
        const BtT = tf.transpose(tf.add(SrT, layer.dB)) as tf.Tensor2D; // [2L, 2NQ]
        br = tf.reshape(matMul2d(tf.reshape(r, [B * M, 2 * L]) as tf.Tensor2D, BtT), [B, M, K2]);
      }
      const z = tf.add(x, br) as tf.Tensor3D;
      const theta1 = tf.add(base1, layer.dTheta1);
      const theta2 = tf.exp(tf.add(logInit, layer.dLogTheta2)) as tf.Tensor2D; // [M, 2NQ]
      const den = scalarBgDenoiser(z, tf.reshape(tau2, [B, 1, 1]), theta1, theta2);
      const xNext = tf.mul(layer.v, den.eta) as tf.Tensor3D;
      // R_t = Y - S_r X_t + (v_t / C) (sum_j eta'_j) R_{t-1}
      const sx = tf.reshape(matMul2d(tf.reshape(xNext, [B * M, K2]) as tf.Tensor2D, Sr.transpose() as tf.Tensor2D), [B, M, 2 * L]);
      const b = tf.reshape(tf.div(tf.mul(layer.v, tf.sum(den.derivative, [1, 2])), C), [B, 1, 1]);
      r = tf.add(tf.sub(y, sx), tf.mul(b, r)) as tf.Tensor3D;
      x = xNext;
      xs.push(x);
      taus.push(tau2);
      theta2Last = theta2;
    }
    if (!refine || upTo < this.params.layers) return { x: xs, tau2: taus };
    const { a, u } = this.refine(x, taus[taus.length - 1], theta2Last as tf.Tensor2D);
    return { x: xs, tau2: taus, a, u };
  }

  /** The refinement module (Sec. IV-C): a [B, NQ] and u [B, 2NQ]. */
  private refine(xT: tf.Tensor3D, tau2: tf.Tensor1D, theta2: tf.Tensor2D): { a: tf.Tensor2D; u: tf.Tensor2D } {
    const Q = numSequences(this.scenario);
    const M = this.scenario.numAntennas;
    const [B, , K2] = xT.shape;
    const r = this.rm;
    const norm = this.params.rmInputNorm === 'tau';
    let xBar = tf.abs(xT); // [B, M, 2NQ]   (49)
    if (norm) xBar = tf.div(xBar, tf.reshape(tf.sqrt(tau2), [B, 1, 1]));
    const c = tf.add(tf.sum(tf.mul(xBar, tf.reshape(r.convW, [1, M, 1])), 1), r.convB); // [B, 2NQ] 1xM conv
    const iota = tf.mean(xBar, 1) as tf.Tensor2D; // [B, 2NQ] average pooling
    const hidden = tf.relu(tf.add(matMul2d(iota, r.fc1aW as tf.Tensor2D), r.fc1aB)) as tf.Tensor2D;
    const vartheta = tf.sigmoid(tf.add(matMul2d(hidden, r.fc1bW as tf.Tensor2D), r.fc1bB));
    const kappaSt = tf.mul(vartheta, iota); // (50)-(51)
    const o = tf.relu(tf.sub(c, kappaSt)) as tf.Tensor2D; // (52)
    const u = poolUnpool(o, Q);
    // kappa_HT = ReLU(FC2([vec theta_{T,2}; tau_T^2]))   (53)
    const thetaFeat = norm ? tf.log(theta2) : theta2;
    const tauFeat = norm ? tf.log(tau2) : tau2;
    const fromTheta = matMul2d(tf.reshape(thetaFeat, [1, K2 * M]) as tf.Tensor2D, r.fc2W as tf.Tensor2D); // [1, 2NQ]
    const kappaHt = tf.relu(tf.add(tf.add(fromTheta, tf.mul(tf.reshape(tauFeat, [B, 1]), r.fc2Tau)), r.fc2B));
    const a = tf.add(matMul2d(tf.sub(u, kappaHt) as tf.Tensor2D, r.fc3W as tf.Tensor2D), r.fc3B) as tf.Tensor2D; // (54)
    return { a, u };
  }

  detect(obs: Observation): Estimate {
    if (this.training && this.stage >= 1 && this.stage <= this.params.layers) {
      // MSE phase: only layers 1..stage are needed; the loss reads the cached pass.
      const out = this.forward(obs, this.stage, false);
      this.cache = { obs, out };
      return {};
    }
    if (this.training) {
      const out = this.forward(obs);
      this.cache = { obs, out };
      return this.decide(out.a as tf.Tensor2D);
    }
    return cx.tidy(() => this.decide(this.forward(obs).a as tf.Tensor2D));
  }

  /** Per-device arg-max of a and the threshold (spec §2.3.4). */
  private decide(a: tf.Tensor2D): Estimate {
    const { numDevices: N } = this.scenario;
    const Q = numSequences(this.scenario);
    const B = a.shape[0];
    const perDevice = tf.reshape(a, [B, N, Q]);
    const best = tf.max(perDevice, 2) as tf.Tensor2D;
    const message = (Q === 1 ? tf.zeros([B, N], 'int32') : tf.cast(tf.argMax(perDevice, 2), 'int32')) as tf.Tensor2D;
    const rho = this.params.rho;
    if (this.params.lossSurrogate === 'logits') {
      return { activityScore: tf.sigmoid(tf.mul(2 * rho, best)) as tf.Tensor2D, activity: tf.cast(tf.greater(best, 0), 'float32') as tf.Tensor2D, message };
    }
    const f = tf.relu(tf.tanh(tf.mul(rho, best))) as tf.Tensor2D;
    return { activityScore: f, activity: tf.cast(tf.greater(f, 0.5), 'float32') as tf.Tensor2D, message };
  }

  /** Targets from the truth: X_r / sigma in the row layout [B, M, 2NQ], and alpha [B, NQ]. */
  targets(batch: Pick<TrainingBatch, 'truth' | 'observation'>): { x: tf.Tensor3D; alpha: tf.Tensor2D } {
    const { numDevices: N, numAntennas: M } = this.scenario;
    const Q = numSequences(this.scenario);
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

  private pass(batch: TrainingBatch, upTo: number, refine: boolean): DlMampnetForward {
    const cached = this.cache;
    if (cached !== undefined && cached.obs === batch.observation && cached.out.x.length >= upTo && (!refine || cached.out.a !== undefined)) return cached.out;
    return this.forward(batch.observation, upTo, refine);
  }

  /** Loss of phase `stage` (1..T: MSE of X_t per real entry; T+1, T+2 or 0: BCE of the refinement output). */
  stageLoss(batch: TrainingBatch, stage: number): tf.Scalar {
    const T = this.params.layers;
    return tf.tidy(() => {
      const target = this.targets(batch);
      if (stage >= 1 && stage <= T) {
        const out = this.pass(batch, stage, false);
        return tf.mean(tf.square(tf.sub(out.x[stage - 1], target.x))) as tf.Scalar;
      }
      const a = this.pass(batch, T, true).a as tf.Tensor2D;
      const rho = this.params.rho;
      const alpha = target.alpha;
      if (this.params.lossSurrogate === 'logits') {
        // BCE with logits z = 2 rho a: max(z, 0) - z alpha + log(1 + exp(-|z|))
        const z = tf.mul(2 * rho, a);
        return tf.mean(tf.add(tf.sub(tf.relu(z), tf.mul(z, alpha)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))))) as tf.Scalar;
      }
      const p = tf.clipByValue(tf.relu(tf.tanh(tf.mul(rho, a))), 1e-7, 1 - 1e-7);
      return tf.neg(tf.mean(tf.add(tf.mul(alpha, tf.log(p)), tf.mul(tf.sub(1, alpha), tf.log(tf.sub(1, p)))))) as tf.Scalar;
    });
  }

  loss(batch: TrainingBatch): tf.Scalar {
    return this.stageLoss(batch, this.stage);
  }

  async fit(ctx: FitContext): Promise<void> {
    const T = this.params.layers;
    const slot = ctx.slot;
    if (this.params.theta2Init === 'data' && this.theta2InitVar.dataSync()[0] <= 0) {
      // Data-dependent initial theta_2 (spec §8 item 8), before phase 1. A resumed training finds
      // the stored value (> 0) and skips this.
      this.stage = 1;
      const size = Math.min(ctx.config.trainingSetSize ?? 1000, 2000);
      const value = tf.tidy(() => {
        const ys: tf.Tensor3D[] = [];
        let obs: Observation | undefined;
        for (let first = 0; first < size; first += 250) {
          const batch = ctx.forward({ first, count: Math.min(250, size - first) }, 'train');
          ys.push(this.receivedRows(batch.observation));
          obs = batch.observation;
        }
        return this.theta2FromData(ys, obs as Observation).dataSync()[0];
      });
      this.theta2InitVar.assign(tf.scalar(value));
      this.cache = undefined;
    }
    const sched = this.params.schedule;
    const config = (k: number) => {
      const c: Record<string, unknown> = {};
      if (sched?.epochs !== undefined) c.epochs = sched.epochs[k];
      if (sched?.steps !== undefined) c.steps = sched.steps[k];
      if (sched?.learningRates !== undefined) c.optimizer = { ...ctx.config.optimizer, learningRate: sched.learningRates[k] };
      return c;
    };
    const layerVars = (t: number) => [`${slot}/layer${t}/`];
    const run = async (name: string, stage: number, variables: string[]) => {
      this.stage = stage;
      this.cache = undefined;
      try {
        await ctx.phase(name, { variables, config: config(stage - 1), loss: (batch) => this.stageLoss(batch, stage) });
      } finally {
        this.cache = undefined;
      }
    };
    for (let t = 1; t <= T; t++) await run(`layer${t}-mse`, t, layerVars(t));
    await run('refinement-bce', T + 1, [`${slot}/rm/`]);
    await run('joint-bce', T + 2, [...Array.from({ length: T }, (_, i) => layerVars(i + 1)).flat(), `${slot}/rm/`]);
    this.stage = 0;
  }

  dispose(): void {
    for (const l of this.amp) for (const v of Object.values(l)) (v as tf.Variable).dispose();
    for (const v of Object.values(this.rm)) (v as tf.Variable).dispose();
    this.theta2InitVar.dispose();
  }
}
