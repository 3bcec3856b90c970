/**
 * Keeps the C allocator from holding on to memory over a long sweep.
 *
 * Why: V8's typed arrays (the draws of every batch, tfjs' `dataSync()` copies, the host kernels'
 * workspaces) live in memory of the C allocator. glibc's malloc gives a block above its mmap
 * threshold (128 KiB at start) pages of its own, returned to the system when freed, but it raises
 * that threshold to the size of each such block freed (and the trim threshold to twice that), so
 * that after the first jobs the batch-sized arrays come from its heap instead, and jobs of other
 * shapes (another sweep point, another detector) leave that heap fragmented. The resident set of
 * a long mmv-amp sweep then grew by about 1.2 MiB per minute although nothing leaked (the V8
 * heap and the live array buffers stayed flat); with both thresholds fixed at 128 KiB the same
 * sweep stayed flat, about 20 MiB lower (runner's memory bench; 10-minute runs side by side).
 *
 * {@link fixNativeMmapThreshold} fixes them (glibc `mallopt` of M_MMAP_THRESHOLD and
 * M_TRIM_THRESHOLD, which also stops the dynamic adjustment), then hands back what the heap holds
 * free so far (`malloc_trim(0)`), once per process, through `koffi`. Only where that exists: glibc
 * on Linux. Elsewhere (musl, macOS, Windows, no koffi) it does nothing, and so it does when the
 * user set glibc's own MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_ to choose for themselves.
 * It changes where memory comes from, never a number that is computed.
 */

/** glibc's mallopt parameters (malloc.h). */
const M_TRIM_THRESHOLD = -1;
const M_MMAP_THRESHOLD = -3;
/** glibc's initial mmap threshold, kept fixed, and the trim threshold set to the same. */
export const NATIVE_THRESHOLD_BYTES = 128 * 1024;

/**
 * Fixes the thresholds for this process when `platform` is Linux, glibc is there and `env` does
 * not set them; true when it did. (Exported for tests; use {@link fixNativeMmapThreshold}.)
 */
export function applyNativeThresholds(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): boolean {
  if (platform !== 'linux' || env.MALLOC_MMAP_THRESHOLD_ !== undefined || env.MALLOC_TRIM_THRESHOLD_ !== undefined) return false;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const koffi = require('koffi') as typeof import('koffi');
    const libc = koffi.load('libc.so.6');
    const mallopt = libc.func('int mallopt(int param, int value)');
    const mallocTrim = libc.func('int malloc_trim(size_t pad)');
    const fixed = mallopt(M_MMAP_THRESHOLD, NATIVE_THRESHOLD_BYTES) === 1 && mallopt(M_TRIM_THRESHOLD, NATIVE_THRESHOLD_BYTES) === 1;
    mallocTrim(0);
    return fixed;
  } catch {
    // not glibc (no libc.so.6, or no mallopt / malloc_trim in it), or koffi cannot load here
    return false;
  }
}

let outcome: boolean | undefined;

/**
 * Fixes glibc's mmap and trim thresholds for this process (see the module comment): the first call
 * does it, later calls return the first call's outcome. True when they are now fixed.
 */
export function fixNativeMmapThreshold(): boolean {
  outcome ??= applyNativeThresholds(process.env, process.platform);
  return outcome;
}
