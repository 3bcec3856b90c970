import type { RealArray } from '@gfra/core';
import type { Arrays, ArraySpec } from './wasm';

/**
 * Buffers that a host kernel (`hostMmvAmp` and the others in this folder) reuses from one
 * call to the next (a detector keeps one): without it every call allocates its state afresh,
 * megabytes per batch, and the garbage collector's threads then take a good part of a core from
 * the other workers. The arrays a call returns belong to the workspace and are overwritten by the
 * next call that uses it.
 */
export class HostWorkspace {
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

  /** {@link HostWorkspace.take} for every entry of `spec` (name -> [length, float64?]). */
  arrays<S extends ArraySpec>(spec: S): Arrays<S> {
    const out: Record<string, RealArray> = {};
    for (const [name, [length, double]] of Object.entries(spec)) out[name] = this.take(name, length, double);
    return out as Arrays<S>;
  }
}

/**
 * The observation every pilot-based host kernel reads (host arrays, row-major as `dataSync()`
 * gives them): Y and the codebook S with K columns (the kernel's own input names K: N Q, or N).
 */
export interface HostObservation {
  /** [B, L, M]: real and imaginary parts of Y. */
  readonly yRe: ArrayLike<number>;
  readonly yIm: ArrayLike<number>;
  /** [L, K] (shared) or [B, L, K] (one codebook per trial, with `perTrial`); column n Q + q of device n's sequence q. */
  readonly sRe: ArrayLike<number>;
  readonly sIm: ArrayLike<number>;
  readonly perTrial: boolean;
  readonly B: number;
  readonly L: number;
  readonly M: number;
}
