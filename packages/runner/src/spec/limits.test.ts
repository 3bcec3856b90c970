import { expect } from 'chai';
import { SpecError } from '@gfra/core';
import { planIssues, tinySpec } from '../testing';
import { builtinRegistry } from './plugins';
import { FLOAT32_MAX, FLOAT32_MIN_NORMAL, MAX_ABS_DB, MAX_NESTING, MAX_TENSOR_ELEMENTS, nestingProblem, tensorSizeIssues } from './limits';
import { SpecValidator } from './validate';

const issues = planIssues;

const notSwept = () => undefined;

describe('limits checked before anything runs', () => {
  it('bounds the nesting depth of the text before parsing, naming the path and the depth', () => {
    const text = `{"a": [{"b": ${'['.repeat(MAX_NESTING)}${']'.repeat(MAX_NESTING)}}]}`;
    const found = nestingProblem(text);
    expect(found?.segments).to.deep.equal(['a', 0, 'b', ...Array(MAX_NESTING - 3).fill(0)]);
    expect(found?.message).to.equal(`nests objects and arrays ${MAX_NESTING + 1} levels deep; at most ${MAX_NESTING} levels are accepted`);
    expect(nestingProblem(`{"a": "[[[[", "b": [1, 2, {"c": "\\"{"}]}`)).to.equal(undefined);
    // 200000 levels: reported, not a stack overflow
    expect(() => new SpecValidator(builtinRegistry()).validateText('['.repeat(200000) + ']'.repeat(200000), 'deep.json')).to.throw(SpecError, 'levels deep');
  });

  it('bounds the nesting depth of a spec built in code', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    const found = issues(tinySpec({ channel: { plugin: 'rayleigh', params: { snrDb: 5, x: deep } } }));
    expect(found).to.have.length(1);
    expect(found[0].message).to.match(/^nests objects and arrays 65 levels deep/);
  });

  it('refuses NaN and Infinity in a spec built in code', () => {
    const found = issues(tinySpec({ channel: { plugin: 'rayleigh', params: { snrDb: Number.NaN } }, montecarlo: { maxSeconds: Infinity } }));
    expect(found.map((i) => `${i.path}: ${i.message}`)).to.deep.equal(['channel.params.snrDb: is NaN: numbers must be finite', 'montecarlo.maxSeconds: is Infinity: numbers must be finite']);
  });

  it('accepts the float32 range and refuses values beyond it, in any slot, with the path', () => {
    const ok = [FLOAT32_MAX, -FLOAT32_MAX, FLOAT32_MIN_NORMAL, 0, -1e-30];
    for (const noiseVar of ok.filter((x) => x > 0)) expect(issues(tinySpec({ channel: { plugin: 'rayleigh', params: { noiseVar } } }))).to.deep.equal([]);
    const found = issues(
      tinySpec({
        candidates: { e: { detector: { plugin: 'correlation-energy', params: { threshold: { rule: 'fixed', value: 1e39 } } } } },
        metrics: [{ plugin: 'activity', params: {} }],
        channel: { plugin: 'rayleigh', params: { noiseVar: 1e-39 } },
      }),
    );
    expect(found.map((i) => i.path)).to.deep.equal(['channel.params.noiseVar', 'candidates.e.detector.params.threshold.value']);
    expect(found[1].message).to.equal('is 1e+39, outside the float32 range (magnitude 1.2e-38 to 3.4e38, or 0): in a tensor it would become Infinity');
  });

  it(`refuses SNRs in dB beyond ±${MAX_ABS_DB} dB (linear value or its reciprocal outside float32), ranges included`, () => {
    expect(issues(tinySpec({ channel: { plugin: 'rayleigh', params: { snrDb: { min: -MAX_ABS_DB, max: MAX_ABS_DB } } } }))).to.deep.equal([]);
    // The bound: 10^(x/10) and 10^(-x/10) are normal float32 numbers.
    expect(Math.fround(10 ** (MAX_ABS_DB / 10))).to.be.below(Infinity);
    expect(Math.fround(10 ** (-MAX_ABS_DB / 10))).to.be.at.least(FLOAT32_MIN_NORMAL);
    const found = issues(tinySpec({ channel: { plugin: 'rayleigh', params: { snrDb: { min: -380, max: 20 } } } }));
    expect(found).to.deep.equal([
      {
        path: 'channel.params.snrDb.min',
        message: `is -380 dB, beyond ±${MAX_ABS_DB} dB: the channel uses 10^(SNR/10) and its reciprocal, which must both stay in the float32 range (magnitude 1.2e-38 to 3.4e38, or 0)`,
        hint: `Use a value in [-${MAX_ABS_DB}, ${MAX_ABS_DB}] dB`,
      },
    ]);
    // ebN0Db of the NOMA channel too
    const noma = issues(tinySpec({ scenario: { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 }, channel: { plugin: 'per-resource-rayleigh', params: { ebN0Db: 500 } } }));
    expect(noma.map((i) => i.path)).to.deep.equal(['channel.params.ebN0Db']);
  });

  it('checks training overrides against float32 too', () => {
    const found = issues(
      tinySpec({ candidates: { c: { detector: { plugin: 'mlp-activity' }, train: { steps: 10, overrides: { 'channel.params.snrDb': 1e300 } } } } }),
    );
    expect(found.map((i) => `${i.path}: ${i.message}`)).to.deep.equal([
      'candidates.c.train.overrides["channel.params.snrDb"]: value for channel.params.snrDb is 1e+300, outside the float32 range (magnitude 1.2e-38 to 3.4e38, or 0): in a tensor it would become Infinity',
    ]);
  });

  it('estimates the largest tensor of each job: codebook [L, N*Q] blames its largest factor', () => {
    const scenario = { numDevices: 2000, numAntennas: 1, sequenceLength: 10, bitsPerDevice: 16 };
    const found = tensorSizeIssues(scenario, { size: 1, segments: ['montecarlo', 'batchSize'], value: 1, context: '' }, notSwept);
    expect(found.map((f) => f.issue)).to.deep.equal([
      {
        segments: ['scenario', 'bitsPerDevice'],
        message: 'is 16: the codebook tensor [L, N*Q] = [10, 2000*65536] would hold 1.31e+9 complex float32 elements (9.8 GiB); at most 2^30 (8 GiB) per tensor are accepted',
        hint: 'Lower scenario.sequenceLength, scenario.numDevices, scenario.bitsPerDevice',
      },
    ]);
    expect(tensorSizeIssues({ ...scenario, bitsPerDevice: 0 }, { size: 1000, segments: ['montecarlo', 'batchSize'], value: 1000, context: '' }, notSwept)).to.deep.equal([]);
  });

  it('counts the per-resource channel [B, N, L, M] and a per-trial codebook [B, L, N*Q]', () => {
    // [B, N, M] = 1e4 * 1e3 * 16 = 1.6e8 passes; [B, N, L, M] = 1.6e8 * 10 = 1.6e9 > 2^30 does not.
    const scenario = { numDevices: 1000, numAntennas: 16, sequenceLength: 10, bitsPerDevice: 0 };
    const batch = { size: 10000, segments: ['montecarlo', 'batchSize'], value: 10000, context: '' };
    expect(tensorSizeIssues(scenario, batch, notSwept)).to.deep.equal([]);
    const perResource = tensorSizeIssues(scenario, batch, notSwept, { perResourceChannel: true }).map((f) => f.issue.message);
    expect(perResource).to.deep.equal([
      'is 10000: the channel tensor [B, N, L, M] = [10000, 1000, 10, 16] would hold 1.60e+9 complex float32 elements (11.9 GiB); at most 2^30 (8 GiB) per tensor are accepted',
    ]);
    // Q = 4: tx [B, N, L] = 5e4 * 1e3 * 10 = 5e8 passes, as does [L, N*Q]; per trial
    // [B, L, N*Q] = 5e4 * 10 * 4e3 = 2e9 does not.
    const big = { ...batch, size: 50000, value: 50000 };
    const q4 = { ...scenario, numAntennas: 1, bitsPerDevice: 2 };
    expect(tensorSizeIssues(q4, big, notSwept)).to.deep.equal([]);
    const perTrial = tensorSizeIssues(q4, big, notSwept, { perTrialCodebook: true }).map((f) => f.issue.message);
    expect(perTrial).to.deep.equal([
      'is 50000: the codebook tensor [B, L, N*Q] = [50000, 10, 1000*4] would hold 2.00e+9 complex float32 elements (14.9 GiB); at most 2^30 (8 GiB) per tensor are accepted',
    ]);
    // Through the plan: the channel plugin and the encoder's redraw decide the shapes.
    const planned = issues(
      tinySpec({
        scenario: { numDevices: 1000, numAntennas: 16, sequenceLength: 10, bitsPerDevice: 0 },
        channel: { plugin: 'per-resource-rayleigh', params: { ebN0Db: 10 } },
        montecarlo: { batchSize: 10000 },
      }),
    );
    expect(planned.find((i) => i.path === 'montecarlo.batchSize')?.message).to.match(/the channel tensor \[B, N, L, M\]/);
  });

  it('blames a training batch size, and points at the sweep entry of a swept size', () => {
    const train = issues(
      tinySpec({
        scenario: { numDevices: 100, numAntennas: 4, sequenceLength: 100 },
        candidates: { c: { detector: { plugin: 'mlp-activity' }, train: { steps: 10, batchSize: 200000 } } },
      }),
    );
    const limit = Math.floor(MAX_TENSOR_ELEMENTS / (100 * 100));
    expect(train.filter((i) => i.path.endsWith('batchSize'))).to.deep.equal([
      {
        path: 'candidates.c.train.batchSize',
        message:
          'is 200000: the tx tensor [B, N, L] = [200000, 100, 100] during training of candidate "c" would hold 2.00e+9 complex float32 elements (14.9 GiB); at most 2^30 (8 GiB) per tensor are accepted',
        hint: `Use candidates.c.train.batchSize <= ${limit}`,
      },
    ]);
    const swept = issues(tinySpec({ sweep: { 'scenario.numDevices': [20, 2e7], 'channel.params.snrDb': [0, 10] } }));
    expect(swept.map((i) => i.path)).to.deep.equal(['sweep["scenario.numDevices"][1]']);
    expect(swept[0].message).to.match(/^value for scenario\.numDevices is 20000000: the tx tensor \[B, N, L\] = \[16, 20000000, 8\]/);
  });

  it('caps the runs of a sweep before expanding it', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i);
    const start = Date.now();
    const found = issues(tinySpec({ sweep: { 'channel.params.snrDb': values, 'montecarlo.maxTrials': values.map((v) => v + 1), 'montecarlo.targetEvents': [1, 2, 3] } }));
    expect(Date.now() - start).to.be.below(5000);
    expect(found).to.deep.equal([
      {
        path: 'sweep',
        message: 'expands to 3000000 points x 1 candidate = 3000000 runs; at most 100000 are accepted',
        hint: 'Use fewer values per key ("channel.params.snrDb": 1000, "montecarlo.maxTrials": 1000, "montecarlo.targetEvents": 3), or split the sweep over several specs',
      },
    ]);
  });

  it('refuses sequenceLength 1 with several devices unless the detector gets the channel realisations', () => {
    // A single device is a valid binary test (mmv-amp here: the energy detector's own check
    // refuses its estimated-level threshold at L = 1, a separate problem).
    const single = { scenario: { numDevices: 1, numAntennas: 4, sequenceLength: 1 }, candidates: { amp: { detector: { plugin: 'mmv-amp', params: {} } } } };
    expect(issues(tinySpec(single))).to.deep.equal([]);
    const found = issues(tinySpec({ sweep: { 'scenario.sequenceLength': [8, 1] } })).filter((i) => i.path.startsWith('sweep'));
    expect(found.map((i) => `${i.path}: ${i.message}`)).to.deep.equal([
      'sweep["scenario.sequenceLength"][1]: value for scenario.sequenceLength is 1 with numDevices = 20: sequences of length 1 are scalar multiples of one another, so without the channel realisations (channelState) no detector can tell which devices are active',
    ]);
    // Per-resource fading with a known channel: the channel realisations separate the devices.
    const noma = tinySpec({
      scenario: { numDevices: 2, numAntennas: 4, sequenceLength: 1, bitsPerDevice: 1 },
      channel: { plugin: 'per-resource-rayleigh', params: { knownChannel: true } },
    });
    expect(issues(noma).filter((i) => i.path === 'scenario.sequenceLength')).to.deep.equal([]);
  });
});
