import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { describePluginContract } from '@gfra/core/testing';
import { RandomStreams, type Scenario } from '@gfra/core';
import { CovarianceMlDetector, type CovarianceMlParams } from './covariance-ml';
import { synthetic, type SyntheticBatch } from './testing/synthetic';

const params = (p: Partial<CovarianceMlParams> = {}): CovarianceMlParams => ({
  sweeps: 20,
  order: 'random',
  threshold: { rule: 'beta', fraction: 0.5 },
  precision: 'float64',
  objective: 'ml',
  channelEstimate: 'mmse',
  ...p,
});

/** Solves the real system G x = r (G n x n, row-major) by Gaussian elimination with partial pivoting. */
function gaussSolve(g: number[][], r: number[]): number[] {
  const n = r.length;
  const a = g.map((row, i) => [...row, r[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(a[i][c]) > Math.abs(a[p][c])) p = i;
    [a[c], a[p]] = [a[p], a[c]];
    for (let i = c + 1; i < n; i++) {
      const f = a[i][c] / a[c][c];
      for (let j = c; j <= n; j++) a[i][j] -= f * a[c][j];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = a[i][n];
    for (let j = i + 1; j < n; j++) s -= a[i][j] * x[j];
    x[i] = s / a[i][i];
  }
  return x;
}

/**
 * Independent reference: for trial b and the devices `set` with sequences `q`, the real form
 * [[Gr, -Gi], [Gi, Gr]] [xr; xi] = [rr; ri] of (A_S^H A_S + sigma^2 diag(1/beta)) x = A_S^H y_m,
 * column by column. Returns xhat[i][m] = { re, im } for the i-th device of the set.
 */
function reference(data: SyntheticBatch, b: number, set: number[], q: number[]): { re: number; im: number }[][] {
  const { sequenceLength: L, numAntennas: M } = data.scenario;
  const Q = data.pilots.length / data.scenario.numDevices;
  const s = set.length;
  const cols = set.map((n, i) => data.pilots[n * Q + q[i]]);
  const G = Array.from({ length: 2 * s }, () => new Array<number>(2 * s).fill(0));
  for (let i = 0; i < s; i++)
    for (let j = 0; j < s; j++) {
      let gr = i === j ? data.noiseVar / data.beta[set[i]] : 0;
      let gi = 0;
      for (let l = 0; l < L; l++) {
        gr += cols[i].re[l] * cols[j].re[l] + cols[i].im[l] * cols[j].im[l];
        gi += cols[i].re[l] * cols[j].im[l] - cols[i].im[l] * cols[j].re[l];
      }
      G[i][j] = gr;
      G[i][s + j] = -gi;
      G[s + i][j] = gi;
      G[s + i][s + j] = gr;
    }
  const out = Array.from({ length: s }, () => new Array<{ re: number; im: number }>(M));
  for (let m = 0; m < M; m++) {
    const r = new Array<number>(2 * s).fill(0);
    for (let i = 0; i < s; i++)
      for (let l = 0; l < L; l++) {
        const yr = data.y[b].re[l * M + m];
        const yi = data.y[b].im[l * M + m];
        r[i] += cols[i].re[l] * yr + cols[i].im[l] * yi;
        r[s + i] += cols[i].re[l] * yi - cols[i].im[l] * yr;
      }
    const x = gaussSolve(G, r);
    for (let i = 0; i < s; i++) out[i][m] = { re: x[i], im: x[s + i] };
  }
  return out;
}

describe('detector:covariance-ml channelEstimate "mmse" (ML-MMSE baseline of Cui, Li, Zhang)', () => {
  for (const bitsPerDevice of [0, 1])
    for (const precision of ['float64', 'float32'] as const)
      it(`equals an independent real-form Gaussian-elimination LMMSE solve on the detected set (Q = ${2 ** bitsPerDevice}, ${precision}; detection exact at high SNR)`, () => {
        const scenario: Scenario = { numDevices: 6, numAntennas: 16, sequenceLength: 8, bitsPerDevice };
        const B = 3;
        const data = synthetic({ scenario, trials: B, activityProb: 0.5, snrDb: [15, 30], key: `mmse-ref-${bitsPerDevice}` });
        tf.tidy(() => {
          const est = new CovarianceMlDetector(params({ precision }), scenario, new RandomStreams(['mmse'])).detect(data.observation());
          expect(est.activity?.arraySync(), 'detection equals the truth').to.deep.equal(data.activity);
          const msg = est.message?.arraySync() as number[][];
          const hre = est.channel?.re.arraySync() as number[][][];
          const him = est.channel?.im.arraySync() as number[][][];
          expect(est.channel?.re.shape).to.deep.equal([B, 6, 16]);
          let sets = 0;
          for (let b = 0; b < B; b++) {
            const set = data.activity[b].flatMap((a, n) => (a === 1 ? [n] : []));
            if (set.length > 1) sets++;
            const ref = reference(data, b, set, set.map((n) => msg[b][n]));
            let err = 0;
            let norm = 0;
            set.forEach((n, i) =>
              ref[i].forEach((x, m) => {
                err += (hre[b][n][m] - x.re) ** 2 + (him[b][n][m] - x.im) ** 2;
                norm += x.re ** 2 + x.im ** 2;
              }),
            );
            if (set.length > 0) expect(Math.sqrt(err / norm), `trial ${b}: relative error`).to.be.below(1e-4);
            data.activity[b].forEach((a, n) => a === 0 && expect(hre[b][n].concat(him[b][n]).every((v) => v === 0), `trial ${b} device ${n} zero`).to.equal(true));
          }
          expect(sets, 'some trial has several active devices').to.be.above(0);
        });
      });

  it('undetected devices get zero rows (|S| = 0 too); "none" (the default) provides and returns no channel; "mmse" requires beta_n', () => {
    const scenario: Scenario = { numDevices: 30, numAntennas: 4, sequenceLength: 10, bitsPerDevice: 0 };
    const B = 3;
    const data = synthetic({ scenario, trials: B, activityProb: 0.3, snrDb: [0, 20], key: 'mmse-zero' });
    tf.tidy(() => {
      const est = new CovarianceMlDetector(params({ sweeps: 5 }), scenario, new RandomStreams(['z'])).detect(data.observation());
      const act = est.activity?.arraySync() as number[][];
      const hre = est.channel?.re.arraySync() as number[][][];
      const him = est.channel?.im.arraySync() as number[][][];
      let off = 0;
      let on = 0;
      act.forEach((row, b) =>
        row.forEach((a, n) => {
          const zero = hre[b][n].concat(him[b][n]).every((v) => v === 0);
          if (a === 0) off++;
          else on++;
          expect(zero, `trial ${b} device ${n} (activity ${a}) zero row`).to.equal(a === 0);
        }),
      );
      expect(off).to.be.above(0);
      expect(on).to.be.above(0);
      // nothing detected: all-zero estimate
      const none = new CovarianceMlDetector(params({ sweeps: 5, threshold: { rule: 'fixed', value: 1e9 } }), scenario, new RandomStreams(['z'])).detect(data.observation());
      expect(none.activity?.sum().arraySync()).to.equal(0);
      expect(none.channel?.re.shape).to.deep.equal([B, 30, 4]);
      expect(tf.add(tf.abs(none.channel!.re).sum(), tf.abs(none.channel!.im).sum()).arraySync()).to.equal(0);
      // default: no channel output
      const { channelEstimate: _, ...rest } = params({ sweeps: 5 });
      const plain = new CovarianceMlDetector(rest, scenario, new RandomStreams(['z'])).detect(data.observation());
      expect(plain.channel).to.equal(undefined);
      const plainNone = new CovarianceMlDetector(params({ sweeps: 5, channelEstimate: 'none' }), scenario, new RandomStreams(['z'])).detect(data.observation());
      expect(plainNone.channel).to.equal(undefined);
      expect(plainNone.activity?.arraySync()).to.deep.equal(act);
    });
    const info = CovarianceMlDetector.plugin;
    expect(info.provides?.(params({ channelEstimate: 'none' }), scenario)).to.deep.equal(['activityScore', 'activity', 'message']);
    const { channelEstimate: _, ...rest } = params();
    expect(info.provides?.(rest, scenario)).to.deep.equal(['activityScore', 'activity', 'message']);
    expect(info.provides?.(params(), scenario)).to.deep.equal(['activityScore', 'activity', 'message', 'channel']);
    expect(info.requires?.(params({ threshold: { rule: 'fixed', value: 1 } }), scenario)).to.deep.equal(['codebook', 'noiseVariance', 'largeScaleFading']);
    expect(info.requires?.(params({ threshold: { rule: 'fixed', value: 1 }, channelEstimate: 'none' }), scenario)).to.deep.equal(['codebook', 'noiseVariance']);
    expect(info.requires?.(params(), scenario)).to.deep.equal(['codebook', 'noiseVariance', 'largeScaleFading']);
  });

  it('a fitted gamma* (thresholding module) replaces the rule for the activity and the detected set of the estimate', () => {
    const scenario: Scenario = { numDevices: 30, numAntennas: 4, sequenceLength: 10, bitsPerDevice: 0 };
    const data = synthetic({ scenario, trials: 3, activityProb: 0.3, snrDb: [0, 20], key: 'mmse-gamma' });
    tf.tidy(() => {
      const det = new CovarianceMlDetector(params({ sweeps: 5 }), scenario, new RandomStreams(['g']));
      const before = det.detect(data.observation());
      const gamma = 0.2;
      det.useActivityThreshold(gamma);
      const after = det.detect(data.observation());
      const score = after.activityScore?.arraySync() as number[][];
      const act = after.activity?.arraySync() as number[][];
      const hre = after.channel?.re.arraySync() as number[][][];
      score.forEach((row, b) =>
        row.forEach((v, n) => {
          expect(act[b][n], `trial ${b} device ${n}`).to.equal(v >= gamma ? 1 : 0);
          expect(hre[b][n].every((x) => x === 0), `trial ${b} device ${n} zero row`).to.equal(v < gamma);
        }),
      );
      // the lower threshold detects more devices than beta_n / 2 (a real change)
      expect((after.activity as tf.Tensor).sum().arraySync()).to.be.greaterThan((before.activity as tf.Tensor).sum().arraySync() as number);
    });
  });

  it('MSE sanity at 20 dB: sum ||X - Xhat||^2 is far below that of the all-zero estimate', () => {
    const scenario: Scenario = { numDevices: 40, numAntennas: 16, sequenceLength: 20, bitsPerDevice: 0 };
    const B = 4;
    const data = synthetic({ scenario, trials: B, activityProb: 0.1, snrDb: 20, key: 'mmse-mse' });
    const [err, zero] = tf.tidy(() => {
      const truth = data.channel();
      const active = tf.reshape(tf.tensor2d(data.activity), [B, 40, 1]);
      const x = { re: tf.mul(truth.re, active), im: tf.mul(truth.im, active) };
      const est = new CovarianceMlDetector(params(), scenario, new RandomStreams(['mse'])).detect(data.observation());
      const e = tf.add(tf.sum(tf.square(tf.sub(x.re, est.channel!.re))), tf.sum(tf.square(tf.sub(x.im, est.channel!.im))));
      const z = tf.add(tf.sum(tf.square(x.re)), tf.sum(tf.square(x.im)));
      return [e.arraySync() as number, z.arraySync() as number];
    });
    expect(zero).to.be.above(0);
    expect(err / zero).to.be.below(0.3);
  });
});

describePluginContract(CovarianceMlDetector, { params: { channelEstimate: 'mmse' } });
