import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { cx, definePlugin, numSequences, TOKENS, type Capability, type Detector, type Estimate, type ObservationWith, type ParamProblem, type Scenario } from '@gfra/core';
import { choleskyComplex, choleskySolveComplex, gramColumns, type HostComplex } from './algorithms/host-complex';
import { hostCodebook, isPerTrialCodebook } from './codebook';
import { decideActivity } from './decision';

export const LmmseParams = Type.Object(
  {
    covariance: Type.Union([Type.Literal('identity'), Type.Literal('known-gains'), Type.Literal('genie')], {
      default: 'identity',
      description:
        'Prior covariance R of each antenna column x_m (N x N, diagonal): "identity" R = I_N (the training-set covariance of exchangeable independent users in the channel\'s normalised units; one matrix for all trials), "known-gains" R = diag(activityProb beta_n) (needs beta_n), "genie" R = diag(lambda_n beta_n) (ORACLE: needs the true activity and beta_n; the conditional MMSE bound)',
    }),
    estimator: Type.Union([Type.Literal('lmmse'), Type.Literal('least-squares')], {
      default: 'lmmse',
      description:
        '"lmmse": X_hat = R A^H (A R A^H + sigma^2 I_L)^-1 Y (needs sigma^2); "least-squares": its noiseless limit sigma^2 -> 0, with R = I the LS (A^H A)^-1 A^H Y for L >= N and the minimum-norm A^H (A A^H)^-1 Y for L < N (needs no sigma^2)',
    }),
    activityThreshold: Type.Number({
      exclusiveMinimum: 0,
      default: 0.5,
      description: 'declare device n active when its mean estimated energy per antenna ||x_hat_n||^2 / M (the activityScore, in the channel\'s normalised units) exceeds this',
    }),
    activityProb: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.125,
      description: 'covariance "known-gains" only: the activity probability eps in R = diag(eps beta_n) (K/N for exactly K active devices)',
    }),
  },
  { additionalProperties: false },
);
export type LmmseParams = Static<typeof LmmseParams>;

/** Side information lmmse always requires (sigma^2, beta_n and the true activity depend on the params). */
const REQUIRES = ['codebook'] as const;
type LmmseObservation = ObservationWith<(typeof REQUIRES)[number]>;

/**
 * The linear estimator W = R A^H (A R A^H + s2 I_L)^{-1}, row-major [N, L] float64, for a diagonal
 * prior covariance R = diag(r), r_n >= 0, and the pilot matrix A row-major [L, N]: X_hat = W Y.
 *
 * Rows n with r_n = 0 are zero. On the support S = {n : r_n > 0}, with D = diag(sqrt(r_S)) and
 * B = A_S D, the push-through identity gives two equal forms; the smaller system is solved
 * (Cholesky):
 *
 * - |S| <= L: W_S = D (B^H B + s2 I_|S|)^{-1} B^H;
 * - |S| > L:  W_S = R_S A_S^H C^{-1} = R_S (C^{-1} A_S)^H, C = A_S R_S A_S^H + s2 I_L (Hermitian).
 *
 * For s2 > 0 both equal the paper's expression; for s2 = 0 they are its limit: with R = I the LS
 * solution (A^H A)^{-1} A^H for L >= N and the minimum-norm A^H (A A^H)^{-1} for L < N, with
 * R = diag(lambda beta) the LS on the true active set when it has at most L devices.
 *
 * @throws when the solved system is singular (s2 = 0 with linearly dependent pilots on S).
 */
