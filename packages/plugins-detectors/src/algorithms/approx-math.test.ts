import { expect } from 'chai';
import { approxExp, approxLog, preciseExp } from './approx-math';
import { Generator } from '@gfra/core';

describe('algorithms/approx-math', () => {
  it('approxExp: e^x to 4e-10 relative over the double range (its Taylor remainder bound), 0 below -708, Infinity from 709, NaN for NaN', () => {
    let worst = 0;
    for (let i = 0; i <= 200000; i++) {
      const x = -708 + (1416.99 * i) / 200000;
      worst = Math.max(worst, Math.abs(approxExp(x) / Math.exp(x) - 1));
    }
    for (const x of [0, 1e-12, -1e-12, 0.5 * Math.LN2, -0.5 * Math.LN2, 1, -1, 88.7, -87.3]) worst = Math.max(worst, Math.abs(approxExp(x) / Math.exp(x) - 1));
    expect(worst).to.be.below(4e-10);
    expect(approxExp(0)).to.equal(1);
    expect(approxExp(-709)).to.equal(0);
    expect(approxExp(709)).to.equal(Infinity);
    expect(approxExp(Infinity)).to.equal(Infinity);
    expect(approxExp(-Infinity)).to.equal(0);
    expect(approxExp(NaN)).to.be.NaN;
  });

  it('preciseExp: e^x to 4 ulps over -708 .. 709 (against Math.exp, itself within 1 ulp), 0 below, Infinity above, NaN for NaN', () => {
    const g = Generator.fromKey(['approx-math', 'exp']);
    let worst = 0;
    for (let i = 0; i < 200_000; i++) {
      const x = -708 + 1417 * g.uniform();
      worst = Math.max(worst, Math.abs(preciseExp(x) / Math.exp(x) - 1));
    }
    for (const x of [0, 1e-300, -1e-12, 0.5 * Math.LN2, -0.5 * Math.LN2, 1, -1, -707.9, 708.9]) worst = Math.max(worst, Math.abs(preciseExp(x) / Math.exp(x) - 1));
    expect(worst).to.be.below(4 * 2 ** -53);
    expect(preciseExp(0)).to.equal(1);
    expect(preciseExp(-709)).to.equal(0);
    expect(preciseExp(709)).to.equal(Infinity);
    expect(preciseExp(-Infinity)).to.equal(0);
    expect(preciseExp(NaN)).to.be.NaN;
  });

  it('approxLog: ln x to 1e-13 relative (and 1e-17 absolute near 1) over the normal and subnormal range; -Infinity at 0, NaN below 0', () => {
    const g = Generator.fromKey(['approx-math', 'log']);
    let relative = 0;
    let nearOne = 0;
    for (let i = 0; i < 200_000; i++) {
      const x = Math.exp(-744 + 1453 * g.uniform());
      if (x > 0 && x < Infinity && Math.abs(Math.log(x)) > 1e-3) relative = Math.max(relative, Math.abs(approxLog(x) / Math.log(x) - 1));
      const y = 1 + 0.02 * (g.uniform() - 0.5);
      nearOne = Math.max(nearOne, Math.abs(approxLog(y) - Math.log(y)));
    }
    expect(relative).to.be.below(1e-13);
    expect(nearOne).to.be.below(1e-17);
    expect(approxLog(1)).to.equal(0);
    expect(Math.abs(approxLog(2 ** -1060) / Math.log(2 ** -1060) - 1)).to.be.below(1e-13);
    expect(approxLog(0)).to.equal(-Infinity);
    expect(approxLog(-1)).to.be.NaN;
    expect(approxLog(Infinity)).to.equal(Infinity);
    expect(approxLog(NaN)).to.be.NaN;
  });
});
