/**
 * Approximate message passing (AMP) for the multiple-measurement-vector model with the
 * Bernoulli-Gaussian MMSE vector denoiser ({@link mmvAmp}, used by `mmv-amp` and, unrolled and
 * differentiable, by `amp-unfolded` through {@link ampUnrolled}), and the per-entry real
 * Bernoulli-Gaussian denoiser of DL-mAMPnet's AMP layers ({@link scalarBgDenoiser}).
 *
 * References: L. Liu, W. Yu, "Massive connectivity with massive MIMO - Part I: Device activity
 * detection and channel estimation", IEEE Trans. Signal Process., 2018 (AMP with the vector MMSE
 * denoiser); equation numbers below are those of Z. Ma, W. Wu, F. Gao, X. Shen, "Model-driven
 * deep learning for non-coherent massive machine-type communications" (DL-mAMPnet), Sec. III-B,
 * which restates the algorithm for Q >= 1 sequences per device.
 */
import * as tf from '@tensorflow/tfjs';
import { cx, type ComplexTensor } from '@gfra/core';

/** What the Bernoulli-Gaussian vector denoiser returns per row (all the shape of `energy`). */
export interface DenoiserOutput {
  /** LLR = M (pi - psi) = log p(z | row active) / p(z | row inactive). */
  readonly llr: tf.Tensor;
  /** phi: posterior probability that the row is active. */
  readonly phi: tf.Tensor;
  /** omega = beta / (beta + tau^2): Wiener gain given active. */
  readonly omega: tf.Tensor;
  /** c = phi (1 - phi) omega^2 / tau^2: weight of z z^H in the Jacobian. */
  readonly c: tf.Tensor;
}

/**
 * The MMSE denoiser for z = x + tau v, v ~ CN(0, I_M), x ~ (1 - p) delta_0 + p CN(0, beta I_M)
 * (Ma et al., Eqs. (28)-(32); Liu and Yu's denoiser for Q = 1), as functions of the row energy
 * e = ||z||^2:
 *
 *   omega = beta / (beta + tau^2),  psi = log(1 + beta / tau^2),  pi = beta e / (tau^2 (beta + tau^2) M)
 *   phi = sigmoid(M (pi - psi) + log(p / (1 - p))),   E[x | z] = phi omega z
 *
 * and the Wirtinger Jacobian of z -> E[x | z]: J = phi omega I + c z z^H with
 * c = phi (1 - phi) omega^2 / tau^2. All inputs broadcast against each other.
 *
 * @param priorLogOdds log(p / (1 - p)) per row; for Q sequences per device p = eps / Q, i.e.
 *                     -log((Q - eps) / eps) (see {@link bernoulliLogOdds})
 */
export function bernoulliGaussianDenoiser(energy: tf.Tensor, beta: tf.Tensor, tau2: tf.Tensor, M: number, priorLogOdds: tf.Tensor): DenoiserOutput {
  const betaPlusTau = tf.add(beta, tau2);
  const omega = tf.div(beta, betaPlusTau);
  const mPsi = tf.mul(M, tf.log1p(tf.div(beta, tau2)));
  const mPi = tf.div(tf.mul(beta, energy), tf.mul(tau2, betaPlusTau));
  const llr = tf.sub(mPi, mPsi);
  const phi = tf.sigmoid(tf.add(llr, priorLogOdds));
  const c = tf.div(tf.mul(tf.mul(phi, tf.sub(1, phi)), tf.square(omega)), tau2);
  return { llr, phi, omega, c };
}

/**
 * log(p / (1 - p)) with p = eps / Q: the prior log-odds of one of a device's Q sequences, for
 * activity probabilities eps (any shape).
 */
export function bernoulliLogOdds(eps: tf.Tensor, Q: number): tf.Tensor {
  const p = tf.div(eps, Q);
  return tf.sub(tf.log(p), tf.log1p(tf.neg(p)));
}

/** One AMP iteration as seen by an observer (tests, diagnostics). */
export interface AmpIterate {
  /** Iteration index t (0-based). */
  readonly t: number;
  /** [B, K, M] complex: denoiser input Z_t = X_t + S^H R_t (K = N Q rows). */
  readonly z: ComplexTensor;
  /** [B] tau_t^2 used by the denoiser. */
  readonly tau2: tf.Tensor1D;
  /** [B, K, M] complex: X_{t+1} = eta_t(Z_t). */
  readonly x: ComplexTensor;
}