export function lmmseMatrix(aRe: ArrayLike<number>, aIm: ArrayLike<number>, L: number, N: number, r: ArrayLike<number>, s2: number): HostComplex {
  const wRe = new Float64Array(N * L);
  const wIm = new Float64Array(N * L);
  const support = Array.from({ length: N }, (_, n) => n).filter((n) => r[n] > 0);
  const s = support.length;
  if (s === 0) return { re: wRe, im: wIm };
  const factor = (h: HostComplex, n: number): HostComplex => {
    try {
      return choleskyComplex(h.re, h.im, n);
    } catch (e) {
      throw new Error(
        `lmmse: the ${n} x ${n} system of the estimator is singular (noise variance ${s2}, ${s} devices with nonzero prior variance, L = ${L}): ${(e as Error).message}; use a positive noise variance or pilots in general position`,
      );
    }
  };
  if (s <= L) {
    // H = D G D + s2 I with G = A_S^H A_S; right-hand side D A_S^H [s, L].
    const d = support.map((n) => Math.sqrt(r[n]));
    const g = gramColumns(aRe, aIm, L, N, support);
    for (let i = 0; i < s; i++) {
      for (let j = 0; j < s; j++) {
        g.re[i * s + j] *= d[i] * d[j];
        g.im[i * s + j] *= d[i] * d[j];
      }
      g.re[i * s + i] += s2;
    }
    const zRe = new Float64Array(s * L);
    const zIm = new Float64Array(s * L);
    for (let i = 0; i < s; i++) {
      for (let l = 0; l < L; l++) {
        // d_i conj(a_{l, n_i})
        zRe[i * L + l] = d[i] * aRe[l * N + support[i]];
        zIm[i * L + l] = -d[i] * aIm[l * N + support[i]];
      }
    }
    choleskySolveComplex(factor(g, s), s, zRe, zIm, L);
    for (let i = 0; i < s; i++) {
      const n = support[i];
      for (let l = 0; l < L; l++) {
        wRe[n * L + l] = d[i] * zRe[i * L + l];
        wIm[n * L + l] = d[i] * zIm[i * L + l];
      }
    }
    return { re: wRe, im: wIm };
  }
  // C = sum_{n in S} r_n a_n a_n^H + s2 I_L: C_lk = sum_n r_n a_ln conj(a_kn)
  const cRe = new Float64Array(L * L);
  const cIm = new Float64Array(L * L);
  for (let l = 0; l < L; l++) {
    for (let k = l; k < L; k++) {
      let re = 0;
      let im = 0;
      for (const n of support) {
        // (ar + i ai)(br - i bi) = (ar br + ai bi) + i (ai br - ar bi)
        const ar = aRe[l * N + n];
        const ai = aIm[l * N + n];
        const br = aRe[k * N + n];
        const bi = aIm[k * N + n];
        re += r[n] * (ar * br + ai * bi);
        im += r[n] * (ai * br - ar * bi);
      }
      cRe[l * L + k] = re;
      cIm[l * L + k] = im;
      cRe[k * L + l] = re;
      cIm[k * L + l] = -im;
    }
    cRe[l * L + l] += s2;
  }
  // Z = C^{-1} A_S [L, s]; W_S = R_S Z^H
  const zRe = new Float64Array(L * s);
  const zIm = new Float64Array(L * s);
  for (let l = 0; l < L; l++) {
    for (let i = 0; i < s; i++) {
      zRe[l * s + i] = aRe[l * N + support[i]];
      zIm[l * s + i] = aIm[l * N + support[i]];
    }
  }
  choleskySolveComplex(factor({ re: cRe, im: cIm }, L), L, zRe, zIm, s);
  for (let i = 0; i < s; i++) {
    const n = support[i];
    for (let l = 0; l < L; l++) {
      wRe[n * L + l] = r[n] * zRe[l * s + i];
      wIm[n * L + l] = -r[n] * zIm[l * s + i];
    }
  }
  return { re: wRe, im: wIm };
}

