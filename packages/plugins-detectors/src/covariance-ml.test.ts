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

describe('detector:covariance-ml', () => {
  it('the log-likelihood never decreases over sweeps and gamma stays >= 0 (objective by Cholesky, float64; path loss, N = 60, L = 16, M = 8)', () => {
    const scenario: Scenario = { numDevices: 60, numAntennas: 8, sequenceLength: 16, bitsPerDevice: 0 };
    const B = 4;
    const data = synthetic({ scenario, trials: B, activityProb: 0.1, snrDb: [3.9, 52.8], key: 'monotone' });
    const objective: number[][] = Array.from({ length: B }, () => []);
    tf.tidy(() => {
      const det = new CovarianceMlDetector(params({ sweeps: 12 }), scenario, new RandomStreams(['cov']));
      det.estimate(data.observation(), (_sweep, gamma) => {
        const g = gamma.arraySync();
        g.forEach((row, b) => {
          expect(Math.min(...row), 'gamma >= 0').to.be.at.least(0);
          objective[b].push(covarianceObjective(row, data.pilots, data.y[b], 16, 8, 1));
        });
      });
    });
    const start = data.y.map((y) => covarianceObjective(new Array(60).fill(0), data.pilots, y, 16, 8, 1));
    objective.forEach((f, b) => {
      // f = log det Sigma + tr(Sigma^{-1} Sigma_hat) = -(log-likelihood) / M + const; float32 gamma
      // handed to the float64 objective: allow 1e-6 relative slack.
      [start[b], ...f].forEach((v, s, all) => s > 0 && expect(v, `trial ${b}, sweep ${s}`).to.be.at.most(all[s - 1] + 1e-6 * Math.abs(all[s - 1])));
      expect(f[f.length - 1]).to.be.below(start[b]);
    });
  });

  it('one coordinate step is the exact 1-D minimiser of the objective (grid search, float64 reference)', () => {
    const scenario: Scenario = { numDevices: 5, numAntennas: 6, sequenceLength: 4, bitsPerDevice: 0 };
    const data = synthetic({ scenario, trials: 1, activityProb: 0.5, snrDb: 10, key: 'step' });
    const f = (g: number[]) => covarianceObjective(g, data.pilots, data.y[0], 4, 6, 1);
    // two coordinates in turn, from zero: the reference update of each must beat every grid value
    const gamma = covarianceCoordinateDescent(data.pilots, data.y[0], 4, 6, 1, [[2, 0]]);
    const best0 = f([0, 0, gamma[2], 0, 0]);
    for (let v = 0; v <= 60; v += 0.05) expect(f([v, 0, gamma[2], 0, 0])).to.be.at.least(f([gamma[0], 0, gamma[2], 0, 0]) - 1e-12);
    for (let v = 0; v <= 60; v += 0.05) expect(f([0, 0, v, 0, 0])).to.be.at.least(best0 - 1e-12);
  });

  it('float64 (host) equals the plain-loop reference, and float32 (tfjs, batched) agrees with it when the dynamic range is moderate', () => {
    const scenario: Scenario = { numDevices: 30, numAntennas: 12, sequenceLength: 10, bitsPerDevice: 1 };
    const data = synthetic({ scenario, trials: 3, activityProb: 0.15, snrDb: [0, 20], key: 'agree' });
    const orders = Array.from({ length: 6 }, () => Array.from({ length: 60 }, (_, k) => k));
    const reference = data.y.map((y) => covarianceCoordinateDescent(data.pilots, y, 10, 12, 1, orders));
    tf.tidy(() => {
      for (const precision of ['float64', 'float32'] as const) {
        const det = new CovarianceMlDetector(params({ sweeps: 6, order: 'cyclic', precision }), scenario, new RandomStreams(['x']));
        const gamma = det.estimate(data.observation()).arraySync();
        gamma.forEach((row, b) =>
          row.forEach((g, k) => {
            const scale = data.beta[Math.floor(k / 2)];
            const tol = precision === 'float64' ? 1e-6 : 2e-3;
            expect(g, `${precision} trial ${b} coordinate ${k}`).to.be.closeTo(reference[b][k], tol * scale);
          }),
        );
      }
    });
  });

  it('Q > 1 keeps the strongest of each device\'s sequences; decisions gamma > beta/2 or gamma > value; exact when noiseless-like', () => {
    const scenario: Scenario = { numDevices: 8, numAntennas: 64, sequenceLength: 12, bitsPerDevice: 1 };
    const B = 20;
    const data = synthetic({ scenario, trials: B, activityProb: 0.3, snrDb: 30, key: 'q2' });
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
