import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Generator, RandomStreams, type Scenario } from '@gfra/core';
import { CovarianceCd, covarianceCdHost, covarianceLassoGram, covarianceLassoHost, mapPriorWeights, randomOrders } from './covariance';
import { hermitianForm, hermitianRankOneUpdate, hermitianSampleCovariance, hermitianTimes, interleavedAdjoint, interleavedColumns, rowsTimesNorm2 } from './covariance-host';
import { covarianceWasm, resetWasmForTests } from './wasm';
import { CovarianceMlDetector, type CovarianceMlParams } from '../covariance-ml';
import { covarianceCoordinateDescent } from '../testing/covariance-reference';
import { synthetic } from '../testing/synthetic';

/** A dense complex matrix: row-major split arrays. */
interface Dense {
  re: Float64Array;
  im: Float64Array;
}

/** A random Hermitian n x n matrix, dense, and its upper triangle interleaved (the kernels' layout). */
function randomHermitian(g: Generator, n: number): { dense: Dense; upper: Float64Array } {
  const re = new Float64Array(n * n);
  const im = new Float64Array(n * n);
  const upper = new Float64Array(2 * n * n);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      const r = g.normal();
      const v = i === j ? 0 : g.normal();
      re[i * n + j] = r;
      im[i * n + j] = v;
      re[j * n + i] = r;
      im[j * n + i] = -v;
      upper[2 * (i * n + j)] = r;
      upper[2 * (i * n + j) + 1] = v;
    }
  return { dense: { re, im }, upper };
}

const randomVector = (g: Generator, n: number) => Float64Array.from({ length: 2 * n }, () => g.normal());

/** Dense H x for interleaved x: interleaved result. */
function denseTimes(h: Dense, rows: number, n: number, x: Float64Array): Float64Array {
  const out = new Float64Array(2 * rows);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < n; j++) {
      out[2 * i] += h.re[i * n + j] * x[2 * j] - h.im[i * n + j] * x[2 * j + 1];
      out[2 * i + 1] += h.re[i * n + j] * x[2 * j + 1] + h.im[i * n + j] * x[2 * j];
    }
  return out;
}

const maxAbs = (v: ArrayLike<number>) => Array.from(v).reduce((a, x) => Math.max(a, Math.abs(x)), 0);

/**
 * One batch of the covariance model: Y_b = S_b diag(sqrt(gamma)) H + W with a codebook per run
 * ([L, K]) or per trial ([B, L, K]), unit-norm columns, activity eps, powers beta_k in [1, 10]
 * (0 to 10 dB at sigma^2 = 1). Host arrays in float64 of the float32 values the tensors hold.
 */
function batch(key: string, B: number, L: number, M: number, K: number, perTrial: boolean) {
  const g = Generator.fromKey(['covariance-host', key]);
  const books = perTrial ? B : 1;
  const sRe = new Float32Array(books * L * K);
  const sIm = new Float32Array(books * L * K);
  for (let t = 0; t < books; t++)
    for (let k = 0; k < K; k++) {
      const re = Array.from({ length: L }, () => g.normal());
      const im = Array.from({ length: L }, () => g.normal());
      const norm = Math.sqrt(re.reduce((a, v, l) => a + v * v + im[l] * im[l], 0));
      for (let l = 0; l < L; l++) {
        sRe[(t * L + l) * K + k] = re[l] / norm;
        sIm[(t * L + l) * K + k] = im[l] / norm;
      }
    }
  const beta = Array.from({ length: K }, () => 1 + 9 * g.uniform());
  const yRe = new Float32Array(B * L * M);
  const yIm = new Float32Array(B * L * M);
  for (let b = 0; b < B; b++) {
    const off = perTrial ? b * L * K : 0;
    const acc = { re: new Float64Array(L * M).map(() => Math.SQRT1_2 * g.normal()), im: new Float64Array(L * M).map(() => Math.SQRT1_2 * g.normal()) };
    for (let k = 0; k < K; k++) {
      if (g.uniform() >= 0.3) continue;
      for (let m = 0; m < M; m++) {
        const hr = Math.sqrt(beta[k] / 2) * g.normal();
        const hi = Math.sqrt(beta[k] / 2) * g.normal();
        for (let l = 0; l < L; l++) {
          const ar = sRe[off + l * K + k];
          const ai = sIm[off + l * K + k];
          acc.re[l * M + m] += ar * hr - ai * hi;
          acc.im[l * M + m] += ar * hi + ai * hr;
        }
      }
    }
    yRe.set(acc.re, b * L * M);
    yIm.set(acc.im, b * L * M);
  }
  // MAP weights: eps_n = 0.2 per "device" (one sequence each), beta_n per trial
  const prior = mapPriorWeights(new Array(K).fill(0.2), Array.from({ length: B }, () => beta).flat(), B, K, 1, M);
  return { sRe, sIm, yRe, yIm, prior, books };
}

