import { describePluginContract, type ContractOptions } from './testing/contract';
import { standardPlugins } from './standard';
import type { PluginClass } from './plugin';
import { GroupActivityTraffic } from './traffic/group-activity';

/** Plugins whose defaults do not fit the contract's tiny scenario (N = 6). */
const OPTIONS = new Map<PluginClass, ContractOptions>([[GroupActivityTraffic, { params: { numGroups: 3 } }]]);

for (const plugin of standardPlugins) describePluginContract(plugin, OPTIONS.get(plugin));
describePluginContract(GroupActivityTraffic, { params: { numGroups: 2, mode: 'independent', activityProb: 0.5 } });
