import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { RandomStreams, type Scenario } from '@gfra/core';
import { denseParameterCount, denseWeightCount, mseFairLoss, mseFairProblems, perDeviceMse, SeededDenseStack, symbolEstimate, type MseFairParams } from './mse-fair';

const A = Math.SQRT1_2;
const params = (p: Partial<MseFairParams> = {}): MseFairParams => ({ betaMse: 1, betaFair: 1, fairnessReference: 'mean', ...p });

/** Scalar value of a tensor, freeing it. */
function value(t: tf.Tensor): number {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

describe('algorithms/mse-fair', () => {
  // B = 2 trials, N = 2 devices. Targets x = a q(m):
  //   trial 0: device 0 active, m = 0 -> ( A,  A); device 1 inactive -> 0
  //   trial 1: device 0 active, m = 2 -> (-A,  A); device 1 active, m = 1 -> (A, -A)
  // Estimates and squared errors:
  //   trial 0: device 0 (A, 0)           -> |(0, -A)|^2 = 0.5;  device 1 (0.3, -0.4) -> 0.25 (target 0)
  //   trial 1: device 0 (0, A)           -> |(A, 0)|^2  = 0.5;  device 1 (A, 1 - A)  -> |(0, 1)|^2 = 1
  // L = [(0.5 + 0.5)/2, (0.25 + 1)/2] = [0.5, 0.625], L_MSE = 1.125, mean 0.5625, sum 1.125.
  const truth = () => ({ activity: tf.tensor2d([[1, 0], [1, 1]]), message: tf.tensor2d([[0, 3], [2, 1]], [2, 2], 'int32') });
  const estimate = () => ({ re: tf.tensor2d([[A, 0.3], [0, A]]), im: tf.tensor2d([[0, -0.4], [A, 1 - A]]) });

  it('per-device MSE counts real and imaginary parts and inactive samples (target 0)', () => {
    const [t, e] = [truth(), estimate()];
    const l = perDeviceMse(e, t);
    expect(l.shape).to.deep.equal([2]);
    const v = Array.from(l.dataSync());
    expect(v[0]).to.be.closeTo(0.5, 1e-6);
    expect(v[1]).to.be.closeTo(0.625, 1e-6);
    tf.dispose([l, t.activity, t.message, e.re, e.im]);
  });

  it('matches the hand computation of beta_MSE L_MSE + beta_fair sum lambda_n |L_n - L_ref|', () => {
    const [t, e] = [truth(), estimate()];
    // mean reference: gaps |0.5 - 0.5625| = |0.625 - 0.5625| = 0.0625
    expect(value(mseFairLoss(e, t, params({ lambda: [1, 2] })))).to.be.closeTo(1.125 + 0.0625 + 2 * 0.0625, 1e-6);
    expect(value(mseFairLoss(e, t, params()))).to.be.closeTo(1.125 + 0.125, 1e-6); // lambda defaults to ones
    expect(value(mseFairLoss(e, t, params({ lambda: [1, 2], betaMse: 2, betaFair: 0.5 })))).to.be.closeTo(2 * 1.125 + 0.5 * 0.1875, 1e-6);
    expect(value(mseFairLoss(e, t, params({ lambda: [1, 2], betaFair: 0 })))).to.be.closeTo(1.125, 1e-6);
    // sum reference: gaps 0.625 and 0.5, i.e. sum_n (Lambda - lambda_n) L_n = 2 * 0.5 + 1 * 0.625
    expect(value(mseFairLoss(e, t, params({ lambda: [1, 2], fairnessReference: 'sum' })))).to.be.closeTo(1.125 + 1.625, 1e-6);
    tf.dispose([t.activity, t.message, e.re, e.im]);
  });

  it('gives an inactive device zero loss only for a zero estimate, and an active one zero only at its symbol', () => {
    const t = { activity: tf.tensor2d([[0, 1]]), message: tf.tensor2d([[3, 3]], [1, 2], 'int32') };
    const atSymbols = { re: tf.tensor2d([[-A, -A]]), im: tf.tensor2d([[-A, -A]]) };
    const l = perDeviceMse(atSymbols, t);
    expect(Array.from(l.dataSync()).map((x) => Number(x.toFixed(6)))).to.deep.equal([1, 0]);
    const zeroForInactive = { re: tf.tensor2d([[0, -A]]), im: tf.tensor2d([[0, -A]]) };
    expect(value(mseFairLoss(zeroForInactive, t, params()))).to.be.closeTo(0, 1e-7);
    tf.dispose([l, t.activity, t.message, atSymbols.re, atSymbols.im, zeroForInactive.re, zeroForInactive.im]);
  });

  it('is differentiable with respect to the estimate (d sum-MSE / d x̂ = 2 (x̂ - x) / B)', () => {
    const [t, e] = [truth(), estimate()];
    const g = tf.grads((re: tf.Tensor, im: tf.Tensor) => mseFairLoss({ re, im }, t, params({ betaFair: 0 })))([e.re, e.im]);
    // trial 0, device 1 (inactive): 2 * 0.3 / 2
    expect(g[0].arraySync()).to.satisfy((m: number[][]) => Math.abs(m[0][1] - 0.3) < 1e-6);
    tf.dispose([...g, t.activity, t.message, e.re, e.im]);
  });

  it('checks that lambda has one weight per device', () => {
    const s: Scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };
    expect(mseFairProblems(params({ lambda: [1, 1, 1, 2, 2, 2] }), s)).to.deep.equal([]);
    expect(mseFairProblems(params({ lambda: [1, 2] }), s)[0].path).to.equal('loss.lambda');
    const [t, e] = [truth(), estimate()];
    expect(() => mseFairLoss(e, t, params({ lambda: [1, 2, 3] }))).to.throw(/lambda has 3 values, but the estimate has 2 devices/);
    tf.dispose([t.activity, t.message, e.re, e.im]);
  });

  it('counts dense weights: the paper\'s FCNN (28 inputs) has 1 404 160, one per-resource SICNN module 336 128 + 1 282 biases', () => {
    expect(denseWeightCount([28, 384, 1024, 768, 256, 64, 12])).to.equal(1_404_160);
    expect(denseWeightCount([64, 128, 256, 512, 256, 128, 2])).to.equal(336_128);
    expect(denseParameterCount([64, 128, 256, 512, 256, 128, 2])).to.equal(337_410);
    expect(6 * denseParameterCount([64, 128, 256, 512, 256, 128, 2])).to.equal(2_024_460);
    expect(denseWeightCount([5])).to.equal(0);
  });

  it('draws successive stacks from one generator (different weights), Glorot-uniform or He-normal', () => {
    const g = new RandomStreams(['t']).onceGenerator('weights');
    const a = new SeededDenseStack([40, 30, 2], g, 'glorot-uniform', 'a/');
    const b = new SeededDenseStack([40, 30, 2], g, 'glorot-uniform', 'b/');
    expect(Object.keys(a.variables())).to.deep.equal(['a/dense0/kernel', 'a/dense0/bias', 'a/output/kernel', 'a/output/bias']);
    const ka = Array.from(a.variables()['a/dense0/kernel'].dataSync());
    const kb = Array.from(b.variables()['b/dense0/kernel'].dataSync());
    expect(ka).to.not.deep.equal(kb);
    expect(Math.max(...ka.map(Math.abs))).to.be.at.most(Math.sqrt(6 / 70));
    const he = new SeededDenseStack([400, 300], new RandomStreams(['t']).onceGenerator('weights'), 'he-normal');
    const k = Array.from(he.variables()['output/kernel'].dataSync());
    const variance = k.reduce((s, x) => s + x * x, 0) / k.length;
    // 120 000 draws: the sample variance's relative SE is sqrt(2 / n) = 0.4 %; allow 2 %
    expect(variance).to.be.closeTo(2 / 400, 0.02 * (2 / 400));
    [a, b, he].forEach((s) => s.dispose());
  });

  it('builds the estimate from soft symbols: |x̂|, |x̂| > threshold, QPSK slicer', () => {
    const est = tf.tidy(() => {
      const e = symbolEstimate(tf.tensor2d([[0.3, -1]]), tf.tensor2d([[0.3, 0.1]]), 0.5);
      return [e.activityScore, e.activity, e.message] as tf.Tensor[];
    });
    expect(Array.from(est[0].dataSync())[0]).to.be.closeTo(Math.hypot(0.3, 0.3), 1e-6);
    expect(Array.from(est[1].dataSync())).to.deep.equal([0, 1]);
    expect(Array.from(est[2].dataSync())).to.deep.equal([0, 2]);
    expect(est[2].dtype).to.equal('int32');
    tf.dispose(est);
  });
});