describe('covariance host kernels (float64, Hermitian upper triangle, interleaved)', () => {
  for (const n of [1, 2, 5, 6]) {
    it(`Hermitian times, form and rank-one update equal dense complex arithmetic (n = ${n})`, () => {
      const g = Generator.fromKey(['hermitian-kernels', n]);
      const { dense, upper } = randomHermitian(g, n);
      const x = randomVector(g, n);
      const u = new Float64Array(2 * n);
      hermitianTimes(upper, n, x, 0, u);
      const expected = denseTimes(dense, n, n, x);
      u.forEach((v, i) => expect(v, `(H x)[${i}]`).to.be.closeTo(expected[i], 1e-13 * (1 + maxAbs(expected))));
      // x at an offset, as the kernel reads a codebook column
      const shifted = new Float64Array(2 * n + 6);
      shifted.set(x, 6);
      const v = new Float64Array(2 * n);
      hermitianTimes(upper, n, shifted, 6, v);
      expect(Array.from(v)).to.deep.equal(Array.from(u));
      // u^H H u = Re(sum_i conj(x_i) (H x)_i)
      let form = 0;
      for (let i = 0; i < n; i++) form += x[2 * i] * expected[2 * i] + x[2 * i + 1] * expected[2 * i + 1];
      expect(hermitianForm(upper, n, x)).to.be.closeTo(form, 1e-13 * (1 + Math.abs(form)));
      // H -= c x x^H on the upper triangle
      const c = 0.37;
      hermitianRankOneUpdate(upper, n, c, x);
      for (let i = 0; i < n; i++)
        for (let j = i; j < n; j++) {
          // x_i conj(x_j)
          const pr = x[2 * i] * x[2 * j] + x[2 * i + 1] * x[2 * j + 1];
          const pi = x[2 * i + 1] * x[2 * j] - x[2 * i] * x[2 * j + 1];
          expect(upper[2 * (i * n + j)], `re H'(${i}, ${j})`).to.be.closeTo(dense.re[i * n + j] - c * pr, 1e-13);
          if (j > i) expect(upper[2 * (i * n + j) + 1], `im H'(${i}, ${j})`).to.be.closeTo(dense.im[i * n + j] - c * pi, 1e-13);
        }
    });
  }

  for (const rows of [1, 3, 4]) {
    it(`||A x||^2 of a general [rows, n] matrix equals the dense product (rows = ${rows})`, () => {
      const g = Generator.fromKey(['rows-times', rows]);
      const n = 5;
      const a = randomVector(g, rows * n);
      const x = randomVector(g, n);
      const dense = { re: Float64Array.from({ length: rows * n }, (_, i) => a[2 * i]), im: Float64Array.from({ length: rows * n }, (_, i) => a[2 * i + 1]) };
      const ax = denseTimes(dense, rows, n, x);
      const expected = ax.reduce((s, v) => s + v * v, 0);
      expect(rowsTimesNorm2(a, rows, n, x)).to.be.closeTo(expected, 1e-13 * expected);
    });
  }
});

