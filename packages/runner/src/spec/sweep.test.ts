import { expect } from 'chai';
import { SpecError } from '@gfra/core';
import { planObject } from '../plan/load';
import { planJobs } from '../plan/plan';
import { tinySpec } from '../testing';
import { builtinRegistry } from './plugins';
import { SpecValidator } from './validate';
import { expandRange, expandSweep, getPath, MAX_RANGE_POINTS, nearestExisting, setPath, sweepAxes } from './sweep';

// One registry and validator for the whole file (assembling and compiling the schema is the slow part).
const REGISTRY = builtinRegistry();
const VALIDATOR = new SpecValidator(REGISTRY);

/** Validate and plan a spec object, as planObject does. */
function plan(spec: unknown): ReturnType<typeof planObject> {
  const validated = VALIDATOR.validateObject(spec, 'spec.json');
  return { validated, registry: REGISTRY, jobs: planJobs(validated, REGISTRY, (s) => VALIDATOR.schemaIssues(s)), pluginModules: [] };
}

/** The issues of a spec (path, message, hint), as testing.ts planIssues gives them. */
function planIssues(spec: unknown): { path: string; message: string; hint?: string }[] {
  try {
    plan(spec);
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    return err.issues.map(({ path, message, hint }) => ({ path, message, ...(hint !== undefined ? { hint } : {}) }));
  }
  return [];
}

const FALSE_ALARM = { plugin: 'correlation-energy', params: { threshold: { rule: 'false-alarm', falseAlarm: 0.05 } } };

describe('sweep', () => {
  it('expands the cartesian product, last key fastest', () => {
    const points = expandSweep(sweepAxes({ 'a.x': [1, 2], 'b.y': ['u', 'v', 'w'] }));
    expect(points).to.have.length(6);
    expect(points[0]).to.deep.equal({ 'a.x': 1, 'b.y': 'u' });
    expect(points[1]).to.deep.equal({ 'a.x': 1, 'b.y': 'v' });
    expect(points[5]).to.deep.equal({ 'a.x': 2, 'b.y': 'w' });
  });

  it('moves coupled keys together', () => {
    const points = expandSweep(sweepAxes({ 'n, k': [[100, 10], [200, 20]], snr: [0, 5] }));
    expect(points).to.deep.equal([
      { n: 100, k: 10, snr: 0 },
      { n: 100, k: 10, snr: 5 },
      { n: 200, k: 20, snr: 0 },
      { n: 200, k: 20, snr: 5 },
    ]);
  });

  it('gives one empty point without a sweep', () => {
    expect(expandSweep(sweepAxes(undefined))).to.deep.equal([{}]);
  });

  it('reads and writes dotted paths, with numeric parts indexing arrays', () => {
    const o = { metrics: [{ params: { x: 1 } }], s: { a: 2 } };
    expect(getPath(o, 'metrics.0.params.x')).to.equal(1);
    expect(getPath(o, 's.b')).to.equal(undefined);
    setPath(o, 's.a', 5);
    expect(o.s.a).to.equal(5);
  });

  it('resolves own properties only: never the prototype chain', () => {
    const o = { s: { a: 2 } };
    expect(getPath(o, 's.toString')).to.equal(undefined);
    expect(getPath(o, '__proto__')).to.equal(undefined);
    expect(getPath(o, 's.constructor.name')).to.equal(undefined);
    expect(nearestExisting(o, 's.constructor.name')).to.deep.equal({ prefix: 's', keys: ['a'] });
    expect(() => setPath(o, '__proto__.polluted', 1)).to.throw();
    expect(() => setPath(o, 's.__proto__', {})).to.throw();
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });

  it('refuses sweep paths through __proto__, constructor or prototype, leaving Object.prototype alone', () => {
    const toString = Object.prototype.toString;
    for (const key of ['__proto__.toString', 'scenario.__proto__.polluted', 'constructor.prototype.polluted', 'channel.params.prototype']) {
      expect(() => plan(tinySpec({ sweep: { [key]: [1] } })), key).to.throw(SpecError, `cannot sweep "${key}"`);
    }
    expect(Object.prototype.toString).to.equal(toString);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });
});

