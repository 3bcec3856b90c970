/**
 * Covariance-based activity estimation: coordinate descent on the negative log-likelihood (ML)
 * or posterior (MAP) of the per-sequence powers gamma given the sample covariance, on the host in
 * float64 ({@link CovarianceCd}, {@link covarianceCdHost}) and batched in tfjs in float32
 * ({@link covarianceCdTf}), sharing one coordinate step ({@link coordinateStep},
 * {@link coordinateStepTf}); and the non-negative LASSO on the sample covariance
 * ({@link covarianceLassoHost}).
 *
 * Model: given the activity, the M columns of Y in C^{L x K} are i.i.d. CN(0, Sigma(gamma)),
 * Sigma(gamma) = S diag(gamma) S^H + sigma^2 I_L, with one gamma_k >= 0 per sequence s_k. The ML
 * estimate minimises
 *
 *   f(gamma) = log det Sigma(gamma) + tr(Sigma(gamma)^{-1} Sigma_hat),   Sigma_hat = Y Y^H / M.
 *
 * Coordinate descent starts from gamma = 0, Sigma^{-1} = I / sigma^2 and visits the coordinates
 * in a given order; for coordinate k:
 *
 *   u = Sigma^{-1} s_k,   a = s_k^H u,   b = u^H Sigma_hat u,
 *   d = max(step(a, b, c_k), -gamma_k),   gamma_k += d,   Sigma^{-1} -= d u u^H / (1 + d a)
 *
 * (Sherman-Morrison). The ML step (b - a) / a^2 is the exact minimiser of f along gamma_k, so f
 * never increases (A. Fengler, S. Haghighatshoar, P. Jung, G. Caire, "Non-Bayesian activity
 * detection, large-scale fading coefficient estimation, and unsourced random access with a
 * massive MIMO receiver", IEEE Trans. Inf. Theory, 2021).
 *
 * MAP (Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via deep
 * learning with applications in MIMO-based grant-free random access", IEEE J. Sel. Areas
 * Commun., 2021, Sec. IV-A.2, Eqs. (16)-(19), Algorithm 3): the prior adds - sum_k c_k gamma_k to
 * f, with c_k = log(p_k / (1 - p_k)) / (M beta_n) for sequence k of device n and p_k = eps_n / Q
 * (Eq. (16)'s (1/M) log-prior written for gamma_k = beta_n alpha_k). The exact coordinate
 * minimiser then solves c u^2 - a u + b = 0 in u = 1 + d a; see {@link mapStep}.
 */
import * as tf from '@tensorflow/tfjs';
import { cx, type ComplexTensor, type Generator } from '@gfra/core';
import { hermitianForm, hermitianRankOneUpdate, hermitianSampleCovariance, hermitianTimes, interleavedAdjoint, interleavedColumns, rowsTimesNorm2 } from './covariance-host';
import { covarianceWasm, type CovarianceWasmExports, type WasmKernels } from './wasm';

/** Coordinate order of each sweep: `sweeps` times 0, 1, ..., K - 1 (one shared array). */
export function cyclicOrders(K: number, sweeps: number): readonly (readonly number[])[] {
  const identity = Array.from({ length: K }, (_, k) => k);
  return Array.from({ length: sweeps }, () => identity);
}

