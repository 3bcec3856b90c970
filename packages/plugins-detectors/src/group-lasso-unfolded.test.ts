import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { cx, RandomStreams, type ComplexTensor, type ObservationWith, type Scenario } from '@gfra/core';
import { GroupLassoDetector } from './group-lasso';
import { GroupLassoUnfoldedDetector, type GroupLassoUnfoldedParams } from './group-lasso-unfolded';

const [L, N, M] = [8, 20, 2];
const scenario: Scenario = { numDevices: N, numAntennas: M, sequenceLength: L, bitsPerDevice: 0 };
const params = (p: Partial<GroupLassoUnfoldedParams> = {}): GroupLassoUnfoldedParams => ({
  blocks: 10,
  lambda: 0.3,
  rho: 1,
  trainTunables: true,
  correctionLayers: 0,
  residual: true,
  threshold: { rule: 'fixed', value: 0.5 },
  ...p,
});

/** Unit-norm Gaussian pilots, i.i.d. activity 0.15, channels CN(0, 4), noise CN(0, 0.1): X and the observation. */
function batch(key: string, B: number): { x: ComplexTensor; obs: ObservationWith<'codebook'> } {
  const r = new RandomStreams(['group-lasso-unfolded.test', key]);
  return cx.tidy(() => {
    const pilots = new RandomStreams(['group-lasso-unfolded.test', 'pilots']).complexNormalOnce('pilots', [L, N], 1 / L);
    const trials = { first: 0, count: B };
    const mask = tf.expandDims(tf.cast(tf.less(r.uniform(trials, 'a', [N]), 0.15), 'float32'), 2);
    const h = r.complexNormal(trials, 'h', [N, M], 4);
    const x = { re: tf.mul(h.re, mask), im: tf.mul(h.im, mask) };
    const ax = cx.transpose(cx.reshape(cx.matmul(pilots, cx.reshape(cx.transpose(x, [1, 0, 2]), [N, B * M])), [L, B, M]), [1, 0, 2]);
    const y = cx.add(ax, r.complexNormal(trials, 'w', [L, M], 0.1));
    return { x, obs: { y, codebook: pilots } };
  });
}

