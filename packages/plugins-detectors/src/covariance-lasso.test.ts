import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import type { Scenario } from '@gfra/core';
import { covarianceLassoGram, covarianceLassoHost } from './algorithms/covariance';
import { interleavedColumns } from './algorithms/covariance-host';
import { CovarianceLassoDetector, type CovarianceLassoParams } from './covariance-lasso';
import { covarianceLassoObjective } from './testing/lasso-reference';
import { synthetic, type SyntheticBatch } from './testing/synthetic';

const params = (p: Partial<CovarianceLassoParams> = {}): CovarianceLassoParams => ({
  sweeps: 200,
  lambda: 0.1,
  subtractNoise: true,
  threshold: { rule: 'beta', fraction: 0.5 },
  ...p,
});

/** Row-major [L, N] pilot arrays from the synthetic batch's columns. */
function pilotArrays(data: SyntheticBatch): { aRe: Float64Array; aIm: Float64Array } {
  const { sequenceLength: L, numDevices: N } = data.scenario;
  const aRe = new Float64Array(L * N);
  const aIm = new Float64Array(L * N);
  data.pilots.forEach((p, n) => {
    for (let l = 0; l < L; l++) {
      aRe[l * N + n] = p.re[l];
      aIm[l * N + n] = p.im[l];
    }
  });
  return { aRe, aIm };
}

/**
 * g_n = Re(b_n^H res), res = vec(Sigma_hat - sigma^2 I) - sum_n b_n r_n, with the L^2-vectors
 * vec(Sigma_hat - sigma^2 I) and b_n = vec(a_n a_n^H) formed explicitly (column-major vec): an
 * independent route from the solver's Gram-matrix form. The gradient of the smooth part is -g.
 */
function correlations(data: SyntheticBatch, b: number, r: ArrayLike<number>, subtractNoise = true): number[] {
  const { sequenceLength: L, numDevices: N, numAntennas: M } = data.scenario;
  const y = data.y[b];
  const vr = new Float64Array(L * L);
  const vi = new Float64Array(L * L);
  for (let j = 0; j < L; j++)
    for (let i = 0; i < L; i++) {
      let sr = 0;
      let si = 0;
      for (let m = 0; m < M; m++) {
        // y_i conj(y_j)
        sr += y.re[i * M + m] * y.re[j * M + m] + y.im[i * M + m] * y.im[j * M + m];
        si += y.im[i * M + m] * y.re[j * M + m] - y.re[i * M + m] * y.im[j * M + m];
      }
      vr[j * L + i] = sr / M - (subtractNoise && i === j ? data.noiseVar : 0);
      vi[j * L + i] = si / M;
    }
  const bvec = data.pilots.map((a) => {
    const br = new Float64Array(L * L);
    const bi = new Float64Array(L * L);
    for (let j = 0; j < L; j++)
      for (let i = 0; i < L; i++) {
        // a_i conj(a_j)
        br[j * L + i] = a.re[i] * a.re[j] + a.im[i] * a.im[j];
        bi[j * L + i] = a.im[i] * a.re[j] - a.re[i] * a.im[j];
      }
    return { br, bi };
  });
  const rr = Float64Array.from(vr);
  const ri = Float64Array.from(vi);
  bvec.forEach(({ br, bi }, n) => {
    for (let k = 0; k < L * L; k++) {
      rr[k] -= r[n] * br[k];
      ri[k] -= r[n] * bi[k];
    }
  });
  return Array.from({ length: N }, (_, n) => {
    let g = 0;
    for (let k = 0; k < L * L; k++) g += bvec[n].br[k] * rr[k] + bvec[n].bi[k] * ri[k]; // Re(conj(b) res)
    return g;
  });
}

/** Runs the host solver on trial b of a synthetic batch. */
function solve(data: SyntheticBatch, b: number, lambda: number, sweeps: number, onSweep?: (s: number, r: Float64Array) => void, subtractNoise = true): Float64Array {
  const { sequenceLength: L, numDevices: N, numAntennas: M } = data.scenario;
  const { aRe, aIm } = pilotArrays(data);
  return covarianceLassoHost(aRe, aIm, data.y[b].re, data.y[b].im, L, N, M, data.noiseVar, lambda, sweeps, subtractNoise, onSweep);
}

