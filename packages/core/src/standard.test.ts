import { describePluginContract, type ContractOptions } from './testing/contract';
import { standardPlugins } from './standard';
import type { PluginClass } from './plugin';
import { GroupActivityTraffic } from './traffic/group-activity';
import { SymbolMseMetric } from './metrics/symbol-mse';

/** Plugins whose defaults do not fit the contract's tiny scenario (N = 6). */
const OPTIONS = new Map<PluginClass, ContractOptions>([
  [GroupActivityTraffic, { params: { numGroups: 3 } }],
  // QPSK symbols: J = 2
  [SymbolMseMetric, { scenario: { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 }, params: { perUser: true } }],
]);

for (const plugin of standardPlugins) describePluginContract(plugin, OPTIONS.get(plugin));
describePluginContract(GroupActivityTraffic, { params: { numGroups: 2, mode: 'independent', activityProb: 0.5 } });
