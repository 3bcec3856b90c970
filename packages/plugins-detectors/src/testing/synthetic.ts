/**
 * Synthetic block-fading MIMO data for detector tests, generated on the host (float64) from a
 * seeded RandomStreams, independently of the channel and encoder plugins:
 *
 *   Y = sum_n a_n s_{n, m_n} h_n^T + W,  h_n ~ CN(0, beta_n I_M),  W entries CN(0, sigma^2)
 *
 * with a_n ~ Bernoulli(eps), m_n uniform on [0, Q), and Gaussian pilots drawn once: by default
 * each column scaled to unit norm (`pilots: "unit-norm"`), or raw i.i.d. CN(0, 1/L) entries
 * (`pilots: "raw"`, the encoder `gaussian-pilots` draws of the examples, whose column norms
 * scatter around 1). Both are the same Gaussian draw: the unit-norm columns are the raw ones
 * divided by their norms.
 */
import * as tf from '@tensorflow/tfjs';
import { numSequences, RandomStreams, type ComplexTensor, type ObservationWith, type Scenario } from '@gfra/core';

/** The observation of a synthetic batch: y and every kind of side information but the channel state. */
export type SyntheticObservation = ObservationWith<'codebook' | 'noiseVariance' | 'largeScaleFading' | 'activityProbability'>;

export interface SyntheticOptions {
  readonly scenario: Scenario;
  /** Number of trials B. */
  readonly trials: number;
  /** First trial index (so that batches can be continued). */
  readonly first?: number;
  readonly activityProb: number;
  /** beta_n / sigma^2 in dB: one value, or [min, max] drawn per device once (fixed geometry). */
  readonly snrDb: number | readonly [number, number];
  readonly noiseVar?: number;
  /** beta_n given directly (overrides snrDb). */
  readonly beta?: readonly number[];
  readonly key?: string;
  /** "unit-norm" (default): every pilot column has norm 1; "raw": i.i.d. CN(0, 1/L) entries, not normalised. */
  readonly pilots?: 'unit-norm' | 'raw';
}

/** Host arrays plus the Observation a detector sees (tensors owned by the caller). */
export interface SyntheticBatch {
  readonly scenario: Scenario;
  /** [B][N] 0/1. */
  readonly activity: number[][];
  /** [B][N] message indices (0 when inactive). */
  readonly message: number[][];
  /** [N] beta_n. */
  readonly beta: number[];
  readonly noiseVar: number;
  /** Pilots: s[k] = { re[L], im[L] } for k = n Q + q. */
  readonly pilots: { re: number[]; im: number[] }[];
  /** h[b][n] = { re[M], im[M] }. */
  readonly h: { re: number[]; im: number[] }[][];
  /** y[b] = { re[L*M], im[L*M] } row-major [L, M]. */
  readonly y: { re: number[]; im: number[] }[];
  /** Builds the observation tensors (call inside tf.tidy or dispose them). */
  observation(): SyntheticObservation;
  /** [B, N, M] complex true channels. */
  channel(): ComplexTensor;
  /** [B, N*Q, M] complex: the row-sparse X with rows a_n 1(m_n = q) h_n^T. */
  rows(): ComplexTensor;
}

