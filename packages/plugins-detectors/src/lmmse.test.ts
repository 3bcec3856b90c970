import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { cx, RandomStreams, type ComplexTensor, type Scenario } from '@gfra/core';
import { LmmseDetector, type LmmseParams } from './lmmse';
import { synthetic } from './testing/synthetic';

const DEFAULTS: LmmseParams = { covariance: 'identity', estimator: 'lmmse', activityThreshold: 0.5, activityProb: 0.125 };

/** A complex matrix on the host as nested [row][col] pairs. */
type C = { re: number; im: number };
type Mat = C[][];

const cmul = (a: C, b: C): C => ({ re: a.re * b.re - a.im * b.im, im: a.re * b.im + a.im * b.re }); // (a+ib)(c+id) = (ac-bd) + i(ad+bc)
const cadd = (a: C, b: C): C => ({ re: a.re + b.re, im: a.im + b.im });
const cdiv = (a: C, b: C): C => {
  const d = b.re * b.re + b.im * b.im;
  return { re: (a.re * b.re + a.im * b.im) / d, im: (a.im * b.re - a.re * b.im) / d };
};
const matmul = (a: Mat, b: Mat): Mat => a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => cadd(s, cmul(v, b[k][j])), { re: 0, im: 0 })));
const herm = (a: Mat): Mat => a[0].map((_, j) => a.map((row) => ({ re: row[j].re, im: -row[j].im })));

/** Inverse by plain Gauss-Jordan elimination with partial pivoting (an independent route). */
function inverse(a: Mat): Mat {
  const n = a.length;
  const m = a.map((row, i) => [...row.map((v) => ({ ...v })), ...Array.from({ length: n }, (_, j) => ({ re: i === j ? 1 : 0, im: 0 }))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.hypot(m[i][c].re, m[i][c].im) > Math.hypot(m[p][c].re, m[p][c].im)) p = i;
    [m[c], m[p]] = [m[p], m[c]];
    const pivot = m[c][c];
    m[c] = m[c].map((v) => cdiv(v, pivot));
    for (let i = 0; i < n; i++) {
      if (i === c) continue;
      const f = m[i][c];
      m[i] = m[i].map((v, j) => cadd(v, cmul({ re: -f.re, im: -f.im }, m[c][j])));
    }
  }
  return m.map((row) => row.slice(n));
}

/** The paper's X_hat = R A^H (A R A^H + s2 I)^-1 Y, R = diag(r), by Gauss-Jordan. */
function lmmseReference(a: Mat, y: Mat, r: number[], s2: number): Mat {
  const R: Mat = r.map((v, i) => r.map((_, j) => ({ re: i === j ? v : 0, im: 0 })));
  const RAh = matmul(R, herm(a));
  const G = matmul(a, RAh).map((row, i) => row.map((v, j) => (i === j ? cadd(v, { re: s2, im: 0 }) : v)));
  return matmul(RAh, matmul(inverse(G), y));
}

const toMat = (re: number[][], im: number[][]): Mat => re.map((row, i) => row.map((v, j) => ({ re: v, im: im[i][j] })));
const tensorOf = (m: Mat, shape: number[]): ComplexTensor => ({ re: tf.tensor(m.flat().map((v) => v.re), shape), im: tf.tensor(m.flat().map((v) => v.im), shape) });

/** A random complex matrix (entries CN(0, 1)) from a fixed stream. */
function randomMat(rows: number, cols: number, key: string): Mat {
  const rnd = new RandomStreams(['lmmse-test', key]);
  const g = rnd.onceGenerator('m');
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => ({ re: g.normal() / Math.SQRT2, im: g.normal() / Math.SQRT2 })));
}

/** Host copy of a [B, N, M] complex estimate. */
function hostOf(x: ComplexTensor): { re: Float32Array; im: Float32Array } {
  return { re: x.re.dataSync() as Float32Array, im: x.im.dataSync() as Float32Array };
}

