import 'reflect-metadata';
import { pluginClassesIn, type PluginClass, type Registry } from '@gfra/core';
import * as plugins from './plugins';

export * from './plugins';

/** Every channel plugin of this package (listed in plugins.ts, one line each). */
export const channelPlugins: readonly PluginClass[] = pluginClassesIn(plugins);

/** Register this package's plugins in `registry` (no side effects on import). */
export function registerChannels(registry: Registry): Registry {
  return registry.registerAll(channelPlugins);
}