describe('sweep ranges', () => {
  it('steps from "from" to "to", including "to" when it lies on the grid', () => {
    expect(expandRange({ from: 0, to: 20, step: 2 })).to.deep.equal([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    expect(expandRange({ from: 0, to: 19, step: 2 })).to.deep.equal([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(expandRange({ from: -5, to: 5, step: 5 })).to.deep.equal([-5, 0, 5]);
    expect(expandRange({ from: 3, to: 3, step: 1 })).to.deep.equal([3]);
    expect(expandRange({ from: 20, to: 0, step: -2.5 })).to.deep.equal([20, 17.5, 15, 12.5, 10, 7.5, 5, 2.5, 0]);
  });

  it('gives the numbers the values written out would be (no 0.30000000000000004), "to" included within a tolerance', () => {
    // (0.3 - 0) / 0.1 is 2.9999999999999996 in floating point: 0.3 is still on the grid.
    expect(expandRange({ from: 0, to: 0.3, step: 0.1 })).to.deep.equal([0, 0.1, 0.2, 0.3]);
    expect(expandRange({ from: 0, to: 1, step: 0.1 })).to.deep.equal([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    expect(expandRange({ from: 0.05, to: 0.3, step: 0.05 })).to.deep.equal([0.05, 0.1, 0.15, 0.2, 0.25, 0.3]);
    expect(expandRange({ from: 1.1, to: 1.4, step: 0.1 })).to.deep.equal([1.1, 1.2, 1.3, 1.4]);
    expect(expandRange({ from: -0.3, to: 0.3, step: 0.15 })).to.deep.equal([-0.3, -0.15, 0, 0.15, 0.3]);
    // Beyond 22 decimals: rounded to 15 significant digits.
    expect(expandRange({ from: 1e-30, to: 4e-30, step: 1e-30 })).to.deep.equal([1e-30, 2e-30, 3e-30, 4e-30]);
    // The naive sum is not what a list would hold.
    expect(0.1 + 0.1 + 0.1).to.not.equal(0.3);
  });

  it('spaces "perDecade" values evenly on a log scale, 4 significant digits, decades exact', () => {
    expect(expandRange({ from: 1e-4, to: 1e-1, perDecade: 3 })).to.deep.equal([1e-4, 2.154e-4, 4.642e-4, 1e-3, 2.154e-3, 4.642e-3, 0.01, 0.02154, 0.04642, 0.1]);
    expect(expandRange({ from: 1, to: 100, perDecade: 2 })).to.deep.equal([1, 3.162, 10, 31.62, 100]);
    expect(expandRange({ from: 1, to: 50, perDecade: 1 })).to.deep.equal([1, 10]);
    // 10^(1/20) = 1.12202: one more digit per factor 10 above 10 per decade, so values stay distinct.
    const fine = expandRange({ from: 1, to: 10, perDecade: 20 });
    expect(fine).to.have.length(21);
    expect(fine[1]).to.equal(1.122);
    expect(fine[20]).to.equal(10);
    expect(expandRange({ from: 1, to: 10, perDecade: 200 })[1]).to.equal(1.01158);
  });

  it('gives a range on a coupled key each value for every path', () => {
    expect(sweepAxes({ 'a, b': { from: 0, to: 2, step: 1 } })[0].values).to.deep.equal([[0, 0], [1, 1], [2, 2]]);
  });

  it('is the list it expands to: same points, point specs, jobs and spec hash', () => {
    const candidates = { energy: { detector: FALSE_ALARM } };
    const range = plan(tinySpec({ candidates, sweep: { 'channel.params.snrDb': { from: 0, to: 0.3, step: 0.1 }, 'scenario.sequenceLength': { from: 6, to: 10, step: 2 } } }));
    const list = plan(tinySpec({ candidates, sweep: { 'channel.params.snrDb': [0, 0.1, 0.2, 0.3], 'scenario.sequenceLength': [6, 8, 10] } }));
    expect(range.validated.points).to.have.length(12);
    expect(range.validated.points[3]).to.deep.equal({ 'channel.params.snrDb': 0.1, 'scenario.sequenceLength': 6 });
    expect(range.validated.spec.sweep).to.deep.equal(list.validated.spec.sweep);
    expect(range.validated.hash).to.equal(list.validated.hash);
    expect(range.validated.points).to.deep.equal(list.validated.points);
    expect(range.validated.pointSpecs).to.deep.equal(list.validated.pointSpecs);
    expect(JSON.stringify(range.jobs)).to.equal(JSON.stringify(list.jobs));
  });

  const at = (range: unknown) => planIssues(tinySpec({ sweep: { 'channel.params.snrDb': range } }));
  it('refuses a step of 0 or of the wrong sign, naming the field and the fix', () => {
    expect(at({ from: 0, to: 20, step: 0 })).to.deep.equal([
      { path: 'sweep["channel.params.snrDb"].step', message: 'must not be 0', hint: 'Give the distance between neighbouring values, e.g. { "from": 0, "to": 20, "step": 1 }' },
    ]);
    expect(at({ from: 0, to: 20, step: -2 })).to.deep.equal([
      { path: 'sweep["channel.params.snrDb"].step', message: 'is -2 but the range goes up from 0 to 20: a negative step never reaches "to"', hint: 'Use "step": 2' },
    ]);
    expect(at({ from: 20, to: 0, step: 2 })).to.deep.equal([
      {
        path: 'sweep["channel.params.snrDb"].step',
        message: 'is 2 but the range goes down from 20 to 0: a positive step never reaches "to"',
        hint: 'Use "step": -2 to sweep downwards, or swap "from" and "to" to sweep upwards',
      },
    ]);
  });

  it('refuses both or neither of step and perDecade', () => {
    expect(at({ from: 1, to: 10, step: 1, perDecade: 2 })).to.deep.equal([
      { path: 'sweep["channel.params.snrDb"]', message: 'gives both "step" and "perDecade"', hint: 'Give "step" for evenly spaced values, or "perDecade" for values evenly spaced on a log scale, not both' },
    ]);
    expect(at({ from: 1, to: 10 })).to.deep.equal([
      {
        path: 'sweep["channel.params.snrDb"]',
        message: 'is a range without "step" or "perDecade"',
        hint: 'Give "step" for evenly spaced values, e.g. { "from": 1, "to": 10, "step": 1 }, or "perDecade" for values evenly spaced on a log scale',
      },
    ]);
  });

  it('refuses a logarithmic range through 0 or going down', () => {
    expect(at({ from: 0, to: 10, perDecade: 2 })).to.deep.equal([
      { path: 'sweep["channel.params.snrDb"].from', message: 'must be > 0 in a logarithmic range (perDecade) (got 0)', hint: 'Give a positive start, e.g. "from": 1e-4, or use "step" for evenly spaced values' },
    ]);
    expect(at({ from: 1, to: -10, perDecade: 2 })).to.deep.equal([
      { path: 'sweep["channel.params.snrDb"].to', message: 'must be > 0 in a logarithmic range (perDecade) (got -10)', hint: 'Give a positive end, or use "step" for evenly spaced values' },
    ]);
    expect(at({ from: 10, to: 1, perDecade: 2 })).to.deep.equal([
      { path: 'sweep["channel.params.snrDb"]', message: 'goes down from 10 to 1; a logarithmic range (perDecade) goes up', hint: 'Swap "from" and "to": { "from": 1, "to": 10, "perDecade": 2 }' },
    ]);
  });

  it(`refuses a range of more than ${MAX_RANGE_POINTS} values before expanding it`, () => {
    expect(at({ from: 0, to: 100, step: 0.001 })).to.deep.equal([
      { path: 'sweep["channel.params.snrDb"]', message: 'expands to 100001 values; a range gives at most 10000', hint: 'Use a larger "step" (at least 0.010001000100010001), or a narrower range' },
    ]);
    expect(at({ from: 1e-300, to: 1e300, perDecade: 100 })).to.deep.equal([
      { path: 'sweep["channel.params.snrDb"]', message: 'expands to 60001 values; a range gives at most 10000', hint: 'Use a smaller "perDecade", or a narrower range' },
    ]);
  });

  it('refuses non-numbers, unknown fields and a missing "to" (schema)', () => {
    expect(at({ from: '0', to: 20, step: 2 })).to.deep.equal([{ path: 'sweep["channel.params.snrDb"].from', message: 'must be a number (got "0")' }]);
    expect(at({ from: 0, to: 20, stp: 2 })).to.deep.equal([
      { path: 'sweep["channel.params.snrDb"].stp', message: 'is not a known property', hint: 'Did you mean "step"? Allowed properties: from, perDecade, step, to' },
    ]);
    expect(at({ from: 0, step: 2 })).to.deep.equal([{ path: 'sweep["channel.params.snrDb"].to', message: 'is required: last value (included when it lies on the grid)' }]);
    expect(at({ from: 1, to: 10, perDecade: 2.5 })).to.deep.equal([{ path: 'sweep["channel.params.snrDb"].perDecade', message: 'must be an integer (got 2.5)' }]);
    expect(at('0:20')).to.deep.equal([
      {
        path: 'sweep["channel.params.snrDb"]',
        message: 'must be an array or an object (got "0:20")',
        hint: 'Expected: a list of values, or a range { "from", "to", "step" } / { "from", "to", "perDecade" }',
      },
    ]);
  });

  it('checks every value of a range against the parameter, once per parameter: the first failing value and how many more', () => {
    expect(at({ from: 370, to: 390, step: 5 })).to.deep.equal([
      {
        path: 'sweep["channel.params.snrDb"]',
        message:
          'value 380 of the range for channel.params.snrDb is 380 dB, beyond ±379 dB: the channel uses 10^(SNR/10) and its reciprocal, which must both stay in the float32 range (magnitude 1.2e-38 to 3.4e38, or 0) (and so do 2 more of its values, up to 390)',
        hint: 'Use a value in [-379, 379] dB',
      },
    ]);
    // The range's key last (fastest): its values come round again at every point of the other key.
    expect(planIssues(tinySpec({ sweep: { 'scenario.numAntennas': [2, 4], 'scenario.sequenceLength': { from: 0.5, to: 2, step: 0.5 } } }))).to.deep.equal([
      {
        path: 'sweep["scenario.sequenceLength"]',
        message: 'value 0.5 of the range for scenario.sequenceLength must be an integer (got 0.5) (and so do 1 more of its values, up to 1.5)',
      },
    ]);
  });
});

describe('sweep keys reaching candidate overrides', () => {
  const spec = (sweep: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    tinySpec({
      candidates: {
        plain: { detector: FALSE_ALARM },
        own: { channel: { plugin: 'rayleigh', params: { snrDb: 30, knownNoiseVariance: false } }, detector: FALSE_ALARM },
        other: { channel: { plugin: 'normalized-path-loss', params: { expectedActive: 4, snrDb: 12 } }, detector: FALSE_ALARM },
        ...extra,
      },
      sweep,
    });
  const channelOf = (loaded: ReturnType<typeof planObject>, candidate: string) =>
    loaded.jobs.filter((j) => j.candidate === candidate).map((j) => ({ plugin: j.pipeline.slots.channel.plugin, snrDb: j.pipeline.slots.channel.params.snrDb }));

  it('sets a swept top-level parameter in overrides with the same plugin; other plugins keep theirs; points keep the key', () => {
    const loaded = planObject(spec({ 'channel.params.snrDb': [0, 5, 10] }), 'spec.json');
    expect(loaded.validated.points).to.deep.equal([{ 'channel.params.snrDb': 0 }, { 'channel.params.snrDb': 5 }, { 'channel.params.snrDb': 10 }]);
    expect(channelOf(loaded, 'plain')).to.deep.equal([0, 5, 10].map((snrDb) => ({ plugin: 'rayleigh', snrDb })));
    expect(channelOf(loaded, 'own')).to.deep.equal([0, 5, 10].map((snrDb) => ({ plugin: 'rayleigh', snrDb })));
    expect(channelOf(loaded, 'other')).to.deep.equal([12, 12, 12].map((snrDb) => ({ plugin: 'normalized-path-loss', snrDb })));
    // The rest of the override stays its own.
    for (const s of loaded.validated.pointSpecs) expect(s.candidates.own.channel?.params.knownNoiseVariance).to.equal(false);
    // The spec itself (and so its hash) is not changed.
    expect(loaded.validated.spec.candidates.own.channel?.params.snrDb).to.equal(30);
  });

  it('warns about an override with another plugin that has a parameter of the same name', () => {
    const { warnings } = plan(spec({ 'channel.params.snrDb': { from: 0, to: 10, step: 5 } })).validated;
    expect(warnings).to.deep.equal([
      {
        path: 'sweep["channel.params.snrDb"]',
        message: '"channel.params.snrDb" does not reach candidate "other": its own channel runs "normalized-path-loss", not "rayleigh", so its snrDb keeps the value its override gives it',
        hint:
          'To sweep it too, couple its path with the key: "channel.params.snrDb, candidates.other.channel.params.snrDb" (a range gives each value to every path; a list needs one entry per path in each value)',
        line: undefined,
        column: undefined,
      },
    ]);
    expect(plan(tinySpec({ sweep: { 'channel.params.snrDb': [0, 5] } })).validated.warnings).to.equal(undefined);
  });

  it('keeps explicit coupled keys: a candidate path swept explicitly takes its own value', () => {
    const held = plan(spec({ 'channel.params.snrDb, candidates.own.channel.params.snrDb': [[0, 30], [5, 30]] }));
    expect(held.validated.points).to.deep.equal([
      { 'channel.params.snrDb': 0, 'candidates.own.channel.params.snrDb': 30 },
      { 'channel.params.snrDb': 5, 'candidates.own.channel.params.snrDb': 30 },
    ]);
    expect(channelOf(held, 'plain').map((c) => c.snrDb)).to.deep.equal([0, 5]);
    expect(channelOf(held, 'own').map((c) => c.snrDb)).to.deep.equal([30, 30]);
    // The old way of sweeping an override with the top level still gives the same values.
    const both = plan(spec({ 'channel.params.snrDb, candidates.other.channel.params.snrDb': { from: 0, to: 10, step: 10 } }));
    expect(both.validated.points).to.deep.equal([
      { 'channel.params.snrDb': 0, 'candidates.other.channel.params.snrDb': 0 },
      { 'channel.params.snrDb': 10, 'candidates.other.channel.params.snrDb': 10 },
    ]);
    expect(channelOf(both, 'own').map((c) => c.snrDb)).to.deep.equal([0, 10]);
    expect(channelOf(both, 'other').map((c) => c.snrDb)).to.deep.equal([0, 10]);
    expect(both.validated.warnings).to.equal(undefined);
  });

  it('sets a parameter the override leaves out (its plugin has no default for it)', () => {
    const loaded = plan(
      tinySpec({
        scenario: { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 },
        traffic: { plugin: 'fixed-count', params: { numActive: 6 } },
        channel: { plugin: 'per-resource-rayleigh', params: { mode: 'rayleigh', ebN0Db: 0 } },
        encoder: { plugin: 'scma-codebook' },
        candidates: {
          rayleigh: { detector: { plugin: 'scma-mpa', params: { iterations: 2 } } },
          awgn: { channel: { plugin: 'per-resource-rayleigh', params: { mode: 'awgn' } }, detector: { plugin: 'scma-mpa', params: { iterations: 2 } } },
        },
        metrics: [{ plugin: 'ber', params: { bits: 'llr' } }],
        sweep: { 'channel.params.ebN0Db': { from: 0, to: 4, step: 2 } },
      }),
    );
    const awgn = loaded.jobs.filter((j) => j.candidate === 'awgn').map((j) => j.pipeline.slots.channel.params);
    expect(awgn.map((p) => [p.mode, p.ebN0Db])).to.deep.equal([['awgn', 0], ['awgn', 2], ['awgn', 4]]);
  });

  it('refuses a top-level path that no candidate uses (every candidate overrides the slot with another plugin)', () => {
    const issues = planIssues(
      tinySpec({
        candidates: { other: { channel: { plugin: 'normalized-path-loss', params: { expectedActive: 4 } }, detector: FALSE_ALARM } },
        sweep: { 'channel.params.snrDb': [0, 5] },
      }),
    );
    expect(issues).to.deep.equal([
      {
        path: 'sweep["channel.params.snrDb"]',
        message: 'path "channel.params.snrDb" reaches no candidate: every candidate overrides channel ("other": "normalized-path-loss"), none with the top-level plugin "rayleigh"',
        hint: 'Sweep the candidates\' own parameter instead: "candidates.other.channel.params.snrDb"',
      },
    ]);
    expect(
      planIssues(
        tinySpec({
          candidates: { other: { channel: { plugin: 'normalized-path-loss', params: { expectedActive: 4 } }, detector: FALSE_ALARM } },
          sweep: { 'channel.params.knownLargeScaleFading': [true, false] },
        }),
      ).map((i) => i.hint),
    ).to.deep.equal(['Sweep the candidates\' own parameter instead: "candidates.other.channel.params.knownLargeScaleFading"']);
  });

  it('still validates every point: a bad value is reported once, at the sweep key, though the override gets it too', () => {
    expect(planIssues(spec({ 'channel.params.snrDb': [0, 400] }))).to.deep.equal([
      {
        path: 'sweep["channel.params.snrDb"][1]',
        message:
          'value for channel.params.snrDb is 400 dB, beyond ±379 dB: the channel uses 10^(SNR/10) and its reciprocal, which must both stay in the float32 range (magnitude 1.2e-38 to 3.4e38, or 0)',
        hint: 'Use a value in [-379, 379] dB',
      },
    ]);
  });
});

