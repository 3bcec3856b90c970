/**
 * The WebAssembly kernels of the host receivers (compiled from `assembly/*.ts`, AssemblyScript with
 * 128-bit SIMD) and the scratch memory they work in.
 *
 * Why: the elementwise passes of the host kernels (the AMP denoiser, Onsager term and residual
 * norms; the covariance coordinate steps; the SCMA message passing) are scalar JavaScript loops
 * otherwise; the same loops in WebAssembly, with SIMD where they allow it, run several times faster
 * and give the same bits (each kernel repeats its JavaScript loop operation for operation in
 * float64; see `assembly/amp.ts`, `assembly/covariance.ts`, `assembly/mpa.ts`). DL-mAMPnet's layer
 * kernel (`assembly/dl-mampnet.ts`, loaded by `dl-mampnet/layer-kernel.ts`) uses
 * {@link instantiate} too.
 *
 * Optional at run time: where WebAssembly SIMD is missing (it is in every Node >= 16.4), or with
 * GFRA_WASM=off, {@link ampWasm}, {@link covarianceWasm} and {@link mpaWasm} return undefined and
 * the JavaScript loops run.
 */
import { GfraUserError, type RealArray } from '@gfra/core';
import { WASM_BASE64 as AMP_WASM } from './amp.generated';
import { WASM_BASE64 as COVARIANCE_WASM } from './covariance.generated';
import { WASM_BASE64 as MPA_WASM } from './mpa.generated';

/** The exports of `assembly/amp.ts` (pointers are byte offsets into {@link WasmScratch}'s memory). */
export interface AmpWasmExports {
  denoise(
    z: number,
    x: number,
    W: number,
    col0: number,
    B: number,
    K: number,
    Q: number,
    M: number,
    beta: number,
    logOdds: number,
    tau2: number,
    mix: number,
    weighted: number,
    energy: number,
    sums: number,
    inverseTau2: number,
    scales: number,
  ): void;
  onsager(y: number, r: number, rNext: number, W: number, col0: number, B: number, L: number, M: number, gram: number, matrix: boolean, sums: number, work: number): void;
  finishResidual(r: number, t: number, W: number, col0: number, B: number, L: number, M: number, out: number): void;
}

/**
 * The exports of `assembly/covariance.ts` (pointers are byte offsets into {@link WasmScratch}'s
 * memory; complex arrays interleaved float64, Hermitian matrices by their upper triangle).
 */
export interface CovarianceWasmExports {
  sweep(columns: number, w: number, cov: number, yAdjoint: number, gamma: number, prior: number, order: number, count: number, L: number, M: number, work: number): void;
  lassoGram(columns: number, L: number, N: number, gram: number, work: number): void;
  lassoCorrelations(columns: number, z: number, yAdjoint: number, L: number, N: number, M: number, noise: number, c: number, work: number): void;
  lassoSweeps(g: number, q: number, r: number, N: number, lambda: number, sweeps: number): void;
}

/** The exports of `assembly/mpa.ts` (pointers are byte offsets into {@link WasmScratch}'s memory; index tables i32). */
export interface MpaWasmExports {
  mpaMessages(
    maxLog: boolean,
    B: number,
    N: number,
    L: number,
    M: number,
    Q: number,
    d: number,
    T: number,
    scale: number,
    slotIndex: number,
    groups: number,
    edgeChannel: number,
    edgeStart: number,
    edgeList: number,
    codeRe: number,
    codeIm: number,
    yRe: number,
    yIm: number,
    hRe: number,
    hIm: number,
    /** [L, C] log-prior of the joint hypotheses (per-device bits), or 0: none. */
    prior: number,
    toUserOut: number,
    work: number,
  ): void;
}

/** What {@link WasmScratch.arrays} lays out: name -> [length, float64?]. */
export type ArraySpec = Readonly<Record<string, readonly [number, boolean]>>;
/** The arrays of an {@link ArraySpec}, zero-filled. */
export type Arrays<S extends ArraySpec> = { [K in keyof S]: S[K][1] extends true ? Float64Array : RealArray };

/** The parts of the WebAssembly API used here (this project's TypeScript libraries do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
}

/** Offset of the first array: 0 stays free, so that a kernel can read pointer 0 as "none". */
const FIRST = 64;
const ALIGN = 64;
const PAGE = 65536;

/**
 * The kernels' linear memory, handed out to one call at a time: {@link WasmScratch.arrays} lays
 * out every array the call needs at once (growing the memory once, which detaches earlier views),
 * and the arrays stay valid until the next `arrays` call. A kernel's caller copies out what it
 * returns.
 */
