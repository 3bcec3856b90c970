/**
 * The AMP iteration of {@link mmvAmp} on the host: the same algorithm, the same equations, in
 * typed arrays, with the two codebook products per iteration done by the {@link blas} of
 * `@gfra/core` (OpenBLAS when it loads), the denoiser fused into one pass over the rows of Z for
 * all trials, and the Onsager term and residual norms per trial, these three in the WebAssembly
 * kernels of `./wasm` where they load (else the JavaScript loops here, with the same bits). Not
 * differentiable: the trainable unrolled networks keep the tfjs {@link mmvAmp}.
 *
 * References as in `amp.ts`: L. Liu, W. Yu, "Massive connectivity with massive MIMO - Part I",
 * IEEE TSP 2018; equation numbers of Z. Ma, W. Wu, F. Gao, X. Shen, "Model-driven deep learning
 * for non-coherent massive machine-type communications", Sec. III-B: Z_t = X_t + S^H R_t (14),
 * the Bernoulli-Gaussian MMSE denoiser (28)-(32), the residual with the matrix Onsager term (15),
 * the scalar b_t (16), the state evolution (33)-(34).
 *
 * Layout. Matrices are real and row-major, 2M columns per trial: trial b's row holds the real
 * parts of a complex row in columns {@link HostAmpLayout.column}(b) .. + M - 1 and the imaginary
 * parts in the next M: Y [L, W], Z [K, W], X [K, W]. The complex products are real products with
 * the codebook stored once as [Re S; Im S] [2L, K]:
 *   S^H R = [Re S; Im S]^T [R; R j^-1]   ([K, 2L] times the residual augmented with
 *                                          R j^-1 = [Im R | -Re R], [2L, W]),
 *   S X from T = [Re S; Im S] X = [[Re S Re X | Re S Im X]; [Im S Re X | Im S Im X]] ([2L, K]
 *        times [K, W]) as Re(S X) = Re S Re X - Im S Im X, Im(S X) = Re S Im X + Im S Re X,
 * so that a product per trial has 2M columns (not the M of the stacked form
 * [[Re S, -Im S], [Im S, Re S]], which BLAS runs far less efficiently) and reads the codebook once.
 * The residual pass combines T and writes the lower half of the augmented R.
 *
 * Same numbers whatever the batch split: a BLAS product's rounding depends on the matrix sizes and
 * on an entry's position in them. With a shared codebook the products therefore run over fixed
 * chunks of G = {@link ampTrialsPerProduct}(M) trial slots, and global trial t always sits in slot
 * t mod G of its chunk (the columns of slots without a trial of this batch are
 * zero and stay zero); with one codebook per trial, each trial has its own products (and runs all
 * its iterations, with those of the few other trials of its sub-batch, before the next ones).
 * Everything else is computed per trial from that
 * trial's numbers only: in float64, except F = [Re Z | Im Z]^T diag(c) [Re Z | Im Z] of the
 * Onsager term (one float32 BLAS product per trial, float64 with `precision`) and the combination
 * of T into R (float32 storage arithmetic).
 */
import { blas, type Gemm, type RealArray } from '@gfra/core';
import { approxExp } from './approx-math';
import { HostWorkspace, type HostObservation } from './host-workspace';
import { ampWasm, type ArraySpec } from './wasm';

/**
 * Trials per shared-codebook product of the group-lasso and correlation-energy host kernels (see
 * {@link ampTrialsPerProduct} for AMP's).
 */
export const TRIALS_PER_PRODUCT = 8;

/**
 * Trials per shared-codebook product of {@link hostMmvAmp}: floor(32 / M), at least 1, so that a
 * product has about 64 columns (2M per trial). Fixed by the scenario, never by the batch. On the
 * 2-core machine gfra was tuned on (OpenBLAS 0.3.21, its Cooperlake kernels), an iteration's two
 * products at L = 30, K = 200 over 112 trial slots took, against chunks of 16:
 *   M = 4, chunks of 8 (64 columns): 0.83 to 0.91 times as long (chunks of 4: 0.88 to 1.06; one
 *          product of all 112: 0.93 to 0.98); the whole detector ran 1.00 to 1.10 times as fast
 *          at (M, L) = (4, 30), (8, 30), (4, 40), batches of 100;
 *   M = 8, chunks of 4 (64 columns): 0.79 to 0.82 times as long as chunks of 8 (0.79 to 0.85 of 16);
 *          the whole detector (L = 30, batches of 100), 8 runs alternated with chunks of 8:
 *          1.06 times as fast (median; 0.82 to 1.61, the machine was noisy);
 *   M = 2 and M = 16: within 10 % of each other from 16 to 256 columns.
 * Small chunks also pad less: a batch of 100 trials takes 104 slots at M = 4 (16: 112).
 */
