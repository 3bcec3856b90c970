import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { RandomStreams, type Scenario } from '@gfra/core';
import { CovarianceMlDetector, type CovarianceMlParams } from './covariance-ml';
import { covarianceCoordinateDescent, covarianceObjective } from './testing/covariance-reference';
import { synthetic } from './testing/synthetic';

const params = (p: Partial<CovarianceMlParams> = {}): CovarianceMlParams => ({
  sweeps: 20,
  order: 'random',
  threshold: { rule: 'beta', fraction: 0.5 },
  precision: 'float64',
  objective: 'ml',
  ...p,
});

/** The two pilot configurations the detector tests run in (see {@link synthetic}). */
const PILOTS = ['unit-norm', 'raw'] as const;

/** float32 unit roundoff. */
const U32 = 2 ** -24;

/**
 * First-order change of f when every coordinate of gamma is moved by its float32 rounding
 * (|fl(g) - g| <= u |g|): sum_k |f(gamma + u gamma_k e_k) - f(gamma)|, evaluated in float64.
 */
function roundingSlack(gamma: readonly number[], value: number, f: (g: readonly number[]) => number): number {
  let slack = 0;
  gamma.forEach((g, k) => {
    if (g === 0) return;
    const moved = gamma.slice();
    moved[k] = g * (1 + U32);
    slack += Math.abs(f(moved) - value);
  });
  return slack;
}

