/**
 * The matched-filter (correlation) energy detector of {@link CorrelationEnergyDetector} on the host:
 * the same equations and decisions, in typed arrays, with the correlations S^H Y computed by the
 * {@link blas} of `@gfra/core` (OpenBLAS when it loads) and everything per sequence and per trial
 * in float64 from the float32 products.
 *
 * For every trial b and sequence k (column s_k of S in C^{L x K}, K = N Q):
 *
 *   z_k = s_k^H Y_b (M values),   e_k = ||z_k||^2 / (M ||s_k||^2 v0),
 *
 * v0 = ||Y_b||_F^2 / (L M) ("estimated") or sigma^2 ("known"); device n's score is
 * max_q e_{n Q + q} (the first q on ties), and it is declared active when the float32 score
 * exceeds the float32 threshold: a given tau, or (the midpoint rule)
 * tau_n = 1 + beta_n mean_q ||s_{n,q}||^2 / (2 v0).
 *
 * Layout of the product. With S = Sr + i Si and y_m = yr_m + i yi_m (column m of Y),
 * Re s_k^H y_m = yr_m^T sr_k + yi_m^T si_k and Im s_k^H y_m = yi_m^T sr_k - yr_m^T si_k, so one real
 * product
 *
 *   [Re Z^T; Im Z^T] = R A,   A = [Sr; Si]  ([2L, K], row-major),
 *
 * gives both, with R [2 G M, 2L] holding a chunk of G trial slots: row s M + m is
 * [yr_m^T, yi_m^T] of the trial in slot s, row G M + s M + m is [yi_m^T, -yr_m^T]. A is the
 * codebook's real and imaginary parts one after the other, and a trial's correlations are M
 * consecutive rows of the product (its re and im halves).
 *
 * Same numbers whatever the batch split: with a shared codebook the products run over fixed chunks
 * of {@link TRIALS_PER_PRODUCT} trial slots, global trial t always in slot
 * t mod TRIALS_PER_PRODUCT of its chunk (slots without a trial of this batch are zero);
 * with one codebook per trial, one product per trial. All the rest reads one trial's numbers only.
 */
import { blas } from '@gfra/core';
import { TRIALS_PER_PRODUCT } from './amp-host';
import { HostWorkspace, type HostObservation } from './host-workspace';

/** Inputs of {@link hostCorrelationEnergy}: host arrays, row-major as `dataSync()` gives them. */
export interface HostCorrelationInput extends HostObservation {
  readonly N: number;
  /** Q: sequences per device. */
  readonly Q: number;
  /** Global index of trial 0 of the batch (0 when unknown). */
  readonly firstTrial: number;
  /** sigma^2 (noise level "known"); undefined: v0 = ||Y_b||_F^2 / (L M) per trial ("estimated"). */
  readonly noiseVar?: number;
  /** A fixed tau for every device (rules "false-alarm" and "fixed"), or the midpoint rule with beta_n ([B, N]). */
  readonly threshold: { readonly rule: 'scalar'; readonly tau: number } | { readonly rule: 'midpoint'; readonly beta: ArrayLike<number> };
  /** Buffers to reuse from call to call (omitted: fresh ones). */
  readonly workspace?: HostWorkspace;
}

/** What {@link hostCorrelationEnergy} returns: fresh arrays, [B, N] row-major. */
export interface HostCorrelationOutput {
  /** max_q e_{n,q}, rounded to float32. */
  readonly score: Float32Array;
  /** 1 where score > tau (both in float32), else 0. */
  readonly activity: Float32Array;
  /** arg max_q e_{n,q} (the first on ties). */
  readonly message: Int32Array;
}

