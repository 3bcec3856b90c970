/**
 * Annealed Langevin posterior sampling of the channel matrix X [N, M] from pilots
 * Y = A X + W (A [L, N] shared by the batch, W i.i.d. CN(0, s2)), with a score model of the
 * prior: C. Tang, Z. Li, Z. Chen, H. H. Yang, "Device Activity Detection and Channel Estimation
 * Using Score-Based Generative Models in Massive MIMO", ZTE Communications 23(1), 2025,
 * Sec. 2.3.4: Eq. (10) (Langevin update), Eq. (11) (likelihood gradient), and Algorithm 1.
 *
 * Recommended form (mode "recommended"), real-view gradients, levels sigma_1 > ... > sigma_S:
 *   v_i = s2 + 2 gamma sigma_i^2                  (noise plus the blur pushed through the pilots)
 *   a_i = c min(sigma_i^2, v_i / (2 lambda_max(A^H A)))
 *   repeat Q times:  X <- X + a_i (s(X, sigma_i) + 2 A^H (Y - A X) / v_i) + sqrt(2 a_i T) xi,
 *                    xi re and im parts i.i.d. N(0, 1)
 * Paper form (mode "paper", for the ablation): a_i = alpha_0 r^i (i = 1..S),
 *   X <- X + a_i (s(X, sigma_i) + A^H (Y - A X) / (s2 + sigma_i^2)) + sqrt(2 T a_i) sigma_i zeta,
 *   zeta ~ CN(0, I) (re and im N(0, 1/2)).
 *
 * @remarks Deviations from the paper, all in the recommended form (the paper form keeps its
 * update apart from the sign): the likelihood gradient's sign is corrected (Eq. (11) and
 * Algorithm 1 print the gradient of the negative log-likelihood, which pushes away from the
 * data); scores and likelihood gradients are both real-view gradients, so the Gaussian
 * likelihood gradient carries a factor 2; the annealed variance includes the pilot gain gamma
 * (a blur of std sigma on each real coordinate of X reaches each entry of A X with variance
 * 2 sigma^2 ||A_l||^2; the paper and its ref. [34] use s2 + sigma^2); the step size follows the
 * stiffer of the prior (1 / sigma_i^2) and the likelihood (2 lambda_max / v_i) instead of
 * alpha_0 r^i; the noise is standard Langevin noise sqrt(2 a_i T) with the paper's beta read as
 * a temperature T.
 */
import * as tf from '@tensorflow/tfjs';
import { cx, matMul2d, type ComplexTensor } from '@gfra/core';
import type { ScoreModel } from './score-models';

export interface LangevinSchedule {
  /** sigma_1 > ... > sigma_S. */
  readonly levels: readonly number[];
  /** Q: steps per level. */
  readonly stepsPerLevel: number;
  /** "recommended" or "paper" (see the module comment). */
  readonly mode: 'recommended' | 'paper';
  /** c: step scale (recommended form). */
  readonly stepScale: number;
  /** T: temperature (the paper's beta). */
  readonly temperature: number;
  /** gamma: pilot gain in the annealed variance (recommended form), ||A||_F^2 / L by default. */
  readonly likelihoodGain: number;
  /** alpha_0 and r of the paper form. */
  readonly paperStep?: { readonly initial: number; readonly decay: number };
}

/** lambda_max(A^H A) of A [L, N] (row-major re / im, float64 power iteration from a fixed start). */
export function largestEigenvalue(re: ArrayLike<number>, im: ArrayLike<number>, L: number, N: number, iterations = 60): number {
  let vr = Array.from({ length: N }, (_, n) => 1 + 0.01 * n);
  let vi = new Array<number>(N).fill(0);
  let lambda = 0;
  for (let it = 0; it < iterations; it++) {
    // u = A v [L], w = A^H u [N]
    const ur = new Array<number>(L).fill(0);
    const ui = new Array<number>(L).fill(0);
    for (let l = 0; l < L; l++) {
      for (let n = 0; n < N; n++) {
        const ar = re[l * N + n];
        const ai = im[l * N + n];
        ur[l] += ar * vr[n] - ai * vi[n];
        ui[l] += ar * vi[n] + ai * vr[n];
      }
    }
    const wr = new Array<number>(N).fill(0);
    const wi = new Array<number>(N).fill(0);
    for (let l = 0; l < L; l++) {
      for (let n = 0; n < N; n++) {
        const ar = re[l * N + n];
        const ai = im[l * N + n];
        wr[n] += ar * ur[l] + ai * ui[l];
        wi[n] += ar * ui[l] - ai * ur[l];
      }
    }
    const norm = Math.sqrt(wr.reduce((s, x, n) => s + x * x + wi[n] * wi[n], 0));
    if (norm === 0) return 0;
    lambda = norm / Math.sqrt(vr.reduce((s, x, n) => s + x * x + vi[n] * vi[n], 0));
    vr = wr.map((x) => x / norm);
    vi = wi.map((x) => x / norm);
  }
  return lambda;
}

