/**
 * Message passing (MPA) detection of sparse code multiple access (SCMA) on the host: the factor
 * graph of a codebook ({@link scmaFactorGraph}, built once per codebook) and the log-domain
 * (Log-MPA) and max-log (Max-Log-MPA) message passing over it ({@link mpaDetectHost}), in
 * JavaScript loops over typed arrays, float64 arithmetic throughout, one trial at a time (no
 * tfjs, no BLAS: a trial's results do not depend on the batch it is in); the message passing
 * runs in WebAssembly kernels where they load (two trials side by side, the same bits).
 *
 * Reference: H. Nikopour and H. Baligh, "Sparse code multiple access", IEEE PIMRC 2013 (MPA
 * detection of SCMA); log-domain (Log-MPA) and max-log (Max-Log-MPA) forms as surveyed in "A
 * tutorial on decoding techniques of sparse code multiple access", IEEE Access 10 (2022),
 * 58503-58524.
 *
 * Factor graph: variable nodes = users n, function nodes = resource elements (RE) l; user n is on
 * RE l when any of its codewords is non-zero there (|x|^2 > 1e-10 times the largest |x|^2 of the
 * codebook). d_f is the largest number of users on one RE; an RE with fewer users gets dummy
 * slots (user -1) with zero codewords. Slot k of RE l is edge e = l d_f + k (E = L d_f edges). A
 * joint hypothesis c in [0, C), C = Q^{d_f}, gives slot k the message q_k(c) = digit k of c in
 * base Q, slot 0 the most significant; dummy slots take all Q digits too (their codeword is zero
 * whatever the digit, so each real hypothesis appears Q^{#dummies} times; in Log-MPA this adds the
 * constant log Q^{#dummies} to the messages of that RE, which changes no decision or LLR).
 *
 * Per trial (y [L, M], h [N, L, M], sigma^2), RE l, hypothesis c:
 *
 *   phi_l(c)    = -(1/sigma^2) sum_m |y[l, m] - sum_k h[u_k, l, m] x_{u_k, q_k(c)}[l]|^2  (+ log-prior, below)
 *   RE -> user  I_{l->k}(q) = LSE_{c: q_k(c) = q} [ phi_l(c) + sum_{k'} I_{k'->l}(q_{k'}(c)) ] - I_{k->l}(q)
 *   user -> RE  I_{k->l}(q) = s(q) - max_q' s(q'),  s(q) = sum of I_{l'->n}(q) over the other edges l' of user n = u_k
 *               (not after the last iteration; 0 at the start and on dummy slots)
 *   belief      b_n(q) = sum of I_{l->n}(q) over the edges of user n (+ log-prior, below)
 *   decision    m_n = argmax_q b_n(q) (the first of equal maxima)
 *   bit LLR     LLR_{n,j} = LSE_{q: bit_j(q) = 1} b_n(q) - LSE_{q: bit_j(q) = 0} b_n(q)
 *
 * (subtracting the recipient's own message from the LSE over all hypotheses is the sum over the
 * other slots of the equations in the references). LSE is log-sum-exp (Log-MPA, the exact
 * sum-product in the log domain) or max (Max-Log-MPA). One iteration = all RE -> user messages
 * (flooding), then all user -> RE messages. Bits of q are natural binary, most significant first;
 * LLR = log P(b = 1) / P(b = 0).
 *
 * Heterogeneous rates (device n with Q_n <= Q messages, as in the SCMA baseline of Z. Ma, W. Wu,
 * M. Jian, F. Gao, X. Shen, "Joint constellation design and multiuser detection for grant-free
 * NOMA", IEEE Trans. Wireless Commun. 2022, Sec. IV): joint hypotheses in which a slot's message
 * is q_k >= Q_{u_k} get the log-prior {@link IMPOSSIBLE_LOG_PRIOR} in phi_l (a finite stand-in for
 * -Infinity), and b_n(q) = -Infinity for q >= Q_n, so the decision lies in [0, Q_n). The uniform
 * log-prior -log Q_n of the possible messages changes no decision and is left out.
 *
 * Layouts (row-major): y [B, L, M]; h [B, N, L, M]; codebook [L, N*Q] (column n*Q + q = codeword q
 * of user n); message [B, N]; bitLLR [B, N, J]; belief [B, N, Q].
 *
 * Numerics (float64): Log-MPA computes exp(phi_l(c) - max_c phi_l(c)) once per trial and, per
 * iteration, exp of the d_f Q incoming messages of an RE (all <= 0 after normalisation), so that
 * exp(phi_l(c) + prior(c) - max phi_l) is a product of d_f + 1 factors <= 1; a group whose sum
 * falls below 2^-900 (where underflowed terms could matter) is redone in the log domain relative
 * to its own maximum, as LSE = max + log sum exp(x - max). Cost per trial and iteration:
 * O(L C d_f) multiply-adds and L d_f Q exponentials (Log-MPA), O(L C d_f) additions and
 * comparisons (Max-Log-MPA); plus L C exponentials per trial. The exponentials and logarithms
 * are `preciseExp` and `approxLog` (approx-math.ts: a few ulps, 1e-13 relative), which the
 * WebAssembly kernel repeats operation for operation.
 */

