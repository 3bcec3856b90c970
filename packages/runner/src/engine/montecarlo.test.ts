import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Type } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { definePlugin, fitThreshold, TOKENS, TrialDomain, type Detector, type Estimate, type Observation } from '@gfra/core';
import { builtinRegistry } from '../spec/plugins';
import { Pipeline } from './pipeline';
import { container } from 'tsyringe';
import { runJob } from './montecarlo';
import type { JobResult } from '../results/format';
import { planObject } from '../plan/load';
import { tinySpec } from '../testing';

/** A detector that scores by received energy and records the gamma* it is given (test plugin). */
@injectable()
class ThresholdSpy implements Detector {
  static readonly given: number[] = [];
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'threshold-spy',
    summary: 'Scores every device by the received energy; records useActivityThreshold calls (a test plugin)',
    params: Type.Object({}, { additionalProperties: false }),
    provides: () => ['activityScore', 'activity'],
  });
  detect(obs: Observation): Estimate {
    return tf.tidy(() => {
      const energy = tf.sum(tf.add(tf.square(obs.y.re), tf.square(obs.y.im)), [1, 2]); // [B]
      const N = 20;
      const score = tf.mul(tf.reshape(energy, [-1, 1]), tf.linspace(0.5, 1.5, N).reshape([1, N])) as tf.Tensor2D;
      return { activityScore: score, activity: tf.zerosLike(score) };
    });
  }
  useActivityThreshold(gamma: number): void {
    ThresholdSpy.given.push(gamma);
  }
}

/** Declares an activityScore but returns none (a broken third-party plugin, for the error message). */
@injectable()
class ScorelessDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'scoreless',
    summary: 'Declares activityScore but returns none (a test plugin)',
    params: Type.Object({}, { additionalProperties: false }),
    provides: () => ['activityScore', 'activity'],
  });
  detect(obs: Observation): Estimate {
    return { activity: tf.zeros([obs.y.re.shape[0], 20]) as tf.Tensor2D };
  }
}

/** Returns what its `mode` says: NaN scores for one device of every 4th trial, or a score of the wrong shape (test plugin). */
@injectable()
class MisbehavingDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'misbehaving',
    summary: 'Returns NaN activity scores or a wrongly shaped activity (a broken third-party plugin, for the error message)',
    params: Type.Object({ mode: Type.Union([Type.Literal('nan'), Type.Literal('shape')]) }, { additionalProperties: false }),
    provides: () => ['activityScore', 'activity'],
  });
  constructor(@inject(TOKENS.params) private readonly params: { mode: 'nan' | 'shape' }) {}
  detect(obs: Observation): Estimate {
    return tf.tidy(() => {
      const B = obs.y.re.shape[0];
      const N = 20;
      if (this.params.mode === 'shape') {
        const score = tf.zeros([B, N]) as tf.Tensor2D;
        return { activityScore: score, activity: tf.zeros([B, N - 1]) as tf.Tensor2D };
      }
      // NaN at device 3 of trials 0, 4, 8, ...: B/4 (rounded up) non-finite scores per batch.
      const nan = Array.from({ length: B * N }, (_, i) => (Math.floor(i / N) % 4 === 0 && i % N === 3 ? Number.NaN : 1));
      const score = tf.tensor2d(nan, [B, N]);
      return { activityScore: score, activity: tf.onesLike(score) as tf.Tensor2D };
    });
  }
}

async function runAll(spec: Record<string, unknown>, registry = builtinRegistry()): Promise<JobResult[]> {
  const { jobs } = planObject(spec, 'test.json', registry);
  const out: JobResult[] = [];
  for (const job of jobs) out.push(await runJob(job, { registry }));
  return out;
}