function disposeEstimate(e: { channel?: ComplexTensor; activityScore?: tf.Tensor; activity?: tf.Tensor }): void {
  cx.dispose(e.channel);
  e.activityScore?.dispose();
  e.activity?.dispose();
}

/** Per-trial ||X_hat - X||_F^2 / ||X||_F^2 over all rows (X the effective channel), float64. */
function nmseAll(est: { re: Float32Array; im: Float32Array }, truth: { re: number[]; im: number[] }[][], activity: number[][], M: number): number[] {
  return truth.map((hb, b) => {
    let err = 0;
    let energy = 0;
    hb.forEach((h, n) => {
      for (let m = 0; m < M; m++) {
        const i = (b * hb.length + n) * M + m;
        const xr = activity[b][n] * h.re[m];
        const xi = activity[b][n] * h.im[m];
        err += (est.re[i] - xr) ** 2 + (est.im[i] - xi) ** 2;
        energy += xr * xr + xi * xi;
      }
    });
    return err / energy;
  });
}

describe('detector:lmmse', () => {
  it('tiny cases equal R A^H (A R A^H + s2 I)^-1 Y by Gauss-Jordan: identity (L < N and L > N), known-gains, genie, least-squares', () => {
    // N = 3, L = 2, M = 2: fixed A [L, N] and Y [L, M]
    const a = toMat(
      [
        [1, -0.5, 0.3],
        [0.2, 0.8, -1],
      ],
      [
        [0.5, 0.1, -0.7],
        [-0.4, 0.6, 0.2],
      ],
    );
    const y = toMat(
      [
        [0.7, -1.2],
        [0.4, 0.9],
      ],
      [
        [-0.3, 0.5],
        [1.1, 0.2],
      ],
    );
    const s: Scenario = { numDevices: 3, numAntennas: 2, sequenceLength: 2, bitsPerDevice: 0 };
    const beta = [2, 0.5, 3];
    const lambda = [1, 0, 1];
    const cases: [Partial<LmmseParams>, number[], number][] = [
      [{}, [1, 1, 1], 0.3],
      [{ covariance: 'known-gains', activityProb: 0.25 }, beta.map((b) => 0.25 * b), 0.3],
      [{ covariance: 'genie' }, beta.map((b, n) => b * lambda[n]), 0.3], // |S| = 2 <= L: the other branch
      [{ estimator: 'least-squares' }, [1, 1, 1], 0], // minimum norm A^H (A A^H)^-1 Y
    ];
    for (const [p, r, s2] of cases) {
      const expected = lmmseReference(a, y, r, s2);
      tf.tidy(() => {
        const det = new LmmseDetector({ ...DEFAULTS, ...p }, s);
        const est = det.detect({
          y: tensorOf(y, [1, 2, 2]),
          codebook: tensorOf(a, [2, 3]),
          noiseVar: 0.3,
          largeScaleFading: tf.tensor2d([beta]),
          trueActivity: tf.tensor2d([lambda]),
        });
        const got = hostOf(est.channel as ComplexTensor);
        const flat = expected.flat();
        flat.forEach((v, i) => {
          expect(got.re[i], `${JSON.stringify(p)} re[${i}]`).to.be.closeTo(v.re, 1e-5);
          expect(got.im[i], `${JSON.stringify(p)} im[${i}]`).to.be.closeTo(v.im, 1e-5);
        });
        // activityScore = ||x_n||^2 / M
        const score = est.activityScore?.dataSync() ?? [];
        expected.forEach((row, n) => expect(score[n]).to.be.closeTo(row.reduce((t, v) => t + v.re ** 2 + v.im ** 2, 0) / 2, 1e-5));
      });
    }
    // L = 3 > N = 2 (the N x N branch with R = I), s2 = 0.1
    const a2 = randomMat(3, 2, 'a2');
    const y2 = randomMat(3, 2, 'y2');
    const expected = lmmseReference(a2, y2, [1, 1], 0.1).flat();
    tf.tidy(() => {
      const est = new LmmseDetector(DEFAULTS, { numDevices: 2, numAntennas: 2, sequenceLength: 3, bitsPerDevice: 0 }).detect({
        y: tensorOf(y2, [1, 3, 2]),
        codebook: tensorOf(a2, [3, 2]),
        noiseVar: 0.1,
      });
      const got = hostOf(est.channel as ComplexTensor);
      expected.forEach((v, i) => {
        expect(got.re[i]).to.be.closeTo(v.re, 1e-5);
        expect(got.im[i]).to.be.closeTo(v.im, 1e-5);
      });
    });
  });

  it('LMMSE floor at 60 dB, R = I, all active CN(0, I): NMSE = 10 log10(1 - L/N) (5 SE and +-0.2 dB)', () => {
    // Per trial r = ||(I - P) X||^2 / ||X||^2 with P the projector on the row space of A (rank L):
    // for isotropic X this is Beta((N - L) M, L M), mean 1 - L/N exactly, variance
    // ab / ((a + b)^2 (a + b + 1)) = 0.25 / 257 at a = b = 128; the noise adds ~1e-6.
    const [N, L, M, B] = [32, 16, 8, 300];
    const s: Scenario = { numDevices: N, numAntennas: M, sequenceLength: L, bitsPerDevice: 0 };
    const noiseVar = (N / L) * 1e-6; // per-entry received power N/L (unit-norm pilots), 60 dB below
    const data = synthetic({ scenario: s, trials: B, activityProb: 1, snrDb: 0, beta: new Array<number>(N).fill(1), noiseVar, key: 'floor' });
    const values = tf.tidy(() => nmseAll(hostOf(new LmmseDetector(DEFAULTS, s).detect(data.observation()).channel as ComplexTensor), data.h, data.activity, M));
    const mean = values.reduce((t, v) => t + v, 0) / B;
    const se = Math.sqrt(0.25 / 257 / B);
    expect(mean, `mean NMSE (SE ${se})`).to.be.closeTo(1 - L / N, 5 * se);
    expect(10 * Math.log10(mean)).to.be.closeTo(10 * Math.log10(1 - L / N), 0.2);
  });

  it('genie: with all devices active and equal gains g it equals identity-R LMMSE at noise s2 / g (both branches); on a sparse case it beats R = I by > 10 dB', () => {
    for (const [N, L] of [
      [8, 4],
      [4, 6],
    ]) {
      const s: Scenario = { numDevices: N, numAntennas: 3, sequenceLength: L, bitsPerDevice: 0 };
      const a = randomMat(L, N, `a-${N}-${L}`);
      const y = randomMat(2 * L, 3, `y-${N}-${L}`); // B = 2 trials of [L, M = 3]
      const g = 4;
      tf.tidy(() => {
        const obs = { y: tensorOf(y, [2, L, 3]), codebook: tensorOf(a, [L, N]) };
        const genie = new LmmseDetector({ ...DEFAULTS, covariance: 'genie' }, s).detect({ ...obs, noiseVar: 0.2, largeScaleFading: tf.fill([2, N], g) as tf.Tensor2D, trueActivity: tf.ones([2, N]) as tf.Tensor2D });
        const identity = new LmmseDetector(DEFAULTS, s).detect({ ...obs, noiseVar: 0.2 / g });
        const [x1, x2] = [hostOf(genie.channel as ComplexTensor), hostOf(identity.channel as ComplexTensor)];
        x1.re.forEach((v, i) => expect(v, `N ${N} L ${L} re[${i}]`).to.be.closeTo(x2.re[i], 1e-5));
        x1.im.forEach((v, i) => expect(v, `N ${N} L ${L} im[${i}]`).to.be.closeTo(x2.im[i], 1e-5));
      });
    }
    // Sparse: N = 32, L = 16, eps = 1/4, unit gains, sigma^2 = 0.01. R = I floors at about
    // 10 log10(1 - L/N) = -3 dB; the genie (LS-like on ~8 known active devices) at about
    // 10 log10(sigma^2 tr((A_S^H A_S)^-1) / K) ~ -17 dB.
    const [N, L, M, B] = [32, 16, 8, 40];
    const s: Scenario = { numDevices: N, numAntennas: M, sequenceLength: L, bitsPerDevice: 0 };
    const data = synthetic({ scenario: s, trials: B, activityProb: 0.25, snrDb: 0, beta: new Array<number>(N).fill(1), noiseVar: 0.01, key: 'sparse' });
    const db = (p: LmmseParams) =>
      tf.tidy(() => {
        const obs = data.observation();
        const est = new LmmseDetector(p, s).detect({ ...obs, trueActivity: tf.tensor2d(data.activity) });
        const v = nmseAll(hostOf(est.channel as ComplexTensor), data.h, data.activity, M).filter((x) => Number.isFinite(x));
        return 10 * Math.log10(v.reduce((t, x) => t + x, 0) / v.length);
      });
    const [identityDb, genieDb] = [db(DEFAULTS), db({ ...DEFAULTS, covariance: 'genie' })];
    expect(identityDb).to.be.within(-4, -2);
    expect(genieDb, `genie ${genieDb} dB, identity ${identityDb} dB`).to.be.below(identityDb - 10);
  });

  it('least-squares: L >= N without noise recovers X (1e-4), needs no noise variance; L < N gives A X_hat = Y', () => {
    const [N, L, M] = [4, 6, 3];
    const a = randomMat(L, N, 'ls-a');
    const x = randomMat(N, M, 'ls-x');
    const y = matmul(a, x);
    tf.tidy(() => {
      const est = new LmmseDetector({ ...DEFAULTS, estimator: 'least-squares' }, { numDevices: N, numAntennas: M, sequenceLength: L, bitsPerDevice: 0 }).detect({
        y: tensorOf(y, [1, L, M]),
        codebook: tensorOf(a, [L, N]),
      });
      const got = hostOf(est.channel as ComplexTensor);
      x.flat().forEach((v, i) => {
        expect(got.re[i]).to.be.closeTo(v.re, 1e-4);
        expect(got.im[i]).to.be.closeTo(v.im, 1e-4);
      });
    });
    // L = 3 < N = 5: the minimum-norm solution fits the data exactly
    const a2 = randomMat(3, 5, 'ls-a2');
    const y2 = matmul(a2, randomMat(5, M, 'ls-x2'));
    tf.tidy(() => {
      const est = new LmmseDetector({ ...DEFAULTS, estimator: 'least-squares' }, { numDevices: 5, numAntennas: M, sequenceLength: 3, bitsPerDevice: 0 }).detect({
        y: tensorOf(y2, [1, 3, M]),
        codebook: tensorOf(a2, [3, 5]),
      });
      const got = hostOf(est.channel as ComplexTensor);
      const xHat: Mat = Array.from({ length: 5 }, (_, n) => Array.from({ length: M }, (_, m) => ({ re: got.re[n * M + m], im: got.im[n * M + m] })));
      matmul(a2, xHat)
        .flat()
        .forEach((v, i) => {
          expect(v.re).to.be.closeTo(y2.flat()[i].re, 1e-4);
          expect(v.im).to.be.closeTo(y2.flat()[i].im, 1e-4);
        });
    });
  });

  it('a per-trial codebook gives trial by trial what the per-run codebook gives; activity = score > activityThreshold, or >= a fitted gamma', () => {
    const [N, L, M, B] = [6, 4, 2, 3];
    const s: Scenario = { numDevices: N, numAntennas: M, sequenceLength: L, bitsPerDevice: 0 };
    const data = synthetic({ scenario: s, trials: B, activityProb: 0.5, snrDb: 10, key: 'per-trial' });
    tf.tidy(() => {
      const obs = data.observation();
      const det = new LmmseDetector(DEFAULTS, s);
      const shared = det.detect(obs);
      const stacked = { re: tf.stack([obs.codebook.re, obs.codebook.re, obs.codebook.re]), im: tf.stack([obs.codebook.im, obs.codebook.im, obs.codebook.im]) };
      const perTrial = det.detect({ ...obs, codebook: stacked });
      const [x1, x2] = [hostOf(shared.channel as ComplexTensor), hostOf(perTrial.channel as ComplexTensor)];
      x1.re.forEach((v, i) => expect(v).to.be.closeTo(x2.re[i], 1e-4 * (1 + Math.abs(v))));
      x1.im.forEach((v, i) => expect(v).to.be.closeTo(x2.im[i], 1e-4 * (1 + Math.abs(v))));
      const score = Array.from(shared.activityScore?.dataSync() ?? []);
      expect(Array.from(shared.activity?.dataSync() ?? [])).to.deep.equal(score.map((e) => (e > 0.5 ? 1 : 0)));
      const gamma = score[0];
      det.useActivityThreshold(gamma);
      const fitted = Array.from(det.detect(obs).activity?.dataSync() ?? []);
      expect(fitted).to.deep.equal(score.map((e) => (e >= gamma ? 1 : 0)));
      expect(fitted[0]).to.equal(1);
    });
  });

  it('does not leak tensors (shared and per-trial paths)', () => {
    const s: Scenario = { numDevices: 6, numAntennas: 2, sequenceLength: 4, bitsPerDevice: 0 };
    const data = synthetic({ scenario: s, trials: 2, activityProb: 0.5, snrDb: 10, key: 'leak' });
    const obs = data.observation();
    const truth = tf.tensor2d(data.activity);
    const before = tf.memory().numTensors;
    for (const covariance of ['identity', 'known-gains', 'genie'] as const) {
      disposeEstimate(new LmmseDetector({ ...DEFAULTS, covariance }, s).detect({ ...obs, trueActivity: truth }));
    }
    expect(tf.memory().numTensors).to.equal(before);
    truth.dispose();
    cx.dispose(obs.y);
    cx.dispose(obs.codebook);
    obs.largeScaleFading.dispose();
    obs.activityProbability.dispose();
  });

  it('descriptor: requires by params (genie is an oracle), check refuses bitsPerDevice > 0, clear errors', () => {
    const info = LmmseDetector.plugin;
    const s: Scenario = { numDevices: 4, numAntennas: 2, sequenceLength: 2, bitsPerDevice: 0 };
    expect(info.requires?.(DEFAULTS, s)).to.deep.equal(['codebook', 'noiseVariance']);
    expect(info.requires?.({ ...DEFAULTS, estimator: 'least-squares' }, s)).to.deep.equal(['codebook']);
    expect(info.requires?.({ ...DEFAULTS, covariance: 'known-gains' }, s)).to.deep.equal(['codebook', 'noiseVariance', 'largeScaleFading']);
    expect(info.requires?.({ ...DEFAULTS, covariance: 'genie' }, s)).to.deep.equal(['codebook', 'noiseVariance', 'largeScaleFading', 'trueActivity']);
    expect(info.provides?.(DEFAULTS, s)).to.deep.equal(['activityScore', 'activity', 'channel']);
    expect(info.check?.(DEFAULTS, s)).to.deep.equal([]);
    const problems = info.check?.(DEFAULTS, { ...s, bitsPerDevice: 1 }) ?? [];
    expect(problems).to.have.length(1);
    expect(problems[0].message).to.match(/one pilot per device.*got 1/);
    tf.tidy(() => {
      const y = cx.fromReal(tf.ones([1, 2, 2]));
      const det = new LmmseDetector(DEFAULTS, s);
      expect(() => det.detect({ y, codebook: cx.fromReal(tf.ones([2, 8])), noiseVar: 1 })).to.throw(/lmmse: codebook has shape \[2, 8\]; expected \[L=2, N=4\]/);
      expect(() => det.detect({ y, codebook: cx.fromReal(tf.eye(2, 4)) })).to.throw(/needs the noise variance/);
      // R = I, s2 = 0, L = 2 < N = 4 with rank-1 pilots: A A^H singular
      expect(() => new LmmseDetector({ ...DEFAULTS, estimator: 'least-squares' }, s).detect({ y, codebook: cx.fromReal(tf.ones([2, 4])) })).to.throw(/lmmse: the 2 x 2 system .* singular/);
    });
  });
});
