/**
 * The AMP iteration of {@link mmvAmp} on the host: the same algorithm, the same equations, in
 * typed arrays, with the two codebook products per iteration done by the {@link blas} of
 * `@gfra/core` (OpenBLAS when it loads), the denoiser fused into one pass over the rows of Z for
 * all trials, and the Onsager term and residual norms per trial. Not differentiable: the trainable unrolled networks keep
 * the tfjs {@link mmvAmp}.
 *
 * References as in `amp.ts`: L. Liu, W. Yu, "Massive connectivity with massive MIMO - Part I",
 * IEEE TSP 2018; equation numbers of Z. Ma, W. Wu, F. Gao, X. Shen, "Model-driven deep learning
 * for non-coherent massive machine-type communications", Sec. III-B: Z_t = X_t + S^H R_t (14),
 * the Bernoulli-Gaussian MMSE denoiser (28)-(32), the residual with the matrix Onsager term (15),
 * the scalar b_t (16), the state evolution (33)-(34).
 *
 * Layout. Matrices are stacked-real and row-major, one column per (trial, antenna):
 *   R, Y [2L, W] (rows 0 .. L-1 the real parts, L .. 2L-1 the imaginary parts), Z, X [2K, W],
 * and the shared codebook S_hat = [[Re S, -Im S], [Im S, Re S]] [2L, 2K], so that S X is S_hat X
 * and S^H R is S_hat^T R. Trial b occupies the M columns starting at {@link HostAmpLayout.column}(b).
 *
 * Same numbers whatever the batch split: a BLAS product's rounding depends on the matrix sizes and
 * on an entry's position in them. With a shared codebook the products therefore run over fixed
 * chunks of {@link TRIALS_PER_PRODUCT} trial slots, and global trial t always sits in slot
 * t mod TRIALS_PER_PRODUCT of its chunk (the columns of slots without a trial of this batch are
 * zero and stay zero); with one codebook per trial, each trial has its own products (and runs all
 * its iterations before the next trial's). Everything else is computed per trial from that
 * trial's numbers only: in float64, except the M x M matrix Z^H diag(c) Z of the Onsager term,
 * one float32 (float64 with `precision`) BLAS product per trial.
 */
import { blas, type Gemm, type RealArray } from '@gfra/core';
import { ampWasm, type Arrays, type ArraySpec } from './wasm';

/**
 * Trials per shared-codebook product: large enough for the BLAS to run near its peak (about 90 %
 * of a whole-batch product at L = 30, K = 200, M = 4 on the machine gfra was tuned on), small
 * enough that padding a batch to whole chunks costs little.
 */
export const TRIALS_PER_PRODUCT = 16;

/**
 * Buffers that {@link hostMmvAmp} reuses from one call to the next (a detector keeps one): without
 * it every call allocates its state afresh, megabytes per batch, and the garbage collector's
 * threads then take a good part of a core from the other workers. The arrays of the state a call
 * returns belong to the workspace and are overwritten by the next call that uses it.
 */
export class HostAmpWorkspace {
  private readonly buffers = new Map<string, RealArray>();

  /** A zero-filled array of `length` entries of the given precision, reused under `name`. */
  take(name: string, length: number, double: true): Float64Array;
  take(name: string, length: number, double: boolean): RealArray;
  take(name: string, length: number, double: boolean): RealArray {
    const key = `${name}:${double ? 64 : 32}`;
    let buffer = this.buffers.get(key);
    if (buffer === undefined || buffer.length < length) {
      buffer = double ? new Float64Array(length) : new Float32Array(length);
      this.buffers.set(key, buffer);
    }
    const view = buffer.length === length ? buffer : buffer.subarray(0, length);
    view.fill(0);
    return view;
  }

  /** {@link HostAmpWorkspace.take} for every entry of `spec` (name -> [length, float64?]). */
  arrays<S extends ArraySpec>(spec: S): Arrays<S> {
    const out: Record<string, RealArray> = {};
    for (const [name, [length, double]] of Object.entries(spec)) out[name] = this.take(name, length, double);
    return out as Arrays<S>;
  }
}

