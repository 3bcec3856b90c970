/**
 * Ensemble pilots end to end: `redraw: "per-trial"` gives every trial its own codebook, the
 * detector receives the codebooks of exactly its batch's trials, and the numbers do not depend
 * on the batch size.
 */
import { expect } from 'chai';
import { planObject } from '../plan/load';
import type { JobResult } from '../results/format';
import { builtinRegistry } from '../spec/plugins';
import { tinySpec } from '../testing';
import { runJob } from './montecarlo';

async function run(spec: Record<string, unknown>): Promise<JobResult[]> {
  const registry = builtinRegistry();
  const { jobs } = planObject(spec, 'test.json', registry);
  const out: JobResult[] = [];
  for (const job of jobs) out.push(await runJob(job, { registry }));
  return out;
}

const strip = (r: JobResult) => ({ candidate: r.candidate, trials: r.trials, metrics: r.metrics });

describe('ensemble pilots (redraw: "per-trial") through the pipeline', function () {
  this.timeout(120000);
  const spec = (redraw: 'per-run' | 'per-trial', batchSize: number) =>
    tinySpec({
      encoder: { plugin: 'gaussian-pilots', params: { redraw } },
      candidates: {
        amp: { detector: { plugin: 'mmv-amp', params: { maxIterations: 10 } } },
        energy: { detector: { plugin: 'correlation-energy', params: { threshold: { rule: 'false-alarm', falseAlarm: 0.05 } } } },
      },
      montecarlo: { batchSize, targetEvents: 100000, maxTrials: 96, maxSeconds: 600 },
    });

  it('runs the classical detectors with per-trial codebooks, the same numbers whatever the batch size', async () => {
    const a = (await run(spec('per-trial', 32))).map(strip);
    const b = (await run(spec('per-trial', 12))).map(strip);
    expect(a).to.deep.equal(b);
    expect(a.map((r) => r.trials)).to.deep.equal([96, 96]);
  });

  it('differs from one pilot matrix per run (the draws are per trial, not the run\'s one matrix)', async () => {
    const perTrial = (await run(spec('per-trial', 32))).map(strip);
    const perRun = (await run(spec('per-run', 32))).map(strip);
    expect(perTrial[0].metrics).to.not.deep.equal(perRun[0].metrics);
  });
});
