import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  numSequences,
  TOKENS,
  type Capability,
  type ComplexTensor,
  type Detector,
  type Estimate,
  type Observation,
  type Scenario,
} from '@gfra/core';

export const MmvAmpThreshold = Type.Union(
  [
    Type.Object({ rule: Type.Literal('map') }, { additionalProperties: false }),
    Type.Object({ rule: Type.Literal('large-m') }, { additionalProperties: false }),
    Type.Object(
      { rule: Type.Literal('llr'), value: Type.Number({ description: 'threshold on the log-likelihood ratio LLR_n' }) },
      { additionalProperties: false },
    ),
  ],
  {
    default: { rule: 'map' },
    description:
      'Activity decision on LLR_n = M (pi_n - psi_n): "map" LLR_n > log((Q - eps_n) / eps_n) (posterior phi > 1/2), "large-m" LLR_n > 0 (DL-mAMPnet Eq. (37), the large-M limit), "llr" LLR_n > value (trade-off curves)',
  },
);

export const MmvAmpParams = Type.Object(
  {
    maxIterations: Type.Integer({ minimum: 1, default: 50, description: 'T: AMP iterations (T_AMP = 50 in DL-mAMPnet)' }),
    noiseEstimate: Type.Union([Type.Literal('residual'), Type.Literal('state-evolution')], {
      default: 'residual',
      description:
        'Effective noise tau_t^2: "residual" ||R_t||_F^2 / (L M) (needs no sigma^2), or "state-evolution" tau_0^2 = sigma^2 + (1/L) sum_n eps_n beta_n and the empirical recursion (34) (needs sigma^2)',
    }),
    onsager: Type.Union([Type.Literal('matrix'), Type.Literal('scalar')], {
      default: 'matrix',
      description:
        'Onsager term: "matrix" (1/L) R_t sum_k J_k^T with the M x M Jacobian of the vector denoiser, or "scalar" b_t R_t with b_t = (1/L) sum_k tr(J_k) / M (the literal Eq. (16); diverges under strong near-far)',
    }),
    threshold: MmvAmpThreshold,
  },
  { additionalProperties: false },
);
export type MmvAmpParams = Static<typeof MmvAmpParams>;

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
 * (DL-mAMPnet Eqs. (28)-(32); Liu and Yu's denoiser for Q = 1), as functions of the row energy
 * e = ||z||^2:
 *
 *   omega = beta / (beta + tau^2),  psi = log(1 + beta / tau^2),  pi = beta e / (tau^2 (beta + tau^2) M)
 *   phi = sigmoid(M (pi - psi) + log(p / (1 - p))),   E[x | z] = phi omega z
 *
 * and the Wirtinger Jacobian of z -> E[x | z]: J = phi omega I + c z z^H with
 * c = phi (1 - phi) omega^2 / tau^2. All inputs broadcast against each other.
 *
 * @param priorLogOdds log(p / (1 - p)) per row; for Q sequences per device p = eps / Q, i.e.
 *                     -log((Q - eps) / eps)
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

/** Final state of a run, in the internal stacked-real layout. */
interface AmpState {
  /** [2K, B, M]: [Re; Im] of the last denoiser input. */
  readonly z: tf.Tensor3D;
  /** [2K, B, M]: [Re; Im] of the last estimate X_T. */
  readonly x: tf.Tensor3D;
  /** [K, B] row energies ||z_k||^2 of the last denoiser input. */
  readonly energy: tf.Tensor2D;
  /** [1, B] last tau^2. */
  readonly tau2: tf.Tensor2D;
}

/**
 * AMP for the multiple-measurement-vector model with the Bernoulli-Gaussian MMSE vector denoiser
 * (joint activity detection and channel estimation; with Q > 1 sequences per device, joint
 * activity and data detection).
 *
 * Reference: L. Liu and W. Yu, "Massive Connectivity With Massive MIMO - Part I: Device Activity
 * Detection and Channel Estimation", IEEE Trans. Signal Process., 2018 (AMP with vector MMSE
 * denoiser, state evolution, LLR-based activity detection); equation numbers below are those of
 * Z. Ma et al., "Model-driven deep learning for non-coherent mMTC" (DL-mAMPnet), Sec. III, which
 * restates the algorithm for Q >= 1.
 *
 * Model: Y = S X + W, S in C^{L x NQ} (column nQ + q = sequence q of device n), X in C^{NQ x M}
 * with row nQ + q equal to h_n^T if device n is active and sent q (h_n ~ CN(0, beta_n I_M)),
 * W entries CN(0, sigma^2). Starting from X_0 = 0, R_0 = Y, for t = 0 .. T-1:
 *
 *   tau_t^2 = ||R_t||_F^2 / (L M)                 (or the state evolution (33)-(34), empirical)
 *   Z_t = X_t + S^H R_t                                                        (14)
 *   X_{t+1} = eta(Z_t): row k, x_k = phi_k omega_k z_k  (MMSE denoiser (28)-(32), prior eps_n / Q)
 *   R_{t+1} = Y - S X_{t+1} + (1/L) R_t [ (sum_k phi_k omega_k) I_M + Z_t^H diag(c) Z_t ]   (15)
 *
 * The last line is the matrix Onsager term: sum_k J_k^T with J_k = phi_k omega_k I + c_k z_k z_k^H
 * the Jacobian of the vector denoiser (c_k = phi_k (1 - phi_k) omega_k^2 / tau_t^2); the scalar
 * b_t of (16) is its normalised trace (option `onsager: "scalar"`).
 *
 * Decision (35)-(37) from the last denoiser input: element selection q*_n = arg max_q ||z_{n,q}||^2
 * (equal to arg max_q ||x_{n,q}||^2, since omega_n is common to the device), then
 * LLR_n = M (pi_{n,q*} - psi_n) = log p(z | active, q*) / p(z | inactive) against the threshold.
 *
 * @input  y                   [B, L, M] complex
 * @input  codebook            [L, N*Q] complex
 * @input  largeScaleFading    [B, N] (beta_n)
 * @input  activityProbability [N] (eps_n)
 * @input  noiseVar            sigma^2 (only with noiseEstimate "state-evolution")
 * @output activityScore [B, N] LLR_n of the selected sequence
 * @output activity      [B, N] in {0, 1}
 * @output message       [B, N] int32 q*_n
 * @output channel       [B, N, M] complex: the AMP estimate x_{n,q*} (posterior mean phi omega z)
 * @remarks Deviations: none in the iteration. The state-evolution noise estimate evaluates the
 * expectation of (34) empirically (sum over the rows of the posterior variances), as the paper's
 * z inside the expectation implies. All trials of a batch are processed together (trial b only
 * ever sees its own data).
 */
@injectable()
export class MmvAmpDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'mmv-amp',
    summary: 'AMP with the Bernoulli-Gaussian MMSE vector denoiser and matrix Onsager term; LLR activity test, channel estimates',
    reference:
      'L. Liu and W. Yu, "Massive connectivity with massive MIMO - Part I", IEEE TSP 2018; Z. Ma et al. (DL-mAMPnet), Sec. III, Eqs. (14)-(16), (28)-(37)',
    params: MmvAmpParams,
    requires: (p: MmvAmpParams) => {
      const needs: Capability[] = ['codebook', 'largeScaleFading', 'activityProbability'];
      if (p.noiseEstimate === 'state-evolution') needs.push('noiseVariance');
      return needs;
    },
    provides: () => ['activityScore', 'activity', 'message', 'channel'],
  });

  constructor(
    @inject(TOKENS.params) private readonly params: MmvAmpParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {}

  detect(obs: Observation): Estimate {
    const { numDevices: N, numAntennas: M } = this.scenario;
    const Q = numSequences(this.scenario);
    const eps = obs.activityProbability;
    if (eps === undefined) throw new Error('needs the activity probability eps_n as side information');
    return cx.tidy((): Estimate => {
      const state = this.iterate(obs, this.observer);
      const B = state.tau2.shape[1];
      const energy = tf.reshape(state.energy, [N, Q, B]);
      const best = Q === 1 ? tf.zeros([N, B], 'int32') : tf.cast(tf.argMax(energy, 1), 'int32'); // [N, B]
      const bestEnergy = tf.max(energy, 1); // [N, B]
      const beta = tf.transpose(this.beta(obs)); // [N, B]
      const logOdds = tf.reshape(this.priorLogOdds(eps, 1), [N, 1]); // log(eps/Q) - log(1 - eps/Q)
      const { llr } = bernoulliGaussianDenoiser(bestEnergy, beta, state.tau2, M, logOdds);
      const rule = this.params.threshold;
      const tau = rule.rule === 'map' ? tf.neg(logOdds) : rule.rule === 'large-m' ? tf.scalar(0) : tf.scalar(rule.value);
      const activity = tf.cast(tf.greater(llr, tau), 'float32');
      // Channel estimate: the row of X_T at the selected sequence.
      const x = tf.reshape(state.x, [2, N, Q, B, M]);
      const pick = Q === 1 ? x : tf.mul(x, tf.reshape(tf.cast(tf.oneHot(best, Q), 'float32').transpose([0, 2, 1]), [1, N, Q, B, 1]));
      const h = tf.transpose(tf.sum(pick, 2), [0, 2, 1, 3]); // [2, B, N, M]
      const [re, im] = tf.unstack(h, 0) as [tf.Tensor3D, tf.Tensor3D];
      return {
        activityScore: tf.transpose(llr) as tf.Tensor2D,
        activity: tf.transpose(activity) as tf.Tensor2D,
        message: tf.transpose(best) as tf.Tensor2D,
        channel: { re, im },
      };
    });
  }

  /** [B, N] beta_n. */
  private beta(obs: Observation): tf.Tensor2D {
    if (obs.largeScaleFading === undefined) throw new Error('needs the large-scale fading beta_n as side information');
    return obs.largeScaleFading;
  }

  /** [N*reps] log(p / (1 - p)) with p = eps_n / Q, each device's value repeated `reps` times. */
  private priorLogOdds(eps: tf.Tensor1D, reps: number): tf.Tensor1D {
    const Q = numSequences(this.scenario);
    const p = tf.div(eps, Q);
    const odds = tf.sub(tf.log(p), tf.log1p(tf.neg(p))) as tf.Tensor1D;
    return reps === 1 ? odds : (tf.reshape(tf.tile(tf.expandDims(odds, 1), [1, reps]), [-1]) as tf.Tensor1D);
  }

  /**
   * Run the T iterations and return the final state (internal layout). `observe` is called after
   * every iteration with the denoiser input and output (inside the iteration's tidy scope).
   */
  private iterate(obs: Observation, observe?: (it: AmpIterate) => void): AmpState {
    const { numDevices: N, numAntennas: M, sequenceLength: L } = this.scenario;
    const Q = numSequences(this.scenario);
    const K = N * Q;
    const S = obs.codebook;
    if (S === undefined) throw new Error('needs the codebook (pilots) as side information');
    const eps = obs.activityProbability as tf.Tensor1D;
    const B = obs.y.re.shape[0];
    const se = this.params.noiseEstimate === 'state-evolution';
    if (se && obs.noiseVar === undefined) throw new Error('noiseEstimate "state-evolution" needs the noise variance as side information');
    const sigma2 = obs.noiseVar ?? 0;

    // Stacked-real layout with the batch in the middle: V = [Re; Im] of shape [2 rows, B, M], so
    // that the shared S multiplies all trials in one 2-D matmul: real(S) [[Sr, -Si], [Si, Sr]].
    const sHat = cx.realMatrix(S) as tf.Tensor2D; // [2L, 2K]
    const sHatT = tf.transpose(sHat) as tf.Tensor2D; // [2K, 2L] = real(S^H)
    const apply = (A: tf.Tensor2D, V: tf.Tensor): tf.Tensor3D =>
      tf.reshape(tf.matMul(A, tf.reshape(V, [V.shape[0], B * M]) as tf.Tensor2D), [A.shape[0], B, M]);
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

    const y = stack(obs.y); // [2L, B, M]
    const beta = this.beta(obs);
    const betaRows = tf.reshape(tf.tile(tf.expandDims(tf.transpose(beta), 1), [1, Q, 1]), [K, B]); // [K, B], row nQ+q -> beta_n
    const logOdds = tf.reshape(this.priorLogOdds(eps, Q), [K, 1]);

    const residualTau = (v: tf.Tensor): tf.Tensor2D => tf.reshape(tf.div(tf.sum(tf.square(v), [0, 2]), L * M), [1, B]);
    // tau_0^2: ||Y||_F^2 / (L M), or sigma^2 + (1/L) sum_n eps_n beta_n   (33)
    const tau0 = se ? (tf.reshape(tf.add(sigma2, tf.div(tf.sum(tf.mul(beta, eps), 1), L)), [1, B]) as tf.Tensor2D) : residualTau(y);
    let state = { x: tf.zeros([2 * K, B, M]) as tf.Tensor3D, r: y, tau: tau0 };
    let last: { z: tf.Tensor3D; e: tf.Tensor2D; tau: tf.Tensor2D } | undefined;
    for (let t = 0; t < this.params.maxIterations; t++) {
      const { x, r } = state;
      const out = tf.tidy(() => {
        const tau = t === 0 || se ? state.tau : residualTau(r);
        const z = tf.add(x, apply(sHatT, r)) as tf.Tensor3D; // [2K, B, M]  Z_t = X_t + S^H R_t
        const e = tf.sum(tf.reshape(tf.square(z), [2, K, B, M]), [0, 3]) as tf.Tensor2D; // [K, B] ||z_k||^2
        const den = bernoulliGaussianDenoiser(e, betaRows, tau, M, logOdds);
        const gain = tf.mul(den.phi, den.omega); // [K, B]
        const xNext = tf.reshape(tf.mul(tf.reshape(z, [2, K, B, M]), tf.reshape(gain, [1, K, B, 1])), [2 * K, B, M]) as tf.Tensor3D;
        const sumGain = tf.sum(gain, 0); // [B]
        let onsager: tf.Tensor;
        if (this.params.onsager === 'scalar') {
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
        const rNext = tf.add(tf.sub(y, apply(sHat, xNext)), onsager) as tf.Tensor3D; // (15)
        let tauNext = tau;
        if (se) {
          // tau_{t+1}^2 = sigma^2 + (1/L) sum_k [phi omega tau^2 + phi (1 - phi) omega^2 ||z_k||^2 / M]   (34)
          const post = tf.add(tf.mul(gain, tau), tf.div(tf.mul(tf.mul(tf.mul(den.phi, tf.sub(1, den.phi)), tf.square(den.omega)), e), M));
          tauNext = tf.reshape(tf.add(sigma2, tf.div(tf.sum(post, 0), L)), [1, B]);
        }
        observe?.({ t, z: unstack(z, K), tau2: tf.reshape(tau, [B]) as tf.Tensor1D, x: unstack(xNext, K) });
        return { z, e, tau, xNext, rNext, tauNext };
      });
      const kept = new Set<tf.Tensor>([out.z, out.e, out.tau, out.xNext, out.rNext, out.tauNext, y]);
      for (const old of [state.x, state.r, state.tau, last?.z, last?.e, last?.tau]) if (old !== undefined && !kept.has(old)) old.dispose();
      state = { x: out.xNext, r: out.rNext, tau: out.tauNext };
      last = { z: out.z, e: out.e, tau: out.tau };
    }
    const done = last as { z: tf.Tensor3D; e: tf.Tensor2D; tau: tf.Tensor2D };
    return { z: done.z, x: state.x, energy: done.e, tau2: done.tau };
  }

  /**
   * Run the detector with an observer called after every iteration (tests, diagnostics: e.g. the
   * effective noise Z_t - X against tau_t^2). Tensors passed to `observe` are freed after it returns.
   */
  trace(obs: Observation, observe: (it: AmpIterate) => void): Estimate {
    this.observer = observe;
    try {
      return this.detect(obs);
    } finally {
      this.observer = undefined;
    }
  }

  private observer: ((it: AmpIterate) => void) | undefined;
}