/** Where each trial's columns are in the stacked matrices of {@link hostMmvAmp}. */
export interface HostAmpLayout {
  /** W: columns of every stacked matrix (slots x M). */
  readonly width: number;
  /** First column of trial b (its M columns follow). */
  column(b: number): number;
}

/** Inputs of {@link hostMmvAmp} (host arrays, row-major as `dataSync()` gives them). */
export interface HostAmpInput {
  /** [B, L, M]: real and imaginary parts of Y. */
  readonly yRe: ArrayLike<number>;
  readonly yIm: ArrayLike<number>;
  /** [L, K] (shared) or [B, L, K] (one codebook per trial, with `perTrial`). */
  readonly sRe: ArrayLike<number>;
  readonly sIm: ArrayLike<number>;
  readonly perTrial: boolean;
  readonly B: number;
  readonly L: number;
  readonly M: number;
  /** N Q: codebook columns. */
  readonly K: number;
  /** Q: sequences per device. */
  readonly Q: number;
  /** [B, N] beta_n. */
  readonly beta: ArrayLike<number>;
  /** [K] log(p_k / (1 - p_k)) per row. */
  readonly logOdds: ArrayLike<number>;
  /** Global index of trial 0 of the batch (0 when unknown). */
  readonly firstTrial: number;
  /**
   * Storage and products in float32 (the default, as the tfjs path) or float64 (for checks
   * against float64 references; the scalar work is float64 either way).
   */
  readonly precision?: 'float32' | 'float64';
  /** Buffers to reuse (the returned state's arrays then belong to it); omitted: a fresh workspace per call. */
  readonly workspace?: HostAmpWorkspace;
  /**
   * With float32 storage, run the elementwise passes in the WebAssembly kernels where they load
   * (default true; the same bits as the JavaScript loops, which run otherwise: see `./wasm`).
   */
  readonly wasm?: boolean;
}

/** Options as {@link AmpOptions} of the tfjs `mmvAmp`, with host arrays. */
export interface HostAmpOptions {
  readonly iterations: number;
  /** `residual`, or `state-evolution` with sigma^2 and eps_n ([N]). */
  readonly noise: { readonly estimate: 'residual' } | { readonly estimate: 'state-evolution'; readonly noiseVar: number; readonly eps: ArrayLike<number> };
  readonly onsager: 'matrix' | 'scalar';
  /** d in [0, 1) (see `mmvAmp`); 0: none. */
  readonly damping: number;
  /** Called after iteration t with Z_t, tau_t^2 ([B]) and X_{t+1} (overwritten afterwards: copy what you keep). */
  readonly observe?: (t: number, z: RealArray, tau2: Float64Array, x: RealArray, layout: HostAmpLayout) => void;
}

/** What {@link hostMmvAmp} returns. */
export interface HostAmpState {
  readonly layout: HostAmpLayout;
  /** [2K, W] the last denoiser input Z_{T-1}. */
  readonly z: RealArray;
  /** [2K, W] the last estimate X_T. */
  readonly x: RealArray;
  /** [K, B] ||z_k||^2 of the last denoiser input (row k: every trial). */
  readonly energy: Float64Array;
  /** [B] the last tau^2. */
  readonly tau2: Float64Array;
  /** [T + 1, B] ||R_t||_F^2 for t = 0 .. T. */
  readonly residualNorms: Float64Array;
}

/**
 * T iterations of AMP with the Bernoulli-Gaussian MMSE vector denoiser (see {@link mmvAmp} for
 * the equations, including damping and the state-evolution noise): from X_0 = 0, R_0 = Y,
 *
 *   Z_t = X_t + S^H R_t,   X_{t+1} = eta(Z_t) (damped from t = 1 on),
 *   R_{t+1} = Y - S X_{t+1} + (1/L) R_t [ (sum_k phi_k omega_k) I_M + Z_t^H diag(c) Z_t ]
 *
 * (or b_t R_t with the scalar b_t of (16)), per trial, with tau_t^2 = ||R_t||_F^2 / (L M) or the
 * recursion (33)-(34).
 */