export class WasmScratch {
  constructor(private readonly memory: WasmMemory) {}

  /** Arrays of `spec`, zero-filled, in this memory (every earlier array of this scratch is invalid from now on). */
  arrays<S extends ArraySpec>(spec: S): Arrays<S> {
    const offsets: number[] = [];
    let top = FIRST;
    for (const [length, double] of Object.values(spec)) {
      offsets.push(top);
      top += Math.ceil((length * (double ? 8 : 4)) / ALIGN) * ALIGN;
    }
    const have = this.memory.buffer.byteLength;
    if (top > have) this.memory.grow(Math.ceil((top - have) / PAGE));
    const buffer = this.memory.buffer;
    const out: Record<string, RealArray> = {};
    Object.entries(spec).forEach(([name, [length, double]], i) => {
      const view = double ? new Float64Array(buffer, offsets[i], length) : new Float32Array(buffer, offsets[i], length);
      view.fill(0);
      out[name] = view;
    });
    return out as Arrays<S>;
  }
}

/** An instantiated kernel module with its scratch memory. */
export interface WasmKernels<E> {
  readonly exports: E;
  readonly scratch: WasmScratch;
}

let amp: WasmKernels<AmpWasmExports> | null | undefined;

/** The AMP kernels of `assembly/amp.ts` (one instance per thread), or undefined (see the module comment). */
export function ampWasm(): WasmKernels<AmpWasmExports> | undefined {
  if (amp === undefined) amp = instantiate<AmpWasmExports>(AMP_WASM, { js: { log1p: Math.log1p } });
  return amp ?? undefined;
}

let covariance: WasmKernels<CovarianceWasmExports> | null | undefined;

/** The covariance coordinate-descent kernels of `assembly/covariance.ts` (one instance per thread), or undefined (see the module comment). */
export function covarianceWasm(): WasmKernels<CovarianceWasmExports> | undefined {
  if (covariance === undefined) covariance = instantiate<CovarianceWasmExports>(COVARIANCE_WASM, {});
  return covariance ?? undefined;
}

let mpa: WasmKernels<MpaWasmExports> | null | undefined;

/** The SCMA message-passing kernel of `assembly/mpa.ts` (one instance per thread), or undefined (see the module comment). */
export function mpaWasm(): WasmKernels<MpaWasmExports> | undefined {
  if (mpa === undefined) mpa = instantiate<MpaWasmExports>(MPA_WASM, {});
  return mpa ?? undefined;
}

/** Whether the WebAssembly kernels run here ("WebAssembly SIMD"), or why not. */
export function wasmDescription(): string {
  if (wasmDisabled()) return 'off (GFRA_WASM=off)';
  return ampWasm() !== undefined ? 'WebAssembly SIMD' : 'unavailable (this runtime has no WebAssembly SIMD)';
}

/**
 * GFRA_WASM: off, 0 or false turn the kernels off; unset, on, 1, true or auto leave them on; any
 * other value is an error (a typo must not silently pick a path).
 */
function wasmDisabled(): boolean {
  const raw = process.env.GFRA_WASM ?? '';
  const mode = raw.trim().toLowerCase();
  if (mode === 'off' || mode === '0' || mode === 'false') return true;
  if (mode === '' || mode === 'on' || mode === '1' || mode === 'true' || mode === 'auto') return false;
  throw new GfraUserError(`GFRA_WASM=${raw} is not a known setting: use GFRA_WASM=off to run the JavaScript loops instead of the WebAssembly kernels, or leave it unset (or on)`);
}

/**
 * A kernel module from its base64 bytes (a `*.generated.ts` of this folder) with its own scratch
 * memory, or null where WebAssembly SIMD is missing or GFRA_WASM=off. Each caller keeps its own
 * instance (one per thread) and treats null as "run the JavaScript loops".
 */
export function instantiate<E>(base64: string, imports: Record<string, Record<string, unknown>>): WasmKernels<E> | null {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (wasmDisabled() || api === undefined) return null;
  const bytes = Buffer.from(base64, 'base64');
  if (!api.validate(bytes)) return null;
  const instance = new api.Instance(new api.Module(bytes), imports);
  const { memory, ...exports } = instance.exports as unknown as { memory: WasmMemory } & E;
  return { exports: exports as unknown as E, scratch: new WasmScratch(memory) };
}

/** For tests: forget the instance, so that the next call reads GFRA_WASM again. */
export function resetWasmForTests(): void {
  amp = undefined;
  covariance = undefined;
  mpa = undefined;
}