export function ampTrialsPerProduct(M: number): number {
  return Math.max(1, Math.floor(32 / M));
}

/**
 * Trials per sub-batch with one codebook per trial (see `bySubBatches`): four trials' codebooks
 * (4 x 2L K floats: 190 KiB at L = 30, K = 200) stay in a core's L2 cache, and the elementwise
 * kernels then run over two pairs of trials per call. Measured at N = 200, L = 30, M = 4: 0.93 to
 * 0.96 times the CPU time of one trial per sub-batch (2: 1.03, 8 and 16: no better than 4).
 */
export const TRIALS_PER_SUB_BATCH = 4;

/** Where each trial's columns are in the stacked matrices of {@link hostMmvAmp}. */
export interface HostAmpLayout {
  /** W: columns of every matrix (slots x 2M). */
  readonly width: number;
  /** First column of trial b: Re of its M antennas, then Im of them. */
  column(b: number): number;
}

/** Inputs of {@link hostMmvAmp} (host arrays, row-major as `dataSync()` gives them). */
export interface HostAmpInput extends HostObservation {
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
  readonly workspace?: HostWorkspace;
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
  /**
   * Called after iteration t with Z_t [K, W], tau_t^2 ([B]) and X_{t+1} [K, W] (overwritten
   * afterwards: copy what you keep).
   */
  readonly observe?: (t: number, z: RealArray, tau2: Float64Array, x: RealArray, layout: HostAmpLayout) => void;
}

/** What {@link hostMmvAmp} returns. */
export interface HostAmpState {
  readonly layout: HostAmpLayout;
  /** [K, W] the last denoiser input Z_{T-1} (see the module comment for the layout). */
  readonly z: RealArray;
  /** [K, W] the last estimate X_T. */
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
  // one codebook per trial: a few trials at a time (each trial's products are its own either way)
  const G = TRIALS_PER_SUB_BATCH;
  if (input.perTrial && input.B > G && options.observe === undefined) {
    return bySubBatches(input, options, Array.from({ length: Math.ceil(input.B / G) }, (_, i) => [i * G, Math.min(input.B, (i + 1) * G)] as const));
  }
  return iterate(input, options);
}

