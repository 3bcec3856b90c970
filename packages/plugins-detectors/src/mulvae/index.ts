import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  deviceSequences,
  matMul2d,
  numSequences,
  TOKENS,
  type Capability,
  type Detector,
  type Estimate,
  type Observation,
  type ObservationWith,
  type ParamProblem,
  type RandomStreams,
  type Scenario,
  type Trainable,
  type TrainingBatch,
} from '@gfra/core';
import { TaskPriorityParams, taskPriorityProblems } from '../algorithms/task-priority';
import {
  attention,
  ceTerms,
  channelPerResource,
  classificationEstimate,
  flatReceived,
  GroupedDenseStack,
  LogitsCache,
  multiTaskLoss,
  priorKlTerm,
  repeatForTasks,
  sharedInput,
  taskGroups,
  taskRows,
  type TaskGroup,
} from '../algorithms/multitask-network';

const REQUIRES = ['channelState'] as const satisfies readonly Capability[];
type MulVaeObservation = ObservationWith<(typeof REQUIRES)[number]>;

export const MulVaeParams = Type.Object(
  {
    attention: Type.Boolean({
      default: true,
      description:
        'decoupling module of Eq. (18): task n gets a_n = diag(h_n)^mu y per RE; false (the "no attention" ablation) gives every task [Re y; Im y; vec(Re H); vec(Im H)]',
    }),
    mu: Type.Union([Type.Literal(-1), Type.Literal(1)], {
      default: -1,
      description: 'exponent mu of Eq. (18): -1 channel inversion y / h_n = y conj(h_n) / max(|h_n|^2, 1e-6); +1 the literal product h_n y (no conjugate; the Fig. 10 variant)',
    }),
    appendCsi: Type.Boolean({ default: false, description: 'append |h_n|^2 per RE to a_n (inversion discards reliability); off in the paper' }),
    attentionClip: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'clip every real entry of a_n into [-attentionClip, attentionClip] (deep fades); default no clip' })),
    blocks: Type.Integer({ minimum: 1, default: 2, description: 'DNN blocks per task (the paper\'s two-layer sluice network: 2 blocks, 1 sluice)' }),
    hiddenPerBlock: Type.Integer({ minimum: 0, default: 5, description: 'tanh hidden layers per block (5 in the paper)' }),
    widthFactor: Type.Integer({ minimum: 1, default: 8, description: 'hidden width of task n = widthFactor Q_n (the paper\'s 2^{R_n + 3}: 8 Q_n)' }),
    sluiceWidth: Type.Optional(
      Type.Integer({ minimum: 1, description: 'common width d_s every block projects to (linearly) so the sluice can mix tasks of different widths; default max_n widthFactor Q_n (32 in the paper\'s setting)' }),
    ),
    sluice: Type.Union([Type.Literal('static'), Type.Literal('dynamic'), Type.Literal('off')], {
      default: 'static',
      description:
        'cross-task sharing: "static" trainable alpha (N x N per sluice, init 0.9 on the diagonal, 0.1 / (N - 1) elsewhere) and beta (init 1); ' +
        '"dynamic" alpha and beta generated per sample by a sluice DNN (hiddenPerBlock tanh layers of width widthFactor max_n Q_n) from the concatenated block outputs, starting at the static initial values; ' +
        '"off" alpha = I, beta = 0 frozen (independent stacks, the "no multi-task" ablation)',
    }),
    loss: TaskPriorityParams,
    klWeight: Type.Optional(
      Type.Number({
        minimum: 0,
        description:
          'weight of the KL (prior) term of Eq. (12), corrected to (1/sigma^2) ||mu - p_R||^2 with P_R the batch\'s received power per real dimension; absent (or 0): no KL term, the loss of Eq. (13) the paper trains with',
      }),
    ),
  },
  { additionalProperties: false },
);
export type MulVaeParams = Static<typeof MulVaeParams>;

/** Width of task n's block input: 2 L M (attention), + L M with appendCsi; 2 L M (N + 1) without attention. */
export function mulVaeInputWidth(p: Pick<MulVaeParams, 'attention' | 'appendCsi'>, s: Scenario): number {
  const R = s.sequenceLength * s.numAntennas;
  if (!p.attention) return 2 * R * (s.numDevices + 1);
  return (p.appendCsi ? 3 : 2) * R;
}

