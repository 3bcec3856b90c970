import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Type } from '@sinclair/typebox';
import { container, inject, injectable } from 'tsyringe';
import { definePlugin, TOKENS, TrialDomain, type Detector, type Estimate, type MeasuredStatistic, type Observation } from '@gfra/core';
import { builtinRegistry } from '../spec/plugins';
import { planObject } from '../plan/load';
import { tinySpec } from '../testing';
import type { JobResult } from '../results/format';
import type { BatchRecord } from '../results/store';
import { runJob } from './montecarlo';
import { MAX_NON_FINITE_FRACTION, Pipeline } from './pipeline';

const N = 20;
const M = 4;

interface FlakyParams {
  readonly nanTrials: number[];
  readonly output: 'activityScore' | 'channel';
}

/**
 * Scores devices by received energy, declares the upper half active and estimates every channel
 * as zero (so NMSE = 1 in every trial with an active device); puts a NaN into one device's
 * `output` in the trials `nanTrials` (indices in the order the trials are detected). A test plugin.
 */
@injectable()
class FlakyDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'flaky',
    summary: 'Energy scores, zero channel estimates, NaN in chosen trials (a test plugin)',
    params: Type.Object(
      { nanTrials: Type.Array(Type.Integer()), output: Type.Union([Type.Literal('activityScore'), Type.Literal('channel')]) },
      { additionalProperties: false },
    ),
    provides: () => ['activityScore', 'activity', 'channel'],
  });
  private seen = 0;
  constructor(@inject(TOKENS.params) private readonly params: FlakyParams) {}
  detect(obs: Observation): Estimate {
    const B = obs.y.re.shape[0];
    const first = this.seen;
    this.seen += B;
    const nanAt = (b: number) => this.params.nanTrials.includes(first + b);
    return tf.tidy(() => {
      const energy = tf.sum(tf.add(tf.square(obs.y.re), tf.square(obs.y.im)), [1, 2]);
      let score = tf.mul(tf.reshape(energy, [-1, 1]), tf.linspace(0.5, 1.5, N).reshape([1, N])) as tf.Tensor2D;
      const activity = tf.cast(tf.greater(score, tf.mean(score)), 'float32') as tf.Tensor2D;
      let re = tf.zeros([B, N, M]);
      // NaN in the first entry (device 0) of each chosen trial, 0 elsewhere.
      const mask = (shape: number[]) => {
        const per = shape.slice(1).reduce((a, d) => a * d, 1);
        return tf.tensor(Array.from({ length: B * per }, (_, i) => (i % per === 0 && nanAt(i / per) ? Number.NaN : 0)), shape);
      };
      if (this.params.output === 'activityScore') score = tf.add(score, mask([B, N])) as tf.Tensor2D;
      else re = tf.add(re, mask([B, N, M]));
      return { activityScore: score, activity, channel: { re, im: tf.zeros([B, N, M]) } };
    });
  }
}

const registry = () => builtinRegistry().register(FlakyDetector);

const spec = (params: FlakyParams, montecarlo: Record<string, unknown> = { batchSize: 50, targetEvents: 1e9, maxTrials: 300, maxSeconds: 600 }) =>
  tinySpec({
    traffic: { plugin: 'bernoulli', params: { activityProb: 0.05 } },
    candidates: { flaky: { detector: { plugin: 'flaky', params } } },
    metrics: [{ plugin: 'activity', params: {} }, { plugin: 'nmse', params: {} }],
    montecarlo,
  });

async function run(params: FlakyParams, montecarlo?: Record<string, unknown>): Promise<JobResult> {
  const r = registry();
  const [job] = planObject(spec(params, montecarlo), 'test.json', r).jobs;
  return runJob(job, { registry: r });
}

