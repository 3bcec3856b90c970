import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { cx, RandomStreams, type Scenario } from '@gfra/core';
import { PerResourceRayleighChannel, perResourceNoiseVar, type PerResourceRayleighParams } from './per-resource-rayleigh';

const scenario: Scenario = { numDevices: 6, numAntennas: 2, sequenceLength: 4, bitsPerDevice: 2 };
const params = (p: Partial<PerResourceRayleighParams> = {}): PerResourceRayleighParams => ({
  mode: 'rayleigh',
  symbolEnergy: 1,
  knownChannel: true,
  knownNoiseVariance: true,
  ...p,
});

/** Mean of a tensor as a number. */
const mean = (x: tf.Tensor) => tf.mean(x).dataSync()[0];

describe('channel:per-resource-rayleigh', () => {
  it('y[l, m] = sum_n x_n[l] h[n, l, m] + w with the returned channel [B, N, L, M]; w ~ CN(0, sigma^2) (5 SE)', () => {
    const B = 500;
    const trials = { first: 0, count: B };
    const ch = new PerResourceRayleighChannel(params({ noiseVar: 0.5 }), scenario, new RandomStreams(['prr']));
    const tx = new RandomStreams(['tx']).complexNormal(trials, 'x', [6, 4], 1);
    const out = ch.propagate(tx, trials);
    expect(out.channel.re.shape).to.deep.equal([B, 6, 4, 2]);
    expect(out.y.re.shape).to.deep.equal([B, 4, 2]);
    expect(out.largeScaleFading.shape).to.deep.equal([B, 6]);
    expect(out.noiseVar).to.equal(0.5);
    // reference superposition by explicit loops over n (independent of the plugin's broadcasting)
    const x = cx.toArrays(tx);
    const h = cx.toArrays(out.channel);
    const y = cx.toArrays(out.y);
    const wRe: number[] = [];
    const wIm: number[] = [];
    for (let b = 0; b < B; b++) {
      for (let l = 0; l < 4; l++) {
        for (let m = 0; m < 2; m++) {
          let re = 0;
          let im = 0;
          for (let n = 0; n < 6; n++) {
            const xi = (b * 6 + n) * 4 + l;
            const hi = ((b * 6 + n) * 4 + l) * 2 + m;
            re += x.re[xi] * h.re[hi] - x.im[xi] * h.im[hi];
            im += x.re[xi] * h.im[hi] + x.im[xi] * h.re[hi];
          }
          const yi = (b * 4 + l) * 2 + m;
          wRe.push(y.re[yi] - re);
          wIm.push(y.im[yi] - im);
        }
      }
    }
    // real and imaginary parts of CN(0, 0.5): variance 0.25 each, SE of a variance ~ s2 sqrt(2/n)
    const n = wRe.length;
    for (const w of [wRe, wIm]) {
      const v = w.reduce((s, a) => s + a * a, 0) / n;
      expect(v).to.be.closeTo(0.25, 5 * 0.25 * Math.sqrt(2 / n));
    }
  });

  it('h is i.i.d. CN(0, 1) per resource element: unit power, zero mean, uncorrelated across REs and antennas (5 SE)', () => {
    const B = 1000;
    const ch = new PerResourceRayleighChannel(params(), scenario, new RandomStreams(['prr']));
    const out = ch.propagate(cx.fromReal(tf.zeros([B, 6, 4])), { first: 0, count: B });
    const h = out.channel;
    const n = B * 6 * 4 * 2;
    // |h|^2 ~ Exp(1): mean 1, sd 1
    expect(mean(cx.abs2(h))).to.be.closeTo(1, 5 / Math.sqrt(n));
    // each real part N(0, 1/2): mean 0 with sd sqrt(1/2); variance 1/2 each
    expect(mean(h.re)).to.be.closeTo(0, 5 * Math.SQRT1_2 / Math.sqrt(n));
    expect(mean(tf.square(h.re))).to.be.closeTo(0.5, 5 * 0.5 * Math.sqrt(2 / n));
    expect(mean(tf.square(h.im))).to.be.closeTo(0.5, 5 * 0.5 * Math.sqrt(2 / n));
    // E[h_{l} conj(h_{l'})] = 0 for l != l' (and across antennas): |product| has sd 1 per complex sample
    const [h0, h1] = [tf.slice(h.re, [0, 0, 0, 0], [B, 6, 1, 2]), tf.slice(h.re, [0, 0, 1, 0], [B, 6, 1, 2])];
    const [g0, g1] = [tf.slice(h.im, [0, 0, 0, 0], [B, 6, 1, 2]), tf.slice(h.im, [0, 0, 1, 0], [B, 6, 1, 2])];
    const corrRe = mean(tf.add(tf.mul(h0, h1), tf.mul(g0, g1))); // Re E[h_0 conj(h_1)]
    const m = B * 6 * 2;
    expect(corrRe).to.be.closeTo(0, 5 * Math.SQRT1_2 / Math.sqrt(m));
    const [a0, a1] = [tf.slice(h.re, [0, 0, 0, 0], [B, 6, 4, 1]), tf.slice(h.re, [0, 0, 0, 1], [B, 6, 4, 1])];
    expect(mean(tf.mul(a0, a1))).to.be.closeTo(0, (5 * 0.5) / Math.sqrt(B * 6 * 4));
    expect(Array.from(out.largeScaleFading.dataSync()).every((v) => v === 1)).to.equal(true);
  });

  it('awgn mode: h = 1 and y = sum_n x_n + w', () => {
    const B = 4;
    const ch = new PerResourceRayleighChannel(params({ mode: 'awgn', noiseVar: 1e-12 }), scenario, new RandomStreams(['prr']));
    const tx = new RandomStreams(['tx']).complexNormal({ first: 0, count: B }, 'x', [6, 4], 1);
    const out = ch.propagate(tx, { first: 0, count: B });
    expect(Array.from(out.channel.re.dataSync()).every((v) => v === 1)).to.equal(true);
    expect(Array.from(out.channel.im.dataSync()).every((v) => v === 0)).to.equal(true);
    const sum = cx.sum(tx, 1); // [B, L]
    const y = out.y; // [B, L, M]
    for (let m = 0; m < 2; m++) {
      const ym = { re: tf.squeeze(tf.slice(y.re, [0, 0, m], [B, 4, 1]), [2]), im: tf.squeeze(tf.slice(y.im, [0, 0, m], [B, 4, 1]), [2]) };
      const diff = cx.abs2(cx.sub(ym, sum));
      expect(tf.max(diff).dataSync()[0]).to.be.below(1e-8);
    }
  });

  it('sigma^2 from Eb/N0 = E_s / (J sigma^2), from noiseVar, or the 10 dB default', () => {
    // Eb/N0 = 10 dB, E_s = 1, J = 2 -> sigma^2 = 1 / 20
    expect(perResourceNoiseVar(params({ ebN0Db: 10 }), scenario)).to.be.closeTo(0.05, 1e-12);
    expect(perResourceNoiseVar(params({ ebN0Db: 10, symbolEnergy: 2 / 3 }), scenario)).to.be.closeTo(1 / 30, 1e-12);
    expect(perResourceNoiseVar(params({ ebN0Db: 0 }), { ...scenario, bitsPerDevice: 1 })).to.be.closeTo(1, 1e-12);
    expect(perResourceNoiseVar(params({ noiseVar: 0.2 }), scenario)).to.equal(0.2);
    expect(perResourceNoiseVar(params(), scenario)).to.be.closeTo(0.05, 1e-12);
    const ch = new PerResourceRayleighChannel(params({ ebN0Db: 3 }), scenario, new RandomStreams(['prr']));
    expect(ch.noiseVar).to.be.closeTo(1 / (2 * 10 ** 0.3), 1e-12);
  });

  it('declares the side information it grants and checks its parameters with clear messages', () => {
    const info = PerResourceRayleighChannel.plugin;
    expect(info.provides?.(params(), scenario)).to.deep.equal(['channelState', 'noiseVariance']);
    expect(info.provides?.(params({ knownChannel: false }), scenario)).to.deep.equal(['noiseVariance']);
    expect(info.provides?.(params({ knownNoiseVariance: false, knownChannel: false }), scenario)).to.deep.equal([]);
    expect(info.check?.(params({ ebN0Db: 5, noiseVar: 1 }), scenario)[0].message).to.equal('give either ebN0Db (5 dB) or noiseVar (1), not both');
    expect(info.check?.(params({ ebN0Db: 5 }), { ...scenario, bitsPerDevice: 0 })[0].message).to.match(/Eb\/N0 needs scenario.bitsPerDevice > 0/);
    expect(info.check?.(params({ noiseVar: 1 }), { ...scenario, bitsPerDevice: 0 })).to.deep.equal([]);
    expect(() => new PerResourceRayleighChannel(params({ ebN0Db: 5, noiseVar: 1 }), scenario, new RandomStreams(['prr']))).to.throw(/not both/);
    expect((info.notes ?? []).join('\n')).to.match(/Eb\/N0 = E_s \/ \(J sigma\^2\)/).and.to.match(/Es\/N0 = N E_s \/ \(L sigma\^2\) = lambda J Eb\/N0/);
  });

  it('trial t gets the same fading and noise in one batch of 10 or in batches of 3 + 7', () => {
    const ch = new PerResourceRayleighChannel(params({ ebN0Db: 6 }), scenario, new RandomStreams(['prr']));
    const tx = (first: number, count: number) => new RandomStreams(['tx']).complexNormal({ first, count }, 'x', [6, 4], 1);
    const all = ch.propagate(tx(0, 10), { first: 0, count: 10 });
    const a = ch.propagate(tx(0, 3), { first: 0, count: 3 });
    const b = ch.propagate(tx(3, 7), { first: 3, count: 7 });
    expect(Array.from(all.y.re.dataSync())).to.deep.equal([...a.y.re.dataSync(), ...b.y.re.dataSync()]);
    expect(Array.from(all.channel.im.dataSync())).to.deep.equal([...a.channel.im.dataSync(), ...b.channel.im.dataSync()]);
  });
});
