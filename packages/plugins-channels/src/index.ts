import 'reflect-metadata';
import type { PluginClass, Registry } from '@gfra/core';
import { RayleighChannel } from './rayleigh';
import { PerResourceRayleighChannel } from './per-resource-rayleigh';
import { PathLossRayleighChannel } from './path-loss-rayleigh';

export { RayleighChannel, RayleighParams } from './rayleigh';
export { PathLossRayleighChannel, PathLossRayleighParams, PATH_LOSS_DEFAULTS, snrDbAt, snrRangeDb } from './path-loss-rayleigh';
export { PerResourceRayleighChannel, PerResourceRayleighParams, perResourceNoiseVar } from './per-resource-rayleigh';

/** Every channel plugin of this package. */
export const channelPlugins: readonly PluginClass[] = [RayleighChannel, PerResourceRayleighChannel, PathLossRayleighChannel];

/** Register this package's plugins in `registry` (no side effects on import). */
export function registerChannels(registry: Registry): Registry {
  return registry.registerAll(channelPlugins);
}
