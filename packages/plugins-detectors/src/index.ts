import 'reflect-metadata';
import type { PluginClass, Registry } from '@gfra/core';
import { CorrelationEnergyDetector } from './correlation-energy';

export { CorrelationEnergyDetector, CorrelationEnergyParams } from './correlation-energy';

/** Every detector plugin of this package. */
export const detectorPlugins: readonly PluginClass[] = [CorrelationEnergyDetector];

/** Register this package's plugins in `registry` (no side effects on import). */
export function registerDetectors(registry: Registry): Registry {
  return registry.registerAll(detectorPlugins);
}
