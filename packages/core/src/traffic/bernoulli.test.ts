import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { BernoulliTraffic } from './bernoulli';
import { RandomStreams, type TrialRange } from '../rng';
import type { Scenario } from '../scenario';
import type { TrafficSample } from '../plugin';

function scenarioOf(numDevices: number, bitsPerDevice: number): Scenario {
  return { numDevices, numAntennas: 1, sequenceLength: 8, bitsPerDevice };
}

interface Drawn {
  activity: number[];
  message: number[];
  shapes: number[][];
  dtypes: string[];
}

/** Sample on the host: flat arrays, tensors disposed. */
function draw(traffic: BernoulliTraffic, trials: TrialRange): Drawn {
  const s: TrafficSample = traffic.sample(trials);
  const out = {
    activity: Array.from(s.activity.dataSync()),
    message: Array.from(s.message.dataSync()),
    shapes: [s.activity.shape, s.message.shape],
    dtypes: [s.activity.dtype, s.message.dtype],
  };
  tf.dispose([s.activity, s.message]);
  return out;
}

describe('traffic/bernoulli', () => {
  it('shapes [B, N], activity float32 in {0, 1}, message int32 in [0, Q) and 0 when inactive', () => {
    for (const [N, J, B] of [
      [1, 0, 1],
      [5, 2, 3],
      [12, 3, 7],
    ]) {
      const t = new BernoulliTraffic({ activityProb: 0.5 }, scenarioOf(N, J), new RandomStreams(['test', N, J]));
      const { activity, message, shapes, dtypes } = draw(t, { first: 4, count: B });
      expect(shapes).to.deep.equal([
        [B, N],
        [B, N],
      ]);
      expect(dtypes).to.deep.equal(['float32', 'int32']);
      const Q = 2 ** J;
      for (let i = 0; i < B * N; i++) {
        expect([0, 1]).to.include(activity[i]);
        expect(Number.isInteger(message[i])).to.equal(true);
        expect(message[i]).to.be.at.least(0).and.below(Q);
        if (activity[i] === 0) expect(message[i], `message of inactive entry ${i}`).to.equal(0);
      }
    }
  });

  it('J = 0: every message is 0', () => {
    const t = new BernoulliTraffic({ activityProb: 0.7 }, scenarioOf(10, 0), new RandomStreams(['test']));
    const { activity, message } = draw(t, { first: 0, count: 20 });
    expect(activity.some((a) => a === 1)).to.equal(true);
    expect(message.every((m) => m === 0)).to.equal(true);
  });

  it('activityProb = 1 makes every device active', () => {
    const t = new BernoulliTraffic({ activityProb: 1 }, scenarioOf(6, 1), new RandomStreams(['test']));
    expect(draw(t, { first: 0, count: 5 }).activity.every((a) => a === 1)).to.equal(true);
  });

  it('activity frequency is within 5 standard errors of p, and active messages are uniform over Q', () => {
    const p = 0.2;
    const [N, B, J] = [50, 400, 2];
    const t = new BernoulliTraffic({ activityProb: p }, scenarioOf(N, J), new RandomStreams(['test', 'freq']));
    const { activity, message } = draw(t, { first: 0, count: B });
    const n = N * B;
    const freq = activity.reduce((s, a) => s + a, 0) / n;
    expect(freq).to.be.closeTo(p, 5 * Math.sqrt((p * (1 - p)) / n));
    // every device, not only on average: B = 400 trials each, 5 SE
    for (let d = 0; d < N; d++) {
      let k = 0;
      for (let b = 0; b < B; b++) k += activity[b * N + d];
      expect(k / B, `device ${d}`).to.be.closeTo(p, 5 * Math.sqrt((p * (1 - p)) / B));
    }
    // messages of active devices: chi-square over Q = 4 bins below the 0.9999 quantile of chi2(3) = 21.11
    const Q = 2 ** J;
    const counts = new Array(Q).fill(0);
    activity.forEach((a, i) => {
      if (a === 1) counts[message[i]]++;
    });
    const total = counts.reduce((s, c) => s + c, 0);
    const chi2 = counts.reduce((s, c) => s + (c - total / Q) ** 2 / (total / Q), 0);
    expect(chi2, `message counts ${counts}`).to.be.below(21.11);
  });

  it('trial t gets the same activity and message whether drawn in one batch of 10 or in 3 + 7', () => {
    const make = () => new BernoulliTraffic({ activityProb: 0.3 }, scenarioOf(8, 3), new RandomStreams(['test', 'split']));
    const one = draw(make(), { first: 0, count: 10 });
    const t = make();
    const a = draw(t, { first: 0, count: 3 });
    const b = draw(t, { first: 3, count: 7 });
    expect([...a.activity, ...b.activity]).to.deep.equal(one.activity);
    expect([...a.message, ...b.message]).to.deep.equal(one.message);
    expect(one.activity.some((x) => x === 1)).to.equal(true);
    // a later window starts where it should
    const late = draw(make(), { first: 5, count: 2 });
    expect(late.activity).to.deep.equal(one.activity.slice(5 * 8, 7 * 8));
    // another key gives another draw
    const other = new BernoulliTraffic({ activityProb: 0.3 }, scenarioOf(8, 3), new RandomStreams(['test', 'other']));
    expect(draw(other, { first: 0, count: 10 }).activity).to.not.deep.equal(one.activity);
  });

  it('side information: activityProbability [N] = p, owned by the plugin and freed by dispose()', () => {
    const before = tf.memory().numTensors;
    const t = new BernoulliTraffic({ activityProb: 0.25 }, scenarioOf(4, 0), new RandomStreams(['test']));
    const si = t.sideInformation();
    expect(si.activityProbability?.shape).to.deep.equal([4]);
    expect(Array.from(si.activityProbability?.dataSync() ?? [])).to.deep.equal([0.25, 0.25, 0.25, 0.25]);
    expect(t.sideInformation().activityProbability).to.equal(si.activityProbability);
    t.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('sample() leaves only its two outputs allocated', () => {
    const t = new BernoulliTraffic({ activityProb: 0.5 }, scenarioOf(5, 1), new RandomStreams(['test']));
    const before = tf.memory().numTensors;
    const s = t.sample({ first: 0, count: 4 });
    expect(tf.memory().numTensors).to.equal(before + 2);
    tf.dispose([s.activity, s.message]);
  });
});
