/**
 * One place that chooses how the host kernels multiply matrices: a native CBLAS (OpenBLAS, through
 * `koffi`, one BLAS thread) when it loads, else the pure JavaScript {@link gemmJs}. Both give the
 * same numbers up to floating-point rounding; neither depends on anything but its arguments.
 *
 * Environment:
 *   - GFRA_BLAS=javascript (or js): never load a native library (e.g. to compare the two paths);
 *     unset or auto: the native library where it loads; any other value is an error (a typo must
 *     not silently pick a path).
 *   - GFRA_BLAS_LIBRARY=/path/to/libcblas.so: load this CBLAS instead of searching for OpenBLAS
 *     (any library that exports cblas_sgemm and cblas_dgemm: OpenBLAS, BLIS, MKL).
 */
import { GfraUserError } from '../errors';
import { gemmJs, type RealArray } from './gemm-js';
import { DEFAULT_LIBRARIES, loadNativeBlas, type Gemm } from './native';

export { gemmJs, type RealArray } from './gemm-js';
export type { Gemm } from './native';

/** The matrix product the host kernels use (see {@link blas}). */
export interface Blas {
  /** True for a native library. */
  readonly native: boolean;
  /** What runs the products: e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH Haswell (libopenblas.so.0)", or "JavaScript". */
  readonly description: string;
  /**
   * Why there is no native library (absent when there is one, or when GFRA_BLAS=javascript asked
   * for none): what was tried, and how to install it.
   */
  readonly missing?: string;
  /** float32: C = alpha op(A) op(B) + beta C, row-major (see {@link gemmJs} for the arguments). */
  readonly sgemm: Gemm<Float32Array>;
  /** float64, as {@link Blas.sgemm}. */
  readonly dgemm: Gemm<Float64Array>;
}

/** How to get the native path, for messages. */
export const BLAS_INSTALL_HINT =
  'install OpenBLAS (Debian/Ubuntu: apt-get install libopenblas0-pthread; macOS: brew install openblas) or point GFRA_BLAS_LIBRARY at a CBLAS library';

let chosen: Blas | undefined;

/** The process's {@link Blas}, chosen on the first call (see the module comment). */
export function blas(): Blas {
  chosen ??= choose();
  return chosen;
}

function javascript(missing?: string): Blas {
  return {
    native: false,
    description: 'JavaScript',
    ...(missing !== undefined ? { missing } : {}),
    sgemm: gemmJs as Gemm<Float32Array>,
    dgemm: gemmJs as Gemm<Float64Array>,
  };
}

function choose(): Blas {
  const raw = process.env.GFRA_BLAS ?? '';
  const mode = raw.trim().toLowerCase();
  if (mode === 'javascript' || mode === 'js') return javascript();
  if (mode !== '' && mode !== 'auto') {
    throw new GfraUserError(`GFRA_BLAS=${raw} is not a known setting: use GFRA_BLAS=javascript (or js) for the JavaScript products, or leave it unset (or auto) to load OpenBLAS where it is installed`);
  }
  const explicit = process.env.GFRA_BLAS_LIBRARY?.trim();
  try {
    const lib = loadNativeBlas(explicit ? [explicit] : DEFAULT_LIBRARIES);
    return { native: true, description: `${lib.description} (${lib.library})`, sgemm: lib.sgemm, dgemm: lib.dgemm };
  } catch (e) {
    const what = explicit ? `GFRA_BLAS_LIBRARY=${explicit} could not be loaded (${(e as Error).message})` : `no OpenBLAS found (${(e as Error).message})`;
    return javascript(`${what}; the classical receivers run on the slower JavaScript path: ${BLAS_INSTALL_HINT}`);
  }
}

/** For tests: forget the choice, so the next {@link blas} call chooses again from the environment. */
export function resetBlasForTests(): void {
  chosen = undefined;
}

/**
 * C = A B for real row-major A [m, k] and B [k, n], a convenience over {@link Blas.sgemm} /
 * {@link Blas.dgemm} picked by the array type.
 */
export function matmul<T extends RealArray>(a: T, b: T, m: number, k: number, n: number): T {
  const c = (a instanceof Float64Array ? new Float64Array(m * n) : new Float32Array(m * n)) as T;
  if (a instanceof Float64Array) blas().dgemm(false, false, m, n, k, 1, a, 0, k, b as Float64Array, 0, n, 0, c as Float64Array, 0, n);
  else blas().sgemm(false, false, m, n, k, 1, a as Float32Array, 0, k, b as Float32Array, 0, n, 0, c as Float32Array, 0, n);
  return c;
}
