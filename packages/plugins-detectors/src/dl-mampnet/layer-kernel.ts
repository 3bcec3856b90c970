/**
 * The per-entry op of one DL-mAMPnet AMP layer (see `ampNonlinearity` in ./network) as two
 * WebAssembly SIMD kernels (`assembly/dl-mampnet.ts`): the forward pass X = v eta(Z), the Onsager
 * coefficient (v / C) sum eta'(Z) per trial, and its closed-form gradient, each in one pass over
 * the [B, M 2NQ] entries instead of about a hundred tfjs elementwise kernels.
 *
 * Numbers: per entry float32 arithmetic, operation for operation the tfjs formulation, with
 * polynomial log / exp (about 1 ulp) in place of tfjs's log1p / sigmoid, so the results agree with
 * the tfjs path to float32 rounding (not bit for bit); every sum is float64 in a fixed order, so a
 * result depends on the inputs only.
 *
 * Optional at run time: {@link layerKernel} returns undefined where WebAssembly SIMD is missing or
 * GFRA_WASM=off, and `ampNonlinearity` runs its tfjs formulation.
 */
import { instantiate, type WasmKernels } from '../algorithms/wasm';
import { WASM_BASE64 } from '../algorithms/wasm/dl-mampnet.generated';

/** The exports of `assembly/dl-mampnet.ts` (pointers are byte offsets into the module's memory). */
interface LayerWasmExports {
  forward(z: number, theta1: number, theta2: number, tau2: number, B: number, E: number, v: number, x: number, p: number, sumDer: number): void;
  backward(
    z: number,
    theta2: number,
    tau2: number,
    p: number,
    sumDer: number,
    dx: number,
    dOnsager: number,
    B: number,
    E: number,
    v: number,
    C: number,
    dz: number,
    dTheta1: number,
    dTheta2: number,
    dTau2: number,
    out: number,
  ): void;
}

/** The inputs of one layer's op, as host arrays (z [B, E] row-major, E = M 2NQ). */
export interface LayerInputs {
  readonly z: Float32Array;
  /** tau^2 per trial [B]. */
  readonly tau2: Float32Array;
  /** [E] */
  readonly theta1: Float32Array;
  /** [E], positive. */
  readonly theta2: Float32Array;
  readonly v: number;
  /** The Onsager normalisation (2LM or LM). */
  readonly C: number;
}

/** The forward pass's results. */
export interface LayerForward {
  /** X = v eta(Z) [B, E]. */
  readonly x: Float32Array;
  /** (v / C) sum_j eta'(Z)_bj per trial [B]. */
  readonly onsager: Float32Array;
  /** The posterior p [B, E] (what the gradient needs besides the inputs). */
  readonly p: Float32Array;
  /** sum_j eta'(Z)_bj per trial [B], float64. */
  readonly sumDer: Float64Array;
}

/** The gradient with respect to every input. */
export interface LayerGradient {
  readonly z: Float32Array; // [B, E]
  readonly tau2: Float32Array; // [B]
  readonly theta1: Float32Array; // [E]
  readonly theta2: Float32Array; // [E]
  readonly v: number;
}

/** The two kernels of one WebAssembly instance (one per thread). */
export class LayerKernel {
  private layout: { B: number; E: number; arrays: ReturnType<typeof layoutArrays> } | undefined;

  constructor(private readonly wasm: WasmKernels<LayerWasmExports>) {}

  /**
   * The arrays of both kernels for B trials of E entries, laid out once per shape and reused (only
   * this class lays out this instance's scratch, so the views stay valid; every call writes all of
   * its inputs, and the kernels all of their outputs).
   */
  private buffers(B: number, E: number) {
    if (this.layout === undefined || this.layout.B !== B || this.layout.E !== E) this.layout = { B, E, arrays: layoutArrays(this.wasm, B, E) };
    return this.layout.arrays;
  }

