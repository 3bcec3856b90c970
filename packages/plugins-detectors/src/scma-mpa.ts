import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  deviceSequences,
  numSequences,
  TOKENS,
  type Capability,
  type ComplexTensor,
  type Detector,
  type Estimate,
  type ObservationWith,
  type Scenario,
} from '@gfra/core';
import { refusePerTrialCodebook } from './codebook';

export const ScmaMpaParams = Type.Object(
  {
    iterations: Type.Integer({ minimum: 1, default: 6, description: 'T: message-passing iterations (a fixed number, no early stop)' }),
    variant: Type.Union([Type.Literal('log-mpa'), Type.Literal('max-log-mpa')], {
      default: 'log-mpa',
      description: '"log-mpa": exact sum-product in the log domain (log-sum-exp); "max-log-mpa": log-sum-exp replaced by max',
    }),
  },
  { additionalProperties: false },
);
export type ScmaMpaParams = Static<typeof ScmaMpaParams>;

/** Side information scma-mpa always requires. */
const REQUIRES = ['codebook', 'channelState', 'noiseVariance'] as const;
type ScmaMpaObservation = ObservationWith<(typeof REQUIRES)[number]>;

/** Largest number of joint hypotheses Q^{d_f} per resource element the detector accepts. */
export const MAX_HYPOTHESES_PER_RESOURCE = 2 ** 14;

/**
 * Log-prior added to the metric of a joint hypothesis in which some user sends a message it does
 * not have (q >= Q_n, per-device bits). Finite, so that the 0/1 matrix products of the schedule
 * stay free of NaN (0 * -Infinity); large enough that such hypotheses never contribute, and small
 * enough that the few of them a message sums (about d_f d_v; the schedule subtracts them again, so
 * they do not pile up over iterations) stay far from the float32 range (3.4e38).
 */
const IMPOSSIBLE = -1e30;

/** A resource element's entry counts as zero when |x|^2 <= this times the largest |x|^2 of the codebook. */
const ZERO_ENTRY = 1e-10;

/** The factor graph of a codebook and the constant tensors of the message schedule. */
interface Graph {
  /** d_f: largest number of users sharing a resource element (REs with fewer get zero-codeword dummy slots). */
  readonly degree: number;
  /** users[l][k]: the user in slot k of resource element l, -1 for a dummy slot. */
  readonly users: readonly (readonly number[])[];
  /** [L, d, C] complex: X[l, k, c] = x_{users[l][k], q_k(c)}[l], the slot-k codeword value in joint hypothesis c. */
  readonly hypotheses: ComplexTensor;
  /** [d*Q, C]: 1 where q_k(c) = q (row k*Q + q). */
  readonly expand: tf.Tensor2D;
  /** [d*Q*R] int32: hypotheses c with q_k(c) = q, R = C/Q of them for each (k, q), in order. */
  readonly groups: tf.Tensor1D;
  /** [1, E, E] with E = L*d edges: 1 where two different edges belong to the same (real) user. */
  readonly siblings: tf.Tensor3D;
  /** [E, N]: 1 where edge e belongs to user n. */
  readonly edgeUser: tf.Tensor2D;
  /** [L*d] int32: row n*L + l of the channel [B, N*L, M] that slot (l, k) sees (0 for dummies). */
  readonly channelRows: tf.Tensor1D;
  /** [J*Q/2] int32: symbols q whose bit j is 1 (block j), and those whose bit j is 0. */
  readonly bitOnes: tf.Tensor1D;
  readonly bitZeros: tf.Tensor1D;
  /**
   * Per-device bits only: [1, L, C] log-prior of joint hypothesis c on RE l, 0 or
   * {@link IMPOSSIBLE} where a slot's message q_k >= Q_{users[l][k]}.
   */
  readonly hypothesisPrior?: tf.Tensor3D;
  /** Per-device bits only: [1, N, Q] 0 where q < Q_n, -Infinity elsewhere (added to the final belief). */
  readonly messagePrior?: tf.Tensor3D;
}

