import { expect } from 'chai';
import { planIssues, tinySpec } from '../testing';
import { planObject } from '../plan/load';

const MLP = { plugin: 'mlp-activity' };

function candidate(c: Record<string, unknown>): Record<string, unknown> {
  return tinySpec({ candidates: { c } });
}

const issues = planIssues;

describe('spec validation of train blocks', () => {
  it('accepts a valid train block and resolves its setup (defaults, overrides, loss)', () => {
    const v = planObject(
      candidate({ encoder: { plugin: 'learned-pilots' }, detector: MLP, train: { steps: 10, overrides: { 'channel.params.snrDb': { min: 0, max: 20 } } } }),
      'spec.json',
    );
    const setup = v.jobs[0].training;
    expect(setup?.loss).to.equal('bce');
    expect(setup?.block.optimizer).to.deep.equal({ type: 'adam', learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    expect(setup?.block.batchSize).to.equal(32);
    expect(setup?.pipeline.slots.channel.params.snrDb).to.deep.equal({ min: 0, max: 20 });
    expect(v.jobs[0].pipeline.slots.channel.params.snrDb, 'evaluation keeps its SNR').to.equal(5);
    expect(setup?.pipeline.trainable.map((t) => t.slot)).to.deep.equal(['encoder', 'detector']);
  });

  it('a candidate with train must have a trainable plugin', () => {
    const found = issues(candidate({ detector: { plugin: 'correlation-energy' }, train: { steps: 10 } }));
    expect(found.map(({ path, message }) => ({ path, message }))).to.deep.equal([
      {
        path: 'candidates.c.train',
        message:
          'candidate "c" has a train block, but none of its plugins is trainable (traffic "bernoulli", encoder "gaussian-pilots", channel "rayleigh", detector "correlation-energy")',
      },
    ]);
    // the hint lists every registered trainable plugin (the list grows as plugins are added)
    expect(found[0].hint).to.match(/^Use a trainable plugin \(encoder "learned-pilots"(, encoder "[a-z0-9-]+")*, detector "mlp-activity"(, detector "[a-z0-9-]+")*\), or remove "train"$/);
    expect(found[0].hint).to.contain('detector "dl-mampnet"');
    // frozen learned pilots are not trainable either
    expect(issues(candidate({ encoder: { plugin: 'learned-pilots', params: { trainable: false } }, detector: { plugin: 'correlation-energy' }, train: { steps: 10 } }))[0].message).to.match(
      /^candidate "c" has a train block, but none of its plugins is trainable \(traffic "bernoulli", encoder "learned-pilots"/,
    );
  });

  it('the loss must be computable from what the detector provides', () => {
    expect(issues(candidate({ detector: MLP, train: { steps: 10, loss: 'mse' } }))).to.deep.equal([
      {
        path: 'candidates.c.train.loss',
        message: '"mse" needs channel estimates (channel) from the detector, but detector "mlp-activity" of candidate "c" provides only activityScore, activity',
        hint: 'Use "bce"',
      },
    ]);
    expect(issues(candidate({ detector: MLP, train: { steps: 10, loss: 'plugin' } }))).to.deep.equal([
      {
        path: 'candidates.c.train.loss',
        message: 'is "plugin", but no trainable plugin of candidate "c" has its own loss (detector "mlp-activity")',
        hint: 'Use "bce" (activity), "mse" (channel estimate) or "ce" (messages)',
      },
    ]);
  });

  it('needs a length: steps, or epochs with a fixed training set', () => {
    expect(issues(candidate({ detector: MLP, train: {} }))).to.deep.equal([
      { path: 'candidates.c.train', message: 'needs a length: "steps", or "epochs" with "trainingSetSize"', hint: 'E.g. "steps": 2000 (fresh samples every batch)' },
    ]);
    expect(issues(candidate({ detector: MLP, train: { steps: 5, epochs: 2, trainingSetSize: 100 } }))).to.deep.equal([
      { path: 'candidates.c.train.epochs', message: 'cannot be given together with "steps"', hint: 'Give either "steps" or "epochs"' },
    ]);
    expect(issues(candidate({ detector: MLP, train: { epochs: 2 } }))).to.deep.equal([
      {
        path: 'candidates.c.train.epochs',
        message: 'needs "trainingSetSize" (an epoch is one pass over a fixed training set)',
        hint: 'Add "trainingSetSize": <trials>, or give "steps" to draw fresh samples for every batch',
      },
    ]);
  });

  it('overrides must be valid plugin parameters of a slot', () => {
    const with_ = (overrides: Record<string, unknown>) => issues(candidate({ detector: MLP, train: { steps: 5, overrides } }));
    expect(with_({ 'scenario.numDevices': 5 })).to.deep.equal([
      {
        path: 'candidates.c.train.overrides["scenario.numDevices"]',
        message: 'cannot override "scenario.numDevices" for training',
        hint: 'Override a plugin parameter of traffic, channel, encoder or detector, e.g. "channel.params.snrDb", or a whole slot, e.g. "detector": { "plugin": "sicnn" }',
      },
    ]);
    expect(with_({ 'channel.params.snrdB': 5 })).to.deep.equal([
      {
        path: 'candidates.c.train.overrides["channel.params.snrdB"]',
        message: 'value for channel.params.snrdB is not a known property',
        hint: 'Did you mean "snrDb"? Allowed properties: knownLargeScaleFading, knownNoiseVariance, noiseVar, snrDb',
      },
    ]);
    expect(with_({ 'channel.params.snrDb': { min: 20, max: 0 } })).to.deep.equal([
      { path: 'candidates.c.train.overrides["channel.params.snrDb"]', message: 'during training, channel.params.snrDb: min (20 dB) must be <= max (0 dB)' },
    ]);
    expect(with_({ 'traffic.params.activityProb': 2 })[0]).to.include({
      path: 'candidates.c.train.overrides["traffic.params.activityProb"]',
      message: 'value for traffic.params.activityProb must be <= 1 (got 2)',
    });
  });

  it('a whole slot can be replaced for training (and not mixed with one of its parameters); its config is validated', () => {
    const with_ = (overrides: Record<string, unknown>) => issues(candidate({ detector: MLP, train: { steps: 5, overrides } }));
    expect(with_({ detector: { plugin: 'mlp-activity', params: { hiddenWidth: 8 } } })).to.deep.equal([]);
    expect(with_({ detector: { plugin: 'mlp-activity' }, 'detector.params.hiddenWidth': 8 })[0]).to.include({
      path: 'candidates.c.train.overrides["detector.params.hiddenWidth"]',
      message: 'cannot override "detector.params.hiddenWidth" together with the whole "detector" slot',
    });
    expect(with_({ detector: { plugin: 'mlp-activty' } })[0]).to.include({ path: 'candidates.c.train.overrides.detector' });
  });

  it('the schema checks the form of the block (unknown keys, types, unions)', () => {
    expect(issues(candidate({ detector: MLP, train: { stpes: 5 } }))[0]).to.deep.include({ path: 'candidates.c.train.stpes', message: 'is not a known property' });
    expect(issues(candidate({ detector: MLP, train: { stpes: 5 } }))[0].hint).to.match(/^Did you mean "steps"\? Allowed properties: /);
    expect(issues(candidate({ detector: MLP, train: { steps: 5, optimizer: { type: 'rmsprop' } } }))).to.deep.equal([
      { path: 'candidates.c.train.optimizer.type', message: 'must be one of "adam", "sgd" (got "rmsprop")' },
    ]);
    expect(issues(candidate({ detector: MLP, train: { steps: 0 } }))[0]).to.deep.include({ path: 'candidates.c.train.steps', message: 'must be >= 1 (got 0)' });
  });
});
