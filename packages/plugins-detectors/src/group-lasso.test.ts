import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { cx, RandomStreams, type ComplexTensor, type Scenario } from '@gfra/core';
import { groupLassoAdmm, groupLassoBcd } from './algorithms/group-lasso';
import { GroupLassoDetector, type GroupLassoParams } from './group-lasso';
import { groupLassoObjective } from './testing/lasso-reference';

const [L, N, M, B] = [8, 20, 3, 2];
const scenario: Scenario = { numDevices: N, numAntennas: M, sequenceLength: L, bitsPerDevice: 0 };

/** Unit-norm Gaussian pilots, 3 active devices with CN(0, 1) channels, noise CN(0, 0.01). */
function problem(seed: string): { pilots: ComplexTensor; y: ComplexTensor } {
  const r = new RandomStreams(['group-lasso.test', seed]);
  return cx.tidy(() => {
    const pilots = r.complexNormalOnce('pilots', [L, N], 1 / L);
    const h = r.complexNormal({ first: 0, count: B }, 'h', [N, M]);
    const mask = tf.tensor3d(Array.from({ length: B * N }, (_, i) => (i % N) % 7 === 1 ? 1 : 0), [B, N, 1]);
    const x = { re: tf.mul(h.re, mask), im: tf.mul(h.im, mask) };
    const w = r.complexNormal({ first: 0, count: B }, 'w', [L, M], 0.01);
    // A X: [L, N] x [B, N, M] per trial
    const ax = (t: tf.Tensor, u: tf.Tensor) => tf.stack(tf.unstack(u).map((ub) => tf.matMul(t as tf.Tensor2D, ub as tf.Tensor2D)));
    const yr = tf.add(tf.sub(ax(pilots.re, x.re), ax(pilots.im, x.im)), w.re);
    const yi = tf.add(tf.add(ax(pilots.re, x.im), ax(pilots.im, x.re)), w.im);
    return { pilots, y: { re: yr, im: yi } };
  });
}

/**
 * KKT residual of the GROUP LASSO at X (one trial): with g_n = a_n^H (A X - Y), a non-zero row
 * needs g_n + lambda x_n / ||x_n|| = 0 and a zero row ||g_n|| <= lambda. Returns the largest
 * violation.
 */
function kktViolation(aRe: Float32Array, aIm: Float32Array, yRe: ArrayLike<number>, yIm: ArrayLike<number>, xRe: ArrayLike<number>, xIm: ArrayLike<number>, lambda: number): number {
  const rr = new Float64Array(L * M);
  const ri = new Float64Array(L * M);
  for (let l = 0; l < L; l++)
    for (let m = 0; m < M; m++) {
      let er = -yRe[l * M + m];
      let ei = -yIm[l * M + m];
      for (let n = 0; n < N; n++) {
        er += aRe[l * N + n] * xRe[n * M + m] - aIm[l * N + n] * xIm[n * M + m];
        ei += aRe[l * N + n] * xIm[n * M + m] + aIm[l * N + n] * xRe[n * M + m];
      }
      rr[l * M + m] = er;
      ri[l * M + m] = ei;
    }
  let worst = 0;
  for (let n = 0; n < N; n++) {
    const g: number[] = [];
    let xn = 0;
    for (let m = 0; m < M; m++) {
      let gr = 0;
      let gi = 0;
      for (let l = 0; l < L; l++) {
        gr += aRe[l * N + n] * rr[l * M + m] + aIm[l * N + n] * ri[l * M + m];
        gi += aRe[l * N + n] * ri[l * M + m] - aIm[l * N + n] * rr[l * M + m];
      }
      g.push(gr, gi);
      xn += xRe[n * M + m] ** 2 + xIm[n * M + m] ** 2;
    }
    const norm = Math.sqrt(xn);
    if (norm > 1e-6) {
      let v = 0;
      for (let m = 0; m < M; m++) v += (g[2 * m] + (lambda * xRe[n * M + m]) / norm) ** 2 + (g[2 * m + 1] + (lambda * xIm[n * M + m]) / norm) ** 2;
      worst = Math.max(worst, Math.sqrt(v));
    } else {
      worst = Math.max(worst, Math.hypot(...g) - lambda);
    }
  }
  return worst;
}

