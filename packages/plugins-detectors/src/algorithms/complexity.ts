/**
 * Online multiplication counts of Mul-VAE and of the classical grant-free NOMA detectors it is
 * compared with (SCMA-MPA, MMSE-SIC): the closed forms of the paper, and exact counts from the
 * layer shapes and from an actual factor graph.
 *
 * Reference: Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint Constellation Design and Multiuser
 * Detection for Grant-Free NOMA", IEEE Trans. Wireless Commun., 2022, Sec. IV-F, Eqs. (23)-(30)
 * and Table I.
 *
 * Notation: N users, K resource elements (REs), user n carries R_n bits per K-RE block
 * (`bits[n]`), so it has M_n = 2^{R_n} messages. Every count is a number of real
 * multiplications per detected block; an exponential counts as one multiplication (as in the
 * paper's MPA count).
 *
 * @remarks
 * Deviations from, and readings of, the paper:
 * - Eqs. (26)-(27) contain a rate R that is not bound to any user (printed `2^{R_n}` outside the
 *   sum over n). It is the rate that sets the width 2^{R+3} of the sluice DNN's hidden layers.
 *   Here it is an explicit parameter `sluiceRate`; with a single rate for all users (Table I) it
 *   is that rate, and the default is the largest rate, max_n R_n.
 * - The paper counts the encoder for Mul-VAE but only the detector for MPA and MMSE-SIC. The
 *   Mul-VAE total reports both parts separately, so that like can be compared with like.
 * - The first line of Eq. (26) prices the sluice DNN's input layer (Σ_n M_n inputs) as
 *   8·Σ_n M_n², i.e. as if user n's inputs fed a layer of width 8·M_n. With a single rate this is
 *   the exact count 8·2^R·Σ_n M_n; with mixed rates it is not, so the exact layer-shape count
 *   ({@link mulVaeDetectorLayerCount}) and Eq. (26) differ slightly there.
 * - Eq. (28) assumes a regular factor graph and leaves Π_{i=1..d_f} 2^{R_i} unbound for mixed
 *   rates. {@link mpaComplexity} counts the given graph RE by RE, with each user's own rate; it
 *   equals Eq. (28) on a regular graph with a single rate.
 * - Table I prints 1.01×10⁹ for MMSE-SIC at N = 500; Eq. (30) gives 1.004×10⁹ (a rounding slip).
 */

/** The real dimension 2K of a K-RE complex vector, as the paper stacks [Re; Im]. */
const realDim = (K: number): number => 2 * K;

function assertCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`complexity: ${name} must be an integer >= ${min}, got ${value}`);
  }
}

function assertBits(bits: readonly number[]): void {
  if (bits.length === 0) throw new RangeError('complexity: bits must list at least one user');
  bits.forEach((r, n) => assertCount(`bits[${n}]`, r, 0));
}

/**
 * Multiplications of a dense network with layer widths N_1, ..., N_L (input first, output last),
 * Eq. (23): C_DNN = Σ_{l=1}^{L-1} N_l N_{l+1}. Biases and activations are not counted.
 *
 * @param widths - the widths of all layers, input and output included (at least one).
 */
export function denseMultiplications(widths: readonly number[]): number {
  if (widths.length === 0) throw new RangeError('complexity: widths must list at least the input layer');
  widths.forEach((w, l) => assertCount(`widths[${l}]`, w, 1));
  let total = 0;
  for (let l = 0; l + 1 < widths.length; l++) total += widths[l] * widths[l + 1];
  return total;
}

/**
 * Layer widths of the encoder DNN of a user with R bits (Sec. IV-A, Eq. (24)): input M = 2^R
 * (one-hot message), 4 hidden layers of 2^{R+3} = 8M, output 2K (the real form of the codeword).
 */