async function failure(params: FlakyParams, montecarlo?: Record<string, unknown>): Promise<string> {
  try {
    await run(params, montecarlo);
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}

describe('non-finite detector outputs and statistics without a value', () => {
  it('the threshold is 1 % of the trials', () => {
    expect(MAX_NON_FINITE_FRACTION).to.equal(0.01);
  });

  it('a valid run: rates have no `skipped`; NMSE counts the trials without an active device as defined away', async () => {
    const r = await run({ nanTrials: [], output: 'activityScore' });
    expect(r.trials).to.equal(300);
    expect(r.metrics.pmd).to.not.have.property('skipped');
    expect(r.metrics.pfa).to.not.have.property('skipped');
    expect(r.metrics['pmd+pfa']).to.not.have.property('skipped');
    const nmse = r.metrics.nmse;
    // p = 0.05, N = 20: P(no active device) = 0.95^20 = 0.36, so about 108 of 300 trials.
    expect(nmse.skipped?.nonFinite).to.equal(0);
    expect(nmse.skipped?.undefined).to.be.within(70, 150);
    expect(nmse.samples + (nmse.skipped?.undefined ?? 0)).to.equal(300);
    expect(nmse.value).to.equal(1); // zero estimates: exactly 1 in every trial with an active device
  });

  it('below 1 %: the trials are left out of every statistic and counted as nonFinite; the others are measured as before', async () => {
    const clean = await run({ nanTrials: [], output: 'activityScore' });
    const r = await run({ nanTrials: [205, 230], output: 'activityScore' });
    expect(r.trials).to.equal(300);
    for (const name of ['pmd', 'pfa', 'pmd+pfa']) expect(r.metrics[name].skipped, name).to.deep.equal({ undefined: 0, nonFinite: 2 });
    // The two trials' N = 20 devices are gone from the rates' samples, no more.
    expect(clean.metrics['pmd+pfa'].samples - r.metrics['pmd+pfa'].samples).to.equal(2 * N);
    expect(r.metrics.pmd.events).to.be.at.most(clean.metrics.pmd.events as number);
    // NMSE: a detector's NaN is not a 0/0 defined away, even in a trial without an active device.
    const nmse = r.metrics.nmse;
    expect(nmse.skipped?.nonFinite).to.equal(2);
    expect(nmse.samples + (nmse.skipped?.undefined ?? 0) + 2).to.equal(300);
    expect((clean.metrics.nmse.skipped?.undefined ?? 0) - (nmse.skipped?.undefined ?? 0)).to.be.within(0, 2);
    expect(nmse.value).to.equal(1);
  });

  it('per trial: the same values as without the NaN, except the marked trials (NaN events, +Infinity means); the pipeline counts them', async () => {
    const r = registry();
    const perTrial = async (params: FlakyParams) => {
      const [job] = planObject(spec(params), 'test.json', r).jobs;
      const pipeline = new Pipeline(r, job.pipeline, container, { domain: new TrialDomain() });
      try {
        await pipeline.prepare();
        const stats = pipeline.runBatch({ first: 0, count: 300 });
        const host = Object.fromEntries(
          Object.entries(stats).map(([name, m]: [string, MeasuredStatistic]) => ['values' in m ? [name, Array.from(m.values.dataSync())] : [name, Array.from(m.events.dataSync())]][0]),
        );
        const counts = pipeline.nonFiniteTrials();
        tf.dispose(Object.values(stats).flatMap((m) => ('values' in m ? [m.values] : [m.events, m.samples])));
        return { host, counts };
      } finally {
        pipeline.dispose();
      }
    };
    const clean = await perTrial({ nanTrials: [], output: 'channel' });
    const nan = await perTrial({ nanTrials: [3, 7], output: 'channel' });
    expect(clean.counts).to.deep.equal({ trials: 0, of: 300, outputs: {} });
    expect(nan.counts).to.deep.equal({ trials: 2, of: 300, outputs: { channel: 2 } });
    for (const name of ['pmd', 'pfa', 'nmse']) {
      for (let t = 0; t < 300; t++) {
        if (t === 3 || t === 7) expect(Object.is(nan.host[name][t], name === 'nmse' ? Number.POSITIVE_INFINITY : Number.NaN), `${name} trial ${t}`).to.equal(true);
        else expect(Object.is(nan.host[name][t], clean.host[name][t]), `${name} trial ${t}`).to.equal(true);
      }
    }
  });

  it('above 1 %: the job fails naming the detector, its spec path, the output and how many of how many trials', async () => {
    const message = await failure({ nanTrials: [0, 1, 2, 10, 40], output: 'channel' });
    expect(message).to.match(
      /^\[detector:flaky\] candidates\.flaky\.detector: returned non-finite values \(NaN or infinite\) in 5 of 50 trials \(channel in 5; N=20, L=8, M=4\), more than 1 % of the trials that may be left out of the statistics; check the detector's numerics/,
    );
  });

  it('counts cumulatively: rare NaN trials pass until they exceed 1 % of the trials so far; a single one always passes', async () => {
    // One NaN in the first batch of 16: tolerated (a single accident).
    const one = await run({ nanTrials: [5], output: 'activityScore' }, { batchSize: 16, targetEvents: 1e9, maxTrials: 64, maxSeconds: 600 });
    expect(one.metrics.pmd.skipped).to.deep.equal({ undefined: 0, nonFinite: 1 });
    // 3 in 300 trials = 1 %: allowed; a fourth one makes it more.
    const three = await run({ nanTrials: [60, 160, 260], output: 'activityScore' });
    expect(three.metrics.pfa.skipped).to.deep.equal({ undefined: 0, nonFinite: 3 });
    expect(await failure({ nanTrials: [60, 160, 260, 270], output: 'activityScore' })).to.match(/in 4 of 300 trials \(activityScore in 4;/);
  });

  it('a resumed job counts its stored batches: it fails where the uninterrupted job fails', async () => {
    // NaN in trials 0 and 50, batches of 50: batch 0 has 1 in 50 (a single one passes), batch 1
    // makes 2 in 100 > 1 %. A session resumed after batch 0 sees only trial 50 (1 in 50, which
    // alone would pass): the stored trial must count.
    const montecarlo = { batchSize: 50, targetEvents: 1e9, maxTrials: 300, maxSeconds: 600 };
    expect(await failure({ nanTrials: [0, 50], output: 'activityScore' }, montecarlo)).to.match(/in 2 of 100 trials \(activityScore in 2;/);
    const r = registry();
    const stored: BatchRecord[] = [];
    const [first] = planObject(spec({ nanTrials: [0, 50], output: 'activityScore' }, { ...montecarlo, maxTrials: 50 }), 'test.json', r).jobs;
    await runJob(first, { registry: r, onBatch: async (b) => void stored.push(b) });
    expect(stored).to.have.length(1);
    // The resumed session's detector counts trials from its own first call: trial 50 is its 0.
    const [job] = planObject(spec({ nanTrials: [0], output: 'activityScore' }, montecarlo), 'test.json', r).jobs;
    let message = '';
    try {
      await runJob(job, { registry: r, resume: stored });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.match(/in 2 of 100 trials \(stored batches in 1, activityScore in 1;/);
  });
});