describe('detector:group-lasso', () => {
  const { pilots, y } = problem('a');
  const aRe = pilots.re.dataSync() as Float32Array;
  const aIm = pilots.im.dataSync() as Float32Array;
  const per = L * M;
  const trialY = (b: number) => [y.re.dataSync().subarray(b * per, (b + 1) * per), y.im.dataSync().subarray(b * per, (b + 1) * per)] as const;
  after(() => tf.dispose([pilots.re, pilots.im, y.re, y.im]));

  for (const lambda of [0.05, 0.2]) {
    it(`ADMM (Algorithm 1) reaches the GROUP LASSO optimum (KKT conditions) and agrees with BCD, lambda = ${lambda}`, () => {
      const x = groupLassoAdmm(y, pilots, lambda, 1, 3000);
      const [xr, xi] = [x.re.dataSync(), x.im.dataSync()];
      for (let b = 0; b < B; b++) {
        const [yr, yi] = trialY(b);
        const bcd = groupLassoBcd(aRe, aIm, yr, yi, L, N, M, lambda, 2000);
        expect(kktViolation(aRe, aIm, yr, yi, bcd.re, bcd.im, lambda), 'BCD KKT').to.be.below(1e-6);
        const [ar, ai] = [xr.subarray(b * N * M, (b + 1) * N * M), xi.subarray(b * N * M, (b + 1) * N * M)];
        expect(kktViolation(aRe, aIm, yr, yi, ar, ai, lambda), 'ADMM KKT').to.be.below(2e-3);
        const fBcd = groupLassoObjective(aRe, aIm, yr, yi, bcd.re, bcd.im, L, N, M, lambda);
        const fAdmm = groupLassoObjective(aRe, aIm, yr, yi, ar, ai, L, N, M, lambda);
        expect(Math.abs(fAdmm - fBcd) / fBcd, `objective ${fAdmm} vs ${fBcd}`).to.be.below(1e-4);
        for (let i = 0; i < N * M; i++) {
          expect(ar[i]).to.be.closeTo(bcd.re[i], 2e-3);
          expect(ai[i]).to.be.closeTo(bcd.im[i], 2e-3);
        }
        // the support is recovered at this SNR
        const rows = Array.from({ length: N }, (_, n) => Math.hypot(...Array.from({ length: M }, (_, m) => Math.hypot(bcd.re[n * M + m], bcd.im[n * M + m]))));
        expect(rows.filter((r) => r > 0.3).length).to.be.at.least(3);
      }
      tf.dispose([x.re, x.im]);
    });
  }

  it('BCD never increases the objective from sweep to sweep', () => {
    const [yr, yi] = trialY(0);
    let prev = Infinity;
    for (const sweeps of [1, 2, 3, 5, 10, 30]) {
      const x = groupLassoBcd(aRe, aIm, yr, yi, L, N, M, 0.1, sweeps);
      const f = groupLassoObjective(aRe, aIm, yr, yi, x.re, x.im, L, N, M, 0.1);
      expect(f).to.be.at.most(prev + 1e-12);
      prev = f;
    }
  });

  it('detector: both solvers give the same channel estimate and activity; lambda large enough gives X = 0', () => {
    const run = (p: Partial<GroupLassoParams>) => {
      const params: GroupLassoParams = { solver: 'admm', iterations: 1500, lambda: 0.1, rho: 1, threshold: { rule: 'fixed', value: 0.1 }, ...p };
      const est = new GroupLassoDetector(params, scenario).detect({ y, codebook: pilots });
      const out = { re: Array.from(est.channel?.re.dataSync() ?? []), act: Array.from(est.activity?.dataSync() ?? []) };
      tf.dispose([est.channel?.re, est.channel?.im, est.activity, est.activityScore] as tf.Tensor[]);
      return out;
    };
    const admm = run({});
    const bcd = run({ solver: 'bcd', iterations: 500 });
    admm.re.forEach((v, i) => expect(v).to.be.closeTo(bcd.re[i], 5e-3));
    expect(admm.act).to.deep.equal(bcd.act);
    expect(admm.act.reduce((s, a) => s + a, 0)).to.be.greaterThan(0);
    expect(run({ lambda: 100, iterations: 20 }).re.every((v) => v === 0)).to.equal(true);
  });
});
