/**
 * Loads a native CBLAS (OpenBLAS by default) through the `koffi` foreign-function interface, pinned
 * to one BLAS thread: gfra parallelises over trials with worker threads, and a multi-threaded BLAS
 * on cores that are already busy runs slower, not faster.
 */
import type { RealArray } from './gemm-js';

/** The gemm signature shared by the native and JavaScript paths (see `gemmJs`). */
export type Gemm<T extends RealArray> = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: T,
  aOff: number,
  lda: number,
  b: T,
  bOff: number,
  ldb: number,
  beta: number,
  c: T,
  cOff: number,
  ldc: number,
) => void;

/** A loaded native BLAS. */
export interface NativeBlas {
  /** The library file that was loaded. */
  readonly library: string;
  /** e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH Haswell", or the file name for another CBLAS. */
  readonly description: string;
  readonly sgemm: Gemm<Float32Array>;
  readonly dgemm: Gemm<Float64Array>;
}

/** Where to look for a CBLAS when GFRA_BLAS_LIBRARY is not set, in order. */
export const DEFAULT_LIBRARIES: readonly string[] = [
  'libopenblas.so.0',
  'libopenblas.so',
  'libopenblas.0.dylib',
  'libopenblas.dylib',
  '/opt/homebrew/opt/openblas/lib/libopenblas.dylib',
  '/usr/local/opt/openblas/lib/libopenblas.dylib',
];

const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;

/**
 * Opens the first of `candidates` that loads and exports `cblas_sgemm` and `cblas_dgemm`.
 * Throws an Error listing what was tried (and why each failed) when none does, or when `koffi`
 * itself cannot be loaded on this platform.
 */
export function loadNativeBlas(candidates: readonly string[]): NativeBlas {
  // OpenBLAS reads this when it initialises: one thread, no idle pool spinning on busy cores.
  process.env.OPENBLAS_NUM_THREADS ??= '1';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require('koffi') as typeof import('koffi');
  const failures: string[] = [];
  for (const file of candidates) {
    let lib: import('koffi').LibraryHandle;
    try {
      lib = koffi.load(file);
    } catch (e) {
      failures.push(`${file}: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    try {
      const signature = (t: string) =>
        `void cblas_${t}gemm(int, int, int, int, int, int, ${t === 's' ? 'float' : 'double'}, const ${t === 's' ? 'float' : 'double'} *, int, const ${t === 's' ? 'float' : 'double'} *, int, ${t === 's' ? 'float' : 'double'}, _Inout_ ${t === 's' ? 'float' : 'double'} *, int)`;
      const s = lib.func(signature('s'));
      const d = lib.func(signature('d'));
      const optional = (decl: string): ((...args: unknown[]) => unknown) | undefined => {
        try {
          return lib.func(decl);
        } catch {
          return undefined;
        }
      };
      optional('void openblas_set_num_threads(int)')?.(1);
      const config = optional('const char *openblas_get_config()')?.() as string | undefined;
      const core = optional('const char *openblas_get_corename()')?.() as string | undefined;
      const description = config !== undefined ? `${config.replace(/ NO_\w+| MAX_THREADS=\d+/g, '')}${core !== undefined && !config.includes(core) ? ` ${core}` : ''}` : file;
      const wrap =
        <T extends RealArray>(f: (...args: unknown[]) => unknown): Gemm<T> =>
        (transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc) => {
          if (m === 0 || n === 0) return;
          f(
            ROW_MAJOR,
            transA ? TRANS : NO_TRANS,
            transB ? TRANS : NO_TRANS,
            m,
            n,
            k,
            alpha,
            aOff === 0 ? a : a.subarray(aOff),
            lda,
            bOff === 0 ? b : b.subarray(bOff),
            ldb,
            beta,
            cOff === 0 ? c : c.subarray(cOff),
            ldc,
          );
        };
      return { library: file, description, sgemm: wrap<Float32Array>(s), dgemm: wrap<Float64Array>(d) };
    } catch (e) {
      failures.push(`${file}: loaded, but ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(failures.join('; '));
}
