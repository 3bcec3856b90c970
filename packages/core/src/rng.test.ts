import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import * as cx from './complex';
import { Generator, RandomStreams, TrialDomain, type TrialRange } from './rng';
import { gammaQuantile } from './stats';

function uint32s(g: Generator, n: number): number[] {
  return Array.from({ length: n }, () => g.nextUint32());
}

/** Download a tensor and dispose it. */
function take(t: tf.Tensor): number[] {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
}

function meanOf(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/** Unbiased sample variance. */
function varianceOf(xs: ArrayLike<number>): number {
  const m = meanOf(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) ** 2;
  return s / (xs.length - 1);
}

describe('rng', () => {
  describe('Generator keys', () => {
    it('the same key gives the same numbers', () => {
      const key = ['seed', 7, 'point', 0, 'channel', 12345];
      expect(uint32s(Generator.fromKey(key), 50)).to.deep.equal(uint32s(Generator.fromKey([...key]), 50));
      const a = Generator.fromKey(key);
      const b = Generator.fromKey(key);
      for (let i = 0; i < 20; i++) {
        expect(a.normal()).to.equal(b.normal());
        expect(a.uniform()).to.equal(b.uniform());
        expect(a.integer(10)).to.equal(b.integer(10));
      }
    });

    it('different keys give different numbers (any part, order, type, large integers)', () => {
      const keys: (string | number)[][] = [
        ['s', 1, 'c', 0],
        ['s', 1, 'c', 1], // another trial
        ['s', 1, 'd', 0], // another component
        ['s', 2, 'c', 0], // another seed
        ['t', 1, 'c', 0], // another string part
        ['s', 1, 'c'], // shorter
        [1, 's', 'c', 0], // reordered
        ['s', '1', 'c', 0], // "1" vs 1
        ['s1', 'c', 0], // concatenated strings
        ['s', 1, 'c', 2 ** 32], // high word only
        ['s', 1, 'c', 2 ** 32 + 1],
        ['s', 1, 'c', -1],
        [],
      ];
      const firsts = keys.map((k) => uint32s(Generator.fromKey(k), 4).join(','));
      expect(new Set(firsts).size).to.equal(keys.length);
    });

    it('100 consecutive trial keys give 100 distinct streams', () => {
      const seen = new Set<number>();
      for (let t = 0; t < 100; t++) seen.add(Generator.fromKey(['x', t]).nextUint32());
      expect(seen.size).to.equal(100);
    });

    it('rejects key parts that are not safe integers', () => {
      expect(() => Generator.fromKey(['a', 1.5])).to.throw(/random key part must be a safe integer, got 1.5/);
      expect(() => Generator.fromKey([2 ** 60])).to.throw(/safe integer/);
      expect(() => Generator.fromKey([NaN])).to.throw(/safe integer/);
    });

    it('uniform is in [0, 1) and integer(n) in [0, n)', () => {
      const g = Generator.fromKey(['range']);
      for (let i = 0; i < 2000; i++) {
        const u = g.uniform();
        expect(u).to.be.at.least(0).and.below(1);
        const k = g.integer(7);
        expect(Number.isInteger(k)).to.equal(true);
        expect(k).to.be.at.least(0).and.below(7);
      }
      expect(g.integer(1)).to.equal(0);
    });
  });

  describe('RandomStreams keys', () => {
    it('child() appends to the key; the generator of (component, trial) is Generator.fromKey([...key, component, trial])', () => {
      const s = new RandomStreams(['spec', 3]).child('candidate', 'channel');
      expect(s.key).to.deep.equal(['spec', 3, 'candidate', 'channel']);
      expect(uint32s(s.generator('fading', 5), 8)).to.deep.equal(
        uint32s(Generator.fromKey(['spec', 3, 'candidate', 'channel', 'fading', 5]), 8),
      );
    });

    it('different trial, component or stream key give different draws', () => {
      const s = new RandomStreams(['k']);
      const base = take(s.normal({ first: 0, count: 1 }, 'a', [8]));
      expect(take(s.normal({ first: 1, count: 1 }, 'a', [8]))).to.not.deep.equal(base);
      expect(take(s.normal({ first: 0, count: 1 }, 'b', [8]))).to.not.deep.equal(base);
      expect(take(new RandomStreams(['k2']).normal({ first: 0, count: 1 }, 'a', [8]))).to.not.deep.equal(base);
      expect(take(s.child('x').normal({ first: 0, count: 1 }, 'a', [8]))).to.not.deep.equal(base);
      // and the same request gives the same draws
      expect(take(new RandomStreams(['k']).normal({ first: 0, count: 1 }, 'a', [8]))).to.deep.equal(base);
    });

    it('once draws are deterministic and differ from the per-trial draws', () => {
      const s = new RandomStreams(['once']);
      const first = s.complexNormalOnce('pilots', [3, 4]);
      const a = cx.toArrays(first);
      cx.dispose(first);
      const b = s.complexNormalOnce('pilots', [3, 4]);
      expect(cx.shapeOf(b)).to.deep.equal([3, 4]);
      expect(cx.toArrays(b)).to.deep.equal(a);
      cx.dispose(b);
      const t0 = s.complexNormal({ first: 0, count: 1 }, 'pilots', [3, 4]);
      expect(cx.toArrays(t0).re).to.not.deep.equal(a.re);
      cx.dispose(t0);
      expect(uint32s(s.onceGenerator('pilots'), 4)).to.deep.equal(uint32s(Generator.fromKey(['once', 'pilots', 'once']), 4));
    });
  });

  describe('passes over a training set: the components of redrawnPerPass are keyed by the pass', () => {
    const trials: TrialRange = { first: 0, count: 6 };
    const streamsIn = (domain: TrialDomain) => new RandomStreams(['seed', 7, 'channel'], domain);

    it('the keys: pass appended for redrawn components only, and only in a named domain', () => {
      const domain = new TrialDomain('train', new Set(['noise']));
      const s = streamsIn(domain);
      domain.pass = { phase: 1, epoch: 4 };
      expect(uint32s(s.generator('noise', 3), 8)).to.deep.equal(
        uint32s(Generator.fromKey(['seed', 7, 'channel', 'domain:train', 'noise', 3, 'pass', 1, 4]), 8),
      );
      expect(uint32s(s.generator('fading', 3), 8)).to.deep.equal(uint32s(Generator.fromKey(['seed', 7, 'channel', 'domain:train', 'fading', 3]), 8));
      domain.current = undefined; // evaluation draws ignore the pass
      expect(uint32s(s.generator('noise', 3), 8)).to.deep.equal(uint32s(Generator.fromKey(['seed', 7, 'channel', 'noise', 3]), 8));
    });

    it('without a pass the draws are those of the domain alone, as before passes existed', () => {
      const domain = new TrialDomain('train', new Set(['noise']));
      const old = take(new RandomStreams(['seed', 7, 'channel'], new TrialDomain('train')).normal(trials, 'noise', [4]));
      expect(take(streamsIn(domain).normal(trials, 'noise', [4]))).to.deep.equal(old);
      // the explicit pre-pass key of trial 2: [...key, 'domain:train', component, trial]
      const g = Generator.fromKey(['seed', 7, 'channel', 'domain:train', 'noise', 2]);
      expect(old.slice(8, 12)).to.deep.equal(Array.from(Float32Array.from([g.normal(), g.normal(), g.normal(), g.normal()])));
    });

    it('new noise in every epoch and phase, the same noise when a (trial, pass) is drawn again, whatever the batch split', () => {
      const domain = new TrialDomain('train', new Set(['noise']));
      const s = streamsIn(domain);
      const draw = (phase: number, epoch: number, range: TrialRange = trials) => {
        domain.pass = { phase, epoch };
        const noise = take(s.normal(range, 'noise', [4]));
        const fading = take(s.normal(range, 'fading', [4]));
        domain.pass = undefined;
        return { noise, fading };
      };
      const e0 = draw(0, 0);
      const e1 = draw(0, 1);
      const p1 = draw(1, 0);
      expect(e1.fading).to.deep.equal(e0.fading);
      expect(p1.fading).to.deep.equal(e0.fading);
      for (let t = 0; t < trials.count; t++) {
        expect(e1.noise.slice(4 * t, 4 * t + 4), `trial ${t}, epoch 1`).to.not.deep.equal(e0.noise.slice(4 * t, 4 * t + 4));
        expect(p1.noise.slice(4 * t, 4 * t + 4), `trial ${t}, phase 1`).to.not.deep.equal(e0.noise.slice(4 * t, 4 * t + 4));
      }
      expect(draw(0, 1)).to.deep.equal(e1);
      const split = [draw(0, 1, { first: 0, count: 2 }), draw(0, 1, { first: 2, count: 4 })];
      expect(split.flatMap((d) => d.noise)).to.deep.equal(e1.noise);
    });
  });

  describe('batch-split invariance: trial t gets the same draws in one batch of 10 or in 3 + 7', () => {
    const streams = new RandomStreams(['split', 42]);
    const shape = [2, 3];
    const whole: TrialRange = { first: 0, count: 10 };
    const parts: TrialRange[] = [
      { first: 0, count: 3 },
      { first: 3, count: 7 },
    ];

    it('fill', () => {
      const draw = (g: Generator) => g.uniform() + g.integer(5);
      const one = Array.from(streams.fill(whole, 'f', shape, draw));
      expect(one).to.have.length(60);
      const split = parts.flatMap((r) => Array.from(streams.fill(r, 'f', shape, draw)));
      expect(split).to.deep.equal(one);
      // trials in reverse order, one at a time
      const single: number[][] = [];
      for (let t = 9; t >= 0; t--) single[t] = Array.from(streams.fill({ first: t, count: 1 }, 'f', shape, draw));
      expect(single.flat()).to.deep.equal(one);
    });

    it('normal', () => {
      const t = streams.normal(whole, 'n', shape, 2, 1);
      expect(t.shape).to.deep.equal([10, 2, 3]);
      const one = take(t);
      const split = parts.flatMap((r) => take(streams.normal(r, 'n', shape, 2, 1)));
      expect(split).to.deep.equal(one);
    });

    it('uniform', () => {
      const one = take(streams.uniform(whole, 'u', shape, -1, 3));
      const split = parts.flatMap((r) => take(streams.uniform(r, 'u', shape, -1, 3)));
      expect(split).to.deep.equal(one);
      for (const u of one) expect(u).to.be.at.least(-1).and.below(3);
    });

    it('complexNormal', () => {
      const z = streams.complexNormal(whole, 'z', shape, 0.5);
      expect(cx.shapeOf(z)).to.deep.equal([10, 2, 3]);
      const one = cx.toArrays(z);
      cx.dispose(z);
      const split = { re: [] as number[], im: [] as number[] };
      for (const r of parts) {
        const p = streams.complexNormal(r, 'z', shape, 0.5);
        const a = cx.toArrays(p);
        cx.dispose(p);
        split.re.push(...a.re);
        split.im.push(...a.im);
      }
      expect(split).to.deep.equal(one);
    });

    it('normal(std, mean) is mean + std * the standard draws', () => {
      const std1 = take(streams.normal(whole, 'n', shape));
      const scaled = take(streams.normal(whole, 'n', shape, 2, 1));
      for (let i = 0; i < std1.length; i++) expect(scaled[i]).to.be.closeTo(1 + 2 * std1[i], 1e-5);
    });
  });

  describe('statistics (fixed seeds, tolerance 5 standard errors)', () => {
    const n = 200_000;

    it('Generator.uniform: mean 1/2 (SE sqrt(1/(12n))), variance 1/12 (SE sqrt(1/(180n)))', () => {
      const g = Generator.fromKey(['stat', 'uniform']);
      const xs = new Float64Array(n);
      for (let i = 0; i < n; i++) xs[i] = g.uniform();
      expect(meanOf(xs)).to.be.closeTo(0.5, 5 * Math.sqrt(1 / 12 / n));
      // Var((U - 1/2)^2) = E(U - 1/2)^4 - (1/12)^2 = 1/80 - 1/144 = 1/180
      expect(varianceOf(xs)).to.be.closeTo(1 / 12, 5 * Math.sqrt(1 / 180 / n));
    });

    it('Generator.normal: mean 0 (SE 1/sqrt(n)), variance 1 (SE sqrt(2/n)), no lag-1 correlation (SE 1/sqrt(n))', () => {
      const g = Generator.fromKey(['stat', 'normal']);
      const xs = new Float64Array(n);
      for (let i = 0; i < n; i++) xs[i] = g.normal();
      expect(meanOf(xs)).to.be.closeTo(0, 5 / Math.sqrt(n));
      expect(varianceOf(xs)).to.be.closeTo(1, 5 * Math.sqrt(2 / n));
      // consecutive values (the two halves of a Box-Muller pair, and across pairs) are uncorrelated
      let c = 0;
      for (let i = 1; i < n; i++) c += xs[i] * xs[i - 1];
      expect(c / (n - 1)).to.be.closeTo(0, 5 / Math.sqrt(n));
      // fourth moment 3 (SE sqrt((105 - 9) / n))
      let m4 = 0;
      for (let i = 0; i < n; i++) m4 += xs[i] ** 4;
      expect(m4 / n).to.be.closeTo(3, 5 * Math.sqrt(96 / n));
    });

    it('RandomStreams.uniform and normal tensors over many trials', () => {
      const s = new RandomStreams(['stat', 'streams']);
      const trials = { first: 0, count: 2000 };
      const u = take(s.uniform(trials, 'u', [50], 2, 4)); // U[2, 4): mean 3, variance 4/12
      const m = u.length;
      expect(meanOf(u)).to.be.closeTo(3, 5 * Math.sqrt(1 / 3 / m));
      expect(varianceOf(u)).to.be.closeTo(1 / 3, 5 * 4 * Math.sqrt(1 / 180 / m));
      const x = take(s.normal(trials, 'x', [50], 3, -1)); // N(-1, 9)
      expect(meanOf(x)).to.be.closeTo(-1, 5 * 3 / Math.sqrt(m));
      expect(varianceOf(x)).to.be.closeTo(9, 5 * 9 * Math.sqrt(2 / m));
    });

    it('complexNormal(variance v): v/2 per real component, E|z|^2 = v, Re and Im uncorrelated', () => {
      const v = 2.5;
      const s = new RandomStreams(['stat', 'cn']);
      const z = s.complexNormal({ first: 0, count: 1000 }, 'z', [100], v);
      const { re, im } = cx.toArrays(z);
      cx.dispose(z);
      const m = re.length;
      const half = v / 2;
      expect(meanOf(re)).to.be.closeTo(0, 5 * Math.sqrt(half / m));
      expect(meanOf(im)).to.be.closeTo(0, 5 * Math.sqrt(half / m));
      // variance of n real samples: SE = sigma^2 sqrt(2/n)
      expect(varianceOf(re)).to.be.closeTo(half, 5 * half * Math.sqrt(2 / m));
      expect(varianceOf(im)).to.be.closeTo(half, 5 * half * Math.sqrt(2 / m));
      // |z|^2 is exponential with mean v and standard deviation v
      const p = re.map((r, i) => r * r + im[i] * im[i]);
      expect(meanOf(p)).to.be.closeTo(v, (5 * v) / Math.sqrt(m));
      // E[Re Im] = 0 with SE (v/2)/sqrt(n)
      const c = re.reduce((acc, r, i) => acc + r * im[i], 0) / m;
      expect(c).to.be.closeTo(0, (5 * half) / Math.sqrt(m));
    });

    it('complexNormalOnce(variance v): E|z|^2 = v', () => {
      const v = 4;
      const z = new RandomStreams(['stat', 'once']).complexNormalOnce('h', [200, 200], v);
      const p = take(cx.abs2(z));
      cx.dispose(z);
      expect(meanOf(p)).to.be.closeTo(v, (5 * v) / Math.sqrt(p.length));
    });

    it('Generator.integer(n) is uniform: chi-square over n = 10 bins below the 0.9999 quantile of chi2(9) = 33.72', () => {
      const bins = 10;
      const draws = 100_000;
      // The threshold is the 0.9999 quantile of chi-square with 9 degrees of freedom.
      const threshold = 33.72;
      expect(2 * gammaQuantile(0.9999, (bins - 1) / 2)).to.be.closeTo(threshold, 0.01);
      for (const key of ['a', 'b', 'c']) {
        const g = Generator.fromKey(['stat', 'integer', key]);
        const counts = new Array(bins).fill(0);
        for (let i = 0; i < draws; i++) counts[g.integer(bins)]++;
        const e = draws / bins;
        const chi2 = counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
        expect(chi2, `chi-square for key ${key} (counts ${counts})`).to.be.below(threshold);
      }
    });

    it('Generator.integer(3) over the first draw of 30000 trial keys is uniform (chi2(2) 0.9999 quantile 18.42)', () => {
      // Across keys rather than along one stream: the first draw of each trial must be uniform too.
      const counts = [0, 0, 0];
      const draws = 30_000;
      for (let t = 0; t < draws; t++) counts[Generator.fromKey(['stat', 'across', t]).integer(3)]++;
      const e = draws / 3;
      const chi2 = counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
      expect(chi2, `counts ${counts}`).to.be.below(18.42);
    });
  });
});
