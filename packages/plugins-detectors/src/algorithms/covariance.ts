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
import { adjointTimes, columnMajor, gramColumns, sampleCovariance } from './host-complex';

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
 * Covariance coordinate descent for one trial in float64 on the host. b = u^H Sigma_hat u is
 * computed from Y as ||Y^H u||^2 / M (cost L M) when M < L, otherwise from Sigma_hat (cost L^2).
 */
export class CovarianceCd {
  /** The estimate gamma (length K), updated in place by {@link sweep}. */
  readonly gamma: Float64Array;
  /** Y^T as row-major [M, L] (column m of Y contiguous), when M < L. */
  private readonly yt: { re: Float64Array; im: Float64Array } | undefined;
  /** Sigma_hat, row-major [L, L], when M >= L. */
  private readonly cov: { re: Float64Array; im: Float64Array } | undefined;
  private readonly wr: Float64Array;
  private readonly wi: Float64Array;
  private readonly ur: Float64Array;
  private readonly ui: Float64Array;

  /**
   * MAP: the weight c_k of the linear prior term - sum_k c_k gamma_k (see {@link mapPriorWeights});
   * undefined = ML.
   */
  prior: Float64Array | undefined;

  /**
   * @param sRe, sIm codebook, column-major: column k at [k L, (k + 1) L)
   * @param yRe, yIm received block, row-major [L, M]
   */
  constructor(
    private readonly sRe: Float64Array,
    private readonly sIm: Float64Array,
    yRe: ArrayLike<number>,
    yIm: ArrayLike<number>,
    private readonly L: number,
    private readonly M: number,
    noiseVar: number,
  ) {
    const K = sRe.length / L;
    this.gamma = new Float64Array(K);
    if (M >= L) {
      this.cov = sampleCovariance(yRe, yIm, L, M);
    } else {
      const re = new Float64Array(M * L);
      const im = new Float64Array(M * L);
      for (let i = 0; i < L; i++) {
        for (let m = 0; m < M; m++) {
          re[m * L + i] = yRe[i * M + m];
          im[m * L + i] = yIm[i * M + m];
        }
      }
      this.yt = { re, im };
    }
    this.wr = new Float64Array(L * L);
    this.wi = new Float64Array(L * L);
    for (let i = 0; i < L; i++) this.wr[i * L + i] = 1 / noiseVar;
    this.ur = new Float64Array(L);
    this.ui = new Float64Array(L);
  }

  /** One sweep over the coordinates in `order`. */
  sweep(order: readonly number[]): void {
    const { L, M, sRe, sIm, wr, wi, ur, ui, gamma } = this;
    for (const k of order) {
      // u = Sigma^{-1} s_k, a = s_k^H u
      const off = k * L;
      let a = 0;
      for (let i = 0; i < L; i++) {
        let r = 0;
        let im = 0;
        const row = i * L;
        for (let j = 0; j < L; j++) {
          const xr = sRe[off + j];
          const xi = sIm[off + j];
          const pr = wr[row + j];
          const pi = wi[row + j];
          r += pr * xr - pi * xi;
          im += pr * xi + pi * xr;
        }
        ur[i] = r;
        ui[i] = im;
        a += sRe[off + i] * r + sIm[off + i] * im;
      }
      // b = u^H Sigma_hat u
      let b = 0;
      if (this.yt !== undefined) {
        const { re: ytr, im: yti } = this.yt;
        for (let m = 0; m < M; m++) {
          let r = 0;
          let im = 0;
          const row = m * L;
          for (let i = 0; i < L; i++) {
            // conj(y_i) u_i
            const yr = ytr[row + i];
            const yi = yti[row + i];
            r += yr * ur[i] + yi * ui[i];
            im += yr * ui[i] - yi * ur[i];
          }
          b += r * r + im * im;
        }
        b /= M;
      } else {
        const { re: cr, im: ci } = this.cov as { re: Float64Array; im: Float64Array };
        for (let i = 0; i < L; i++) {
          let vr = 0;
          let vi = 0;
          const row = i * L;
          for (let j = 0; j < L; j++) {
            vr += cr[row + j] * ur[j] - ci[row + j] * ui[j];
            vi += cr[row + j] * ui[j] + ci[row + j] * ur[j];
          }
          b += ur[i] * vr + ui[i] * vi;
        }
      }
      const d = Math.max(coordinateStep(a, b, this.prior?.[k]), -gamma[k]);
      if (d === 0) continue;
      gamma[k] += d;
      // Sigma^{-1} -= c u u^H, c = d / (1 + d a)
      const c = d / (1 + d * a);
      for (let i = 0; i < L; i++) {
        const cr = c * ur[i];
        const cim = c * ui[i];
        const row = i * L;
        for (let j = 0; j < L; j++) {
          wr[row + j] -= cr * ur[j] + cim * ui[j];
          wi[row + j] -= cim * ur[j] - cr * ui[j];
        }
      }
    }
  }
}

