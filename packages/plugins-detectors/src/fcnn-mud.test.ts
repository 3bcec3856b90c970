import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { describePluginContract } from '@gfra/core/testing';
import { cx, qpskSymbols, RandomStreams, type ComplexTensor, type Scenario, type TrialRange } from '@gfra/core';
import { denseParameterCount, denseWeightCount, mseFairLoss } from './algorithms/mse-fair';
import { FcnnMudDetector, fcnnWidths, type FcnnMudParams } from './fcnn-mud';

const params = (p: Partial<FcnnMudParams> = {}): FcnnMudParams => ({
  hidden: [32, 32],
  csi: 'block',
  init: 'glorot-uniform',
  activityThreshold: 0.5,
  loss: { betaMse: 1, betaFair: 1, fairnessReference: 'mean' },
  ...p,
});

function disposeAll(x: unknown): void {
  if (x instanceof tf.Tensor) x.dispose();
  else if (x !== null && typeof x === 'object') Object.values(x).forEach(disposeAll);
}

/** A synthetic code-domain NOMA batch (M = 1, block fading, fixed unit-norm signatures sig [L, N]). */
function nomaBatch(rnd: RandomStreams, trials: TrialRange, s: Scenario, sig: ComplexTensor, p: number, noiseVar: number) {
  return cx.tidy(() => {
    const { numDevices: N, sequenceLength: L } = s;
    const B = trials.count;
    const activity = tf.cast(tf.less(rnd.uniform(trials, 'activity', [N]), p), 'float32') as tf.Tensor2D;
    const message = tf.cast(tf.floor(tf.mul(rnd.uniform(trials, 'message', [N]), 4)), 'int32') as tf.Tensor2D;
    const x = cx.scale(qpskSymbols(message), activity);
    const channel = rnd.complexNormal(trials, 'h', [N, 1]);
    const g = cx.mul(cx.reshape(channel, [B, N, 1]), cx.reshape(cx.transpose(sig), [1, N, L]));
    const clean = cx.sum(cx.mul(g, cx.reshape(x, [B, N, 1])), 1);
    const y = cx.reshape(cx.add(clean, rnd.complexNormal(trials, 'noise', [L], noiseVar)), [B, L, 1]);
    return { y, channel, truth: { activity, message } };
  });
}

