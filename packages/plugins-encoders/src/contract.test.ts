import { describePluginContract } from '@gfra/core/src/testing/contract';
import { encoderPlugins } from './index';

for (const plugin of encoderPlugins) describePluginContract(plugin);