/** Final state of {@link mmvAmp}, in the stacked-real layout. */
export interface AmpState {
  /** [2K, B, M]: [Re; Im] of the last denoiser input. */
  readonly z: tf.Tensor3D;
  /** [2K, B, M]: [Re; Im] of the last estimate X_T. */
  readonly x: tf.Tensor3D;
  /** [K, B] row energies ||z_k||^2 of the last denoiser input. */
  readonly energy: tf.Tensor2D;
  /** [1, B] last tau^2. */
  readonly tau2: tf.Tensor2D;
  /**
   * [T + 1, B] ||R_t||_F^2 for t = 0 .. T (R_0 = Y, R_T the residual after the last iteration);
   * only with {@link AmpOptions.trackResidual}.
   */
  readonly residualNorms?: tf.Tensor2D;
}

export interface AmpOptions {
  /** T: number of iterations (at least 1). */
  readonly iterations: number;
  /** Q: sequences per device (codebook column n Q + q is sequence q of device n). */
  readonly sequencesPerDevice: number;
  /** [B, N] beta_n: the channel variance of an active device. */
  readonly beta: tf.Tensor2D;
  /** [N Q] or [N Q, 1] log(p_k / (1 - p_k)) per row k = n Q + q (see {@link bernoulliLogOdds}). */
  readonly logOdds: tf.Tensor;
  /**
   * tau_t^2: `residual` ||R_t||_F^2 / (L M); `state-evolution` the recursion (33)-(34), evaluated
   * empirically (sum over the rows of the current iterate), which needs sigma^2 and eps_n.
   */
  readonly noise: { readonly estimate: 'residual' } | { readonly estimate: 'state-evolution'; readonly noiseVar: number; readonly eps: tf.Tensor1D };
  /**
   * Onsager term: `matrix` (1/L) R_t sum_k J_k^T with the M x M Jacobians J_k of the vector
   * denoiser; `scalar` b_t R_t with b_t = (1/L) sum_k tr(J_k) / M (Eq. (16)).
   */
  readonly onsager: 'matrix' | 'scalar';
  /** Called after every iteration with the denoiser input and output (freed after it returns). */
  readonly observe?: (it: AmpIterate) => void;
  /**
   * d in [0, 1): from the second iteration on (t >= 1), X_{t+1} = (1 - d) eta_t(Z_t) + d X_t (see
   * {@link mmvAmp}). 0 or omitted: no damping, and no extra operation at all.
   */
  readonly damping?: number;
  /** Also return ||R_t||_F^2 per trial for every t ({@link AmpState.residualNorms}); does not change the iterates. */
  readonly trackResidual?: boolean;
}

/**
 * T iterations of AMP with the Bernoulli-Gaussian MMSE vector denoiser for a batch, in the
 * stacked-real layout (V = [Re; Im] of shape [2 rows, B, M], so that the shared codebook
 * multiplies all trials in one 2-D matmul: real(S) = [[Sr, -Si], [Si, Sr]]). Starting from
 * X_0 = 0, R_0 = Y, for t = 0 .. T-1:
 *
 *   tau_t^2 = ||R_t||_F^2 / (L M)                 (or the state evolution (33)-(34), empirical)
 *   Z_t = X_t + S^H R_t                                                        (14)
 *   X_{t+1} = eta(Z_t): row k, x_k = phi_k omega_k z_k  (MMSE denoiser (28)-(32))
 *   R_{t+1} = Y - S X_{t+1} + (1/L) R_t [ (sum_k phi_k omega_k) I_M + Z_t^H diag(c) Z_t ]   (15)
 *
 * The last line is the matrix Onsager term: sum_k J_k^T with J_k = phi_k omega_k I + c_k z_k z_k^H
 * the Jacobian of the vector denoiser (c_k = phi_k (1 - phi_k) omega_k^2 / tau_t^2); the scalar
 * b_t of (16) is its normalised trace (`onsager: "scalar"`). Each iteration runs in its own tidy
 * scope (gradients still flow: the tape keeps what backpropagation needs).
 *
 * Damping (`damping` = d > 0; an addition to the algorithm as published): from the second
 * iteration on (t >= 1), the estimate is mixed with the previous one,
 *
 *   X_{t+1} = (1 - d) eta(Z_t) + d X_t          (X_1 = eta(Z_0) undamped),
 *
 * and the residual (15) is formed with this damped X_{t+1}, its Onsager term with the Jacobians of
 * the undamped denoiser (unscaled). This is what the reference implementation of Liu and Yu
 * [Liu2018] does (PolyuWirelessCommunicationLab/MMV-AMP-Algorithm-for-Massive-Connectivity-with-
 * Massive-MIMO, `noisyCAMPmmseforKLS.m`: after the denoiser, `x = 0.95*x + 0.05*xold` for
 * iterations i >= 2, `xold` the previous damped estimate, i.e. d = 0.05; then
 * `z = y - A*x + N/L*z*avgxprime` with the undamped denoiser's average Jacobian). With d = 0 the
 * operations, and so every number, are those of the undamped iteration.
 *
 * @param y        [B, L, M] complex
 * @param codebook [L, N Q] complex, or [B, L, N Q] (one per trial: S_b multiplies trial b only, by
 *                 batched matmuls in place of the shared 2-D one; all else is unchanged)
 * @returns        the last iterate and denoiser input (owned by the caller's scope)
 */