/** {@link hostMmvAmp} on the whole batch at once. */
function iterate(input: HostAmpInput, options: HostAmpOptions): HostAmpState {
  const { B, L, M, K, Q, perTrial } = input;
  const N = K / Q;
  const T = options.iterations;
  const damping = options.damping;
  if (!(damping >= 0 && damping < 1)) throw new Error(`AMP damping must be in [0, 1) (got ${damping}); 0 disables damping`);
  const se = options.noise.estimate === 'state-evolution';
  const scalarOnsager = options.onsager === 'scalar';
  const double = input.precision === 'float64';
  const ws = input.workspace ?? new HostWorkspace();
  const gemm = (double ? blas().dgemm : blas().sgemm) as Gemm<RealArray>;
  const kernels = !double && input.wasm !== false ? ampWasm() : undefined;

  // Column layout: shared codebook, slots in chunks aligned to the global trial index; per trial, packed.
  const G = ampTrialsPerProduct(M);
  const P = 2 * M; // columns per trial: [Re | Im]
  const offset = perTrial ? 0 : input.firstTrial % G;
  const slots = perTrial ? B : Math.ceil((offset + B) / G) * G;
  const W = slots * P;
  const column = (b: number) => (offset + b) * P;
  const layout: HostAmpLayout = { width: W, column };
  const twoL = 2 * L;
  const books = perTrial ? B : 1;

  // Every array of the iteration: in the WebAssembly kernels' memory when they run (the results
  // are copied to the workspace at the end), else in the workspace.
  const spec = {
    // [Re S; Im S] [2L, K] per codebook (one, or one per trial)
    sStacked: [books * twoL * K, double],
    y: [L * W, double],
    // R, augmented: [R; R j^-1] = [[Re R | Im R]; [Im R | -Re R]] [2L, W]
    r: [twoL * W, double],
    rNext: [twoL * W, double],
    z: [K * W, double],
    x: [K * W, double],
    // T = [Re S; Im S] X [2L, W]
    t: [twoL * W, double],
    residualNorms: [(T + 1) * B, true],
    tau: [B, true],
    energy: [K * B, true],
    // beta_n per device, all trials side by side: [N, B]
    betaByDevice: [N * B, true],
    logOdds: [K, true],
    tauUsed: [B, true],
    // [3, B]: sum_k phi omega, sum_k c ||z_k||^2, the state-evolution sum of (34)
    sums: [3 * B, true],
    inverseTau2: [B, true],
    // the WebAssembly denoiser's gains and weights of a device's rows (or of a trial's)
    scales: [kernels !== undefined ? 2 * Math.max(K, Q * B) : 0, true],
    // matrix Onsager: c_k [Re z_k | Im z_k] per trial, side by side in a [K, B 2M] matrix, and
    // F = [Re Z | Im Z]^T diag(c) [Re Z | Im Z] [2M, 2M] per trial (G = Z^H diag(c) Z from it)
    weighted: [scalarOnsager ? 0 : K * B * P, double],
    gram: [B * P * P, double],
    // G = Z^H diag(c) Z of one trial from its F: [Re G; Im G] [2, M, M]
    onsagerGram: [scalarOnsager ? 0 : 2 * M * M, true],
  } as const satisfies ArraySpec;
  const buf = kernels !== undefined ? kernels.scratch.arrays(spec) : ws.arrays(spec);
  const { sStacked, y, t: sx, residualNorms, tau, energy, betaByDevice, logOdds, tauUsed, sums, inverseTau2, gram, onsagerGram } = buf;
  const weighted = scalarOnsager ? undefined : buf.weighted;
  let { r, rNext, z, x } = buf;

  // codebook c [L, K]: Re S as rows 0 .. L - 1 and Im S as rows L .. 2L - 1 of [Re S; Im S]
  const block = (v: ArrayLike<number>, from: number): ArrayLike<number> => (ArrayBuffer.isView(v) ? (v as Float32Array).subarray(from, from + L * K) : Array.prototype.slice.call(v, from, from + L * K));
  for (let c = 0; c < books; c++) {
    sStacked.set(block(input.sRe, c * L * K), c * twoL * K);
    sStacked.set(block(input.sIm, c * L * K), c * twoL * K + L * K);
  }
  for (let b = 0; b < B; b++) {
    const col = column(b);
    for (let l = 0; l < L; l++)
      for (let m = 0; m < M; m++) {
        y[l * W + col + m] = input.yRe[(b * L + l) * M + m];
        y[l * W + col + M + m] = input.yIm[(b * L + l) * M + m];
      }
  }
  r.set(y);
  for (let k = 0; k < K; k++) logOdds[k] = input.logOdds[k];
  for (let b = 0; b < B; b++) for (let n = 0; n < N; n++) betaByDevice[n * B + b] = input.beta[b * N + n];

  const at = (v: RealArray | undefined): number => (v === undefined ? 0 : v.byteOffset);
  /**
   * Z = X + S^H R (14) = X + [Re S; Im S]^T [R; R j^-1] (toZ), or T = [Re S; Im S] X (S X of (15),
   * subtracted by finishResidual): over fixed chunks (shared) or per trial.
   */
  // The products' operands as views from their first entry, made once per call: a native BLAS
  // call with an offset would make three views per call, thousands per batch, for the collector.
  const views = new Map<RealArray, Map<number, RealArray>>();
  const from = (v: RealArray, offset: number): RealArray => {
    let byOffset = views.get(v);
    if (byOffset === undefined) views.set(v, (byOffset = new Map()));
    let view = byOffset.get(offset);
    if (view === undefined) byOffset.set(offset, (view = offset === 0 ? v : v.subarray(offset)));
    return view;
  };
  // [first entry of the codebook, first column, columns] of each product
  const spans = perTrial ? Array.from({ length: B }, (_, b) => [b * twoL * K, column(b), P] as const) : Array.from({ length: W / (G * P) }, (_, c) => [0, c * G * P, G * P] as const);
  const product = (toZ: boolean): void => {
    for (const [s0, c0, n] of spans) {
      if (toZ) gemm(true, false, K, n, twoL, 1, from(sStacked, s0), 0, K, from(r, c0), 0, W, 1, from(z, c0), 0, W);
      else gemm(false, false, twoL, n, K, 1, from(sStacked, s0), 0, K, from(x, c0), 0, W, 0, from(sx, c0), 0, W);
    }
  };
  /**
   * R (15) = R_next - S X from T = [Re S; Im S] X (none at t = 0, R_0 = Y), then
   * residualNorms[t B + b] = ||R_b||_F^2 of every trial and the lower half of the augmented R.
   */
  const finishResidual = (t: number): void => {
    if (kernels !== undefined) kernels.exports.finishResidual(at(r), t > 0 ? at(sx) : 0, W, column(0), B, L, M, at(residualNorms) + 8 * t * B);
    else for (let b = 0; b < B; b++) residualNorms[t * B + b] = finishTrialResidual(r, t > 0 ? sx : undefined, W, column(b), L, M);
  };
  finishResidual(0);

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
    // Z_t = X_t + S^H R_t (14), the product added onto X_t: onto X_t's own buffer without damping
    // (X_t is not read again; X_{t+1} then goes to the other buffer), onto a copy with damping
    if (damping > 0) z.set(x);
    else [z, x] = [x, z];
    product(true);
    for (let b = 0; b < B; b++) tauUsed[b] = t === 0 || se ? tau[b] : residualNorms[t * B + b] / (L * M);
    const mix = damping > 0 && t > 0 ? damping : 0;
    if (kernels === undefined) denoise(z, x, W, column(0), B, K, Q, M, betaByDevice, logOdds, tauUsed, mix, weighted, energy, sums, inverseTau2);
    else kernels.exports.denoise(at(z), at(x), W, column(0), B, K, Q, M, at(betaByDevice), at(logOdds), at(tauUsed), mix, at(weighted), at(energy), at(sums), at(inverseTau2), at(buf.scales));
    // F_b = [Re Z_b | Im Z_b]^T weighted_b, one product per trial
    if (weighted !== undefined) for (let b = 0; b < B; b++) gemm(true, false, P, P, K, 1, from(z, column(b)), 0, W, from(weighted, b * P), 0, B * P, 0, from(gram, b * P * P), 0, P);
    if (se) for (let b = 0; b < B; b++) tau[b] = noiseVar + sums[2 * B + b] / L; // (34)
    // R_next = Y + onsager, then (below) - S X_{t+1}   (15)
    if (kernels !== undefined) kernels.exports.onsager(at(y), at(r), at(rNext), W, column(0), B, L, M, at(gram), weighted !== undefined, at(sums), at(onsagerGram));
    else
      for (let b = 0; b < B; b++) {
        if (weighted === undefined) scaledResidual(y, r, rNext, W, column(b), L, M, (sums[b] + sums[B + b] / M) / L); // b_t of (16)
        else matrixOnsager(y, r, rNext, W, column(b), L, M, gram, P * P * b, sums[b], onsagerGram);
      }
    product(false); // R_{t+1} = Y + onsager - S X_{t+1}   (15)
    [r, rNext] = [rNext, r];
    finishResidual(t + 1);
    options.observe?.(t, z, tauUsed, x, layout);
  }
  if (kernels === undefined) return { layout, z, x, energy, tau2: tauUsed, residualNorms };
  // the kernels' memory is scratch: the results move to the workspace
  const out = ws.arrays({ z: [K * W, false], x: [K * W, false], energy: [energy.length, true], tau2: [B, true], residualNorms: [residualNorms.length, true] });
  out.z.set(z);
  out.x.set(x);
  out.energy.set(energy);
  out.tau2.set(tauUsed);
  out.residualNorms.set(residualNorms);
  return { layout, ...out };
}

