/**
 * The two forms of the codebook a detector may be given (see `SideInformation.codebook`): one
 * per run, [L, N*Q] complex, or one per trial, [B, L, N*Q] complex (row b = trial b of the batch;
 * an encoder with `redraw: "per-trial"`). Classical detectors accept both; detectors trained for
 * one codebook refuse the per-trial form with {@link refusePerTrialCodebook}.
 */
import type { ComplexTensor } from '@gfra/core';

/** Whether `codebook` is a per-trial codebook [B, L, N*Q] (rank 3). */
export function isPerTrialCodebook(codebook: ComplexTensor): boolean {
  return codebook.re.rank === 3;
}

/** Throws, naming the plugin and the option, when `codebook` is a per-trial codebook. */
export function refusePerTrialCodebook(codebook: ComplexTensor, plugin: string): void {
  if (isPerTrialCodebook(codebook)) {
    throw new Error(
      `redraw: "per-trial" is not supported by ${plugin} (it is built or trained for one codebook; got a per-trial codebook [${codebook.re.shape.join(', ')}]); use redraw: "per-run" in the encoder`,
    );
  }
}

/**
 * Host view of a codebook for trial-by-trial host loops: the row-major [L, K] entries of trial b
 * are `re/im.subarray(offset(b), offset(b) + L * K)` (offset 0 for every trial of a per-run
 * codebook).
 */
export interface HostCodebook {
  readonly re: Float32Array;
  readonly im: Float32Array;
  /** Columns K = N*Q. */
  readonly K: number;
  /** Start of trial b's [L, K] block. */
  offset(b: number): number;
  /** Trial b's [L, K] block (the whole array for a per-run codebook). */
  trial(b: number): { re: Float32Array; im: Float32Array };
}

/** The host arrays of a per-run or per-trial codebook (one readback each of re and im). */
export function hostCodebook(codebook: ComplexTensor): HostCodebook {
  const re = codebook.re.dataSync() as Float32Array;
  const im = codebook.im.dataSync() as Float32Array;
  const shape = codebook.re.shape;
  const K = shape[shape.length - 1] as number;
  const per = isPerTrialCodebook(codebook) ? (shape[1] as number) * K : 0;
  return {
    re,
    im,
    K,
    offset: (b) => b * per,
    trial: (b) => (per === 0 ? { re, im } : { re: re.subarray(b * per, (b + 1) * per), im: im.subarray(b * per, (b + 1) * per) }),
  };
}
