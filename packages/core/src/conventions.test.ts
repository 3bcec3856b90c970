import { expect } from 'chai';
import { esN0FromEbN0, fromDb, largeScaleFadingForSnr, noiseVarForEbN0, toDb } from './conventions';

describe('conventions', () => {
  it('converts dB both ways', () => {
    expect(fromDb(10)).to.be.closeTo(10, 1e-12);
    expect(toDb(100)).to.be.closeTo(20, 1e-12);
  });
  it('beta = sigma^2 10^(SNR/10)', () => {
    expect(largeScaleFadingForSnr(10, 2)).to.be.closeTo(20, 1e-12);
  });
  it('Eb/N0: sigma^2 = Es / (J 10^(EbN0/10)); Es/N0 = lambda J Eb/N0', () => {
    // SCMA: N = 6 users, L = 4 REs, J = 2 bits, Es = 1, Eb/N0 = 10 dB -> sigma^2 = 1/20
    expect(noiseVarForEbN0(10, 1, 2)).to.be.closeTo(0.05, 1e-12);
    expect(esN0FromEbN0(10, 6, 4, 2)).to.be.closeTo(10 + toDb(3), 1e-12);
    expect(() => noiseVarForEbN0(0, 1, 0)).to.throw(/bitsPerDevice > 0/);
  });
});