/** Coordinate order of each sweep: a fresh uniform permutation of 0 .. K - 1 per sweep (Fisher-Yates, drawn from `g`). */
export function randomOrders(K: number, sweeps: number, g: Generator): readonly (readonly number[])[] {
  const identity = Array.from({ length: K }, (_, k) => k);
  return Array.from({ length: sweeps }, () => {
    const perm = identity.slice();
    for (let i = K - 1; i > 0; i--) {
      const j = g.integer(i + 1);
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    return perm;
  });
}

/**
 * The exact minimiser d of f(d) = log(1 + d s) - d q / (1 + d s) - c d along one coordinate (the
 * MAP coordinate step, Cui, Li, Zhang, Eqs. (18)-(19), with the sign of the prior term in (19) and
 * the denominator of Algorithm 3, step 6, corrected to 1 + d a_n^H Sigma^{-1} a_n), in the
 * division-free form
 *
 *   u* = 2 q / (s + sqrt(s^2 - 4 c q)),   d = (u* - 1) / s      (u = 1 + d s),
 *
 * which is finite at c = 0, where it is the ML step (q - s) / s^2 (returned exactly in that form).
 * For c > 0 (prior above 1/2, where the relaxed problem is unbounded below) the discriminant is
 * clamped at 0. The caller clamps d >= -gamma_k.
 */
export function mapStep(s: number, q: number, c: number): number {
  if (c === 0) return (q - s) / (s * s);
  const u = (2 * q) / (s + Math.sqrt(Math.max(0, s * s - 4 * c * q)));
  return (u - 1) / s;
}

/** The coordinate step on the host: ML (b - a) / a^2 when `c` is undefined, else {@link mapStep}(a, b, c). */
export function coordinateStep(a: number, b: number, c: number | undefined): number {
  return c === undefined ? (b - a) / (a * a) : mapStep(a, b, c);
}

/**
 * The coordinate step in tfjs, elementwise: ML (b - a) / a^2 when `c` is undefined, else the MAP
 * step of {@link mapStep} (always through the division-free form, also where c = 0).
 */
export function coordinateStepTf(a: tf.Tensor, b: tf.Tensor, c: tf.Tensor | undefined): tf.Tensor {
  return c === undefined
    ? tf.div(tf.sub(b, a), tf.square(a))
    : tf.div(tf.sub(tf.div(tf.mul(2, b), tf.add(a, tf.sqrt(tf.relu(tf.sub(tf.square(a), tf.mul(tf.mul(4, c), b)))))), 1), a);
}

/**
 * The MAP weights c_k = log(p_k / (1 - p_k)) / (M beta_{b,n}) for every trial b and sequence
 * k = n Q + q, p_k = eps_n / Q, as a host array [B * N * Q].
 *
 * @param eps  [N] activity probabilities eps_n
 * @param beta [B * N] large-scale fading beta_{b,n}
 */
export function mapPriorWeights(eps: ArrayLike<number>, beta: ArrayLike<number>, B: number, N: number, Q: number, M: number): Float64Array {
  const out = new Float64Array(B * N * Q);
  for (let b = 0; b < B; b++)
    for (let n = 0; n < N; n++) {
      const p = eps[n] / Q;
      const c = Math.log(p / (1 - p)) / (M * beta[b * N + n]);
      for (let q = 0; q < Q; q++) out[(b * N + n) * Q + q] = c;
    }
  return out;
}

/**
 * Covariance coordinate descent for one trial in float64 on the host. Sigma^{-1} is kept as a
 * Hermitian matrix (upper triangle, interleaved; `covariance-host.ts`), so u = Sigma^{-1} s_k reads
 * each stored entry once and the Sherman-Morrison update writes half the matrix. b = u^H Sigma_hat u
 * is ||Y^H u||^2 / M (cost L M) when 2 M <= L, otherwise the Hermitian form of Sigma_hat (cost
 * L (L + 1) / 2). Each trial's numbers depend only on its own inputs and the coordinate orders.
 * The JavaScript path of {@link covarianceCdHost}; `sweep` of `assembly/covariance.ts` repeats
 * {@link CovarianceCd.sweep} in WebAssembly with the same bits.
 */
export class CovarianceCd {
  /** The estimate gamma (length K), updated in place by {@link sweep}. */
  readonly gamma: Float64Array;
  /** Y^H, row-major interleaved [M, L], when 2 M <= L. */
  private readonly yAdjoint: Float64Array | undefined;
  /** Sigma_hat, Hermitian upper triangle interleaved [L, L], when 2 M > L. */
  private readonly cov: Float64Array | undefined;
  /** Sigma^{-1}, Hermitian upper triangle interleaved [L, L]. */
  private readonly w: Float64Array;
  /** u = Sigma^{-1} s_k, interleaved [L]. */
  private readonly u: Float64Array;

  /**
   * MAP: the weight c_k of the linear prior term - sum_k c_k gamma_k (see {@link mapPriorWeights});
   * undefined = ML.
   */
  prior: Float64Array | undefined;

  /**
   * @param columns  codebook, column-major interleaved ({@link interleavedColumns}): column k at
   *                 [2 k L, 2 (k + 1) L); may be shared by several trials (only read)
   * @param yRe, yIm received block, row-major [L, M]
   */
  constructor(
    private readonly columns: Float64Array,
    yRe: ArrayLike<number>,
    yIm: ArrayLike<number>,
    private readonly L: number,
    private readonly M: number,
    noiseVar: number,
  ) {
    const K = columns.length / (2 * L);
    this.gamma = new Float64Array(K);
    if (2 * M <= L) this.yAdjoint = interleavedAdjoint(yRe, yIm, L, M);
    else this.cov = hermitianSampleCovariance(yRe, yIm, L, M);
    this.w = new Float64Array(2 * L * L);
    for (let i = 0; i < L; i++) this.w[2 * (i * L + i)] = 1 / noiseVar;
    this.u = new Float64Array(2 * L);
  }

  /** One sweep over the coordinates in `order`. */
  sweep(order: readonly number[]): void {
    const { L, M, columns, w, u, gamma, yAdjoint, cov, prior } = this;
    const L2 = 2 * L;
    for (let n = 0; n < order.length; n++) {
      const k = order[n];
      const off = k * L2;
      // u = Sigma^{-1} s_k, a = s_k^H u (real), b = u^H Sigma_hat u
      hermitianTimes(w, L, columns, off, u);
      let a = 0;
      for (let j = 0; j < L2; j++) a += columns[off + j] * u[j];
      const b = yAdjoint !== undefined ? rowsTimesNorm2(yAdjoint, M, L, u) / M : hermitianForm(cov as Float64Array, L, u);
      const d = Math.max(coordinateStep(a, b, prior?.[k]), -gamma[k]);
      if (d === 0) continue;
      gamma[k] += d;
      // Sigma^{-1} -= c u u^H, c = d / (1 + d a)
      hermitianRankOneUpdate(w, L, d / (1 + d * a), u);
    }
  }
}

/**
 * Covariance coordinate descent in float64 on the host, trial by trial ({@link CovarianceCd}):
 * every trial steps through the same coordinate orders. Not differentiable. Each trial's gamma
 * depends only on its own y (and codebook, and prior), so it is the same whatever the batch.
 *
 * @param y        [B, L, M] complex received signal
 * @param codebook [L, K] complex, or [B, L, K] (one per trial)
 * @param noiseVar sigma^2
 * @param orders   coordinate order of each sweep (its length is the number of sweeps)
 * @param prior    host [B * K] MAP weights c_k ({@link mapPriorWeights}); undefined: ML
 * @param onSweep  called after sweep s (0-based) with the current estimate (freed after it returns)
 * @param wasm     run the sweeps in the WebAssembly kernels of `assembly/covariance.ts` where they
 *                 load (default true; the same bits as {@link CovarianceCd}, which runs otherwise)
 * @returns        [B, K] gamma after all sweeps (float32)
 */
export function covarianceCdHost(
  y: ComplexTensor,
  codebook: ComplexTensor,
  noiseVar: number,
  orders: readonly (readonly number[])[],
  prior?: Float64Array,
  onSweep?: (sweep: number, gamma: tf.Tensor2D) => void,
  wasm = true,
): tf.Tensor2D {
  const [B, L, M] = y.re.shape as [number, number, number];
  const K = codebook.re.shape[codebook.re.rank - 1] as number;
  const cbRe = codebook.re.dataSync();
  const cbIm = codebook.im.dataSync();
  // per-trial codebook [B, L, K]: trial b's own columns
  const perTrial = codebook.re.rank === 3;
  const kernels = wasm ? covarianceWasm() : undefined;
  if (kernels !== undefined) {
    const cd = { cbRe, cbIm, perTrial, yRe: y.re.dataSync(), yIm: y.im.dataSync(), B, L, M, K, noiseVar };
    const observe = onSweep === undefined ? undefined : (s: number, gamma: Float64Array) => tf.tidy(() => onSweep(s, tf.tensor2d(Float32Array.from(gamma), [B, K])));
    return tf.tensor2d(Float32Array.from(covarianceCdWasm(kernels, cd, orders, prior, observe)), [B, K]);
  }
  const shared = perTrial ? undefined : interleavedColumns(cbRe, cbIm, L, K);
  const columnsOf = (b: number) => shared ?? interleavedColumns(cbRe.subarray(b * L * K, (b + 1) * L * K), cbIm.subarray(b * L * K, (b + 1) * L * K), L, K);
  const yRe = y.re.dataSync();
  const yIm = y.im.dataSync();
  const per = L * M;
  const trials = Array.from({ length: B }, (_, b) => new CovarianceCd(columnsOf(b), yRe.subarray(b * per, (b + 1) * per), yIm.subarray(b * per, (b + 1) * per), L, M, noiseVar));
  if (prior !== undefined) trials.forEach((t, b) => (t.prior = prior.slice(b * K, (b + 1) * K)));
  const gammaOf = (): Float32Array => {
    const out = new Float32Array(B * K);
    trials.forEach((t, b) => out.set(t.gamma, b * K));
    return out;
  };
  for (let sweep = 0; sweep < orders.length; sweep++) {
    for (const t of trials) t.sweep(orders[sweep]);
    if (onSweep !== undefined) tf.tidy(() => onSweep(sweep, tf.tensor2d(gammaOf(), [B, K])));
  }
  return tf.tensor2d(gammaOf(), [B, K]);
}

/** The inputs of {@link covarianceCdWasm}: host arrays as `dataSync()` gives them. */
interface CdBatch {
  /** [L, K] or, with `perTrial`, [B, L, K]. */
  readonly cbRe: ArrayLike<number> & { subarray(from: number, to: number): ArrayLike<number> };
  readonly cbIm: ArrayLike<number> & { subarray(from: number, to: number): ArrayLike<number> };
  readonly perTrial: boolean;
  /** [B, L, M]. */
  readonly yRe: ArrayLike<number> & { subarray(from: number, to: number): ArrayLike<number> };
  readonly yIm: ArrayLike<number> & { subarray(from: number, to: number): ArrayLike<number> };
  readonly B: number;
  readonly L: number;
  readonly M: number;
  readonly K: number;
  readonly noiseVar: number;
}

/** Trials whose state {@link covarianceCdWasm} lays out at once when nothing is observed per sweep (bounds the kernels' memory). */
const WASM_TRIALS = 32;

/**
 * {@link CovarianceCd} for every trial of a batch in the WebAssembly kernels (`assembly/covariance.ts`,
 * `sweep`: the loop of {@link CovarianceCd.sweep} and the kernels of `covariance-host.ts`, the same
 * operations in the same order, so the same bits). The trials' states live in the kernels' scratch
 * memory. Without `onSweep`, groups of {@link WASM_TRIALS} trials, each trial running all its
 * sweeps in one call (its matrices stay in cache); with it, the whole batch, the trials taking
 * each sweep in turn, and `onSweep` gets gamma [B * K] (a view into the scratch: copy to keep it;
 * it must not call these kernels). Returns gamma [B * K].
 */
function covarianceCdWasm(
  kernels: WasmKernels<CovarianceWasmExports>,
  input: CdBatch,
  orders: readonly (readonly number[])[],
  prior: Float64Array | undefined,
  onSweep: ((sweep: number, gamma: Float64Array) => void) | undefined,
): Float64Array {
  const { cbRe, cbIm, perTrial, yRe, yIm, B, L, M, K, noiseVar } = input;
  const useY = 2 * M <= L;
  const column = 2 * L * K;
  const matrix = 2 * L * L;
  const quad = useY ? 2 * M * L : matrix;
  const starts = [0];
  for (const o of orders) starts.push(starts[starts.length - 1] + o.length);
  const gammaOut = new Float64Array(B * K);
  const group = onSweep === undefined ? WASM_TRIALS : B;
  for (let first = 0; first < B; first += group) {
    const n = Math.min(group, B - first);
    const books = perTrial ? n : 1;
    const s = kernels.scratch.arrays({
      columns: [books * column, true],
      w: [n * matrix, true],
      quad: [n * quad, true],
      gamma: [n * K, true],
      prior: [prior === undefined ? 0 : n * K, true],
      order: [starts[orders.length], true],
      work: [8 * L, true],
    });
    for (let t = 0; t < books; t++) {
      const from = (perTrial ? first + t : 0) * L * K;
      s.columns.set(interleavedColumns(cbRe.subarray(from, from + L * K), cbIm.subarray(from, from + L * K), L, K), t * column);
    }
    const per = L * M;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < L; i++) s.w[b * matrix + 2 * (i * L + i)] = 1 / noiseVar;
      const [re, im] = [yRe.subarray((first + b) * per, (first + b + 1) * per), yIm.subarray((first + b) * per, (first + b + 1) * per)];
      s.quad.set(useY ? interleavedAdjoint(re, im, L, M) : hermitianSampleCovariance(re, im, L, M), b * quad);
    }
    if (prior !== undefined) s.prior.set(prior.subarray(first * K, (first + n) * K));
    orders.forEach((o, i) => s.order.set(o, starts[i]));
    const { sweep } = kernels.exports;
    const at = (v: Float64Array, offset: number): number => v.byteOffset + 8 * offset;
    const run = (b: number, from: number, to: number): void =>
      sweep(
        at(s.columns, perTrial ? b * column : 0),
        at(s.w, b * matrix),
        useY ? 0 : at(s.quad, b * quad),
        useY ? at(s.quad, b * quad) : 0,
        at(s.gamma, b * K),
        prior === undefined ? 0 : at(s.prior, b * K),
        at(s.order, from),
        to - from,
        L,
        M,
        s.work.byteOffset,
      );
    if (onSweep === undefined) for (let b = 0; b < n; b++) run(b, 0, starts[orders.length]);
    else
      for (let i = 0; i < orders.length; i++) {
        for (let b = 0; b < n; b++) run(b, starts[i], starts[i + 1]);
        onSweep(i, s.gamma);
      }
    gammaOut.set(s.gamma, first * K);
  }
  return gammaOut;
}

