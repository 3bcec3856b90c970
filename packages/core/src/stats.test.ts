import { expect } from 'chai';
import {
  clusteredRateInterval,
  betaI,
  gammaP,
  gammaQ,
  gammaQuantile,
  logGamma,
  normalCdf,
  normalQuantile,
  studentTCdf,
  studentTQuantile,
  sumInterval,
  tInterval,
  wilsonInterval,
} from './stats';
import { Generator } from './rng';

/** Binomial(n, p) probability of k, in log space. */
function binomialPmf(k: number, n: number, p: number): number {
  return Math.exp(logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log(1 - p));
}

describe('stats', () => {
  it('logGamma matches known values', () => {
    expect(logGamma(0.5)).to.be.closeTo(0.5723649429247001, 1e-13);
    expect(logGamma(10)).to.be.closeTo(12.801827480081469, 1e-12);
  });
  it('quantiles', () => {
    expect(normalQuantile(0.975)).to.be.closeTo(1.959963984540054, 1e-9);
    expect(studentTQuantile(0.975, 10)).to.be.closeTo(2.228138851986274, 1e-8);
    expect(studentTQuantile(0.975, 1)).to.be.closeTo(12.706204736174705, 1e-7);
    expect(gammaP(3, gammaQuantile(0.99, 3))).to.be.closeTo(0.99, 1e-10);
  });
  it('wilson', () => {
    const w = wilsonInterval(0, 100, 0.95);
    expect(w.low).to.equal(0);
    // zero events: the upper bound is z^2 / (n + z^2)
    const z = 1.959963984540054;
    expect(w.high).to.be.closeTo((z * z) / (100 + z * z), 1e-12);
  });

  describe('special functions at known values', () => {
    it('logGamma(n) = log((n-1)!) and logGamma(x < 1/2) by reflection', () => {
      expect(logGamma(1)).to.be.closeTo(0, 1e-14);
      expect(logGamma(2)).to.be.closeTo(0, 1e-14);
      expect(logGamma(5)).to.be.closeTo(Math.log(24), 1e-13);
      // Gamma(1/4) = 3.625609908221908
      expect(logGamma(0.25)).to.be.closeTo(Math.log(3.625609908221908), 1e-13);
    });

    it('normalCdf', () => {
      expect(normalCdf(0)).to.equal(0.5);
      expect(normalCdf(1.96)).to.be.closeTo(0.9750021048517795, 1e-14);
      expect(normalCdf(-1)).to.be.closeTo(0.15865525393145707, 1e-14);
      expect(normalCdf(3)).to.be.closeTo(0.9986501019683699, 1e-14);
      // deep tail, relative accuracy: Phi(-8) = 6.22096057427178e-16
      expect(normalCdf(-8) / 6.22096057427178e-16).to.be.closeTo(1, 1e-9);
      // symmetry and inversion
      expect(normalCdf(0.7) + normalCdf(-0.7)).to.be.closeTo(1, 1e-15);
      expect(normalCdf(normalQuantile(0.3))).to.be.closeTo(0.3, 1e-12);
    });

    it('studentTCdf: Cauchy (df 1), closed form for df 2, and the tabulated 0.975 point for df 10', () => {
      expect(studentTCdf(0, 5)).to.equal(0.5);
      // df = 1: 1/2 + atan(t)/pi
      expect(studentTCdf(1, 1)).to.be.closeTo(0.75, 1e-14);
      expect(studentTCdf(-1, 1)).to.be.closeTo(0.25, 1e-14);
      expect(studentTCdf(3, 1)).to.be.closeTo(0.5 + Math.atan(3) / Math.PI, 1e-14);
      // df = 2: 1/2 + t / (2 sqrt(2 + t^2))
      expect(studentTCdf(2, 2)).to.be.closeTo(0.5 + 2 / (2 * Math.sqrt(6)), 1e-14);
      expect(studentTCdf(-2, 2)).to.be.closeTo(0.5 - 2 / (2 * Math.sqrt(6)), 1e-14);
      expect(studentTCdf(2.228138851986274, 10)).to.be.closeTo(0.975, 1e-12);
      // large df tends to the normal
      expect(studentTCdf(1.96, 1e6)).to.be.closeTo(normalCdf(1.96), 1e-6);
    });

    it('gammaP / gammaQ: exponential (a = 1), erf (a = 1/2), Poisson sums (integer a)', () => {
      expect(gammaP(1, 0)).to.equal(0);
      expect(gammaP(1, 2)).to.be.closeTo(1 - Math.exp(-2), 1e-14);
      expect(gammaP(0.5, 1)).to.be.closeTo(0.8427007929497149, 1e-13); // erf(1)
      // P(n, x) = 1 - e^{-x} sum_{k<n} x^k / k!
      expect(gammaP(3, 2)).to.be.closeTo(1 - 5 * Math.exp(-2), 1e-14); // series branch (x < a + 1)
      const q = Math.exp(-10) * (1 + 10 + 50 + 1000 / 6 + 10000 / 24);
      expect(gammaP(5, 10)).to.be.closeTo(1 - q, 1e-13); // continued-fraction branch
      expect(gammaQ(5, 10)).to.be.closeTo(q, 1e-14);
      expect(gammaQ(3, 2) + gammaP(3, 2)).to.be.closeTo(1, 1e-15);
    });

    it('betaI: I_x(1,1) = x, I_x(a,1) = x^a, I_1/2(a,a) = 1/2, binomial sums, both branches', () => {
      expect(betaI(0, 2, 3)).to.equal(0);
      expect(betaI(1, 2, 3)).to.equal(1);
      expect(betaI(0.37, 1, 1)).to.be.closeTo(0.37, 1e-14);
      expect(betaI(0.2, 3, 1)).to.be.closeTo(0.008, 1e-14);
      expect(betaI(0.5, 4, 4)).to.be.closeTo(0.5, 1e-13);
      // I_x(2, 3) = sum_{j=2}^{4} C(4, j) x^j (1-x)^{4-j}
      expect(betaI(0.3, 2, 3)).to.be.closeTo(0.3483, 1e-13); // x < (a+1)/(a+b+2)
      expect(betaI(0.8, 2, 3)).to.be.closeTo(0.9728, 1e-13); // the other branch
      // symmetry I_x(a, b) = 1 - I_{1-x}(b, a)
      expect(betaI(0.3, 2.5, 7) + betaI(0.7, 7, 2.5)).to.be.closeTo(1, 1e-13);
    });

    it('quantiles reject probabilities outside (0, 1) and bad degrees of freedom', () => {
      expect(() => normalQuantile(0)).to.throw(/normalQuantile: probability must be in \(0, 1\), got 0/);
      expect(() => normalQuantile(1)).to.throw(/got 1/);
      expect(() => studentTQuantile(0.5, 0)).to.throw(/studentTQuantile: degrees of freedom must be > 0, got 0/);
      expect(() => gammaQuantile(Number.NaN, 2)).to.throw(/gammaQuantile: probability/);
    });
  });

  describe('intervals on hand-computed cases', () => {
    const z = 1.959963984540054;

    it('wilsonInterval(10, 100, 0.95) = [0.0552291, 0.1743657] ((x + z^2/2) / (n + z^2) +- ...)', () => {
      const w = wilsonInterval(10, 100, 0.95);
      expect(w.low).to.be.closeTo(0.05522913706067509, 1e-12);
      expect(w.high).to.be.closeTo(0.17436566150491345, 1e-12);
    });

    it('wilsonInterval: all events, no samples, symmetry, and width shrinking with n', () => {
      const all = wilsonInterval(100, 100, 0.95);
      expect(all.high).to.equal(1);
      expect(all.low).to.be.closeTo(100 / (100 + z * z), 1e-12);
      expect(wilsonInterval(0, 0, 0.95)).to.deep.equal({ low: null, high: null });
      for (const [k, n] of [
        [3, 17],
        [0, 5],
        [40, 41],
      ]) {
        const a = wilsonInterval(k, n, 0.9);
        const b = wilsonInterval(n - k, n, 0.9);
        expect(a.low as number).to.be.closeTo(1 - (b.high as number), 1e-12);
        expect(a.low as number).to.be.at.most(k / n);
        expect(a.high as number).to.be.at.least(k / n);
      }
      const narrow = wilsonInterval(100, 1000, 0.95);
      const wide = wilsonInterval(10, 100, 0.95);
      expect((narrow.high as number) - (narrow.low as number)).to.be.below((wide.high as number) - (wide.low as number));
    });

    it('tInterval(mean 2, variance 4, n 10, 0.95) = 2 +- t_{0.975,9} sqrt(0.4) = [0.569286, 3.430714]', () => {
      const t9 = 2.2621571627409915; // t_{0.975, 9}
      const ci = tInterval(2, 4, 10, 0.95);
      expect(ci.low).to.be.closeTo(2 - t9 * Math.sqrt(0.4), 1e-9);
      expect(ci.high).to.be.closeTo(2 + t9 * Math.sqrt(0.4), 1e-9);
      expect(ci.low).to.be.closeTo(0.5692861880586895, 1e-9);
      expect(tInterval(5, 0, 3, 0.95)).to.deep.equal({ low: 5, high: 5 });
      expect(tInterval(1, 1, 1, 0.95)).to.deep.equal({ low: null, high: null });
    });

    it('sumInterval adds the distances to the bounds in quadrature (MOVER)', () => {
      const ci = sumInterval([
        { value: 0.1, low: 0.05, high: 0.2 },
        { value: 0.2, low: 0.1, high: 0.35 },
      ]);
      // down = sqrt(0.05^2 + 0.1^2), up = sqrt(0.1^2 + 0.15^2)
      expect(ci.low).to.be.closeTo(0.3 - Math.sqrt(0.0125), 1e-12);
      expect(ci.high).to.be.closeTo(0.3 + Math.sqrt(0.0325), 1e-12);
      // one part: its own interval
      const one = sumInterval([{ value: 0.4, low: 0.3, high: 0.6 }]);
      expect(one.low).to.be.closeTo(0.3, 1e-12);
      expect(one.high).to.be.closeTo(0.6, 1e-12);
      // the lower bound is clamped at 0
      expect(sumInterval([{ value: 0.01, low: 0, high: 0.05 }, { value: 0, low: 0, high: 0.03 }]).low).to.equal(0);
      // a part without an interval gives none
      expect(sumInterval([{ value: 0.1, low: null, high: null }, { value: 0.2, low: 0.1, high: 0.3 }])).to.deep.equal({
        low: null,
        high: null,
      });
    });
  });

  describe('interval coverage', () => {
    it('Wilson 95% for Bernoulli(p = 0.1), n = 200: exact coverage in [0.93, 0.97]; simulated (R = 4000) within 5 SE of it', () => {
      const p = 0.1;
      const n = 200;
      const confidence = 0.95;
      // exact: sum the Binomial(n, p) pmf over the k whose interval contains p
      let exact = 0;
      let total = 0;
      for (let k = 0; k <= n; k++) {
        const pmf = binomialPmf(k, n, p);
        total += pmf;
        const w = wilsonInterval(k, n, confidence);
        if ((w.low as number) <= p && p <= (w.high as number)) exact += pmf;
      }
      expect(total).to.be.closeTo(1, 1e-10);
      expect(exact).to.be.within(0.93, 0.97);

      // simulation with the gfra generator
      const R = 4000;
      let covered = 0;
      for (let r = 0; r < R; r++) {
        const g = Generator.fromKey(['stats.test', 'wilson-coverage', r]);
        let k = 0;
        for (let i = 0; i < n; i++) if (g.uniform() < p) k++;
        const w = wilsonInterval(k, n, confidence);
        if ((w.low as number) <= p && p <= (w.high as number)) covered++;
      }
      const simulated = covered / R;
      const se = Math.sqrt((exact * (1 - exact)) / R);
      expect(simulated).to.be.closeTo(exact, 5 * se);
    });

    it('t 95% interval for the mean of n = 10 normal samples covers at the nominal rate (R = 4000, within 5 SE)', () => {
      const mu = 3;
      const sigma = 2;
      const n = 10;
      const confidence = 0.95;
      const R = 4000;
      let covered = 0;
      for (let r = 0; r < R; r++) {
        const g = Generator.fromKey(['stats.test', 't-coverage', r]);
        const xs = Array.from({ length: n }, () => mu + sigma * g.normal());
        const mean = xs.reduce((s, x) => s + x, 0) / n;
        const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
        const ci = tInterval(mean, variance, n, confidence);
        if ((ci.low as number) <= mu && mu <= (ci.high as number)) covered++;
      }
      const se = Math.sqrt((confidence * (1 - confidence)) / R);
      expect(covered / R).to.be.closeTo(confidence, 5 * se);
    });
  });
});

