/** The standard traffic models and metrics that ship with core. */
import type { PluginClass } from './plugin';
import type { Registry } from './registry';
import { BernoulliTraffic } from './traffic/bernoulli';
import { FixedCountTraffic } from './traffic/fixed-count';
import { TwoClassTraffic } from './traffic/two-class';
import { PerDeviceTraffic } from './traffic/per-device';
import { SymbolMseMetric } from './metrics/symbol-mse';
import { GroupActivityTraffic } from './traffic/group-activity';
import { ActivityMetric } from './metrics/activity';
import { SerMetric } from './metrics/ser';
import { BerMetric } from './metrics/ber';
import { BlerMetric } from './metrics/bler';
import { NmseMetric } from './metrics/nmse';
import { MmvMseMetric } from './metrics/mmv-mse';

export const standardPlugins: readonly PluginClass[] = [BernoulliTraffic, FixedCountTraffic, TwoClassTraffic, PerDeviceTraffic, GroupActivityTraffic, ActivityMetric, SerMetric, BerMetric, BlerMetric, NmseMetric, MmvMseMetric, SymbolMseMetric];

export function registerStandardPlugins(registry: Registry): Registry {
  return registry.registerAll(standardPlugins);
}
