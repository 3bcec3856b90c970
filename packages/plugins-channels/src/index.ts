import 'reflect-metadata';
import type { PluginClass, Registry } from '@gfra/core';
import { RayleighChannel } from './rayleigh';

export { RayleighChannel, RayleighParams } from './rayleigh';

/** Every channel plugin of this package. */
export const channelPlugins: readonly PluginClass[] = [RayleighChannel];

/** Register this package's plugins in `registry` (no side effects on import). */
export function registerChannels(registry: Registry): Registry {
  return registry.registerAll(channelPlugins);
}