/** Normalised correlation energies, per-device maxima and threshold decisions (see the module comment). */
export function hostCorrelationEnergy(input: HostCorrelationInput): HostCorrelationOutput {
  const { B, L, M, N, Q, perTrial } = input;
  const K = N * Q;
  const ws = input.workspace ?? new HostWorkspace();
  const G = perTrial ? 1 : TRIALS_PER_PRODUCT;
  const half = G * M; // rows of each half of R and of the product
  const a = ws.take('ce a', 2 * L * K, false) as Float32Array;
  const r = ws.take('ce r', 2 * half * 2 * L, false) as Float32Array;
  const z = ws.take('ce z', 2 * half * K, false) as Float32Array;
  const norms = ws.take('ce norms', K, true);
  const meanNorm = ws.take('ce meanNorm', N, true);
  const energy = ws.take('ce energy', K, true);
  const score = new Float32Array(B * N);
  const activity = new Float32Array(B * N);
  const message = new Int32Array(B * N);
  const sgemm = blas().sgemm;
  const { yRe, yIm, sRe, sIm } = input;
  const midpoint = input.threshold.rule === 'midpoint' ? input.threshold.beta : undefined;
  const fixedTau = input.threshold.rule === 'scalar' ? Math.fround(input.threshold.tau) : NaN;

  /** A = [Sr; Si] of codebook c, with the column norms ||s_k||^2 and their means per device. */
  const loadCodebook = (c: number): void => {
    const base = c * L * K;
    for (let i = 0; i < L * K; i++) {
      a[i] = sRe[base + i];
      a[L * K + i] = sIm[base + i];
    }
    norms.fill(0);
    for (let l = 0; l < L; l++) {
      for (let k = 0; k < K; k++) {
        const re = a[l * K + k];
        const im = a[(L + l) * K + k];
        norms[k] += re * re + im * im;
      }
    }
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let q = 0; q < Q; q++) s += norms[n * Q + q];
      meanNorm[n] = s / Q;
    }
  };

  /** The decisions of trial b from slot s of the product, with v0. */
  const decide = (b: number, slot: number, v0: number): void => {
    correlationEnergies(z, slot, M, K, half, energy);
    for (let k = 0; k < K; k++) energy[k] = energy[k] / (norms[k] * M) / v0;
    for (let n = 0; n < N; n++) {
      let q = 0;
      for (let j = 1; j < Q; j++) if (energy[n * Q + j] > energy[n * Q + q]) q = j;
      const s = Math.fround(energy[n * Q + q]);
      const tau = midpoint === undefined ? fixedTau : Math.fround(1 + (midpoint[b * N + n] * meanNorm[n]) / (2 * v0));
      score[b * N + n] = s;
      activity[b * N + n] = s > tau ? 1 : 0;
      message[b * N + n] = q;
    }
  };

  const v0Of = (energyY: number): number => input.noiseVar ?? energyY / (L * M);
  const trialEnergy = ws.take('ce trialEnergy', G, true);
  if (perTrial) {
    for (let b = 0; b < B; b++) {
      loadCodebook(b);
      const energyY = loadSlot(yRe, yIm, b, L, M, 0, half, r);
      sgemm(false, false, 2 * half, K, 2 * L, 1, r, 0, 2 * L, a, 0, K, 0, z, 0, K);
      decide(b, 0, v0Of(energyY));
    }
  } else {
    loadCodebook(0);
    // chunks of G slots aligned to the global trial index: batch trial b in slot (first + b) mod G
    const offset = ((input.firstTrial % G) + G) % G;
    for (let start = -offset; start < B; start += G) {
      const from = Math.max(start, 0);
      const to = Math.min(start + G, B);
      if (to - from < G) r.fill(0);
      for (let b = from; b < to; b++) trialEnergy[b - start] = loadSlot(yRe, yIm, b, L, M, b - start, half, r);
      sgemm(false, false, 2 * half, K, 2 * L, 1, r, 0, 2 * L, a, 0, K, 0, z, 0, K);
      for (let b = from; b < to; b++) decide(b, b - start, v0Of(trialEnergy[b - start]));
    }
  }
  return { score, activity, message };
}

/**
 * Trial b of Y ([B, L, M] split re/im) into slot `slot` of R: row slot M + m = [yr_m^T, yi_m^T],
 * row half + slot M + m = [yi_m^T, -yr_m^T] (rows of 2L entries); returns ||Y_b||_F^2.
 */
function loadSlot(yRe: ArrayLike<number>, yIm: ArrayLike<number>, b: number, L: number, M: number, slot: number, half: number, r: Float32Array): number {
  let energyY = 0;
  const twoL = 2 * L;
  const base = b * L * M;
  for (let m = 0; m < M; m++) {
    const top = (slot * M + m) * twoL;
    const bottom = (half + slot * M + m) * twoL;
    for (let l = 0; l < L; l++) {
      const re = yRe[base + l * M + m];
      const im = yIm[base + l * M + m];
      r[top + l] = re;
      r[top + L + l] = im;
      r[bottom + l] = im;
      r[bottom + L + l] = -re;
      energyY += re * re + im * im;
    }
  }
  return energyY;
}

/** energy[k] = ||s_k^H Y||^2 = sum_m (Re z_km)^2 + (Im z_km)^2 for the trial in slot `slot` of the product z [2 half, K]. */
function correlationEnergies(z: Float32Array, slot: number, M: number, K: number, half: number, energy: Float64Array): void {
  energy.fill(0);
  for (let m = 0; m < M; m++) {
    const re = (slot * M + m) * K;
    const im = (half + slot * M + m) * K;
    for (let k = 0; k < K; k++) {
      const zr = z[re + k];
      const zi = z[im + k];
      energy[k] += zr * zr + zi * zi;
    }
  }
}