import { approxLog, preciseExp } from './approx-math';
import { mpaWasm } from './wasm';

/** Largest number of joint hypotheses Q^{d_f} per resource element the kernel accepts. */
export const MAX_HYPOTHESES_PER_RESOURCE = 2 ** 14;

/**
 * Log-prior added to phi_l(c) of a joint hypothesis in which some user sends a message it does
 * not have (q >= Q_n, per-device bits). Finite, so that no message becomes -Infinity - (-Infinity)
 * = NaN when the recipient's own message is subtracted; large enough that such hypotheses never
 * contribute.
 */
export const IMPOSSIBLE_LOG_PRIOR = -1e30;

/** A resource element's entry counts as zero when |x|^2 <= this times the largest |x|^2 of the codebook. */
const ZERO_ENTRY = 1e-10;

/** A Log-MPA group sum (relative to the RE's largest term) below this is redone relative to its own maximum. */
const SMALL_GROUP_SUM = 2 ** -900;

/** The factor graph of an SCMA codebook and the index tables of the message schedule (host arrays). */
export interface ScmaFactorGraph {
  /** N: users. */
  readonly numDevices: number;
  /** L: resource elements. */
  readonly numResources: number;
  /** Q: codewords per user (the codebook's columns per user). */
  readonly messages: number;
  /** J = log2 Q: bits per message. */
  readonly bits: number;
  /** d_f: largest number of users sharing a resource element (REs with fewer get dummy slots). */
  readonly degree: number;
  /** C = Q^{d_f}: joint hypotheses per resource element. */
  readonly hypotheses: number;
  /** users[l][k]: the user in slot k of resource element l, -1 for a dummy slot. */
  readonly users: readonly (readonly number[])[];
  /** [L, d_f, Q] real and imaginary parts: x_{users[l][k], q}[l] (0 on dummy slots). */
  readonly codeRe: Float64Array;
  readonly codeIm: Float64Array;
  /** [C, d_f]: k Q + q_k(c), the index of slot k's message in the [d_f, Q] block of an RE. */
  readonly slotIndex: Int32Array;
  /** [d_f Q, C / Q]: the hypotheses c with q_k(c) = q (row k Q + q), in increasing order. */
  readonly groups: Int32Array;
  /** [E]: row n L + l of h [N L, M] (per trial) that edge e = l d_f + k sees; -1 on dummy slots. */
  readonly edgeChannel: Int32Array;
  /** Edges of user n: edgeList[edgeStart[n] .. edgeStart[n + 1]), increasing ([N + 1] and [sum of degrees]). */
  readonly edgeStart: Int32Array;
  readonly edgeList: Int32Array;
  /** Per-device bits only: [N] Q_n. */
  readonly messagesPerDevice?: Int32Array;
  /** Per-device bits only: [L, C] log-prior of hypothesis c on RE l, 0 or {@link IMPOSSIBLE_LOG_PRIOR}. */
  readonly hypothesisPrior?: Float64Array;
}

