import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { RandomStreams, type Scenario } from '@gfra/core';
import { CovarianceMlDetector, type CovarianceMlParams } from './covariance-ml';
import { mapStep } from './algorithms/covariance';
import { covarianceObjective } from './testing/covariance-reference';
import { synthetic, type SyntheticObservation } from './testing/synthetic';

const params = (p: Partial<CovarianceMlParams> = {}): CovarianceMlParams => ({
  sweeps: 10,
  order: 'cyclic',
  threshold: { rule: 'beta', fraction: 0.5 },
  precision: 'float64',
  objective: 'map',
  ...p,
});

/** Two-class priors (the independent case of Cui, Li, Zhang): eps = 0.15 for the first half, 0.05 for the rest. */
const twoClass = (N: number): number[] => Array.from({ length: N }, (_, n) => (n < N / 2 ? 0.15 : 0.05));

describe('detector:covariance-ml, objective "map" (Cui, Li, Zhang, Algorithm 3)', () => {
  it('the coordinate step equals a dense 1-D grid minimiser of log(1 + ds) - dq/(1 + ds) - cd over d >= -alpha (eps in {0.02, 0.1, 0.3, 0.5})', () => {
    const M = 4;
    for (const eps of [0.02, 0.1, 0.3, 0.5]) {
      const c = Math.log(eps / (1 - eps)) / M;
      for (const [s, q, alpha] of [
        [2, 5, 0],
        [1.5, 0.2, 0.5],
        [3, 3.5, 0.1],
        [0.8, 4, 1.2],
      ]) {
        // alpha s < 1: removing the current alpha keeps Sigma positive definite (1 + d s > 0 on the domain)
        const f = (d: number) => Math.log(1 + d * s) - (d * q) / (1 + d * s) - c * d;
        const d = Math.max(mapStep(s, q, c), -alpha);
        let best = Infinity;
        for (let v = -alpha; v <= 20; v += 1e-4) best = Math.min(best, f(v));
        expect(f(d), `eps ${eps}, s ${s}, q ${q}, alpha ${alpha}`).to.be.at.most(best + 1e-9);
      }
    }
    expect(mapStep(2, 5, 0)).to.equal((5 - 2) / 4); // c = 0: the ML step
  });

  it('the MAP objective never increases over sweeps (per-device priors, float64 and float32)', () => {
    const [N, L, M, B] = [40, 8, 4, 3];
    const scenario: Scenario = { numDevices: N, numAntennas: M, sequenceLength: L, bitsPerDevice: 0 };
    const data = synthetic({ scenario, trials: B, activityProb: 0.1, snrDb: 10, key: 'map-monotone' });
    const eps = twoClass(N);
    const cOf = (n: number) => Math.log(eps[n] / (1 - eps[n])) / (M * data.beta[n]);
    const objective = (g: number[], b: number) => covarianceObjective(g, data.pilots, data.y[b], L, M, data.noiseVar) - g.reduce((s, v, n) => s + cOf(n) * v, 0);
    for (const precision of ['float64', 'float32'] as const) {
      const values: number[][] = Array.from({ length: B }, (_, b) => [objective(new Array(N).fill(0), b)]);
      tf.tidy(() => {
        const obs: SyntheticObservation = { ...data.observation(), activityProbability: tf.tensor1d(eps) };
        new CovarianceMlDetector(params({ precision }), scenario, new RandomStreams(['map'])).estimate(obs, (_s, gamma) =>
          gamma.arraySync().forEach((row, b) => values[b].push(objective(row, b))),
        );
      });
      const slack = precision === 'float64' ? 1e-9 : 1e-4;
      values.forEach((f, b) => {
        f.forEach((v, s) => s > 0 && expect(v, `${precision} trial ${b}, sweep ${s}`).to.be.at.most(f[s - 1] + slack * Math.abs(f[s - 1])));
        expect(f[f.length - 1]).to.be.below(f[0]);
      });
    }
  });

  it('MAP with eps = 1/2 is ML; a small prior pulls estimates down; float32 agrees with float64', () => {
    const [N, L, M] = [30, 10, 8];
    const scenario: Scenario = { numDevices: N, numAntennas: M, sequenceLength: L, bitsPerDevice: 0 };
    const data = synthetic({ scenario, trials: 2, activityProb: 0.15, snrDb: 10, key: 'map-ml' });
    const run = (p: Partial<CovarianceMlParams>, eps: number) =>
      tf.tidy(() => {
        const obs: SyntheticObservation = { ...data.observation(), activityProbability: tf.fill([N], eps) as tf.Tensor1D };
        return new CovarianceMlDetector(params(p), scenario, new RandomStreams(['x'])).estimate(obs).arraySync().flat();
      });
    const ml = run({ objective: 'ml' }, 0.5);
    run({}, 0.5).forEach((v, i) => expect(v).to.be.closeTo(ml[i], 1e-6 * Math.max(1, ml[i])));
    const map = run({}, 0.05);
    expect(map.reduce((s, v) => s + v, 0)).to.be.below(ml.reduce((s, v) => s + v, 0));
    run({ precision: 'float32' }, 0.05).forEach((v, i) => expect(v).to.be.closeTo(map[i], 1e-2 * Math.max(1, map[i])));
  });
});
