import { describePluginContract } from './testing/contract';
import { standardPlugins } from './standard';

for (const plugin of standardPlugins) describePluginContract(plugin);
