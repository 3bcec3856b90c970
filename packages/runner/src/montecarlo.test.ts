import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { builtinRegistry } from './builtins';
import { runJob, type JobResult } from './montecarlo';
import { tinySpec } from './testing';
import { SpecValidator } from './validate';

async function runAll(spec: Record<string, unknown>): Promise<JobResult[]> {
  const registry = builtinRegistry();
  const validated = new SpecValidator(registry).validateObject(spec, 'test.json');
  const out: JobResult[] = [];
  for (const job of validated.jobs) out.push(await runJob(job, { registry, seed: validated.spec.seed }));
  return out;
}

const strip = (r: JobResult) => ({ ...r, seconds: 0 });

describe('Monte Carlo engine', () => {
  it('gives identical numbers whatever the batch size', async () => {
    const mc = (batchSize: number) => ({ batchSize, targetEvents: 30, maxTrials: 300, maxSeconds: 60 });
    const a = await runAll(tinySpec({ montecarlo: mc(7) }));
    const b = await runAll(tinySpec({ montecarlo: mc(64) }));
    const c = await runAll(tinySpec({ montecarlo: mc(1) }));
    expect(a.map(strip)).to.deep.equal(b.map(strip));
    expect(a.map(strip)).to.deep.equal(c.map(strip));
    expect(a[0].stop).to.equal('target-events');
  });

  it('stops at the first trial where every tracked rate has its target events', async () => {
    const [r] = await runAll(tinySpec({ montecarlo: { batchSize: 50, targetEvents: 25, maxTrials: 100000, maxSeconds: 60 } }));
    expect(r.stop).to.equal('target-events');
    const pmd = r.metrics.pmd.events as number;
    const pfa = r.metrics.pfa.events as number;
    expect(Math.min(pmd, pfa)).to.be.at.least(25);
    // One trial fewer would not have been enough: rerun with maxTrials = trials - 1.
    const [short] = await runAll(tinySpec({ montecarlo: { batchSize: 50, targetEvents: 25, maxTrials: r.trials - 1, maxSeconds: 60 } }));
    expect(short.stop).to.equal('max-trials');
    expect(Math.min(short.metrics.pmd.events as number, short.metrics.pfa.events as number)).to.be.below(25);
  });

  it('stops at maxTrials when errors are rare, and reports the interval', async () => {
    const [r] = await runAll(
      tinySpec({
        channel: { plugin: 'rayleigh', params: { snrDb: 30 } },
        scenario: { numDevices: 10, numAntennas: 8, sequenceLength: 40 },
        montecarlo: { batchSize: 32, targetEvents: 100000, maxTrials: 100, maxSeconds: 60, confidence: 0.9 },
      }),
    );
    expect(r.stop).to.equal('max-trials');
    expect(r.trials).to.equal(100);
    const pfa = r.metrics.pfa;
    expect(pfa.low).to.be.at.most(pfa.value as number);
    expect(pfa.high).to.be.at.least(pfa.value as number);
  });

  it('depends on the seed and the candidate, and commonRandomNumbers pairs identical candidates', async () => {
    const twoCandidates = (crn: boolean) =>
      tinySpec({
        candidates: {
          a: { detector: { plugin: 'correlation-energy' } },
          b: { detector: { plugin: 'correlation-energy' } },
        },
        montecarlo: { batchSize: 16, targetEvents: 20, maxTrials: 200, maxSeconds: 60, commonRandomNumbers: crn },
      });
    const independent = await runAll(twoCandidates(false));
    expect(strip(independent[0]).metrics).to.not.deep.equal(strip(independent[1]).metrics);
    const paired = await runAll(twoCandidates(true));
    expect(paired[0].metrics).to.deep.equal(paired[1].metrics);
    const reseeded = await runAll({ ...twoCandidates(false), seed: 8 });
    expect(reseeded[0].metrics).to.not.deep.equal(independent[0].metrics);
  });

  it('frees every tensor of a job', async () => {
    const before = tf.memory().numTensors;
    await runAll(tinySpec({ montecarlo: { batchSize: 16, targetEvents: 10, maxTrials: 64, maxSeconds: 60 } }));
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('stops a job when aborted and marks it interrupted', async () => {
    const registry = builtinRegistry();
    const { jobs, spec } = new SpecValidator(registry).validateObject(tinySpec(), 'test.json');
    const controller = new AbortController();
    const r = await runJob(jobs[0], {
      registry,
      seed: spec.seed,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'batch') controller.abort();
      },
    });
    expect(r.stop).to.equal('interrupted');
    expect(r.trials).to.equal(16);
  });
});