/** d_s: the sluice width (default max_n widthFactor Q_n). */
export function mulVaeSluiceWidth(p: Pick<MulVaeParams, 'sluiceWidth' | 'widthFactor'>, s: Scenario): number {
  return p.sluiceWidth ?? p.widthFactor * Math.max(...deviceSequences(s));
}

/** Layer sizes of block l (0-based) of a task with Q_n = q: input, hiddenPerBlock x widthFactor q, d_s. */
export function mulVaeBlockSizes(p: MulVaeParams, s: Scenario, q: number, block: number): number[] {
  const ds = mulVaeSluiceWidth(p, s);
  return [block === 0 ? mulVaeInputWidth(p, s) : ds, ...Array<number>(p.hiddenPerBlock).fill(p.widthFactor * q), ds];
}

/** Trainable values of the whole decoder (blocks, heads, and alpha, beta with a static sluice). */
export function mulVaeParameterCount(p: MulVaeParams, s: Scenario): number {
  const ds = mulVaeSluiceWidth(p, s);
  let count = 0;
  for (const q of deviceSequences(s)) {
    for (let l = 0; l < p.blocks; l++) {
      const sizes = mulVaeBlockSizes(p, s, q, l);
      for (let k = 0; k + 1 < sizes.length; k++) count += (sizes[k] + 1) * sizes[k + 1];
    }
    count += (ds + 1) * q;
  }
  if (p.sluice === 'static') count += (p.blocks - 1) * (s.numDevices * s.numDevices + s.numDevices);
  if (p.sluice === 'dynamic') {
    const sizes = mulVaeSluiceNetSizes(p, s);
    for (let k = 0; k + 1 < sizes.length; k++) count += (p.blocks - 1) * (sizes[k] + 1) * sizes[k + 1];
  }
  return count;
}

/** Layer sizes of the dynamic sluice DNN: N d_s -> hiddenPerBlock x widthFactor max_n Q_n -> N^2 + N. */
export function mulVaeSluiceNetSizes(p: MulVaeParams, s: Scenario): number[] {
  const N = s.numDevices;
  return [N * mulVaeSluiceWidth(p, s), ...Array<number>(p.hiddenPerBlock).fill(p.widthFactor * Math.max(...deviceSequences(s))), N * N + N];
}

/** The initial sluice, in row-major order: alpha [N, N] (0.9 on the diagonal, 0.1 / (N - 1) elsewhere) and beta [N] (ones). */
function initialSluice(N: number): { alpha: number[]; beta: number[] } {
  const off = N > 1 ? 0.1 / (N - 1) : 0;
  return { alpha: Array.from({ length: N * N }, (_, i) => (Math.floor(i / N) === i % N ? 0.9 : off)), beta: Array<number>(N).fill(1) };
}