/**
 * Covariance coordinate descent in float32, batched in tfjs: every trial of the batch steps
 * through the same coordinate orders. Differentiable in y, the codebook and the prior weights.
 * Sigma^{-1} and Sigma_hat are kept in real form [[Re, -Im], [Im, Re]] ([B, 2L, 2L]); b is
 * ||Y^H u||^2 / M when M < L, else u^T real(Sigma_hat) u.
 *
 * @param y        [B, L, M] complex received signal
 * @param codebook [L, K] complex, or [B, L, K] (one per trial: s_k and a batched per trial)
 * @param noiseVar sigma^2
 * @param orders   coordinate order of each sweep (its length is the number of sweeps)
 * @param prior    [B, K] MAP weights c_k ({@link coordinateStepTf}); undefined: ML
 * @param onSweep  called after sweep s (0-based) with the current estimate (freed after it returns)
 * @returns        [B, K] gamma after all sweeps
 */
export function covarianceCdTf(
  y: ComplexTensor,
  codebook: ComplexTensor,
  noiseVar: number,
  orders: readonly (readonly number[])[],
  prior?: tf.Tensor2D,
  onSweep?: (sweep: number, gamma: tf.Tensor2D) => void,
): tf.Tensor2D {
  const [B, L, M] = y.re.shape as [number, number, number];
  const perTrial = codebook.re.rank === 3;
  const K = codebook.re.shape[codebook.re.rank - 1] as number;
  const L2 = 2 * L;
  return tf.tidy(() => {
    // Real forms: vectors [Re; Im], matrices [[Re, -Im], [Im, Re]].
    const columns = perTrial
      ? tf.unstack(cx.realVector(codebook, 1), 2).map((c) => tf.reshape(c, [B, L2, 1]) as tf.Tensor3D) // K x [B, 2L, 1]
      : tf.unstack(cx.realVector(codebook, 0), 1).map((c) => tf.reshape(c, [L2, 1]) as tf.Tensor2D); // K x [2L, 1]
    const yStack = tf.concat([y.re, y.im], 1); // [B, 2L, M]: real form of Y
    const yTimesI = tf.concat([tf.neg(y.im), y.re], 1); // [B, 2L, M]: real form of iY
    const yReal = tf.concat([yStack, yTimesI], 2) as tf.Tensor3D; // [B, 2L, 2M]: real(Y) (columns y_m and i y_m)
    const useY = M < L;
    // b = Re(u^H Sigma_hat u) = ||Y^H u||^2 / M = ||real(Y)^T u||^2 / M, or u^T real(Sigma_hat) u.
    const quad = useY ? tf.keep(tf.transpose(yReal, [0, 2, 1])) : tf.keep(tf.div(tf.matMul(yReal, tf.transpose(yReal, [0, 2, 1]) as tf.Tensor3D), M));
    let w = tf.keep(tf.mul(tf.eye(L2), 1 / noiseVar).expandDims(0).tile([B, 1, 1])) as tf.Tensor3D; // real(Sigma^{-1})
    const gamma: tf.Tensor1D[] = Array.from({ length: K }, () => tf.keep(tf.zeros([B])) as tf.Tensor1D);
    const c = prior === undefined ? undefined : tf.unstack(prior, 1).map((v) => tf.keep(v));
    for (let sweep = 0; sweep < orders.length; sweep++) {
      for (const k of orders[sweep]) {
        const s = columns[k];
        const [wNext, gNext] = tf.tidy(() => {
          // Sigma^{-1} s_k and s_k^H Sigma^{-1} s_k (real); per trial, batched with trial b's s_k
          const u = perTrial
            ? (tf.reshape(tf.matMul(w, s as tf.Tensor3D), [B, L2]) as tf.Tensor2D)
            : (tf.reshape(tf.matMul(tf.reshape(w, [B * L2, L2]) as tf.Tensor2D, s as tf.Tensor2D), [B, L2]) as tf.Tensor2D);
          const a = perTrial ? tf.sum(tf.mul(u, tf.reshape(s, [B, L2])), 1) : tf.reshape(tf.matMul(u, s as tf.Tensor2D), [B]);
          const u3 = tf.reshape(u, [B, L2, 1]) as tf.Tensor3D;
          const b = useY ? tf.div(tf.sum(tf.square(tf.matMul(quad, u3)), [1, 2]), M) : tf.sum(tf.mul(u3, tf.matMul(quad, u3)), [1, 2]);
          const d = tf.maximum(coordinateStepTf(a, b, c?.[k]), tf.neg(gamma[k]));
          const coef = tf.reshape(tf.div(d, tf.add(1, tf.mul(d, a))), [B, 1, 1]);
          // real(u u^H) = u u^T + (iu)(iu)^T with iu = [-Im u; Re u]
          const [ur, ui] = tf.split(u3, 2, 1);
          const iu = tf.concat([tf.neg(ui), ur], 1);
          const outer = tf.add(tf.mul(u3, tf.reshape(u3, [B, 1, L2])), tf.mul(iu, tf.reshape(iu, [B, 1, L2])));
          return [tf.sub(w, tf.mul(coef, outer)) as tf.Tensor3D, tf.add(gamma[k], d) as tf.Tensor1D];
        });
        w.dispose();
        gamma[k].dispose();
        w = wNext;
        gamma[k] = gNext;
      }
      if (onSweep !== undefined) tf.tidy(() => onSweep(sweep, tf.stack(gamma, 1) as tf.Tensor2D));
    }
    const out = tf.stack(gamma, 1) as tf.Tensor2D;
    tf.dispose([w, quad, ...gamma, ...(c ?? [])]);
    return out;
  });
}