/**
 * LMMSE channel estimation from the pilots, the baseline of C. Tang, Z. Li, Z. Chen, H. H. Yang,
 * "Device Activity Detection and Channel Estimation Using Score-Based Generative Models in Massive
 * MIMO", ZTE Communications 23(1):53-62, 2025 (Sec. 4, Fig. 5; "LMMSE" with the channel covariance
 * of the training set), with a least-squares variant and a genie (oracle) covariance.
 *
 * Model (the paper's Y = X P transposed, users as rows): Y = A X + W, A in C^{L x N} the pilots
 * (column n = device n's pilot), X in C^{N x M} with row n = lambda_n h_n^T (zero when inactive),
 * W entries CN(0, sigma^2). Per antenna column x_m with prior covariance R = E[x_m x_m^H]:
 *
 *   $\hat X = R A^H (A R A^H + \sigma^2 I_L)^{-1} Y$
 *
 * with R (`covariance`):
 * - `identity` (default): R = I_N. The paper estimates R from its training set; users are
 *   exchangeable and independent, so that covariance is diagonal and constant, and in the
 *   channel's normalised units (mean |x_nm|^2 = 1 over all entries, inactive rows included) it is
 *   I_N. One matrix W = A^H (A A^H + sigma^2 I)^{-1} [N, L] for all trials (float64 on the host,
 *   once per batch), applied to the whole batch by one matmul.
 * - `known-gains`: R = diag(eps beta_n), eps = `activityProb`: the covariance given the
 *   large-scale fading.
 * - `genie`: R = diag(lambda_n beta_n), the true activity and gains: the conditional MMSE
 *   estimate given the support and gains, a lower bound for every receiver (an ORACLE).
 * Per-trial covariances (and per-trial codebooks) are solved trial by trial on the host in
 * float64 ({@link lmmseMatrix}) and applied by one batched matmul.
 *
 * `estimator: "least-squares"` takes the noiseless limit sigma^2 -> 0 of the same expression: with
 * R = I the LS (A^H A)^{-1} A^H Y for L >= N and the minimum-norm A^H (A A^H)^{-1} Y for L < N; with
 * the genie covariance the LS on the true active set.
 *
 * Activity: activityScore e_n = ||x_hat_n||^2 / M, the mean estimated energy per antenna, and
 * lambda_hat_n = 1[e_n > activityThreshold] (or e_n >= gamma* once the runner's thresholding
 * module has fitted gamma*).
 *
 * Symbols: N numDevices, M numAntennas, L sequenceLength.
 *
 * @input  y                 [B, L, M] complex
 * @input  codebook          [L, N] complex (Q = 1), or [B, L, N] (one per trial, encoder redraw "per-trial")
 * @input  noiseVar          sigma^2 (estimator "lmmse")
 * @input  largeScaleFading  [B, N] beta_n, in the units of the channel (covariance "known-gains", "genie")
 * @input  trueActivity      [B, N] lambda_n (covariance "genie"; oracle knowledge)
 * @output channel       [B, N, M] complex: X_hat
 * @output activityScore [B, N] ||x_hat_n||^2 / M
 * @output activity      [B, N] in {0, 1}
 * @remarks Deviations from the paper: it gives neither R nor an activity rule; R = I stands for
 *   its training-set covariance (exact in expectation in normalised units, see above), and its
 *   "count the zero rows" is read as the energy threshold above (an estimate is never exactly
 *   zero). `known-gains`, `genie` and `least-squares` are not in the paper (extra baselines and
 *   bounds). The estimator is computed in the smaller of the |S| x |S| and L x L forms (equal by
 *   the push-through identity; see {@link lmmseMatrix}). One pilot per device (bitsPerDevice 0).
 */