describe('detector:covariance-lasso', () => {
  const small: Scenario = { numDevices: 12, numAntennas: 3, sequenceLength: 6, bitsPerDevice: 0 };
  const data = synthetic({ scenario: small, trials: 3, activityProb: 0.3, snrDb: [5, 15], key: 'covariance-lasso-small' });

  for (const lambda of [0.3, 1]) {
    it(`reaches the non-negative LASSO optimum (KKT, residual formed explicitly), lambda = ${lambda}, L = 6, N = 12, M = 3`, () => {
      for (let b = 0; b < data.y.length; b++) {
        const r = solve(data, b, lambda, 3000);
        const g = correlations(data, b, r);
        let positive = 0;
        let zero = 0;
        r.forEach((rn, n) => {
          expect(rn, 'r >= 0').to.be.at.least(0);
          if (rn > 0) {
            positive++;
            expect(g[n], `trial ${b}, r_${n} > 0: Re(b_n^H res) = lambda`).to.be.closeTo(lambda, 1e-7);
          } else {
            zero++;
            expect(g[n], `trial ${b}, r_${n} = 0: Re(b_n^H res) <= lambda`).to.be.at.most(lambda + 1e-7);
          }
        });
        expect(positive, 'some active coordinates').to.be.above(0);
        expect(zero, 'some zero coordinates').to.be.above(0);
      }
    });
  }

  it('reaches the optimum (KKT) also where c_n comes from the Hermitian form of Sigma_hat (2 M > L: L = 6, M = 5, N = 12, lambda = 0.3)', () => {
    const wide = synthetic({ scenario: { ...small, numAntennas: 5 }, trials: 3, activityProb: 0.3, snrDb: [5, 15], key: 'covariance-lasso-wide' });
    for (let b = 0; b < wide.y.length; b++) {
      const r = solve(wide, b, 0.3, 3000);
      const g = correlations(wide, b, r);
      expect(r.some((rn) => rn > 0), 'some active coordinates').to.equal(true);
      r.forEach((rn, n) => {
        expect(rn).to.be.at.least(0);
        if (rn > 0) expect(g[n], `trial ${b}, r_${n} > 0`).to.be.closeTo(0.3, 1e-7);
        else expect(g[n], `trial ${b}, r_${n} = 0`).to.be.at.most(0.3 + 1e-7);
      });
    }
  });

  it('a shared Gram matrix and any batch split give the same r, bit for bit', () => {
    const { sequenceLength: L, numDevices: N, numAntennas: M } = small;
    const { aRe, aIm } = pilotArrays(data);
    const gram = covarianceLassoGram(interleavedColumns(aRe, aIm, L, N), L, N);
    for (let b = 0; b < data.y.length; b++) {
      const own = covarianceLassoHost(aRe, aIm, data.y[b].re, data.y[b].im, L, N, M, data.noiseVar, 0.3, 50);
      const shared = covarianceLassoHost(aRe, aIm, data.y[b].re, data.y[b].im, L, N, M, data.noiseVar, 0.3, 50, true, undefined, gram);
      expect(Array.from(shared), `trial ${b}`).to.deep.equal(Array.from(own));
    }
    tf.tidy(() => {
      const det = new CovarianceLassoDetector(params({ lambda: 0.3, sweeps: 50 }), small);
      const obs = data.observation();
      const whole = det.estimate(obs).arraySync();
      const part = (first: number, count: number) =>
        det.estimate({ ...obs, y: { re: obs.y.re.slice([first, 0, 0], [count, -1, -1]), im: obs.y.im.slice([first, 0, 0], [count, -1, -1]) } }).arraySync();
      expect([...part(0, 1), ...part(1, 2)]).to.deep.equal(whole);
      expect(whole.flat().some((v) => v > 0)).to.equal(true);
      tf.dispose([obs.y.re, obs.y.im, obs.codebook!.re, obs.codebook!.im, obs.largeScaleFading!, obs.activityProbability!]);
    });
  });

  it('the objective (evaluated directly on the L x L matrices) never increases over sweeps', () => {
    const { sequenceLength: L, numDevices: N, numAntennas: M } = small;
    const { aRe, aIm } = pilotArrays(data);
    for (const subtractNoise of [true, false]) {
      for (let b = 0; b < data.y.length; b++) {
        const y = data.y[b];
        const f = (r: ArrayLike<number>) => covarianceLassoObjective(aRe, aIm, y.re, y.im, L, N, M, data.noiseVar, 0.3, r, subtractNoise);
        const values = [f(new Float64Array(N))];
        solve(data, b, 0.3, 30, (_s, r) => values.push(f(r)), subtractNoise);
        values.forEach((v, s) => s > 0 && expect(v, `trial ${b}, sweep ${s}`).to.be.at.most(values[s - 1] + 1e-12 * Math.abs(values[s - 1])));
        expect(values[values.length - 1]).to.be.below(values[0]);
      }
    }
  });

  it('lambda = 0: non-negative least squares (KKT: Re(b_n^H res) = 0 where r_n > 0, <= 0 elsewhere)', () => {
    for (let b = 0; b < data.y.length; b++) {
      const r = solve(data, b, 0, 5000);
      const g = correlations(data, b, r);
      r.forEach((rn, n) => {
        expect(rn).to.be.at.least(0);
        if (rn > 0) expect(g[n], `trial ${b}, n ${n}`).to.be.closeTo(0, 1e-7);
        else expect(g[n], `trial ${b}, n ${n}`).to.be.at.most(1e-7);
      });
    }
  });

  it('a huge lambda gives r = 0 (host solver and detect)', () => {
    for (let b = 0; b < data.y.length; b++) expect(Array.from(solve(data, b, 1e6, 5))).to.deep.equal(new Array(12).fill(0));
    tf.tidy(() => {
      const det = new CovarianceLassoDetector(params({ lambda: 1e6, sweeps: 5 }), small);
      const est = det.detect(data.observation());
      expect(est.activityScore!.arraySync().flat()).to.deep.equal(new Array(36).fill(0));
      expect(est.activity!.arraySync().flat()).to.deep.equal(new Array(36).fill(0));
    });
  });

  it('detect recovers the active set at large M (M = 400, L = 12, N = 40, 20 dB), rules "beta" and "fixed", no tensor leak', () => {
    const scenario: Scenario = { numDevices: 40, numAntennas: 400, sequenceLength: 12, bitsPerDevice: 0 };
    const big = synthetic({ scenario, trials: 3, activityProb: 0.1, snrDb: 20, key: 'covariance-lasso-large' });
    const obs = big.observation();
    const before = tf.memory().numTensors;
    const det = new CovarianceLassoDetector(params({ lambda: 1 }), scenario);
    const est = det.detect(obs);
    const activity = est.activity!.arraySync();
    const score = est.activityScore!.arraySync();
    tf.dispose([est.activity!, est.activityScore!]);
    expect(tf.memory().numTensors, 'no leaked tensors').to.equal(before);
    expect(activity).to.deep.equal(big.activity);
    expect(big.activity.flat().reduce((a, v) => a + v, 0), 'some devices active').to.be.above(0);
    // r_n / beta_n near 1 for the active devices
    big.activity.forEach((row, b) => row.forEach((a, n) => a === 1 && expect(score[b][n], `trial ${b}, device ${n}`).to.be.closeTo(1, 0.35)));
    const fixed = tf.tidy(() => new CovarianceLassoDetector(params({ lambda: 1, threshold: { rule: 'fixed', value: 50 } }), scenario).detect(obs).activity!.arraySync());
    expect(fixed).to.deep.equal(big.activity);
    tf.dispose([obs.y.re, obs.y.im, obs.codebook!.re, obs.codebook!.im, obs.largeScaleFading!, obs.activityProbability!]);
  });

  it('declares its requirements and rejects more than one pilot per device', () => {
    const info = CovarianceLassoDetector.plugin;
    expect(info.requires!(params(), small)).to.deep.equal(['codebook', 'noiseVariance', 'largeScaleFading']);
    expect(info.requires!(params({ threshold: { rule: 'fixed', value: 1 } }), small)).to.deep.equal(['codebook', 'noiseVariance']);
    expect(info.provides!(params(), small)).to.deep.equal(['activityScore', 'activity']);
    expect(info.check!(params(), small)).to.deep.equal([]);
    expect(info.check!(params(), { ...small, bitsPerDevice: 1 })).to.have.length(1);
  });
});