export function mulVaeEncoderWidths(bits: number, K: number): number[] {
  assertCount('bits', bits, 0);
  assertCount('K', K, 1);
  const M = 2 ** bits;
  return [M, 8 * M, 8 * M, 8 * M, 8 * M, realDim(K)];
}

/**
 * Encoder complexity, Eq. (24): C_E = Σ_n (200·2^{2R_n} + 16K·2^{R_n}).
 *
 * It equals the layer-shape count Σ_n C_DNN({@link mulVaeEncoderWidths}(R_n, K)), since
 * M·8M + 3·(8M)² + 8M·2K = 200M² + 16KM (see {@link mulVaeEncoderLayerCount}).
 *
 * @param bits - R_n of every user (length N).
 * @param K - number of REs.
 */
export function mulVaeEncoderComplexity(bits: readonly number[], K: number): number {
  assertBits(bits);
  assertCount('K', K, 1);
  return bits.reduce((sum, r) => sum + 200 * 4 ** r + 16 * K * 2 ** r, 0);
}

/** Encoder complexity counted exactly from the layer shapes (Eq. (23) per user); equals Eq. (24). */
export function mulVaeEncoderLayerCount(bits: readonly number[], K: number): number {
  assertBits(bits);
  return bits.reduce((sum, r) => sum + denseMultiplications(mulVaeEncoderWidths(r, K)), 0);
}

/**
 * Attention (decoupling module) complexity, Eq. (25): C_A = 4K²N, i.e. a 2K×2K real matrix times
 * a 2K vector for each of the N users.
 */
export function attentionComplexity(K: number, N: number): number {
  assertCount('K', K, 1);
  assertCount('N', N, 1);
  return 4 * K * K * N;
}

/** The sluice rate R of Eqs. (26)-(27): the given one, or max_n R_n by default. */
function resolveSluiceRate(bits: readonly number[], sluiceRate: number | undefined): number {
  const R = sluiceRate ?? Math.max(...bits);
  assertCount('sluiceRate', R, 0);
  return R;
}

/** The multi-task detection complexity of Eq. (26), split the way the paper groups its terms. */
export interface MulVaeDetectorComplexity {
  /**
   * Σ_n (536·2^{2R_n} + 32K·2^{R_n}): the 2N per-task DNNs, 2·Σ_n (264·M_n² + 16K·M_n), plus
   * the sluice DNN's input layer as the paper prices it, 8·Σ_n M_n².
   */
  perUser: number;
  /** 256·2^{2R} + 8(N²+N)·2^R: the rest of the sluice DNN (hidden-to-hidden and output layers). */
  sluice: number;
  /** C_M = perUser + sluice. */
  total: number;
}

/**
 * Multi-task detection (sluice network) complexity, Eq. (26):
 *
 *   C_M = Σ_n (536·2^{2R_n} + 32K·2^{R_n}) + 256·2^{2R} + 8(N²+N)·2^R.
 *
 * The network has 2N per-task DNNs (input 2K, 5 hidden layers of 8M_n, output M_n) and one
 * sluice DNN (input Σ_n M_n, 5 hidden layers of 2^{R+3}, output N²+N).
 *
 * @param bits - R_n of every user (length N).
 * @param K - number of REs.
 * @param sluiceRate - the paper's unbound R (it is not tied to any user). With a single rate for
 *   all users it is that rate. Default: max_n R_n.
 */
export function mulVaeDetectorComplexity(bits: readonly number[], K: number, sluiceRate?: number): MulVaeDetectorComplexity {
  assertBits(bits);
  assertCount('K', K, 1);
  const R = resolveSluiceRate(bits, sluiceRate);
  const N = bits.length;
  const perUser = bits.reduce((sum, r) => sum + 536 * 4 ** r + 32 * K * 2 ** r, 0);
  const sluice = 256 * 4 ** R + 8 * (N * N + N) * 2 ** R;
  return { perUser, sluice, total: perUser + sluice };
}

