import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { blas, Generator, resetBlasForTests, type Scenario } from '@gfra/core';
import { groupLassoAdmm, groupLassoBcd } from './group-lasso';
import { hostGroupLassoAdmm, hostGroupLassoBcd, type HostGroupLassoInput } from './group-lasso-host';
import { TRIALS_PER_PRODUCT } from './amp-host';
import { HostWorkspace } from './host-workspace';
import { GroupLassoDetector } from '../group-lasso';

const [L, N, M] = [8, 20, 3];

/**
 * A batch Y = A X + W (float32 values): unit-norm Gaussian pilot columns (one matrix, or one per
 * trial), 3 or 4 active rows per trial with CN(0, 1) entries, noise CN(0, 0.01).
 */
function draw(key: string, B: number, perTrial: boolean) {
  const g = Generator.fromKey(['group-lasso-host', key]);
  const books = perTrial ? B : 1;
  const aRe = new Float32Array(books * L * N);
  const aIm = new Float32Array(books * L * N);
  for (let t = 0; t < books; t++)
    for (let n = 0; n < N; n++) {
      const re = Array.from({ length: L }, () => g.normal());
      const im = Array.from({ length: L }, () => g.normal());
      const norm = Math.sqrt(re.reduce((s, v, l) => s + v * v + im[l] * im[l], 0));
      for (let l = 0; l < L; l++) {
        aRe[(t * L + l) * N + n] = re[l] / norm;
        aIm[(t * L + l) * N + n] = im[l] / norm;
      }
    }
  const yRe = new Float32Array(B * L * M);
  const yIm = new Float32Array(B * L * M);
  for (let b = 0; b < B; b++) {
    const a = perTrial ? b * L * N : 0;
    const active = new Set([b % N, (b * 7 + 3) % N, (b * 13 + 11) % N, 17]);
    for (let l = 0; l < L; l++)
      for (let m = 0; m < M; m++) {
        yRe[(b * L + l) * M + m] = 0.1 * Math.SQRT1_2 * g.normal();
        yIm[(b * L + l) * M + m] = 0.1 * Math.SQRT1_2 * g.normal();
      }
    for (const n of active)
      for (let m = 0; m < M; m++) {
        const hr = Math.SQRT1_2 * g.normal();
        const hi = Math.SQRT1_2 * g.normal();
        for (let l = 0; l < L; l++) {
          const ar = aRe[a + l * N + n];
          const ai = aIm[a + l * N + n];
          yRe[(b * L + l) * M + m] += ar * hr - ai * hi;
          yIm[(b * L + l) * M + m] += ar * hi + ai * hr;
        }
      }
  }
  return { aRe, aIm, yRe, yIm, B, perTrial };
}
type Draw = ReturnType<typeof draw>;

/** Trials [from, to) of `d` as a kernel input (global index first + from). */
function input(d: Draw, lambda: number, first = 0, from = 0, to = d.B, extra: Partial<HostGroupLassoInput> = {}): HostGroupLassoInput {
  return {
    yRe: d.yRe.subarray(from * L * M, to * L * M),
    yIm: d.yIm.subarray(from * L * M, to * L * M),
    sRe: d.perTrial ? d.aRe.subarray(from * L * N, to * L * N) : d.aRe,
    sIm: d.perTrial ? d.aIm.subarray(from * L * N, to * L * N) : d.aIm,
    perTrial: d.perTrial,
    B: to - from,
    L,
    N,
    M,
    lambda,
    firstTrial: first + from,
    ...extra,
  };
}

/** Trial b's pilot matrix and received block (views). */
const trial = (d: Draw, b: number) => ({
  aRe: d.perTrial ? d.aRe.subarray(b * L * N, (b + 1) * L * N) : d.aRe,
  aIm: d.perTrial ? d.aIm.subarray(b * L * N, (b + 1) * L * N) : d.aIm,
  yRe: d.yRe.subarray(b * L * M, (b + 1) * L * M),
  yIm: d.yIm.subarray(b * L * M, (b + 1) * L * M),
});

