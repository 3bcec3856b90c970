import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { SerMetric } from './ser';
import * as cx from '../complex';
import type { Estimate, Truth } from '../plugin';
import type { Scenario } from '../scenario';

function scenarioOf(bitsPerDevice: number): Scenario {
  return { numDevices: 4, numAntennas: 1, sequenceLength: 2, bitsPerDevice };
}

interface Case {
  activity: number[][];
  message: number[][];
  detected: number[][];
  detectedMessage?: number[][];
}

/** Run the metric on a hand-written case; returns the per-trial events and samples. */
function ser(bits: number, c: Case): { events: number[]; samples: number[] } {
  return tf.tidy(() => {
    const [B, N] = [c.activity.length, c.activity[0].length];
    const truth: Truth = {
      activity: tf.tensor2d(c.activity, [B, N], 'float32'),
      message: tf.tensor2d(c.message, [B, N], 'int32'),
      channel: cx.fromReal(tf.ones([B, N, 1])),
      largeScaleFading: tf.ones([B, N]) as tf.Tensor2D,
    };
    const estimate: Estimate = {
      activity: tf.tensor2d(c.detected, [B, N], 'float32'),
      ...(c.detectedMessage !== undefined ? { message: tf.tensor2d(c.detectedMessage, [B, N], 'int32') } : {}),
    };
    const out = new SerMetric(scenarioOf(bits)).measure(truth, estimate);
    expect(Object.keys(out)).to.deep.equal(['ser']);
    const s = out.ser;
    if (!('events' in s)) throw new Error('ser is not a rate');
    expect(s.events.shape).to.deep.equal([B]);
    return { events: Array.from(s.events.dataSync()), samples: Array.from(s.samples.dataSync()) };
  });
}

// B = 2, N = 4.
// trial 0: all activity right; device 1 is active, detected, with the wrong message (error);
//          device 2 is inactive and not detected, its (meaningless) detected message differs (no error).
// trial 1: device 0 missed (error, although its message "matches"), device 1 false alarm (error),
//          device 2 right.
const CASE: Case = {
  activity: [
    [1, 1, 0, 0],
    [1, 0, 1, 0],
  ],
  message: [
    [1, 0, 0, 0],
    [1, 0, 1, 0],
  ],
  detected: [
    [1, 1, 0, 0],
    [0, 1, 1, 0],
  ],
  detectedMessage: [
    [1, 1, 1, 0],
    [1, 0, 1, 0],
  ],
};

describe('metrics/ser', () => {
  it('declares one tracked rate, ser, and requires the message only when J > 0', () => {
    const info = SerMetric.plugin;
    expect(info.statistics?.({}, scenarioOf(1)).map((s) => [s.name, s.kind])).to.deep.equal([['ser', 'rate']]);
    expect(info.requires?.({}, scenarioOf(0))).to.deep.equal(['activity']);
    expect(info.requires?.({}, scenarioOf(2))).to.deep.equal(['activity', 'message']);
  });

  it('J = 1: a wrong message counts only for a correctly detected active device', () => {
    expect(ser(1, CASE)).to.deep.equal({ events: [1, 2], samples: [4, 4] });
  });

  it('J = 1: right activity and right messages give no error; every wrong message of a detected active device counts once', () => {
    const right = ser(1, { ...CASE, detected: CASE.activity, detectedMessage: CASE.message });
    expect(right).to.deep.equal({ events: [0, 0], samples: [4, 4] });
    const allWrong = ser(1, {
      ...CASE,
      detected: CASE.activity,
      detectedMessage: CASE.message.map((row) => row.map((m) => 1 - m)),
    });
    // active devices: 2 per trial; inactive ones are not in error even though their message differs
    expect(allWrong).to.deep.equal({ events: [2, 2], samples: [4, 4] });
  });

  it('J = 0: only activity errors count, with or without a detected message', () => {
    const zero = (rows: number[][]) => rows.map((r) => r.map(() => 0));
    const j0: Case = { ...CASE, message: zero(CASE.message), detectedMessage: undefined };
    expect(ser(0, j0)).to.deep.equal({ events: [0, 2], samples: [4, 4] });
    // a detector that returns messages anyway: ignored when J = 0
    expect(ser(0, { ...j0, detectedMessage: CASE.detectedMessage })).to.deep.equal({ events: [0, 2], samples: [4, 4] });
  });

  it('declaring every device inactive scores SER = fraction of active devices', () => {
    const r = ser(1, { ...CASE, detected: CASE.activity.map((row) => row.map(() => 0)) });
    expect(r).to.deep.equal({ events: [2, 2], samples: [4, 4] });
  });

  it('does not leak tensors', () => {
    const before = tf.memory().numTensors;
    ser(1, CASE);
    expect(tf.memory().numTensors).to.equal(before);
  });
});