/**
 * Layer widths of one per-task DNN block of user n (Sec. IV-F): input 2K, 5 hidden layers of
 * 2^{R_n+3} = 8M_n, output M_n. Each user has two such blocks.
 */
export function mulVaeTaskDnnWidths(bits: number, K: number): number[] {
  assertCount('bits', bits, 0);
  assertCount('K', K, 1);
  const M = 2 ** bits;
  return [realDim(K), 8 * M, 8 * M, 8 * M, 8 * M, 8 * M, M];
}

/**
 * Layer widths of the sluice DNN (Sec. IV-F): input Σ_n 2^{R_n}, 5 hidden layers of 2^{R+3},
 * output N² + N (the sluice weights α and β). `sluiceRate` as in {@link mulVaeDetectorComplexity}.
 */
export function mulVaeSluiceWidths(bits: readonly number[], sluiceRate?: number): number[] {
  assertBits(bits);
  const R = resolveSluiceRate(bits, sluiceRate);
  const N = bits.length;
  const inputs = bits.reduce((sum, r) => sum + 2 ** r, 0);
  const hidden = 2 ** (R + 3);
  return [inputs, hidden, hidden, hidden, hidden, hidden, N * N + N];
}

/** The multi-task detection complexity counted exactly from the layer shapes. */
export interface MulVaeDetectorLayerCount {
  /** Σ_n 2·C_DNN({@link mulVaeTaskDnnWidths}(R_n, K)) = 2·Σ_n (264·M_n² + 16K·M_n). */
  taskDnns: number;
  /** C_DNN({@link mulVaeSluiceWidths}(bits, R)). */
  sluiceDnn: number;
  /** taskDnns + sluiceDnn. */
  total: number;
}

/**
 * Multi-task detection complexity from the layer shapes, Eq. (23) applied to every DNN of the
 * sluice network described with Eq. (26).
 *
 * With a single rate for all users this equals Eq. (26) exactly. With mixed rates it differs from
 * Eq. (26) by 8·2^R·Σ_n M_n − 8·Σ_n M_n² (the paper prices the sluice input layer per user with
 * width 8M_n instead of 2^{R+3}).
 */
export function mulVaeDetectorLayerCount(bits: readonly number[], K: number, sluiceRate?: number): MulVaeDetectorLayerCount {
  assertBits(bits);
  const taskDnns = bits.reduce((sum, r) => sum + 2 * denseMultiplications(mulVaeTaskDnnWidths(r, K)), 0);
  const sluiceDnn = denseMultiplications(mulVaeSluiceWidths(bits, sluiceRate));
  return { taskDnns, sluiceDnn, total: taskDnns + sluiceDnn };
}

/** Mul-VAE complexity, Eq. (27), with its parts. */
export interface MulVaeTotalComplexity {
  /** C_E, Eq. (24): transmitter side; the paper includes it, but counts no encoder for MPA/SIC. */
  encoder: number;
  /** C_A, Eq. (25). */
  attention: number;
  /** C_M, Eq. (26), with the paper's grouping of its terms. */
  multiTask: MulVaeDetectorComplexity;
  /** C_A + C_M: the detector alone, comparable with the MPA and MMSE-SIC counts. */
  detector: number;
  /**
   * C_Mul-VAE = C_E + C_A + C_M, Eq. (27):
   * Σ_n (736·2^{2R_n} + 48K·2^{R_n}) + 256·2^{2R} + 8(N²+N)·2^R + 4K²N (the Table I column).
   */
  total: number;
}

/**
 * Total Mul-VAE complexity, Eq. (27) = Eq. (24) + Eq. (25) + Eq. (26), with the encoder and the
 * detector-only parts reported separately.
 *
 * @param bits - R_n of every user (length N).
 * @param K - number of REs.
 * @param sluiceRate - the unbound R of Eqs. (26)-(27); default max_n R_n.
 */