/**
 * {@link iterate} on consecutive sub-batches `ranges` ([from, to) trial indices of the batch),
 * all T iterations of one before the next, merged into one packed layout (trial b at column b 2M).
 * Used with one codebook per trial, {@link TRIALS_PER_SUB_BATCH} trials per sub-batch: their
 * codebooks and state stay in cache, where the batch-wide iteration streams every trial's codebook
 * from memory twice per iteration (measured with one trial per sub-batch: 0.65 to 0.77 times the
 * CPU time at N = 200, L = 30, M = 4, B = 100). Every product and every per-trial operation is the
 * batch-wide iteration's, on the same numbers.
 */
function bySubBatches(input: HostAmpInput, options: HostAmpOptions, ranges: readonly (readonly [number, number])[]): HostAmpState {
  const { B, L, M, K } = input;
  const N = K / input.Q;
  const T = options.iterations;
  const P = 2 * M;
  const W = B * P;
  const double = input.precision === 'float64';
  // the sub-batches share the buffers (each is copied out before the next runs)
  const ws = input.workspace ?? new HostWorkspace();
  const z = ws.take('merged z', K * W, double);
  const x = ws.take('merged x', K * W, double);
  const energy = ws.take('merged energy', K * B, true);
  const tau2 = ws.take('merged tau2', B, true);
  const residualNorms = ws.take('merged residualNorms', (T + 1) * B, true);
  const slice = (v: ArrayLike<number>, from: number, to: number, per: number): ArrayLike<number> =>
    ArrayBuffer.isView(v) ? (v as Float32Array).subarray(from * per, to * per) : Array.prototype.slice.call(v, from * per, to * per);
  for (const [from, to] of ranges) {
    const n = to - from;
    const part = iterate(
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
    const { layout, z: partZ, x: partX, energy: partEnergy, residualNorms: partNorms } = part;
    const width = layout.width;
    for (let i = 0; i < n; i++) {
      const b = from + i;
      const col = layout.column(i);
      for (let k = 0; k < K; k++) {
        const src = k * width + col;
        const dst = k * W + b * P;
        for (let p = 0; p < P; p++) {
          z[dst + p] = partZ[src + p];
          x[dst + p] = partX[src + p];
        }
      }
      for (let k = 0; k < K; k++) energy[k * B + b] = partEnergy[k * n + i];
      tau2[b] = part.tau2[i];
      for (let t = 0; t <= T; t++) residualNorms[t * B + b] = partNorms[t * n + i];
    }
  }
  return { layout: { width: W, column: (b: number) => b * P }, z, x, energy, tau2, residualNorms };
}

/**
 * The denoiser (28)-(32) on Z_t (z [K, W]; row k of trial b: Re z_k at columns col0 + b 2M ..
 * + M - 1, Im z_k at the next M), row by row over all trials (contiguous memory): writes
 * X_{t+1} = eta(Z_t) (or (1 - d) eta(Z_t) + d X_t with `mix` = d > 0) into x [K, W] (row k:
 * [Re | Im] x_k, as z), ||z_k||^2 into energy[k B + b],
 * and per trial b sums[b], sums[B + b], sums[2B + b] = sum_k phi_k omega_k,
 * sum_k c_k ||z_k||^2, sum_k (phi omega tau^2 + phi (1 - phi) omega^2 ||z_k||^2 / M) and, unless
 * `weighted` is undefined, c_k [Re z_k | Im z_k] at columns b 2M .. b 2M + 2M - 1 of row k of the
 * row-major [K, B 2M] `weighted` (c_k = phi_k (1 - phi_k) omega_k^2 / tau^2), so that
 * [Re Z | Im Z]^T times it is F with G = Z^H diag(c) Z = F_11 + F_22 + j (F_12 - F_21).
 * `inverseTau2` [B] is scratch (1 / tau^2 per trial).
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
  const P = 2 * M;
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
      const col = col0 + b * P;
      for (let q = 0; q < Q; q++) {
        const k = n * Q + q;
        const re = k * W + col;
        const im = re + M;
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
        const g = mix > 0 ? (1 - mix) * gain : gain;
        for (let m = 0; m < M; m++) {
          x[re + m] = mix > 0 ? g * z[re + m] + mix * x[re + m] : g * z[re + m];
          x[im + m] = mix > 0 ? g * z[im + m] + mix * x[im + m] : g * z[im + m];
        }
        if (weighted === undefined) continue;
        const w = k * B * P + b * P;
        for (let m = 0; m < M; m++) {
          weighted[w + m] = c * z[re + m];
          weighted[w + M + m] = c * z[im + m];
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

/** rNext = Y + b_t R for the columns [Re | Im] of the trial at `col` (the scalar Onsager term (16)). */
function scaledResidual(y: RealArray, r: RealArray, rNext: RealArray, W: number, col: number, L: number, M: number, bt: number): void {
  for (let l = 0; l < L; l++) {
    const o = l * W + col;
    for (let p = 0; p < 2 * M; p++) rNext[o + p] = y[o + p] + bt * r[o + p];
  }
}

/**
 * rNext = Y + (1/L) (R G + (sum_k phi_k omega_k) R) for the columns [Re | Im] of the trial at
 * `col`: the matrix Onsager term of (15), with G = F_11 + F_22 + j (F_12 - F_21) from the trial's
 * F = [Re Z | Im Z]^T diag(c) [Re Z | Im Z] ([2M, 2M] row-major at gram[g0 ..]), formed once into
 * g ([Re G; Im G] [2, M, M]).
 */
function matrixOnsager(y: RealArray, r: RealArray, rNext: RealArray, W: number, col: number, L: number, M: number, gram: RealArray, g0: number, sumGain: number, g: Float64Array): void {
  const P = 2 * M;
  const MM = M * M;
  for (let i = 0; i < M; i++)
    for (let j = 0; j < M; j++) {
      g[i * M + j] = gram[g0 + i * P + j] + gram[g0 + (M + i) * P + M + j];
      g[MM + i * M + j] = gram[g0 + i * P + M + j] - gram[g0 + (M + i) * P + j];
    }
  for (let l = 0; l < L; l++) {
    const re = l * W + col;
    const im = re + M;
    // (R G)_lj = sum_i r_li G_ij
    for (let j = 0; j < M; j++) {
      let sr = sumGain * r[re + j];
      let si = sumGain * r[im + j];
      for (let i = 0; i < M; i++) {
        const xr = r[re + i];
        const xi = r[im + i];
        const gr = g[i * M + j];
        const gi = g[MM + i * M + j];
        sr += xr * gr - xi * gi;
        si += xr * gi + xi * gr;
      }
      rNext[re + j] = y[re + j] + sr / L;
      rNext[im + j] = y[im + j] + si / L;
    }
  }
}

/**
 * The trial at `col` of the augmented r [2L, W]: with T = [Re S; Im S] X (t [2L, W]; undefined:
 * none), first Re r_l -= (Re S Re X - Im S Im X)_l, Im r_l -= (Re S Im X + Im S Re X)_l (r held
 * Y + onsager: now R of (15); in float32 storage each difference and sum is rounded to float32, as
 * the WebAssembly kernel's float32 lanes do); then ||R||_F^2 (summed over rows, then columns
 * [Re | Im], in order), returned, after writing the lower half: row L + l = [Im r_l | -Re r_l].
 */
function finishTrialResidual(r: RealArray, t: RealArray | undefined, W: number, col: number, L: number, M: number): number {
  const round = r instanceof Float32Array ? Math.fround : (v: number) => v;
  let s = 0;
  for (let l = 0; l < L; l++) {
    const o = l * W + col;
    const lower = (L + l) * W + col;
    if (t !== undefined)
      for (let m = 0; m < M; m++) {
        r[o + m] -= round(t[o + m] - t[lower + M + m]);
        r[o + M + m] -= round(t[o + M + m] + t[lower + m]);
      }
    for (let p = 0; p < 2 * M; p++) s += r[o + p] * r[o + p];
    for (let m = 0; m < M; m++) {
      r[lower + m] = r[o + M + m];
      r[lower + M + m] = -r[o + m];
    }
  }
  return s;
}