export function hostMmvAmp(input: HostAmpInput, options: HostAmpOptions): HostAmpState {
  // one codebook per trial: trial by trial (each trial's products are its own either way)
  if (input.perTrial && input.B > 1 && options.observe === undefined) {
    return bySubBatches(input, options, Array.from({ length: input.B }, (_, b) => [b, b + 1] as const));
  }
  const { B, L, M, K, Q, perTrial } = input;
  const N = K / Q;
  const T = options.iterations;
  const damping = options.damping;
  if (!(damping >= 0 && damping < 1)) throw new Error(`AMP damping must be in [0, 1) (got ${damping}); 0 disables damping`);
  const se = options.noise.estimate === 'state-evolution';
  const scalarOnsager = options.onsager === 'scalar';
  const double = input.precision === 'float64';
  const ws = input.workspace ?? new HostAmpWorkspace();
  const gemm = (double ? blas().dgemm : blas().sgemm) as Gemm<RealArray>;
  const kernels = !double && input.wasm !== false ? ampWasm() : undefined;

  // Column layout: shared codebook, slots in chunks aligned to the global trial index; per trial, packed.
  const G = TRIALS_PER_PRODUCT;
  const offset = perTrial ? 0 : input.firstTrial % G;
  const slots = perTrial ? B : Math.ceil((offset + B) / G) * G;
  const W = slots * M;
  const column = (b: number) => (offset + b) * M;
  const layout: HostAmpLayout = { width: W, column };
  const twoL = 2 * L;
  const twoK = 2 * K;
  const books = perTrial ? B : 1;

  // Every array of the iteration: in the WebAssembly kernels' memory when they run (the results
  // are copied to the workspace at the end), else in the workspace.
  const spec = {
    // S_hat [2L, 2K] per codebook (one, or one per trial)
    sHat: [books * twoL * twoK, double],
    y: [twoL * W, double],
    r: [twoL * W, double],
    rNext: [twoL * W, double],
    z: [twoK * W, double],
    x: [twoK * W, double],
    residualNorms: [(T + 1) * B, true],
    tau: [B, true],
    energy: [K * B, true],
    // beta_n per device, all trials side by side: [N, B]
    betaByDevice: [N * B, true],
    logOdds: [K, true],
    tauUsed: [B, true],
    // per trial: sum_k phi omega, sum_k c ||z_k||^2, the state-evolution sum of (34)
    sums: [3 * B, true],
    inverseTau2: [B, true],
    // matrix Onsager: [c Re Z | c Im Z; c Im Z | -c Re Z] [2K, 2M] per trial, side by side in a
    // [2K, B 2M] matrix, and G = [Re G | Im G] [M, 2M] per trial
    weighted: [scalarOnsager ? 0 : twoK * B * 2 * M, double],
    gram: [B * 2 * M * M, double],
  } as const satisfies ArraySpec;
  const buf = kernels !== undefined ? kernels.scratch.arrays(spec) : ws.arrays(spec);
  const { sHat, y, z, x, residualNorms, tau, energy, betaByDevice, logOdds, tauUsed, sums, inverseTau2, gram } = buf;
  const weighted = scalarOnsager ? undefined : buf.weighted;
  let { r, rNext } = buf;

  for (let c = 0; c < books; c++) {
    const base = c * twoL * twoK;
    const src = c * L * K;
    for (let l = 0; l < L; l++) {
      const top = base + l * twoK;
      const bottom = base + (L + l) * twoK;
      for (let k = 0; k < K; k++) {
        const re = input.sRe[src + l * K + k];
        const im = input.sIm[src + l * K + k];
        sHat[top + k] = re;
        sHat[top + K + k] = -im;
        sHat[bottom + k] = im;
        sHat[bottom + K + k] = re;
      }
    }
  }
  for (let b = 0; b < B; b++) {
    const col = column(b);
    for (let l = 0; l < L; l++)
      for (let m = 0; m < M; m++) {
        y[l * W + col + m] = input.yRe[(b * L + l) * M + m];
        y[(L + l) * W + col + m] = input.yIm[(b * L + l) * M + m];
      }
  }
  r.set(y);
  for (let k = 0; k < K; k++) logOdds[k] = input.logOdds[k];
  for (let b = 0; b < B; b++) for (let n = 0; n < N; n++) betaByDevice[n * B + b] = input.beta[b * N + n];

  /** Z += S_hat^T R (14), or R_next -= S_hat X (15): over fixed chunks (shared) or per trial. */
  const product = (transposed: boolean, from: RealArray, to: RealArray): void => {
    const [rows, inner] = transposed ? [twoK, twoL] : [twoL, twoK];
    const alpha = transposed ? 1 : -1;
    if (perTrial) {
      for (let b = 0; b < B; b++) gemm(transposed, false, rows, M, inner, alpha, sHat, b * twoL * twoK, twoK, from, column(b), W, 1, to, column(b), W);
    } else {
      const n = G * M;
      for (let c0 = 0; c0 < W; c0 += n) gemm(transposed, false, rows, n, inner, alpha, sHat, 0, twoK, from, c0, W, 1, to, c0, W);
    }
  };

  /** ||R_b||_F^2 of trial b in `v` [2L, W]. */
  const residualEnergy = (v: RealArray, b: number): number => {
    const col = column(b);
    let s = 0;
    for (let row = 0; row < twoL; row++) {
      const o = row * W + col;
      for (let m = 0; m < M; m++) s += v[o + m] * v[o + m];
    }
    return s;
  };

  const at = (v: RealArray | undefined): number => (v === undefined ? 0 : v.byteOffset);
  /** residualNorms[t B + b] = ||V_b||_F^2 for every trial. */
  const residualEnergies = (v: RealArray, t: number): void => {
    if (kernels !== undefined) kernels.exports.residualEnergies(at(v), W, column(0), B, twoL, M, at(residualNorms) + 8 * t * B);
    else for (let b = 0; b < B; b++) residualNorms[t * B + b] = residualEnergy(v, b);
  };
  residualEnergies(y, 0);
  // tau_0^2: ||Y||_F^2 / (L M), or sigma^2 + (1/L) sum_n eps_n beta_n   (33)
  const noise = options.noise;
  for (let b = 0; b < B; b++) {
    if (noise.estimate === 'state-evolution') {
      let s = 0;
      for (let n = 0; n < N; n++) s += input.beta[b * N + n] * noise.eps[n];
      tau[b] = noise.noiseVar + s / L;
    } else tau[b] = residualNorms[b] / (L * M);
  }

  const noiseVar = noise.estimate === 'state-evolution' ? noise.noiseVar : 0;
  for (let t = 0; t < T; t++) {
    z.set(x);
    product(true, r, z); // Z_t = X_t + S^H R_t   (14)
    for (let b = 0; b < B; b++) tauUsed[b] = t === 0 || se ? tau[b] : residualNorms[t * B + b] / (L * M);
    const mix = damping > 0 && t > 0 ? damping : 0;
    if (kernels === undefined) denoise(z, x, W, column(0), B, K, Q, M, betaByDevice, logOdds, tauUsed, mix, weighted, energy, sums, inverseTau2);
    else {
      kernels.exports.denoise(at(z), at(x), W, column(0), B, K, Q, M, at(betaByDevice), at(logOdds), at(tauUsed), mix, at(weighted), at(energy), at(sums), at(inverseTau2));
    }
    // G_b = Z_b^H diag(c) Z_b = [Re Z; Im Z]^T weighted_b, one product per trial
    if (weighted !== undefined) for (let b = 0; b < B; b++) gemm(true, false, M, 2 * M, twoK, 1, z, column(b), W, weighted, b * 2 * M, B * 2 * M, 0, gram, b * 2 * M * M, 2 * M);
    if (se) for (let b = 0; b < B; b++) tau[b] = noiseVar + sums[2 * B + b] / L; // (34)
    // R_next = Y + onsager, then (below) - S X_{t+1}   (15)
    if (kernels !== undefined) kernels.exports.onsager(at(y), at(r), at(rNext), W, column(0), B, L, M, at(gram), weighted !== undefined, at(sums));
    else
      for (let b = 0; b < B; b++) {
        const col = column(b);
        const sumGain = sums[b];
        if (weighted === undefined) scaledResidual(y, r, rNext, W, col, twoL, M, (sumGain + sums[B + b] / M) / L); // b_t of (16)
        else matrixOnsager(y, r, rNext, W, col, L, M, gram, 2 * M * M * b, sumGain);
      }
    product(false, x, rNext); // R_{t+1} = Y + onsager - S X_{t+1}   (15)
    [r, rNext] = [rNext, r];
    residualEnergies(r, t + 1);
    options.observe?.(t, z, tauUsed, x, layout);
  }
  if (kernels === undefined) return { layout, z, x, energy, tau2: tauUsed, residualNorms };
  // the kernels' memory is scratch: the results move to the workspace
  const out = ws.arrays({ z: [z.length, false], x: [x.length, false], energy: [energy.length, true], tau2: [B, true], residualNorms: [residualNorms.length, true] });
  out.z.set(z);
  out.x.set(x);
  out.energy.set(energy);
  out.tau2.set(tauUsed);
  out.residualNorms.set(residualNorms);
  return { layout, ...out };
}

