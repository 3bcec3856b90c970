import { expect } from 'chai';
import { Accumulators, type StoppingRule, type TrialValues } from './accumulators';
import type { StatisticInfo } from '../plugin';
import { Generator } from '../rng';
import { sumInterval, tInterval, wilsonInterval } from '../stats';

const STATS: readonly StatisticInfo[] = [
  { name: 'pmd', kind: 'rate', description: 'missed' },
  { name: 'pfa', kind: 'rate', description: 'false alarms' },
  { name: 'pmd+pfa', kind: 'rate-sum', parts: ['pmd', 'pfa'], description: 'sum' },
  { name: 'nmse', kind: 'mean', description: 'nmse', decibel: true },
];

/** Per-trial data of a whole run, one array per field. */
interface RunData {
  pmd: { events: number[]; samples: number[] };
  pfa: { events: number[]; samples: number[] };
  nmse: { values: number[] };
}

/** The batch [from, from + count) of a run. */
function batchOf(data: RunData, from: number, count: number): Map<string, TrialValues> {
  const cut = (xs: number[]) => xs.slice(from, from + count);
  return new Map<string, TrialValues>([
    ['pmd', { events: cut(data.pmd.events), samples: cut(data.pmd.samples) }],
    ['pfa', { events: cut(data.pfa.events), samples: cut(data.pfa.samples) }],
    ['nmse', { values: Float64Array.from(cut(data.nmse.values)) }],
  ]);
}

/**
 * Feed a run in batches of the given sizes (cycled) until the rule fires or the data ends,
 * as the runner does: stop feeding once a batch reports a stop.
 */
function feed(data: RunData, sizes: readonly number[], rule: StoppingRule) {
  const acc = new Accumulators(STATS);
  const total = data.pmd.events.length;
  let from = 0;
  let stop: string | undefined;
  for (let i = 0; from < total && stop === undefined; i++) {
    const count = Math.min(sizes[i % sizes.length], total - from);
    const r = acc.addBatch(batchOf(data, from, count), count, rule);
    expect(r.consumed).to.be.at.most(count);
    if (r.stop === undefined) expect(r.consumed).to.equal(count);
    from += r.consumed;
    stop = r.stop;
  }
  return { acc, stop, trials: acc.trials };
}

/** A random run of n trials, from a fixed key. */
function randomRun(n: number, key: string): RunData {
  const g = Generator.fromKey(['accumulators.test', key]);
  const data: RunData = { pmd: { events: [], samples: [] }, pfa: { events: [], samples: [] }, nmse: { values: [] } };
  for (let t = 0; t < n; t++) {
    const active = 1 + g.integer(5);
    data.pmd.samples.push(active);
    data.pmd.events.push(g.uniform() < 0.1 ? 1 : 0);
    data.pfa.samples.push(20 - active);
    data.pfa.events.push(g.uniform() < 0.05 ? 1 + g.integer(2) : 0);
    data.nmse.values.push(g.uniform() < 0.05 ? Number.NaN : 0.1 + 0.05 * g.normal());
  }
  return data;
}

