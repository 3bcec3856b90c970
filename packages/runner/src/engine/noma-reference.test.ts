import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StatisticResult } from '@gfra/core';
import { planObject } from '../plan/load';
import { runSpec } from '../run';
import { builtinRegistry } from '../spec/plugins';

/**
 * The classical receivers of code-domain NOMA through the whole pipeline (traffic
 * per-device-bernoulli -> encoder qpsk-spreading (chirp WBE) -> channel noma-rayleigh -> detector ->
 * metric ber, strict), against independent numpy reference values for N = 6, L = 4, p_asy, per-RE
 * SNR (1500-3000 trials each, so +-20 % relative, +-50 % below 1e-2). The tolerance, fixed before
 * looking: the run's 99 % interval must meet the reference band. The block-fading rows are also
 * checked plugin by plugin in plugins-detectors (noma-reference.test.ts); the per-resource rows
 * only here.
 */
const REFERENCES: { mode: 'block' | 'per-resource'; candidate: string; snrDb: number; ber: number }[] = [
  { mode: 'per-resource', candidate: 'mmse-sic', snrDb: 0, ber: 0.3 },
  { mode: 'per-resource', candidate: 'mmse-sic', snrDb: 5, ber: 0.16 },
  { mode: 'per-resource', candidate: 'mmse-sic', snrDb: 10, ber: 0.061 },
  { mode: 'per-resource', candidate: 'oracle-ls', snrDb: 0, ber: 0.089 },
  { mode: 'per-resource', candidate: 'oracle-ls', snrDb: 5, ber: 0.01 },
  { mode: 'block', candidate: 'mmse-sic', snrDb: 5, ber: 0.14 },
  { mode: 'block', candidate: 'mmse-sic', snrDb: 10, ber: 0.045 },
  { mode: 'block', candidate: 'matched-filter', snrDb: 10, ber: 0.22 },
  { mode: 'block', candidate: 'oracle-ls', snrDb: 5, ber: 0.038 },
];

describe('classical NOMA receivers through the pipeline: reference curves (chirp WBE, p_asy, N = 6, L = 4, strict BER)', function () {
  this.timeout(180000);
  for (const mode of ['block', 'per-resource'] as const) {
    it(`${mode} fading`, async () => {
      const spec = {
        name: `noma-reference-${mode}`,
        seed: 11,
        scenario: { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 },
        traffic: { plugin: 'per-device-bernoulli', params: { activationProbabilities: [0.8, 0.8, 0.8, 0.4, 0.4, 0.4] } },
        channel: { plugin: 'noma-rayleigh', params: { mode, snrDb: 0 } },
        encoder: { plugin: 'qpsk-spreading', params: { signatures: { source: 'wbe-chirp' } } },
        candidates: {
          'mmse-sic': { detector: { plugin: 'mmse-sic' } },
          'matched-filter': { detector: { plugin: 'matched-filter' } },
          'oracle-ls': { detector: { plugin: 'oracle-ls' } },
        },
        metrics: [{ plugin: 'ber', params: { mode: 'strict' } }],
        sweep: { 'channel.params.snrDb': [0, 5, 10] },
        montecarlo: { batchSize: 1000, targetEvents: 1e9, maxTrials: 3000, confidence: 0.99 },
      };
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-noma-ref-'));
      const file = path.join(dir, 'spec.json');
      fs.writeFileSync(file, JSON.stringify(spec));
      const out = await runSpec(planObject(spec, file, builtinRegistry()), { out: path.join(dir, 'out') });
      for (const ref of REFERENCES.filter((r) => r.mode === mode)) {
        const r = out.results.results.find((x) => x.candidate === ref.candidate && x.point['channel.params.snrDb'] === ref.snrDb);
        const ber = r?.metrics.ber as StatisticResult;
        const band = ref.ber < 1e-2 ? 0.5 : 0.2;
        const where = `${ref.candidate} at ${ref.snrDb} dB: ${ber.value} [${ber.low}, ${ber.high}] against ${ref.ber} +-${band * 100} %`;
        expect(ber.high as number, where).to.be.at.least(ref.ber * (1 - band));
        expect(ber.low as number, where).to.be.at.most(ref.ber * (1 + band));
      }
      // qualitative: the finite-alphabet oracle beats MMSE-SIC at every SNR
      for (const snrDb of [0, 5, 10]) {
        const at = (c: string) => out.results.results.find((x) => x.candidate === c && x.point['channel.params.snrDb'] === snrDb)?.metrics.ber.value as number;
        expect(at('oracle-ls'), `${snrDb} dB`).to.be.below(at('mmse-sic'));
      }
    });
  }
});
