import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { cx, RandomStreams, type Scenario } from '@gfra/core';
import { PATH_LOSS_DEFAULTS, PathLossRayleighChannel, snrDbAt, snrRangeDb, type PathLossRayleighParams } from './path-loss-rayleigh';

const scenario: Scenario = { numDevices: 50, numAntennas: 4, sequenceLength: 6, bitsPerDevice: 0 };
const params = (p: Partial<PathLossRayleighParams> = {}): PathLossRayleighParams => ({ ...PATH_LOSS_DEFAULTS, ...p });

/** Distance (km) back from beta_n: d = 10^((P_tx - N_0 W - a - SNR) / b), no shadowing. */
function distanceOf(p: PathLossRayleighParams, beta: number): number {
  const snrDb = 10 * Math.log10(beta / p.noiseVar);
  const noiseDbm = p.noisePsdDbmHz + 10 * Math.log10(p.bandwidthHz);
  return 10 ** ((p.txPowerDbm - noiseDbm - p.pathLossDb - snrDb) / p.pathLossExponentDb);
}

/** Kolmogorov-Smirnov distance between samples and a CDF. */
function ksDistance(samples: number[], cdf: (x: number) => number): number {
  const xs = samples.slice().sort((a, b) => a - b);
  let d = 0;
  xs.forEach((x, i) => {
    const f = cdf(x);
    d = Math.max(d, Math.abs(f - i / xs.length), Math.abs(f - (i + 1) / xs.length));
  });
  return d;
}

