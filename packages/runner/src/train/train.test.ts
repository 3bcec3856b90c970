import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { container as rootContainer } from 'tsyringe';
import {
  ArtifactError,
  binaryCrossEntropy,
  cx,
  readTrainedArtifact,
  readTransmitFile,
  train,
  TrainingInterrupted,
  TrialDomain,
  writeTrainedArtifact,
  writeTransmitFile,
  type TrainConfig,
} from '@gfra/core';
import { builtinRegistry } from '../spec/plugins';
import { exportTransmit } from '../cli/export';
import { runJob } from '../engine/montecarlo';
import { Pipeline } from '../engine/pipeline';
import { planObject, type LoadedSpec } from '../plan/load';
import type { PlannedJob } from '../plan/plan';
import { tinySpec } from '../testing';
import { trainingDomain, trainingKey, trainingProblem, trainJob } from './train';

const TRAIN = { loss: 'bce', steps: 40, batchSize: 16, optimizer: { type: 'adam', learningRate: 0.01 }, validation: { size: 64, every: 10 }, checkpointEvery: 15 };

/** A small spec with one trained candidate: learned pilots + MLP (N = 10, L = 4, M = 2). */
function spec(overrides: Record<string, unknown> = {}, train: Record<string, unknown> = {}): Record<string, unknown> {
  return tinySpec({
    name: 'train-tiny',
    scenario: { numDevices: 10, numAntennas: 2, sequenceLength: 4 },
    traffic: { plugin: 'bernoulli', params: { activityProb: 0.2 } },
    channel: { plugin: 'rayleigh', params: { snrDb: 10 } },
    encoder: { plugin: 'gaussian-pilots', params: { normalize: true } },
    candidates: {
      learned: {
        encoder: { plugin: 'learned-pilots' },
        detector: { plugin: 'mlp-activity', params: { hiddenWidth: 16 } },
        train: { ...TRAIN, ...train },
      },
    },
    montecarlo: { batchSize: 64, targetEvents: 20, maxTrials: 128, maxSeconds: 60 },
    ...overrides,
  });
}

function load(s: Record<string, unknown>): LoadedSpec {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-train-')), 'spec.json');
  fs.writeFileSync(file, JSON.stringify(s));
  return planObject(s, file, builtinRegistry());
}

function artifacts(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-artifacts-'));
}

const jobOf = (loaded: LoadedSpec, candidate = 'learned'): PlannedJob => loaded.jobs.find((j) => j.candidate === candidate) as PlannedJob;