/**
 * {@link hostMmvAmp} on consecutive sub-batches `ranges` ([from, to) trial indices of the batch),
 * all T iterations of one before the next, merged into one packed layout (trial b at column b M).
 * Used with one codebook per trial, one trial per sub-batch: the trial's codebook and state stay
 * in cache, where the batch-wide iteration streams every trial's codebook from memory twice per
 * iteration (measured: 0.65 to 0.77 times the CPU time at N = 200, L = 30, M = 4, B = 100). Every product
 * and every per-trial operation is the batch-wide iteration's, on the same numbers.
 */
function bySubBatches(input: HostAmpInput, options: HostAmpOptions, ranges: readonly (readonly [number, number])[]): HostAmpState {
  const { B, L, M, K } = input;
  const N = K / input.Q;
  const T = options.iterations;
  const W = B * M;
  const double = input.precision === 'float64';
  // the sub-batches share the buffers (each is copied out before the next runs)
  const ws = input.workspace ?? new HostAmpWorkspace();
  const z = ws.take('merged z', 2 * K * W, double);
  const x = ws.take('merged x', 2 * K * W, double);
  const energy = ws.take('merged energy', K * B, true);
  const tau2 = ws.take('merged tau2', B, true);
  const residualNorms = ws.take('merged residualNorms', (T + 1) * B, true);
  const slice = (v: ArrayLike<number>, from: number, to: number, per: number): ArrayLike<number> =>
    ArrayBuffer.isView(v) ? (v as Float32Array).subarray(from * per, to * per) : Array.prototype.slice.call(v, from * per, to * per);
  for (const [from, to] of ranges) {
    const n = to - from;
    const part = hostMmvAmp(
      {
        ...input,
        yRe: slice(input.yRe, from, to, L * M),
        yIm: slice(input.yIm, from, to, L * M),
        sRe: input.perTrial ? slice(input.sRe, from, to, L * K) : input.sRe,
        sIm: input.perTrial ? slice(input.sIm, from, to, L * K) : input.sIm,
        beta: slice(input.beta, from, to, N),
        B: n,
        firstTrial: input.firstTrial + from,
        workspace: ws,
      },
      options,
    );
    const { width, column } = part.layout;
    for (let i = 0; i < n; i++) {
      const b = from + i;
      for (let row = 0; row < 2 * K; row++)
        for (let m = 0; m < M; m++) {
          z[row * W + b * M + m] = part.z[row * width + column(i) + m];
          x[row * W + b * M + m] = part.x[row * width + column(i) + m];
        }
      for (let k = 0; k < K; k++) energy[k * B + b] = part.energy[k * n + i];
      tau2[b] = part.tau2[i];
      for (let t = 0; t <= T; t++) residualNorms[t * B + b] = part.residualNorms[t * n + i];
    }
  }
  return { layout: { width: W, column: (b: number) => b * M }, z, x, energy, tau2, residualNorms };
}