  /**
   * X, the Onsager coefficient, and what {@link backward} needs. With `into`, X and p are written
   * there (e.g. views of new tensors) instead of new arrays.
   */
  forward(inputs: LayerInputs, into?: { readonly x: Float32Array; readonly p: Float32Array }): LayerForward {
    const { z, tau2, theta1, theta2, v, C } = inputs;
    const B = tau2.length;
    const E = theta1.length;
    if (z.length !== B * E || theta2.length !== E) throw new Error(`layer kernel: z has ${z.length} entries, expected ${B} x ${E}`);
    const a = this.buffers(B, E);
    a.z.set(z);
    a.theta1.set(theta1);
    a.theta2.set(theta2);
    a.tau2.set(tau2);
    this.wasm.exports.forward(a.z.byteOffset, a.theta1.byteOffset, a.theta2.byteOffset, a.tau2.byteOffset, B, E, v, a.x.byteOffset, a.p.byteOffset, a.sumDer.byteOffset);
    const sumDer = a.sumDer.slice() as Float64Array;
    const onsager = Float32Array.from(sumDer, (s) => (v * s) / C);
    if (into === undefined) return { x: a.x.slice() as Float32Array, onsager, p: a.p.slice() as Float32Array, sumDer };
    into.x.set(a.x);
    into.p.set(a.p);
    return { x: into.x, onsager, p: into.p, sumDer };
  }

  /**
   * The gradient for upstream gradients dx [B, E] and dOnsager [B], from the forward pass's inputs
   * (theta1 is not read) and results. With `into`, dZ is written there instead of a new array.
   */
  backward(inputs: LayerInputs, saved: Pick<LayerForward, 'p' | 'sumDer'>, dx: Float32Array, dOnsager: Float32Array, into?: { readonly z: Float32Array }): LayerGradient {
    const { z, tau2, theta2, v, C } = inputs;
    const B = tau2.length;
    const E = theta2.length;
    const a = this.buffers(B, E);
    a.z.set(z);
    a.theta2.set(theta2);
    a.tau2.set(tau2);
    a.p.set(saved.p);
    a.sumDer.set(saved.sumDer);
    a.dx.set(dx);
    a.dOnsager.set(dOnsager);
    const at = (t: { byteOffset: number }) => t.byteOffset;
    this.wasm.exports.backward(at(a.z), at(a.theta2), at(a.tau2), at(a.p), at(a.sumDer), at(a.dx), at(a.dOnsager), B, E, v, C, at(a.dz), at(a.dTheta1), at(a.dTheta2), at(a.dTau2), at(a.out));
    into?.z.set(a.dz);
    return { z: into?.z ?? (a.dz.slice() as Float32Array), tau2: new Float32Array(a.dTau2), theta1: new Float32Array(a.dTheta1), theta2: new Float32Array(a.dTheta2), v: a.out[0] };
  }
}

/** The scratch arrays of both kernels for B trials of E entries (z, x, p, dx, dz [B, E]; the rest per entry or per trial). */
function layoutArrays(wasm: WasmKernels<LayerWasmExports>, B: number, E: number) {
  return wasm.scratch.arrays({
    z: [B * E, false],
    theta1: [E, false],
    theta2: [E, false],
    tau2: [B, false],
    x: [B * E, false],
    p: [B * E, false],
    sumDer: [B, true],
    dx: [B * E, false],
    dOnsager: [B, false],
    dz: [B * E, false],
    dTheta1: [E, true],
    dTheta2: [E, true],
    dTau2: [B, true],
    out: [1, true],
  });
}

let kernel: LayerKernel | null | undefined;

/** The layer kernels (one instance per thread), or undefined (see the module comment). */
export function layerKernel(): LayerKernel | undefined {
  if (kernel === undefined) {
    const wasm = instantiate<LayerWasmExports>(WASM_BASE64, {});
    kernel = wasm === null ? null : new LayerKernel(wasm);
  }
  return kernel ?? undefined;
}

/** For tests: forget the instance, so that the next call reads GFRA_WASM again. */
export function resetLayerKernelForTests(): void {
  kernel = undefined;
}
