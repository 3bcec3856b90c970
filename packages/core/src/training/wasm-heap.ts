/**
 * Host access to the float32 tensors of the wasm backend without copying them: a tensor's values
 * live in the backend's WebAssembly memory, and a Float32Array view of that memory can be given
 * to the host BLAS (koffi passes the view's address) or read and written by JavaScript loops.
 *
 * Views are valid until the WebAssembly memory grows (growing detaches the old buffer), i.e. until
 * the next tensor is allocated: allocate every output with {@link heapTensor} first, then take
 * the views, then run the host code, which must not create tensors in between.
 *
 * This uses internals of @tensorflow/tfjs-backend-wasm 4.22 (`dataIdMap`, `makeOutput`,
 * `wasm.HEAPU8`); {@link heapAccess} returns undefined where they are not there (another backend,
 * another tfjs version), and callers then take the plain tfjs path.
 */
import * as tf from '@tensorflow/tfjs';

interface WasmBackendInternals {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): { dataId: object; shape: number[]; dtype: 'float32' };
  wasm: { HEAPU8: Uint8Array };
}

/** Views of float32 wasm tensors and new tensors on the wasm heap. */
export interface HeapAccess {
  /** A view of `t`'s values (row-major, t.size floats). `t` must be a float32 tensor of this backend. */
  view(t: tf.Tensor): Float32Array;
  /** A new float32 tensor of `shape` with unset values, in the current tidy scope. */
  tensor<R extends tf.Rank>(shape: number[]): tf.Tensor<R>;
}

function internals(): WasmBackendInternals | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const b = tf.backend() as unknown as Partial<WasmBackendInternals>;
  if (typeof b.makeOutput !== 'function' || b.dataIdMap === undefined || !(b.wasm?.HEAPU8 instanceof Uint8Array)) return undefined;
  return b as WasmBackendInternals;
}

/** Zero-copy access to the wasm backend's tensors, or undefined on any other backend. */
export function heapAccess(): HeapAccess | undefined {
  const b = internals();
  if (b === undefined) return undefined;
  return {
    view(t: tf.Tensor): Float32Array {
      if (t.dtype !== 'float32') throw new Error(`heapAccess: a ${t.dtype} tensor has no float32 view`);
      const entry = b.dataIdMap.get(t.dataId);
      if (entry === undefined) throw new Error('heapAccess: the tensor is not on the wasm backend');
      return new Float32Array(b.wasm.HEAPU8.buffer, entry.memoryOffset, t.size);
    },
    tensor<R extends tf.Rank>(shape: number[]): tf.Tensor<R> {
      const info = b.makeOutput(shape, 'float32');
      return (tf.engine() as unknown as { makeTensorFromTensorInfo(i: typeof info): tf.Tensor<R> }).makeTensorFromTensorInfo(info);
    },
  };
}

/** True while a gradient tape records the ops run now (inside tf.variableGrads / tf.grads, outside any kernel). */
export function tapeIsRecording(): boolean {
  return (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
}
