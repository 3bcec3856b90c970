import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { cx, RandomStreams, type Scenario } from '@gfra/core';
import { GaussianPilotsEncoder } from './gaussian-pilots';

describe('encoder:gaussian-pilots', () => {
  it('sends column n*Q + m_n of the codebook for active devices and zeros otherwise', () => {
    const s: Scenario = { numDevices: 3, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 1 };
    const enc = new GaussianPilotsEncoder({ normalize: false }, s, new RandomStreams(['p']));
    const S = enc.sideInformation().codebook as cx.ComplexTensor;
    expect(S.re.shape).to.deep.equal([4, 6]);
    const tx = enc.encode({ activity: tf.tensor2d([[1, 0, 1]]), message: tf.tensor2d([[1, 0, 0]], [1, 3], 'int32') });
    const Sre = S.re.arraySync() as number[][];
    const Sim = S.im.arraySync() as number[][];
    const got = { re: tx.re.arraySync() as number[][][], im: tx.im.arraySync() as number[][][] };
    const col = (k: number) => ({ re: Sre.map((r) => r[k]), im: Sim.map((r) => r[k]) });
    expect(got.re[0][0]).to.deep.equal(col(1).re); // device 0, message 1 -> column 1
    expect(got.im[0][0]).to.deep.equal(col(1).im);
    expect(got.re[0][1]).to.deep.equal([0, 0, 0, 0]); // inactive
    expect(got.re[0][2]).to.deep.equal(col(4).re); // device 2, message 0 -> column 4
    enc.dispose();
  });

  it('has CN(0, 1/L) entries (E||s||^2 = 1 within 5 SE) and exact unit norms when normalised', () => {
    const s: Scenario = { numDevices: 200, numAntennas: 1, sequenceLength: 10, bitsPerDevice: 0 };
    const enc = new GaussianPilotsEncoder({ normalize: false }, s, new RandomStreams(['p']));
    const norms = Array.from(tf.sum(cx.abs2(enc.sideInformation().codebook as cx.ComplexTensor), 0).dataSync());
    const mean = norms.reduce((a, b) => a + b, 0) / norms.length;
    // ||s||^2 ~ Gamma(L, 1/L): sd 1/sqrt(L)
    expect(mean).to.be.closeTo(1, (5 / Math.sqrt(10)) / Math.sqrt(200));
    enc.dispose();
    const unit = new GaussianPilotsEncoder({ normalize: true }, s, new RandomStreams(['p']));
    const unitNorms = tf.sum(cx.abs2(unit.sideInformation().codebook as cx.ComplexTensor), 0).dataSync();
    expect(Array.from(unitNorms).every((v) => Math.abs(v - 1) < 1e-5)).to.equal(true);
    unit.dispose();
  });

  it('draws the same pilots for the same key and different ones for another', () => {
    const s: Scenario = { numDevices: 2, numAntennas: 1, sequenceLength: 3, bitsPerDevice: 0 };
    const a = new GaussianPilotsEncoder({ normalize: false }, s, new RandomStreams(['a']));
    const b = new GaussianPilotsEncoder({ normalize: false }, s, new RandomStreams(['a']));
    const c = new GaussianPilotsEncoder({ normalize: false }, s, new RandomStreams(['c']));
    const re = (e: GaussianPilotsEncoder) => Array.from((e.sideInformation().codebook as cx.ComplexTensor).re.dataSync());
    expect(re(a)).to.deep.equal(re(b));
    expect(re(a)).to.not.deep.equal(re(c));
    [a, b, c].forEach((e) => e.dispose());
  });
});