/**
 * Message passing algorithm (MPA) detector for sparse code multiple access (SCMA), over the factor
 * graph of the codebook: variable nodes = users, function nodes = resource elements (RE).
 *
 * Reference: H. Nikopour and H. Baligh, "Sparse code multiple access", IEEE PIMRC 2013 (MPA
 * detection of SCMA); log-domain (Log-MPA) and max-log (Max-Log-MPA) forms as surveyed in "A
 * tutorial on decoding techniques of sparse code multiple access", IEEE Access 10 (2022),
 * 58503-58524.
 *
 * Model (per trial, RE l, antenna m): y[l, m] = sum_{n in U_l} h[n, l, m] x_{n, q_n}[l] + w,
 * w ~ CN(0, sigma^2), U_l the d_f users on RE l. With C = Q^{d_f} joint hypotheses c = (q_k)_k of
 * the users on RE l:
 *
 *   phi_l(c) = -(1/sigma^2) sum_m |y[l, m] - sum_k h[u_k, l, m] x_{u_k, q_k}[l]|^2      (product of the per-antenna likelihoods)
 *   RE -> user   I_{l->n}(q) = LSE_{c: q_n = q} [ phi_l(c) + sum_{k in U_l \ n} I_{k->l}(q_k) ]
 *   user -> RE   I_{n->l}(q) = sum_{l' in R_n \ l} I_{l'->n}(q)   (normalised: max_q = 0)
 *   belief       b_n(q) = sum_{l in R_n} I_{l->n}(q)   (uniform priors, I_{n->l} = 0 at start)
 *   decision     m_n = argmax_{q < Q_n} b_n(q)
 *   bit LLR      LLR_{n,j} = LSE_{q: bit_j(q) = 1} b_n(q) - LSE_{q: bit_j(q) = 0} b_n(q)
 *
 * LSE is log-sum-exp ("log-mpa", the exact sum-product in the log domain) or max ("max-log-mpa").
 * One iteration = all RE -> user updates, then all user -> RE updates; the final beliefs use the
 * RE -> user messages of iteration T. Bits of q are natural binary, most significant first
 * (core `messageBits`); LLR = log P(b = 1) / P(b = 0).
 *
 * The factor graph is read from the codebook: user n is on RE l when any of its codewords is
 * non-zero there. Resource elements with fewer than d_f users get dummy slots with zero codewords.
 * The whole batch is processed at once; per iteration the cost is O(B L Q^{d_f} d_f).
 *
 * Heterogeneous rates (`scenario.bitsPerDevice` a list, device n with Q_n = 2^{J_n} <= Q
 * messages, as in the SCMA baseline of Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint
 * constellation design and multiuser detection for grant-free NOMA", IEEE Trans. Wireless Commun.
 * 2022, Sec. IV): the prior of device n is uniform on [0, Q_n), ln(1/Q_n), and zero on q >= Q_n.
 * The codebook columns q >= Q_n (zeros) are never hypothesised: joint hypotheses with such a
 * message get log-prior -1e30 in phi_l (a finite stand-in for -Infinity), and the final belief is
 * -Infinity there, so the decision always lies in [0, Q_n). The constant ln(1/Q_n) itself changes
 * no decision and is left out, as the uniform prior is above.
 *
 * @input  y        [B, L, M] complex
 * @input  codebook [L, N*Q] complex, column n*Q + q = codeword q of user n
 * @input  channel  [B, N, L, M] complex: per-resource channel state (perfect CSI)
 * @input  noiseVar sigma^2
 * @output message  [B, N] int32: argmax of the MPA belief (approximate symbol MAP)
 * @output bitLLR   [B, N, J] float32 (only with the same J for every device)
 * @output activity [B, N] all ones
 * @remarks SCMA users are always active: MPA assumes every user sent a codeword. With traffic
 * that leaves users inactive (sending zeros), the model is wrong for them and the detector still
 * declares them active. Refuses codebooks with more than {@link MAX_HYPOTHESES_PER_RESOURCE}
 * joint hypotheses per RE. With per-device bits no `bitLLR` is provided (J_n differs per device
 * while the output has J = max J_n columns; use the message decisions, e.g. metrics bler or ser),
 * and the hypotheses per RE are still counted as Q^{d_f} with Q = 2^{max J_n} (the impossible ones
 * are computed and masked). Deviations from the source: none (flooding schedule; user -> RE messages
 * are normalised to max 0, which changes no decision or LLR). Exact (bitwise MAP) on tree-shaped
 * factor graphs, approximate on loopy ones such as the 6x4 SCMA graph.
 */