export function mulVaeTotalComplexity(bits: readonly number[], K: number, sluiceRate?: number): MulVaeTotalComplexity {
  const encoder = mulVaeEncoderComplexity(bits, K);
  const attention = attentionComplexity(K, bits.length);
  const multiTask = mulVaeDetectorComplexity(bits, K, sluiceRate);
  const detector = attention + multiTask.total;
  return { encoder, attention, multiTask, detector, total: encoder + detector };
}

/** Inputs of {@link mpaComplexity}. */
export interface MpaComplexityInput {
  /** Number of message-passing iterations N_iter. */
  iterations: number;
  /** Factor graph, K rows (REs) by N columns (users), entry 1 where the user occupies the RE. */
  factorGraph: readonly (readonly number[])[];
  /** R_n of every user (length N). */
  bits: readonly number[];
}

/**
 * MPA detection complexity on a given factor graph, counted exactly in the way of Eq. (28):
 *
 *   C_MPA = Σ_k 2·N_iter·d_f(k)²·Π_{i∈U_k} M_i,
 *
 * where U_k is the set of users on RE k and d_f(k) = |U_k|. Per iteration, each of the d_f(k)
 * edges of RE k computes M_j outputs, each a sum over Π_{i∈U_k∖j} M_i codeword combinations at
 * 2·d_f(k) multiplications (exponent and prior product). Each user's own rate enters M_i.
 *
 * On a regular graph (d_f users per RE) with a single rate R this is Eq. (28),
 * 2·N_iter·K·d_f²·2^{R·d_f}. The K of the paper is the number of rows of `factorGraph`.
 */
export function mpaComplexity({ iterations, factorGraph, bits }: MpaComplexityInput): number {
  assertCount('iterations', iterations, 0);
  assertBits(bits);
  if (factorGraph.length === 0) throw new RangeError('complexity: factorGraph must have at least one RE (row)');
  let total = 0;
  factorGraph.forEach((row, k) => {
    if (row.length !== bits.length) {
      throw new RangeError(`complexity: factorGraph row ${k} has ${row.length} entries, but bits lists ${bits.length} users`);
    }
    let degree = 0;
    let combinations = 1;
    row.forEach((f, n) => {
      if (f !== 0 && f !== 1) throw new RangeError(`complexity: factorGraph[${k}][${n}] must be 0 or 1, got ${f}`);
      if (f === 1) {
        degree += 1;
        combinations *= 2 ** bits[n];
      }
    });
    if (degree > 0) total += 2 * iterations * degree * degree * combinations;
  });
  return total;
}

/**
 * MPA complexity of the regular construction used for Table I, Eqs. (28)-(29): d_v = 2 REs per
 * user, hence d_f = 2N/K users per RE, all users at rate R:
 *
 *   C_MPA = (8·N_iter·N²/K)·Π_{i=1}^{2N/K} 2^R = (8·N_iter·N²/K)·2^{R·2N/K}.
 *
 * @throws RangeError when 2N/K is not an integer (no such regular graph exists).
 */
export function mpaComplexityRegular(N: number, K: number, R: number, iterations: number): number {
  assertCount('N', N, 1);
  assertCount('K', K, 1);
  assertCount('R', R, 0);
  assertCount('iterations', iterations, 0);
  if ((2 * N) % K !== 0) throw new RangeError(`complexity: d_f = 2N/K = ${(2 * N) / K} is not an integer (N = ${N}, K = ${K})`);
  const df = (2 * N) / K;
  return ((8 * iterations * N * N) / K) * 2 ** (R * df);
}

/** MMSE-SIC detection complexity, Eq. (30) (from the paper's Ref. [57]): 2N³K + 4N²K + 2NK. */
export function mmseSicComplexity(N: number, K: number): number {
  assertCount('N', N, 1);
  assertCount('K', K, 1);
  return 2 * N ** 3 * K + 4 * N ** 2 * K + 2 * N * K;
}
