import 'reflect-metadata';
import { pluginClassesIn, type PluginClass, type Registry } from '@gfra/core';
import * as plugins from './plugins';

export * from './plugins';
export { PowerThreshold, bestSequence, decideActivity, powerScore, rowEnergyEstimate } from './decision';
export * from './algorithms';

/** Every detector plugin of this package (listed in plugins.ts, one line each). */
export const detectorPlugins: readonly PluginClass[] = pluginClassesIn(plugins);

/** Register this package's plugins in `registry` (no side effects on import). */
export function registerDetectors(registry: Registry): Registry {
  return registry.registerAll(detectorPlugins);
}