/** The tfjs ADMM on `d` (shared [L, N] or per-trial [B, L, N] pilots): X [B, N, M]. */
function tfjsAdmm(d: Draw, lambda: number, rho: number, iterations: number): { re: Float32Array; im: Float32Array } {
  return tf.tidy(() => {
    const shape = d.perTrial ? [d.B, L, N] : [L, N];
    const x = groupLassoAdmm(
      { re: tf.tensor3d(d.yRe, [d.B, L, M]), im: tf.tensor3d(d.yIm, [d.B, L, M]) },
      { re: tf.tensor(d.aRe, shape), im: tf.tensor(d.aIm, shape) },
      lambda,
      rho,
      iterations,
    );
    return { re: x.re.dataSync() as Float32Array, im: x.im.dataSync() as Float32Array };
  });
}

/**
 * The ADMM iteration of Algorithm 1 for one trial in plain float64 complex loops (direct sums,
 * no stacked-real layout, no BLAS): an independent transcription of the same equations.
 */
function admmReference(t: ReturnType<typeof trial>, lambda: number, rho: number, iterations: number): { re: Float64Array; im: Float64Array } {
  const { aRe, aIm, yRe, yIm } = t;
  const xr = new Float64Array(N * M);
  const xi = new Float64Array(N * M);
  const [br, bi, cr, ci, pr, pi] = Array.from({ length: 6 }, () => new Float64Array(L * M));
  const d = Array.from({ length: N }, (_, n) => Array.from({ length: L }, (_, l) => aRe[l * N + n] ** 2 + aIm[l * N + n] ** 2).reduce((s, v) => s + v, 0));
  for (let k = 0; k < iterations; k++) {
    for (let n = 0; n < N; n++) {
      const tn: [number, number][] = [];
      for (let m = 0; m < M; m++) {
        // t = d_n x_n + a_n^H (Bbar - P - C)
        let sr = d[n] * xr[n * M + m];
        let si = d[n] * xi[n * M + m];
        for (let l = 0; l < L; l++) {
          const qr = br[l * M + m] - pr[l * M + m] - cr[l * M + m];
          const qi = bi[l * M + m] - pi[l * M + m] - ci[l * M + m];
          sr += aRe[l * N + n] * qr + aIm[l * N + n] * qi;
          si += aRe[l * N + n] * qi - aIm[l * N + n] * qr;
        }
        tn.push([sr, si]);
      }
      const norm = Math.sqrt(tn.reduce((s, [a, b]) => s + a * a + b * b, 0) + 1e-12);
      const gain = Math.max(0, 1 - lambda / rho / norm) / d[n];
      tn.forEach(([a, b], m) => ((xr[n * M + m] = gain * a), (xi[n * M + m] = gain * b)));
    }
    for (let l = 0; l < L; l++)
      for (let m = 0; m < M; m++) {
        let sr = 0;
        let si = 0;
        for (let n = 0; n < N; n++) {
          sr += aRe[l * N + n] * xr[n * M + m] - aIm[l * N + n] * xi[n * M + m];
          si += aRe[l * N + n] * xi[n * M + m] + aIm[l * N + n] * xr[n * M + m];
        }
        const i = l * M + m;
        pr[i] = sr / N;
        pi[i] = si / N;
        br[i] = (yRe[i] + rho * (pr[i] + cr[i])) / (N + rho);
        bi[i] = (yIm[i] + rho * (pi[i] + ci[i])) / (N + rho);
        cr[i] += pr[i] - br[i];
        ci[i] += pi[i] - bi[i];
      }
  }
  return { re: xr, im: xi };
}

/**
 * Largest violation of the GROUP LASSO optimality conditions at X (one trial, float64 direct
 * loops): with g_n = a_n^H (Y - A X), a non-zero row needs g_n = lambda x_n / ||x_n||, a zero row
 * ||g_n|| <= lambda.
 */
