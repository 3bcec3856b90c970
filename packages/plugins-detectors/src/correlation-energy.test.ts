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
    // Exact under H0: s^H w / ||s|| ~ CN(0, sigma^2) for every fixed s. n = B*N decisions (correlated
    // across devices through the shared noise, so allow the 5 SE of independent decisions x 2).
    const n = B * 50;
    expect(rate).to.be.closeTo(0.05, 2 * 5 * Math.sqrt((0.05 * 0.95) / n));
  });

  it('declares what it needs from the receiver side for each option', () => {
    const s: Scenario = { numDevices: 2, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 0 };
    const req = CorrelationEnergyDetector.plugin.requires;
    expect(req?.({ threshold: { rule: 'false-alarm', falseAlarm: 0.01 }, noiseLevel: 'estimated' }, s)).to.deep.equal(['codebook']);
    expect(req?.({ threshold: { rule: 'midpoint' }, noiseLevel: 'known' }, s)).to.deep.equal(['codebook', 'noiseVariance', 'largeScaleFading']);
  });
});
