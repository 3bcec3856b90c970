import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { BerMetric, type BerParams } from './ber';
import { BlerMetric, type BlerParams } from './bler';
import * as cx from '../complex';
import type { Estimate, MeasuredStatistic, Metric, Truth } from '../plugin';
import type { Scenario } from '../scenario';

const scenario: Scenario = { numDevices: 3, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 2 };

// B = 2 trials, N = 3 devices, J = 2 bits (MSB first: 0 = 00, 1 = 01, 2 = 10, 3 = 11).
// trial 0: device 0 sends 0, detected 0 (no error); device 1 sends 3 = 11, detected 1 = 01 (1 bit
//          error); device 2 inactive (not counted, whatever is detected).
// trial 1: device 0 sends 1, detected 1 (no error); device 1 sends 2, detected 2 but declared
//          inactive (missed: 2 bit errors when the estimate has activity); device 2 sends 3 = 11,
//          detected 0 = 00 (2 bit errors).
const ACTIVITY = [[1, 1, 0], [1, 1, 1]];
const MESSAGE = [[0, 3, 2], [1, 2, 3]];
const DETECTED = [[0, 1, 0], [1, 2, 0]];
const DETECTED_ACTIVITY = [[1, 1, 1], [1, 0, 1]];
// LLRs whose signs give: trial 0 device 1 -> 11 (right, unlike its message), device 2 -> 00;
// trial 1 device 2 -> 10 (1 bit error, unlike its message's 2). Others as the messages.
const LLR = [
  [[-1, -2], [2, 0.5], [-1, -1]],
  [[-0.1, 3], [1, -1], [4, -0.2]],
];

function truth(): Truth {
  return {
    activity: tf.tensor2d(ACTIVITY),
    message: tf.tensor2d(MESSAGE, [2, 3], 'int32'),
    channel: cx.fromReal(tf.ones([2, 3, 1])),
    largeScaleFading: tf.ones([2, 3]) as tf.Tensor2D,
  };
}

function estimate(withActivity: boolean): Estimate {
  return {
    message: tf.tensor2d(DETECTED, [2, 3], 'int32'),
    bitLLR: tf.tensor3d(LLR),
    ...(withActivity ? { activity: tf.tensor2d(DETECTED_ACTIVITY) } : {}),
  };
}

/** Per-trial events and samples of every statistic. */
function run(metric: Metric, withActivity = true): Record<string, { events: number[]; samples: number[] }> {
  return tf.tidy(() => {
    const out = metric.measure(truth(), estimate(withActivity));
    return Object.fromEntries(
      Object.entries(out).map(([name, s]: [string, MeasuredStatistic]) => {
        if (!('events' in s)) throw new Error(`${name} is not a rate`);
        expect(s.events.shape, name).to.deep.equal([2]);
        return [name, { events: Array.from(s.events.dataSync()), samples: Array.from(s.samples.dataSync()) }];
      }),
    );
  });
}

const ber = (p: Partial<BerParams> = {}) => new BerMetric({ bits: 'message', perUser: false, mode: 'strict', jain: false, ...p }, scenario);
const bler = (p: Partial<BlerParams> = {}) => new BlerMetric({ bits: 'message', unit: 'device', perUser: false, byRate: false, ...p }, scenario);

describe('metrics/ber', () => {
  it('counts bit errors of active devices over J x active devices; a missed device loses all its bits', () => {
    expect(run(ber())).to.deep.equal({ ber: { events: [1, 4], samples: [4, 6] } });
    // without detected activity, device 1 of trial 1 is judged on its message only (right)
    expect(run(ber(), false)).to.deep.equal({ ber: { events: [1, 2], samples: [4, 6] } });
  });

  it('mode "sign": a missed active device is judged on its detected message (as without detected activity)', () => {
    expect(run(ber({ mode: 'sign' }))).to.deep.equal(run(ber(), false));
  });

  it('jain adds the per-device rates and jfi, a jain-index over them', () => {
    const stats = BerMetric.plugin.statistics?.({ bits: 'message', perUser: false, mode: 'sign', jain: true }, scenario) ?? [];
    expect(stats.map((s) => s.name)).to.deep.equal(['ber', 'ber-user0', 'ber-user1', 'ber-user2', 'jfi']);
    expect(stats[4]).to.include({ kind: 'jain-index' });
    expect(stats[4].parts).to.deep.equal(['ber-user0', 'ber-user1', 'ber-user2']);
    expect(Object.keys(run(ber({ jain: true })))).to.deep.equal(['ber', 'ber-user0', 'ber-user1', 'ber-user2']);
  });

  it('bits "llr": hard decisions b = 1 where LLR > 0', () => {
    // trial 0: device 1 now right, device 0 right -> 0; trial 1: device 1 missed (2), device 2 one bit (1)
    expect(run(ber({ bits: 'llr' }))).to.deep.equal({ ber: { events: [0, 3], samples: [4, 6] } });
  });

  it('perUser adds ber-user<n> (0-based device index), untracked', () => {
    expect(run(ber({ perUser: true }))).to.deep.equal({
      ber: { events: [1, 4], samples: [4, 6] },
      'ber-user0': { events: [0, 0], samples: [2, 2] },
      'ber-user1': { events: [1, 2], samples: [2, 2] },
      'ber-user2': { events: [0, 2], samples: [0, 2] },
    });
    const stats = BerMetric.plugin.statistics?.({ bits: 'message', perUser: true }, scenario) ?? [];
    expect(stats.map((s) => [s.name, s.kind, s.tracked])).to.deep.equal([
      ['ber', 'rate', true],
      ['ber-user0', 'rate', false],
      ['ber-user1', 'rate', false],
      ['ber-user2', 'rate', false],
    ]);
  });

  it('requires the message or the bit LLRs, and J >= 1', () => {
    expect(BerMetric.plugin.requires?.({ bits: 'message', perUser: false }, scenario)).to.deep.equal(['message']);
    expect(BerMetric.plugin.requires?.({ bits: 'llr', perUser: false }, scenario)).to.deep.equal(['bitLLR']);
    expect(BerMetric.plugin.check?.({ bits: 'message', perUser: false }, { ...scenario, bitsPerDevice: 0 })[0].message).to.match(/bitsPerDevice must be >= 1/);
    expect(BlerMetric.plugin.check?.({ bits: 'message', unit: 'trial', perUser: true }, scenario)[0].message).to.equal('per-user rates need unit "device"');
  });
});

