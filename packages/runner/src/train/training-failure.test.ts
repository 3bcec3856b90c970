/**
 * A training that throws fails its own job only: the run records it (reason, point, candidate)
 * among the failures and evaluates every other job.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Type } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { definePlugin, TOKENS, type Detector, type Estimate, type Observation, type Scenario } from '@gfra/core';
import { planObject } from '../plan/load';
import { runSpec } from '../run';
import { builtinRegistry } from '../spec/plugins';
import { tinySpec } from '../testing';

/** Energy scores with one trainable scale; its forward pass throws while training (a test plugin). */
@injectable()
class TrainBomb implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'train-bomb',
    summary: 'Energy scores times a trainable scale; throws while training (a test plugin)',
    params: Type.Object({}, { additionalProperties: false }),
    provides: () => ['activityScore', 'activity'],
    training: () => ({}),
  });
  private readonly scale = tf.variable(tf.scalar(1), true, `train-bomb-${Math.random()}`);
  private training = false;
  constructor(@inject(TOKENS.scenario) private readonly scenario: Scenario) {}
  trainableVariables(): Readonly<Record<string, tf.Variable>> {
    return { scale: this.scale };
  }
  setTraining(training: boolean): void {
    this.training = training;
  }
  detect(obs: Observation): Estimate {
    if (this.training) throw new Error('exploded while training');
    return tf.tidy(() => {
      const energy = tf.sum(tf.add(tf.square(obs.y.re), tf.square(obs.y.im)), [1, 2]).reshape([-1, 1]);
      const score = tf.mul(tf.tile(energy, [1, this.scenario.numDevices]), this.scale) as tf.Tensor2D;
      return { activityScore: score, activity: tf.zerosLike(score) as tf.Tensor2D };
    });
  }
  dispose(): void {
    this.scale.dispose();
  }
}

describe('a training that throws', function () {
  this.timeout(120000);

  it('fails its job only: recorded with its reason, the other candidates evaluated', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-train-fail-'));
    const registry = builtinRegistry().register(TrainBomb);
    const spec = tinySpec({
      candidates: {
        energy: { detector: { plugin: 'correlation-energy' } },
        bomb: { detector: { plugin: 'train-bomb' }, train: { steps: 3, batchSize: 8 } },
        after: { detector: { plugin: 'correlation-energy', params: { threshold: { rule: 'midpoint' } } } },
      },
      sweep: { 'scenario.sequenceLength': [6, 10] },
      montecarlo: { batchSize: 16, targetEvents: 1e9, maxTrials: 32, maxSeconds: 600 },
    });
    const warnings: string[] = [];
    const run = await runSpec(planObject(spec, path.join(dir, 'spec.json'), registry), {
      out: path.join(dir, 'out'),
      backend: 'wasm',
      artifacts: path.join(dir, 'artifacts'),
      onProgress: (e) => {
        if (e.type === 'warning') warnings.push(e.message);
      },
    });
    const { results, failures = [], complete } = run.results;
    expect(complete).to.equal(false);
    expect(results.map((r) => `${r.candidate}@${r.point['scenario.sequenceLength']}`)).to.deep.equal(['energy@6', 'after@6', 'energy@10', 'after@10']);
    expect(failures.map((f) => [f.candidate, f.point['scenario.sequenceLength'], f.message])).to.deep.equal([
      ['bomb', 6, 'training failed: [detector:train-bomb] candidates.bomb.detector: detect failed: exploded while training'],
      ['bomb', 10, 'training failed: [detector:train-bomb] candidates.bomb.detector: detect failed: exploded while training'],
    ]);
    expect(warnings.filter((w) => w.includes('training failed'))).to.have.length(2);
  });

  it('an --artifacts path that is a file is refused before any training, with the fix', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-train-fail-'));
    const file = path.join(dir, 'artifacts');
    fs.writeFileSync(file, 'not a folder');
    const spec = tinySpec({
      candidates: { learned: { encoder: { plugin: 'learned-pilots' }, detector: { plugin: 'mlp-activity' }, train: { steps: 2, batchSize: 8 } } },
    });
    let message = '';
    try {
      await runSpec(planObject(spec, path.join(dir, 'spec.json')), { out: path.join(dir, 'out'), backend: 'wasm', artifacts: file });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.equal(`--artifacts ${file} is a file, not a folder: trained artifacts are folders inside it. Remove the file, or name another folder with --artifacts`);
  });
});