describe('covariance coordinate descent on the host (float64)', () => {
  // L = 7, M = 5: b from the Hermitian form of Sigma_hat (2 M > L), odd L; L = 8, M = 3: b = ||Y^H u||^2 / M (2 M <= L), odd M
  const cases = [
    { L: 7, M: 5, K: 14 },
    { L: 8, M: 3, K: 12 },
  ];
  for (const { L, M, K } of cases)
    for (const perTrial of [false, true]) {
      const label = `L = ${L}, M = ${M}, K = ${K}, ${perTrial ? 'per-trial' : 'per-run'} codebook`;
      it(`equals the plain-loop reference to 1e-10 relative, ML and MAP (${label})`, () => {
        const B = 3;
        const d = batch(`${L}-${M}-${perTrial}`, B, L, M, K, perTrial);
        const orders = randomOrders(K, 8, Generator.fromKey(['orders', L]));
        for (const objective of ['ml', 'map'] as const) {
          for (let b = 0; b < B; b++) {
            const t = perTrial ? b : 0;
            const book = Array.from({ length: K }, (_, k) => ({
              re: Array.from({ length: L }, (_, l) => d.sRe[(t * L + l) * K + k]),
              im: Array.from({ length: L }, (_, l) => d.sIm[(t * L + l) * K + k]),
            }));
            const y = { re: d.yRe.subarray(b * L * M, (b + 1) * L * M), im: d.yIm.subarray(b * L * M, (b + 1) * L * M) };
            const prior = objective === 'map' ? d.prior.subarray(b * K, (b + 1) * K) : undefined;
            const reference = covarianceCoordinateDescent(book, y, L, M, 1, orders, prior);
            const cd = new CovarianceCd(interleavedColumns(d.sRe.subarray(t * L * K, (t + 1) * L * K), d.sIm.subarray(t * L * K, (t + 1) * L * K), L, K), y.re, y.im, L, M, 1);
            cd.prior = prior;
            orders.forEach((o) => cd.sweep(o));
            const scale = maxAbs(reference);
            expect(scale, 'some gamma > 0').to.be.above(0.5);
            cd.gamma.forEach((v, k) => expect(v, `${objective} trial ${b} gamma_${k}`).to.be.closeTo(reference[k], 1e-10 * scale));
          }
        }
      });
    }

  it('covarianceCdHost: the same gamma, bit for bit, whatever the batch split (per-run and per-trial codebooks, ML and MAP)', () => {
    const L = 7;
    const M = 5;
    const K = 14;
    const B = 5;
    const orders = randomOrders(K, 6, Generator.fromKey(['orders-split']));
    for (const perTrial of [false, true]) {
      const d = batch(`split-${perTrial}`, B, L, M, K, perTrial);
      for (const objective of ['ml', 'map'] as const) {
        // gamma of trials [first, first + count) run as one batch
        const run = (first: number, count: number): number[] =>
          tf.tidy(() => {
            const y = { re: tf.tensor3d(d.yRe.subarray(first * L * M, (first + count) * L * M), [count, L, M]), im: tf.tensor3d(d.yIm.subarray(first * L * M, (first + count) * L * M), [count, L, M]) };
            const codebook = perTrial
              ? { re: tf.tensor3d(d.sRe.subarray(first * L * K, (first + count) * L * K), [count, L, K]), im: tf.tensor3d(d.sIm.subarray(first * L * K, (first + count) * L * K), [count, L, K]) }
              : { re: tf.tensor2d(d.sRe, [L, K]), im: tf.tensor2d(d.sIm, [L, K]) };
            const prior = objective === 'map' ? d.prior.slice(first * K, (first + count) * K) : undefined;
            return Array.from(covarianceCdHost(y, codebook, 1, orders, prior).dataSync());
          });
        const whole = run(0, B);
        expect(maxAbs(whole), 'some gamma > 0').to.be.above(0.5);
        expect([...run(0, 2), ...run(2, 3)], `${objective}, ${perTrial ? 'per-trial' : 'per-run'}: [0, 2) + [2, 5)`).to.deep.equal(whole);
        expect(Array.from({ length: B }, (_, b) => run(b, 1)).flat(), `${objective}, ${perTrial ? 'per-trial' : 'per-run'}: one trial at a time`).to.deep.equal(whole);
      }
    }
  });
});