const strip = (r: JobResult) => ({ ...r, seconds: 0, detectorTime: undefined });

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

  it('depends on the seed; shared draws (the default) pair candidates, "independent" draws do not', async () => {
    const twoCandidates = (draws: 'shared' | 'independent') =>
      tinySpec({
        candidates: {
          a: { detector: { plugin: 'correlation-energy' } },
          b: { detector: { plugin: 'correlation-energy' } },
        },
        montecarlo: { batchSize: 16, targetEvents: 20, maxTrials: 200, maxSeconds: 60, draws },
      });
    const independent = await runAll(twoCandidates('independent'));
    expect(strip(independent[0]).metrics).to.not.deep.equal(strip(independent[1]).metrics);
    const paired = await runAll(twoCandidates('shared'));
    expect(paired[0].metrics).to.deep.equal(paired[1].metrics);
    const reseeded = await runAll({ ...twoCandidates('shared'), seed: 8 });
    expect(reseeded[0].metrics).to.not.deep.equal(paired[0].metrics);
  });

  it('frees every tensor of a job', async () => {
    const before = tf.memory().numTensors;
    await runAll(tinySpec({ montecarlo: { batchSize: 16, targetEvents: 10, maxTrials: 64, maxSeconds: 60 } }));
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('non-finite activity scores in more than 1 % of the trials are an error naming the detector and the count, not silent misses', async () => {
    const registry = builtinRegistry().register(MisbehavingDetector);
    const spec = tinySpec({ candidates: { broken: { detector: { plugin: 'misbehaving', params: { mode: 'nan' } } } } });
    let message = '';
    try {
      await runAll(spec, registry);
    } catch (err) {
      message = (err as Error).message;
    }
    // tinySpec: batches of 16 trials, so trials 0, 4, 8, 12 of the first batch carry one NaN each.
    expect(message).to.match(
      /^\[detector:misbehaving\] candidates\.broken\.detector: returned non-finite values \(NaN or infinite\) in 4 of 16 trials \(activityScore in 4; N=20, L=8, M=4\), more than 1 % /,
    );
  });

  it('an output whose shape does not match the declared outputs is reported against the detector, not a metric', async () => {
    const registry = builtinRegistry().register(MisbehavingDetector);
    let message = '';
    try {
      await runAll(tinySpec({ candidates: { broken: { detector: { plugin: 'misbehaving', params: { mode: 'shape' } } } } }), registry);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.match(/^\[detector:misbehaving\] candidates\.broken\.detector: output activity has shape \[16, 19\]; expected \[16, 20\]/);
  });

  it('stops a job when aborted and marks it interrupted', async () => {
    const registry = builtinRegistry();
    const { jobs } = planObject(tinySpec(), 'test.json', registry);
    const controller = new AbortController();
    const r = await runJob(jobs[0], {
      registry,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'batch') controller.abort();
      },
    });
    expect(r.stop).to.equal('interrupted');
    expect(r.trials).to.equal(16);
  });

  describe('thresholding module (candidate `threshold` block)', () => {
    const spec = () =>
      tinySpec({
        candidates: {
          own: { detector: { plugin: 'correlation-energy', params: { threshold: { rule: 'false-alarm', falseAlarm: 0.3 } } } },
          fitted: {
            detector: { plugin: 'correlation-energy', params: { threshold: { rule: 'false-alarm', falseAlarm: 0.3 } } },
            threshold: { trials: 300, batchSize: 64 },
          },
        },
        montecarlo: { batchSize: 50, targetEvents: 100000, maxTrials: 200, maxSeconds: 60 },
      });

    /** Scores and truth of `trials` trials of a domain, by an independent pipeline. */
    async function scoresOf(domainName: string | undefined, trials: number): Promise<{ scores: Float32Array; active: Float32Array }> {
      const registry = builtinRegistry();
      const job = planObject(spec(), 'test.json', registry).jobs.find((j) => j.candidate === 'fitted');
      if (job === undefined) throw new Error('no job');
      const pipeline = new Pipeline(registry, job.pipeline, container, { domain: new TrialDomain(domainName) });
      try {
        await pipeline.prepare();
        return pipeline.activityScores({ first: 0, count: trials });
      } finally {
        pipeline.dispose();
      }
    }

    it('fits gamma* on training-domain trials and decides score >= gamma* on the evaluation trials', async () => {
      const [own, fitted] = await runAll(spec());
      const t = fitted.threshold;
      if (t === undefined) throw new Error('no threshold in the result');
      expect(own.threshold).to.equal(undefined);
      expect(t.trials).to.equal(300);
      // The fit, recomputed from the training-domain scores (an independent pipeline).
      const train = await scoresOf('train', 300);
      const refit = fitThreshold(train.scores, train.active);
      expect(t.gamma).to.equal(refit.gamma);
      expect(t.fittedErrorRate).to.be.closeTo(refit.errors / refit.samples, 1e-12);
      // The evaluation counts equal thresholding the evaluation-domain scores by hand at gamma*.
      const test = await scoresOf(undefined, 200);
      let misses = 0;
      let falseAlarms = 0;
      test.scores.forEach((s, i) => {
        if (test.active[i] === 1 && s < t.gamma) misses++;
        if (test.active[i] === 0 && s >= t.gamma) falseAlarms++;
      });
      expect(fitted.metrics.pmd.events).to.equal(misses);
      expect(fitted.metrics.pfa.events).to.equal(falseAlarms);
      // The training and evaluation draws differ.
      expect(Array.from(train.scores.slice(0, 20))).to.not.deep.equal(Array.from(test.scores.slice(0, 20)));
    });

    it('is optimal on its fitting trials: no other threshold makes fewer errors there, including the detector\'s own rule', async () => {
      const [, fitted] = await runAll(spec());
      const train = await scoresOf('train', 300);
      const errorsAt = (g: number) => train.scores.reduce((e, s, i) => e + ((s >= g) !== (train.active[i] === 1) ? 1 : 0), 0);
      const best = (fitted.threshold?.fittedErrorRate ?? NaN) * train.scores.length;
      for (const g of [0, 0.5, 1, 1.5, 2, 3, 5, 10]) expect(best).to.be.at.most(errorsAt(g) + 1e-9);
    });

    it('hands gamma* to a detector that takes it (useActivityThreshold), once, before evaluating', async () => {
      ThresholdSpy.given.length = 0;
      const [r] = await runAll(
        tinySpec({
          candidates: { spy: { detector: { plugin: 'threshold-spy' }, threshold: { trials: 64 } } },
          montecarlo: { batchSize: 32, targetEvents: 100000, maxTrials: 64, maxSeconds: 60 },
        }),
        builtinRegistry().register(ThresholdSpy),
      );
      expect(ThresholdSpy.given).to.deep.equal([r.threshold?.gamma]);
    });

    it('a detector that declares activityScore but returns none fails with the plugin, its spec path and the reason', async () => {
      let message = '';
      try {
        await runAll(
          tinySpec({ candidates: { broken: { detector: { plugin: 'scoreless' }, threshold: { trials: 16 } } } }),
          builtinRegistry().register(ScorelessDetector),
        );
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).to.match(/detector:scoreless/);
      expect(message).to.match(/candidates\.broken\.detector/);
      expect(message).to.match(/declares the output activityScore \(provides\) but returned none/);
    });

    it('records the detector\'s diagnostics (AMP-NN\'s eps1/eps2) per result, and none for detectors without', async () => {
      const [amp, energy] = await runAll(
        tinySpec({
          candidates: {
            amp: { detector: { plugin: 'amp-unfolded', params: { blocks: 2, activityProb: 0.2 } } },
            energy: { detector: { plugin: 'correlation-energy' } },
          },
          montecarlo: { batchSize: 16, targetEvents: 100000, maxTrials: 16, maxSeconds: 60 },
        }),
      );
      expect(amp.diagnostics?.eps1).to.be.closeTo(0.2, 1e-6);
      expect(amp.diagnostics?.['eps1/eps2']).to.be.closeTo(1, 1e-6);
      expect(energy.diagnostics).to.equal(undefined);
    });

    it('records the detector time per trial when more than one batch ran', async () => {
      const [r] = await runAll(tinySpec({ montecarlo: { batchSize: 16, targetEvents: 100000, maxTrials: 64, maxSeconds: 60 } }));
      expect(r.detectorTime?.trials).to.equal(48); // the first batch is a warm-up
      expect(r.detectorTime?.msPerTrial).to.be.greaterThan(0);
      const [single] = await runAll(tinySpec({ montecarlo: { batchSize: 64, targetEvents: 100000, maxTrials: 64, maxSeconds: 60 } }));
      expect(single.detectorTime).to.equal(undefined);
    });
  });
});
