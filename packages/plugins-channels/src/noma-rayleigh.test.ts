import { expect } from 'chai';
import { cx, RandomStreams, type Scenario } from '@gfra/core';
import { NomaRayleighChannel, nomaNoiseVar, type NomaRayleighParams } from './noma-rayleigh';

const scenario: Scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };
const params = (p: Partial<NomaRayleighParams> = {}): NomaRayleighParams => ({
  mode: 'block',
  snrDb: 10,
  snrDefinition: 'per-re',
  knownChannel: true,
  knownNoiseVariance: true,
  ...p,
});

/** y - sum_n h_n .* tx_n by explicit loops (h [B,N,1] broadcast over l, or [B,N,L,1]). */
type Parts = { readonly re: ArrayLike<number>; readonly im: ArrayLike<number> };
function residual(tx: Parts, h: Parts, y: Parts, B: number, block: boolean): number[][] {
  const [N, L] = [6, 4];
  const out: number[][] = [];
  for (let b = 0; b < B; b++) {
    for (let l = 0; l < L; l++) {
      let re = 0;
      let im = 0;
      for (let n = 0; n < N; n++) {
        const xi = (b * N + n) * L + l;
        const hi = block ? b * N + n : (b * N + n) * L + l;
        re += tx.re[xi] * h.re[hi] - tx.im[xi] * h.im[hi];
        im += tx.re[xi] * h.im[hi] + tx.im[xi] * h.re[hi];
      }
      out.push([y.re[b * L + l] - re, y.im[b * L + l] - im]);
    }
  }
  return out;
}

describe('channel:noma-rayleigh', () => {
  it('per-RE SNR: sigma^2 = 10^(-SNR/10) / L; per-symbol is 10 log10 L dB harder; received-total scales by sum p', () => {
    expect(nomaNoiseVar(10, { snrDefinition: 'per-re' }, 4)).to.be.closeTo(0.025, 1e-12);
    expect(nomaNoiseVar(10, { snrDefinition: 'per-symbol' }, 4)).to.be.closeTo(0.1, 1e-12);
    expect(nomaNoiseVar(10, { snrDefinition: 'received-total', expectedActive: 3.6 }, 4)).to.be.closeTo(0.09, 1e-12);
  });

  for (const mode of ['block', 'per-resource', 'awgn'] as const) {
    it(`${mode}: y = sum_n diag(h_n) tx_n + w with w ~ CN(0, sigma^2) (5 SE) and unit-power gains`, () => {
      const B = 800;
      const trials = { first: 0, count: B };
      const ch = new NomaRayleighChannel(params({ mode, snrDb: 0 }), scenario, new RandomStreams(['nr']));
      const tx = new RandomStreams(['tx']).complexNormal(trials, 'x', [6, 4], 1);
      const out = ch.propagate(tx, trials);
      expect(out.channel.re.shape).to.deep.equal(mode === 'block' ? [B, 6, 1] : [B, 6, 4, 1]);
      if (mode === 'awgn') expect(new Set(out.channel.re.dataSync())).to.deep.equal(new Set([1]));
      expect(out.y.re.shape).to.deep.equal([B, 4, 1]);
      expect(out.noiseVar).to.be.closeTo(0.25, 1e-12);
      const w = residual(cx.toArrays(tx), cx.toArrays(out.channel), cx.toArrays(out.y), B, mode === 'block');
      const n = w.length;
      for (const part of [0, 1]) {
        const v = w.reduce((s, a) => s + a[part] * a[part], 0) / n;
        expect(v).to.be.closeTo(0.125, 5 * 0.125 * Math.sqrt(2 / n));
      }
      const h = cx.toArrays(out.channel);
      let power = 0;
      for (let i = 0; i < h.re.length; i++) power += h.re[i] * h.re[i] + h.im[i] * h.im[i];
      power /= h.re.length;
      expect(power).to.be.closeTo(1, 5 * Math.sqrt(1 / h.re.length));
    });
  }

  it('an SNR set: each trial draws one of the set (noiseVarPerTrial), the receiver is not told sigma^2, and trials do not depend on the batch split', () => {
    const p = params({ snrDb: { set: [0, 20] } });
    expect(NomaRayleighChannel.plugin.provides?.(p, scenario)).to.deep.equal(['channelState']);
    const ch = new NomaRayleighChannel(p, scenario, new RandomStreams(['nr']));
    const tx = new RandomStreams(['tx']).complexNormal({ first: 0, count: 400 }, 'x', [6, 4], 1);
    const whole = ch.propagate(tx, { first: 0, count: 400 });
    const values = Array.from(whole.noiseVarPerTrial?.dataSync() ?? []);
    expect(new Set(values.map((v) => v.toFixed(6)))).to.deep.equal(new Set([(0.25).toFixed(6), (0.0025).toFixed(6)]));
    const high = values.filter((v) => v < 0.01).length;
    expect(high).to.be.within(200 - 5 * 10, 200 + 5 * 10); // Binomial(400, 1/2): sd 10
    const part = ch.propagate({ re: tx.re.slice([100, 0, 0], [50, 6, 4]), im: tx.im.slice([100, 0, 0], [50, 6, 4]) }, { first: 100, count: 50 });
    expect(Array.from(part.y.re.dataSync())).to.deep.equal(Array.from(whole.y.re.slice([100, 0, 0], [50, 4, 1]).dataSync()));
  });

  it('refuses several antennas and received-total without expectedActive', () => {
    const problems = NomaRayleighChannel.plugin.check?.(params({ snrDefinition: 'received-total' }), { ...scenario, numAntennas: 2 }) ?? [];
    expect(problems.map((p) => p.path)).to.deep.equal(['', 'expectedActive']);
  });
});