/**
 * The Gram matrix of the covariance LASSO, G_ij = Re(b_i^H b_j) = |a_i^H a_j|^2 ([N, N] row-major,
 * symmetric; G_nn = ||b_n||^2 = ||a_n||^4), of the pilots A given as interleaved columns
 * ({@link interleavedColumns}, column n at [2 n L, 2 (n + 1) L)). It depends on the pilots only:
 * compute it once for a codebook shared by several trials and pass it to {@link covarianceLassoHost}.
 */
export function covarianceLassoGram(columns: Float64Array, L: number, N: number): Float64Array {
  const L2 = 2 * L;
  const gram = new Float64Array(N * N);
  for (let i = 0; i < N; i++) {
    const oi = i * L2;
    for (let j = i; j < N; j++) {
      const oj = j * L2;
      // a_i^H a_j = sum_l conj(a_li) a_lj
      let re = 0;
      let im = 0;
      for (let l = 0; l < L2; l += 2) {
        const ar = columns[oi + l];
        const ai = columns[oi + l + 1];
        const br = columns[oj + l];
        const bi = columns[oj + l + 1];
        re += ar * br + ai * bi;
        im += ar * bi - ai * br;
      }
      const g = re * re + im * im;
      gram[i * N + j] = g;
      gram[j * N + i] = g;
    }
  }
  return gram;
}