@injectable()
export class ScmaMpaDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'scma-mpa',
    summary: 'SCMA message passing (log-domain MPA or max-log MPA) over the codebook factor graph; per-bit LLRs and symbol decisions',
    reference: 'H. Nikopour, H. Baligh, "Sparse code multiple access", IEEE PIMRC 2013; Log-/Max-Log-MPA as in "A tutorial on decoding techniques of SCMA", IEEE Access 10 (2022)',
    params: ScmaMpaParams,
    requires: () => [...REQUIRES],
    provides: (_p: ScmaMpaParams, s: Scenario): Capability[] => (s.deviceBits === undefined ? ['activity', 'message', 'bitLLR'] : ['activity', 'message']),
    perDeviceBits: true,
    check: (_p: ScmaMpaParams, s: Scenario) =>
      s.bitsPerDevice < 1
        ? [{ path: '', message: 'SCMA detection needs scenario.bitsPerDevice >= 1 (got 0)', hint: 'Set scenario.bitsPerDevice to log2 of the codebook size' }]
        : [],
  });

  private graph: Graph | undefined;
  private graphFor: ComplexTensor | undefined;

  constructor(
    @inject(TOKENS.params) private readonly params: ScmaMpaParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {}

  /** The factor graph of `codebook` (built once per codebook and kept). */
  factorGraph(codebook: ComplexTensor): { degree: number; users: readonly (readonly number[])[] } {
    const g = this.buildGraph(codebook);
    return { degree: g.degree, users: g.users };
  }

  private buildGraph(codebook: ComplexTensor): Graph {
    refusePerTrialCodebook(codebook, 'scma-mpa');
    if (this.graph !== undefined && this.graphFor === codebook) return this.graph;
    this.disposeGraph();
    const { numDevices: N, sequenceLength: L, bitsPerDevice: J } = this.scenario;
    const Q = numSequences(this.scenario);
    const shape = codebook.re.shape;
    if (shape.length !== 2 || shape[0] !== L || shape[1] !== N * Q) {
      throw new Error(`codebook has shape [${shape}]; expected [L, N*Q] = [${L}, ${N * Q}]. Check scenario.sequenceLength, numDevices and bitsPerDevice`);
    }
    const re = codebook.re.dataSync();
    const im = codebook.im.dataSync();
    const at = (l: number, n: number, q: number) => l * N * Q + n * Q + q;
    let peak = 0;
    for (let i = 0; i < re.length; i++) peak = Math.max(peak, re[i] * re[i] + im[i] * im[i]);
    const users: number[][] = [];
    for (let l = 0; l < L; l++) {
      const on: number[] = [];
      for (let n = 0; n < N; n++) {
        let used = false;
        for (let q = 0; q < Q && !used; q++) used = re[at(l, n, q)] ** 2 + im[at(l, n, q)] ** 2 > ZERO_ENTRY * peak;
        if (used) on.push(n);
      }
      users.push(on);
    }
    const d = Math.max(1, ...users.map((u) => u.length));
    const C = Q ** d;
    if (C > MAX_HYPOTHESES_PER_RESOURCE) {
      throw new Error(
        `the codebook puts up to ${d} users on one resource element, so MPA needs Q^d_f = ${Q}^${d} = ${C} joint hypotheses per resource element (limit ${MAX_HYPOTHESES_PER_RESOURCE}). Use a sparser codebook`,
      );
    }
    for (const on of users) while (on.length < d) on.push(-1);
    const R = C / Q;
    // digit k of hypothesis c (slot 0 most significant)
    const digit = (c: number, k: number) => Math.floor(c / Q ** (d - 1 - k)) % Q;

    const xRe = new Float32Array(L * d * C);
    const xIm = new Float32Array(L * d * C);
    for (let l = 0; l < L; l++) {
      for (let k = 0; k < d; k++) {
        const n = users[l][k];
        if (n < 0) continue;
        for (let c = 0; c < C; c++) {
          xRe[(l * d + k) * C + c] = re[at(l, n, digit(c, k))];
          xIm[(l * d + k) * C + c] = im[at(l, n, digit(c, k))];
        }
      }
    }
    const expand = new Float32Array(d * Q * C);
    const groups = new Int32Array(d * Q * R);
    for (let k = 0; k < d; k++) {
      const filled = new Array<number>(Q).fill(0);
      for (let c = 0; c < C; c++) {
        const q = digit(c, k);
        expand[(k * Q + q) * C + c] = 1;
        groups[(k * Q + q) * R + filled[q]++] = c;
      }
    }
    const E = L * d;
    const edgeOf = (l: number, k: number) => l * d + k;
    const siblings = new Float32Array(E * E);
    const edgeUser = new Float32Array(E * N);
    const channelRows = new Int32Array(E);
    for (let l = 0; l < L; l++) {
      for (let k = 0; k < d; k++) {
        const n = users[l][k];
        if (n < 0) continue;
        const e = edgeOf(l, k);
        edgeUser[e * N + n] = 1;
        channelRows[e] = n * L + l;
        for (let l2 = 0; l2 < L; l2++) {
          for (let k2 = 0; k2 < d; k2++) {
            const e2 = edgeOf(l2, k2);
            if (e2 !== e && users[l2][k2] === n) siblings[e * E + e2] = 1;
          }
        }
      }
    }
    let hypothesisPrior: tf.Tensor3D | undefined;
    let messagePrior: tf.Tensor3D | undefined;
    if (this.scenario.deviceBits !== undefined) {
      const Qn = deviceSequences(this.scenario);
      const hp = new Float32Array(L * C);
      for (let l = 0; l < L; l++) {
        for (let c = 0; c < C; c++) {
          let possible = true;
          for (let k = 0; k < d && possible; k++) possible = users[l][k] < 0 || digit(c, k) < Qn[users[l][k]];
          if (!possible) hp[l * C + c] = IMPOSSIBLE;
        }
      }
      const mp = new Float32Array(N * Q);
      for (let n = 0; n < N; n++) for (let q = Qn[n]; q < Q; q++) mp[n * Q + q] = -Infinity;
      hypothesisPrior = tf.keep(tf.tensor3d(hp, [1, L, C]));
      messagePrior = tf.keep(tf.tensor3d(mp, [1, N, Q]));
    }
    const ones: number[] = [];
    const zeros: number[] = [];
    for (let j = 0; j < J; j++) {
      for (let q = 0; q < Q; q++) ((q >> (J - 1 - j)) & 1 ? ones : zeros).push(q);
    }
    this.graph = {
      degree: d,
      users,
      hypotheses: cx.keep({ re: tf.tensor3d(xRe, [L, d, C]), im: tf.tensor3d(xIm, [L, d, C]) }),
      expand: tf.keep(tf.tensor2d(expand, [d * Q, C])),
      groups: tf.keep(tf.tensor1d(groups, 'int32')),
      siblings: tf.keep(tf.tensor3d(siblings, [1, E, E])),
      edgeUser: tf.keep(tf.tensor2d(edgeUser, [E, N])),
      channelRows: tf.keep(tf.tensor1d(channelRows, 'int32')),
      bitOnes: tf.keep(tf.tensor1d(ones, 'int32')),
      bitZeros: tf.keep(tf.tensor1d(zeros, 'int32')),
      hypothesisPrior,
      messagePrior,
    };
    this.graphFor = codebook;
    return this.graph;
  }

  detect(obs: ScmaMpaObservation): Estimate {
    const { numDevices: N, numAntennas: M, sequenceLength: L, bitsPerDevice: J } = this.scenario;
    const Q = numSequences(this.scenario);
    const B = obs.y.re.shape[0];
    const hShape = obs.channel.re.shape;
    if (hShape.length !== 4 || hShape[0] !== B || hShape[1] !== N || hShape[2] !== L || hShape[3] !== M) {
      throw new Error(`channel state has shape [${hShape}]; expected per-resource [B, N, L, M] = [${B}, ${N}, ${L}, ${M}] (use a per-resource channel such as per-resource-rayleigh)`);
    }
    const g = this.buildGraph(obs.codebook);
    const d = g.degree;
    const C = Q ** d;
    const R = C / Q;
    const E = L * d;
    const sigma2 = obs.noiseVar;
    const maxLog = this.params.variant === 'max-log-mpa';
    const reduce = (x: tf.Tensor, axis: number) => (maxLog ? tf.max(x, axis) : tf.logSumExp(x, axis));
    const channel = obs.channel;
    return cx.tidy((): Estimate => {
      // phi[b*L + l, c] = -(1/sigma^2) sum_m |y[b, l, m] - sum_k h[b, u_k, l, m] X[l, k, c]|^2
      const rows = cx.reshape(channel, [B, N * L, M]);
      const slots = { re: tf.gather(rows.re, g.channelRows, 1), im: tf.gather(rows.im, g.channelRows, 1) }; // [B, L*d, M]
      const hT = cx.reshape(cx.transpose(cx.reshape(slots, [B, L, d, M]), [1, 0, 3, 2]), [L, B * M, d]);
      const s = cx.matmul(hT, g.hypotheses); // [L, B*M, C]
      const yT = cx.reshape(cx.transpose(obs.y, [1, 0, 2]), [L, B * M, 1]);
      const dist = tf.sum(tf.reshape(cx.abs2(cx.sub(yT, s)), [L, B, M, C]), 2); // [L, B, C]
      const metric = tf.mul(tf.transpose(dist, [1, 0, 2]), -1 / sigma2); // [B, L, C]
      const phi = tf.reshape(g.hypothesisPrior === undefined ? metric : tf.add(metric, g.hypothesisPrior), [B * L, C]);

      // Messages on edges (b, l, k): user -> RE `toRe` and RE -> user `toUser`, [B, E, Q].
      let toRe: tf.Tensor = tf.zeros([B, E, Q]);
      let toUser: tf.Tensor = toRe;
      for (let t = 0; t < this.params.iterations; t++) {
        const prior = tf.matMul(tf.reshape(toRe, [B * L, d * Q]) as tf.Tensor2D, g.expand); // [B*L, C]
        const grouped = tf.reshape(tf.gather(tf.add(phi, prior), g.groups, 1), [B * L, d, Q, R]);
        // exclude the recipient's own incoming message (constant over each group)
        toUser = tf.sub(tf.reshape(reduce(grouped, 3), [B, E, Q]), toRe);
        if (t < this.params.iterations - 1) {
          const sum = tf.matMul(g.siblings, toUser); // [B, E, Q]
          toRe = tf.sub(sum, tf.max(sum, 2, true));
        }
      }
      // belief[b, n, q] = sum of the RE -> user messages of user n
      const perQ = tf.reshape(tf.transpose(toUser, [0, 2, 1]), [B * Q, E]);
      const sums = tf.transpose(tf.reshape(tf.matMul(perQ as tf.Tensor2D, g.edgeUser), [B, Q, N]), [0, 2, 1]); // [B, N, Q]
      const belief = g.messagePrior === undefined ? sums : tf.add(sums, g.messagePrior);
      const message = tf.cast(tf.argMax(belief, 2), 'int32') as tf.Tensor2D;
      const activity = tf.ones([B, N]) as tf.Tensor2D;
      if (this.scenario.deviceBits !== undefined) return { message, activity };
      const half = Q / 2;
      const ones = reduce(tf.reshape(tf.gather(belief, g.bitOnes, 2), [B, N, J, half]), 3);
      const zeros = reduce(tf.reshape(tf.gather(belief, g.bitZeros, 2), [B, N, J, half]), 3);
      const bitLLR = tf.sub(ones, zeros) as tf.Tensor3D;
      return { message, bitLLR, activity };
    });
  }

  private disposeGraph(): void {
    const g = this.graph;
    if (g === undefined) return;
    cx.dispose(g.hypotheses);
    tf.dispose([g.expand, g.groups, g.siblings, g.edgeUser, g.channelRows, g.bitOnes, g.bitZeros]);
    if (g.hypothesisPrior !== undefined) tf.dispose(g.hypothesisPrior);
    if (g.messagePrior !== undefined) tf.dispose(g.messagePrior);
    this.graph = undefined;
    this.graphFor = undefined;
  }

  dispose(): void {
    this.disposeGraph();
  }
}
