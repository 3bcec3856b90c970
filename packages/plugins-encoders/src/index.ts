import 'reflect-metadata';
import type { PluginClass, Registry } from '@gfra/core';
import { GaussianPilotsEncoder } from './gaussian-pilots';
import { RandomPilotsEncoder } from './random-pilots';
import { ScmaCodebookEncoder } from './scma-codebook';
import { LearnedPilotsEncoder } from './learned-pilots';
import { CodebookFileEncoder } from './codebook-file';

export { GaussianPilotsEncoder, GaussianPilotsParams } from './gaussian-pilots';
export { RandomPilotsEncoder, RandomPilotsParams } from './random-pilots';
export { LearnedPilotsEncoder, LearnedPilotsParams } from './learned-pilots';
export { CodebookFileEncoder, CodebookFileParams, codebookShapeProblems } from './codebook-file';
export {
  ScmaCodebookEncoder,
  ScmaCodebookParams,
  SCMA_6X4_CODEBOOK,
  FACTOR_GRAPH_6X4,
  factorGraph,
  readCodebookFile,
  userEnergies,
  type CodebookValues,
} from './scma-codebook';

/** Every encoder plugin of this package. */
export const encoderPlugins: readonly PluginClass[] = [GaussianPilotsEncoder, ScmaCodebookEncoder, LearnedPilotsEncoder, CodebookFileEncoder, RandomPilotsEncoder];

/** Register this package's plugins in `registry` (no side effects on import). */
export function registerEncoders(registry: Registry): Registry {
  return registry.registerAll(encoderPlugins);
}