function kktViolation(t: ReturnType<typeof trial>, xRe: ArrayLike<number>, xIm: ArrayLike<number>, lambda: number): number {
  const { aRe, aIm, yRe, yIm } = t;
  let worst = 0;
  for (let n = 0; n < N; n++) {
    const g: number[] = [];
    for (let m = 0; m < M; m++) {
      let gr = 0;
      let gi = 0;
      for (let l = 0; l < L; l++) {
        let rr = yRe[l * M + m];
        let ri = yIm[l * M + m];
        for (let j = 0; j < N; j++) {
          rr -= aRe[l * N + j] * xRe[j * M + m] - aIm[l * N + j] * xIm[j * M + m];
          ri -= aRe[l * N + j] * xIm[j * M + m] + aIm[l * N + j] * xRe[j * M + m];
        }
        gr += aRe[l * N + n] * rr + aIm[l * N + n] * ri;
        gi += aRe[l * N + n] * ri - aIm[l * N + n] * rr;
      }
      g.push(gr, gi);
    }
    const row = Array.from({ length: M }, (_, m) => [xRe[n * M + m], xIm[n * M + m]]).flat();
    const norm = Math.hypot(...row);
    if (norm > 0) worst = Math.max(worst, Math.hypot(...g.map((v, i) => v - (lambda * row[i]) / norm)));
    else worst = Math.max(worst, Math.hypot(...g) - lambda);
  }
  return worst;
}

/** sqrt(sum (a - b)^2 / sum b^2). */
function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let size = 0;
  for (let i = 0; i < b.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    size += b[i] ** 2;
  }
  return Math.sqrt(diff / size);
}

const rows = (x: { re: ArrayLike<number>; im: ArrayLike<number> }, b: number) => ({ re: Array.from(x.re).slice(b * N * M, (b + 1) * N * M), im: Array.from(x.im).slice(b * N * M, (b + 1) * N * M) });

