import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { cx, RandomStreams, type Scenario } from '@gfra/core';
import { RandomPilotsEncoder, type RandomPilotsParams } from './random-pilots';

const ALPHABETS: RandomPilotsParams['alphabet'][] = ['gaussian', 'qpsk', 'bpsk'];

function codebookOf(alphabet: RandomPilotsParams['alphabet'], s: Scenario, key = 'p'): { enc: RandomPilotsEncoder; re: number[][]; im: number[][] } {
  const enc = new RandomPilotsEncoder({ alphabet }, s, new RandomStreams([key]));
  const S = enc.sideInformation().codebook as cx.ComplexTensor;
  return { enc, re: S.re.arraySync() as number[][], im: S.im.arraySync() as number[][] };
}

describe('encoder:random-pilots', () => {
  it('has exactly unit-norm columns for every alphabet', () => {
    const s: Scenario = { numDevices: 40, numAntennas: 1, sequenceLength: 7, bitsPerDevice: 1 };
    for (const alphabet of ALPHABETS) {
      const { enc, re, im } = codebookOf(alphabet, s);
      expect(re.length).to.equal(7);
      expect(re[0].length).to.equal(80);
      for (let k = 0; k < 80; k++) {
        const norm = re.reduce((a, row, l) => a + row[k] ** 2 + im[l][k] ** 2, 0);
        expect(norm, `${alphabet} column ${k}`).to.be.closeTo(1, 1e-6);
      }
      enc.dispose();
    }
  });

  it('qpsk entries are (+-1 +- i)/sqrt(2L); bpsk entries are +-1/sqrt(L), real; signs balanced (5 SE)', () => {
    const L = 8;
    const s: Scenario = { numDevices: 100, numAntennas: 1, sequenceLength: L, bitsPerDevice: 0 };
    const q = codebookOf('qpsk', s);
    const qEntries = q.re.flat().concat(q.im.flat());
    expect(qEntries.every((v) => Math.abs(Math.abs(v) - 1 / Math.sqrt(2 * L)) < 1e-6)).to.equal(true);
    const b = codebookOf('bpsk', s);
    expect(b.re.flat().every((v) => Math.abs(Math.abs(v) - 1 / Math.sqrt(L)) < 1e-6)).to.equal(true);
    expect(b.im.flat().every((v) => v === 0)).to.equal(true);
    for (const entries of [qEntries, b.re.flat()]) {
      const positive = entries.filter((v) => v > 0).length / entries.length;
      expect(positive).to.be.closeTo(0.5, 5 * Math.sqrt(0.25 / entries.length));
    }
    q.enc.dispose();
    b.enc.dispose();
  });

  it('gaussian columns are uniform on the unit sphere: E|s_l|^2 = 1/L, E Re s_l = 0, circular (5 SE)', () => {
    const L = 5;
    const s: Scenario = { numDevices: 400, numAntennas: 1, sequenceLength: L, bitsPerDevice: 0 };
    const { enc, re, im } = codebookOf('gaussian', s);
    const reFlat = re.flat();
    const imFlat = im.flat();
    const power = reFlat.map((v, i) => v * v + imFlat[i] ** 2);
    const n = power.length;
    // |s_l|^2 ~ Beta(1, L-1): mean 1/L, variance (L-1)/(L^2 (L+1))
    const sd = Math.sqrt((L - 1) / (L * L * (L + 1)));
    expect(power.reduce((a, b) => a + b, 0) / n).to.be.closeTo(1 / L, (5 * sd) / Math.sqrt(n));
    const meanRe = reFlat.reduce((a, b) => a + b, 0) / n;
    expect(meanRe).to.be.closeTo(0, 5 * Math.sqrt(1 / (2 * L) / n));
    // circular: E[Re^2] = E[Im^2]
    const reP = reFlat.reduce((a, b) => a + b * b, 0) / n;
    const imP = imFlat.reduce((a, b) => a + b * b, 0) / n;
    expect(reP - imP).to.be.closeTo(0, 5 * Math.sqrt(2) * sd / Math.sqrt(n));
    enc.dispose();
  });

  it('sends column n*Q + m_n for active devices and zeros otherwise', () => {
    const s: Scenario = { numDevices: 3, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 1 };
    const { enc, re, im } = codebookOf('qpsk', s);
    const tx = enc.encode({ activity: tf.tensor2d([[1, 0, 1]]), message: tf.tensor2d([[1, 0, 0]], [1, 3], 'int32') });
    const got = { re: tx.re.arraySync() as number[][][], im: tx.im.arraySync() as number[][][] };
    const col = (k: number) => ({ re: re.map((r) => r[k]), im: im.map((r) => r[k]) });
    expect(got.re[0][0]).to.deep.equal(col(1).re);
    expect(got.im[0][0]).to.deep.equal(col(1).im);
    expect(got.re[0][1]).to.deep.equal([0, 0, 0, 0]);
    expect(got.re[0][2]).to.deep.equal(col(4).re);
    enc.dispose();
  });

  it('draws the same pilots for the same key, different ones for another key or alphabet', () => {
    const s: Scenario = { numDevices: 3, numAntennas: 1, sequenceLength: 6, bitsPerDevice: 0 };
    expect(codebookOf('bpsk', s, 'a').re).to.deep.equal(codebookOf('bpsk', s, 'a').re);
    expect(codebookOf('bpsk', s, 'a').re).to.not.deep.equal(codebookOf('bpsk', s, 'b').re);
    expect(codebookOf('gaussian', s, 'a').re).to.not.deep.equal(codebookOf('qpsk', s, 'a').re);
  });
});
