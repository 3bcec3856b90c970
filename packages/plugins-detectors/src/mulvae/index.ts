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
  repeatForTasks,
  sharedInput,
  taskGroups,
  taskRows,
  type TaskGroup,
} from './network';

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
    sluice: Type.Union([Type.Literal('static'), Type.Literal('off')], {
      default: 'static',
      description:
        'cross-task sharing: "static" trainable alpha (N x N per sluice, init 0.9 on the diagonal, 0.1 / (N - 1) elsewhere) and beta (init 1); "off" alpha = I, beta = 0 frozen (independent stacks, the "no multi-task" ablation)',
    }),
    loss: TaskPriorityParams,
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
  return count;
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
 *   l = 0 .. blocks - 2.
 * Weights: Glorot-uniform kernels from the `weights` stream (group by group in ascending Q, block
 * by block, layer by layer, then the group's head; task by task within a layer), zero biases.
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
 *   differ); alpha, beta are static trainable scalars initialised to 0.9 / 0.1 / (N - 1) and 1 (the
 *   paper's complexity count (26) suggests a sluice DNN generating them per sample: the "dynamic"
 *   sluice is not implemented); mu = -1 divides by max(|h|^2, 1e-6); mu = +1 is the literal product
 *   without conjugate; without attention every task gets [y; H] (the paper does not say how CSI
 *   enters then); the KL term is dropped; the default loss prioritisation is "focal-normalized"
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
      if (!p.attention && p.appendCsi) problems.push({ path: 'appendCsi', message: 'has no effect without attention (every task already gets the whole H)', hint: 'Drop appendCsi or keep attention' });
      if (!p.attention && p.attentionClip !== undefined) problems.push({ path: 'attentionClip', message: 'has no effect without attention', hint: 'Drop attentionClip or keep attention' });
      const count = mulVaeParameterCount(p, s);
      if (count > 5e7) problems.push({ path: 'widthFactor', message: `gives about ${count.toExponential(1)} weights`, hint: 'Use fewer or narrower layers' });
      return problems;
    },
    notes: [
      'Untrained it outputs noise: give its candidate a `train` block (loss "plugin" = the prioritised per-user cross-entropy with params.loss).',
      'All users are assumed active (activity = activityScore = 1); use traffic with every activation probability 1, as in the paper.',
      'lossTerms: ce-user<n>, the batch cross-entropy of each user (nats) at the last loss call.',
    ],
  });

  private readonly groups: TaskGroup[];
  /** stacks[g][l]: block l of group g. */
  private readonly stacks: GroupedDenseStack[][];
  private readonly heads: GroupedDenseStack[];
  private readonly alpha: tf.Variable[] = [];
  private readonly beta: tf.Variable[] = [];
  /** Devices in group order (the order of the concatenated group outputs). */
  private readonly order: number[];
  private readonly cache = new LogitsCache();
  private training = false;
  private lastCe: number[] = [];

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
    if (params.sluice === 'static') {
      const off = N > 1 ? 0.1 / (N - 1) : 0;
      const init = Array.from({ length: N * N }, (_, i) => (Math.floor(i / N) === i % N ? 0.9 : off));
      for (let l = 0; l + 1 < params.blocks; l++) {
        tf.tidy(() => {
          this.alpha.push(tf.variable(tf.tensor2d(init, [N, N]), true));
          this.beta.push(tf.variable(tf.ones([N]), true));
        });
      }
    }
  }

  trainableVariables(): Readonly<Record<string, tf.Variable>> {
    const out: Record<string, tf.Variable> = {};
    this.stacks.forEach((blocks, g) => {
      for (const b of blocks) Object.assign(out, b.variables());
      Object.assign(out, this.heads[g].variables());
    });
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
    return ceTerms(this.lastCe);
  }

  /** The prioritised multi-task cross-entropy (params.loss) of the batch's logits against the true messages. */
  loss(batch: TrainingBatch): tf.Scalar {
    const cached = this.cache.get(batch.observation);
    const fresh = cached === undefined ? this.logits(batch.observation as MulVaeObservation) : [];
    const { loss, ce } = multiTaskLoss(cached ?? fresh, batch.truth.message, this.params.loss);
    tf.dispose(fresh);
    this.lastCe = ce;
    return loss;
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
    for (let l = 0; l < this.params.blocks; l++) {
      const z = joined(this.groups.map((_, g) => this.stacks[g][l].apply(inputs[g])));
      history.push(z);
      if (l + 1 === this.params.blocks) break;
      if (this.params.sluice === 'static') {
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
