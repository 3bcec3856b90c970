import { describePluginContract } from '@gfra/core/testing';
import { channelPlugins } from './index';
import { PerResourceRayleighChannel } from './per-resource-rayleigh';

import { NomaRayleighChannel } from './noma-rayleigh';
import { NormalizedPathLossChannel } from './normalized-path-loss';

// separately: single-antenna (below), or with a parameter that has no default (normalized-path-loss.test.ts)
const SEPARATE = new Set<unknown>([NomaRayleighChannel, NormalizedPathLossChannel]);
for (const plugin of channelPlugins) if (!SEPARATE.has(plugin)) describePluginContract(plugin);

// the code-domain NOMA channel is single-antenna; both fading modes, and an SNR set (training)
const nomaScenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };
describePluginContract(NomaRayleighChannel, { scenario: nomaScenario });
describePluginContract(NomaRayleighChannel, { scenario: nomaScenario, params: { mode: 'per-resource', snrDb: { set: [-5, 0, 5, 10, 15, 20] } } });

// the AWGN mode of the per-resource channel, with the noise variance given directly
describePluginContract(PerResourceRayleighChannel, { params: { mode: 'awgn', noiseVar: 0.5 } });