describe('covariance WebAssembly kernels (assembly/covariance.ts): the same bits as the JavaScript loops', () => {
  before(function () {
    // GFRA_WASM=off (or no WebAssembly SIMD): only the JavaScript loops run, nothing to compare
    if (covarianceWasm() === undefined) this.skip();
  });

  // b from the Hermitian form of Sigma_hat (2 M > L) and from ||Y^H u||^2 / M (2 M <= L), odd and
  // even L (the kernels take two rows at a time: odd L leaves a last row) and odd and even M (the
  // rows of Y^H, also two at a time)
  const cases = [
    { L: 7, M: 5, K: 14 },
    { L: 6, M: 4, K: 11 },
    { L: 8, M: 3, K: 12 },
    { L: 9, M: 4, K: 13 },
  ];
  for (const { L, M, K } of cases)
    for (const perTrial of [false, true]) {
      const label = `L = ${L}, M = ${M}, K = ${K}, ${perTrial ? 'per-trial' : 'per-run'} codebook`;
      it(`covarianceCdHost: ML and MAP gamma, after every sweep and at the end, bit for bit (${label})`, () => {
        // more trials than the kernels lay out at once without onSweep (32): two groups
        const B = 35;
        const d = batch(`wasm-${L}-${M}-${perTrial}`, B, L, M, K, perTrial);
        const orders = randomOrders(K, 7, Generator.fromKey(['wasm-orders', L]));
        for (const objective of ['ml', 'map'] as const) {
          // MAP weights that differ between trials (batch() gives every trial the same)
          const prior = objective === 'map' ? Float64Array.from(d.prior, (c, i) => c * (0.5 + Math.floor(i / K) / B)) : undefined;
          const run = (wasm: boolean, observe: boolean): { gamma: number[]; sweeps: number[][] } =>
            tf.tidy(() => {
              const y = { re: tf.tensor3d(d.yRe, [B, L, M]), im: tf.tensor3d(d.yIm, [B, L, M]) };
              const codebook = perTrial ? { re: tf.tensor3d(d.sRe, [B, L, K]), im: tf.tensor3d(d.sIm, [B, L, K]) } : { re: tf.tensor2d(d.sRe, [L, K]), im: tf.tensor2d(d.sIm, [L, K]) };
              const sweeps: number[][] = [];
              const onSweep = observe ? (_s: number, g: tf.Tensor2D) => void sweeps.push(Array.from(g.dataSync())) : undefined;
              return { gamma: Array.from(covarianceCdHost(y, codebook, 1.3, orders, prior, onSweep, wasm).dataSync()), sweeps };
            });
          const js = run(false, true);
          expect(maxAbs(js.gamma), 'some gamma > 0').to.be.above(0.5);
          expect(js.sweeps).to.have.length(orders.length);
          const wasm = run(true, true);
          expect(wasm.sweeps, `${objective}: gamma after each sweep`).to.deep.equal(js.sweeps);
          expect(wasm.gamma, `${objective}: gamma`).to.deep.equal(js.gamma);
          // without onSweep each trial runs all its sweeps in one call
          expect(run(true, false).gamma, `${objective}: gamma, all sweeps at once`).to.deep.equal(js.gamma);
        }
      });
    }

  for (const { L, M, K } of cases)
    it(`sweep kernel: the float64 gamma equals CovarianceCd's bit for bit, ML and MAP (L = ${L}, M = ${M}, K = ${K})`, () => {
      // covarianceCdHost rounds gamma to float32: here the kernel's float64 state itself
      const kernels = covarianceWasm()!;
      const d = batch(`wasm-float64-${L}-${M}`, 1, L, M, K, false);
      const orders = randomOrders(K, 6, Generator.fromKey(['wasm-float64', L]));
      const columns = interleavedColumns(d.sRe, d.sIm, L, K);
      for (const objective of ['ml', 'map'] as const) {
        const prior = objective === 'map' ? d.prior.subarray(0, K) : undefined;
        const cd = new CovarianceCd(columns, d.yRe, d.yIm, L, M, 0.7);
        cd.prior = prior;
        orders.forEach((o) => cd.sweep(o));
        const useY = 2 * M <= L;
        const s = kernels.scratch.arrays({ columns: [2 * L * K, true], w: [2 * L * L, true], quad: [useY ? 2 * M * L : 2 * L * L, true], gamma: [K, true], prior: [K, true], order: [orders.length * K, true], work: [8 * L, true] });
        s.columns.set(columns);
        for (let i = 0; i < L; i++) s.w[2 * (i * L + i)] = 1 / 0.7;
        s.quad.set(useY ? interleavedAdjoint(d.yRe, d.yIm, L, M) : hermitianSampleCovariance(d.yRe, d.yIm, L, M));
        if (prior !== undefined) s.prior.set(prior);
        orders.forEach((o, i) => s.order.set(o, i * K));
        const quad = s.quad.byteOffset;
        kernels.exports.sweep(s.columns.byteOffset, s.w.byteOffset, useY ? 0 : quad, useY ? quad : 0, s.gamma.byteOffset, prior === undefined ? 0 : s.prior.byteOffset, s.order.byteOffset, orders.length * K, L, M, s.work.byteOffset);
        expect(maxAbs(cd.gamma), 'some gamma > 0').to.be.above(0.5);
        expect(Array.from(s.gamma), objective).to.deep.equal(Array.from(cd.gamma));
      }
    });

  const scenario: Scenario = { numDevices: 24, numAntennas: 5, sequenceLength: 9, bitsPerDevice: 0 };
  const detectorParams: CovarianceMlParams[] = [
    { sweeps: 6, order: 'random', threshold: { rule: 'beta', fraction: 0.5 }, precision: 'float64', objective: 'ml' },
    { sweeps: 6, order: 'random', threshold: { rule: 'beta', fraction: 0.5 }, precision: 'float64', objective: 'map' },
    { sweeps: 6, order: 'cyclic', threshold: { rule: 'beta', fraction: 0.5 }, precision: 'float64', objective: 'ml', channelEstimate: 'mmse' },
  ];
  for (const p of detectorParams)
    it(`covariance-ml ${p.objective.toUpperCase()}${p.channelEstimate === 'mmse' ? '-MMSE' : ''}: the same outputs with GFRA_WASM=off`, () => {
      const data = synthetic({ scenario, trials: 3, activityProb: 0.3, snrDb: [3, 20], key: 'wasm-detector' });
      const detect = () =>
        tf.tidy(() => {
          const obs = { ...data.observation(), activityProbability: tf.fill([scenario.numDevices], 0.3) as tf.Tensor1D };
          const est = new CovarianceMlDetector(p, scenario, new RandomStreams(['wasm'])).detect(obs as Parameters<CovarianceMlDetector['detect']>[0]);
          return Object.fromEntries(Object.entries(est).map(([key, v]) => [key, 're' in v ? [Array.from(v.re.dataSync()), Array.from(v.im.dataSync())] : Array.from((v as tf.Tensor).dataSync())]));
        });
      const withWasm = detect();
      const before = process.env.GFRA_WASM;
      process.env.GFRA_WASM = 'off';
      resetWasmForTests();
      try {
        expect(covarianceWasm()).to.equal(undefined);
        const js = detect();
        expect(Object.keys(js)).to.include.members(p.channelEstimate === 'mmse' ? ['activityScore', 'activity', 'channel'] : ['activityScore', 'activity']);
        expect(withWasm).to.deep.equal(js);
      } finally {
        if (before === undefined) delete process.env.GFRA_WASM;
        else process.env.GFRA_WASM = before;
        resetWasmForTests();
      }
    });

  // covariance-lasso: G and the c_n in the kernels or given, b from Y^H (2 M <= L) or from
  // Sigma_hat - sigma^2 I, odd and even N (the q update takes two entries at a time)
  const lassoCases = [
    { L: 7, M: 5, N: 13 },
    { L: 8, M: 3, N: 12 },
    { L: 6, M: 2, N: 9 },
  ];
  for (const { L, M, N } of lassoCases)
    for (const perTrial of [false, true])
      it(`covarianceLassoHost: r after every sweep and at the end, bit for bit (L = ${L}, M = ${M}, N = ${N}, ${perTrial ? 'per-trial' : 'per-run'} pilots)`, () => {
        const B = 2;
        const d = batch(`lasso-${L}-${M}-${N}-${perTrial}`, B, L, M, N, perTrial);
        for (let b = 0; b < B; b++) {
          const t = perTrial ? b : 0;
          const [aRe, aIm] = [d.sRe.subarray(t * L * N, (t + 1) * L * N), d.sIm.subarray(t * L * N, (t + 1) * L * N)];
          const [yRe, yIm] = [d.yRe.subarray(b * L * M, (b + 1) * L * M), d.yIm.subarray(b * L * M, (b + 1) * L * M)];
          const gram = covarianceLassoGram(interleavedColumns(aRe, aIm, L, N), L, N);
          for (const subtractNoise of [true, false])
            for (const shared of [false, true]) {
              const run = (wasm: boolean) => {
                const sweeps: number[][] = [];
                const r = covarianceLassoHost(aRe, aIm, yRe, yIm, L, N, M, 1.1, 0.05, 12, subtractNoise, (_s, v) => sweeps.push(Array.from(v)), shared ? gram : undefined, wasm);
                const once = covarianceLassoHost(aRe, aIm, yRe, yIm, L, N, M, 1.1, 0.05, 12, subtractNoise, undefined, shared ? gram : undefined, wasm);
                return { r: Array.from(r), once: Array.from(once), sweeps };
              };
              const js = run(false);
              const label = `trial ${b}, ${subtractNoise ? 'Sigma_hat - sigma^2 I' : 'Sigma_hat'}, ${shared ? 'given' : 'own'} G`;
              expect(js.r.filter((v) => v > 0).length, `${label}: some r > 0`).to.be.above(0);
              expect(js.sweeps[0], `${label}: r moves over the sweeps`).to.not.deep.equal(js.r);
              const wasm = run(true);
              expect(wasm.sweeps, `${label}: r after each sweep`).to.deep.equal(js.sweeps);
              expect(wasm.r, label).to.deep.equal(js.r);
              expect(wasm.once, `${label}: all sweeps at once`).to.deep.equal(js.r);
            }
        }
      });
});