describe('channel:path-loss-rayleigh', () => {
  it('SNR range by hand: 23 dBm - (128.1 + 37.6 log10 d) + 169 dBm/Hz - 60 dB-Hz = 3.9 dB at 1 km, 52.82 dB at 50 m', () => {
    const r = snrRangeDb(params());
    expect(r.low).to.be.closeTo(3.9, 1e-9);
    expect(r.high).to.be.closeTo(3.9 + 37.6 * Math.log10(20), 1e-9); // 52.8187
    expect(snrRangeDb(params({ pathLossExponentDb: 36.7 })).high).to.be.closeTo(3.9 + 36.7 * Math.log10(20), 1e-9); // the b = 36.7 of [Ma2023]: 51.65
    expect(snrDbAt(params({ txPowerDbm: 30, bandwidthHz: 1e7 }), 0.5)).to.be.closeTo(30 - (128.1 + 37.6 * Math.log10(0.5)) + 169 - 70, 1e-9);
    const note = PathLossRayleighChannel.plugin.notes?.[0] ?? '';
    expect(note).to.include('SNR from 3.9 dB at d_max = 1 km to 52.8 dB at d_min = 0.05 km');
  });

  it('fixed geometry: the same beta_n in every trial, all inside the SNR range; per-block: redrawn per trial', () => {
    const fixed = new PathLossRayleighChannel(params(), scenario, new RandomStreams(['pl']));
    const a = fixed.largeScaleFading({ first: 0, count: 3 }).arraySync() as number[][];
    const b = fixed.largeScaleFading({ first: 17, count: 1 }).arraySync() as number[][];
    expect(a[1]).to.deep.equal(a[0]);
    expect(b[0]).to.deep.equal(a[0]);
    const { low, high } = snrRangeDb(params());
    for (const beta of a[0]) {
      const snr = 10 * Math.log10(beta);
      expect(snr).to.be.within(low - 1e-4, high + 1e-4);
    }
    // distances agree with the fixed draw
    const d = fixed.fixedDistances();
    a[0].forEach((beta, n) => expect(distanceOf(params(), beta)).to.be.closeTo(d[n], 1e-5 * d[n]));
    const perBlock = new PathLossRayleighChannel(params({ geometry: 'per-block' }), scenario, new RandomStreams(['pl']));
    const c = perBlock.largeScaleFading({ first: 0, count: 2 }).arraySync() as number[][];
    expect(c[1]).to.not.deep.equal(c[0]);
    // batch-independent: trial 1 alone equals trial 1 of the batch
    expect(perBlock.largeScaleFading({ first: 1, count: 1 }).arraySync()).to.deep.equal([c[1]]);
  });

  it('geometrySeed: the same fixed devices whatever the channel\'s random stream (sweep point, candidate)', () => {
    const draw = (key: string, geometrySeed?: number) =>
      Array.from(new PathLossRayleighChannel(params({ geometrySeed }), scenario, new RandomStreams([key])).largeScaleFading({ first: 0, count: 1 }).dataSync());
    expect(draw('point-a', 7)).to.deep.equal(draw('point-b', 7));
    expect(draw('point-a', 7)).to.not.deep.equal(draw('point-a', 8));
    expect(draw('point-a')).to.not.deep.equal(draw('point-b'));
  });

  it('distances: uniform in [d_min, d_max], or uniform over the annulus area (Kolmogorov-Smirnov, 1 % level)', () => {
    const n = 100 * 50;
    for (const placement of ['uniform-distance', 'uniform-area'] as const) {
      const p = params({ placement, geometry: 'per-block' });
      const ch = new PathLossRayleighChannel(p, scenario, new RandomStreams(['dist']));
      const d = Array.from(ch.largeScaleFading({ first: 0, count: 100 }).dataSync()).map((beta) => distanceOf(p, beta));
      const [d0, d1] = [p.minDistanceKm, p.maxDistanceKm];
      const cdf = placement === 'uniform-distance' ? (x: number) => (x - d0) / (d1 - d0) : (x: number) => (x * x - d0 * d0) / (d1 * d1 - d0 * d0);
      // K-S critical value at 1 %: 1.628 / sqrt(n)
      expect(ksDistance(d, cdf), placement).to.be.below(1.628 / Math.sqrt(n));
      // and the other law is rejected (the test has power)
      const other = placement === 'uniform-distance' ? (x: number) => (x * x - d0 * d0) / (d1 * d1 - d0 * d0) : (x: number) => (x - d0) / (d1 - d0);
      expect(ksDistance(d, other), `${placement} vs the other law`).to.be.above(1.628 / Math.sqrt(n));
    }
  });

  it('log-normal shadowing: SNR_n ~ N(SNR(d), s^2) at a fixed distance (mean and variance within 5 SE)', () => {
    const s = 8;
    const p = params({ minDistanceKm: 0.3, maxDistanceKm: 0.3, shadowingDb: s, geometry: 'per-block' });
    const ch = new PathLossRayleighChannel(p, scenario, new RandomStreams(['shadow']));
    const snr = Array.from(ch.largeScaleFading({ first: 0, count: 80 }).dataSync()).map((b) => 10 * Math.log10(b));
    const n = snr.length;
    const mean = snr.reduce((a, b) => a + b, 0) / n;
    const variance = snr.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
    expect(mean).to.be.closeTo(snrDbAt(p, 0.3), (5 * s) / Math.sqrt(n));
    expect(variance).to.be.closeTo(s * s, 5 * s * s * Math.sqrt(2 / n));
  });

  it('y = X^T H + W with the returned channel; E|h|^2 = beta_n; noise variance sigma^2 (5 SE)', () => {
    const s: Scenario = { numDevices: 4, numAntennas: 8, sequenceLength: 5, bitsPerDevice: 0 };
    const B = 400;
    const p = params({ noiseVar: 2, minDistanceKm: 0.9 });
    const ch = new PathLossRayleighChannel(p, s, new RandomStreams(['y']));
    const tx = new RandomStreams(['tx']).complexNormal({ first: 0, count: B }, 'x', [4, 5], 1 / 5);
    const out = ch.propagate(tx, { first: 0, count: B });
    const noise = cx.sub(out.y, cx.matmul(cx.matrixTranspose(tx), out.channel));
    const v = tf.moments(noise.re).variance.dataSync()[0];
    expect(v).to.be.closeTo(1, 5 * Math.sqrt(2 / (B * 5 * 8)));
    expect(out.noiseVar).to.equal(2);
    // |h_n|^2 / beta_n ~ Exp(1) per entry
    const ratio = tf.mean(tf.div(cx.abs2(out.channel), tf.expandDims(out.largeScaleFading, 2))).dataSync()[0];
    expect(ratio).to.be.closeTo(1, 5 / Math.sqrt(B * 4 * 8));
  });

  it('declares its side information and rejects d_min > d_max', () => {
    const info = PathLossRayleighChannel.plugin;
    expect(info.provides?.(params(), scenario)).to.deep.equal(['noiseVariance', 'largeScaleFading']);
    expect(info.provides?.(params({ knownLargeScaleFading: false }), scenario)).to.deep.equal(['noiseVariance']);
    expect(info.check?.(params({ minDistanceKm: 2 }), scenario)[0].message).to.equal('minDistanceKm (2 km) must be <= maxDistanceKm (1 km)');
  });
});
