import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { FixedCountTraffic } from './fixed-count';
import { RandomStreams, type TrialRange } from '../rng';
import type { Scenario } from '../scenario';

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
function draw(traffic: FixedCountTraffic, trials: TrialRange): Drawn {
  const s = traffic.sample(trials);
  const out = {
    activity: Array.from(s.activity.dataSync()),
    message: Array.from(s.message.dataSync()),
    shapes: [s.activity.shape, s.message.shape],
    dtypes: [s.activity.dtype, s.message.dtype],
  };
  tf.dispose([s.activity, s.message]);
  return out;
}

function rowSums(activity: number[], N: number): number[] {
  const B = activity.length / N;
  return Array.from({ length: B }, (_, b) => activity.slice(b * N, (b + 1) * N).reduce((s, a) => s + a, 0));
}

describe('traffic/fixed-count', () => {
  it('shapes [B, N]; every row has exactly K active devices; messages in [0, Q), 0 when inactive', () => {
    for (const [N, K, J, B] of [
      [1, 1, 0, 2],
      [6, 0, 1, 3],
      [6, 6, 2, 3],
      [10, 3, 3, 8],
      [40, 7, 1, 5],
    ]) {
      const t = new FixedCountTraffic({ numActive: K }, scenarioOf(N, J), new RandomStreams(['test', N, K]));
      const d = draw(t, { first: 2, count: B });
      expect(d.shapes).to.deep.equal([
        [B, N],
        [B, N],
      ]);
      expect(d.dtypes).to.deep.equal(['float32', 'int32']);
      expect(rowSums(d.activity, N), `N=${N} K=${K}`).to.deep.equal(new Array(B).fill(K));
      const Q = 2 ** J;
      d.activity.forEach((a, i) => {
        expect([0, 1]).to.include(a);
        expect(d.message[i]).to.be.at.least(0).and.below(Q);
        if (a === 0) expect(d.message[i], `message of inactive entry ${i}`).to.equal(0);
      });
    }
  });

  it('the active set is uniform: each device is active with frequency K/N (5 SE), messages uniform', () => {
    const [N, K, B, J] = [20, 5, 2000, 1];
    const t = new FixedCountTraffic({ numActive: K }, scenarioOf(N, J), new RandomStreams(['test', 'uniform']));
    const d = draw(t, { first: 0, count: B });
    const p = K / N;
    for (let n = 0; n < N; n++) {
      let k = 0;
      for (let b = 0; b < B; b++) k += d.activity[b * N + n];
      expect(k / B, `device ${n}`).to.be.closeTo(p, 5 * Math.sqrt((p * (1 - p)) / B));
    }
    // messages of active devices: P(m = 1) = 1/2 over B K samples
    let ones = 0;
    d.activity.forEach((a, i) => {
      if (a === 1) ones += d.message[i];
    });
    expect(ones / (B * K)).to.be.closeTo(0.5, 5 * Math.sqrt(0.25 / (B * K)));
  });

  it('trial t gets the same active set and messages whether drawn in one batch of 10 or in 3 + 7', () => {
    const make = () => new FixedCountTraffic({ numActive: 3 }, scenarioOf(9, 2), new RandomStreams(['test', 'split']));
    const one = draw(make(), { first: 0, count: 10 });
    const t = make();
    const a = draw(t, { first: 0, count: 3 });
    const b = draw(t, { first: 3, count: 7 });
    expect([...a.activity, ...b.activity]).to.deep.equal(one.activity);
    expect([...a.message, ...b.message]).to.deep.equal(one.message);
    const late = draw(make(), { first: 4, count: 3 });
    expect(late.activity).to.deep.equal(one.activity.slice(4 * 9, 7 * 9));
    expect(late.message).to.deep.equal(one.message.slice(4 * 9, 7 * 9));
    // the trials differ from each other
    const rows = new Set(Array.from({ length: 10 }, (_, r) => one.activity.slice(r * 9, (r + 1) * 9).join('')));
    expect(rows.size).to.be.above(1);
  });

  it('check() rejects numActive > numDevices with a message naming both', () => {
    const check = FixedCountTraffic.plugin.check;
    if (check === undefined) throw new Error('fixed-count has no check hook');
    expect(check({ numActive: 4 }, scenarioOf(4, 0))).to.deep.equal([]);
    const problems = check({ numActive: 5 }, scenarioOf(4, 0));
    expect(problems).to.have.length(1);
    expect(problems[0].path).to.equal('numActive');
    expect(problems[0].message).to.equal('must be <= scenario.numDevices = 4 (got 5)');
  });

  it('side information: activityProbability [N] = K/N, owned by the plugin and freed by dispose()', () => {
    const before = tf.memory().numTensors;
    const t = new FixedCountTraffic({ numActive: 1 }, scenarioOf(4, 0), new RandomStreams(['test']));
    const si = t.sideInformation();
    expect(Array.from(si.activityProbability?.dataSync() ?? [])).to.deep.equal([0.25, 0.25, 0.25, 0.25]);
    expect(t.sideInformation().activityProbability).to.equal(si.activityProbability);
    t.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });
});
