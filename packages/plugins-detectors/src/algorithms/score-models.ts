/**
 * Score models s(X~, sigma) ~ grad log p_sigma(X~) of the activity-masked channel matrix X [N, M]
 * (user n = row n), where p_sigma is the law of X + sigma U, U i.i.d. N(0, 1) on every real
 * coordinate (a complex blur CN(0, 2 sigma^2) per entry): the prior of the score-based channel
 * estimator of C. Tang, Z. Li, Z. Chen, H. H. Yang, "Device Activity Detection and Channel
 * Estimation Using Score-Based Generative Models in Massive MIMO", ZTE Communications 23(1), 2025,
 * Sec. 2.3.2 (denoising score matching, Eqs. (3)-(5)) and Fig. 3 (the score network), following its ref. [34]
 * (M. Arvinte, J. I. Tamir, "MIMO channel estimation using score-based generative models", IEEE
 * TWC 22(6), 2023) in conditioning on sigma by dividing the network output by sigma.
 *
 * Gradients of a real function f of complex X are written as the complex combination
 * df/dRe X + j df/dIm X ("real view"): the score of CN(0, v I) at x is -2 x / v.
 *
 * Models (all take x [B, N, M] complex and sigma [B], and return the score [B, N, M] complex):
 * - {@link OracleMixtureScore}: the exact score of the Bernoulli / path-loss Rayleigh prior,
 *   users independent, the distance law discretised (not learned; a bound and a test oracle);
 * - {@link GaussianScore}: the score of CN(0, p I) (the LMMSE prior; a test and ablation model);
 * - {@link ColumnRadialScore}: a learned network with the exact structure of that prior: the
 *   score of user n is -k_n x~_n with 0 < k_n <= 1 / sigma^2 a function of user n's energy, the
 *   level and the mean energy of all users (about 4.5k parameters);
 * - {@link ColumnDeepSetsScore}: a per-user MLP on the whole row plus a pooled context over users
 *   (permutation-equivariant, no radial assumption).
 *
 * @remarks The paper's network is a RefineNet-style 2-D convolutional net (its Fig. 3) with no
 * widths, depths or conditioning given. Users are exchangeable and antennas i.i.d. under the
 * paper's channel model, so neither axis of X has a spatial order for small convolution kernels
 * to exploit; the column models here encode that symmetry instead (our choice, listed as a
 * deviation by the detector that uses them).
 */
import * as tf from '@tensorflow/tfjs';
import { annulusMeanPathGain, cx, pathLossGain, type ComplexTensor } from '@gfra/core';
import { DenseStack, type WeightSource } from './layers';

/** A score model: score(x, sigma) ~ grad log p_sigma(x), real view. */
export interface ScoreModel {
  /**
   * @param x     [B, N, M] complex
   * @param sigma [B] blur level of each trial
   * @returns [B, N, M] complex. Call inside a tidy or gradient scope.
   */
  score(x: ComplexTensor, sigma: tf.Tensor1D): ComplexTensor;
  /** Trainable variables (none for the analytic models). */
  variables(): Record<string, tf.Variable>;
  dispose(): void;
}

/** Per-user energy ||x_n||^2 = sum_m |x_nm|^2: [B, N, M] complex -> [B, N, 1]. */
function rowEnergy(x: ComplexTensor): tf.Tensor3D {
  return tf.sum(cx.abs2(x), 2, true) as tf.Tensor3D;
}

/** x [B, N, M] complex times a per-user real coefficient k [B, N, 1]. */
function scaleRows(x: ComplexTensor, k: tf.Tensor): ComplexTensor {
  return { re: tf.mul(x.re, k), im: tf.mul(x.im, k) };
}

/** One mixture component of a user's channel: CN(0, gain I_M) with probability `weight`. */
export interface PriorComponent {
  readonly gain: number;
  readonly weight: number;
}

/**
 * The exact score of a prior under which users are independent with law
 * sum_k pi_k CN(0, b_k I_M) (b_0 = 0: inactive). Blurred by sigma, component k becomes
 * CN(0, v_k I_M), v_k = b_k + 2 sigma^2, so for user n with e_n = ||x~_n||^2
 *   w_k ∝ pi_k v_k^{-M} exp(-e_n / v_k),   score_n = -(sum_k w_k 2 / v_k) x~_n
 * (weights normalised by log-sum-exp).
 */
export class OracleMixtureScore implements ScoreModel {
  private readonly logWeights: number[];
  private readonly gains: number[];

  /** @param components the mixture (weights summing to 1; a zero gain is the inactive state) */
  constructor(
    components: readonly PriorComponent[],
    private readonly numAntennas: number,
  ) {
    const total = components.reduce((s, c) => s + c.weight, 0);
    if (components.length === 0 || Math.abs(total - 1) > 1e-6) throw new Error(`OracleMixtureScore: the component weights sum to ${total}, not 1`);
    this.gains = components.map((c) => c.gain);
    this.logWeights = components.map((c) => Math.log(c.weight));
  }