describe('group-lasso host kernels (BLAS products, float64 row updates)', () => {
  afterEach(() => {
    delete process.env.GFRA_BLAS;
    resetBlasForTests();
  });

  for (const perTrial of [false, true]) {
    const codebook = perTrial ? 'one pilot matrix per trial' : 'shared pilots';
    it(`ADMM (${codebook}): equals the tfjs groupLassoAdmm to float32 rounding, and a float64 complex-loop transcription to 1e-12`, () => {
      const d = draw(`admm-${perTrial}`, 6, perTrial);
      const [lambda, rho, K] = [0.2, 1.3, 30];
      const host = hostGroupLassoAdmm(input(d, lambda), rho, K);
      expect(host.re).to.be.instanceOf(Float32Array);
      const ref = tfjsAdmm(d, lambda, rho, K);
      // Each iteration: two products with sums of 2L = 16 and 2N = 40 terms (~ sqrt(40) u = 4e-7
      // relative each, u = 6e-8) and float32 element-wise steps in tfjs; the iteration is
      // non-expansive, so the errors add up at most linearly: K 2 4e-7 = 2.4e-5. We allow 3e-5.
      expect(relativeDifference(host.re, ref.re), 'Re X').to.be.at.most(3e-5);
      expect(relativeDifference(host.im, ref.im), 'Im X').to.be.at.most(3e-5);
      // float64 storage and products: the same equations in double precision
      const double = hostGroupLassoAdmm(input(d, lambda, 0, 0, d.B, { precision: 'float64' }), rho, K);
      expect(double.re).to.be.instanceOf(Float64Array);
      let active = 0;
      for (let b = 0; b < d.B; b++) {
        const want = admmReference(trial(d, b), lambda, rho, K);
        const got = rows(double, b);
        expect(relativeDifference(got.re, want.re), `trial ${b}: Re X`).to.be.at.most(1e-12);
        expect(relativeDifference(got.im, want.im), `trial ${b}: Im X`).to.be.at.most(1e-12);
        for (let n = 0; n < N; n++) if (want.re[n * M] !== 0) active++;
      }
      // the soft threshold is exercised: some rows are 0, some are not
      expect(active).to.be.within(d.B, d.B * (N - 1));
    });
  }

  it('ADMM (float64) converges to the GROUP LASSO optimum: KKT conditions, and the BCD optimum', () => {
    const d = draw('admm-kkt', 2, false);
    const lambda = 0.1;
    const x = hostGroupLassoAdmm(input(d, lambda, 0, 0, d.B, { precision: 'float64' }), 1, 4000);
    for (let b = 0; b < d.B; b++) {
      const t = trial(d, b);
      const got = rows(x, b);
      const bcd = groupLassoBcd(t.aRe, t.aIm, t.yRe, t.yIm, L, N, M, lambda, 3000);
      expect(kktViolation(t, bcd.re, bcd.im, lambda), 'BCD KKT').to.be.below(1e-9);
      // ADMM converges linearly here: 4000 iterations take it to about 1e-11 of the optimum
      expect(kktViolation(t, got.re, got.im, lambda), 'ADMM KKT').to.be.below(1e-9);
      expect(relativeDifference(got.re, bcd.re), 'Re X vs BCD').to.be.below(1e-9);
      expect(relativeDifference(got.im, bcd.im), 'Im X vs BCD').to.be.below(1e-9);
    }
  });

  for (const perTrial of [false, true]) {
    const codebook = perTrial ? 'one pilot matrix per trial' : 'shared pilots';
    it(`BCD (${codebook}): equals groupLassoBcd (residual form) to 1e-11 and meets the KKT conditions at convergence`, () => {
      const d = draw(`bcd-${perTrial}`, 5, perTrial);
      for (const [lambda, sweeps] of [
        [0.05, 7],
        [0.2, 40],
        [0.1, 1000],
      ]) {
        const host = hostGroupLassoBcd(input(d, lambda, 0, 0, d.B, { precision: 'float64' }), sweeps);
        for (let b = 0; b < d.B; b++) {
          const t = trial(d, b);
          const want = groupLassoBcd(t.aRe, t.aIm, t.yRe, t.yIm, L, N, M, lambda, sweeps);
          const got = rows(host, b);
          // float64 with A^H R kept as A^H Y - G X: the same iterates up to rounding (u = 1.1e-16,
          // sums of <= 2L terms, a contraction): far below 1e-11 unless a row sits on its threshold
          expect(relativeDifference(got.re, want.re), `lambda ${lambda}, ${sweeps} sweeps, trial ${b}: Re X`).to.be.below(1e-11);
          expect(relativeDifference(got.im, want.im), `lambda ${lambda}, ${sweeps} sweeps, trial ${b}: Im X`).to.be.below(1e-11);
          if (sweeps === 1000) expect(kktViolation(t, got.re, got.im, lambda), `trial ${b}: KKT`).to.be.below(1e-9);
        }
        // float32 output: the float64 result rounded
        const single = hostGroupLassoBcd(input(d, lambda), sweeps);
        expect(single.re).to.be.instanceOf(Float32Array);
        expect(Array.from(single.re)).to.deep.equal(Array.from(Float32Array.from(host.re)));
      }
    });
  }

  for (const solver of ['admm', 'bcd'] as const)
    for (const perTrial of [false, true]) {
      it(`${solver} (${perTrial ? 'one pilot matrix per trial' : 'shared pilots'}): the same numbers, bit for bit, whatever the batch split and position, with or without a reused workspace`, () => {
        const B = 21;
        const d = draw(`split-${solver}-${perTrial}`, B, perTrial);
        const run = (first: number, from: number, to: number, workspace?: HostWorkspace) =>
          solver === 'admm' ? hostGroupLassoAdmm(input(d, 0.15, first, from, to, { workspace }), 1, 25) : hostGroupLassoBcd(input(d, 0.15, first, from, to, { workspace }), 25);
        const first = 3 * TRIALS_PER_PRODUCT - 5; // the batch straddles chunk boundaries
        const whole = run(first, 0, B);
        const workspace = new HostWorkspace();
        const parts = [
          [0, 1],
          [1, 13],
          [13, B],
        ].map(([from, to]) => ({ from, x: run(first, from, to, workspace) }));
        for (const { from, x } of parts)
          for (let b = 0; b < x.re.length / (N * M); b++) expect(rows(x, b), `trial ${from + b}`).to.deep.equal(rows(whole, from + b));
        // the workspace, used above for other sizes, gives the fresh result again
        expect(rows(run(first, 0, B, workspace), 7)).to.deep.equal(rows(whole, 7));
        // and the solution is not trivial
        expect(Array.from(whole.re).some((v) => v !== 0)).to.equal(true);
      });
    }

  it('ADMM: the JavaScript BLAS fallback gives the native path\'s numbers to float32 rounding', function () {
    if (!blas().native) this.skip();
    const d = draw('fallback', 5, false);
    const native = hostGroupLassoAdmm(input(d, 0.2), 1, 30);
    process.env.GFRA_BLAS = 'javascript';
    resetBlasForTests();
    expect(blas().native).to.equal(false);
    const js = hostGroupLassoAdmm(input(d, 0.2), 1, 30);
    // both float32 products of the same sums in different orders: as for tfjs, 3e-5
    expect(relativeDifference(js.re, native.re)).to.be.at.most(3e-5);
    expect(relativeDifference(js.im, native.im)).to.be.at.most(3e-5);
  });
});

