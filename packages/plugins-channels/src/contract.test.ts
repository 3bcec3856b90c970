import { describePluginContract } from '@gfra/core/testing';
import { channelPlugins } from './index';
import { PerResourceRayleighChannel } from './per-resource-rayleigh';

for (const plugin of channelPlugins) describePluginContract(plugin);

// the AWGN mode of the per-resource channel, with the noise variance given directly
describePluginContract(PerResourceRayleighChannel, { params: { mode: 'awgn', noiseVar: 0.5 } });
