import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Value } from '@sinclair/typebox/value';
import { RandomStreams, TrialDomain } from '../rng';
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

/**
 * Toy problem: linear regression y = x . [1, -2, 0.5] + 0.1 noise, x ~ N(0, I_3), with trainable
 * w [3] and b [1]; every trial drawn from random streams keyed by its index, in the train or
 * validation domain. The batch carries (prediction, target) in activityScore / activity.
 */
function toy(options: { fit?: (ctx: FitContext) => Promise<void>; nanAt?: number; validationScript?: number[] } = {}) {
  const domain = new TrialDomain('train');
  const streams = new RandomStreams(['toy'], domain);
  const w = tf.variable(tf.zeros([3]));
  const b = tf.variable(tf.zeros([1]));
  const target = tf.tensor2d([[1], [-2], [0.5]]);
  let calls = 0;
  let validations = 0;
  const problem: TrainingProblem = {
    variables: { 'model/w': w, 'model/b': b },
    forward(trials, set): TrainingBatch {
      if (set === 'validation' && options.validationScript !== undefined) {
        // a scripted validation loss: prediction sqrt(v), target 0
        const v = options.validationScript[Math.min(validations++, options.validationScript.length - 1)];
        return { trials, estimate: { activityScore: tf.fill([trials.count, 1], Math.sqrt(v)) }, truth: { activity: tf.zeros([trials.count, 1]) } } as unknown as TrainingBatch;
      }
      domain.current = set;
      const x = streams.normal(trials, 'x', [3]);
      const noise = streams.normal(trials, 'noise', [1], 0.1);
      domain.current = 'train';
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