/**
 * c_n = Re(b_n^H vec(Z)) = a_n^H Z a_n of one trial, Z = Sigma_hat - sigma^2 I (or Sigma_hat):
 * ||Y^H a_n||^2 / M - sigma^2 ||a_n||^2 when 2 M <= L, else the Hermitian form of Z.
 * Pilots as interleaved columns ({@link covarianceLassoGram}), Y row-major [L, M].
 */
function lassoCorrelations(columns: Float64Array, yRe: ArrayLike<number>, yIm: ArrayLike<number>, L: number, N: number, M: number, sigma2: number, subtractNoise: boolean): Float64Array {
  const L2 = 2 * L;
  const noise = subtractNoise ? sigma2 : 0;
  const c = new Float64Array(N);
  const a = new Float64Array(L2);
  if (2 * M <= L) {
    const yAdjoint = interleavedAdjoint(yRe, yIm, L, M);
    for (let n = 0; n < N; n++) {
      a.set(columns.subarray(n * L2, (n + 1) * L2));
      let norm2 = 0;
      for (let l = 0; l < L2; l++) norm2 += a[l] * a[l];
      c[n] = rowsTimesNorm2(yAdjoint, M, L, a) / M - noise * norm2;
    }
  } else {
    const z = hermitianSampleCovariance(yRe, yIm, L, M);
    for (let l = 0; l < L; l++) z[2 * (l * L + l)] -= noise;
    for (let n = 0; n < N; n++) {
      a.set(columns.subarray(n * L2, (n + 1) * L2));
      c[n] = hermitianForm(z, L, a);
    }
  }
  return c;
}

