/**
 * Adam's update as one WebAssembly SIMD kernel that runs on the wasm backend's own memory (it
 * imports tfjs-backend-wasm's WebAssembly.Memory), so that a step reads m, v, g and w once and
 * writes m', v' and w' once, instead of about ten tfjs kernels that each stream [P] floats through
 * memory. Per element, in this order and with float32 rounding after every operation (IEEE lane by
 * lane, as tfjs's XNNPACK kernels on WebAssembly SIMD), so the results are the same bits as the
 * tfjs formulation in `optimizers.ts`:
 *
 *   m' = m b1 + g (1 - b1)
 *   v' = v b2 + (g g) (1 - b2)
 *   w' = w - ((m' / c1) / (sqrt(v' / c2) + eps)) lr
 *
 * The module is built here, byte by byte (one exported function, no data segments, so
 * instantiating it writes nothing into tfjs's memory), and is only used where it validates and
 * instantiates; elsewhere {@link adamKernel} returns undefined and the tfjs ops run.
 */
import * as tf from '@tensorflow/tfjs';

/** Adam's update of n floats at byte offsets of the wasm backend's memory (outputs may not alias inputs). */
export type AdamKernel = (
  pointers: { m: number; v: number; g: number; w: number; mOut: number; vOut: number; wOut: number },
  n: number,
  constants: { b1: number; nb1: number; b2: number; nb2: number; c1: number; c2: number; eps: number; lr: number },
) => void;

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(s: string): number[] {
  return [...uleb(s.length), ...Array.from(Buffer.from(s, 'utf8'))];
}

// parameters: 0 m, 1 v, 2 g, 3 w, 4 mOut, 5 vOut, 6 wOut, 7 n (i32); 8 b1, 9 nb1, 10 b2, 11 nb2,
// 12 c1, 13 c2, 14 eps, 15 lr (f32). Locals: 16 i (i32), 17 end4 (i32), 18 a (i32: byte offset),
// 19-26 the constants splatted (v128), 27 mNew, 28 vNew (v128), 29 ms, 30 vs (f32).
const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const simd = (op: number) => [0xfd, ...uleb(op)];
const F32X4 = { splat: 0x13, sqrt: 0xe3, add: 0xe4, sub: 0xe5, mul: 0xe6, div: 0xe7 };
const F = { sqrt: 0x91, add: 0x92, sub: 0x93, mul: 0x94, div: 0x95 };
/** v128.load / f32.load of parameter `ptr` + the byte offset in local 18 (align hint 4 bytes). */
const loadV = (ptr: number) => [...get(ptr), ...get(18), 0x6a, ...simd(0x00), 2, 0];
const loadF = (ptr: number) => [...get(ptr), ...get(18), 0x6a, 0x2a, 2, 0];
const address = (ptr: number) => [...get(ptr), ...get(18), 0x6a];

