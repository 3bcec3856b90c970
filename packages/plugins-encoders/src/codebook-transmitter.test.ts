import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { cx, RandomStreams, type ComplexTensor, type Encoder, type Scenario, type TrialRange } from '@gfra/core';
import { GaussianPilotsEncoder } from './gaussian-pilots';
import { RandomPilotsEncoder } from './random-pilots';

const s: Scenario = { numDevices: 5, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 1 };
const K = 10;

const encoders: { name: string; make: () => Encoder; unitNorm: boolean }[] = [
  { name: 'gaussian-pilots', make: () => new GaussianPilotsEncoder({ normalize: false, redraw: 'per-trial' }, s, new RandomStreams(['e'])), unitNorm: false },
  { name: 'gaussian-pilots (normalize)', make: () => new GaussianPilotsEncoder({ normalize: true, redraw: 'per-trial' }, s, new RandomStreams(['e'])), unitNorm: true },
  { name: 'random-pilots (gaussian)', make: () => new RandomPilotsEncoder({ alphabet: 'gaussian', redraw: 'per-trial' }, s, new RandomStreams(['e'])), unitNorm: true },
  { name: 'random-pilots (qpsk)', make: () => new RandomPilotsEncoder({ alphabet: 'qpsk', redraw: 'per-trial' }, s, new RandomStreams(['e'])), unitNorm: true },
];

/** Traffic of `count` trials: every device active, message (n + b) mod 2. */
function traffic(count: number) {
  const message = Array.from({ length: count }, (_, b) => Array.from({ length: 5 }, (_, n) => (n + b) % 2));
  return { activity: tf.ones([count, 5]) as tf.Tensor2D, message: tf.tensor2d(message, [count, 5], 'int32'), values: message };
}

const host = (t: ComplexTensor) => ({ re: Array.from(t.re.dataSync()), im: Array.from(t.im.dataSync()) });

describe('encoders with redraw "per-trial"', () => {
  for (const e of encoders) {
    it(`${e.name}: each trial its own codebook; sideInformation(trials) is exactly what encode used, whatever the batch split`, () => {
      const enc = e.make();
      const all: TrialRange = { first: 0, count: 6 };
      const { codebook, tx, parts } = tf.tidy(() => {
        const t = traffic(6);
        const cb = enc.sideInformation!(all).codebook as ComplexTensor;
        expect(cb.re.shape).to.deep.equal([6, 4, K]);
        const cbHost = { re: cb.re.arraySync() as number[][][], im: cb.im.arraySync() as number[][][] };
        const sent = enc.encode(t, all);
        // the split 0..1, 2..5 (fresh encoder: no cache), in the order encode then sideInformation
        const other = e.make();
        const split = [
          { first: 0, count: 2 },
          { first: 2, count: 4 },
        ].map((r) => {
          const tr = traffic(6);
          const part = { activity: tf.slice(tr.activity, r.first, r.count) as tf.Tensor2D, message: tf.slice(tr.message, r.first, r.count) as tf.Tensor2D };
          const x = other.encode(part, r);
          return { tx: host(x), cb: host(other.sideInformation!(r).codebook as ComplexTensor) };
        });
        return { codebook: cbHost, tx: { re: sent.re.arraySync() as number[][][], im: sent.im.arraySync() as number[][][] }, parts: split, msg: t.values };
      });
      // every trial differs from every other
      for (let a = 0; a < 6; a++) for (let b = a + 1; b < 6; b++) expect(codebook.re[a]).to.not.deep.equal(codebook.re[b]);
      // tx[b, n] = column n*Q + m_n of trial b's own codebook
      const msg = traffic(6).values;
      for (let b = 0; b < 6; b++) {
        for (let n = 0; n < 5; n++) {
          const k = n * 2 + msg[b][n];
          expect(tx.re[b][n]).to.deep.equal(codebook.re[b].map((row) => row[k]));
          expect(tx.im[b][n]).to.deep.equal(codebook.im[b].map((row) => row[k]));
        }
      }
      // the split gives the same codebooks and the same tx, bit for bit
      const flat = (v: number[][][]) => v.flat(2);
      expect([...parts[0].cb.re, ...parts[1].cb.re]).to.deep.equal(flat(codebook.re));
      expect([...parts[0].cb.im, ...parts[1].cb.im]).to.deep.equal(flat(codebook.im));
      expect([...parts[0].tx.re, ...parts[1].tx.re]).to.deep.equal(flat(tx.re));
      if (e.unitNorm) {
        const norms = tf.tidy(() => Array.from(tf.sum(cx.abs2(enc.sideInformation!(all).codebook as ComplexTensor), 1).dataSync()));
        expect(norms.every((v) => Math.abs(v - 1) < 1e-5)).to.equal(true);
      }
      enc.dispose?.();
    });
  }

  it('gaussian-pilots draws `pilots` per trial: the values of complexNormal(trials, "pilots", [L, N*Q], 1/L); no leak; needs the trials', () => {
    const random = new RandomStreams(['e']);
    const enc = new GaussianPilotsEncoder({ normalize: false, redraw: 'per-trial' }, s, random);
    const trials = { first: 7, count: 3 };
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const got = host(enc.sideInformation(trials).codebook as ComplexTensor);
      const want = host(random.complexNormal(trials, 'pilots', [4, K], 1 / 4));
      expect(got).to.deep.equal(want);
      enc.encode(traffic(3), trials);
    });
    expect(tf.memory().numTensors).to.equal(before);
    expect(enc.sideInformation()).to.deep.equal({});
    expect(() => enc.encode(traffic(3))).to.throw(/redraw "per-trial".*needs the batch's trials/);
    enc.dispose();
  });

  it('redraw "per-run" (or omitted) keeps the codebook drawn once: the same [L, N*Q] tensor for every call', () => {
    for (const make of [
      (p: object) => new GaussianPilotsEncoder({ normalize: false, ...p }, s, new RandomStreams(['e'])),
      (p: object) => new RandomPilotsEncoder({ alphabet: 'bpsk', ...p }, s, new RandomStreams(['e'])),
    ]) {
      const a = make({});
      const b = make({ redraw: 'per-run' });
      const ca = a.sideInformation().codebook as ComplexTensor;
      expect(ca.re.shape).to.deep.equal([4, K]);
      expect(a.sideInformation({ first: 3, count: 2 }).codebook).to.equal(ca);
      expect(host(b.sideInformation().codebook as ComplexTensor)).to.deep.equal(host(ca));
      a.dispose();
      b.dispose();
    }
  });
});