/**
 * The factor graph of a codebook [L, N*Q] (row-major, column n*Q + q = codeword q of user n).
 * `messagesPerDevice` (Q_n <= Q per user) only with heterogeneous rates. Throws when C = Q^{d_f}
 * exceeds {@link MAX_HYPOTHESES_PER_RESOURCE}.
 */
export function scmaFactorGraph(
  codebookRe: ArrayLike<number>,
  codebookIm: ArrayLike<number>,
  numDevices: number,
  messages: number,
  messagesPerDevice?: readonly number[],
): ScmaFactorGraph {
  const N = numDevices;
  const Q = messages;
  const J = Math.round(Math.log2(Q));
  if (!(Q >= 2 && 2 ** J === Q)) throw new Error(`SCMA needs Q = 2^J >= 2 codewords per user (got ${Q})`);
  if (codebookRe.length % (N * Q) !== 0 || codebookIm.length !== codebookRe.length) {
    throw new Error(`codebook has ${codebookRe.length} entries; expected L * N * Q with N * Q = ${N * Q}`);
  }
  if (messagesPerDevice !== undefined && (messagesPerDevice.length !== N || messagesPerDevice.some((q) => !(q >= 1 && q <= Q)))) {
    throw new Error(`messagesPerDevice must give 1 <= Q_n <= ${Q} for each of the ${N} users (got [${messagesPerDevice.join(', ')}])`);
  }
  const L = codebookRe.length / (N * Q);
  const at = (l: number, n: number, q: number) => l * N * Q + n * Q + q;
  let peak = 0;
  for (let i = 0; i < codebookRe.length; i++) peak = Math.max(peak, codebookRe[i] * codebookRe[i] + codebookIm[i] * codebookIm[i]);
  const users: number[][] = [];
  for (let l = 0; l < L; l++) {
    const on: number[] = [];
    for (let n = 0; n < N; n++) {
      let used = false;
      for (let q = 0; q < Q && !used; q++) used = codebookRe[at(l, n, q)] ** 2 + codebookIm[at(l, n, q)] ** 2 > ZERO_ENTRY * peak;
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
  const digit = (c: number, k: number) => Math.floor(c / Q ** (d - 1 - k)) % Q;

  const codeRe = new Float64Array(L * d * Q);
  const codeIm = new Float64Array(L * d * Q);
  const edgeChannel = new Int32Array(L * d).fill(-1);
  for (let l = 0; l < L; l++) {
    for (let k = 0; k < d; k++) {
      const n = users[l][k];
      if (n < 0) continue;
      edgeChannel[l * d + k] = n * L + l;
      for (let q = 0; q < Q; q++) {
        codeRe[(l * d + k) * Q + q] = codebookRe[at(l, n, q)];
        codeIm[(l * d + k) * Q + q] = codebookIm[at(l, n, q)];
      }
    }
  }
  const slotIndex = new Int32Array(C * d);
  const groups = new Int32Array(d * Q * R);
  for (let k = 0; k < d; k++) {
    const filled = new Array<number>(Q).fill(0);
    for (let c = 0; c < C; c++) {
      const q = digit(c, k);
      slotIndex[c * d + k] = k * Q + q;
      groups[(k * Q + q) * R + filled[q]++] = c;
    }
  }
  const edgeStart = new Int32Array(N + 1);
  const perUser: number[][] = Array.from({ length: N }, () => []);
  for (let e = 0; e < L * d; e++) if (edgeChannel[e] >= 0) perUser[Math.floor(edgeChannel[e] / L)].push(e);
  for (let n = 0; n < N; n++) edgeStart[n + 1] = edgeStart[n] + perUser[n].length;
  const edgeList = Int32Array.from(perUser.flat());

  let hypothesisPrior: Float64Array | undefined;
  let perDevice: Int32Array | undefined;
  if (messagesPerDevice !== undefined) {
    perDevice = Int32Array.from(messagesPerDevice);
    hypothesisPrior = new Float64Array(L * C);
    for (let l = 0; l < L; l++) {
      for (let c = 0; c < C; c++) {
        let possible = true;
        for (let k = 0; k < d && possible; k++) possible = users[l][k] < 0 || digit(c, k) < perDevice[users[l][k]];
        if (!possible) hypothesisPrior[l * C + c] = IMPOSSIBLE_LOG_PRIOR;
      }
    }
  }
  return {
    numDevices: N,
    numResources: L,
    messages: Q,
    bits: J,
    degree: d,
    hypotheses: C,
    users,
    codeRe,
    codeIm,
    slotIndex,
    groups,
    edgeChannel,
    edgeStart,
    edgeList,
    messagesPerDevice: perDevice,
    hypothesisPrior,
  };
}

/** The received signal and channel state of B trials (row-major host arrays, e.g. float32 tensor readbacks). */
export interface MpaHostInput {
  /** B. */
  readonly trials: number;
  /** M: receive antennas. */
  readonly antennas: number;
  /** [B, L, M] real and imaginary parts of y. */
  readonly yRe: ArrayLike<number>;
  readonly yIm: ArrayLike<number>;
  /** [B, N, L, M] real and imaginary parts of the per-resource channel h. */
  readonly hRe: ArrayLike<number>;
  readonly hIm: ArrayLike<number>;
  /** sigma^2: noise variance per complex sample. */
  readonly noiseVar: number;
}

/** MPA settings: T iterations (no early stop) and the LSE (log-sum-exp or max). */
export interface MpaHostParams {
  readonly iterations: number;
  readonly variant: 'log-mpa' | 'max-log-mpa';
}

/** Outputs, written in place; give only the ones wanted (`message` always). */
export interface MpaHostOutput {
  /** [B, N]: argmax_q b_n(q). */
  readonly message: Int32Array;
  /** [B, N, J]: bit LLRs (NaN-free only without per-device bits: b_n(q) = -Infinity there). */
  readonly bitLLR?: Float32Array | Float64Array;
  /** [B, N, Q]: the final beliefs b_n(q) (log-posteriors up to a constant per user; -Infinity for q >= Q_n). */
  readonly belief?: Float64Array;
}

/**
 * MPA over the factor graph `g` for each of the B trials of `input` (independently, in order),
 * writing the decisions and, when given, the bit LLRs and beliefs into `out`. See the module
 * comment for the equations and layouts. The message passing (Log-MPA and Max-Log-MPA, with or
 * without per-device bits) runs in the WebAssembly kernels of `assembly/mpa.ts` (two trials side by
 * side) where they load, unless `wasm` is false; the same bits as the JavaScript loops here, which
 * run otherwise.
 */
export function mpaDetectHost(g: ScmaFactorGraph, input: MpaHostInput, params: MpaHostParams, out: MpaHostOutput, wasm = true): void {
  const { numDevices: N, numResources: L, messages: Q, bits: J, degree: d, hypotheses: C, slotIndex, groups, edgeChannel, edgeStart, edgeList, hypothesisPrior } = g;
  const { trials: B, antennas: M, yRe, yIm, hRe, hIm } = input;
  const T = params.iterations;
  const maxLog = params.variant === 'max-log-mpa';
  const E = L * d;
  const dQ = d * Q;
  const R = C / Q;
  if (!(Number.isInteger(T) && T >= 1)) throw new Error(`iterations must be an integer >= 1 (got ${T})`);
  if (yRe.length !== B * L * M || yIm.length !== yRe.length) throw new Error(`y has ${yRe.length} entries; expected B * L * M = ${B * L * M}`);
  if (hRe.length !== B * N * L * M || hIm.length !== hRe.length) throw new Error(`h has ${hRe.length} entries; expected B * N * L * M = ${B * N * L * M}`);
  if (out.message.length !== B * N) throw new Error(`message output has ${out.message.length} entries; expected B * N = ${B * N}`);
  if (out.bitLLR !== undefined && out.bitLLR.length !== B * N * J) throw new Error(`bitLLR output has ${out.bitLLR.length} entries; expected B * N * J = ${B * N * J}`);
  if (out.belief !== undefined && out.belief.length !== B * N * Q) throw new Error(`belief output has ${out.belief.length} entries; expected B * N * Q = ${B * N * Q}`);
  if (!(input.noiseVar > 0 && Number.isFinite(input.noiseVar))) throw new Error(`noiseVar must be a finite sigma^2 > 0 (got ${input.noiseVar})`);
  const scale = -1 / input.noiseVar;
  const belief = new Float64Array(Q);

  const kernel = wasm ? mpaWasm() : undefined;
  if (kernel !== undefined) {
    const a = kernel.scratch.arrays({
      slotIndex: [C * d, false],
      groups: [C * d, false],
      edgeChannel: [E, false],
      edgeStart: [N + 1, false],
      edgeList: [edgeList.length, false],
      codeRe: [E * Q, true],
      codeIm: [E * Q, true],
      yRe: [B * L * M, true],
      yIm: [B * L * M, true],
      hRe: [B * N * L * M, true],
      hIm: [B * N * L * M, true],
      prior: [hypothesisPrior === undefined ? 0 : L * C, true],
      toUser: [B * E * Q, true],
      work: [2 * (2 * L * C + 2 * E * Q + 4 * dQ + L) + R, true],
    });
    const ints = (v: Float32Array | Float64Array, from: Int32Array) => new Int32Array(v.buffer, v.byteOffset, from.length).set(from);
    ints(a.slotIndex, slotIndex);
    ints(a.groups, groups);
    ints(a.edgeChannel, edgeChannel);
    ints(a.edgeStart, edgeStart);
    ints(a.edgeList, edgeList);
    a.codeRe.set(g.codeRe);
    a.codeIm.set(g.codeIm);
    a.yRe.set(yRe);
    a.yIm.set(yIm);
    a.hRe.set(hRe);
    a.hIm.set(hIm);
    if (hypothesisPrior !== undefined) a.prior.set(hypothesisPrior);
    const at = (v: Float32Array | Float64Array) => v.byteOffset;
    const prior = hypothesisPrior === undefined ? 0 : at(a.prior);
    kernel.exports.mpaMessages(maxLog, B, N, L, M, Q, d, T, scale, at(a.slotIndex), at(a.groups), at(a.edgeChannel), at(a.edgeStart), at(a.edgeList), at(a.codeRe), at(a.codeIm), at(a.yRe), at(a.yIm), at(a.hRe), at(a.hIm), prior, at(a.toUser), at(a.work));
    for (let b = 0; b < B; b++) decide(g, a.toUser, b * E * Q, b, maxLog, out, belief);
    return;
  }

  const phi = new Float64Array(L * C); // [L, C]
  const hxRe = new Float64Array(dQ); // [d, Q]: h[u_k, l, m] x_{u_k, q}[l] of one (l, m)
  const hxIm = new Float64Array(dQ);
  const toRe = new Float64Array(E * Q); // [E, Q]: user -> RE
  const toUser = new Float64Array(E * Q); // [E, Q]: RE -> user
  const phiTop = new Float64Array(L); // Log-MPA: max_c phi_l(c)
  const weight = new Float64Array(L * C); // Log-MPA: [L, C] exp(phi_l(c) - max_c phi_l(c))
  const factor = new Float64Array(dQ); // Log-MPA: exp(toRe) of one RE
  const total = new Float64Array(R); // Log-MPA: phi_l(c) + prior of one group
  const acc = new Float64Array(dQ); // LSE accumulators of one RE's groups

  for (let b = 0; b < B; b++) {
    // phi[l, c]
    const yOff = b * L * M;
    const hOff = b * N * L * M;
    phi.fill(0);
    for (let l = 0; l < L; l++) {
      for (let m = 0; m < M; m++) {
        for (let k = 0; k < d; k++) {
          const row = edgeChannel[l * d + k];
          const cOff = (l * d + k) * Q;
          if (row < 0) {
            hxRe.fill(0, k * Q, (k + 1) * Q);
            hxIm.fill(0, k * Q, (k + 1) * Q);
            continue;
          }
          const hr = hRe[hOff + row * M + m];
          const hi = hIm[hOff + row * M + m];
          for (let q = 0; q < Q; q++) {
            // (hr + i hi)(xr + i xi) = (hr xr - hi xi) + i (hr xi + hi xr)
            const xr = g.codeRe[cOff + q];
            const xi = g.codeIm[cOff + q];
            hxRe[k * Q + q] = hr * xr - hi * xi;
            hxIm[k * Q + q] = hr * xi + hi * xr;
          }
        }
        const yr = yRe[yOff + l * M + m];
        const yi = yIm[yOff + l * M + m];
        for (let c = 0, i = 0; c < C; c++) {
          let re = yr;
          let im = yi;
          for (let k = 0; k < d; k++, i++) {
            re -= hxRe[slotIndex[i]];
            im -= hxIm[slotIndex[i]];
          }
          phi[l * C + c] += re * re + im * im;
        }
      }
    }
    for (let i = 0; i < L * C; i++) phi[i] = phi[i] * scale + (hypothesisPrior === undefined ? 0 : hypothesisPrior[i]);

    // Log-MPA: w[c] = exp(phi_l(c) - top_l), top_l = max_c phi_l(c), once per trial
    if (!maxLog) {
      for (let l = 0; l < L; l++) {
        let top = -Infinity;
        for (let c = 0; c < C; c++) top = Math.max(top, phi[l * C + c]);
        phiTop[l] = top;
        for (let c = 0; c < C; c++) weight[l * C + c] = preciseExp(phi[l * C + c] - top);
      }
    }

    toRe.fill(0);
    for (let t = 0; t < T; t++) {
      // RE -> user, every RE from the same user -> RE messages
      for (let l = 0; l < L; l++) {
        const base = l * dQ;
        const pOff = l * C;
        if (maxLog) {
          acc.fill(-Infinity);
          if (d === 3) {
            // the common SCMA degree, unrolled
            for (let c = 0, i = 0; c < C; c++, i += 3) {
              const j0 = slotIndex[i];
              const j1 = slotIndex[i + 1];
              const j2 = slotIndex[i + 2];
              const v = phi[pOff + c] + toRe[base + j0] + toRe[base + j1] + toRe[base + j2];
              if (v > acc[j0]) acc[j0] = v;
              if (v > acc[j1]) acc[j1] = v;
              if (v > acc[j2]) acc[j2] = v;
            }
          } else {
            for (let c = 0, i = 0; c < C; c++) {
              let v = phi[pOff + c];
              for (let k = 0; k < d; k++) v += toRe[base + slotIndex[i + k]];
              for (let k = 0; k < d; k++, i++) {
                const j = slotIndex[i];
                if (v > acc[j]) acc[j] = v;
              }
            }
          }
        } else {
          // exp(phi_l(c) + sum_k toRe_k - top_l) = w[c] prod_k exp(toRe_k), every factor <= 1 (toRe <= 0)
          for (let j = 0; j < dQ; j++) {
            factor[j] = preciseExp(toRe[base + j]);
            acc[j] = 0;
          }
          if (d === 3) {
            // the common SCMA degree, unrolled
            for (let c = 0, i = 0; c < C; c++, i += 3) {
              const j0 = slotIndex[i];
              const j1 = slotIndex[i + 1];
              const j2 = slotIndex[i + 2];
              const w = weight[pOff + c] * factor[j0] * factor[j1] * factor[j2];
              acc[j0] += w;
              acc[j1] += w;
              acc[j2] += w;
            }
          } else {
            for (let c = 0, i = 0; c < C; c++) {
              let w = weight[pOff + c];
              for (let k = 0; k < d; k++) w *= factor[slotIndex[i + k]];
              for (let k = 0; k < d; k++, i++) acc[slotIndex[i]] += w;
            }
          }
          const top = phiTop[l];
          for (let j = 0; j < dQ; j++) {
            if (acc[j] >= SMALL_GROUP_SUM) {
              acc[j] = top + approxLog(acc[j]);
              continue;
            }
            // a group far below the RE's maximum: exactly, relative to the group's own maximum
            for (let r = 0; r < R; r++) {
              const c = groups[j * R + r];
              let v = phi[pOff + c];
              for (let k = 0; k < d; k++) v += toRe[base + slotIndex[c * d + k]];
              total[r] = v;
            }
            let gTop = -Infinity;
            for (let r = 0; r < R; r++) gTop = Math.max(gTop, total[r]);
            let sum = 0;
            for (let r = 0; r < R; r++) sum += preciseExp(total[r] - gTop);
            acc[j] = gTop + approxLog(sum);
          }
        }
        // exclude the recipient's own incoming message (constant over each group)
        for (let j = 0; j < dQ; j++) toUser[base + j] = acc[j] - toRe[base + j];
      }
      if (t === T - 1) break;
      // user -> RE: the sum over the user's other edges, normalised to max 0 (dummy slots stay 0)
      for (let n = 0; n < N; n++) {
        const first = edgeStart[n];
        const last = edgeStart[n + 1];
        for (let a = first; a < last; a++) {
          const e = edgeList[a];
          let top = -Infinity;
          for (let q = 0; q < Q; q++) {
            let s = 0;
            for (let a2 = first; a2 < last; a2++) if (a2 !== a) s += toUser[edgeList[a2] * Q + q];
            toRe[e * Q + q] = s;
            if (s > top) top = s;
          }
          for (let q = 0; q < Q; q++) toRe[e * Q + q] -= top;
        }
      }
    }

    decide(g, toUser, 0, b, maxLog, out, belief);
  }
}

/**
 * Beliefs, decision and bit LLRs of trial b from its last RE -> user messages (toUser[from ..],
 * [E, Q]) into `out`; `belief` [Q] is scratch.
 */
function decide(g: ScmaFactorGraph, toUser: Float64Array, from: number, b: number, maxLog: boolean, out: MpaHostOutput, belief: Float64Array): void {
  const { numDevices: N, messages: Q, bits: J, edgeStart, edgeList } = g;
  for (let n = 0; n < N; n++) {
    const Qn = g.messagesPerDevice === undefined ? Q : g.messagesPerDevice[n];
    let best = 0;
    for (let q = 0; q < Q; q++) {
      let s = 0;
      for (let a = edgeStart[n]; a < edgeStart[n + 1]; a++) s += toUser[from + edgeList[a] * Q + q];
      belief[q] = q < Qn ? s : -Infinity;
      if (belief[q] > belief[best]) best = q;
    }
    out.message[b * N + n] = best;
    if (out.belief !== undefined) out.belief.set(belief, (b * N + n) * Q);
    if (out.bitLLR === undefined) continue;
    for (let j = 0; j < J; j++) {
      const shift = J - 1 - j;
      let top1 = -Infinity;
      let top0 = -Infinity;
      for (let q = 0; q < Q; q++) {
        if ((q >> shift) & 1) top1 = Math.max(top1, belief[q]);
        else top0 = Math.max(top0, belief[q]);
      }
      let llr = top1 - top0;
      if (!maxLog) {
        let s1 = 0;
        let s0 = 0;
        for (let q = 0; q < Q; q++) {
          if ((q >> shift) & 1) s1 += preciseExp(belief[q] - top1);
          else s0 += preciseExp(belief[q] - top0);
        }
        llr += approxLog(s1) - approxLog(s0);
      }
      out.bitLLR[(b * N + n) * J + j] = llr;
    }
  }
}
