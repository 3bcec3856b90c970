import 'reflect-metadata';
import { pluginClassesIn, type PluginClass, type Registry } from '@gfra/core';
import * as plugins from './plugins';

export * from './plugins';

/** Every encoder plugin of this package (listed in plugins.ts, one line each). */
export const encoderPlugins: readonly PluginClass[] = pluginClassesIn(plugins);

/** Register this package's plugins in `registry` (no side effects on import). */
export function registerEncoders(registry: Registry): Registry {
  return registry.registerAll(encoderPlugins);
}