/**
 * Covariance-based non-negative LASSO of one trial on the host, float64:
 *
 *   min_{r >= 0} 0.5 || vec(Z) - sum_n b_n r_n ||_2^2 + lambda sum_n r_n,
 *   Z = Sigma_hat - sigma^2 I (or Sigma_hat without `subtractNoise`),  Sigma_hat = Y Y^H / M,
 *   b_n = vec(a_n a_n^H) (column n of A^* (.) A),
 *
 * by cyclic coordinate descent from r = 0. With the residual res = vec(Z) - sum_j b_j r_j,
 * each coordinate n = 0..N-1 in turn takes its exact 1-D minimiser
 *
 *   r_n <- max(0, (Re(b_n^H res) + ||b_n||^2 r_n - lambda) / ||b_n||^2),
 *
 * computed without forming L^2-vectors: the solver keeps q_n = Re(b_n^H res) = c_n - sum_j G_nj r_j
 * with c_n = a_n^H Z a_n and G_ij = |a_i^H a_j|^2 (so ||b_n||^2 = ||a_n||^4), and after a change
 * d of r_n updates q -= d G_{n,:} (G is symmetric). One sweep costs O(N^2), the set-up
 * O(N L min(M, L)) plus O(N^2 L) for G unless `gram` is given. A zero pilot column
 * (||b_n|| = 0) keeps r_n = 0.
 *
 * @param aRe, aIm pilots A, row-major [L, N]
 * @param yRe, yIm Y of one trial, row-major [L, M]
 * @param onSweep  called after sweep s (0-based) with the current r (a view: copy to keep it)
 * @param gram     G of these pilots ({@link covarianceLassoGram}), to share it between trials
 * @param wasm     run G (unless given), the c_n and the sweeps in the WebAssembly kernels of
 *                 `assembly/covariance.ts` where they load (default true; the same bits as the
 *                 JavaScript loops here, which run otherwise; `onSweep` must not call the kernels)
 * @returns r (length N), r_n >= 0
 */