@injectable()
export class LmmseDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'lmmse',
    summary: 'Linear MMSE (or least-squares) channel estimation from the pilots, R = I, diag(eps beta) or the genie diag(lambda beta); energy activity test',
    reference:
      'C. Tang, Z. Li, Z. Chen, H. H. Yang, "Device Activity Detection and Channel Estimation Using Score-Based Generative Models in Massive MIMO", ZTE Communications 23(1):53-62, 2025 (LMMSE baseline, Sec. 4, Fig. 5)',
    params: LmmseParams,
    requires: (p: LmmseParams) => {
      const needs: Capability[] = [...REQUIRES];
      if (p.estimator === 'lmmse') needs.push('noiseVariance');
      if (p.covariance !== 'identity') needs.push('largeScaleFading');
      if (p.covariance === 'genie') needs.push('trueActivity');
      return needs;
    },
    provides: () => ['activityScore', 'activity', 'channel'],
    check: (_p: LmmseParams, s: Scenario): ParamProblem[] =>
      numSequences(s) !== 1
        ? [
            {
              path: '',
              message: `needs one pilot per device (scenario.bitsPerDevice = 0; got ${s.bitsPerDevice})`,
              hint: 'Set scenario.bitsPerDevice to 0 (LMMSE estimates the channel of each device\'s single pilot)',
            },
          ]
        : [],
    notes: ['oracle with covariance "genie": requires the true activity (trueActivity); the conditional MMSE bound given activity and gains'],
  });

  private fittedThreshold: number | undefined;

  constructor(
    @inject(TOKENS.params) private readonly params: LmmseParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {}

  detect(obs: LmmseObservation): Estimate {
    const { numDevices: N, numAntennas: M, sequenceLength: L } = this.scenario;
    const [B, Ly, My] = obs.y.re.shape;
    if (Ly !== L || My !== M) throw new Error(`lmmse: y has shape [${obs.y.re.shape.join(', ')}]; expected [B, L=${L}, M=${M}]`);
    const codeShape = obs.codebook.re.shape;
    const perTrial = isPerTrialCodebook(obs.codebook);
    if (codeShape[codeShape.length - 1] !== N || codeShape[codeShape.length - 2] !== L || (perTrial && codeShape[0] !== B)) {
      throw new Error(`lmmse: codebook has shape [${codeShape.join(', ')}]; expected [L=${L}, N=${N}] or [B=${B}, L=${L}, N=${N}] (one pilot per device)`);
    }
    const s2 = this.params.estimator === 'least-squares' ? 0 : this.noiseVariance(obs);
    const a = hostCodebook(obs.codebook);
    let w: { re: Float32Array; im: Float32Array; shape: number[] };
    if (this.params.covariance === 'identity' && !perTrial) {
      const one = lmmseMatrix(a.re, a.im, L, N, new Float64Array(N).fill(1), s2);
      w = { re: Float32Array.from(one.re), im: Float32Array.from(one.im), shape: [N, L] };
    } else {
      const variances = this.priorVariances(obs, B, N);
      w = { re: new Float32Array(B * N * L), im: new Float32Array(B * N * L), shape: [B, N, L] };
      for (let b = 0; b < B; b++) {
        const t = a.trial(b);
        const wb = lmmseMatrix(t.re, t.im, L, N, variances.subarray(b * N, (b + 1) * N), s2);
        w.re.set(wb.re, b * N * L);
        w.im.set(wb.im, b * N * L);
      }
    }
    return cx.tidy((): Estimate => {
      const wt = { re: tf.tensor(w.re, w.shape), im: tf.tensor(w.im, w.shape) };
      const x = cx.matmul(wt, obs.y); // [B, N, M]
      const score = tf.div(tf.sum(cx.abs2(x), 2), M) as tf.Tensor2D; // [B, N]
      return { channel: x, activityScore: score, activity: decideActivity(score, this.params.activityThreshold, this.fittedThreshold) };
    });
  }

  /** The thresholding module's gamma*: decide activityScore >= gamma from now on. */
  useActivityThreshold(gamma: number): void {
    this.fittedThreshold = gamma;
  }

  /** [B * N] float64 diagonal of R per trial (1 for "identity"). */
  private priorVariances(obs: LmmseObservation, B: number, N: number): Float64Array {
    const r = new Float64Array(B * N);
    if (this.params.covariance === 'identity') return r.fill(1);
    const beta = obs.largeScaleFading;
    if (beta === undefined) throw new Error(`lmmse: covariance "${this.params.covariance}" needs the large-scale fading beta_n as side information`);
    if (beta.shape[0] !== B || beta.shape[1] !== N) throw new Error(`lmmse: largeScaleFading has shape [${beta.shape.join(', ')}]; expected [B=${B}, N=${N}]`);
    const g = beta.dataSync();
    if (this.params.covariance === 'known-gains') {
      for (let i = 0; i < B * N; i++) r[i] = this.params.activityProb * g[i];
      return r;
    }
    const truth = obs.trueActivity;
    if (truth === undefined) throw new Error('lmmse: covariance "genie" needs the true activity (trueActivity, oracle knowledge)');
    if (truth.shape[0] !== B || truth.shape[1] !== N) throw new Error(`lmmse: trueActivity has shape [${truth.shape.join(', ')}]; expected [B=${B}, N=${N}]`);
    const lambda = truth.dataSync();
    for (let i = 0; i < B * N; i++) r[i] = lambda[i] > 0.5 ? g[i] : 0;
    return r;
  }

  private noiseVariance(obs: LmmseObservation): number {
    if (obs.noiseVar === undefined) throw new Error('lmmse: estimator "lmmse" needs the noise variance sigma^2 as side information (or use estimator "least-squares")');
    return obs.noiseVar;
  }
}