/**
 * The denoiser (28)-(32) on Z_t (z [2K, W], trial b in the M columns from col0 + b M), row by
 * row over all trials (contiguous memory): writes X_{t+1} = eta(Z_t) into x (or
 * (1 - d) eta(Z_t) + d X_t with `mix` = d > 0), ||z_k||^2 into energy[k B + b], and per trial b
 * sums[b], sums[B + b], sums[2B + b] = sum_k phi_k omega_k, sum_k c_k ||z_k||^2,
 * sum_k (phi omega tau^2 + phi (1 - phi) omega^2 ||z_k||^2 / M) and, unless `weighted` is
 * undefined, trial b's [c Re Z | c Im Z; c Im Z | -c Re Z] (the [2K, 2M] block at columns
 * b 2M .. b 2M + 2M - 1 of the row-major [2K, B 2M] `weighted`;
 * c_k = phi_k (1 - phi_k) omega_k^2 / tau^2), so that [Re Z; Im Z]^T times it is
 * [Re G | Im G] with G = Z^H diag(c) Z. `inverseTau2` [B] is scratch (1 / tau^2 per trial).
 */
function denoise(
  z: RealArray,
  x: RealArray,
  W: number,
  col0: number,
  B: number,
  K: number,
  Q: number,
  M: number,
  beta: Float64Array,
  logOdds: ArrayLike<number>,
  tau2: Float64Array,
  mix: number,
  weighted: RealArray | undefined,
  energy: Float64Array,
  sums: Float64Array,
  inverseTau2: Float64Array,
): void {
  const N = K / Q;
  const twoM = 2 * M;
  const invM = 1 / M;
  sums.fill(0);
  for (let b = 0; b < B; b++) inverseTau2[b] = 1 / tau2[b];
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < B; b++) {
      const t2 = tau2[b];
      const bn = beta[n * B + b];
      const it2 = inverseTau2[b];
      const omega = bn / (bn + t2);
      const a = omega * it2; // pi = a ||z||^2 / M
      // exp(M psi) = (1 + beta / tau^2)^M by repeated squaring (no logarithm per row); where it
      // overflows, M psi itself
      const power = integerPower(1 + bn * it2, M);
      const mPsi = power < Infinity ? 0 : M * Math.log1p(bn / t2);
      const col = col0 + b * M;
      for (let q = 0; q < Q; q++) {
        const k = n * Q + q;
        const re = k * W + col;
        const im = (K + k) * W + col;
        let e = 0;
        for (let m = 0; m < M; m++) {
          const zr = z[re + m];
          const zi = z[im + m];
          e += zr * zr + zi * zi;
        }
        energy[k * B + b] = e;
        // phi = sigmoid(M (pi - psi) + log odds) = 1 / (1 + exp(M psi) exp(-(a e + log odds)))
        const phi = power < Infinity ? 1 / (1 + power * approxExp(-a * e - logOdds[k])) : 1 / (1 + approxExp(mPsi - a * e - logOdds[k]));
        const gain = phi * omega;
        const v = phi * (1 - phi) * omega * omega;
        const c = v * it2;
        sums[b] += gain;
        sums[B + b] += c * e;
        sums[2 * B + b] += gain * t2 + v * e * invM;
        if (mix > 0) {
          const g = (1 - mix) * gain;
          for (let m = 0; m < M; m++) {
            x[re + m] = g * z[re + m] + mix * x[re + m];
            x[im + m] = g * z[im + m] + mix * x[im + m];
          }
        } else {
          for (let m = 0; m < M; m++) {
            x[re + m] = gain * z[re + m];
            x[im + m] = gain * z[im + m];
          }
        }
        if (weighted === undefined) continue;
        const top = k * B * twoM + b * twoM;
        const bottom = (K + k) * B * twoM + b * twoM;
        for (let m = 0; m < M; m++) {
          const cr = c * z[re + m];
          const ci = c * z[im + m];
          weighted[top + m] = cr;
          weighted[top + M + m] = ci;
          weighted[bottom + m] = ci;
          weighted[bottom + M + m] = -cr;
        }
      }
    }
  }
}

