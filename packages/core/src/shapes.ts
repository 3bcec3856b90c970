/** Shape assertions with messages that name the tensor and both shapes. */
import type * as tf from '@tensorflow/tfjs';
import type { ComplexTensor } from './complex';

/** One expected dimension: a size, or a name for a free dimension such as 'batch'. */
export type Dim = number | string;

/**
 * Throw unless `x` has the expected shape, e.g. `assertShape(y, ['batch', L, M], 'y')`.
 * String entries match any size (and document what the axis is).
 */
export function assertShape(x: tf.Tensor | ComplexTensor, expected: readonly Dim[], name: string): void {
  const shape = 're' in x ? x.re.shape : x.shape;
  const ok = shape.length === expected.length && expected.every((d, i) => typeof d === 'string' || d === shape[i]);
  if (!ok) {
    throw new Error(`${name} has shape [${shape.join(', ')}]; expected [${expected.join(', ')}]`);
  }
}
