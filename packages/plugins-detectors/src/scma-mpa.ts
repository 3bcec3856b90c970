import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
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
import { mpaDetectHost, scmaFactorGraph, type ScmaFactorGraph } from './algorithms/mpa-host';

export { MAX_HYPOTHESES_PER_RESOURCE } from './algorithms/mpa-host';

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
 * The message passing runs on the host ({@link mpaDetectHost}: float64 arithmetic, one trial at a
 * time, so a trial's outputs do not depend on the batch it is in); the graph tables
 * ({@link scmaFactorGraph}) are built once per codebook (kept while the codebook's values stay
 * the same). Per trial and iteration the cost is O(L Q^{d_f} d_f) additions and L Q^{d_f}
 * exponentials (none for max-log). Inputs are read back once per detect (y, h, and the codebook,
 * compared with the cached one); the outputs are float32/int32 tensors.
 *
 * Heterogeneous rates (`scenario.bitsPerDevice` a list, device n with Q_n = 2^{J_n} <= Q
 * messages, as in the SCMA baseline of Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint
 * constellation design and multiuser detection for grant-free NOMA", IEEE Trans. Wireless Commun.
 * 2022, Sec. IV): the prior of device n is uniform on [0, Q_n), ln(1/Q_n), and zero on q >= Q_n.
 * The codebook columns q >= Q_n (zeros) are never hypothesised: joint hypotheses with such a
 * message get log-prior -1e30 in phi_l (`IMPOSSIBLE_LOG_PRIOR` of the algorithm layer, a finite
 * stand-in for -Infinity), and the final belief is -Infinity there, so the decision always lies in [0, Q_n). The constant ln(1/Q_n) itself changes
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
 * are normalised to max 0, which changes no decision or LLR; float64 arithmetic, outputs rounded to
 * float32). Exact (bitwise MAP) on tree-shaped factor graphs, approximate on loopy ones such as
 * the 6x4 SCMA graph.
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

  private graph: ScmaFactorGraph | undefined;
  /** The codebook values [L, N*Q] the graph was built from. */
  private graphRe: Float32Array | undefined;
  private graphIm: Float32Array | undefined;

  constructor(
    @inject(TOKENS.params) private readonly params: ScmaMpaParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {}

  /** The factor graph of `codebook` (built once per codebook values and kept). */
  factorGraph(codebook: ComplexTensor): { degree: number; users: readonly (readonly number[])[] } {
    const g = this.buildGraph(codebook);
    return { degree: g.degree, users: g.users };
  }

  private buildGraph(codebook: ComplexTensor): ScmaFactorGraph {
    refusePerTrialCodebook(codebook, 'scma-mpa');
    const { numDevices: N, sequenceLength: L } = this.scenario;
    const Q = numSequences(this.scenario);
    const shape = codebook.re.shape;
    if (shape.length !== 2 || shape[0] !== L || shape[1] !== N * Q) {
      throw new Error(`codebook has shape [${shape}]; expected [L, N*Q] = [${L}, ${N * Q}]. Check scenario.sequenceLength, numDevices and bitsPerDevice`);
    }
    const re = codebook.re.dataSync();
    const im = codebook.im.dataSync();
    if (this.graph !== undefined && sameValues(re, this.graphRe) && sameValues(im, this.graphIm)) return this.graph;
    this.graph = scmaFactorGraph(re, im, N, Q, this.scenario.deviceBits === undefined ? undefined : deviceSequences(this.scenario));
    this.graphRe = Float32Array.from(re);
    this.graphIm = Float32Array.from(im);
    return this.graph;
  }

  detect(obs: ScmaMpaObservation): Estimate {
    const { numDevices: N, numAntennas: M, sequenceLength: L, bitsPerDevice: J } = this.scenario;
    const yShape = obs.y.re.shape;
    const B = yShape[0];
    if (yShape.length !== 3 || yShape[1] !== L || yShape[2] !== M) {
      throw new Error(`y has shape [${yShape}]; expected [B, L, M] = [${B}, ${L}, ${M}]. Check scenario.sequenceLength and numAntennas`);
    }
    const hShape = obs.channel.re.shape;
    if (hShape.length !== 4 || hShape[0] !== B || hShape[1] !== N || hShape[2] !== L || hShape[3] !== M) {
      throw new Error(`channel state has shape [${hShape}]; expected per-resource [B, N, L, M] = [${B}, ${N}, ${L}, ${M}] (use a per-resource channel such as per-resource-rayleigh)`);
    }
    const g = this.buildGraph(obs.codebook);
    const message = new Int32Array(B * N);
    const bitLLR = this.scenario.deviceBits === undefined ? new Float32Array(B * N * J) : undefined;
    mpaDetectHost(
      g,
      {
        trials: B,
        antennas: M,
        yRe: obs.y.re.dataSync(),
        yIm: obs.y.im.dataSync(),
        hRe: obs.channel.re.dataSync(),
        hIm: obs.channel.im.dataSync(),
        noiseVar: obs.noiseVar,
      },
      this.params,
      { message, bitLLR },
    );
    return {
      message: tf.tensor2d(message, [B, N], 'int32'),
      ...(bitLLR === undefined ? {} : { bitLLR: tf.tensor3d(bitLLR, [B, N, J]) }),
      activity: tf.ones([B, N]),
    };
  }

  dispose(): void {
    this.graph = undefined;
    this.graphRe = undefined;
    this.graphIm = undefined;
  }
}

/** Whether `a` holds the same values as `b` (as float32; -0 and 0 differ). */
function sameValues(a: ArrayLike<number>, b: Float32Array | undefined): boolean {
  if (b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}