export function synthetic(opts: SyntheticOptions): SyntheticBatch {
  const scenario = opts.scenario;
  const { numDevices: N, numAntennas: M, sequenceLength: L } = scenario;
  const Q = numSequences(scenario);
  const K = N * Q;
  const B = opts.trials;
  const first = opts.first ?? 0;
  const sigma2 = opts.noiseVar ?? 1;
  const rnd = new RandomStreams(['synthetic', opts.key ?? 'default']);
  const g0 = rnd.onceGenerator('setup');
  const pilots = Array.from({ length: K }, () => {
    const re = Array.from({ length: L }, () => g0.normal());
    const im = Array.from({ length: L }, () => g0.normal());
    // raw: re, im ~ N(0, 1 / (2L)), so that each entry is CN(0, 1/L)
    const norm = opts.pilots === 'raw' ? Math.sqrt(2 * L) : Math.sqrt(re.reduce((a, v, i) => a + v * v + im[i] * im[i], 0));
    return { re: re.map((v) => v / norm), im: im.map((v) => v / norm) };
  });
  const snr = opts.snrDb;
  const beta = opts.beta?.slice() ?? Array.from({ length: N }, () => sigma2 * 10 ** ((typeof snr === 'number' ? snr : snr[0] + (snr[1] - snr[0]) * g0.uniform()) / 10));
  const activity: number[][] = [];
  const message: number[][] = [];
  const h: { re: number[]; im: number[] }[][] = [];
  const y: { re: number[]; im: number[] }[] = [];
  for (let b = 0; b < B; b++) {
    const g = rnd.generator('trial', first + b);
    const a = Array.from({ length: N }, () => (g.uniform() < opts.activityProb ? 1 : 0));
    const m = Array.from({ length: N }, (_, n) => {
      const q = g.integer(Q);
      return a[n] === 1 ? q : 0;
    });
    const hb = Array.from({ length: N }, (_, n) => {
      const s = Math.sqrt(beta[n] / 2);
      return { re: Array.from({ length: M }, () => s * g.normal()), im: Array.from({ length: M }, () => s * g.normal()) };
    });
    const yre = new Array<number>(L * M).fill(0);
    const yim = new Array<number>(L * M).fill(0);
    const ns = Math.sqrt(sigma2 / 2);
    for (let i = 0; i < L * M; i++) {
      yre[i] = ns * g.normal();
      yim[i] = ns * g.normal();
    }
    for (let n = 0; n < N; n++) {
      if (a[n] === 0) continue;
      const s = pilots[n * Q + m[n]];
      for (let l = 0; l < L; l++) {
        for (let mm = 0; mm < M; mm++) {
          // (sr + i si)(hr + i hi)
          yre[l * M + mm] += s.re[l] * hb[n].re[mm] - s.im[l] * hb[n].im[mm];
          yim[l * M + mm] += s.re[l] * hb[n].im[mm] + s.im[l] * hb[n].re[mm];
        }
      }
    }
    activity.push(a);
    message.push(m);
    h.push(hb);
    y.push({ re: yre, im: yim });
  }
  const flat = (xs: number[][]) => xs.flat();
  return {
    scenario,
    activity,
    message,
    beta,
    noiseVar: sigma2,
    pilots,
    h,
    y,
    observation(): SyntheticObservation {
      const codebookRe = Array.from({ length: L }, (_, l) => pilots.map((p) => p.re[l])).flat();
      const codebookIm = Array.from({ length: L }, (_, l) => pilots.map((p) => p.im[l])).flat();
      return {
        y: { re: tf.tensor3d(flat(y.map((v) => v.re)), [B, L, M]), im: tf.tensor3d(flat(y.map((v) => v.im)), [B, L, M]) },
        codebook: { re: tf.tensor2d(codebookRe, [L, K]), im: tf.tensor2d(codebookIm, [L, K]) },
        noiseVar: sigma2,
        largeScaleFading: tf.tensor2d(Array.from({ length: B }, () => beta).flat(), [B, N]),
        activityProbability: tf.fill([N], opts.activityProb) as tf.Tensor1D,
      };
    },
    channel(): ComplexTensor {
      return {
        re: tf.tensor3d(h.flatMap((hb) => hb.flatMap((v) => v.re)), [B, N, M]),
        im: tf.tensor3d(h.flatMap((hb) => hb.flatMap((v) => v.im)), [B, N, M]),
      };
    },
    rows(): ComplexTensor {
      const re: number[] = [];
      const im: number[] = [];
      for (let b = 0; b < B; b++) {
        for (let k = 0; k < K; k++) {
          const n = Math.floor(k / Q);
          const on = activity[b][n] === 1 && message[b][n] === k % Q;
          for (let mm = 0; mm < M; mm++) {
            re.push(on ? h[b][n].re[mm] : 0);
            im.push(on ? h[b][n].im[mm] : 0);
          }
        }
      }
      return { re: tf.tensor3d(re, [B, K, M]), im: tf.tensor3d(im, [B, K, M]) };
    },
  };
}
