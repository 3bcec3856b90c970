import { expect } from 'chai';
import type { BatchRecord } from './store';
import { jobTrialValues, pairedDifference, pooledDifference } from './paired';

/** t_{3, 0.975}: Student-t quantile with 3 degrees of freedom (printed tables: 3.182446). */
const T3 = 3.182446305;
/** Float64 arithmetic on a few small numbers, and the quantile's table digits: 1e-6 is ample. */
const TOL = 1e-6;

describe('paired differences (results/paired)', () => {
  it('mean: the paired t interval of the per-trial differences, by hand', () => {
    // a = [1, 2, 3, 6], b = [0, 2, 1, 3]; a 5th trial undefined for b (NaN) and a 6th only a has
    // are left out: T = 4.
    // d = a - b = [1, 0, 2, 3], mean 1.5, s^2(d) = (0.25 + 2.25 + 0.25 + 2.25) / 3 = 5/3,
    // paired half-width = t3 * sqrt(5/3 / 4) = t3 * sqrt(5/12).
    // s^2(a) = (4 + 1 + 0 + 9) / 3 = 14/3, s^2(b) = (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3,
    // unpaired half-width = t3 * sqrt((14/3 + 5/3) / 4) = t3 * sqrt(19/12).
    const d = pairedDifference({ kind: 'mean', a: [1, 2, 3, 6, 4, 9], b: [0, 2, 1, 3, Number.NaN] }, 0.95);
    expect(d.trials).to.equal(4);
    expect(d.a).to.be.closeTo(3, TOL);
    expect(d.b).to.be.closeTo(1.5, TOL);
    expect(d.difference).to.be.closeTo(1.5, TOL);
    const paired = T3 * Math.sqrt(5 / 12);
    const unpaired = T3 * Math.sqrt(19 / 12);
    expect(d.paired.low).to.be.closeTo(1.5 - paired, TOL);
    expect(d.paired.high).to.be.closeTo(1.5 + paired, TOL);
    expect(d.unpaired.low).to.be.closeTo(1.5 - unpaired, TOL);
    expect(d.unpaired.high).to.be.closeTo(1.5 + unpaired, TOL);
    // 1.5 - 3.18 * 0.645 = -0.55 < 0: the interval contains 0.
    expect(d.excludesZero).to.equal(false);
  });

  it('rate: the delta-method difference of two ratio estimators, by hand', () => {
    // A: e = [1, 0, 2, 1], n = 4 each: R_A = 4/16 = 1/4, n̄ = 4, u_A = (e - 1)/4 = [0, -1/4, 1/4, 0].
    // B: e = [0, 0, 1, 0], n = 4 each: R_B = 1/16, n̄ = 4, u_B = (e - 1/4)/4 = [-1, -1, 3, -1]/16.
    // z = u_A - u_B = [1, -3, 1, 1]/16 (mean 0), s^2(z) = (1 + 9 + 1 + 1)/256/3 = 1/64, Var = 1/256,
    // so the paired half-width is t3/16. s^2(u_A) = (1/16 + 1/16)/3 = 1/24, s^2(u_B) = 1/64 (as z),
    // unpaired half-width = t3 * sqrt((1/24 + 1/64)/4) = t3 * sqrt(11/768).
    // A 5th trial where B's events are not finite, and a 6th only A has, are left out of both.
    const a = { events: [1, 0, 2, 1, 5, 7], samples: [4, 4, 4, 4, 4, 4] };
    const b = { events: [0, 0, 1, 0, Number.NaN], samples: [4, 4, 4, 4, 4] };
    const d = pairedDifference({ kind: 'rate', a: [a], b: [b] }, 0.95);
    expect(d.trials).to.equal(4);
    expect(d.a).to.be.closeTo(0.25, TOL);
    expect(d.b).to.be.closeTo(1 / 16, TOL);
    expect(d.difference).to.be.closeTo(3 / 16, TOL);
    expect(d.paired.low).to.be.closeTo(3 / 16 - T3 / 16, TOL);
    expect(d.paired.high).to.be.closeTo(3 / 16 + T3 / 16, TOL);
    const unpaired = T3 * Math.sqrt(11 / 768);
    expect(d.unpaired.low).to.be.closeTo(3 / 16 - unpaired, TOL);
    expect(d.unpaired.high).to.be.closeTo(3 / 16 + unpaired, TOL);
  });

  it('rate-sum: the linearised terms of the parts add up', () => {
    // Two parts equal to the single rate above give twice its difference and twice its z
    // (so twice the half-widths).
    const a = { events: [1, 0, 2, 1], samples: [4, 4, 4, 4] };
    const b = { events: [0, 0, 1, 0], samples: [4, 4, 4, 4] };
    const one = pairedDifference({ kind: 'rate', a: [a], b: [b] }, 0.95);
    const sum = pairedDifference({ kind: 'rate', a: [a, a], b: [b, b] }, 0.95);
    expect(sum.difference).to.be.closeTo(2 * (one.difference as number), TOL);
    expect((sum.paired.high as number) - (sum.difference as number)).to.be.closeTo(2 * ((one.paired.high as number) - (one.difference as number)), TOL);
  });

  it('perfectly correlated candidates: the paired interval has zero width, the unpaired one does not', () => {
    // Means: b_t = a_t - 0.5 for every trial, so every d_t = 0.5 and s^2(d) = 0.
    const a = [0.1, 0.7, 0.3, 0.9, 0.2];
    const mean = pairedDifference({ kind: 'mean', a, b: a.map((x) => x - 0.5) }, 0.95);
    expect(mean.paired.low).to.equal(mean.paired.high);
    expect(mean.difference).to.be.closeTo(0.5, 1e-12);
    expect((mean.unpaired.high as number) - (mean.unpaired.low as number)).to.be.greaterThan(0.1);
    expect(mean.excludesZero).to.equal(true);
    // Rates: e^B_t = e^A_t + n_t / 4 with equal n_t, so R_B = R_A + 1/4 and
    // e^B_t - R_B n_t = e^A_t - R_A n_t: z_t = 0 for every trial (up to rounding).
    const n = [8, 8, 8, 8, 8];
    const eA = [1, 3, 0, 2, 4];
    const rate = pairedDifference({ kind: 'rate', a: [{ events: eA, samples: n }], b: [{ events: eA.map((e) => e + 2), samples: n }] }, 0.95);
    expect(rate.difference).to.be.closeTo(-0.25, 1e-12);
    expect((rate.paired.high as number) - (rate.paired.low as number)).to.be.lessThan(1e-12);
    expect((rate.unpaired.high as number) - (rate.unpaired.low as number)).to.be.greaterThan(0.1);
  });

  it('pooled over repetitions: the t interval of the per-repetition differences (R - 1 df)', () => {
    // Differences 0.3, 0.5, 0.4: mean 0.4, s^2 = (0.01 + 0.01 + 0)/2 = 0.01, half = t2 * 0.1/sqrt(3)
    // = 0.248 with t_{2, 0.975} = 4.302653, so the interval [0.152, 0.648] excludes 0.
    const rep = (a: number, b: number) => ({ trials: 10, a, b, difference: a - b, paired: { low: 0, high: 1 }, unpaired: { low: 0, high: 1 }, excludesZero: true });
    const pooled = pooledDifference([rep(0.5, 0.2), rep(0.8, 0.3), rep(0.6, 0.2)], 0.95);
    expect(pooled.trials).to.equal(30);
    expect(pooled.difference).to.be.closeTo(0.4, TOL);
    const half = (4.302653 * 0.1) / Math.sqrt(3);
    expect(pooled.paired.low).to.be.closeTo(0.4 - half, TOL);
    expect(pooled.paired.high).to.be.closeTo(0.4 + half, TOL);
    expect(pooled.excludesZero).to.equal(true);
  });

  it('jobTrialValues: the first `trials` trials of a job, across batches', () => {
    const batch = (n: number, first: number, values: number[]): BatchRecord => ({
      batch: n,
      first,
      count: values.length,
      values: new Map([['x', { values }]]),
      seconds: 0,
      detector: { seconds: 0, trials: 0 },
    });
    const got = jobTrialValues([batch(0, 0, [1, 2, 3]), batch(1, 3, [4, 5, 6])], 4, 'x');
    expect(got).to.deep.equal({ values: [1, 2, 3, 4] });
    expect(jobTrialValues([batch(0, 0, [1, 2, 3])], 2, 'y')).to.equal(undefined);
  });
});