describe('stats: trial-clustered rate intervals', () => {
  /**
   * Coverage under group activity: G = 2 groups, one of which is active in each trial (each with
   * probability 1/2), so the N devices of a trial share its state. A device errs with probability
   * 0.02 in the first state and 0.18 in the second: the true rate is 0.10, and the intra-trial
   * correlation gives a design effect of about 1 + (N - 1) rho = 1 + 39 * 0.0064 / 0.09 = 3.8.
   *
   * Tolerances, fixed before looking: with 400 independent replications the coverage estimate of
   * a 95 % interval has standard error sqrt(0.95 * 0.05 / 400) = 0.011, so the clustered interval
   * must cover in [0.91, 0.99] (about 3.5 SE either side; the delta method may undercover slightly
   * at T = 200). The per-device Wilson interval acts as if it had 3.8 times the samples: its
   * half-width is about 1/sqrt(3.8) of the right one, so its coverage is about
   * 2 Phi(1.96 / sqrt(3.8)) - 1 = 0.69; it must be below 0.85 (9 SE under nominal).
   */
  it('covers at about its nominal rate when devices of a trial are correlated; per-device Wilson does not', () => {
    const T = 200;
    const N = 40;
    const truth = 0.1;
    const reps = 400;
    let clusteredCovers = 0;
    let wilsonCovers = 0;
    for (let r = 0; r < reps; r++) {
      const g = Generator.fromKey(['clustered-coverage', r]);
      const c = { trials: 0, events: 0, samples: 0, events2: 0, samples2: 0, cross: 0 };
      for (let t = 0; t < T; t++) {
        const p = g.uniform() < 0.5 ? 0.02 : 0.18;
        let e = 0;
        for (let n = 0; n < N; n++) if (g.uniform() < p) e += 1;
        c.trials += 1;
        c.events += e;
        c.samples += N;
        c.events2 += e * e;
        c.samples2 += N * N;
        c.cross += e * N;
      }
      const clustered = clusteredRateInterval(c, 0.95);
      const wilson = wilsonInterval(c.events, c.samples, 0.95);
      if ((clustered.low as number) <= truth && truth <= (clustered.high as number)) clusteredCovers += 1;
      if ((wilson.low as number) <= truth && truth <= (wilson.high as number)) wilsonCovers += 1;
    }
    expect(clusteredCovers / reps, 'clustered coverage').to.be.within(0.91, 0.99);
    expect(wilsonCovers / reps, 'per-device Wilson coverage').to.be.below(0.85);
  });

  it('is the Wilson interval on n when devices are independent, and on T when all devices of a trial agree', () => {
    // Independent: every trial has the same count -> V = 0 -> n_eff = n (capped).
    const same = clusteredRateInterval({ trials: 10, events: 20, samples: 100, events2: 10 * 4, samples2: 10 * 100, cross: 10 * 2 * 10 }, 0.95);
    expect(same.effectiveSamples).to.equal(100);
    expect(same.low).to.equal(wilsonInterval(20, 100, 0.95).low);
    // Perfectly correlated: trials are all-error or no-error (2 of 10 trials, 10 devices each).
    const all = clusteredRateInterval({ trials: 10, events: 20, samples: 100, events2: 2 * 100, samples2: 10 * 100, cross: 2 * 100 }, 0.95);
    // V = 10/9 * (2 * (10 - 2)^2 + 8 * 2^2) / 100^2 = 10/9 * 160 / 10000; n_eff = 0.16 / V = 9 -> clamped to T = 10.
    expect(all.effectiveSamples).to.equal(10);
    expect(all.high).to.be.closeTo(wilsonInterval(2, 10, 0.95).high as number, 1e-12);
    // No trial with samples: no interval.
    expect(clusteredRateInterval({ trials: 0, events: 0, samples: 0, events2: 0, samples2: 0, cross: 0 }, 0.95)).to.deep.equal({ low: null, high: null, effectiveSamples: 0 });
  });
});