function body(): number[] {
  const splats: number[] = [];
  for (let k = 0; k < 8; k++) splats.push(...get(8 + k), ...simd(F32X4.splat), ...set(19 + k));
  const v = (k: number) => get(19 + k); // splatted constant k (0 b1, 1 nb1, 2 b2, 3 nb2, 4 c1, 5 c2, 6 eps, 7 lr)
  const s = (k: number) => get(8 + k);
  const vectorLoop = [
    0x02, 0x40, // block
    0x03, 0x40, // loop
    ...get(16), ...get(17), 0x4f, 0x0d, 1, // br_if (i >= end4) out of the block
    ...get(16), 0x41, 2, 0x74, ...set(18), // a = i << 2
    // m' = m b1 + g nb1
    ...address(4),
    ...loadV(0), ...v(0), ...simd(F32X4.mul), ...loadV(2), ...v(1), ...simd(F32X4.mul), ...simd(F32X4.add),
    0x22, 27, // local.tee mNew
    ...simd(0x0b), 2, 0, // v128.store mOut + a
    // v' = v b2 + (g g) nb2
    ...address(5),
    ...loadV(1), ...v(2), ...simd(F32X4.mul), ...loadV(2), ...loadV(2), ...simd(F32X4.mul), ...v(3), ...simd(F32X4.mul), ...simd(F32X4.add),
    0x22, 28,
    ...simd(0x0b), 2, 0,
    // w' = w - ((m' / c1) / (sqrt(v' / c2) + eps)) lr
    ...address(6),
    ...loadV(3),
    ...get(27), ...v(4), ...simd(F32X4.div),
    ...get(28), ...v(5), ...simd(F32X4.div), ...simd(F32X4.sqrt), ...v(6), ...simd(F32X4.add),
    ...simd(F32X4.div), ...v(7), ...simd(F32X4.mul),
    ...simd(F32X4.sub),
    ...simd(0x0b), 2, 0,
    ...get(16), 0x41, 4, 0x6a, ...set(16), // i += 4
    0x0c, 0, // br loop
    0x0b, 0x0b, // end loop, end block
  ];
  const scalarLoop = [
    0x02, 0x40,
    0x03, 0x40,
    ...get(16), ...get(7), 0x4f, 0x0d, 1, // br_if (i >= n)
    ...get(16), 0x41, 2, 0x74, ...set(18),
    ...address(4),
    ...loadF(0), ...s(0), F.mul, ...loadF(2), ...s(1), F.mul, F.add,
    0x22, 29,
    0x38, 2, 0, // f32.store
    ...address(5),
    ...loadF(1), ...s(2), F.mul, ...loadF(2), ...loadF(2), F.mul, ...s(3), F.mul, F.add,
    0x22, 30,
    0x38, 2, 0,
    ...address(6),
    ...loadF(3),
    ...get(29), ...s(4), F.div,
    ...get(30), ...s(5), F.div, F.sqrt, ...s(6), F.add,
    F.div, ...s(7), F.mul,
    F.sub,
    0x38, 2, 0,
    ...get(16), 0x41, 1, 0x6a, ...set(16),
    0x0c, 0,
    0x0b, 0x0b,
  ];
  const code = [
    ...splats,
    ...get(7), 0x41, ...[0x7c], 0x71, ...set(17), // end4 = n & -4 (i32.const -4 is 0x7c in signed LEB128)
    ...vectorLoop,
    ...scalarLoop,
    0x0b, // end function
  ];
  // locals: 3 i32 (16-18), 10 v128 (19-28), 2 f32 (29-30)
  const locals = [3, ...uleb(3), I32, ...uleb(10), V128, ...uleb(2), F32];
  const fn = [...locals, ...code];
  return [...uleb(fn.length), ...fn];
}

function moduleBytes(): Uint8Array {
  const params = [...Array<number>(8).fill(I32), ...Array<number>(8).fill(F32)];
  const type = [1, 0x60, ...uleb(params.length), ...params, 0];
  const imports = [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x00]; // memory, min 0, no max
  const functions = [1, 0];
  const exports = [1, ...name('adam'), 0x00, 0];
  const code = [1, ...body()];
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...section(1, type), ...section(2, imports), ...section(3, functions), ...section(7, exports), ...section(10, code)]);
}

/** The parts of the WebAssembly API used here (this project's TypeScript libraries do not declare it). */
interface WasmApi {
  Memory: abstract new (...args: never[]) => { readonly buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let cached: { memory: object; kernel: AdamKernel } | null | undefined;

/**
 * The kernel on the current wasm backend's memory, or undefined (another backend, a tfjs whose
 * wasm module does not export its memory, a shared memory, or no WebAssembly SIMD).
 */
export function adamKernel(): AdamKernel | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const memory = (tf.backend() as unknown as { wasm?: { asm?: { memory?: unknown } } }).wasm?.asm?.memory;
  if (!(memory instanceof wasmApi.Memory) || (typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer)) return undefined;
  if (cached !== undefined && (cached === null || cached.memory === memory)) return cached?.kernel;
  try {
    const instance = new wasmApi.Instance(new wasmApi.Module(moduleBytes()), { env: { memory } });
    const adam = instance.exports.adam as (...args: number[]) => void;
    const kernel: AdamKernel = (p, n, c) => adam(p.m, p.v, p.g, p.w, p.mOut, p.vOut, p.wOut, n, c.b1, c.nb1, c.b2, c.nb2, c.c1, c.c2, c.eps, c.lr);
    cached = { memory, kernel };
    return kernel;
  } catch {
    cached = null;
    return undefined;
  }
}
