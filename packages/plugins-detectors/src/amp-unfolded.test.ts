import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { cx, RandomStreams, type ComplexTensor, type ObservationWith, type Scenario } from '@gfra/core';
import { MmvAmpDetector } from './mmv-amp';
import { AmpUnfoldedDetector, type AmpUnfoldedParams } from './amp-unfolded';

const [L, N, M] = [12, 40, 4];
const scenario: Scenario = { numDevices: N, numAntennas: M, sequenceLength: L, bitsPerDevice: 0 };
const params = (p: Partial<AmpUnfoldedParams> = {}): AmpUnfoldedParams => ({
  blocks: 8,
  activityProb: 0.1,
  trainPriors: true,
  correctionLayers: 0,
  residual: true,
  threshold: { rule: 'beta', fraction: 0.5 },
  ...p,
});

/** Unit-norm Gaussian pilots, two-class activity (0.15 / 0.05), beta = L, noise CN(0, 0.1). */
function batch(key: string, B: number): { x: ComplexTensor; obs: ObservationWith<'codebook' | 'largeScaleFading' | 'activityProbability' | 'noiseVariance'> } {
  const r = new RandomStreams(['amp-unfolded.test', key]);
  return cx.tidy(() => {
    const pilots = new RandomStreams(['amp-unfolded.test', 'pilots']).complexNormalOnce('pilots', [L, N], 1 / L);
    const trials = { first: 0, count: B };
    const eps = tf.tensor1d(Array.from({ length: N }, (_, n) => (n < N / 2 ? 0.15 : 0.05)));
    const mask = tf.expandDims(tf.cast(tf.less(r.uniform(trials, 'a', [N]), eps), 'float32'), 2);
    const h = r.complexNormal(trials, 'h', [N, M], L);
    const x = { re: tf.mul(h.re, mask), im: tf.mul(h.im, mask) };
    const ax = cx.transpose(cx.reshape(cx.matmul(pilots, cx.reshape(cx.transpose(x, [1, 0, 2]), [N, B * M])), [L, B, M]), [1, 0, 2]);
    const y = cx.add(ax, r.complexNormal(trials, 'w', [L, M], 0.1));
    return { x, obs: { y, codebook: pilots, largeScaleFading: tf.fill([B, N], L) as tf.Tensor2D, activityProbability: tf.fill([N], 0.1) as tf.Tensor1D, noiseVar: 0.1 } };
  });
}

const free = (...ts: (tf.Tensor | undefined)[]) => tf.dispose(ts.filter((t): t is tf.Tensor => t !== undefined));

describe('detector:amp-unfolded (AMP-NN)', () => {
  it('V = 0 with eps(n) = p reproduces mmv-amp (residual tau, matrix Onsager, U iterations) to float32 rounding', () => {
    const { x, obs } = batch('exact', 5);
    const amp = new MmvAmpDetector({ maxIterations: 8, noiseEstimate: 'residual', onsager: 'matrix', threshold: { rule: 'map' } }, scenario);
    const unf = new AmpUnfoldedDetector(params(), scenario, new RandomStreams(['w']));
    const a = amp.detect(obs);
    const b = unf.detect(obs);
    // mmv-amp runs the host kernel (float32 BLAS products), amp-unfolded the tfjs iteration: the
    // same operations in another order. Per iteration each entry rounds sums of <= N + L terms,
    // ~ sqrt(N + L) u relative (u = 2^-24); 8 iterations accumulate at most 8 times that, 4e-6
    // at N + L = 52; we allow 2e-5 on ||X_unfolded - X_amp||_F / ||X_amp||_F.
    const flat = (e: typeof a) => [...Array.from(e.channel?.re.dataSync() ?? []), ...Array.from(e.channel?.im.dataSync() ?? [])];
    const [pa, pb] = [flat(a), flat(b)];
    const diff = Math.sqrt(pa.reduce((s, v, i) => s + (v - pb[i]) ** 2, 0) / pa.reduce((s, v) => s + v * v, 0));
    expect(diff, 'relative difference of the channel estimates').to.be.at.most(2e-5);
    unf.priors().forEach((e) => expect(e).to.be.closeTo(0.1, 1e-6));
    free(x.re, x.im, obs.y.re, obs.y.im, obs.codebook?.re, obs.codebook?.im, obs.largeScaleFading, obs.activityProbability);
    free(a.channel?.re, a.channel?.im, a.activity, a.activityScore, a.message, b.channel?.re, b.channel?.im, b.activity, b.activityScore);
    unf.dispose();
  });

  it('a short training of eps(n) + residual correction lowers the training MSE and moves eps1/eps2 above 1 (p1/p2 = 3)', () => {
    const train = batch('train', 128);
    const unf = new AmpUnfoldedDetector(params({ correctionLayers: 3 }), scenario, new RandomStreams(['w']));
    const mse = () => tf.tidy(() => tf.mean(cx.abs2(cx.sub(train.x, unf.estimate(train.obs)))).dataSync()[0]);
    const before = mse();
    const opt = tf.train.adam(1e-2);
    const vars = Object.values(unf.trainableVariables());
    for (let step = 0; step < 30; step++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.mean(cx.abs2(cx.sub(train.x, unf.estimate(train.obs)))) as tf.Scalar, vars);
        opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
      });
    }
    const after = mse();
    expect(after, `training MSE ${before} -> ${after}`).to.be.below(0.9 * before);
    const eps = unf.priors();
    const mean = (v: number[]) => v.reduce((s, e) => s + e, 0) / v.length;
    expect(mean(eps.slice(0, N / 2)) / mean(eps.slice(N / 2)), 'eps1 / eps2').to.be.above(1);
    free(train.x.re, train.x.im, train.obs.y.re, train.obs.y.im, train.obs.codebook?.re, train.obs.codebook?.im, train.obs.largeScaleFading, train.obs.activityProbability);
    opt.dispose();
    unf.dispose();
  });
});
