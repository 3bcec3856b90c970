import 'reflect-metadata';
import type { PluginClass, Registry } from '@gfra/core';
import { GaussianPilotsEncoder } from './gaussian-pilots';

export { GaussianPilotsEncoder, GaussianPilotsParams } from './gaussian-pilots';

/** Every encoder plugin of this package. */
export const encoderPlugins: readonly PluginClass[] = [GaussianPilotsEncoder];

/** Register this package's plugins in `registry` (no side effects on import). */
export function registerEncoders(registry: Registry): Registry {
  return registry.registerAll(encoderPlugins);
}
