import { describePluginContract } from '@gfra/core/src/testing/contract';
import { detectorPlugins } from './index';

for (const plugin of detectorPlugins) describePluginContract(plugin);
