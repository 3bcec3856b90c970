import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { cx, RandomStreams, type Scenario } from '@gfra/core';
import { RayleighChannel, type RayleighParams } from './rayleigh';

const scenario: Scenario = { numDevices: 4, numAntennas: 8, sequenceLength: 5, bitsPerDevice: 0 };
const params = (p: Partial<RayleighParams> = {}): RayleighParams => ({
  snrDb: 10,
  noiseVar: 2,
  knownNoiseVariance: true,
  knownLargeScaleFading: true,
  ...p,
});

describe('channel:rayleigh', () => {
  it('y = X^T H + W with the returned channel, and W has variance sigma^2 (5 SE)', () => {
    const B = 400;
    const ch = new RayleighChannel(params(), scenario, new RandomStreams(['ray']));
    const tx = new RandomStreams(['tx']).complexNormal({ first: 0, count: B }, 'x', [4, 5], 1 / 5);
    const out = ch.propagate(tx, { first: 0, count: B });
    const noise = cx.sub(out.y, cx.matmul(cx.matrixTranspose(tx), out.channel));
    // Real parts of CN(0, 2) noise: variance 1 each; n = B*L*M samples; SE of a variance ~ s2 sqrt(2/n).
    const n = B * 5 * 8;
    const v = tf.moments(noise.re).variance.dataSync()[0];
    expect(v).to.be.closeTo(1, 5 * Math.sqrt(2 / n));
    expect(out.noiseVar).to.equal(2);
  });

  it('beta_n = sigma^2 10^(SNR/10) and E|h|^2 = beta (5 SE)', () => {
    const B = 500;
    const ch = new RayleighChannel(params(), scenario, new RandomStreams(['ray']));
    const tx = cx.fromReal(tf.zeros([B, 4, 5]));
    const out = ch.propagate(tx, { first: 0, count: B });
    expect(Array.from(out.largeScaleFading.dataSync()).every((b) => Math.abs(b - 20) < 1e-4)).to.equal(true);
    const power = tf.mean(cx.abs2(out.channel)).dataSync()[0];
    // |h|^2 ~ beta Exp(1): SE of the mean = beta / sqrt(n)
    expect(power).to.be.closeTo(20, (5 * 20) / Math.sqrt(B * 4 * 8));
  });

  it('draws per-device SNRs uniformly in dB within {min, max}', () => {
    const ch = new RayleighChannel(params({ snrDb: { min: -5, max: 15 }, noiseVar: 1 }), scenario, new RandomStreams(['ray']));
    const beta = ch.largeScaleFading({ first: 0, count: 2000 });
    const snr = Array.from(beta.dataSync()).map((b) => 10 * Math.log10(b));
    expect(Math.min(...snr)).to.be.at.least(-5 - 1e-4);
    expect(Math.max(...snr)).to.be.at.most(15 + 1e-4);
    const mean = snr.reduce((a, b) => a + b, 0) / snr.length;
    // uniform on [-5, 15]: mean 5, sd 20/sqrt(12)
    expect(mean).to.be.closeTo(5, (5 * 20) / Math.sqrt(12) / Math.sqrt(snr.length));
  });

  it('declares the side information it gives the receiver', () => {
    const provides = RayleighChannel.plugin.provides;
    expect(provides?.(params(), scenario)).to.deep.equal(['noiseVariance', 'largeScaleFading']);
    expect(provides?.(params({ knownLargeScaleFading: false }), scenario)).to.deep.equal(['noiseVariance']);
    expect(RayleighChannel.plugin.check?.(params({ snrDb: { min: 3, max: 1 } }), scenario)[0].message).to.match(/min \(3 dB\) must be <= max \(1 dB\)/);
  });
});
