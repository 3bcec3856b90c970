import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { NmseMetric } from './nmse';
import * as cx from '../complex';
import type { Truth } from '../plugin';
import { Accumulators } from '../montecarlo/accumulators';

/** [B, N, M = 2] complex from nested [re, im] pairs. */
function channels(values: number[][][][]): cx.ComplexTensor {
  const B = values.length;
  const N = values[0].length;
  const M = values[0][0].length;
  return cx.complexFromPairs(values.flat(2), [B, N, M]);
}

function truthOf(activity: number[][], h: cx.ComplexTensor): Truth {
  return {
    activity: tf.tensor2d(activity),
    message: tf.zeros([activity.length, activity[0].length], 'int32') as tf.Tensor2D,
    channel: h,
    largeScaleFading: tf.ones([activity.length, activity[0].length]) as tf.Tensor2D,
  };
}

/** The hand-computed example of the tests below: 3 trials, 3 devices, M = 2 (activity [[1, 0, 1], [0, 1, 0], [0, 0, 0]]). */
function handExample() {
  const h = channels([
    [[[1, 0], [0, 1]], [[5, 5], [5, 5]], [[2, 0], [0, 0]]],
    [[[1, 0], [0, 0]], [[0, 0], [0, 3]], [[0, 0], [1, 0]]],
    [[[1, 0], [0, 0]], [[0, 0], [0, 0]], [[0, 0], [0, 0]]],
  ]);
  const hHat = channels([
    [[[1, 0], [0, 0]], [[0, 0], [0, 0]], [[1, 0], [1, 0]]],
    [[[9, 9], [9, 9]], [[0, 0], [0, 3]], [[0, 0], [0, 0]]],
    [[[0, 0], [0, 0]], [[0, 0], [0, 0]], [[0, 0], [0, 0]]],
  ]);
  return { h, hHat };
}

describe('metrics/nmse', () => {
  it('declares one mean statistic shown in dB, and requires a channel estimate', () => {
    const info = NmseMetric.plugin;
    expect(info.requires?.({ devices: 'active' }, { numDevices: 1, numAntennas: 1, sequenceLength: 1, bitsPerDevice: 0 })).to.deep.equal(['channel']);
    expect(info.statistics?.({ devices: 'active' }, { numDevices: 1, numAntennas: 1, sequenceLength: 1, bitsPerDevice: 0 })).to.deep.include({
      name: 'nmse',
      kind: 'mean',
      decibel: true,
      description: 'NMSE: sum over active devices of ||h_hat - h||^2 / ||h||^2 per trial, averaged over trials (10 log10 of it in dB)',
    });
  });

  it('per trial: sum over active devices of ||h_hat - h||^2 / sum of ||h||^2 (by hand); with no active device defined away, and counted so', () => {
    // trial 0: devices 0 and 2 active. h0 = [1, i], h2 = [2, 0] -> ||h||^2 = 2 + 4 = 6.
    //   h_hat0 = [1, 0] (error |i|^2 = 1), h_hat2 = [1, 1] (error 1 + 1 = 2); device 1 inactive, its error is ignored.
    //   NMSE = 3 / 6 = 0.5
    // trial 1: device 1 active, h1 = [0, 3i], h_hat1 = [0, 3i]: NMSE = 0
    // trial 2: no device active: NaN
    const { h, hHat } = handExample();
    const out = new NmseMetric().measure(truthOf([[1, 0, 1], [0, 1, 0], [0, 0, 0]], h), { channel: hHat });
    const values = Array.from((out.nmse as { values: tf.Tensor1D }).values.dataSync());
    expect(values[0]).to.be.closeTo(0.5, 1e-6);
    expect(values[1]).to.equal(0);
    expect(Number.isNaN(values[2])).to.equal(true);
    const nmse = out.nmse as { values: tf.Tensor1D; undefinedTrials?: tf.Tensor1D };
    expect(Array.from(nmse.undefinedTrials?.dataSync() ?? []), 'trial 2 has no active device').to.deep.equal([0, 0, 1]);
    const acc = new Accumulators(NmseMetric.plugin.statistics?.({ devices: 'active' }, { numDevices: 3, numAntennas: 2, sequenceLength: 1, bitsPerDevice: 0 }) ?? []);
    acc.addBatch(new Map([['nmse', { values }]]), 3, { targetEvents: 1, maxTrials: 100 });
    const summary = acc.summary(0.95).nmse;
    expect(summary.value).to.be.closeTo(0.25, 1e-6);
    expect(summary.samples).to.equal(2);
    expect(summary.skipped).to.deep.equal({ undefined: 1, nonFinite: 0 });
  });

  it('devices "all": ||X_hat - X||_F^2 / ||X||_F^2 over every row of X = lambda (.) h (by hand), so estimates on inactive rows count', () => {
    // Same data as above. trial 0: active rows' error 1 + 2 = 3; inactive device 1: h_hat1 = 0
    //   against X_1 = 0 (its true h1 = [5+5i, 5+5i] is not X's row): error 0. NMSE = 3 / 6 = 0.5.
    // trial 1: device 1 exact; inactive device 0 estimated [9+9i, 9+9i]: error 4 * 81 = 324 against
    //   ||X||^2 = 9: NMSE = 36 (the "active" NMSE is 0). trial 2: no device active: undefined.
    const { h, hHat } = handExample();
    tf.tidy(() => {
      const truth = truthOf([[1, 0, 1], [0, 1, 0], [0, 0, 0]], h);
      const nmse = new NmseMetric({ devices: 'all' }).measure(truth, { channel: hHat }).nmse as { values: tf.Tensor1D; undefinedTrials?: tf.Tensor1D };
      const values = Array.from(nmse.values.dataSync());
      expect(values[0]).to.be.closeTo(0.5, 1e-6);
      expect(values[1]).to.be.closeTo(36, 1e-5);
      expect(Array.from(nmse.undefinedTrials?.dataSync() ?? [])).to.deep.equal([0, 0, 1]);
      // the default ("active") ignores device 0's row in trial 1
      const active = new NmseMetric({ devices: 'active' }).measure(truth, { channel: hHat }).nmse as { values: tf.Tensor1D };
      expect(active.values.dataSync()[1]).to.equal(0);
    });
    const stats = NmseMetric.plugin.statistics?.({ devices: 'all' }, { numDevices: 3, numAntennas: 2, sequenceLength: 1, bitsPerDevice: 0 }) ?? [];
    expect(stats.map((x) => [x.name, x.kind, x.decibel])).to.deep.equal([['nmse', 'mean', true]]);
    expect(stats[0].description).to.match(/all N rows/);
    cx.dispose(h);
    cx.dispose(hHat);
  });

  it('rejects per-resource channels and mismatched shapes with clear messages', () => {
    const metric = new NmseMetric();
    const perResource = cx.fromReal(tf.ones([1, 2, 3, 1]));
    expect(() => metric.measure(truthOf([[1, 1]], perResource), { channel: cx.fromReal(tf.ones([1, 2, 1])) })).to.throw(
      /nmse compares block-fading channels \[B, N, M\]; the true channel has shape \[1,2,3,1\]/,
    );
    expect(() => metric.measure(truthOf([[1, 1]], cx.fromReal(tf.ones([1, 2, 2]))), { channel: cx.fromReal(tf.ones([1, 2, 1])) })).to.throw(
      /channel estimate has shape \[1,2,1\]; expected \[1,2,2\]/,
    );
  });
});