/** x^M for an integer M >= 1, by repeated squaring. */
function integerPower(x: number, M: number): number {
  let result = 1;
  let base = x;
  for (let m = M; m > 0; m >>= 1) {
    if (m & 1) result *= base;
    base *= base;
  }
  return result;
}

/** 2^i for i = -1022 .. 1023, at index i + 1022. */
const POWERS_OF_TWO = Float64Array.from({ length: 2046 }, (_, i) => 2 ** (i - 1022));

/**
 * e^x to within 4e-10 relative (float64 arithmetic; Math.exp costs about half of the denoiser's
 * time in V8): e^x = 2^n 2^f with n = round(x log2 e), |f| <= 1/2, and 2^f = e^t, t = f ln 2,
 * |t| <= 0.347, from its Taylor polynomial of degree 8 (remainder <= e^0.347 t^9 / 9! < 3e-10).
 * 0 below -708 (e^x < 3.3e-308), Infinity from 709 (e^x > 8.2e307), NaN for NaN.
 */
export function approxExp(x: number): number {
  if (!(x < 709)) return x >= 709 ? Infinity : NaN;
  if (x < -708) return 0;
  const y = x * Math.LOG2E;
  const n = Math.floor(y + 0.5);
  const t = (y - n) * Math.LN2;
  const p = 1 + t * (1 + t * (1 / 2 + t * (1 / 6 + t * (1 / 24 + t * (1 / 120 + t * (1 / 720 + t * (1 / 5040 + t / 40320)))))));
  return p * POWERS_OF_TWO[n + 1022];
}

