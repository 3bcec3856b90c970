import { expect } from 'chai';
import { Generator } from './rng';
import { fitThreshold } from './threshold';

/** Misses + false alarms of `score >= gamma`. */
function errorsAt(scores: number[], active: number[], gamma: number): number {
  let e = 0;
  scores.forEach((s, i) => {
    if ((s >= gamma) !== (active[i] === 1)) e++;
  });
  return e;
}

/** Brute-force reference: the best error count over every midpoint of distinct sorted scores and both ends. */
function bruteForce(scores: number[], active: number[]): number {
  const distinct = [...new Set(scores)].sort((a, b) => a - b);
  const candidates = [distinct[0] - 1, distinct[distinct.length - 1] + 1, ...distinct.slice(1).map((v, i) => (v + distinct[i]) / 2)];
  return Math.min(...candidates.map((g) => errorsAt(scores, active, g)));
}

describe('fitThreshold (thresholding module of Cui, Li, Zhang [Cui2021], Sec. IV-C, gamma*)', () => {
  it('hand case: separable scores give zero errors and a threshold between the classes', () => {
    const fit = fitThreshold([0.1, 0.9, 0.2, 0.8], [0, 1, 0, 1]);
    expect(fit.errors).to.equal(0);
    expect(fit.gamma).to.be.closeTo(0.5, 1e-12);
    expect(fit.samples).to.equal(4);
  });

  it('hand case: one overlap costs one error; misses and false alarms are counted apart', () => {
    // sorted: 0.1(0) 0.3(1) 0.4(0) 0.7(1): best cut between 0.1 and 0.3 (1 FA) or 0.4 and 0.7 (1 miss)
    const fit = fitThreshold([0.4, 0.7, 0.1, 0.3], [0, 1, 0, 1]);
    expect(fit.errors).to.equal(1);
    expect(fit.misses + fit.falseAlarms).to.equal(1);
    expect(fit.gamma).to.be.closeTo(0.2, 1e-12); // ties go to the lowest threshold
    expect(errorsAt([0.4, 0.7, 0.1, 0.3], [0, 1, 0, 1], fit.gamma)).to.equal(1);
  });

  it('all inactive / all active: the threshold lies outside the scores', () => {
    expect(fitThreshold([0.3, 0.5], [0, 0]).gamma).to.be.greaterThan(0.5);
    expect(fitThreshold([0.3, 0.5], [1, 1]).gamma).to.be.lessThan(0.3);
  });

  it('ties: equal scores are never split', () => {
    const fit = fitThreshold([1, 1, 1, 2], [0, 1, 1, 1]);
    expect(fit.errors).to.equal(1); // either all of the 1s active (1 FA) or none (2 misses)
    expect(errorsAt([1, 1, 1, 2], [0, 1, 1, 1], fit.gamma)).to.equal(fit.errors);
  });

  it('equals brute force over all midpoints on random data, with rounded scores so that ties occur', () => {
    const g = Generator.fromKey(["threshold.test"]);
    for (let rep = 0; rep < 40; rep++) {
      const K = 1 + g.integer(60);
      const active = Array.from({ length: K }, () => (g.uniform() < 0.3 ? 1 : 0));
      const scores = active.map((a) => Math.round((a + g.normal() * 0.6) * 10) / 10);
      const fit = fitThreshold(scores, active);
      expect(fit.errors, `rep ${rep}`).to.equal(bruteForce(scores, active));
      expect(errorsAt(scores, active, fit.gamma), `rep ${rep}`).to.equal(fit.errors);
    }
  });

  it('rejects empty, mismatched and non-finite input with a clear message', () => {
    expect(() => fitThreshold([], [])).to.throw(/no scores/);
    expect(() => fitThreshold([1, 2], [1])).to.throw(/2 scores but 1/);
    expect(() => fitThreshold([1, NaN], [1, 0])).to.throw(/score 1 is NaN/);
  });
});