describe('detector:group-lasso on the host kernels', () => {
  const scenario: Scenario = { numDevices: N, numAntennas: M, sequenceLength: L, bitsPerDevice: 0 };
  for (const solver of ['admm', 'bcd'] as const) {
    it(`${solver}: the kernel's X, no tensor left behind, the same estimate whatever the batch split (trials.first)`, () => {
      const B = 7;
      const d = draw(`detector-${solver}`, B, false);
      const det = new GroupLassoDetector({ solver, iterations: 30, lambda: 0.15, rho: 1, threshold: { rule: 'fixed', value: 0.1 } }, scenario);
      const codebook = { re: tf.tensor2d(d.aRe, [L, N]), im: tf.tensor2d(d.aIm, [L, N]) };
      const detect = (from: number, to: number) => {
        const y = { re: tf.tensor3d(d.yRe.subarray(from * L * M, to * L * M), [to - from, L, M]), im: tf.tensor3d(d.yIm.subarray(from * L * M, to * L * M), [to - from, L, M]) };
        const before = tf.memory().numTensors;
        const est = det.detect({ y, codebook, trials: { first: 40 + from, count: to - from } });
        const made = tf.memory().numTensors - before;
        const out = { re: Array.from(est.channel!.re.dataSync()), im: Array.from(est.channel!.im.dataSync()), activity: Array.from(est.activity!.dataSync()) };
        tf.dispose([est.channel!.re, est.channel!.im, est.activity!, est.activityScore!, y.re, y.im]);
        return { out, made };
      };
      const whole = detect(0, B);
      expect(whole.made, 'tensors made: channel (2), activity, activityScore').to.equal(4);
      const kernel = solver === 'admm' ? hostGroupLassoAdmm(input(d, 0.15, 40), 1, 30) : hostGroupLassoBcd(input(d, 0.15, 40), 30);
      expect(whole.out.re).to.deep.equal(Array.from(kernel.re));
      expect(whole.out.im).to.deep.equal(Array.from(kernel.im));
      expect(whole.out.activity.some((a) => a === 1)).to.equal(true);
      const start = tf.memory().numTensors;
      const a = detect(0, 3);
      const b = detect(3, B);
      expect(tf.memory().numTensors).to.equal(start);
      expect([...a.out.re, ...b.out.re]).to.deep.equal(whole.out.re);
      expect([...a.out.im, ...b.out.im]).to.deep.equal(whole.out.im);
      expect([...a.out.activity, ...b.out.activity]).to.deep.equal(whole.out.activity);
      tf.dispose([codebook.re, codebook.im]);
    });
  }
});