/** rNext = Y + b_t R for trial b's columns (the scalar Onsager term (16)). */
function scaledResidual(y: RealArray, r: RealArray, rNext: RealArray, W: number, col: number, rows: number, M: number, bt: number): void {
  for (let row = 0; row < rows; row++) {
    const o = row * W + col;
    for (let m = 0; m < M; m++) rNext[o + m] = y[o + m] + bt * r[o + m];
  }
}

/**
 * rNext = Y + (1/L) (R G + (sum_k phi_k omega_k) R) for trial b's columns: the matrix Onsager
 * term of (15), G = [Re G | Im G] ([M, 2M] row-major at gram[g0 ..]).
 */
function matrixOnsager(y: RealArray, r: RealArray, rNext: RealArray, W: number, col: number, L: number, M: number, gram: RealArray, g0: number, sumGain: number): void {
  const twoM = 2 * M;
  for (let l = 0; l < L; l++) {
    const re = l * W + col;
    const im = (L + l) * W + col;
    // (R G)_lj = sum_i r_li G_ij
    for (let j = 0; j < M; j++) {
      let sr = sumGain * r[re + j];
      let si = sumGain * r[im + j];
      for (let i = 0; i < M; i++) {
        const xr = r[re + i];
        const xi = r[im + i];
        const gr = gram[g0 + i * twoM + j];
        const gi = gram[g0 + i * twoM + M + j];
        sr += xr * gr - xi * gi;
        si += xr * gi + xi * gr;
      }
      rNext[re + j] = y[re + j] + sr / L;
      rNext[im + j] = y[im + j] + si / L;
    }
  }
}