/**
 * Covariance coordinate descent in float64 on the host, trial by trial ({@link CovarianceCd}):
 * every trial steps through the same coordinate orders. Not differentiable.
 *
 * @param y        [B, L, M] complex received signal
 * @param codebook [L, K] complex, or [B, L, K] (one per trial)
 * @param noiseVar sigma^2
 * @param orders   coordinate order of each sweep (its length is the number of sweeps)
 * @param prior    host [B * K] MAP weights c_k ({@link mapPriorWeights}); undefined: ML
 * @param onSweep  called after sweep s (0-based) with the current estimate (freed after it returns)
 * @returns        [B, K] gamma after all sweeps (float32)
 */
export function covarianceCdHost(
  y: ComplexTensor,
  codebook: ComplexTensor,
  noiseVar: number,
  orders: readonly (readonly number[])[],
  prior?: Float64Array,
  onSweep?: (sweep: number, gamma: tf.Tensor2D) => void,
): tf.Tensor2D {
  const [B, L, M] = y.re.shape as [number, number, number];
  const K = codebook.re.shape[codebook.re.rank - 1] as number;
  const cbRe = codebook.re.dataSync();
  const cbIm = codebook.im.dataSync();
  // per-trial codebook [B, L, K]: trial b's own columns
  const perTrial = codebook.re.rank === 3;
  const shared = perTrial ? undefined : columnMajor(cbRe, cbIm, L, K);
  const columnsOf = (b: number) => shared ?? columnMajor(cbRe.subarray(b * L * K, (b + 1) * L * K), cbIm.subarray(b * L * K, (b + 1) * L * K), L, K);
  const yRe = y.re.dataSync();
  const yIm = y.im.dataSync();
  const per = L * M;
  const trials = Array.from({ length: B }, (_, b) => {
    const s = columnsOf(b);
    return new CovarianceCd(s.re, s.im, yRe.subarray(b * per, (b + 1) * per), yIm.subarray(b * per, (b + 1) * per), L, M, noiseVar);
  });
  if (prior !== undefined) trials.forEach((t, b) => (t.prior = Float64Array.from(prior.subarray(b * K, (b + 1) * K))));
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
 * Sufficient statistics of the covariance LASSO of one trial: c_n = Re(b_n^H vec(Z)) =
 * a_n^H Z a_n with Z = Sigma_hat - sigma^2 I (or Sigma_hat), and the Gram matrix
 * G_ij = Re(b_i^H b_j) = |a_i^H a_j|^2 ([N, N] row-major; G_nn = ||b_n||^2 = ||a_n||^4).
 * Inputs as in {@link covarianceLassoHost}.
 */
function lassoStatistics(
  aRe: ArrayLike<number>,
  aIm: ArrayLike<number>,
  yRe: ArrayLike<number>,
  yIm: ArrayLike<number>,
  L: number,
  N: number,
  M: number,
  sigma2: number,
  subtractNoise: boolean,
): { c: Float64Array; gram: Float64Array } {
  const all = Array.from({ length: N }, (_, n) => n);
  const cols = columnMajor(aRe, aIm, L, N);
  // a_n^H Z a_n = (1/M) sum_m |a_n^H y_m|^2 - sigma^2 ||a_n||^2 (Z = Sigma_hat - sigma^2 I).
  const p = adjointTimes(aRe, aIm, L, N, all, yRe, yIm, 0, M); // A^H Y, [N, M]
  const c = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let energy = 0;
    for (let m = 0; m < M; m++) energy += p.re[n * M + m] * p.re[n * M + m] + p.im[n * M + m] * p.im[n * M + m];
    let norm2 = 0;
    for (let l = 0; l < L; l++) norm2 += cols.re[n * L + l] ** 2 + cols.im[n * L + l] ** 2;
    c[n] = energy / M - (subtractNoise ? sigma2 * norm2 : 0);
  }
  const g = gramColumns(aRe, aIm, L, N, all); // A^H A
  const gram = new Float64Array(N * N);
  for (let i = 0; i < N * N; i++) gram[i] = g.re[i] * g.re[i] + g.im[i] * g.im[i];
  return { c, gram };
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
 * d of r_n updates q -= d G_{:,n}. One sweep costs O(N^2), the set-up O(N L M + N^2 L).
 * A zero pilot column (||b_n|| = 0) keeps r_n = 0.
 *
 * @param aRe, aIm pilots A, row-major [L, N]
 * @param yRe, yIm Y of one trial, row-major [L, M]
 * @param onSweep  called after sweep s (0-based) with the current r (a view: copy to keep it)
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
): Float64Array {
  const { c, gram } = lassoStatistics(aRe, aIm, yRe, yIm, L, N, M, sigma2, subtractNoise);
  const r = new Float64Array(N);
  const q = Float64Array.from(c); // Re(b_n^H res) at r = 0
  for (let s = 0; s < sweeps; s++) {
    for (let n = 0; n < N; n++) {
      const gnn = gram[n * N + n];
      if (!(gnn > 0)) continue;
      const next = Math.max(0, (q[n] + gnn * r[n] - lambda) / gnn);
      const d = next - r[n];
      if (d === 0) continue;
      r[n] = next;
      for (let j = 0; j < N; j++) q[j] -= d * gram[j * N + n];
    }
    if (onSweep !== undefined) onSweep(s, r);
  }
  return r;
}
