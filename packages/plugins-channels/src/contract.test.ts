import { describePluginContract } from '@gfra/core/src/testing/contract';
import { channelPlugins } from './index';

for (const plugin of channelPlugins) describePluginContract(plugin);