describe('metrics/bler', () => {
  it('byRate: bler-bits<j> pools the blocks of the devices with j bits (bits per device)', () => {
    // devices 0, 1 carry 1 bit, device 2 carries 2: trial 0 -> group 1: device 1 wrong (1 of 2),
    // group 2: device 2 inactive; trial 1 -> group 1: device 1 missed (1 of 2), group 2: wrong (1 of 1)
    const perDevice = { ...scenario, deviceBits: [1, 1, 2] };
    const m = new BlerMetric({ bits: 'message', unit: 'device', perUser: false, byRate: true }, perDevice);
    expect(run(m)).to.deep.equal({
      bler: { events: [1, 2], samples: [2, 3] },
      'bler-bits1': { events: [1, 1], samples: [2, 2] },
      'bler-bits2': { events: [0, 1], samples: [0, 1] },
    });
    expect(BlerMetric.plugin.statistics?.({ bits: 'message', unit: 'device', perUser: false, byRate: true }, perDevice).map((x) => x.name)).to.deep.equal(['bler', 'bler-bits1', 'bler-bits2']);
    expect(BlerMetric.plugin.check?.({ bits: 'message', unit: 'device', perUser: false, byRate: true }, scenario)[0]).to.include({ path: 'byRate' });
    expect(BlerMetric.plugin.check?.({ bits: 'llr', unit: 'device', perUser: false, byRate: false }, perDevice)[0]).to.include({ path: 'bits' });
  });

  it('unit "device": an active device\'s block is wrong when any bit is wrong or it is missed', () => {
    // trial 0: device 1 wrong (1 of 2); trial 1: device 1 missed, device 2 wrong (2 of 3)
    expect(run(bler())).to.deep.equal({ bler: { events: [1, 2], samples: [2, 3] } });
    expect(run(bler(), false)).to.deep.equal({ bler: { events: [1, 1], samples: [2, 3] } });
    // with LLR bits trial 0 is error free
    expect(run(bler({ bits: 'llr' }))).to.deep.equal({ bler: { events: [0, 2], samples: [2, 3] } });
    expect(run(bler({ perUser: true }))).to.deep.equal({
      bler: { events: [1, 2], samples: [2, 3] },
      'bler-user0': { events: [0, 0], samples: [1, 1] },
      'bler-user1': { events: [1, 1], samples: [1, 1] },
      'bler-user2': { events: [0, 1], samples: [0, 1] },
    });
  });

  it('unit "trial": a trial is wrong when any active device\'s block is; trials without active devices do not count', () => {
    expect(run(bler({ unit: 'trial' }))).to.deep.equal({ 'bler-trial': { events: [1, 1], samples: [1, 1] } });
    expect(run(bler({ unit: 'trial', bits: 'llr' }))).to.deep.equal({ 'bler-trial': { events: [0, 1], samples: [1, 1] } });
    const empty = tf.tidy(() => {
      const t = { ...truth(), activity: tf.zeros([2, 3]) as tf.Tensor2D };
      const s = bler({ unit: 'trial' }).measure(t, estimate(true))['bler-trial'];
      if (!('events' in s)) throw new Error('rate');
      return [Array.from(s.events.dataSync()), Array.from(s.samples.dataSync())];
    });
    expect(empty).to.deep.equal([[0, 0], [0, 0]]);
  });

  it('does not leak tensors', () => {
    const before = tf.memory().numTensors;
    run(bler({ perUser: true }));
    run(ber({ perUser: true, bits: 'llr' }));
    expect(tf.memory().numTensors).to.equal(before);
  });
});
