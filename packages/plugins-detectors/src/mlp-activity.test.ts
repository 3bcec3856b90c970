import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { RandomStreams, type Scenario } from '@gfra/core';
import { MlpActivityDetector, mlpHiddenWidth, type MlpActivityParams } from './mlp-activity';

const params = (p: Partial<MlpActivityParams>): MlpActivityParams => ({ input: 'covariance', hiddenLayers: 2, scaleByNoise: true, threshold: 0.5, ...p });

describe('detector:mlp-activity', () => {
  it('feeds [vec Re S; vec Im S] / sigma^2 of S = Y Y^H / M (checked with an identity output layer)', () => {
    // L = 2, M = 2, N = 2 L^2 = 8: no hidden layer, output kernel = I, so logits = features
    const s: Scenario = { numDevices: 8, numAntennas: 2, sequenceLength: 2, bitsPerDevice: 0 };
    const det = new MlpActivityDetector(params({ hiddenLayers: 0 }), s, new RandomStreams(['m']));
    det.trainableVariables()['output/kernel'].assign(tf.eye(8));
    // Y = [[1+1i, 2], [0, -1i]]  (rows l, columns m)
    const y = { re: tf.tensor3d([[[1, 2], [0, 0]]]), im: tf.tensor3d([[[1, 0], [0, -1]]]) };
    // S = Y Y^H / 2: S00 = (2 + 4)/2 = 3; S01 = ((1+i)*0 + 2*conj(-i))/2 = i; S10 = -i; S11 = 1/2
    const logits = det.logits({ y, noiseVar: 0.5 });
    const expected = [3, 0, 0, 0.5, 0, 1, -1, 0].map((v) => v / 0.5);
    Array.from(logits.dataSync()).forEach((v, i) => expect(v).to.be.closeTo(expected[i], 1e-6));
    const est = det.detect({ y, noiseVar: 0.5 });
    expect(Array.from(est.activity?.dataSync() ?? [])).to.deep.equal(expected.map((v) => (1 / (1 + Math.exp(-v)) > 0.5 ? 1 : 0)));
    tf.dispose([logits, y.re, y.im, est.activity as tf.Tensor, est.activityScore as tf.Tensor]);
    det.dispose();
  });

  it('has layers [2L^2 -> h -> h -> N] with h = max(2 L^2, 2 N), Glorot-uniform kernels from its seed, zero biases', () => {
    const s: Scenario = { numDevices: 30, numAntennas: 4, sequenceLength: 5, bitsPerDevice: 0 };
    expect(mlpHiddenWidth(params({}), s)).to.equal(60);
    const det = new MlpActivityDetector(params({}), s, new RandomStreams(['m']));
    const shapes = Object.fromEntries(Object.entries(det.trainableVariables()).map(([n, v]) => [n, v.shape]));
    expect(shapes).to.deep.equal({
      'dense0/kernel': [50, 60],
      'dense0/bias': [60],
      'dense1/kernel': [60, 60],
      'dense1/bias': [60],
      'output/kernel': [60, 30],
      'output/bias': [30],
    });
    const k = Array.from(det.trainableVariables()['dense0/kernel'].dataSync());
    const limit = Math.sqrt(6 / 110);
    expect(Math.max(...k.map(Math.abs))).to.be.at.most(limit);
    const mean = k.reduce((a, b) => a + b, 0) / k.length;
    expect(mean).to.be.closeTo(0, (5 * limit) / Math.sqrt(3 * k.length)); // 5 SE of U(-a, a)
    expect(Array.from(det.trainableVariables()['output/bias'].dataSync()).every((x) => x === 0)).to.equal(true);
    const again = new MlpActivityDetector(params({}), s, new RandomStreams(['m']));
    expect(Array.from(again.trainableVariables()['dense0/kernel'].dataSync())).to.deep.equal(k);
    det.dispose();
    again.dispose();
  });

  it('input "received" uses [vec Re Y; vec Im Y] / sigma (2 L M features)', () => {
    const s: Scenario = { numDevices: 4, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 0 };
    const det = new MlpActivityDetector(params({ input: 'received', hiddenLayers: 0 }), s, new RandomStreams(['m']));
    det.trainableVariables()['output/kernel'].assign(tf.eye(4));
    const y = { re: tf.tensor3d([[[1], [2]]]), im: tf.tensor3d([[[3], [4]]]) };
    const logits = det.logits({ y, noiseVar: 4 });
    expect(Array.from(logits.dataSync())).to.deep.equal([0.5, 1, 1.5, 2]);
    tf.dispose([logits, y.re, y.im]);
    det.dispose();
  });
});