export function covarianceLassoHost(
  aRe: ArrayLike<number>,
  aIm: ArrayLike<number>,
  yRe: ArrayLike<number>,
  yIm: ArrayLike<number>,
  L: number,
  N: number,
  M: number,
  sigma2: number,
  lambda: number,
  sweeps: number,
  subtractNoise = true,
  onSweep?: (sweep: number, r: Float64Array) => void,
  gram?: Float64Array,
  wasm = true,
): Float64Array {
  const columns = interleavedColumns(aRe, aIm, L, N);
  const kernels = wasm ? covarianceWasm() : undefined;
  if (kernels !== undefined) return covarianceLassoWasm(kernels, columns, yRe, yIm, L, N, M, subtractNoise ? sigma2 : 0, lambda, sweeps, onSweep, gram);
  const g = gram ?? covarianceLassoGram(columns, L, N);
  const r = new Float64Array(N);
  const q = lassoCorrelations(columns, yRe, yIm, L, N, M, sigma2, subtractNoise); // Re(b_n^H res) at r = 0
  for (let s = 0; s < sweeps; s++) {
    for (let n = 0; n < N; n++) {
      const row = n * N;
      const gnn = g[row + n];
      if (!(gnn > 0)) continue;
      const next = Math.max(0, (q[n] + gnn * r[n] - lambda) / gnn);
      const d = next - r[n];
      if (d === 0) continue;
      r[n] = next;
      for (let j = 0; j < N; j++) q[j] -= d * g[row + j];
    }
    if (onSweep !== undefined) onSweep(s, r);
  }
  return r;
}

