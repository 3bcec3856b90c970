import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import type { MeasuredStatistic, Truth } from '../plugin';
import { SymbolMseMetric } from './symbol-mse';

const A = Math.SQRT1_2;

describe('metrics/symbol-mse', () => {
  it('sums |x_hat - a q(m)|^2 over devices per trial (inactive target 0), and per device', () => {
    // trial 0: device 0 active, message 3 -> (-A, -A); device 1 inactive. trial 1: both active, messages 0 and 1
    const truth = {
      activity: tf.tensor2d([[1, 0], [1, 1]]),
      message: tf.tensor2d([[3, 0], [0, 1]], undefined, 'int32'),
    } as unknown as Truth;
    const symbols = { re: tf.tensor2d([[-A, 0.5], [A, 0]]), im: tf.tensor2d([[0, 0], [A, -A]]) };
    const out = new SymbolMseMetric({ perUser: true }).measure(truth, { symbols });
    const values = (m: MeasuredStatistic) => Array.from(('values' in m ? m.values : m.events).dataSync());
    // trial 0: |(-A) - (-A)|^2 + |0 - (-A)|^2 = 0.5 for device 0, 0.25 for device 1; trial 1: 0 + |0 - A|^2 = 0.5
    expect(values(out['symbol-mse-user0'])[0]).to.be.closeTo(0.5, 1e-7);
    expect(values(out['symbol-mse-user0'])[1]).to.be.closeTo(0, 1e-7);
    expect(values(out['symbol-mse-user1'])[0]).to.be.closeTo(0.25, 1e-7);
    expect(values(out['symbol-mse-user1'])[1]).to.be.closeTo(0.5, 1e-7);
    expect(values(out['symbol-mse'])[0]).to.be.closeTo(0.75, 1e-7);
    expect(values(out['symbol-mse'])[1]).to.be.closeTo(0.5, 1e-7);
  });

  it('needs the soft symbols and QPSK', () => {
    expect(SymbolMseMetric.plugin.requires?.({ perUser: false }, { numDevices: 2, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 2 })).to.deep.equal(['symbols']);
    expect(SymbolMseMetric.plugin.check?.({ perUser: false }, { numDevices: 2, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 1 })[0].message).to.contain('bitsPerDevice = 1');
  });
});