describe('detector:covariance-ml', () => {
  for (const pilots of PILOTS) {
    it(`the log-likelihood never decreases over sweeps and gamma stays >= 0 (objective by Cholesky, float64; path loss, N = 60, L = 16, M = 8, ${pilots} pilots)`, () => {
      const scenario: Scenario = { numDevices: 60, numAntennas: 8, sequenceLength: 16, bitsPerDevice: 0 };
      const B = 4;
      const data = synthetic({ scenario, trials: B, activityProb: 0.1, snrDb: [3.9, 52.8], key: 'monotone', pilots });
      const f = (g: readonly number[], b: number) => covarianceObjective(g, data.pilots, data.y[b], 16, 8, 1);
      const objective: number[][] = Array.from({ length: B }, () => []);
      const slack: number[][] = Array.from({ length: B }, () => []);
      tf.tidy(() => {
        const det = new CovarianceMlDetector(params({ sweeps: 12 }), scenario, new RandomStreams(['cov']));
        det.estimate(data.observation(), (_sweep, gamma) => {
          const g = gamma.arraySync();
          g.forEach((row, b) => {
            expect(Math.min(...row), 'gamma >= 0').to.be.at.least(0);
            const value = f(row, b);
            objective[b].push(value);
            slack[b].push(roundingSlack(row, value, (x) => f(x, b)));
          });
        });
      });
      const start = data.y.map((_, b) => f(new Array(60).fill(0), b));
      objective.forEach((values, b) => {
        // f = log det Sigma + tr(Sigma^{-1} Sigma_hat) = -(log-likelihood) / M + const. The float64
        // iterates decrease f; we see them rounded to float32, which moves f by at most the slack
        // of each (roundingSlack, first order), so f_s <= f_{s-1} + slack_s + slack_{s-1}, plus
        // float64 rounding of f itself (1e-12 |f|). gamma = 0 at the start is exact.
        [start[b], ...values].forEach((v, s, all) => {
          if (s === 0) return;
          const allowed = slack[b][s - 1] + (s > 1 ? slack[b][s - 2] : 0) + 1e-12 * Math.abs(all[s - 1]);
          expect(v, `trial ${b}, sweep ${s} (slack ${allowed})`).to.be.at.most(all[s - 1] + allowed);
        });
        expect(values[values.length - 1]).to.be.below(start[b]);
      });
    });
  }

  it('one coordinate step is the exact 1-D minimiser of the objective (grid search, float64 reference)', () => {
    const scenario: Scenario = { numDevices: 5, numAntennas: 6, sequenceLength: 4, bitsPerDevice: 0 };
    const data = synthetic({ scenario, trials: 1, activityProb: 0.5, snrDb: 10, key: 'step' });
    const f = (g: number[]) => covarianceObjective(g, data.pilots, data.y[0], 4, 6, 1);
    // two coordinates in turn, from zero: the reference update of each must beat every grid value.
    // Slack: float64 rounding of f (a 4 x 4 Cholesky and solves, ~L^2 = 16 roundings of terms of
    // size <= |f|): 16 * 2^-53 |f| < 1e-14 for |f| < 50; we allow 1e-12.
    const gamma = covarianceCoordinateDescent(data.pilots, data.y[0], 4, 6, 1, [[2, 0]]);
    const best0 = f([0, 0, gamma[2], 0, 0]);
    for (let v = 0; v <= 60; v += 0.05) expect(f([v, 0, gamma[2], 0, 0])).to.be.at.least(f([gamma[0], 0, gamma[2], 0, 0]) - 1e-12);
    for (let v = 0; v <= 60; v += 0.05) expect(f([0, 0, v, 0, 0])).to.be.at.least(best0 - 1e-12);
  });

  for (const pilots of PILOTS) {
    it(`float64 (host) equals the plain-loop reference, and float32 (tfjs, batched) agrees with it when the dynamic range is moderate (${pilots} pilots)`, () => {
      const scenario: Scenario = { numDevices: 30, numAntennas: 12, sequenceLength: 10, bitsPerDevice: 1 };
      const data = synthetic({ scenario, trials: 3, activityProb: 0.15, snrDb: [0, 20], key: 'agree', pilots });
      const orders = Array.from({ length: 6 }, () => Array.from({ length: 60 }, (_, k) => k));
      // the reference sees exactly the detector's inputs: y and the pilots as float32 tensors hold them
      const f32 = (v: { re: number[]; im: number[] }) => ({ re: v.re.map(Math.fround), im: v.im.map(Math.fround) });
      const pilots32 = data.pilots.map(f32);
      const reference = data.y.map((y) => covarianceCoordinateDescent(pilots32, f32(y), 10, 12, 1, orders));
      // Tolerances, with n = 6 x 60 = 360 rank-one (Sherman-Morrison) updates and the condition
      // kappa = 1 + max beta ||s||^2 / sigma^2 of Sigma. float64: both run in float64 on the same
      // (float32-held) inputs (rounding 2^-53 kappa n ~ 1e-11 relative, x 10), and the plugin hands
      // gamma over in float32 (u |gamma|).
      // float32: each update rounds W = Sigma^{-1} at u relative to its largest eigenvalue, i.e. at
      // u kappa relative to the direction of a strong device; over n updates (random walk)
      // eps_W ~ u kappa sqrt(n), and gamma = d = (b - a) / a^2 inherits ~3 eps_W of its scale beta
      // (first-order error propagation, not a rigorous bound); within 5 times that.
      const maxNorm = Math.max(...data.pilots.map((p) => p.re.reduce((a, v, i) => a + v * v + p.im[i] ** 2, 0)));
      const kappa = 1 + (Math.max(...data.beta) * maxNorm) / data.noiseVar;
      const n = 360;
      tf.tidy(() => {
        for (const precision of ['float64', 'float32'] as const) {
          const det = new CovarianceMlDetector(params({ sweeps: 6, order: 'cyclic', precision }), scenario, new RandomStreams(['x']));
          const gamma = det.estimate(data.observation()).arraySync();
          gamma.forEach((row, b) =>
            row.forEach((g, k) => {
              const scale = data.beta[Math.floor(k / 2)];
              const ref = reference[b][k];
              const tol = precision === 'float64' ? U32 * Math.abs(ref) + 10 * 2 ** -53 * kappa * n * scale : 5 * 3 * U32 * kappa * Math.sqrt(n) * scale;
              expect(g, `${precision} trial ${b} coordinate ${k}`).to.be.closeTo(ref, tol);
            }),
          );
        }
      });
    });
  }

  for (const pilots of PILOTS) {
    it(`Q > 1 keeps the strongest of each device's sequences; decisions gamma > beta/2 or gamma > value; exact when noiseless-like (${pilots} pilots)`, () => {
      const scenario: Scenario = { numDevices: 8, numAntennas: 64, sequenceLength: 12, bitsPerDevice: 1 };
      const B = 20;
      const data = synthetic({ scenario, trials: B, activityProb: 0.3, snrDb: 30, key: 'q2', pilots });
      tf.tidy(() => {
        const est = new CovarianceMlDetector(params(), scenario, new RandomStreams(['q2'])).detect(data.observation());
        expect(est.activity?.arraySync()).to.deep.equal(data.activity);
        const msg = est.message?.arraySync() as number[][];
        data.activity.forEach((a, b) => a.forEach((on, n) => on && expect(msg[b][n]).to.equal(data.message[b][n])));
        // score = gamma / beta ~ ||g||^2 / M: near 1 when active, near 0 otherwise
        const score = est.activityScore?.arraySync() as number[][];
        score.forEach((row, b) => row.forEach((s, n) => expect(Math.abs(s - data.activity[b][n])).to.be.below(0.5)));
        // the beta-free rule with the same absolute threshold makes the same decisions (equal beta here)
        const fixed = new CovarianceMlDetector(params({ threshold: { rule: 'fixed', value: data.beta[0] / 2 } }), scenario, new RandomStreams(['q2'])).detect(data.observation());
        expect(fixed.activity?.arraySync()).to.deep.equal(data.activity);
      });
    });
  }

  it('random coordinate order: a fresh permutation per sweep, the same for the same random key', () => {
    const scenario: Scenario = { numDevices: 20, numAntennas: 4, sequenceLength: 8, bitsPerDevice: 0 };
    const data = synthetic({ scenario, trials: 2, activityProb: 0.2, snrDb: [0, 10], key: 'order' });
    tf.tidy(() => {
      const run = (key: string, order: CovarianceMlParams['order']) =>
        new CovarianceMlDetector(params({ sweeps: 2, order }), scenario, new RandomStreams([key])).estimate(data.observation()).arraySync();
      expect(run('a', 'random')).to.deep.equal(run('a', 'random'));
      expect(run('a', 'random')).to.not.deep.equal(run('b', 'random'));
      expect(run('a', 'cyclic')).to.deep.equal(run('b', 'cyclic'));
    });
    const info = CovarianceMlDetector.plugin;
    expect(info.requires?.(params(), scenario)).to.deep.equal(['codebook', 'noiseVariance', 'largeScaleFading']);
    expect(info.requires?.(params({ threshold: { rule: 'fixed', value: 1 } }), scenario)).to.deep.equal(['codebook', 'noiseVariance']);
  });
});