describe('training through the pipeline', function () {
  this.timeout(60000);

  it('non-zero gradients reach the pilot variables through the channel (the MLP does not read the codebook)', async () => {
    const loaded = load(spec());
    const job = jobOf(loaded);
    const pipeline = new Pipeline(loaded.registry, job.pipeline, rootContainer, { domain: new TrialDomain('train') });
    await pipeline.prepare();
    pipeline.setTraining(true);
    const variables = pipeline.variables();
    expect(Object.keys(variables)).to.include.members(['encoder/pilotsRe', 'encoder/pilotsIm', 'detector/output/kernel']);
    const { value, grads } = tf.variableGrads(() => binaryCrossEntropy(pipeline.forward({ first: 0, count: 16 })), [variables['encoder/pilotsRe'], variables['encoder/pilotsIm']]);
    for (const name of ['encoder/pilotsRe', 'encoder/pilotsIm']) {
      const g = grads[variables[name].name];
      const norm = tf.tidy(() => tf.norm(g).dataSync()[0]);
      expect(norm, name).to.be.greaterThan(1e-6);
      expect(Number.isFinite(norm)).to.equal(true);
    }
    tf.dispose([value, ...Object.values(grads)]);
    pipeline.setTraining(false);
    pipeline.dispose();
  });

  it('decreases the loss on a small problem, and records the history in results', async () => {
    const dir = artifacts();
    const loaded = load(spec({}, { steps: 60 }));
    const summary = await trainJob(loaded, jobOf(loaded), { artifacts: dir });
    const h = summary.lossHistory;
    expect(h[0].step).to.equal(1);
    expect(h[h.length - 1].step).to.equal(60);
    expect(h[h.length - 1].loss).to.be.lessThan(0.8 * h[0].loss);
    expect(h.filter((p) => p.validationLoss !== undefined).map((p) => p.step)).to.deep.equal([10, 20, 30, 40, 50, 60]);
    expect(summary.reused).to.equal(false);
    // the Monte Carlo evaluation loads the artifact and attaches the summary
    const result = await runJob(jobOf(loaded), { registry: loaded.registry, artifact: summary.dir });
    expect(result.trials).to.be.greaterThan(0);
  });

  it('with a fixed training set, a trial keeps its activity and fading and gets new channel noise every epoch ("redraw")', async () => {
    const loaded = load(spec({}, { steps: undefined, epochs: 2, trainingSetSize: 32 }));
    const job = jobOf(loaded);
    const training = job.training as NonNullable<PlannedJob['training']>;
    const domain = trainingDomain();
    const pipeline = new Pipeline(loaded.registry, training.pipeline, rootContainer, { domain });
    await pipeline.prepare();
    const problem = trainingProblem(pipeline, job, domain);
    const trials = { first: 5, count: 6 };
    const draw = (set: 'train' | 'validation', epoch?: number) =>
      tf.tidy(() => {
        const b = problem.forward(trials, set, epoch === undefined ? undefined : { phase: 0, epoch });
        const arrays = (t: tf.Tensor) => Array.from(t.dataSync());
        return { activity: arrays(b.truth.activity), fading: cx.toArrays(b.channel.channel), y: cx.toArrays(b.observation.y) };
      });
    const e0 = draw('train', 0);
    const e1 = draw('train', 1);
    expect(e1.activity).to.deep.equal(e0.activity);
    expect(e1.fading).to.deep.equal(e0.fading);
    expect(e1.y.re, 'y = signal + new noise').to.not.deep.equal(e0.y.re);
    expect(draw('train', 1), 'the same epoch drawn again').to.deep.equal(e1);
    expect(draw('validation', 1), 'validation ignores the pass').to.deep.equal(draw('validation'));
    expect(domain.pass, 'reset after each forward').to.equal(undefined);
    // no pass ("fixed", and what training drew before passes existed): the draws of a plain train domain
    const fixed = draw('train');
    expect(fixed.y.re).to.not.deep.equal(e0.y.re);
    const old = new Pipeline(loaded.registry, training.pipeline, rootContainer, { domain: new TrialDomain('train') });
    await old.prepare();
    const before = tf.tidy(() => cx.toArrays(old.forward(trials).observation.y));
    expect(fixed.y).to.deep.equal(before);
    pipeline.dispose();
    old.dispose();
  });

  it('save -> load gives bit-identical outputs', async () => {
    const loaded = load(spec({}, { steps: 10 }));
    const job = jobOf(loaded);
    const training = job.training as NonNullable<PlannedJob['training']>;
    const domain = new TrialDomain('train');
    const a = new Pipeline(loaded.registry, training.pipeline, rootContainer, { domain });
    await a.prepare();
    await train(trainingProblem(a, job, domain), { config: training.block as TrainConfig });
    domain.current = undefined; // evaluation draws
    const outputs = (p: Pipeline) => tf.tidy(() => p.forward({ first: 3, count: 8 }).estimate.activityScore as tf.Tensor);
    const scoreA = outputs(a);
    const dir = path.join(artifacts(), 'x');
    await writeTrainedArtifact(dir, a.variables(), { key: 'k' }, {}, 'test');
    const { weights } = readTrainedArtifact(dir);
    const b = new Pipeline(loaded.registry, job.pipeline, rootContainer);
    await b.prepare({ tensors: weights, file: dir, fix: '' });
    const scoreB = outputs(b);
    expect(Array.from(scoreB.dataSync() as Float32Array)).to.deep.equal(Array.from(scoreA.dataSync() as Float32Array));
    for (const [n, v] of Object.entries(a.variables())) expect(Array.from(b.variables()[n].dataSync()), n).to.deep.equal(Array.from(v.dataSync()));
    tf.dispose([scoreA, scoreB, ...Object.values(weights)]);
    a.dispose();
    b.dispose();
  });

  it('a killed training resumes from its last checkpoint and ends with the same weights as an uninterrupted one', async () => {
    const loaded = load(spec());
    const full = await trainJob(loaded, jobOf(loaded), { artifacts: artifacts() });
    const dir = artifacts();
    let error: unknown;
    try {
      await trainJob(loaded, jobOf(loaded), { artifacts: dir, killAfter: 25 });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(TrainingInterrupted);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.checkpoint'))).to.have.length(1);
    const resumed = await trainJob(loaded, jobOf(loaded), { artifacts: dir });
    const sha = (d: string) => (readTrainedArtifact(d).meta.weights as { sha256: string }).sha256;
    expect(sha(resumed.dir)).to.equal(sha(full.dir));
    expect(resumed.lossHistory).to.deep.equal(full.lossHistory);
    expect(readTrainedArtifact(resumed.dir).meta.training).to.include({ resumedFrom: 15 });
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.checkpoint')), 'checkpoint removed once done').to.have.length(0);
  });

  it('reuses an artifact with the same inputs, and retrains with retrain', async () => {
    const dir = artifacts();
    const loaded = load(spec({}, { steps: 5 }));
    const first = await trainJob(loaded, jobOf(loaded), { artifacts: dir });
    const again = await trainJob(load(spec({ montecarlo: { batchSize: 32, targetEvents: 5, maxTrials: 64, maxSeconds: 9 } }, { steps: 5 })), jobOf(loaded), { artifacts: dir });
    expect(again.reused).to.equal(true);
    expect(again.dir).to.equal(first.dir);
    expect(again.lossHistory).to.deep.equal(first.lossHistory);
    const forced = await trainJob(loaded, jobOf(loaded), { artifacts: dir, retrain: true });
    expect(forced.reused).to.equal(false);
  });

  it('the cache key changes with every input that determines the weights, and only with those', () => {
    const key = (s: Record<string, unknown>, candidate = 'learned') => {
      const loaded = load(s);
      return trainingKey(loaded, jobOf(loaded, candidate)).key;
    };
    const base = key(spec());
    const learned = (over: Record<string, unknown>) => ({ ...(spec().candidates as Record<string, Record<string, unknown>>).learned, ...over });
    const changes: Record<string, string> = {
      seed: key(spec({ seed: 8 })),
      scenario: key(spec({ scenario: { numDevices: 10, numAntennas: 3, sequenceLength: 4 } })),
      traffic: key(spec({ traffic: { plugin: 'bernoulli', params: { activityProb: 0.3 } } })),
      channel: key(spec({ channel: { plugin: 'rayleigh', params: { snrDb: 11 } } })),
      detector: key(spec({ candidates: { learned: learned({ detector: { plugin: 'mlp-activity', params: { hiddenWidth: 17 } } }) } })),
      encoder: key(spec({ candidates: { learned: learned({ encoder: { plugin: 'learned-pilots', params: { trainable: false } } }) } })),
      steps: key(spec({}, { steps: 41 })),
      optimizer: key(spec({}, { optimizer: { type: 'adam', learningRate: 0.02 } })),
      overrides: key(spec({}, { overrides: { 'channel.params.snrDb': 5 } })),
      validation: key(spec({}, { validation: { size: 64, every: 5 } })),
      trainingNoise: key(spec({}, { trainingNoise: 'fixed' })),
      point: key(spec({ sweep: { 'montecarlo.maxTrials': [128, 256] } })),
    };
    for (const [what, k] of Object.entries(changes)) expect(k, `changing ${what}`).to.not.equal(base);
    const same: Record<string, string> = {
      montecarlo: key(spec({ montecarlo: { batchSize: 8, targetEvents: 1, maxTrials: 9, maxSeconds: 1 } })),
      metrics: key(spec({ metrics: [{ plugin: 'activity', params: {} }] })),
      'another metric (its own stream)': key(spec({ metrics: [{ plugin: 'activity', params: {} }, { plugin: 'ser', params: {} }] })),
      name: key(spec({ name: 'other', description: 'text' })),
      checkpointEvery: key(spec({}, { checkpointEvery: 3 })),
      'trainingNoise at its default': key(spec({}, { trainingNoise: 'redraw' })),
      'another candidate': key(spec({ candidates: { learned: learned({}), energy: { detector: { plugin: 'correlation-energy' } } } })),
      // Shared draws: a candidate's name is not part of its streams, so the same training is the same artifact.
      'the candidate name (shared draws)': key(spec({ candidates: { renamed: learned({}) } }), 'renamed'),
      'defaults written out': key(spec({ channel: { plugin: 'rayleigh', params: { snrDb: 10, noiseVar: 1 } } }, { schedule: { type: 'constant' } })),
    };
    for (const [what, k] of Object.entries(same)) expect(k, `changing ${what}`).to.equal(base);
    // Independent draws: each candidate has its own streams, hence its own training.
    const independent = (candidates?: Record<string, unknown>) => spec({ montecarlo: { draws: 'independent' }, ...(candidates === undefined ? {} : { candidates }) });
    expect(key(independent({ renamed: learned({}) }), 'renamed')).to.not.equal(key(independent()));
    // Repetitions: one training per repetition (its own draws), or the first one's with shareAcrossRepetitions.
    const repetitionKeys = (train: Record<string, unknown> = {}) => {
      const loaded = load(spec({ montecarlo: { repetitions: 2 } }, train));
      return loaded.jobs.filter((j) => j.candidate === 'learned').map((j) => trainingKey(loaded, j).key);
    };
    const [first, second] = repetitionKeys();
    expect(first).to.equal(base);
    expect(second).to.not.equal(first);
    expect(repetitionKeys({ shareAcrossRepetitions: true })).to.deep.equal([base, base]);
  });

  it('rejects a truncated artifact with a message naming the file and the fix', async () => {
    const dir = artifacts();
    const loaded = load(spec({}, { steps: 3 }));
    const summary = await trainJob(loaded, jobOf(loaded), { artifacts: dir });
    const file = path.join(summary.dir, 'weights.bin');
    const size = fs.statSync(file).size;
    fs.truncateSync(file, 100);
    let error: unknown;
    try {
      await trainJob(loaded, jobOf(loaded), { artifacts: dir });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(ArtifactError);
    expect((error as Error).message).to.equal(`${file}: is truncated: it has 100 bytes, the manifest lists ${size}. Delete ${summary.dir} to train again (or run with --retrain)`);
    const retrained = await trainJob(loaded, jobOf(loaded), { artifacts: dir, retrain: true });
    expect(fs.statSync(path.join(retrained.dir, 'weights.bin')).size).to.equal(size);
  });

  it('exports the learned codebook as JSON, which codebook-file loads bit for bit in another spec', async () => {
    const dir = artifacts();
    const loaded = load(spec({}, { steps: 5 }));
    const summary = await trainJob(loaded, jobOf(loaded), { artifacts: dir });
    const obj = await exportTransmit(summary.dir);
    expect(obj.kind).to.equal('codebook');
    expect(obj.shape).to.deep.equal([4, 10]);
    expect(obj.provenance).to.include({ candidate: 'learned', artifact: summary.artifact });
    const file = path.join(dir, 'pilots.json');
    writeTransmitFile(file, obj);
    // the evaluation pipeline's codebook (trained weights) equals the file's, through codebook-file
    const evaluation = new Pipeline(loaded.registry, jobOf(loaded).pipeline, rootContainer);
    const { weights } = readTrainedArtifact(summary.dir);
    await evaluation.prepare({ tensors: weights, file: summary.dir, fix: '' });
    const other = load(spec({ encoder: { plugin: 'codebook-file', params: { path: file } }, candidates: { energy: { detector: { plugin: 'correlation-energy' } } } }));
    const fromFile = new Pipeline(other.registry, jobOf(other, 'energy').pipeline, rootContainer);
    await fromFile.prepare();
    const learned = cx.toArrays(evaluation.sideInformation().codebook as cx.ComplexTensor);
    expect(cx.toArrays(fromFile.sideInformation().codebook as cx.ComplexTensor)).to.deep.equal(learned);
    expect(readTransmitFile(file).re).to.deep.equal(learned.re);
    tf.dispose(Object.values(weights));
    evaluation.dispose();
    fromFile.dispose();
  });
});

describe('gfra train / gfra export (CLI)', function () {
  this.timeout(120000);

  it('trains, prints a table, and exports the learned codebook', () => {
    const root = path.resolve(__dirname, '..', '..', '..', '..');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-train-cli-'));
    const file = path.join(dir, 'spec.json');
    fs.writeFileSync(file, JSON.stringify(spec({}, { steps: 5 })));
    const gfra = (...args: string[]) =>
      spawnSync(process.execPath, [path.join(root, 'packages', 'runner', 'bin', 'gfra.js'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1' } });
    const trained = gfra('train', file, '--artifacts', 'art');
    expect(trained.status, trained.stderr).to.equal(0);
    expect(trained.stdout).to.match(/candidate\s+point\s+status\s+steps\s+loss\s+best val loss\s+artifact/);
    expect(trained.stdout).to.match(/learned\s+-\s+trained\s+5\s/);
    const artifact = path.join(dir, 'art', fs.readdirSync(path.join(dir, 'art'))[0]);
    const out = path.join(dir, 'pilots.json');
    const exported = gfra('export', artifact, '--out', out);
    expect(exported.status, exported.stderr).to.equal(0);
    expect(exported.stdout).to.equal(`codebook [4, 10] written to ${out}\n`);
    expect(readTransmitFile(out).provenance).to.include({ candidate: 'learned' });
  });
});