describe('montecarlo/accumulators', () => {
  describe('summaries on hand-computed data', () => {
    // 4 trials. pmd: events 1, 0, 2, 0 of 4 each -> 3 / 16. pfa: 0, 1, 0, 0 of 6 each -> 1 / 24.
    // nmse: 1, NaN (skipped), 2, 6 -> mean 3, sample variance ((-2)^2 + (-1)^2 + 3^2) / 2 = 7, n = 3.
    const data: RunData = {
      pmd: { events: [1, 0, 2, 0], samples: [4, 4, 4, 4] },
      pfa: { events: [0, 1, 0, 0], samples: [6, 6, 6, 6] },
      nmse: { values: [1, Number.NaN, 2, 6] },
    };
    const rule: StoppingRule = { targetEvents: 1000, maxTrials: 1000 };

    it('rate: events / samples with the trial-clustered (effective-size Wilson) interval', () => {
      const acc = new Accumulators(STATS);
      expect(acc.addBatch(batchOf(data, 0, 4), 4, rule)).to.deep.equal({ consumed: 4 });
      expect(acc.trials).to.equal(4);
      const s = acc.summary(0.95);
      // pmd: R = 3/16; residuals e_t - R n_t = 0.25, -0.75, 1.25, -0.75, squares sum 2.75;
      // V = 4/3 * 2.75 / 16^2; n_eff = R (1 - R) / V = 0.15234375 / 0.0143229... = 10.636 (in [4, 16]).
      const pmdEff = (3 / 16) * (13 / 16) / (((4 / 3) * 2.75) / 256);
      expect(pmdEff).to.be.closeTo(10.636, 1e-3);
      expect(s.pmd).to.deep.equal({ value: 3 / 16, ...wilsonInterval((3 / 16) * pmdEff, pmdEff, 0.95), events: 3, samples: 16 });
      // pfa: R = 1/24; residuals -0.25, 0.75, -0.25, -0.25, squares sum 0.75; V = 4/3 * 0.75 / 24^2 = 1/576;
      // n_eff = (1/24)(23/24) * 576 = 23 (in [4, 24]).
      expect(s.pfa.low).to.be.closeTo(wilsonInterval(23 / 24, 23, 0.95).low as number, 1e-12);
      expect(s.pfa.high).to.be.closeTo(wilsonInterval(23 / 24, 23, 0.95).high as number, 1e-12);
      // The clustered interval is wider than the per-device Wilson one here (deff = 16 / 10.6 > 1).
      const perDevice = wilsonInterval(3, 16, 0.95);
      expect((s.pmd.high as number) - (s.pmd.low as number)).to.be.greaterThan((perDevice.high as number) - (perDevice.low as number));
    });

    it('rate with one sample per trial: exactly the Wilson interval (the trial is the unit)', () => {
      const acc = new Accumulators(STATS);
      const one: RunData = { pmd: { events: [1, 0, 0, 1, 0], samples: [1, 1, 1, 1, 1] }, pfa: { events: [0, 0, 0, 0, 0], samples: [1, 1, 1, 1, 1] }, nmse: { values: [1, 1, 1, 1, 1] } };
      acc.addBatch(batchOf(one, 0, 5), 5, rule);
      const s = acc.summary(0.95);
      // V = 5/4 * sum (e_t - 0.4)^2 / 25 = 5/4 * 1.2 / 25 = 0.06 -> n_eff = 0.24 / 0.06 = 4, clamped to T = 5.
      expect(s.pmd.low).to.be.closeTo(wilsonInterval(2, 5, 0.95).low as number, 1e-12);
      expect(s.pmd.high).to.be.closeTo(wilsonInterval(2, 5, 0.95).high as number, 1e-12);
      // No event: the conservative end n_eff = T = 5, which is n here.
      expect(s.pfa).to.deep.include(wilsonInterval(0, 5, 0.95));
    });

    it('mean: Welford mean and sample variance, NaN values skipped, Student-t interval', () => {
      const acc = new Accumulators(STATS);
      acc.addBatch(batchOf(data, 0, 4), 4, rule);
      const s = acc.summary(0.9).nmse;
      expect(s.value).to.be.closeTo(3, 1e-12);
      expect(s.samples).to.equal(3);
      expect(s.events).to.equal(null);
      const ci = tInterval(3, 7, 3, 0.9);
      expect(s.low).to.be.closeTo(ci.low as number, 1e-12);
      expect(s.high).to.be.closeTo(ci.high as number, 1e-12);
      // t_{0.95, 2} = 2.919985580355516: 3 +- 2.92 sqrt(7/3)
      expect(s.high).to.be.closeTo(3 + 2.919985580355516 * Math.sqrt(7 / 3), 1e-8);
    });

    it('rate-sum: sum of the values, events and samples, MOVER interval', () => {
      const acc = new Accumulators(STATS);
      acc.addBatch(batchOf(data, 0, 4), 4, rule);
      const s = acc.summary(0.95);
      const sum = s['pmd+pfa'];
      expect(sum.value).to.be.closeTo(3 / 16 + 1 / 24, 1e-15);
      expect(sum.events).to.equal(4);
      expect(sum.samples).to.equal(40);
      const ci = sumInterval([
        { value: 3 / 16, low: s.pmd.low, high: s.pmd.high },
        { value: 1 / 24, low: s.pfa.low, high: s.pfa.high },
      ]);
      expect(sum.low).to.be.closeTo(ci.low as number, 1e-15);
      expect(sum.high).to.be.closeTo(ci.high as number, 1e-15);
    });

    it('before any trial: null values and intervals', () => {
      const s = new Accumulators(STATS).summary(0.95);
      expect(s.pmd).to.deep.equal({ value: null, low: null, high: null, events: 0, samples: 0 });
      expect(s.nmse).to.deep.equal({ value: null, low: null, high: null, events: null, samples: 0 });
      expect(s['pmd+pfa']).to.deep.equal({ value: null, low: null, high: null, events: 0, samples: 0 });
    });

    it('counts the trials each statistic skipped, by reason; no `skipped` field when none were', () => {
      const acc = new Accumulators(STATS);
      acc.addBatch(batchOf(data, 0, 4), 4, rule);
      const s = acc.summary(0.95);
      expect(s.nmse.skipped, 'NaN: undefined by definition').to.deep.equal({ undefined: 1, nonFinite: 0 });
      expect(s.pmd).to.not.have.property('skipped');
      expect(s['pmd+pfa']).to.not.have.property('skipped');
      expect(acc.nonFiniteTrials).to.equal(0);
    });

    it('a non-finite trial (NaN events, infinite value) is skipped as nonFinite, apart from a mean defined away', () => {
      // Trial 1: the runner marked it non-finite (a NaN from the detector): NaN events in both
      // rates, +Infinity in the mean. Trial 2: nmse undefined (no active device), rates fine.
      const acc = new Accumulators(STATS);
      const batch = new Map<string, TrialValues>([
        ['pmd', { events: [1, Number.NaN, 0, 2], samples: [2, Number.NaN, 0, 4] }],
        ['pfa', { events: [0, Number.NaN, 1, 0], samples: [8, 8, 10, 6] }],
        ['nmse', { values: [0.5, Number.POSITIVE_INFINITY, Number.NaN, 1.5] }],
      ]);
      expect(acc.addBatch(batch, 4, { targetEvents: 100, maxTrials: 100 })).to.deep.equal({ consumed: 4 });
      const s = acc.summary(0.95);
      expect(s.pmd).to.deep.include({ value: 3 / 6, events: 3, samples: 6, skipped: { undefined: 0, nonFinite: 1 } });
      expect(s.pfa).to.deep.include({ value: 1 / 24, events: 1, samples: 24, skipped: { undefined: 0, nonFinite: 1 } });
      expect(s['pmd+pfa']).to.deep.include({ events: 4, samples: 30, skipped: { undefined: 0, nonFinite: 1 } });
      expect(s.nmse).to.deep.include({ value: 1, samples: 2, skipped: { undefined: 1, nonFinite: 1 } });
      expect(acc.trials).to.equal(4);
      expect(acc.nonFiniteTrials).to.equal(1);
      // The same numbers as the valid trials alone, bit for bit.
      const valid = new Accumulators(STATS);
      valid.addBatch(
        new Map<string, TrialValues>([
          ['pmd', { events: [1, 0, 2], samples: [2, 0, 4] }],
          ['pfa', { events: [0, 1, 0], samples: [8, 10, 6] }],
          ['nmse', { values: [0.5, Number.NaN, 1.5] }],
        ]),
        3,
        { targetEvents: 100, maxTrials: 100 },
      );
      const v = valid.summary(0.95);
      for (const name of ['pmd', 'pfa', 'pmd+pfa', 'nmse']) {
        const { skipped: _a, ...got } = s[name];
        const { skipped: _b, ...want } = v[name];
        expect(got, name).to.deep.equal(want);
      }
    });

    it('a rate-sum counts a trial once when several parts skipped it, and only its own parts', () => {
      const acc = new Accumulators([
        { name: 'a', kind: 'rate', description: '' },
        { name: 'b', kind: 'rate', description: '' },
        { name: 'c', kind: 'rate', description: '' },
        { name: 'a+b', kind: 'rate-sum', parts: ['a', 'b'], description: '' },
      ]);
      acc.addBatch(
        new Map<string, TrialValues>([
          ['a', { events: [Number.NaN, Number.NaN, 0], samples: [1, 1, 1] }],
          ['b', { events: [Number.NaN, 0, 0], samples: [1, 1, 1] }],
          ['c', { events: [0, 0, Number.POSITIVE_INFINITY], samples: [1, 1, 1] }],
        ]),
        3,
        { targetEvents: 100, maxTrials: 100 },
      );
      const s = acc.summary(0.95);
      expect(s['a+b'].skipped).to.deep.equal({ undefined: 0, nonFinite: 2 });
      expect(s.c.skipped).to.deep.equal({ undefined: 0, nonFinite: 1 });
      expect(acc.nonFiniteTrials).to.equal(3);
    });

    it('one mean value: a value but no interval', () => {
      const acc = new Accumulators(STATS);
      acc.addBatch(batchOf(data, 0, 1), 1, rule);
      expect(acc.summary(0.95).nmse).to.deep.equal({ value: 1, low: null, high: null, events: null, samples: 1 });
    });
  });

  describe('stopping rule', () => {
    // Cumulative pmd events after each trial: 0, 1, 1, 3, 3, 3, ...; pfa: 1, 1, 2, 2, 3, ...
    // With targetEvents 3 both have reached it first after trial index 4, i.e. after 5 trials.
    const data: RunData = {
      pmd: { events: [0, 1, 0, 2, 0, 0, 1, 0, 0, 0], samples: new Array(10).fill(2) },
      pfa: { events: [1, 0, 1, 0, 1, 0, 0, 1, 0, 0], samples: new Array(10).fill(8) },
      nmse: { values: [0.5, 0.4, 0.3, 0.2, 0.1, 0.5, 0.4, 0.3, 0.2, 0.1] },
    };

    it('stops exactly at the first trial where every tracked rate reached targetEvents', () => {
      const acc = new Accumulators(STATS);
      const r = acc.addBatch(batchOf(data, 0, 10), 10, { targetEvents: 3, maxTrials: 100 });
      expect(r).to.deep.equal({ consumed: 5, stop: 'target-events' });
      expect(acc.trials).to.equal(5);
      const s = acc.summary(0.95);
      expect(s.pmd.events).to.equal(3);
      expect(s.pmd.samples).to.equal(10);
      expect(s.pfa.events).to.equal(3);
      expect(s.pfa.samples).to.equal(40);
      expect(s.nmse.samples).to.equal(5);
      expect(s.nmse.value).to.be.closeTo(0.3, 1e-12);
      expect(acc.stopReason({ targetEvents: 3, maxTrials: 100 })).to.equal('target-events');
    });

    it('one rate reaching the target is not enough', () => {
      const acc = new Accumulators(STATS);
      // after 4 trials pmd has 3 events but pfa only 2
      expect(acc.addBatch(batchOf(data, 0, 4), 4, { targetEvents: 3, maxTrials: 100 })).to.deep.equal({ consumed: 4 });
      expect(acc.stopReason({ targetEvents: 3, maxTrials: 100 })).to.equal(undefined);
      expect(acc.eventProgress(3)).to.be.closeTo(2 / 3, 1e-15);
    });

    it('stops at maxTrials', () => {
      const acc = new Accumulators(STATS);
      const rule = { targetEvents: 1000, maxTrials: 7 };
      expect(acc.addBatch(batchOf(data, 0, 4), 4, rule)).to.deep.equal({ consumed: 4 });
      expect(acc.addBatch(batchOf(data, 4, 6), 6, rule)).to.deep.equal({ consumed: 3, stop: 'max-trials' });
      expect(acc.trials).to.equal(7);
      expect(acc.summary(0.95).pmd.events).to.equal(4);
    });

    it('when both fire on the same trial the reason is target-events', () => {
      const acc = new Accumulators(STATS);
      expect(acc.addBatch(batchOf(data, 0, 10), 10, { targetEvents: 3, maxTrials: 5 })).to.deep.equal({
        consumed: 5,
        stop: 'target-events',
      });
    });

    it('the same per-trial data in batches of different sizes gives identical summaries and trial counts', () => {
      const run = randomRun(400, 'split');
      const rules: StoppingRule[] = [
        { targetEvents: 12, maxTrials: 10_000 }, // stops on events
        { targetEvents: 10_000, maxTrials: 123 }, // stops on trials
        { targetEvents: 10_000, maxTrials: 10_000 }, // data runs out
      ];
      const splits = [[400], [1], [7], [64], [3, 7], [5, 1, 100, 2]];
      for (const rule of rules) {
        const ref = feed(run, [1], rule);
        expect(ref.trials).to.be.above(10);
        for (const sizes of splits) {
          const other = feed(run, sizes, rule);
          expect(other.trials, `trials with batches ${sizes}`).to.equal(ref.trials);
          expect(other.stop, `stop with batches ${sizes}`).to.equal(ref.stop);
          expect(other.acc.summary(0.95), `summary with batches ${sizes}`).to.deep.equal(ref.acc.summary(0.95));
        }
      }
      expect(feed(run, [400], rules[0]).stop).to.equal('target-events');
      expect(feed(run, [400], rules[1]).trials).to.equal(123);
      expect(feed(run, [400], rules[2]).stop).to.equal(undefined);
    });

    it('untracked rates (tracked: false) do not block stopping', () => {
      const stats: StatisticInfo[] = [
        { name: 'pmd', kind: 'rate', description: 'tracked' },
        { name: 'rare', kind: 'rate', description: 'never happens', tracked: false },
      ];
      const acc = new Accumulators(stats);
      const batch = new Map<string, TrialValues>([
        ['pmd', { events: [1, 1, 1, 1], samples: [1, 1, 1, 1] }],
        ['rare', { events: [0, 0, 0, 0], samples: [1, 1, 1, 1] }],
      ]);
      expect(acc.addBatch(batch, 4, { targetEvents: 2, maxTrials: 100 })).to.deep.equal({ consumed: 2, stop: 'target-events' });
      expect(acc.eventProgress(2)).to.equal(1);
      // still summarised
      expect(acc.summary(0.95).rare).to.include({ value: 0, events: 0, samples: 2 });
    });

    it('with no tracked rate only maxTrials stops, and progress is 0', () => {
      const acc = new Accumulators([
        { name: 'x', kind: 'rate', description: '', tracked: false },
        { name: 'm', kind: 'mean', description: '' },
      ]);
      const batch = new Map<string, TrialValues>([
        ['x', { events: [5, 5, 5], samples: [5, 5, 5] }],
        ['m', { values: [1, 2, 3] }],
      ]);
      expect(acc.addBatch(batch, 3, { targetEvents: 1, maxTrials: 10 })).to.deep.equal({ consumed: 3 });
      expect(acc.eventProgress(1)).to.equal(0);
      expect(acc.addBatch(batch, 3, { targetEvents: 1, maxTrials: 5 })).to.deep.equal({ consumed: 2, stop: 'max-trials' });
    });
  });

  describe('errors', () => {
    const rule = { targetEvents: 10, maxTrials: 10 };

    it('a missing rate statistic in a batch throws, naming it', () => {
      const acc = new Accumulators(STATS);
      const batch = new Map<string, TrialValues>([
        ['pmd', { events: [0], samples: [1] }],
        ['nmse', { values: [1] }],
      ]);
      expect(() => acc.addBatch(batch, 1, rule)).to.throw(/missing per-trial events for rate statistic "pfa"/);
      expect(acc.trials).to.equal(0);
    });

    it('a missing mean statistic, or a rate given values, throws, naming it', () => {
      const acc = new Accumulators(STATS);
      expect(() =>
        acc.addBatch(
          new Map<string, TrialValues>([
            ['pmd', { events: [0], samples: [1] }],
            ['pfa', { events: [0], samples: [1] }],
          ]),
          1,
          rule,
        ),
      ).to.throw(/missing per-trial values for mean statistic "nmse"/);
      expect(() =>
        acc.addBatch(
          new Map<string, TrialValues>([
            ['pmd', { values: [0] }],
            ['pfa', { events: [0], samples: [1] }],
            ['nmse', { values: [1] }],
          ]),
          1,
          rule,
        ),
      ).to.throw(/missing per-trial events for rate statistic "pmd"/);
    });

    it('a rate-sum over an unknown part throws at construction', () => {
      expect(
        () =>
          new Accumulators([
            { name: 'pmd', kind: 'rate', description: '' },
            { name: 'both', kind: 'rate-sum', parts: ['pmd', 'pfa'], description: '' },
          ]),
      ).to.throw(/statistic both: part "pfa" is not a rate statistic/);
    });
  });
});

