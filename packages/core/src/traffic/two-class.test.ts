import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { TwoClassTraffic, twoClassProbabilities } from './two-class';
import { RandomStreams } from '../rng';
import type { Scenario } from '../scenario';

const scenario = (N: number): Scenario => ({ numDevices: N, numAntennas: 1, sequenceLength: 8, bitsPerDevice: 0 });

describe('traffic/two-class', () => {
  it('p = 0.1, r = 3 gives p1 = 0.15, p2 = 0.05', () => {
    const [p1, p2] = twoClassProbabilities({ activityProb: 0.1, ratio: 3 });
    expect(p1).to.be.closeTo(0.15, 1e-12);
    expect(p2).to.be.closeTo(0.05, 1e-12);
  });

  it('class frequencies are within 5 SE of p1 and p2, and the side information matches', () => {
    const [N, B] = [40, 1000];
    const t = new TwoClassTraffic({ activityProb: 0.1, ratio: 3 }, scenario(N), new RandomStreams(['test', 'two-class']));
    const s = t.sample({ first: 0, count: B });
    const a = s.activity.dataSync();
    for (const [lo, hi, p] of [
      [0, N / 2, 0.15],
      [N / 2, N, 0.05],
    ]) {
      let k = 0;
      for (let b = 0; b < B; b++) for (let n = lo; n < hi; n++) k += a[b * N + n];
      const n = (B * N) / 2;
      expect(k / n, `class [${lo}, ${hi})`).to.be.closeTo(p, 5 * Math.sqrt((p * (1 - p)) / n));
    }
    const prior = Array.from(t.sideInformation().activityProbability?.dataSync() ?? []);
    expect(prior.slice(0, N / 2).every((x) => Math.abs(x - 0.15) < 1e-7)).to.equal(true);
    expect(prior.slice(N / 2).every((x) => Math.abs(x - 0.05) < 1e-7)).to.equal(true);
    tf.dispose([s.activity, s.message]);
    t.dispose();
  });

  it('draws do not depend on batching', () => {
    const make = () => new TwoClassTraffic({ activityProb: 0.2, ratio: 2 }, scenario(10), new RandomStreams(['test', 'split']));
    const one = make().sample({ first: 0, count: 6 });
    const t = make();
    const a = t.sample({ first: 0, count: 2 });
    const b = t.sample({ first: 2, count: 4 });
    expect([...a.activity.dataSync(), ...b.activity.dataSync()]).to.deep.equal(Array.from(one.activity.dataSync()));
    tf.dispose([one.activity, one.message, a.activity, a.message, b.activity, b.message]);
  });

  it('check rejects p1 > 1', () => {
    const problems = TwoClassTraffic.plugin.check?.({ activityProb: 0.8, ratio: 3 }, scenario(10)) ?? [];
    expect(problems.map((p) => p.message).join()).to.match(/p1 = .* > 1/);
  });
});
