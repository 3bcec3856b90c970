import { expect } from 'chai';
import { annulusMeanPathGain, pathLossGain } from './path-loss';

/** E[beta] by a midpoint integral over the area density 2d / (R^2 - r^2). */
function integral(r: number, R: number, a: number, b: number): number {
  const steps = 200000;
  let sum = 0;
  for (let i = 0; i < steps; i++) {
    const d = r + ((i + 0.5) / steps) * (R - r);
    sum += ((2 * d) / (R * R - r * r)) * 10 ** (-(a + b * Math.log10(d)) / 10) * ((R - r) / steps);
  }
  return sum;
}

describe('path loss', () => {
  it('PL(d) = a + b log10 d: 128.1 dB at 1 km, 37.6 dB more per decade', () => {
    const p = { pathLossDb: 128.1, pathLossExponentDb: 37.6 };
    expect(10 * Math.log10(pathLossGain(p, 1))).to.be.closeTo(-128.1, 1e-9);
    expect(10 * Math.log10(pathLossGain(p, 0.1) / pathLossGain(p, 1))).to.be.closeTo(37.6, 1e-9);
  });

  it('the annulus mean gain matches a numerical integral (exponent 3.76 and the p = 2 branch); shadowing multiplies it by exp((s ln10 / 10)^2 / 2)', () => {
    for (const [a, b] of [[128.1, 37.6], [100, 20]]) {
      const g = { minDistanceKm: 0.1, maxDistanceKm: 0.3, pathLossDb: a, pathLossExponentDb: b };
      expect(annulusMeanPathGain(g) / integral(0.1, 0.3, a, b)).to.be.closeTo(1, 1e-6);
      const shadowed = annulusMeanPathGain({ ...g, shadowingDb: 8 });
      expect(shadowed / annulusMeanPathGain(g)).to.be.closeTo(Math.exp(((8 * Math.LN10) / 10) ** 2 / 2), 1e-12);
    }
  });
});
