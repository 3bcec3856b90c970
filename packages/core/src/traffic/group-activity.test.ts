import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { GroupActivityTraffic } from './group-activity';
import { RandomStreams } from '../rng';
import type { Scenario } from '../scenario';

const scenario = (N: number): Scenario => ({ numDevices: N, numAntennas: 1, sequenceLength: 8, bitsPerDevice: 1 });

function rows(t: GroupActivityTraffic, N: number, B: number): number[][] {
  const s = t.sample({ first: 0, count: B });
  const a = Array.from(s.activity.dataSync());
  tf.dispose([s.activity, s.message]);
  return Array.from({ length: B }, (_, b) => a.slice(b * N, (b + 1) * N));
}

describe('traffic/group-activity', () => {
  it('single: exactly N/G devices active, all from one group, each group chosen w.p. 1/G (5 SE)', () => {
    const [N, G, B] = [40, 10, 2000];
    const t = new GroupActivityTraffic({ numGroups: G, mode: 'single', activityProb: 0.1 }, scenario(N), new RandomStreams(['test', 'single']));
    const counts = new Array(G).fill(0);
    for (const a of rows(t, N, B)) {
      expect(a.reduce((s, x) => s + x, 0)).to.equal(N / G);
      const g = Math.floor(a.indexOf(1) / (N / G));
      for (let n = g * (N / G); n < (g + 1) * (N / G); n++) expect(a[n]).to.equal(1);
      counts[g]++;
    }
    const p = 1 / G;
    for (const c of counts) expect(c / B).to.be.closeTo(p, 5 * Math.sqrt((p * (1 - p)) / B));
    expect(Array.from(t.sideInformation().activityProbability?.dataSync() ?? [])[0]).to.be.closeTo(0.1, 1e-7);
    t.dispose();
  });

  it('independent: devices of a group share one state, groups active w.p. p (5 SE) and uncorrelated', () => {
    const [N, G, B, p] = [40, 8, 2000, 0.2];
    const t = new GroupActivityTraffic({ numGroups: G, mode: 'independent', activityProb: p }, scenario(N), new RandomStreams(['test', 'groups']));
    const size = N / G;
    let active = 0;
    let both = 0; // groups 0 and 1 active together
    for (const a of rows(t, N, B)) {
      for (let g = 0; g < G; g++) {
        const block = a.slice(g * size, (g + 1) * size);
        expect(new Set(block).size, 'one state per group').to.equal(1);
        active += block[0];
      }
      both += a[0] * a[size];
    }
    expect(active / (G * B)).to.be.closeTo(p, 5 * Math.sqrt((p * (1 - p)) / (G * B)));
    const q = p * p;
    expect(both / B).to.be.closeTo(q, 5 * Math.sqrt((q * (1 - q)) / B));
  });

  it('rejects G that does not divide N', () => {
    const problems = GroupActivityTraffic.plugin.check?.({ numGroups: 7, mode: 'single', activityProb: 0.1 }, scenario(40)) ?? [];
    expect(problems[0]?.message).to.match(/must divide scenario.numDevices = 40 \(got 7\)/);
  });
});
