import { describePluginContract, type ContractOptions } from '@gfra/core/testing';
import type { PluginClass } from '@gfra/core';
import { encoderPlugins } from './index';
import { ScmaCodebookEncoder } from './scma-codebook';
import * as path from 'node:path';
import { CodebookFileEncoder } from './codebook-file';
import { QpskSpreadingEncoder } from './qpsk-spreading';
import { QnnSignaturesEncoder } from './qnn-signatures';
import { MulvaeEncoder } from './mulvae-encoder';

/** Code-domain NOMA: one QPSK symbol (J = 2) per device spread over L = 4 resource elements. */
const NOMA = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };

/** Plugins whose tiny forward pass needs its own options (the others use the contract defaults). */
const OPTIONS = new Map<PluginClass, ContractOptions>([
  // the built-in SCMA codebook fixes N = 6 users, L = 4 resource elements, J = 2 bits
  [ScmaCodebookEncoder, { scenario: { numDevices: 6, numAntennas: 2, sequenceLength: 4, bitsPerDevice: 2 } }],
  // a codebook file with the shape of the contract scenario: [L, N*Q] = [4, 6*2]
  [CodebookFileEncoder, { params: { path: path.join(__dirname, 'fixtures', 'codebook-4x12.json') } }],
  [QpskSpreadingEncoder, { scenario: NOMA }],
  [QnnSignaturesEncoder, { scenario: NOMA }],
  // the paper's 6 users on 4 REs; hidden: 2 keeps the tiny pass small (per-device bits: mulvae-encoder.test.ts)
  [MulvaeEncoder, { scenario: NOMA, params: { hidden: 2 } }],
]);

for (const plugin of encoderPlugins) describePluginContract(plugin, OPTIONS.get(plugin));
