import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { cx, gammaQuantile, RandomStreams, type Scenario } from '@gfra/core';
import { CorrelationEnergyDetector, type CorrelationEnergyParams } from './correlation-energy';

describe('detector:correlation-energy', () => {
  it('detects exactly with orthogonal pilots and no noise, including the message (Q = 2)', () => {
    // 2 devices x 2 sequences, L = 4: the identity columns are orthonormal pilots.
    const s: Scenario = { numDevices: 2, numAntennas: 2, sequenceLength: 4, bitsPerDevice: 1 };
    const codebook = cx.fromReal(tf.eye(4));
    // Device 0 sends sequence 1 (column 1) with h = [2, -1]; device 1 is silent. Y = s h^T.
    const y = cx.fromReal(tf.tensor3d([[[0, 0], [2, -1], [0, 0], [0, 0]]]));
    const det = new CorrelationEnergyDetector({ threshold: { rule: 'fixed', value: 0.5 }, noiseLevel: 'known' }, s);
    const est = det.detect({ y, codebook, noiseVar: 1 });
    expect(Array.from(est.activity?.dataSync() ?? [])).to.deep.equal([1, 0]);
    expect(Array.from(est.message?.dataSync() ?? [])).to.deep.equal([1, 0]);
    // normalised energy = ||s^H Y||^2 / (M ||s||^2 sigma^2) = (4 + 1) / 2
    expect(est.activityScore?.dataSync()[0]).to.be.closeTo(2.5, 1e-6);
  });

  it('false-alarm threshold: the Gamma(M, 1)/M quantile, and P_FA holds under noise only (5 SE)', () => {
    const M = 4;
    const s: Scenario = { numDevices: 50, numAntennas: M, sequenceLength: 20, bitsPerDevice: 0 };
    const params: CorrelationEnergyParams = { threshold: { rule: 'false-alarm', falseAlarm: 0.05 }, noiseLevel: 'known' };
    const det = new CorrelationEnergyDetector(params, s);
    expect(det.falseAlarmThreshold(0.05)).to.be.closeTo(gammaQuantile(0.95, M) / M, 1e-12);
    const rnd = new RandomStreams(['fa']);
    const B = 400;
    const codebook = rnd.complexNormalOnce('S', [20, 50], 1 / 20);
    const y = rnd.complexNormal({ first: 0, count: B }, 'w', [20, M], 3); // noise only, sigma^2 = 3
    const est = det.detect({ y, codebook, noiseVar: 3 });
    const rate = tf.mean(est.activity as tf.Tensor).dataSync()[0];
    // Exact under H0: s^H w / ||s|| ~ CN(0, sigma^2) for every fixed s, so each decision is
    // Bernoulli(0.05). The B trials are independent; within a trial the N decisions are correlated
    // through the shared noise: devices n, n' see energies with correlation
    // r_nn' = |s_n^H s_n'|^2 / (||s_n||^2 ||s_n'||^2) (Cov(|a|^2, |b|^2) = |Cov(a, b)|^2 for jointly
    // complex Gaussian a, b, per antenna and so for the sum over M), and we take the tail
    // indicators of the threshold test to be correlated no more than that (true for bivariate
    // Gaussians; assumed for these Gamma pairs). So Var(rate) <= p (1 - p) / (B N) x
    // (1 + (N - 1) rbar), rbar the mean r over pairs (computed from the drawn codebook); 5 SE.
    const S = { re: codebook.re.arraySync() as number[][], im: codebook.im.arraySync() as number[][] };
    const col = (n: number) => ({ re: S.re.map((row) => row[n]), im: S.im.map((row) => row[n]) });
    const cols = Array.from({ length: 50 }, (_, n) => col(n));
    const norm2 = cols.map((c) => c.re.reduce((a, v, l) => a + v * v + c.im[l] ** 2, 0));
    let rSum = 0;
    for (let n = 0; n < 50; n++) {
      for (let k = n + 1; k < 50; k++) {
        let re = 0;
        let im = 0;
        for (let l = 0; l < 20; l++) {
          re += cols[n].re[l] * cols[k].re[l] + cols[n].im[l] * cols[k].im[l];
          im += cols[n].re[l] * cols[k].im[l] - cols[n].im[l] * cols[k].re[l];
        }
        rSum += (re * re + im * im) / (norm2[n] * norm2[k]);
      }
    }
    const rbar = rSum / ((50 * 49) / 2);
    const se = Math.sqrt(((0.05 * 0.95) / (B * 50)) * (1 + 49 * rbar));
    expect(rate, `rate (SE ${se}, mean pilot correlation ${rbar})`).to.be.closeTo(0.05, 5 * se);
  });

  it('declares what it needs from the receiver side for each option', () => {
    const s: Scenario = { numDevices: 2, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 0 };
    const req = CorrelationEnergyDetector.plugin.requires;
    expect(req?.({ threshold: { rule: 'false-alarm', falseAlarm: 0.01 }, noiseLevel: 'estimated' }, s)).to.deep.equal(['codebook']);
    expect(req?.({ threshold: { rule: 'midpoint' }, noiseLevel: 'known' }, s)).to.deep.equal(['codebook', 'noiseVariance', 'largeScaleFading']);
  });

  it('refuses a threshold the estimated-level score can never reach (every score is at most L), and accepts one it can', () => {
    const check = CorrelationEnergyDetector.plugin.check;
    const one: Scenario = { numDevices: 1, numAntennas: 1, sequenceLength: 1, bitsPerDevice: 0 };
    // M = 1: tau = G^{-1}(1, 0.95) = -ln 0.05 = 2.996 >= L = 1.
    const problems = check?.({ threshold: { rule: 'false-alarm', falseAlarm: 0.05 }, noiseLevel: 'estimated' }, one) ?? [];
    expect(problems.map((p) => p.path)).to.deep.equal(['threshold']);
    expect(problems[0].message).to.equal('with noiseLevel "estimated" every score is at most L = 1, but the threshold is 2.996: no device could ever be declared active');
    // The known noise level is not bounded, nor is the midpoint rule; a fixed threshold below L is fine.
    expect(check?.({ threshold: { rule: 'false-alarm', falseAlarm: 0.05 }, noiseLevel: 'known' }, one)).to.deep.equal([]);
    expect(check?.({ threshold: { rule: 'fixed', value: 0.5 }, noiseLevel: 'estimated' }, one)).to.deep.equal([]);
    expect(check?.({ threshold: { rule: 'fixed', value: 3 }, noiseLevel: 'estimated' }, { ...one, sequenceLength: 4 })).to.deep.equal([]);
    // The bound itself: with the estimated level, no score exceeds L (Cauchy-Schwarz), whatever Y.
    const s: Scenario = { numDevices: 3, numAntennas: 2, sequenceLength: 2, bitsPerDevice: 0 };
    const det = new CorrelationEnergyDetector({ threshold: { rule: 'fixed', value: 1 }, noiseLevel: 'estimated' }, s);
    const r = new RandomStreams(['ce-bound']);
    const est = cx.tidy(() => det.detect({ y: r.complexNormal({ first: 0, count: 50 }, 'y', [2, 2], 1), codebook: r.complexNormalOnce('S', [2, 3], 0.5) } as never));
    const max = Math.max(...(est.activityScore as tf.Tensor).dataSync());
    expect(max).to.be.at.most(2 * (1 + 1e-5)); // L = 2, float32 rounding
    expect(max).to.be.greaterThan(1); // not vacuous: scores do come close to the bound
    tf.dispose([est.activityScore, est.activity, est.message] as tf.Tensor[]);
  });
});
