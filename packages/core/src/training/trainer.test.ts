import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Value } from '@sinclair/typebox/value';
import { Generator, RandomStreams, TrialDomain, type DataPass, type TrialRange } from '../rng';
import { applyDefaults } from '../schema-defaults';
import { memoryCheckpointStore } from './artifacts';
import { TrainSchema, type TrainConfig } from './config';
import type { FitContext, TrainingBatch } from './trainable';
import { train, TrainingDiverged, TrainingInterrupted, type TrainingProblem } from './trainer';

function config(partial: Record<string, unknown>): TrainConfig {
  const c = applyDefaults(TrainSchema, partial) as TrainConfig;
  expect([...Value.Errors(TrainSchema, c)].map((e) => `${e.path} ${e.message}`)).to.deep.equal([]);
  return c;
}

/** What a toy forward pass drew: its trials, set and pass, and x [B, 3] and noise [B] per trial. */
interface Drawn {
  readonly trials: TrialRange;
  readonly set: string;
  readonly pass?: DataPass;
  readonly x: number[];
  readonly noise: number[];
}

/**
 * Toy problem: linear regression y = x . [1, -2, 0.5] + 0.1 noise, x ~ N(0, I_3), with trainable
 * w [3] and b [1]; every trial drawn from random streams keyed by its index, in the train or
 * validation domain, with `noise` redrawn for the trainer's pass (as the runner's channel noise).
 * `legacy`: the problem as it was before passes (ignores the pass). The batch carries
 * (prediction, target) in activityScore / activity.
 */
function toy(
  options: { fit?: (ctx: FitContext) => Promise<void>; nanAt?: number; validationScript?: number[]; legacy?: boolean; record?: (d: Drawn) => void } = {},
) {
  const domain = options.legacy === true ? new TrialDomain('train') : new TrialDomain('train', new Set(['noise']));
  const streams = new RandomStreams(['toy'], domain);
  const w = tf.variable(tf.zeros([3]));
  const b = tf.variable(tf.zeros([1]));
  const target = tf.tensor2d([[1], [-2], [0.5]]);
  let calls = 0;
  let validations = 0;
  const problem: TrainingProblem = {
    variables: { 'model/w': w, 'model/b': b },
    forward(trials, set, pass): TrainingBatch {
      if (set === 'validation' && options.validationScript !== undefined) {
        // a scripted validation loss: prediction sqrt(v), target 0
        const v = options.validationScript[Math.min(validations++, options.validationScript.length - 1)];
        return { trials, estimate: { activityScore: tf.fill([trials.count, 1], Math.sqrt(v)) }, truth: { activity: tf.zeros([trials.count, 1]) } } as unknown as TrainingBatch;
      }
      domain.current = set;
      if (options.legacy !== true) domain.pass = pass;
      const x = streams.normal(trials, 'x', [3]);
      const noise = streams.normal(trials, 'noise', [1], 0.1);
      domain.current = 'train';
      domain.pass = undefined;
      options.record?.({ trials, set, pass, x: Array.from(x.dataSync()), noise: Array.from(noise.dataSync()) });
      const y = tf.add(tf.matMul(x as tf.Tensor2D, target), noise);
      const pred = tf.add(tf.matMul(x as tf.Tensor2D, tf.reshape(w, [3, 1])), b);
      calls += 1;
      const bad = options.nanAt !== undefined && calls >= options.nanAt;
      return { trials, estimate: { activityScore: bad ? tf.mul(pred, NaN) : pred }, truth: { activity: y } } as unknown as TrainingBatch;
    },
    loss: (batch) => tf.mean(tf.square(tf.sub(batch.estimate.activityScore as tf.Tensor, batch.truth.activity))) as tf.Scalar,
    setTraining: () => undefined,
    ...(options.fit !== undefined ? { fit: { slot: 'model', run: options.fit } } : {}),
  };
  return {
    problem,
    weights: () => [...Array.from(w.dataSync()), ...Array.from(b.dataSync())],
    dispose: () => tf.dispose([w, b, target]),
  };
}