/**
 * {@link covarianceLassoHost} of one trial in the WebAssembly kernels (`lassoGram`,
 * `lassoCorrelations`, `lassoSweeps` of `assembly/covariance.ts`: the loops of
 * {@link covarianceLassoGram}, `lassoCorrelations` and the sweep loop, the same operations in the
 * same order, so the same bits); `noise` = sigma^2 or 0. Returns r (a copy).
 */
function covarianceLassoWasm(
  kernels: WasmKernels<CovarianceWasmExports>,
  columns: Float64Array,
  yRe: ArrayLike<number>,
  yIm: ArrayLike<number>,
  L: number,
  N: number,
  M: number,
  noise: number,
  lambda: number,
  sweeps: number,
  onSweep: ((sweep: number, r: Float64Array) => void) | undefined,
  gram: Float64Array | undefined,
): Float64Array {
  const useY = 2 * M <= L;
  const s = kernels.scratch.arrays({
    columns: [2 * L * N, true],
    gram: [N * N, true],
    quad: [useY ? 2 * M * L : 2 * L * L, true],
    q: [N, true],
    r: [N, true],
    work: [gram === undefined ? 2 * L * N : 2 * L, true],
  });
  const { lassoGram, lassoCorrelations, lassoSweeps } = kernels.exports;
  s.columns.set(columns);
  if (gram !== undefined) s.gram.set(gram.subarray(0, N * N));
  else lassoGram(s.columns.byteOffset, L, N, s.gram.byteOffset, s.work.byteOffset);
  if (useY) {
    s.quad.set(interleavedAdjoint(yRe, yIm, L, M));
    lassoCorrelations(s.columns.byteOffset, 0, s.quad.byteOffset, L, N, M, noise, s.q.byteOffset, s.work.byteOffset);
  } else {
    s.quad.set(hermitianSampleCovariance(yRe, yIm, L, M));
    for (let l = 0; l < L; l++) s.quad[2 * (l * L + l)] -= noise;
    lassoCorrelations(s.columns.byteOffset, s.quad.byteOffset, 0, L, N, M, noise, s.q.byteOffset, s.work.byteOffset);
  }
  if (onSweep === undefined) lassoSweeps(s.gram.byteOffset, s.q.byteOffset, s.r.byteOffset, N, lambda, sweeps);
  else
    for (let i = 0; i < sweeps; i++) {
      lassoSweeps(s.gram.byteOffset, s.q.byteOffset, s.r.byteOffset, N, lambda, 1);
      onSweep(i, s.r);
    }
  return s.r.slice();
}