/**
 * Mul-VAE multiuser detector: per-user channel inversion ("attention") followed by a multi-task
 * sluice network with one classification task per user, trained with the prioritised per-user
 * cross-entropy.
 *
 * Reference: Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint Constellation Design and Multiuser
 * Detection for Grant-Free NOMA", IEEE Trans. Wireless Commun., 2022: Sec. III-C, Fig. 4
 * (decoupling and multi-task detection modules), Eq. (18) (attention), Eqs. (13), (15), (19)-(21)
 * (multi-task prioritised loss); ablations of Figs. 6-8 and 10.
 *
 * Per batch, with R = L M real-valued layout [Re (R); Im (R)] (all real parts first):
 *   a_n = diag(h_n)^mu y                       (Eq. (18); mu = -1: y / h_n per RE)
 *   z_n^(1) = D_n^(1)(a_n)
 *   i_n^(l+1) = sum_m alpha^(l)_{mn} z_m^(l),  z_n^(l+1) = D_n^(l+1)(i_n^(l+1))     (sluice l)
 *   o_n = sum_{l < blocks} beta_n^(l) z_n^(l) + z_n^(blocks)
 *   logits_n = O_n(o_n) in R^{Q_n},  message_n = argmax logits_n
 * Block D_n^(l): hiddenPerBlock tanh layers of width widthFactor Q_n, then a linear projection to
 * the sluice width d_s; head O_n: dense d_s -> Q_n. Tasks with the same Q_n run as one batched
 * matmul (group variables carry a leading task axis).
 *
 * Trainable variables (G tasks in the group of alphabet size Q, devices ascending):
 *   q<Q>/block<l>/dense<k>/kernel [G, in, out], .../bias [G, 1, out], q<Q>/block<l>/output/...
 *   (the projection to d_s), q<Q>/head/output/kernel [G, d_s, Q], .../bias [G, 1, Q];
 *   with sluice "static": sluice<l>/alpha [N, N] (entry (m, n) = alpha_{mn}) and beta<l> [N],
 *   l = 0 .. blocks - 2; with sluice "dynamic": the sluice DNN sluice<l>/net/dense<k>/... and
 *   sluice<l>/net/output/... ([1, in, out], [1, 1, out]), N d_s -> N^2 + N, whose output is
 *   [alpha row-major; beta] per sample with the tasks in group order.
 * Weights: Glorot-uniform kernels from the `weights` stream (group by group in ascending Q, block
 * by block, layer by layer, then the group's head; task by task within a layer; then the sluice
 * DNNs), zero biases; the sluice DNN's output layer starts with kernel 0 and bias = the static
 * initial alpha, beta, so the dynamic sluice starts as the static one.
 *
 * Loss: sum_n w_n L_n (params.loss), plus, with klWeight > 0, klWeight times the corrected KL term
 * of Eq. (12), (1/sigma^2) ||mu - p_R||^2 (see `priorKlTerm`).
 *
 * @input  y        [B, L, M] complex
 * @input  channel  [B, N, L, M] (per-resource) or [B, N, M] (block, repeated over the L REs) complex
 * @output message  [B, N] int32 in [0, Q_n): argmax of device n's logits over its own Q_n messages
 * @output bitLLR   [B, N, J] float32: LLRs of the natural-binary bits (MSB first) from the logits
 *   (bits a device with Q_n < 2^J does not carry: ~ -1e9)
 * @output activity, activityScore [B, N]: all ones (every user transmits in every slot)
 * @remarks Deviations from the paper: the paper has no activity detection (all users always
 *   active), so activity and activityScore are constant ones; bitLLR is added (the paper reports
 *   BLER only), and also gives the generic trainability check a soft output. Blocks end in a linear
 *   projection to a common width d_s (the paper's sluice adds outputs of tasks whose widths 2^{R_n+3}
 *   differ); alpha, beta are by default static trainable scalars initialised to 0.9 / 0.1 / (N - 1)
 *   and 1 (the text's reading); the complexity count (26) suggests a sluice DNN generating them per
 *   sample, which is the option sluice "dynamic" (its input, the concatenated block outputs, and
 *   its initialisation are our choices); mu = -1 divides by max(|h|^2, 1e-6); mu = +1 is the literal product
 *   without conjugate; without attention every task gets [y; H] (the paper does not say how CSI
 *   enters then); the KL term is dropped as in the paper's Eq. (13) unless klWeight > 0, and then
 *   uses 1/sigma^2 (Eq. (12) prints 2/sigma^2, a factor-2 error) with P_R, undefined in the paper,
 *   the batch's received power per real dimension, held constant; the default loss prioritisation is "focal-normalized"
 *   (Eq. (21) kept as "paper-eq21", see algorithms/task-priority.ts); M > 1 antennas are flattened
 *   into the resource axis (the paper has M = 1).
 */