export function mmvAmp(y: ComplexTensor, codebook: ComplexTensor, options: AmpOptions): AmpState {
  const [B, L, M] = y.re.shape as [number, number, number];
  const K = codebook.re.shape[codebook.re.rank - 1] as number;
  const Q = options.sequencesPerDevice;
  const noise = options.noise;
  const se = noise.estimate === 'state-evolution';
  const sigma2 = noise.estimate === 'state-evolution' ? noise.noiseVar : 0;
  const observe = options.observe;
  const damping = options.damping ?? 0;
  if (!(damping >= 0 && damping < 1)) throw new Error(`AMP damping must be in [0, 1) (got ${damping}); 0 disables damping`);
  const track = options.trackResidual === true;

  const perTrial = codebook.re.rank === 3;
  const sHat = cx.realMatrix(codebook); // [2L, 2K], or [B, 2L, 2K] per trial
  const sHatT = perTrial ? tf.transpose(sHat, [0, 2, 1]) : tf.transpose(sHat); // [2K, 2L] = real(S^H), or [B, 2K, 2L]
  // A V for V [C, B, M]: one 2-D matmul with a shared codebook; per trial, A_b V[:, b, :] (batched).
  const apply = (A: tf.Tensor, V: tf.Tensor): tf.Tensor3D =>
    perTrial
      ? (tf.transpose(tf.matMul(A as tf.Tensor3D, tf.transpose(V, [1, 0, 2]) as tf.Tensor3D), [1, 0, 2]) as tf.Tensor3D)
      : tf.reshape(tf.matMul(A as tf.Tensor2D, tf.reshape(V, [V.shape[0] as number, B * M]) as tf.Tensor2D), [A.shape[0], B, M]);
  const stack = (z: ComplexTensor): tf.Tensor3D => tf.concat([tf.transpose(z.re, [1, 0, 2]), tf.transpose(z.im, [1, 0, 2])], 0) as tf.Tensor3D;
  const unstack = (v: tf.Tensor, rows: number): ComplexTensor => {
    const [re, im] = tf.split(tf.transpose(v, [1, 0, 2]), 2, 1);
    return { re: tf.reshape(re, [B, rows, M]), im: tf.reshape(im, [B, rows, M]) };
  };
  // J(V) = i V in stacked form [-Im; Re] (rows on axis `axis`).
  const timesI = (v: tf.Tensor, axis: number): tf.Tensor => {
    const [re, im] = tf.split(v, 2, axis);
    return tf.concat([tf.neg(im), re], axis);
  };

  const yS = stack(y); // [2L, B, M]
  const beta = options.beta;
  const betaRows = tf.reshape(tf.tile(tf.expandDims(tf.transpose(beta), 1), [1, Q, 1]), [K, B]); // [K, B], row nQ+q -> beta_n
  const logOdds = tf.reshape(options.logOdds, [K, 1]);

  const residualTau = (v: tf.Tensor): tf.Tensor2D => tf.reshape(tf.div(tf.sum(tf.square(v), [0, 2]), L * M), [1, B]);
  // tau_0^2: ||Y||_F^2 / (L M), or sigma^2 + (1/L) sum_n eps_n beta_n   (33)
  const tau0 =
    noise.estimate === 'state-evolution' ? (tf.reshape(tf.add(sigma2, tf.div(tf.sum(tf.mul(beta, noise.eps), 1), L)), [1, B]) as tf.Tensor2D) : residualTau(yS);
  let state = { x: tf.zeros([2 * K, B, M]) as tf.Tensor3D, r: yS, tau: tau0 };
  let last: { z: tf.Tensor3D; e: tf.Tensor2D; tau: tf.Tensor2D } | undefined;
  // ||R_t||_F^2 per trial, [B] each (only when tracked; separate ops that the iterates never read)
  const norms: tf.Tensor1D[] = [];
  const residualNorm = (v: tf.Tensor): tf.Tensor1D => tf.sum(tf.square(v), [0, 2]) as tf.Tensor1D;
  if (track) norms.push(tf.tidy(() => residualNorm(yS)));
  for (let t = 0; t < options.iterations; t++) {
    const { x, r } = state;
    const out = tf.tidy(() => {
      const tau = t === 0 || se ? state.tau : residualTau(r);
      const z = tf.add(x, apply(sHatT, r)) as tf.Tensor3D; // [2K, B, M]  Z_t = X_t + S^H R_t
      const e = tf.sum(tf.reshape(tf.square(z), [2, K, B, M]), [0, 3]) as tf.Tensor2D; // [K, B] ||z_k||^2
      const den = bernoulliGaussianDenoiser(e, betaRows, tau, M, logOdds);
      const gain = tf.mul(den.phi, den.omega); // [K, B]
      const eta = tf.reshape(tf.mul(tf.reshape(z, [2, K, B, M]), tf.reshape(gain, [1, K, B, 1])), [2 * K, B, M]) as tf.Tensor3D;
      // X_{t+1} = (1 - d) eta(Z_t) + d X_t from t = 1 on (d = 0: eta(Z_t) itself, no extra op)
      const xNext = damping > 0 && t > 0 ? (tf.add(tf.mul(1 - damping, eta), tf.mul(damping, x)) as tf.Tensor3D) : eta;
      const sumGain = tf.sum(gain, 0); // [B]
      let onsager: tf.Tensor;
      if (options.onsager === 'scalar') {
        // b_t = (1/L) sum_k tr(J_k) / M = (1/L) sum_k (phi omega + c ||z_k||^2 / M)   (16)
        const b = tf.div(tf.add(sumGain, tf.div(tf.sum(tf.mul(den.c, e), 0), M)), L);
        onsager = tf.mul(r, tf.reshape(b, [1, B, 1]));
      } else {
        // G_b = Z^H diag(c) Z (M x M per trial) as [Re G; Im G] = (c [Zs | J(Zs)])^T Zs with
        // Zs = [Re Z; Im Z] ([B, 2K, M]); then R G = Rs Re G + J(Rs) Im G = [Rs | J(Rs)] [Re G; Im G].
        const zb = tf.transpose(z, [1, 0, 2]); // [B, 2K, M]
        const c2 = tf.reshape(tf.tile(tf.transpose(den.c), [1, 2]), [B, 2 * K, 1]);
        const left = tf.transpose(tf.mul(tf.concat([zb, timesI(zb, 1)], 2), c2), [0, 2, 1]); // [B, 2M, 2K]
        const g = tf.matMul(left as tf.Tensor3D, zb as tf.Tensor3D); // [B, 2M, M]
        const rb = tf.transpose(r, [1, 0, 2]); // [B, 2L, M]
        const rg = tf.matMul(tf.concat([rb, timesI(rb, 1)], 2) as tf.Tensor3D, g); // [B, 2L, M]
        onsager = tf.div(tf.add(tf.transpose(rg, [1, 0, 2]), tf.mul(r, tf.reshape(sumGain, [1, B, 1]))), L);
      }
      const rNext = tf.add(tf.sub(yS, apply(sHat, xNext)), onsager) as tf.Tensor3D; // (15)
      let tauNext = tau;
      if (se) {
        // tau_{t+1}^2 = sigma^2 + (1/L) sum_k [phi omega tau^2 + phi (1 - phi) omega^2 ||z_k||^2 / M]   (34)
        const post = tf.add(tf.mul(gain, tau), tf.div(tf.mul(tf.mul(tf.mul(den.phi, tf.sub(1, den.phi)), tf.square(den.omega)), e), M));
        tauNext = tf.reshape(tf.add(sigma2, tf.div(tf.sum(post, 0), L)), [1, B]);
      }
      observe?.({ t, z: unstack(z, K), tau2: tf.reshape(tau, [B]) as tf.Tensor1D, x: unstack(xNext, K) });
      return { z, e, tau, xNext, rNext, tauNext };
    });
    if (track) norms.push(tf.tidy(() => residualNorm(out.rNext)));
    const kept = new Set<tf.Tensor>([out.z, out.e, out.tau, out.xNext, out.rNext, out.tauNext, yS]);
    for (const old of [state.x, state.r, state.tau, last?.z, last?.e, last?.tau]) if (old !== undefined && !kept.has(old)) old.dispose();
    state = { x: out.xNext, r: out.rNext, tau: out.tauNext };
    last = { z: out.z, e: out.e, tau: out.tau };
  }
  const done = last as { z: tf.Tensor3D; e: tf.Tensor2D; tau: tf.Tensor2D };
  if (!track) return { z: done.z, x: state.x, energy: done.e, tau2: done.tau };
  const residualNorms = tf.stack(norms) as tf.Tensor2D;
  tf.dispose(norms);
  return { z: done.z, x: state.x, energy: done.e, tau2: done.tau, residualNorms };
}