describe('detector:group-lasso-unfolded (GL-NN)', () => {
  // group-lasso runs ADMM in the host kernel (BLAS products, float64 row work), the unrolled
  // network in tfjs: the same iterates up to float32 rounding. Bound: 10 iterations x 2 products
  // of <= 40 terms, each ~ sqrt(40) u = 4e-7 relative: 1e-5 of the largest entry.
  it('V = 0 with the initial tunables reproduces group-lasso (ADMM, U iterations) to float32 rounding', () => {
    const { x, obs } = batch('exact', 4);
    const gl = new GroupLassoDetector({ solver: 'admm', iterations: 10, lambda: 0.3, rho: 1.5, threshold: { rule: 'fixed', value: 0.5 } }, scenario);
    const unf = new GroupLassoUnfoldedDetector(params({ rho: 1.5 }), scenario, new RandomStreams(['w']));
    const a = gl.detect(obs);
    const b = unf.detect(obs);
    for (const part of ['re', 'im'] as const) {
      const want = Array.from(a.channel?.[part].dataSync() ?? []);
      const got = Array.from(b.channel?.[part].dataSync() ?? []);
      expect(got.length).to.equal(want.length).and.to.be.above(0);
      const scale = Math.max(...want.map(Math.abs));
      got.forEach((v, i) => expect(v, `${part}[${i}]`).to.be.closeTo(want[i], 1e-5 * scale));
    }
    expect(Array.from(b.activity?.dataSync() ?? [])).to.deep.equal(Array.from(a.activity?.dataSync() ?? []));
    expect(unf.tunables()).to.deep.equal([0.3, 1.5]);
    tf.dispose([x.re, x.im, obs.y.re, obs.y.im, obs.codebook?.re, obs.codebook?.im, a.channel?.re, a.channel?.im, a.activity, a.activityScore, b.channel?.re, b.channel?.im, b.activity, b.activityScore] as tf.Tensor[]);
    unf.dispose();
  });

  it('a residual correction starts at the unrolled ADMM, and a short training of tunables + correction lowers the training loss (MSE)', () => {
    const train = batch('train', 256);
        const unf = new GroupLassoUnfoldedDetector(params({ correctionLayers: 3, hiddenWidth: 40 }), scenario, new RandomStreams(['w']));
    const plain = new GroupLassoUnfoldedDetector(params({ trainTunables: false }), scenario, new RandomStreams(['w']));
    const mse = (d: GroupLassoUnfoldedDetector, data: typeof train) => tf.tidy(() => tf.mean(cx.abs2(cx.sub(data.x, d.estimate(data.obs)))).dataSync()[0]);
    const before = mse(unf, train);
    expect(before).to.be.closeTo(mse(plain, train), 1e-6);
    const opt = tf.train.adam(3e-3);
    const vars = Object.values(unf.trainableVariables());
    for (let step = 0; step < 40; step++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.mean(cx.abs2(cx.sub(train.x, unf.estimate(train.obs)))) as tf.Scalar, vars);
        opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
      });
    }
    const after = mse(unf, train);
    expect(after, `training MSE ${before} -> ${after}`).to.be.below(0.9 * before);
    for (const d of [train]) tf.dispose([d.x.re, d.x.im, d.obs.y.re, d.obs.y.im, d.obs.codebook?.re, d.obs.codebook?.im] as tf.Tensor[]);
    opt.dispose();
    unf.dispose();
    plain.dispose();
  });

  it('the gradient of the loss in the tunables (log lambda, log rho) matches central finite differences, per trial (float32 bound + truncation estimate)', () => {
    // One trial per batch: the loss is piecewise smooth, with a kink wherever a row of an ADMM
    // iterate crosses the group soft threshold; with many trials these kinks are dense in the
    // tunables and no finite difference resolves the pointwise derivative that autodiff returns.
    for (const key of ['gradient-0', 'gradient-1', 'gradient-2']) {
      const train = batch(key, 1);
      const unf = new GroupLassoUnfoldedDetector(params(), scenario, new RandomStreams(['w']));
      const vars = unf.trainableVariables();
      const loss = () => tf.tidy(() => tf.mean(cx.abs2(cx.sub(train.x, unf.estimate(train.obs)))) as tf.Scalar);
      const value = (): number => {
        const l = loss();
        const v = l.dataSync()[0];
        l.dispose();
        return v;
      };
      const tunables = [vars['tunables/logLambda'], vars['tunables/logRho']];
      const auto = tf.tidy(() => {
        const { grads } = tf.variableGrads(loss, tunables);
        return tunables.map((v) => grads[v.name].dataSync()[0]);
      });
      const L0 = value();
      // Tolerance. The loss is evaluated in float32 through U = 10 unrolled ADMM blocks and a mean
      // over N M = 40 entries: about 25 roundings per block (a sum of <= 20 terms, a few
      // elementwise ops) on the longest chain, 250 in all, which accumulate like a random walk,
      // and the ADMM iteration is non-expansive, so it does not amplify them: relative error
      // eps_L ~ sqrt(250) u ~ 16 u. A central difference with step h is then off by about
      // eps_L |L| / h (rounding), plus its
      // truncation error c h^p (p = 2 where smooth, p = 1 across a kink), which is at most
      // |D(2h) - D(h)| = c h^p (2^p - 1). The autodiff gradient carries eps_L of its own.
      const h = 1e-3;
      const epsL = 16 * 2 ** -24;
      tunables.forEach((v, i) => {
        const central = (step: number) => {
          v.assign(tf.scalar(step));
          const up = value();
          v.assign(tf.scalar(-step));
          const down = value();
          v.assign(tf.scalar(0));
          return (up - down) / (2 * step);
        };
        const dh = central(h);
        const d2h = central(2 * h);
        const tol = (epsL * Math.abs(L0)) / h + Math.abs(d2h - dh) + epsL * Math.abs(auto[i]);
        const label = `${key}, ${['log lambda', 'log rho'][i]} (loss ${L0}, D(h) ${dh}, D(2h) ${d2h}, tolerance ${tol})`;
        expect(Math.abs(dh), `${label}: the derivative is resolved`).to.be.above(3 * tol);
        expect(auto[i], `${label}: autodiff vs central difference`).to.be.closeTo(dh, tol);
      });
      tf.dispose([train.x.re, train.x.im, train.obs.y.re, train.obs.y.im, train.obs.codebook?.re, train.obs.codebook?.im] as tf.Tensor[]);
      unf.dispose();
    }
  });
});