describe('detector:fcnn-mud', () => {
  it('feeds [Re y, Im y, Re h, Im h] and reads x̂_n = v_n + j v_{N+n} (checked with a linear network)', () => {
    // N = 2, L = 2, M = 1, block: inputs y 0..3, Re h 4..5, Im h 6..7; outputs [re_0, re_1, im_0, im_1]
    const s: Scenario = { numDevices: 2, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 2 };
    const det = new FcnnMudDetector(params({ hidden: [] }), s, new RandomStreams(['t']));
    const k = tf.buffer([8, 4]);
    [[5, 0], [2, 1], [6, 2], [1, 3]].forEach(([i, o]) => k.set(1, i, o));
    det.trainableVariables()['output/kernel'].assign(k.toTensor());
    const obs = {
      y: { re: tf.tensor3d([[[1], [2]]]), im: tf.tensor3d([[[3], [4]]]) },
      channel: { re: tf.tensor3d([[[5], [6]]]), im: tf.tensor3d([[[7], [8]]]) },
    };
    const est = det.detect(obs);
    expect(Array.from(est.symbols?.re.dataSync() ?? [])).to.deep.equal([6, 3]); // Re h_1, Im y_0
    expect(Array.from(est.symbols?.im.dataSync() ?? [])).to.deep.equal([7, 2]); // Im h_0, Re y_1
    expect(Array.from(est.message?.dataSync() ?? [])).to.deep.equal([0, 0]);
    expect(Array.from(est.activity?.dataSync() ?? [])).to.deep.equal([1, 1]);
    disposeAll([obs, est]);
    det.dispose();
  });

  it('has the paper\'s layer sizes: 1 404 160 weights with its 28 inputs, 1 401 088 with [y; h] (20 inputs), and that many variables', () => {
    const s: Scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };
    const hidden = [384, 1024, 768, 256, 64];
    expect(denseWeightCount([28, ...hidden, 12])).to.equal(1_404_160);
    const widths = fcnnWidths(params({ hidden }), s);
    expect(widths).to.deep.equal([20, ...hidden, 12]);
    expect(denseWeightCount(widths)).to.equal(1_401_088);
    const det = new FcnnMudDetector(params({ hidden }), s, new RandomStreams(['count']));
    const vars = det.trainableVariables();
    expect(Object.values(vars).reduce((n, v) => n + v.size, 0)).to.equal(denseParameterCount(widths));
    expect(Object.keys(vars)).to.deep.equal(['dense0/kernel', 'dense0/bias', 'dense1/kernel', 'dense1/bias', 'dense2/kernel', 'dense2/bias', 'dense3/kernel', 'dense3/bias', 'dense4/kernel', 'dense4/bias', 'output/kernel', 'output/bias']);
    det.dispose();
    expect(fcnnWidths(params({ hidden, csi: 'per-resource' }), s)[0]).to.equal(8 + 2 * 6 * 4);
  });

  it('rejects channel state that does not match csi, naming the param', () => {
    const s: Scenario = { numDevices: 2, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 2 };
    const det = new FcnnMudDetector(params({ csi: 'per-resource' }), s, new RandomStreams(['t']));
    const obs = { y: cx.complex(tf.zeros([1, 2, 1]), tf.zeros([1, 2, 1])), channel: cx.complex(tf.zeros([1, 2, 1]), tf.zeros([1, 2, 1])) };
    expect(() => det.detect(obs)).to.throw(/param csi is "per-resource".*set csi to "block"/);
    disposeAll(obs);
    det.dispose();
  });

  it('learns: 300 Adam steps at 20 dB (N = 3, L = 2, block fading, hidden [32, 32]) at least halve the mse-fair loss', function () {
    this.timeout(30000);
    const s: Scenario = { numDevices: 3, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 2 };
    const rnd = new RandomStreams(['train', 1]);
    const sig = tf.tidy(() => {
      const z = rnd.complexNormalOnce('signatures', [2, 3]);
      const norm = tf.sqrt(tf.sum(cx.abs2(z), 0, true));
      return { re: tf.div(z.re, norm), im: tf.div(z.im, norm) };
    });
    const det = new FcnnMudDetector(params(), s, rnd);
    const lossParams = params().loss;
    const evalBatch = nomaBatch(rnd.child('eval'), { first: 0, count: 1000 }, s, sig, 0.7, 0.01 / 2);
    const evalLoss = () => tf.tidy(() => mseFairLoss(det.detect(evalBatch).symbols as ComplexTensor, evalBatch.truth, lossParams).dataSync()[0]);
    const zero = tf.tidy(() => mseFairLoss(cx.fromReal(tf.zerosLike(evalBatch.truth.activity)), evalBatch.truth, lossParams).dataSync()[0]);
    const before = evalLoss();
    const optimizer = tf.train.adam(0.01);
    const vars = Object.values(det.trainableVariables());
    for (let step = 0; step < 300; step++) {
      const b = nomaBatch(rnd, { first: step * 64, count: 64 }, s, sig, 0.7, 0.01 / 2);
      optimizer.minimize(() => mseFairLoss(det.detect(b).symbols as ComplexTensor, b.truth, lossParams), false, vars);
      disposeAll(b);
    }
    const after = evalLoss();
    expect(after).to.be.lessThan(0.5 * before);
    expect(after, 'better than the zero estimator').to.be.lessThan(0.75 * zero);
    optimizer.dispose();
    disposeAll([evalBatch, sig]);
    det.dispose();
  });
});

describePluginContract(FcnnMudDetector, {
  scenario: { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 },
  params: { hidden: [16, 16], csi: 'per-resource' },
  observation: (s, batch) => ({
    channel: new RandomStreams(['contract-fcnn']).complexNormal({ first: 0, count: batch }, 'h', [s.numDevices, s.sequenceLength, s.numAntennas]),
  }),
});