  score(x: ComplexTensor, sigma: tf.Tensor1D): ComplexTensor {
    const K = this.gains.length;
    const B = sigma.shape[0];
    const v = tf.add(tf.tensor1d(this.gains), tf.reshape(tf.mul(2, tf.square(sigma)), [B, 1])); // [B, K]
    const vb = tf.reshape(v, [B, 1, K]);
    const e = rowEnergy(x); // [B, N, 1]
    const logits = tf.sub(tf.sub(tf.reshape(tf.tensor1d(this.logWeights), [1, 1, K]), tf.mul(this.numAntennas, tf.log(vb))), tf.div(e, vb)); // [B, N, K]
    const w = tf.softmax(logits, 2);
    const k = tf.sum(tf.div(tf.mul(w, 2), vb), 2, true); // [B, N, 1]
    return scaleRows(x, tf.neg(k));
  }

  variables(): Record<string, tf.Variable> {
    return {};
  }

  dispose(): void {}
}

/** The score of CN(0, p I) blurred by sigma: -2 x / (p + 2 sigma^2) (the LMMSE prior). */
export class GaussianScore implements ScoreModel {
  constructor(private readonly power = 1) {}

  score(x: ComplexTensor, sigma: tf.Tensor1D): ComplexTensor {
    const B = sigma.shape[0];
    const k = tf.reshape(tf.div(-2, tf.add(this.power, tf.mul(2, tf.square(sigma)))), [B, 1, 1]);
    return scaleRows(x, k);
  }

  variables(): Record<string, tf.Variable> {
    return {};
  }

  dispose(): void {}
}

/** Floor inside the logarithms of the radial model's features. */
const LOG_FLOOR = 1e-6;

/**
 * Learned radial score: with e_n = ||x~_n||^2 / M,
 *   f_n = [ log(e_n / (2 sigma^2) + 1e-6), log sigma, mean_n' log(e_n' / (2 sigma^2) + 1e-6) ]
 *   g_n = MLP(f_n)   (3 -> hidden -> hidden -> 1, ELU, output layer starting at zero)
 *   score_n = -sigmoid(g_n) x~_n / sigma^2
 * so 0 < k_n < 1 / sigma^2, the range of the exact score's coefficient (1 / sigma^2 for an inactive
 * user, 2 / (b + 2 sigma^2) for an active one of gain b).
 *
 * Variables: `radial/dense<k>/...`, `radial/output/...`.
 */
export class ColumnRadialScore implements ScoreModel {
  private readonly mlp: DenseStack;

  constructor(weights: WeightSource, hidden = 64) {
    this.mlp = new DenseStack([3, hidden, hidden, 1], weights, { name: (k, last) => (last ? 'radial/output' : `radial/dense${k}`), zeroLast: true, activation: 'elu' });
  }

  score(x: ComplexTensor, sigma: tf.Tensor1D): ComplexTensor {
    const [B, N, M] = x.re.shape;
    const s2 = tf.reshape(tf.square(sigma), [B, 1, 1]);
    const logE = tf.log(tf.add(tf.div(tf.div(rowEnergy(x), M), tf.mul(2, s2)), LOG_FLOOR)); // [B, N, 1]
    const logSigma = tf.tile(tf.reshape(tf.log(sigma), [B, 1, 1]), [1, N, 1]);
    const context = tf.tile(tf.mean(logE, 1, true), [1, N, 1]);
    const features = tf.reshape(tf.concat([logE, logSigma, context], 2), [B * N, 3]) as tf.Tensor2D;
    const g = tf.reshape(this.mlp.apply(features), [B, N, 1]);
    return scaleRows(x, tf.neg(tf.div(tf.sigmoid(g), s2)));
  }

  variables(): Record<string, tf.Variable> {
    return this.mlp.variables();
  }

  dispose(): void {
    this.mlp.dispose();
  }
}

/**
 * Learned permutation-equivariant score: for each user row x~_n (2M reals [Re; Im]),
 *   h1_n = elu(W1 [x~_n / sqrt(1 + sigma^2); log sigma] + b1),   c = mean_n h1_n
 *   h2_n = elu(W2 h1_n + Wc c + b2),   o_n = W3 h2_n + b3 (W3, b3 start at zero)
 *   score_n = o_n / sigma.
 *
 * Variables: `deepsets/input/...` (W1, b1), `deepsets/mix/...` ([W2; Wc], b2), `deepsets/output/...`.
 */
export class ColumnDeepSetsScore implements ScoreModel {
  private readonly input: DenseStack;
  private readonly mix: DenseStack;
  private readonly output: DenseStack;

  constructor(
    weights: WeightSource,
    private readonly numAntennas: number,
    hidden = 128,
  ) {
    const M = numAntennas;
    this.input = new DenseStack([2 * M + 1, hidden], weights, { name: () => 'deepsets/input' });
    this.mix = new DenseStack([2 * hidden, hidden], weights, { name: () => 'deepsets/mix' });
    this.output = new DenseStack([hidden, 2 * M], weights, { name: () => 'deepsets/output', zeroLast: true });
  }

