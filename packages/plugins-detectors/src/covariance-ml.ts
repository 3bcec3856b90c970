import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { choleskyComplex, choleskySolveComplex, CovarianceCd } from './host-linalg';
import { powerScore } from './power-rule';
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
  type RandomStreams,
  type Scenario,
} from '@gfra/core';

export const CovarianceThreshold = Type.Union(
  [
    Type.Object(
      {
        rule: Type.Literal('beta'),
        fraction: Type.Number({ exclusiveMinimum: 0, default: 0.5, description: 'declare active when gamma_n > fraction * beta_n' }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      { rule: Type.Literal('fixed'), value: Type.Number({ minimum: 0, description: 'declare active when gamma_n > value (units of beta_n)' }) },
      { additionalProperties: false },
    ),
  ],
  {
    default: { rule: 'beta', fraction: 0.5 },
    description:
      'Decision on the ML estimate gamma_n: "beta" gamma_n > fraction * beta_n (DL-mAMPnet uses beta_n / 2; needs beta_n), or "fixed" gamma_n > value (no beta_n needed)',
  },
);

export const CovarianceMlParams = Type.Object(
  {
    sweeps: Type.Integer({ minimum: 1, default: 50, description: 'T: coordinate-descent sweeps over all N*Q coordinates (T_Cov = 50 in DL-mAMPnet)' }),
    order: Type.Union([Type.Literal('random'), Type.Literal('cyclic')], {
      default: 'random',
      description:
        '"random": a fresh random permutation of the coordinates in every sweep (drawn once per run from the seed, shared by all trials); "cyclic": 0, 1, ..., NQ - 1',
    }),
    threshold: CovarianceThreshold,
    objective: Type.Union([Type.Literal('ml'), Type.Literal('map')], {
      default: 'ml',
      description:
        '"ml": maximum likelihood; "map": maximum a posteriori with the per-device activity prior eps_n (paper 001, eq. 16 and Algorithm 3; needs eps_n and beta_n)',
    }),
    precision: Type.Union([Type.Literal('float64'), Type.Literal('float32')], {
      default: 'float64',
      description:
        '"float64": host loops in double precision (needed under strong near-far, e.g. the 48 dB path-loss spread); "float32": batched tfjs ops (differentiable; accurate for moderate power spreads, e.g. 20 dB, but the Sherman-Morrison recursion fails under the 48 dB path-loss spread)',
    }),
    channelEstimate: Type.Optional(
      Type.Union([Type.Literal('none'), Type.Literal('mmse')], {
        default: 'none',
        description:
          '"none": activity (and sequence) detection only; "mmse": also the ML-MMSE channel estimate (paper 001 ML-MMSE baseline, spec 2.11 item 4): the LMMSE estimate (A_S^H A_S + sigma^2 diag(1/beta_S))^{-1} A_S^H Y on the detected set S (sequence q*_n of each detected device), zero rows elsewhere (needs beta_n)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CovarianceMlParams = Static<typeof CovarianceMlParams>;

/**
 * Covariance-based maximum-likelihood activity detection by coordinate descent (the
 * "non-Bayesian"/covariance approach; with Q > 1 sequences per device, the non-coherent joint
 * activity and data detection baseline of DL-mAMPnet).
 *
 * References: S. Haghighatshoar, P. Jung, G. Caire, "Improved scaling law for activity detection
 * in massive MIMO systems", ISIT 2018; A. Fengler, S. Haghighatshoar, P. Jung,
 * G. Caire, "Non-Bayesian activity detection, large-scale fading coefficient estimation, and
 * unsourced random access with a massive MIMO receiver", IEEE Trans. Inf. Theory, 2021;
 * Z. Chen, F. Sohrabi, Y.-F. Liu, W. Yu, "Covariance based joint activity and data detection
 * for massive random access with massive MIMO", ICC 2019 (Q > 1); DL-mAMPnet ([16] there) uses
 * it with T_Cov = 50 and the threshold beta_n / 2 (Sec. VI, footnote 3).
 *
 * Model: given the activity, the columns of Y in C^{L x M} are i.i.d. CN(0, Sigma(gamma)) with
 * Sigma(gamma) = S diag(gamma) S^H + sigma^2 I_L, one gamma_k >= 0 per sequence (k = nQ + q;
 * truly gamma_k = beta_n if device n sent q, else 0). The ML estimate minimises
 *
 *   f(gamma) = log det Sigma(gamma) + tr(Sigma(gamma)^{-1} Sigma_hat),   Sigma_hat = Y Y^H / M.
 *
 * Coordinate descent from gamma = 0, Sigma^{-1} = I / sigma^2; for each k in turn:
 *
 *   u = Sigma^{-1} s_k,   a = s_k^H u,   b = u^H Sigma_hat u,
 *   d = max((b - a) / a^2, -gamma_k)            (the exact minimiser of f along gamma_k)
 *   gamma_k += d,   Sigma^{-1} -= d u u^H / (1 + d a)          (Sherman-Morrison)
 *
 * so f never increases.
 *
 * `objective: "map"` (paper 001, Sec. IV-B, eqs. (16)-(19), Algorithm 3: MAP with a per-device
 * activity prior eps_n) adds - sum_k c_k gamma_k to f, c_k = log(p_k / (1 - p_k)) / (M beta_n),
 * p_k = eps_n / Q (the paper's (1/M) log-prior term for alpha_k = gamma_k / beta_n). The exact
 * coordinate minimiser then solves c u^2 - a u + b = 0 (u = 1 + d a); in division-free form
 * u* = 2 b / (a + sqrt(a^2 - 4 c b)), d = max((u* - 1) / a, -gamma_k), which is the ML step at
 * c = 0. Every step is an exact 1-D minimisation, so the MAP objective never increases either.
 * Decision: q*_n = arg max_q gamma_{n,q}; device n is declared active
 * when gamma_{n,q*} exceeds the threshold (default beta_n / 2).
 *
 * `channelEstimate: "mmse"` (paper 001 ML-MMSE baseline, spec 2.11 item 4 and A28) adds the
 * channel estimate of the detected devices: with S the devices declared active by the decision
 * above (gamma* when the candidate has a `threshold` block: the rule beta_n / 2 misses about 14 %
 * of the active devices at M = 4, whose instantaneous ||h||^2 / M falls below half its mean) and A_S the pilots s_{n, q*_n} of them (unit-norm columns here; device n's channel is
 * CN(0, beta_n I_M)), the LMMSE estimate given S is
 *
 *   Xhat_S = (A_S^H A_S + sigma^2 diag(1 / beta_S))^{-1} A_S^H Y,   other rows 0,
 *
 * which is the spec's (A_S^H A_S + sigma^2 I)^{-1} A_S^H Y in the paper's units (the columns of A_S
 * scaled by sqrt(beta_n), rows of X by 1 / sqrt(beta_n): unit prior variance). It is computed on the host in float64, trial by trial,
 * by a complex Cholesky solve of the |S| x |S| system (|S| = 0: all-zero estimate), from the
 * decisions of either precision setting.
 *
 * Implementation: `precision: "float64"` (default) runs the recursion in double precision on the
 * host, trial by trial: in float32 the Sherman-Morrison recursion matches it when the received
 * powers span 20 dB (tested), but under the papers' 48 dB path-loss spread it stalls far from the
 * optimum (objective 189 instead of 112 on one N = 100, L = 40, M = 16 trial). `precision: "float32"` runs all trials of a batch together in tfjs, with
 * Sigma^{-1} and Sigma_hat in real form [[Re, -Im], [Im, Re]] ([B, 2L, 2L]). Both compute
 * b = ||Y^H u||^2 / M when M < L (cheaper than the L x L product).
 *
 * @input  y                [B, L, M] complex
 * @input  codebook         [L, N*Q] complex
 * @input  noiseVar         sigma^2
 * @input  largeScaleFading [B, N] (threshold rule "beta" only)
 * @output activityScore [B, N] gamma_{n,q*} / beta_n (rule "beta") or gamma_{n,q*} (rule "fixed")
 * @output activity      [B, N] in {0, 1}
 * @output message       [B, N] int32 q*_n
 * @output channel       [B, N, M] complex (`channelEstimate: "mmse"` only): the ML-MMSE estimate
 *                       Xhat_S, zero rows for devices not declared active
 * @remarks Deviations: the random coordinate order is one sequence of permutations per run
 * (shared by all trials, so results do not depend on how trials are batched), rather than a
 * fresh draw per trial. MAP: the paper prints eq. (19) with (s^2 + 2cs)^2 and Algorithm 3 with
 * the denominator 1 + d a_n Sinv a_n^H; both are typos (spec A10), corrected here; the
 * discriminant is clamped at 0 (eps_n > 1/2 makes the relaxed problem unbounded, spec A11); the
 * paper's alpha (0/1 scale, unit channel power) is gamma / beta_n here. The default float64 path loops over the trials of a batch on the host
 * (the recursion is sequential over coordinates and needs double precision); only the float32
 * path is vectorised over the batch in tfjs.
 */
@injectable()
export class CovarianceMlDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'covariance-ml',
    summary:
      'ML (or MAP with per-device priors) estimate of the per-sequence powers gamma from the sample covariance by coordinate descent; gamma_n > beta_n / 2; optionally the ML-MMSE channel estimate of the detected devices',
    reference:
      'A. Fengler, S. Haghighatshoar, P. Jung, G. Caire, IEEE Trans. Inf. Theory 2021 (coordinate-wise ML); Z. Chen, F. Sohrabi, Y.-F. Liu, W. Yu, ICC 2019 (Q > 1); DL-mAMPnet baseline [16]; MAP: paper 001, eqs. (16)-(19), Algorithm 3; ML-MMSE: paper 001 ML-MMSE baseline (spec 2.11 item 4)',
    params: CovarianceMlParams,
    requires: (p: CovarianceMlParams) => {
      const needs: Capability[] = ['codebook', 'noiseVariance'];
      if (p.threshold.rule === 'beta' || p.objective === 'map' || p.channelEstimate === 'mmse') needs.push('largeScaleFading');
      if (p.objective === 'map') needs.push('activityProbability');
      return needs;
    },
    provides: (p: CovarianceMlParams) => (p.channelEstimate === 'mmse' ? ['activityScore', 'activity', 'message', 'channel'] : ['activityScore', 'activity', 'message']),
  });

  /** Coordinate order per sweep. */
  private readonly orders: readonly (readonly number[])[];
  /** gamma* of the runner's thresholding module, once fitted. */
  private fittedThreshold: number | undefined;

  constructor(
    @inject(TOKENS.params) private readonly params: CovarianceMlParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    const K = scenario.numDevices * numSequences(scenario);
    const identity = Array.from({ length: K }, (_, k) => k);
    if (params.order === 'cyclic') {
      this.orders = Array.from({ length: params.sweeps }, () => identity);
    } else {
      const g = random.onceGenerator('coordinate-order');
      this.orders = Array.from({ length: params.sweeps }, () => {
        const perm = identity.slice();
        for (let i = K - 1; i > 0; i--) {
          const j = g.integer(i + 1);
          [perm[i], perm[j]] = [perm[j], perm[i]];
        }
        return perm;
      });
    }
  }

  detect(obs: Observation): Estimate {
    const { numDevices: N } = this.scenario;
    const Q = numSequences(this.scenario);
    return cx.tidy((): Estimate => {
      const gamma = this.estimate(obs);
      const B = gamma.shape[0];
      const perDevice = tf.reshape(gamma, [B, N, Q]);
      const best = tf.max(perDevice, 2);
      const message = (Q === 1 ? tf.zeros([B, N], 'int32') : tf.cast(tf.argMax(perDevice, 2), 'int32')) as tf.Tensor2D;
      const { score, level } = powerScore(best as tf.Tensor2D, this.params.threshold, obs.largeScaleFading);
      // gamma* of the thresholding module, when fitted, replaces the rule (score >= gamma*)
      const activity = (this.fittedThreshold === undefined ? tf.cast(tf.greater(score, level), 'float32') : tf.cast(tf.greaterEqual(score, this.fittedThreshold), 'float32')) as tf.Tensor2D;
      if (this.params.channelEstimate !== 'mmse') return { activityScore: score, activity, message };
      return { activityScore: score, activity, message, channel: this.mmseChannel(obs, activity.dataSync(), message.dataSync()) };
    });
  }

  /** The thresholding module's gamma*: decide activityScore >= gamma, also for the ML-MMSE set. */
  useActivityThreshold(gamma: number): void {
    this.fittedThreshold = gamma;
  }

  /**
   * ML-MMSE channel estimate [B, N, M] given the decisions (host arrays [B * N]: activity in
   * {0, 1}, q*_n): per trial, Xhat_S = (A_S^H A_S + sigma^2 diag(1 / beta_S))^{-1} A_S^H Y in
   * float64 (complex Cholesky), zero rows outside S. Devices with beta_n <= 0 get zero rows.
   */
  private mmseChannel(obs: Observation, activity: ArrayLike<number>, message: ArrayLike<number>): ComplexTensor {
    const { numDevices: N, numAntennas: M, sequenceLength: L } = this.scenario;
    const Q = numSequences(this.scenario);
    const K = N * Q;
    const A = obs.codebook;
    if (A === undefined) throw new Error('needs the codebook (pilots) as side information');
    if (obs.noiseVar === undefined) throw new Error('needs the noise variance sigma^2 as side information');
    if (obs.largeScaleFading === undefined) throw new Error('channelEstimate "mmse" needs the large-scale fading beta_n as side information');
    const sigma2 = obs.noiseVar;
    const B = obs.y.re.shape[0];
    const cbRe = A.re.dataSync();
    const cbIm = A.im.dataSync();
    const yRe = obs.y.re.dataSync();
    const yIm = obs.y.im.dataSync();
    const beta = obs.largeScaleFading.dataSync();
    const outRe = new Float32Array(B * N * M);
    const outIm = new Float32Array(B * N * M);
    for (let b = 0; b < B; b++) {
      const set: number[] = [];
      for (let n = 0; n < N; n++) if (activity[b * N + n] > 0.5 && beta[b * N + n] > 0) set.push(n);
      const s = set.length;
      if (s === 0) continue;
      const cols = set.map((n) => n * Q + message[b * N + n]);
      // G = A_S^H A_S + sigma^2 diag(1 / beta_S) (row-major s x s), R = A_S^H Y_b (s x M)
      const gRe = new Float64Array(s * s);
      const gIm = new Float64Array(s * s);
      const rRe = new Float64Array(s * M);
      const rIm = new Float64Array(s * M);
      for (let i = 0; i < s; i++) {
        const ki = cols[i];
        for (let j = i; j < s; j++) {
          const kj = cols[j];
          let re = 0;
          let im = 0;
          for (let l = 0; l < L; l++) {
            // conj(a_i[l]) a_j[l]
            const ar = cbRe[l * K + ki];
            const ai = cbIm[l * K + ki];
            const br = cbRe[l * K + kj];
            const bi = cbIm[l * K + kj];
            re += ar * br + ai * bi;
            im += ar * bi - ai * br;
          }
          gRe[i * s + j] = re;
          gIm[i * s + j] = im;
          gRe[j * s + i] = re;
          gIm[j * s + i] = -im;
        }
        gRe[i * s + i] += sigma2 / beta[b * N + set[i]];
        gIm[i * s + i] = 0;
        for (let l = 0; l < L; l++) {
          const ar = cbRe[l * K + ki];
          const ai = cbIm[l * K + ki];
          const base = (b * L + l) * M;
          for (let m = 0; m < M; m++) {
            const vr = yRe[base + m];
            const vi = yIm[base + m];
            rRe[i * M + m] += ar * vr + ai * vi;
            rIm[i * M + m] += ar * vi - ai * vr;
          }
        }
      }
      choleskySolveComplex(choleskyComplex(gRe, gIm, s), s, rRe, rIm, M);
      set.forEach((n, i) => {
        outRe.set(rRe.subarray(i * M, (i + 1) * M), (b * N + n) * M);
        outIm.set(rIm.subarray(i * M, (i + 1) * M), (b * N + n) * M);
      });
    }
    return { re: tf.tensor3d(outRe, [B, N, M]), im: tf.tensor3d(outIm, [B, N, M]) };
  }

  /**
   * The ML estimate gamma [B, N*Q] after all sweeps. `onSweep(s, gamma)` is called after sweep s
   * (0-based) with the current estimate (freed after it returns).
   */
  estimate(obs: Observation, onSweep?: (sweep: number, gamma: tf.Tensor2D) => void): tf.Tensor2D {
    return this.params.precision === 'float64' ? this.estimateHost(obs, onSweep) : this.estimateTf(obs, onSweep);
  }

  /**
   * MAP only: c_k = log(p_k / (1 - p_k)) / (M beta_{b,n}) for every trial b and coordinate
   * k = nQ + q, p_k = eps_n / Q, as a host array [B * K] (undefined for ML). The prior term of
   * paper 001's eq. (16), -(1/M) sum_n alpha_n log(eps_n / (1 - eps_n)), written for
   * gamma_k = beta_n alpha_k.
   */
  private priorWeights(obs: Observation): Float64Array | undefined {
    if (this.params.objective !== 'map') return undefined;
    const { numDevices: N, numAntennas: M } = this.scenario;
    const Q = numSequences(this.scenario);
    if (obs.activityProbability === undefined) throw new Error('objective "map" needs the activity probability eps_n as side information');
    if (obs.largeScaleFading === undefined) throw new Error('objective "map" needs the large-scale fading beta_n as side information');
    const eps = obs.activityProbability.dataSync();
    const beta = obs.largeScaleFading.dataSync();
    const B = obs.largeScaleFading.shape[0];
    const out = new Float64Array(B * N * Q);
    for (let b = 0; b < B; b++)
      for (let n = 0; n < N; n++) {
        const p = eps[n] / Q;
        const c = Math.log(p / (1 - p)) / (M * beta[b * N + n]);
        for (let q = 0; q < Q; q++) out[(b * N + n) * Q + q] = c;
      }
    return out;
  }

  /** Double-precision coordinate descent on the host, trial by trial (see {@link CovarianceCd}). */
  private estimateHost(obs: Observation, onSweep?: (sweep: number, gamma: tf.Tensor2D) => void): tf.Tensor2D {
    const { numDevices: N, numAntennas: M, sequenceLength: L } = this.scenario;
    const K = N * numSequences(this.scenario);
    const S = obs.codebook;
    if (S === undefined) throw new Error('needs the codebook (pilots) as side information');
    if (obs.noiseVar === undefined) throw new Error('needs the noise variance sigma^2 as side information');
    const B = obs.y.re.shape[0];
    // Column-major codebook (column k contiguous), float64.
    const sRe = new Float64Array(L * K);
    const sIm = new Float64Array(L * K);
    const cbRe = S.re.dataSync();
    const cbIm = S.im.dataSync();
    for (let l = 0; l < L; l++) {
      for (let k = 0; k < K; k++) {
        sRe[k * L + l] = cbRe[l * K + k];
        sIm[k * L + l] = cbIm[l * K + k];
      }
    }
    const yRe = obs.y.re.dataSync();
    const yIm = obs.y.im.dataSync();
    const per = L * M;
    const trials = Array.from(
      { length: B },
      (_, b) => new CovarianceCd(sRe, sIm, yRe.subarray(b * per, (b + 1) * per), yIm.subarray(b * per, (b + 1) * per), L, M, obs.noiseVar as number),
    );
    const prior = this.priorWeights(obs);
    if (prior !== undefined) trials.forEach((t, b) => (t.prior = Float64Array.from(prior.subarray(b * K, (b + 1) * K))));
    const gammaOf = (): Float32Array => {
      const out = new Float32Array(B * K);
      trials.forEach((t, b) => out.set(t.gamma, b * K));
      return out;
    };
    for (let sweep = 0; sweep < this.orders.length; sweep++) {
      for (const t of trials) t.sweep(this.orders[sweep]);
      if (onSweep !== undefined) tf.tidy(() => onSweep(sweep, tf.tensor2d(gammaOf(), [B, K])));
    }
    return tf.tensor2d(gammaOf(), [B, K]);
  }

  /** Batched float32 coordinate descent in tfjs (all trials step through the same order). */
  private estimateTf(obs: Observation, onSweep?: (sweep: number, gamma: tf.Tensor2D) => void): tf.Tensor2D {
    const S = obs.codebook;
    if (S === undefined) throw new Error('needs the codebook (pilots) as side information');
    if (obs.noiseVar === undefined) throw new Error('needs the noise variance sigma^2 as side information');
    const B = obs.y.re.shape[0];
    const K = S.re.shape[1] as number;
    const priorHost = this.priorWeights(obs);
    return tf.tidy(() => {
      const prior = priorHost === undefined ? undefined : tf.tensor2d(Float32Array.from(priorHost), [B, K]);
      return covarianceCdTf(obs.y, S, obs.noiseVar as number, this.orders, prior, onSweep);
    });
  }
}

/**
 * Batched float32 coordinate descent of the ML (prior undefined) or MAP covariance objective in
 * tfjs: every trial of the batch steps through the same coordinate order. Differentiable in y,
 * the codebook and the prior weights (paper 001's MAP-NN trains through it). Sigma^{-1} and
 * Sigma_hat are kept in real form [[Re, -Im], [Im, Re]] ([B, 2L, 2L]).
 *
 * @param y        [B, L, M] complex received signal
 * @param codebook [L, K] complex
 * @param noiseVar sigma^2
 * @param orders   coordinate order of each sweep (its length is the number of sweeps)
 * @param prior    [B, K] c_k of the MAP step (u* = 2 b / (a + sqrt(a^2 - 4 c b))); undefined: ML
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
  const K = codebook.re.shape[1] as number;
  const L2 = 2 * L;
  return tf.tidy(() => {
    // Real forms: vectors [Re; Im], matrices [[Re, -Im], [Im, Re]].
    const columns = tf.unstack(cx.realVector(codebook, 0), 1).map((c) => tf.reshape(c, [L2, 1]) as tf.Tensor2D); // K x [2L, 1]
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
          const u = tf.reshape(tf.matMul(tf.reshape(w, [B * L2, L2]) as tf.Tensor2D, s), [B, L2]) as tf.Tensor2D; // Sigma^{-1} s_k
          const a = tf.reshape(tf.matMul(u, s), [B]); // s_k^H Sigma^{-1} s_k (real)
          const u3 = tf.reshape(u, [B, L2, 1]) as tf.Tensor3D;
          const b = useY ? tf.div(tf.sum(tf.square(tf.matMul(quad, u3)), [1, 2]), M) : tf.sum(tf.mul(u3, tf.matMul(quad, u3)), [1, 2]);
          // ML: (b - a) / a^2; MAP: u* = 2 b / (a + sqrt(a^2 - 4 c b)), d* = (u* - 1) / a
          const step =
            c === undefined
              ? tf.div(tf.sub(b, a), tf.square(a))
              : tf.div(tf.sub(tf.div(tf.mul(2, b), tf.add(a, tf.sqrt(tf.relu(tf.sub(tf.square(a), tf.mul(tf.mul(4, c[k]), b)))))), 1), a);
          const d = tf.maximum(step, tf.neg(gamma[k]));
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