describe('training: the generic trainer', () => {
  it('decreases the loss on a small problem (Adam, fresh samples)', async () => {
    const t = toy();
    const out = await train(t.problem, { config: config({ steps: 80, batchSize: 16, optimizer: { type: 'adam', learningRate: 0.05 } }) });
    const first = out.lossHistory[0].loss;
    const last = out.lossHistory[out.lossHistory.length - 1].loss;
    expect(first).to.be.greaterThan(1);
    expect(last).to.be.lessThan(first / 10);
    expect(out.steps).to.equal(80);
    expect(out.stop).to.equal('completed');
    t.weights().slice(0, 3).forEach((x, i) => expect(x).to.be.closeTo([1, -2, 0.5][i], 0.3));
    t.dispose();
  });

  it('records the loss terms as their mean over the steps since the previous history entry, not the last step\'s', async () => {
    const t = toy();
    let step = 0;
    const problem: TrainingProblem = { ...t.problem, afterStep: () => void (step += 1), lossTerms: () => ({ step, constant: 2 }) };
    // 250 steps: an entry every floor(250 / 100) = 2 steps; the terms are read after afterStep
    const out = await train(problem, { config: config({ steps: 250, batchSize: 4, optimizer: { type: 'sgd', learningRate: 0.01 } }) });
    expect(out.lossHistory.length).to.equal(125);
    out.lossHistory.forEach((p, i) => {
      // entry i covers steps 2i + 1 and 2i + 2 (1-based), each reported as its own number
      expect(p.step).to.equal(2 * i + 2);
      expect(p.terms).to.deep.equal({ step: 2 * i + 1.5, constant: 2 });
    });
    t.dispose();
  });

  it('a run killed after a checkpoint and resumed ends with the same weights and history, bit for bit', async () => {
    const c = config({
      epochs: 6,
      trainingSetSize: 40,
      batchSize: 8,
      optimizer: { type: 'adam', learningRate: 0.05 },
      schedule: { type: 'cosine' },
      clipGlobalNorm: 5,
      validation: { size: 32, every: 4 },
      checkpointEvery: 7,
    });
    const a = toy();
    const full = await train(a.problem, { config: c });
    const store = memoryCheckpointStore();
    const b1 = toy();
    let error: unknown;
    try {
      await train(b1.problem, { config: c, checkpoints: store, killAfter: 17 });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(TrainingInterrupted);
    expect(store.saves).to.equal(2); // steps 7 and 14
    b1.dispose();
    const b2 = toy(); // a new process: fresh (zero) variables, state from the checkpoint
    const resumed = await train(b2.problem, { config: c, checkpoints: store });
    expect(resumed.resumedFrom).to.equal(14);
    expect(b2.weights()).to.deep.equal(a.weights());
    expect(resumed.lossHistory).to.deep.equal(full.lossHistory);
    expect(resumed.bestValidationLoss).to.equal(full.bestValidationLoss);
    a.dispose();
    b2.dispose();
  });

  describe('trainingNoise with a fixed training set', () => {
    const fixedSet = { epochs: 3, trainingSetSize: 20, optimizer: { type: 'adam', learningRate: 0.05 }, validation: { size: 8, every: 3 } };
    /** Per (trial, epoch), the x and noise the training set's trial got; the validation draws. */
    function drawsOf(noise: 'redraw' | 'fixed' | undefined, batchSize: number) {
      const train = new Map<string, { x: number[]; noise: number[] }>();
      const validation = new Map<number, number[]>();
      const epochs: (number | undefined)[] = [];
      const t = toy({
        record: (d) => {
          if (d.set === 'validation') {
            for (let b = 0; b < d.trials.count; b++) {
              const drawn = [...d.x.slice(3 * b, 3 * b + 3), d.noise[b]];
              const before = validation.get(d.trials.first + b);
              if (before !== undefined) expect(drawn, 'the validation set at every check').to.deep.equal(before);
              validation.set(d.trials.first + b, drawn);
            }
            return;
          }
          epochs.push(d.pass?.epoch);
          for (let b = 0; b < d.trials.count; b++) {
            train.set(`${d.trials.first + b}@${d.pass?.epoch}`, { x: d.x.slice(3 * b, 3 * b + 3), noise: [d.noise[b]] });
          }
        },
      });
      return { t, train, validation, epochs, config: config({ ...fixedSet, batchSize, ...(noise === undefined ? {} : { trainingNoise: noise }) }) };
    }

    it('"redraw" (the default): a trial keeps x but gets new noise every epoch, the same whatever the batch size; validation never changes', async () => {
      const a = drawsOf(undefined, 4);
      expect(a.config.trainingNoise).to.equal('redraw');
      await train(a.t.problem, { config: a.config });
      expect(a.epochs).to.deep.equal([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
      for (let trial = 0; trial < 20; trial++) {
        const [e0, e1, e2] = [0, 1, 2].map((e) => a.train.get(`${trial}@${e}`) as { x: number[]; noise: number[] });
        expect(e1.x, `trial ${trial}`).to.deep.equal(e0.x);
        expect(e2.x, `trial ${trial}`).to.deep.equal(e0.x);
        expect(e1.noise, `trial ${trial}`).to.not.deep.equal(e0.noise);
        expect(e2.noise, `trial ${trial}`).to.not.deep.equal(e1.noise);
      }
      const b = drawsOf('redraw', 6); // 4 batches per epoch, the last one of 2 trials
      await train(b.t.problem, { config: b.config });
      expect(b.train).to.deep.equal(a.train);
      expect(b.validation).to.deep.equal(a.validation);
      a.t.dispose();
      b.t.dispose();
    });

    it('"fixed": the same draws in every epoch, bit for bit those of the problem before passes existed (same weights)', async () => {
      const f = drawsOf('fixed', 4);
      await train(f.t.problem, { config: f.config });
      expect(new Set(f.epochs)).to.deep.equal(new Set([undefined]));
      // the pre-pass key of each trial's noise: [...key, 'domain:train', 'noise', trial]
      for (let trial = 0; trial < 20; trial++) {
        expect(f.train.get(`${trial}@undefined`)?.noise, `trial ${trial}`).to.deep.equal([Math.fround(0.1 * Generator.fromKey(['toy', 'domain:train', 'noise', trial]).normal())]);
      }
      const legacy = toy({ legacy: true });
      await train(legacy.problem, { config: f.config });
      expect(f.t.weights()).to.deep.equal(legacy.weights());
      const r = toy();
      await train(r.problem, { config: config({ ...fixedSet, batchSize: 4 }) });
      expect(r.weights(), '"redraw" trains other weights').to.not.deep.equal(legacy.weights());
      f.t.dispose();
      legacy.dispose();
      r.dispose();
    });

    it('phases of a plugin schedule get their own noise; fresh samples and the plugin\'s own forward calls get no pass', async () => {
      const passes: (DataPass | undefined)[] = [];
      const t = toy({
        record: (d) => passes.push(d.pass),
        fit: async (ctx) => {
          tf.dispose(tf.tidy(() => ctx.forward({ first: 0, count: 4 }, 'train').estimate.activityScore as tf.Tensor));
          await ctx.phase('one', { config: { epochs: 1 } });
          await ctx.phase('two', { config: { epochs: 1 } });
          await ctx.phase('fresh', { config: { steps: 2, trainingSetSize: undefined } });
        },
      });
      await train(t.problem, { config: config({ epochs: 1, trainingSetSize: 8, batchSize: 4 }) });
      expect(passes).to.deep.equal([undefined, { phase: 0, epoch: 0 }, { phase: 0, epoch: 0 }, { phase: 1, epoch: 0 }, { phase: 1, epoch: 0 }, undefined, undefined]);
      t.dispose();
    });
  });

  it('stops early after `patience` validations without improvement and restores the best weights', async () => {
    // validation losses 4, 2, 3, 2.5 (no improvement twice after the best) -> stop at the 4th check
    const t = toy({ validationScript: [4, 2, 3, 2.5, 1] });
    const seen: Record<number, number[]> = {};
    const out = await train(t.problem, {
      config: config({ steps: 100, batchSize: 8, optimizer: { type: 'adam', learningRate: 0.05 }, validation: { size: 64, every: 5, patience: 2 } }),
      onProgress: (p) => {
        seen[p.globalStep] = t.weights();
      },
    });
    expect(out.stop).to.equal('early-stopping');
    expect(out.steps).to.equal(20);
    expect(out.bestStep).to.equal(10);
    expect(out.bestValidationLoss).to.be.closeTo(2, 1e-6);
    expect(out.lossHistory.filter((h) => h.validationLoss !== undefined).map((h) => [h.step, Math.round((h.validationLoss as number) * 10) / 10])).to.deep.equal([
      [5, 4],
      [10, 2],
      [15, 3],
      [20, 2.5],
    ]);
    expect(t.weights(), 'the weights of step 10 are restored').to.deep.equal(seen[10]);
    expect(t.weights()).to.not.deep.equal(seen[20]);
    t.dispose();
  });

  it('runs a plugin-driven schedule: phases over subsets of the variables, skipped on resume', async () => {
    const fit = async (ctx: FitContext) => {
      const before = Array.from(ctx.variables['model/w'].dataSync());
      const first = await ctx.phase('bias-only', { variables: ['model/b'], config: { steps: 6 } });
      expect(first.steps).to.equal(6);
      expect(Array.from(ctx.variables['model/w'].dataSync()), 'w is frozen in the first phase').to.deep.equal(before);
      await ctx.phase('all', { variables: ['model/'], config: { steps: 8, optimizer: { type: 'sgd', learningRate: 0.1, momentum: 0.5, nesterov: true } } });
    };
    const c = config({ steps: 1, batchSize: 8, optimizer: { type: 'adam', learningRate: 0.1 }, checkpointEvery: 4 });
    const a = toy({ fit });
    const full = await train(a.problem, { config: c });
    expect(full.phases.map((p) => [p.name, p.steps])).to.deep.equal([['bias-only', 6], ['all', 8]]);
    expect(full.steps).to.equal(14);
    expect(new Set(full.lossHistory.map((h) => h.phase))).to.deep.equal(new Set(['bias-only', 'all']));
    const store = memoryCheckpointStore();
    const b1 = toy({ fit });
    await train(b1.problem, { config: c, checkpoints: store, killAfter: 11 }).catch(() => undefined);
    b1.dispose();
    const b2 = toy({
      fit: async (ctx) => {
        // on resume the completed first phase returns at once
        const first = await ctx.phase('bias-only', { variables: ['model/b'], config: { steps: 6 } });
        expect(first.steps).to.equal(6);
        await ctx.phase('all', { variables: ['model/'], config: { steps: 8, optimizer: { type: 'sgd', learningRate: 0.1, momentum: 0.5, nesterov: true } } });
      },
    });
    const resumed = await train(b2.problem, { config: c, checkpoints: store });
    expect(resumed.resumedFrom).to.equal(8);
    expect(b2.weights()).to.deep.equal(a.weights());
    a.dispose();
    b2.dispose();
  });

  it('reports divergence with the step and what to change', async () => {
    const t = toy({ nanAt: 3 });
    let error: unknown;
    try {
      await train(t.problem, { config: config({ steps: 10, batchSize: 4 }) });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(TrainingDiverged);
    expect((error as Error).message).to.equal(
      'training diverged at step 3: the loss is NaN. Lower the learning rate (train.optimizer.learningRate) or clip the gradients (train.clipGlobalNorm)',
    );
    t.dispose();
  });

  it('leaves no tensors behind', async () => {
    const t = toy();
    const before = tf.memory().numTensors;
    await train(t.problem, { config: config({ steps: 12, batchSize: 8, validation: { size: 16, every: 4 }, checkpointEvery: 5 }), checkpoints: memoryCheckpointStore() });
    expect(tf.memory().numTensors).to.equal(before);
    t.dispose();
  });
});