/** The step size a_i and annealed likelihood variance of level i (0-based). */
export function langevinStep(schedule: LangevinSchedule, i: number, noiseVar: number, lambdaMax: number): { step: number; variance: number } {
  const sigma = schedule.levels[i];
  if (schedule.mode === 'paper') {
    const p = schedule.paperStep;
    if (p === undefined) throw new Error('langevin: the paper form needs paperStep { initial, decay }');
    return { step: p.initial * Math.pow(p.decay, i + 1), variance: noiseVar + sigma * sigma };
  }
  const variance = noiseVar + 2 * schedule.likelihoodGain * sigma * sigma;
  return { step: schedule.stepScale * Math.min(sigma * sigma, variance / (2 * lambdaMax)), variance };
}

/**
 * Run the sampler. `pilots` [L, N] complex (shared), `y` [B, L, M] complex, `init` [B, N, M]
 * complex (consumed: disposed), `noise(k)` returns step k's [B, N, M] complex draw with re and im
 * i.i.d. N(0, 1) (k = 0 .. S Q - 1; the caller keys it per trial). Returns X [B, N, M]; the
 * caller disposes it.
 */
export function annealedLangevin(
  model: ScoreModel,
  problem: { readonly y: ComplexTensor; readonly pilots: ComplexTensor; readonly noiseVar: number; readonly init: ComplexTensor; readonly noise: (k: number) => ComplexTensor },
  schedule: LangevinSchedule,
): ComplexTensor {
  const [B, L, M] = problem.y.re.shape;
  const N = problem.pilots.re.shape[1] as number;
  const lambdaMax = largestEigenvalue(problem.pilots.re.dataSync(), problem.pilots.im.dataSync(), L, N);
  // Layout inside the loop: [N, B M] for X and [L, B M] for Y (one shared-pilot matmul for all trials).
  const toCols = (t: tf.Tensor, rows: number) => tf.reshape(tf.transpose(t, [1, 0, 2]), [rows, B * M]) as tf.Tensor2D;
  const fromCols = (t: tf.Tensor, rows: number) => tf.transpose(tf.reshape(t, [rows, B, M]), [1, 0, 2]);
  const ar = problem.pilots.re as tf.Tensor2D;
  const ai = problem.pilots.im as tf.Tensor2D;
  const fixed = tf.tidy(() => ({
    arT: tf.transpose(problem.pilots.re) as tf.Tensor2D,
    aiT: tf.transpose(problem.pilots.im) as tf.Tensor2D,
    yr: toCols(problem.y.re, L),
    yi: toCols(problem.y.im, L),
  }));
  let x = problem.init;
  let k = 0;
  try {
    for (let i = 0; i < schedule.levels.length; i++) {
      const sigma = schedule.levels[i];
      const { step, variance } = langevinStep(schedule, i, problem.noiseVar, lambdaMax);
      const likelihoodScale = schedule.mode === 'paper' ? 1 / variance : 2 / variance;
      const noiseScale = schedule.mode === 'paper' ? Math.sqrt(schedule.temperature * step) * sigma : Math.sqrt(2 * step * schedule.temperature);
      for (let q = 0; q < schedule.stepsPerLevel; q++, k++) {
        const xi = problem.noise(k);
        const next = cx.tidy((): ComplexTensor => {
          const xr = toCols(x.re, N);
          const xim = toCols(x.im, N);
          // R = Y - A X, G = A^H R (complex, [L, BM] and [N, BM])
          const rr = tf.sub(fixed.yr, tf.sub(matMul2d(ar, xr), matMul2d(ai, xim)));
          const ri = tf.sub(fixed.yi, tf.add(matMul2d(ar, xim), matMul2d(ai, xr)));
          const gr = fromCols(tf.add(matMul2d(fixed.arT, rr as tf.Tensor2D), matMul2d(fixed.aiT, ri as tf.Tensor2D)), N);
          const gi = fromCols(tf.sub(matMul2d(fixed.arT, ri as tf.Tensor2D), matMul2d(fixed.aiT, rr as tf.Tensor2D)), N);
          const s = model.score(x, tf.fill([B], sigma) as tf.Tensor1D);
          return {
            re: tf.add(tf.add(x.re, tf.mul(step, tf.add(s.re, tf.mul(likelihoodScale, gr)))), tf.mul(noiseScale, xi.re)),
            im: tf.add(tf.add(x.im, tf.mul(step, tf.add(s.im, tf.mul(likelihoodScale, gi)))), tf.mul(noiseScale, xi.im)),
          };
        });
        tf.dispose([x.re, x.im, xi.re, xi.im]);
        x = next;
      }
    }
  } finally {
    tf.dispose(Object.values(fixed));
  }
  return x;
}
