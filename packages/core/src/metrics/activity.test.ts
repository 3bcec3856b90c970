import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { ActivityMetric } from './activity';
import * as cx from '../complex';
import type { MeasuredStatistic, Truth } from '../plugin';
import type { Scenario } from '../scenario';
import { Accumulators, type TrialValues } from '../montecarlo/accumulators';

const scenario: Scenario = { numDevices: 4, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 0 };

/** Truth with the given activity (channel and fading are placeholders the metric does not read). */
function truthOf(activity: number[][]): Truth {
  const [B, N] = [activity.length, activity[0].length];
  return {
    activity: tf.tensor2d(activity, [B, N], 'float32'),
    message: tf.zeros([B, N], 'int32') as tf.Tensor2D,
    channel: cx.fromReal(tf.ones([B, N, 1])),
    largeScaleFading: tf.ones([B, N]) as tf.Tensor2D,
  };
}

/** Run the metric and download every statistic, freeing all tensors. */
function measure(activity: number[][], detected: number[][], errorRate = false): Map<string, TrialValues> {
  const host = new Map<string, TrialValues>();
  tf.tidy(() => {
    const out = new ActivityMetric({ errorRate }).measure(truthOf(activity), { activity: tf.tensor2d(detected, [detected.length, detected[0].length]) });
    for (const [name, s] of Object.entries(out) as [string, MeasuredStatistic][]) {
      if (!('events' in s)) {
        host.set(name, { values: Array.from(s.values.dataSync()) });
        continue;
      }
      expect(s.events.shape, name).to.deep.equal([activity.length]);
      expect(s.samples.shape, name).to.deep.equal([activity.length]);
      host.set(name, { events: Array.from(s.events.dataSync()), samples: Array.from(s.samples.dataSync()) });
    }
  });
  return host;
}

describe('metrics/activity', () => {
  it('declares pmd, pfa (rates) and pmd+pfa (rate-sum of both), and requires activity', () => {
    const info = ActivityMetric.plugin;
    expect(info.kind).to.equal('metric');
    const stats = info.statistics?.({ errorRate: false }, scenario) ?? [];
    expect(stats.map((s) => [s.name, s.kind])).to.deep.equal([
      ['pmd', 'rate'],
      ['pfa', 'rate'],
      ['pmd+pfa', 'rate-sum'],
    ]);
    expect(stats[2].parts).to.deep.equal(['pmd', 'pfa']);
    expect(info.requires?.({ errorRate: false }, scenario)).to.deep.equal(['activity']);
  });

  it('B = 2, N = 4: misses over active devices and false alarms over inactive ones, per trial', () => {
    // trial 0: active {0, 2}, detected {0, 1}: device 2 missed, device 1 false alarm
    // trial 1: active {2, 3}, detected {2, 3}: no errors
    const m = measure(
      [
        [1, 0, 1, 0],
        [0, 0, 1, 1],
      ],
      [
        [1, 1, 0, 0],
        [0, 0, 1, 1],
      ],
    );
    expect([...m.keys()].sort()).to.deep.equal(['pfa', 'pmd']);
    expect(m.get('pmd')).to.deep.equal({ events: [1, 0], samples: [2, 2] });
    expect(m.get('pfa')).to.deep.equal({ events: [1, 0], samples: [2, 2] });
  });

  it('edge rows: nobody active, everybody active, all declared active', () => {
    const m = measure(
      [
        [0, 0, 0, 0], // nobody active, one false alarm
        [1, 1, 1, 1], // everybody active, two missed
        [1, 0, 0, 0], // one active, all declared active: three false alarms
      ],
      [
        [0, 0, 1, 0],
        [1, 0, 0, 1],
        [1, 1, 1, 1],
      ],
    );
    expect(m.get('pmd')).to.deep.equal({ events: [0, 2, 0], samples: [0, 4, 1] });
    expect(m.get('pfa')).to.deep.equal({ events: [1, 0, 3], samples: [4, 0, 3] });
  });

  it('perfect detection gives zero events', () => {
    const a = [
      [1, 0, 0, 1],
      [0, 1, 1, 0],
    ];
    const m = measure(a, a);
    expect(m.get('pmd')).to.deep.equal({ events: [0, 0], samples: [2, 2] });
    expect(m.get('pfa')).to.deep.equal({ events: [0, 0], samples: [2, 2] });
  });

  it('accumulated over the two trials: pmd = 1/4, pfa = 1/4, pmd+pfa = 1/2', () => {
    const m = measure(
      [
        [1, 0, 1, 0],
        [0, 0, 1, 1],
      ],
      [
        [1, 1, 0, 0],
        [0, 0, 1, 1],
      ],
    );
    const acc = new Accumulators(ActivityMetric.plugin.statistics?.({}, scenario) ?? []);
    acc.addBatch(m, 2, { targetEvents: 100, maxTrials: 100 });
    const s = acc.summary(0.95);
    expect(s.pmd.value).to.equal(0.25);
    expect(s.pfa.value).to.equal(0.25);
    expect(s['pmd+pfa'].value).to.equal(0.5);
    expect(s['pmd+pfa'].events).to.equal(2);
  });

  it('does not leak tensors', () => {
    const before = tf.memory().numTensors;
    measure([[1, 0, 1, 0]], [[0, 0, 1, 1]]);
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('errorRate: pe = (misses + false alarms) / N per trial, the P_E of Cui, Li, Zhang [Cui2021] (hand counts)', () => {
    expect((ActivityMetric.plugin.statistics?.({ errorRate: true }, scenario) ?? []).map((s) => s.name)).to.include('pe');
    // trial 0: 1 miss + 1 false alarm of 4; trial 1: no error
    const host = measure([[1, 1, 0, 0], [0, 1, 0, 0]], [[1, 0, 1, 0], [0, 1, 0, 0]], true);
    expect(host.get('pe')).to.deep.equal({ values: [0.5, 0] });
    expect(measure([[1, 0, 0, 0]], [[1, 0, 0, 0]]).has('pe')).to.equal(false);
  });
});