/**
 * U iterations of {@link mmvAmp} with one sequence per device, the residual noise estimate and the
 * matrix Onsager term, differentiable in y, the pilots and the prior log-odds: the approximation
 * part of the AMP-based decoder (AMP-NN) of Y. Cui, S. Li, W. Zhang, "Jointly sparse signal
 * recovery and support recovery via deep learning with applications in MIMO-based grant-free
 * random access", IEEE J. Sel. Areas Commun., 2021, Sec. III-B.2, Algorithm 2, Eqs. (11)-(12).
 *
 * @param y        [B, L, M] complex
 * @param pilots   [L, N] complex
 * @param beta     [B, N] channel variance beta_n
 * @param logOdds  [N] log(eps_n / (1 - eps_n))
 * @returns        [B, N, M] complex: X after U iterations
 */
export function ampUnrolled(y: ComplexTensor, pilots: ComplexTensor, beta: tf.Tensor2D, logOdds: tf.Tensor1D, iterations: number): ComplexTensor {
  return cx.tidy(() => {
    const [B, , M] = y.re.shape as [number, number, number];
    const K = pilots.re.shape[1] as number;
    const { x } = mmvAmp(y, pilots, { iterations, sequencesPerDevice: 1, beta, logOdds, noise: { estimate: 'residual' }, onsager: 'matrix' });
    const h = tf.transpose(tf.reshape(x, [2, K, B, M]), [0, 2, 1, 3]);
    const [re, im] = tf.unstack(h, 0) as [tf.Tensor3D, tf.Tensor3D];
    return { re, im };
  });
}

/** Per-entry real Bernoulli-Gaussian MMSE denoiser, its derivative and the intermediates a hand-written gradient needs (see {@link scalarBgDenoiser}). */
export interface ScalarDenoiserOutput {
  /** eta(Z): posterior mean. */
  readonly eta: tf.Tensor;
  /** d eta / d Z. */
  readonly derivative: tf.Tensor;
  /** p: posterior probability that the entry is non-zero. */
  readonly posterior: tf.Tensor;
  /** g = theta2 / (theta2 + tau^2). */
  readonly gain: tf.Tensor;
  /** s = tau^2 (theta2 + tau^2) / theta2. */
  readonly s: tf.Tensor;
}

/**
 * The denoiser of one DL-mAMPnet AMP layer, per real entry (Ma et al., Eqs. (46)-(48), with the
 * prior log-odds of "inactive" theta1 and the signal variance theta2): for z = x + tau w,
 * w ~ N(0, 1), x ~ (1 - lambda) delta_0 + lambda N(0, theta2), theta1 = log((1 - lambda) / lambda):
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
  return { eta, derivative, posterior: p, gain: g, s };
}