@injectable()
export class MulVaeDetector implements Detector, Trainable {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'mulvae',
    summary: 'Mul-VAE receiver: per-user channel inversion y / h_n, then a multi-task sluice network (one classifier per user), trained with the prioritised per-user cross-entropy',
    reference:
      'Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint Constellation Design and Multiuser Detection for Grant-Free NOMA", IEEE Trans. Wireless Commun., 2022, Sec. III-C, Fig. 4, Eqs. (18)-(21)',
    params: MulVaeParams,
    draws: { weights: 'once per run: the initial kernels of all blocks and heads (groups of equal Q_n in ascending order, block by block, layer by layer)' },
    requires: () => REQUIRES,
    provides: () => ['message', 'activity', 'activityScore', 'bitLLR'],
    training: () => ({ loss: true }),
    perDeviceBits: true,
    check: (p: MulVaeParams, s: Scenario): ParamProblem[] => {
      const problems: ParamProblem[] = [...taskPriorityProblems(p.loss)];
      if (s.bitsPerDevice < 1) problems.push({ path: '', message: 'classifies messages, but the scenario has bitsPerDevice 0', hint: 'Use bitsPerDevice >= 1' });
      if (p.sluice !== 'off' && p.blocks < 2) problems.push({ path: 'sluice', message: `is "${p.sluice}", but with blocks = 1 there is no sluice between blocks`, hint: 'Use blocks >= 2, or sluice "off"' });
      if (!p.attention && p.appendCsi) problems.push({ path: 'appendCsi', message: 'has no effect without attention (every task already gets the whole H)', hint: 'Drop appendCsi or keep attention' });
      if (!p.attention && p.attentionClip !== undefined) problems.push({ path: 'attentionClip', message: 'has no effect without attention', hint: 'Drop attentionClip or keep attention' });
      const count = mulVaeParameterCount(p, s);
      if (count > 5e7) problems.push({ path: 'widthFactor', message: `gives about ${count.toExponential(1)} weights`, hint: 'Use fewer or narrower layers' });
      return problems;
    },
    notes: [
      'Untrained it outputs noise: give its candidate a `train` block (loss "plugin" = the prioritised per-user cross-entropy with params.loss).',
      'All users are assumed active (activity = activityScore = 1); use traffic with every activation probability 1, as in the paper.',
      'lossTerms: ce-user<n>, the batch cross-entropy of each user (nats), and kl (the KL term before its weight) with klWeight > 0.',
    ],
  });

  private readonly groups: TaskGroup[];
  /** stacks[g][l]: block l of group g. */
  private readonly stacks: GroupedDenseStack[][];
  private readonly heads: GroupedDenseStack[];
  private readonly alpha: tf.Variable[] = [];
  private readonly beta: tf.Variable[] = [];
  /** With the dynamic sluice: the DNN of sluice l, [B, N d_s] -> [B, N^2 + N] (alpha row-major, then beta; tasks in group order). */
  private readonly sluiceNets: GroupedDenseStack[] = [];
  /** Devices in group order (the order of the concatenated group outputs). */
  private readonly order: number[];
  private readonly cache = new LogitsCache();
  private training = false;
  private lastCe: number[] = [];
  private lastKl: number | undefined;

  constructor(
    @inject(TOKENS.params) private readonly params: MulVaeParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    const N = scenario.numDevices;
    this.groups = taskGroups(deviceSequences(scenario));
    this.order = this.groups.flatMap((g) => g.users);
    const source = random.onceGenerator('weights');
    this.stacks = [];
    this.heads = [];
    for (const g of this.groups) {
      const G = g.users.length;
      this.stacks.push(Array.from({ length: params.blocks }, (_, l) => new GroupedDenseStack(G, mulVaeBlockSizes(params, scenario, g.q, l), source, `q${g.q}/block${l}/`)));
      this.heads.push(new GroupedDenseStack(G, [mulVaeSluiceWidth(params, scenario), g.q], source, `q${g.q}/head/`));
    }
    const init = initialSluice(N);
    if (params.sluice === 'static') {
      for (let l = 0; l + 1 < params.blocks; l++) {
        tf.tidy(() => {
          this.alpha.push(tf.variable(tf.tensor2d(init.alpha, [N, N]), true));
          this.beta.push(tf.variable(tf.tensor1d(init.beta), true));
        });
      }
    }
    if (params.sluice === 'dynamic') {
      // drawn after every block and head; the output layer starts at kernel 0, bias = the static
      // initial sluice (order-free: alpha's initial value is invariant under permuting the tasks)
      for (let l = 0; l + 1 < params.blocks; l++) {
        const net = new GroupedDenseStack(1, mulVaeSluiceNetSizes(params, scenario), source, `sluice${l}/net/`);
        const vars = net.variables();
        tf.tidy(() => {
          vars[`sluice${l}/net/output/kernel`].assign(tf.zerosLike(vars[`sluice${l}/net/output/kernel`]));
          vars[`sluice${l}/net/output/bias`].assign(tf.tensor3d([...init.alpha, ...init.beta], [1, 1, N * N + N]));
        });
        this.sluiceNets.push(net);
      }
    }
  }

  trainableVariables(): Readonly<Record<string, tf.Variable>> {
    const out: Record<string, tf.Variable> = {};
    this.stacks.forEach((blocks, g) => {
      for (const b of blocks) Object.assign(out, b.variables());
      Object.assign(out, this.heads[g].variables());
    });
    for (const net of this.sluiceNets) Object.assign(out, net.variables());
    this.alpha.forEach((a, l) => (out[`sluice${l}/alpha`] = a));
    this.beta.forEach((b, l) => (out[`beta${l}`] = b));
    return out;
  }

  setTraining(training: boolean): void {
    this.training = training;
    if (!training) this.cache.clear();
  }

  /** Per-user batch cross-entropies (nats) at the last loss call. */
  lossTerms(): Readonly<Record<string, number>> {
    return { ...ceTerms(this.lastCe), ...(this.lastKl !== undefined ? { kl: this.lastKl } : {}) };
  }

  /** The prioritised multi-task cross-entropy (params.loss) of the batch's logits against the true messages. */
  loss(batch: TrainingBatch): tf.Scalar {
    const cached = this.cache.get(batch.observation);
    const fresh = cached === undefined ? this.logits(batch.observation as MulVaeObservation) : [];
    const { loss, ce } = multiTaskLoss(cached ?? fresh, batch.truth.message, this.params.loss);
    tf.dispose(fresh);
    this.lastCe = ce;
    this.lastKl = undefined;
    const w = this.params.klWeight ?? 0;
    if (w === 0) return loss;
    const { numDevices: N, sequenceLength: L, numAntennas: M } = this.scenario;
    return tf.tidy(() => {
      const h = channelPerResource('detector:mulvae', batch.channel.channel, N, L, M);
      const { kl } = priorKlTerm(batch.tx, h, batch.channel.noiseVarPerTrial ?? batch.channel.noiseVar);
      this.lastKl = kl.dataSync()[0];
      return tf.add(loss, tf.mul(kl, w)) as tf.Scalar;
    });
  }

  /**
   * [B, N, R] inputs of the blocks per group: [G, B, d_in] each. Call inside a tidy or gradient
   * scope.
   */
  private blockInputs(obs: MulVaeObservation): tf.Tensor3D[] {
    const { numDevices: N, sequenceLength: L, numAntennas: M } = this.scenario;
    if (obs.channel === undefined) throw new Error('detector:mulvae: needs the channel state as side information (it requires "channelState")');
    const y = flatReceived(obs.y);
    const h = channelPerResource('detector:mulvae', obs.channel, N, L, M);
    if (!this.params.attention) {
      const x = sharedInput(y, h);
      return this.groups.map((g) => repeatForTasks(x, g.users.length));
    }
    const a = attention(y, h, this.params.mu);
    const clip = this.params.attentionClip;
    const parts: tf.Tensor[] = clip === undefined ? [a.re, a.im] : [tf.clipByValue(a.re, -clip, clip), tf.clipByValue(a.im, -clip, clip)];
    if (this.params.appendCsi) parts.push(cx.abs2(h));
    const x = tf.transpose(tf.concat(parts, 2), [1, 0, 2]) as tf.Tensor3D; // [N, B, d_in]
    if (this.groups.length === 1) return [x];
    // rows of each group (slices and stack: the gradient of gather has no wasm kernel)
    const rows = taskRows(x);
    return this.groups.map((g) => tf.stack(g.users.map((n) => rows[n]), 0) as tf.Tensor3D);
  }

  /** Per-device logits [B, Q_n], n = 0 .. N-1. Call inside a tidy or gradient scope. */
  logits(obs: MulVaeObservation): tf.Tensor2D[] {
    const N = this.scenario.numDevices;
    const B = obs.y.re.shape[0];
    const sizes = this.groups.map((g) => g.users.length);
    // P [N, N], P[j, n] = 1 where order[j] = n: group order from device order (undefined: the same)
    const identity = this.order.every((n, i) => n === i);
    const P = identity ? undefined : (tf.cast(tf.oneHot(tf.tensor1d(this.order, 'int32'), N), 'float32') as tf.Tensor2D);
    const joined = (parts: tf.Tensor3D[]) => (parts.length === 1 ? parts[0] : (tf.concat(parts, 0) as tf.Tensor3D)); // [N, B, d_s], group order
    let inputs = this.blockInputs(obs);
    const history: tf.Tensor3D[] = [];
    const dynamicBeta: tf.Tensor3D[] = []; // [N, B, 1] per sluice, group order
    for (let l = 0; l < this.params.blocks; l++) {
      const z = joined(this.groups.map((_, g) => this.stacks[g][l].apply(inputs[g])));
      history.push(z);
      if (l + 1 === this.params.blocks) break;
      if (this.params.sluice === 'dynamic') {
        const { mixed, beta } = this.dynamicSluice(l, z);
        dynamicBeta.push(beta);
        inputs = splitRows(mixed, sizes);
      } else if (this.params.sluice === 'static') {
        const ds = z.shape[2];
        // i_n = sum_m alpha_{mn} z_m, in group order: alpha rows and columns permuted alike
        const a = P === undefined ? (this.alpha[l] as tf.Tensor2D) : matMul2d(matMul2d(P, this.alpha[l] as tf.Tensor2D), tf.transpose(P));
        const mixed = matMul2d(tf.transpose(a) as tf.Tensor2D, tf.reshape(z, [N, B * ds]) as tf.Tensor2D);
        inputs = splitRows(tf.reshape(mixed, [N, B, ds]) as tf.Tensor3D, sizes);
      } else {
        inputs = splitRows(z, sizes);
      }
    }
    let o = history[history.length - 1];
    if (this.params.sluice === 'dynamic') {
      for (let l = 0; l + 1 < history.length; l++) o = tf.add(o, tf.mul(dynamicBeta[l], history[l])) as tf.Tensor3D;
    }
    if (this.params.sluice === 'static') {
      for (let l = 0; l + 1 < history.length; l++) {
        const b = P === undefined ? this.beta[l] : matMul2d(P, tf.reshape(this.beta[l], [N, 1]) as tf.Tensor2D);
        o = tf.add(o, tf.mul(tf.reshape(b, [N, 1, 1]), history[l])) as tf.Tensor3D;
      }
    }
    const outs = splitRows(o, sizes);
    const perUser: tf.Tensor2D[] = new Array<tf.Tensor2D>(N);
    this.groups.forEach((g, gi) => {
      const z = taskRows(this.heads[gi].apply(outs[gi]));
      g.users.forEach((n, i) => (perUser[n] = z[i]));
    });
    return perUser;
  }

  /**
   * Sluice l generated per sample: [alpha (N x N); beta (N)] = DNN(concat_n z_n), then
   * i_n = sum_m alpha_{mn} z_m. Tasks in group order throughout.
   *
   * @param z [N, B, d_s] outputs of block l
   * @returns mixed [N, B, d_s] (the inputs of block l + 1) and beta [N, B, 1]
   */
  private dynamicSluice(l: number, z: tf.Tensor3D): { mixed: tf.Tensor3D; beta: tf.Tensor3D } {
    const [N, B, ds] = z.shape;
    const perSample = tf.transpose(z, [1, 0, 2]) as tf.Tensor3D; // [B, N, d_s]
    const out = tf.reshape(this.sluiceNets[l].apply(tf.reshape(perSample, [1, B, N * ds]) as tf.Tensor3D), [B, N * N + N]);
    const alpha = tf.reshape(tf.slice(out, [0, 0], [B, N * N]), [B, N, N]) as tf.Tensor3D; // [b, m, n] = alpha_{mn}
    const beta = tf.reshape(tf.transpose(tf.slice(out, [0, N * N], [B, N])), [N, B, 1]) as tf.Tensor3D;
    const mixed = tf.matMul(alpha, perSample, true, false); // [B, N, d_s]: sum_m alpha_{mn} z_m
    return { mixed: tf.transpose(mixed, [1, 0, 2]) as tf.Tensor3D, beta };
  }

  detect(obs: MulVaeObservation): Estimate {
    this.cache.clear();
    return cx.tidy((): Estimate => {
      const logits = this.logits(obs);
      if (this.training) this.cache.set(obs as Observation, logits);
      return classificationEstimate(logits, numSequences(this.scenario));
    });
  }

  dispose(): void {
    this.cache.clear();
    for (const blocks of this.stacks) for (const b of blocks) b.dispose();
    for (const h of this.heads) h.dispose();
    for (const net of this.sluiceNets) net.dispose();
    tf.dispose([...this.alpha, ...this.beta]);
  }
}

/** [N, B, d] -> consecutive row blocks of the given sizes (slices: tf.split's gradient fails for one part). */
function splitRows(x: tf.Tensor3D, sizes: readonly number[]): tf.Tensor3D[] {
  if (sizes.length === 1) return [x];
  const [, B, d] = x.shape;
  let first = 0;
  return sizes.map((G) => {
    const part = tf.slice(x, [first, 0, 0], [G, B, d]);
    first += G;
    return part;
  });
}