  score(x: ComplexTensor, sigma: tf.Tensor1D): ComplexTensor {
    const [B, N, M] = x.re.shape;
    const scale = tf.reshape(tf.rsqrt(tf.add(1, tf.square(sigma))), [B, 1, 1]);
    const logSigma = tf.tile(tf.reshape(tf.log(sigma), [B, 1, 1]), [1, N, 1]);
    const rows = tf.reshape(tf.concat([tf.mul(x.re, scale), tf.mul(x.im, scale), logSigma], 2), [B * N, 2 * M + 1]) as tf.Tensor2D;
    const h1 = tf.reshape(tf.elu(this.input.apply(rows)), [B, N, -1]);
    const context = tf.tile(tf.mean(h1, 1, true), [1, N, 1]);
    const hidden = h1.shape[2] as number;
    const h2 = tf.elu(this.mix.apply(tf.reshape(tf.concat([h1, context], 2), [B * N, 2 * hidden]) as tf.Tensor2D));
    const o = tf.reshape(this.output.apply(h2), [B, N, 2 * M]);
    const inv = tf.reshape(tf.reciprocal(sigma), [B, 1, 1]);
    return { re: tf.mul(tf.slice(o, [0, 0, 0], [B, N, M]), inv), im: tf.mul(tf.slice(o, [0, 0, M], [B, N, M]), inv) };
  }

  variables(): Record<string, tf.Variable> {
    return { ...this.input.variables(), ...this.mix.variables(), ...this.output.variables() };
  }

  dispose(): void {
    this.input.dispose();
    this.mix.dispose();
    this.output.dispose();
  }
}

/**
 * The denoising score-matching loss of Eq. (5) (with the customary 1/2 and the sigma^2
 * weighting): per trial, with blur level sigma and z i.i.d. N(0, 1) per real coordinate,
 *   X~ = X + sigma z,   loss = 1/2 || sigma s(X~, sigma) + z ||^2
 * summed over the 2 N M real coordinates, averaged over the batch.
 *
 * @param x     [B, N, M] complex clean samples
 * @param sigma [B] levels
 * @param z     [B, N, M] complex: re and im parts i.i.d. N(0, 1)
 */
export function denoisingScoreMatchingLoss(model: ScoreModel, x: ComplexTensor, sigma: tf.Tensor1D, z: ComplexTensor): tf.Scalar {
  const B = sigma.shape[0];
  const sb = tf.reshape(sigma, [B, 1, 1]);
  const noisy = { re: tf.add(x.re, tf.mul(sb, z.re)), im: tf.add(x.im, tf.mul(sb, z.im)) };
  const s = model.score(noisy, sigma);
  const r = { re: tf.add(tf.mul(sb, s.re), z.re), im: tf.add(tf.mul(sb, s.im), z.im) };
  return tf.div(tf.mul(0.5, tf.sum(cx.abs2(r))), B) as tf.Scalar;
}

/** Geometric levels sigma_1 > ... > sigma_S from `max` down to `min` (S >= 2; S = 1 gives [max]). */
export function geometricLevels(max: number, min: number, count: number): number[] {
  if (count === 1) return [max];
  return Array.from({ length: count }, (_, i) => max * Math.pow(min / max, i / (count - 1)));
}

/** Geometry of the path-loss Rayleigh prior (distances in km, PL(d) = pathLossDb + pathLossExponentDb log10 d). */
export interface PathLossPriorGeometry {
  readonly minDistanceKm: number;
  readonly maxDistanceKm: number;
  readonly pathLossDb: number;
  readonly pathLossExponentDb: number;
  /** "path-loss", or "equal": every active user has the same gain (perfect power control). */
  readonly gains: 'path-loss' | 'equal';
}

/**
 * The mixture prior of one user's normalised channel under Tang et al.'s model: inactive with
 * probability 1 - activityProb (gain 0); active with the normalised gain b(d) = beta(d) / c,
 * c = activityProb E_d[beta] (so that the mean |x_nm|^2 over all users is 1), d uniform over the
 * annulus area, discretised into `levels` equal-probability rings at their area midpoints
 * d_j = sqrt(rMin^2 + ((j - 1/2) / J)(rMax^2 - rMin^2)). With gains "equal": one active component
 * of gain 1 / activityProb. Computed in float64 (raw gains are ~1e-12).
 */
export function pathLossPrior(g: PathLossPriorGeometry, activityProb: number, levels = 64): PriorComponent[] {
  const inactive = { gain: 0, weight: 1 - activityProb };
  if (g.gains === 'equal') return [inactive, { gain: 1 / activityProb, weight: activityProb }];
  const c = activityProb * annulusMeanPathGain(g);
  const [r, R] = [g.minDistanceKm, g.maxDistanceKm];
  const active = Array.from({ length: levels }, (_, j) => {
    const d = Math.sqrt(r * r + ((j + 0.5) / levels) * (R * R - r * r));
    return { gain: pathLossGain(g, d) / c, weight: activityProb / levels };
  });
  return [inactive, ...active];
}
