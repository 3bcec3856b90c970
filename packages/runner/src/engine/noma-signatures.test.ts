import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTrainedArtifact, writeTransmitFile } from '@gfra/core';
import { exportTransmit } from '../cli/export';
import { planObject, type LoadedSpec } from '../plan/load';
import { formatTable } from '../results/format';
import { runSpec } from '../run';
import { builtinRegistry } from '../spec/plugins';

/**
 * Code-domain NOMA with learned finite-alphabet signatures (Yu, Fei, Zheng, Ye) through the
 * runner: an encoder trained through one receiver (SICNN) and evaluated with others, one model
 * for every SNR point, oracle labels, the exported signatures loaded by qpsk-spreading.
 */
const SICNN = { plugin: 'sicnn', params: { hidden: [8], loss: { lambda: [1, 1, 1, 2, 2, 2] } } };
const QNN = { plugin: 'qnn-signatures', params: { encoderLrMultiplier: 50 } };
const TRAIN = {
  steps: 12,
  batchSize: 32,
  optimizer: { type: 'adam', learningRate: 0.01 },
  shareAcrossPoints: true,
  overrides: { 'channel.params.snrDb': { set: [0, 10, 20] }, detector: SICNN },
};

function spec(candidates: Record<string, unknown>): Record<string, unknown> {
  return {
    name: 'noma-tiny',
    seed: 3,
    scenario: { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 },
    traffic: { plugin: 'per-device-bernoulli', params: { activationProbabilities: [0.8, 0.8, 0.8, 0.4, 0.4, 0.4] } },
    channel: { plugin: 'noma-rayleigh', params: { snrDb: 10 } },
    encoder: { plugin: 'qpsk-spreading' },
    candidates,
    metrics: [{ plugin: 'ber', params: { mode: 'sign', jain: true } }],
    sweep: { 'channel.params.snrDb': [10, 20] },
    montecarlo: { batchSize: 50, targetEvents: 1000, maxTrials: 100 },
  };
}

function load(s: Record<string, unknown>, dir: string): LoadedSpec {
  const file = path.join(dir, 'spec.json');
  fs.writeFileSync(file, JSON.stringify(s));
  return planObject(s, file, builtinRegistry());
}

describe('code-domain NOMA signatures through the runner', function () {
  this.timeout(120000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-noma-'));
  const artifacts = path.join(dir, 'artifacts');
  let output: Awaited<ReturnType<typeof runSpec>>;

  before(async () => {
    const loaded = load(
      spec({
        // mmse-sic first: the artifact then records an evaluation pipeline without the SICNN,
        // whose weights it holds (export must build the pipeline as it was trained)
        'qnn.mmse-sic': { encoder: QNN, detector: { plugin: 'mmse-sic' }, train: TRAIN },
        'qnn.sicnn': { encoder: QNN, detector: SICNN, train: TRAIN },
        'wbe.oracle-ls': { detector: { plugin: 'oracle-ls' } },
      }),
      dir,
    );
    output = await runSpec(loaded, { out: path.join(dir, 'out'), artifacts });
  });

  it('trains once for both SNR points and both evaluation receivers (one artifact), and the evaluation with MMSE-SIC loads only the encoder', () => {
    const trained = fs.readdirSync(artifacts).filter((d) => !d.endsWith('.checkpoint'));
    expect(trained).to.have.length(1);
    const results = output.results.results;
    expect(results.map((r) => r.candidate)).to.have.members(['qnn.mmse-sic', 'qnn.mmse-sic', 'qnn.sicnn', 'qnn.sicnn', 'wbe.oracle-ls', 'wbe.oracle-ls']);
    const ccw = results.filter((r) => r.candidate.startsWith('qnn.')).map((r) => r.diagnostics?.['encoder/ccw']);
    expect(new Set(ccw).size, 'the same learned signatures everywhere').to.equal(1);
    expect(ccw[0]).to.be.a('number');
    for (const r of results) expect(r.metrics.jfi.value).to.be.within(1 / 6, 1);
  });

  it('the latent stays within the clamp +-(Q + 0.5) after every step (afterStep), even with a large learning-rate multiplier', () => {
    const trained = fs.readdirSync(artifacts).filter((d) => !d.endsWith('.checkpoint'));
    const { weights } = readTrainedArtifact(path.join(artifacts, trained[0]));
    for (const name of ['encoder/latentRe', 'encoder/latentIm']) {
      const v = Array.from(weights[name].dataSync());
      expect(Math.max(...v.map(Math.abs)) * 50, name).to.be.at.most(2.5);
    }
  });

  it('labels the oracle: results carry oracle ["trueActivity"] and the table marks the candidate', () => {
    const oracle = output.results.results.filter((r) => r.candidate === 'wbe.oracle-ls');
    for (const r of oracle) expect(r.oracle).to.deep.equal(['trueActivity']);
    for (const r of output.results.results.filter((x) => x.candidate !== 'wbe.oracle-ls')) expect(r.oracle).to.equal(undefined);
    expect(formatTable(output.results.results)).to.contain('wbe.oracle-ls (oracle)');
  });

  it('exports integer signatures in {-2..2} with no zero device, which qpsk-spreading loads as the learned set', async () => {
    const trained = fs.readdirSync(artifacts).filter((d) => !d.endsWith('.checkpoint'));
    const obj = await exportTransmit(path.join(artifacts, trained[0]));
    expect(obj.kind).to.equal('signatures');
    expect(obj.shape).to.deep.equal([4, 6]);
    for (const x of [...obj.re, ...obj.im]) expect(Number.isInteger(x) && Math.abs(x) <= 2, String(x)).to.equal(true);
    for (let n = 0; n < 6; n++) {
      let energy = 0;
      for (let l = 0; l < 4; l++) energy += obj.re[l * 6 + n] ** 2 + obj.im[l * 6 + n] ** 2;
      expect(energy, `device ${n}`).to.be.greaterThan(0);
    }
    const file = path.join(dir, 'learned.json');
    writeTransmitFile(file, obj);
    const other = load(spec({ 'file.mmse-sic': { encoder: { plugin: 'qpsk-spreading', params: { signatures: { source: 'file', path: 'learned.json' } } }, detector: { plugin: 'mmse-sic' } } }), dir);
    const again = await runSpec(other, { out: path.join(dir, 'out-file'), artifacts });
    const learned = output.results.results.find((r) => r.candidate === 'qnn.mmse-sic')?.diagnostics?.['encoder/ccw'] as number;
    expect(again.results.results[0].diagnostics?.['encoder/ccw']).to.be.closeTo(learned, 1e-6);
  });
});