describe('montecarlo/accumulators: jain-index', () => {
  const stats: StatisticInfo[] = [
    { name: 'e0', kind: 'rate', description: '', tracked: false },
    { name: 'e1', kind: 'rate', description: '', tracked: false },
    { name: 'e2', kind: 'rate', description: '', tracked: false },
    { name: 'jfi', kind: 'jain-index', parts: ['e0', 'e1', 'e2'], description: '' },
  ];
  const rule: StoppingRule = { targetEvents: Infinity, maxTrials: Infinity };
  /** T trials, 2 bits per device per trial, bit errors with probabilities p (a shared trial factor couples devices). */
  function batch(T: number, p: readonly number[], g: Generator): Map<string, TrialValues> {
    const out = new Map<string, TrialValues>();
    const bad = Array.from({ length: T }, () => g.uniform() < 0.3); // bad trials: errors twice as likely
    p.forEach((pn, n) => {
      const events = Array.from({ length: T }, (_, t) => {
        const q = bad[t] ? (2 * pn) / 1.3 : pn / 1.3;
        return (g.uniform() < q ? 1 : 0) + (g.uniform() < q ? 1 : 0);
      });
      out.set(`e${n}`, { events, samples: new Array(T).fill(2) });
    });
    return out;
  }

  it('is (sum r)^2 / (K sum r^2) of the part rates, 1 when they are all 0, undefined without samples', () => {
    const acc = new Accumulators(stats);
    acc.addBatch(
      new Map<string, TrialValues>([
        ['e0', { events: [1, 0], samples: [2, 2] }],
        ['e1', { events: [2, 0], samples: [2, 2] }],
        ['e2', { events: [0, 0], samples: [2, 2] }],
      ]),
      2,
      rule,
    );
    expect(acc.summary(0.95).jfi.value).to.be.closeTo(0.75 ** 2 / (3 * (0.0625 + 0.25)), 1e-12);
    const zero = new Accumulators(stats);
    zero.addBatch(new Map<string, TrialValues>(['e0', 'e1', 'e2'].map((n) => [n, { events: [0], samples: [2] }])), 1, rule);
    expect(zero.summary(0.95).jfi).to.include({ value: 1 });
    expect(new Accumulators(stats).summary(0.95).jfi.value).to.equal(null);
  });

  it('its 95 % delta-method interval covers the true index in 92-98 % of 400 runs (3 SE of a coverage of 0.95)', () => {
    const p = [0.05, 0.1, 0.2];
    const truth = (p[0] + p[1] + p[2]) ** 2 / (3 * (p[0] ** 2 + p[1] ** 2 + p[2] ** 2));
    const g = Generator.fromKey(['jain-coverage']);
    let covered = 0;
    for (let run = 0; run < 400; run++) {
      const acc = new Accumulators(stats);
      acc.addBatch(batch(400, p, g), 400, rule);
      const { low, high } = acc.summary(0.95).jfi;
      if ((low as number) <= truth && truth <= (high as number)) covered += 1;
    }
    expect(covered / 400).to.be.within(0.917, 0.983);
  });
});
