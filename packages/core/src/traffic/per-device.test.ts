import { expect } from 'chai';
import { RandomStreams } from '../rng';
import { overloadProbability, PerDeviceTraffic } from './per-device';

const P_ASY = [0.8, 0.8, 0.8, 0.4, 0.4, 0.4];

describe('traffic:per-device-bernoulli', () => {
  it('P(|Gamma| > L) by exact convolution: p_asy 0.2048, p_high 0.6554, p_low 0.0410 (N = 6, L = 4)', () => {
    expect(overloadProbability(P_ASY, 4)).to.be.closeTo(0.2048, 1e-4);
    expect(overloadProbability(new Array(6).fill(0.8), 4)).to.be.closeTo(0.65536, 1e-5);
    expect(overloadProbability(new Array(6).fill(0.4), 4)).to.be.closeTo(0.04096, 1e-5);
    // a hand case: two devices, L = 1 -> both active
    expect(overloadProbability([0.5, 0.3], 1)).to.be.closeTo(0.15, 1e-12);
  });

  it('each device is active at its own rate (5 SE over 4000 trials) and inactive devices send message 0', () => {
    const scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };
    const t = new PerDeviceTraffic({ activationProbabilities: P_ASY }, scenario, new RandomStreams(['pd']));
    const B = 4000;
    const sample = t.sample({ first: 0, count: B });
    const a = sample.activity.dataSync();
    const m = sample.message.dataSync();
    for (let n = 0; n < 6; n++) {
      let k = 0;
      for (let b = 0; b < B; b++) k += a[b * 6 + n];
      const se = Math.sqrt((P_ASY[n] * (1 - P_ASY[n])) / B);
      expect(k / B, `device ${n}`).to.be.closeTo(P_ASY[n], 5 * se);
    }
    for (let i = 0; i < a.length; i++) if (a[i] === 0) expect(m[i]).to.equal(0);
    expect(Array.from(t.sideInformation().activityProbability?.dataSync() ?? [])).to.deep.equal(Array.from(Float32Array.from(P_ASY)));
    t.dispose();
  });

  it('bits per device: device n\'s message is uniform on [0, 2^{J_n}); equal J_n give the draws of a single J', () => {
    const probs = { activationProbabilities: [1, 1, 1, 1, 1, 1] };
    const scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };
    const trials = { first: 0, count: 2000 };
    const hetero = new PerDeviceTraffic(probs, { ...scenario, deviceBits: [1, 1, 1, 2, 2, 2] }, new RandomStreams(['pd-bits']));
    const m = hetero.sample(trials).message.dataSync();
    for (let n = 0; n < 6; n++) {
      const values = new Set<number>();
      for (let b = 0; b < 2000; b++) values.add(m[b * 6 + n]);
      expect([...values].sort(), `device ${n}`).to.deep.equal(n < 3 ? [0, 1] : [0, 1, 2, 3]);
    }
    const same = new PerDeviceTraffic(probs, { ...scenario, deviceBits: [2, 2, 2, 2, 2, 2] }, new RandomStreams(['pd-bits']));
    const single = new PerDeviceTraffic(probs, scenario, new RandomStreams(['pd-bits']));
    expect(Array.from(same.sample(trials).message.dataSync())).to.deep.equal(Array.from(single.sample(trials).message.dataSync()));
  });

  it('refuses a probability list whose length is not N', () => {
    const problems = PerDeviceTraffic.plugin.check?.({ activationProbabilities: [0.5] }, { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 }) ?? [];
    expect(problems[0].message).to.contain('has 1 entries, but scenario.numDevices is 6');
  });
});
