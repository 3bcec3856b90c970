import { expect } from 'chai';
import { blockSpectralNorm, coherenceMeasures } from './coherence';
import { Generator } from './rng';

/** Row-major [L, N] host arrays from columns given as [re[], im[]] pairs. */
function fromColumns(cols: [number[], number[]][]): { re: number[]; im: number[]; L: number; N: number } {
  const N = cols.length;
  const L = cols[0][0].length;
  const re = new Array<number>(L * N);
  const im = new Array<number>(L * N);
  cols.forEach(([r, i], n) => r.forEach((_, l) => ((re[l * N + n] = r[l]), (im[l * N + n] = i[l]))));
  return { re, im, L, N };
}

function gaussian(L: number, N: number, key: string): { re: number[]; im: number[] } {
  const g = Generator.fromKey(['coherence.test', key]);
  return { re: Array.from({ length: L * N }, () => g.normal()), im: Array.from({ length: L * N }, () => g.normal()) };
}

describe('coherence measures (Cui, Li, Zhang [Cui2021], Figs. 5(e), 6(d-e), 11(e-f))', () => {
  it('hand cases: orthogonal columns 0, repeated column 1, 45 degrees 1/sqrt(2), scale-free', () => {
    // 4-point DFT columns: orthogonal
    const dft = Array.from({ length: 4 }, (_, n) => [Array.from({ length: 4 }, (_, l) => Math.cos((2 * Math.PI * l * n) / 4)), Array.from({ length: 4 }, (_, l) => -Math.sin((2 * Math.PI * l * n) / 4))] as [number[], number[]]);
    const a = fromColumns(dft);
    expect(coherenceMeasures(a.re, a.im, a.L, a.N).coherence).to.be.below(1e-12);
    const b = fromColumns([[[1, 0], [0, 0]], [[0, 0], [3, 0]]]); // e1 and 3i e1: |c1^H c2| = 1
    expect(coherenceMeasures(b.re, b.im, b.L, b.N).coherence).to.be.closeTo(1, 1e-12);
    const c = fromColumns([[[2, 0], [0, 0]], [[1, 1], [0, 0]]]);
    expect(coherenceMeasures(c.re, c.im, c.L, c.N).coherence).to.be.closeTo(Math.SQRT1_2, 1e-12);
  });

  it('block spectral norm equals the closed-form largest singular value of a 2 x 2 block', () => {
    const { re, im } = gaussian(3, 4, 'block');
    const out = coherenceMeasures(re, im, 3, 4, 2);
    // Independent route: W = C[0]^H C[1] (2 x 2 complex) from normalised columns, then
    // sigma_max^2 = (t + sqrt(t^2 - 4 det)) / 2 for the Hermitian W^H W.
    const col = (n: number) => {
      const v = [0, 1, 2].map((l) => [re[l * 4 + n], im[l * 4 + n]]);
      const s = Math.sqrt(v.reduce((a, [x, y]) => a + x * x + y * y, 0));
      return v.map(([x, y]) => [x / s, y / s]);
    };
    const dot = (i: number, j: number) => col(i).reduce(([ar, ai], [xr, xi], l) => [ar + xr * col(j)[l][0] + xi * col(j)[l][1], ai + xr * col(j)[l][1] - xi * col(j)[l][0]], [0, 0]);
    const W = [[dot(0, 2), dot(0, 3)], [dot(1, 2), dot(1, 3)]];
    // H = W^H W
    const h = (p: number, q: number) => [0, 1].reduce(([sr, si], a) => [sr + W[a][p][0] * W[a][q][0] + W[a][p][1] * W[a][q][1], si + W[a][p][0] * W[a][q][1] - W[a][p][1] * W[a][q][0]], [0, 0]);
    const [h00, h11, h01] = [h(0, 0)[0], h(1, 1)[0], h(0, 1)];
    const t = h00 + h11;
    const det = h00 * h11 - (h01[0] ** 2 + h01[1] ** 2);
    const sigma = Math.sqrt((t + Math.sqrt(t * t - 4 * det)) / 2);
    expect(out.blockCoherence).to.be.closeTo(sigma / 2, 1e-9);
    expect(out.blockCoherenceMean).to.be.closeTo(sigma / 2, 1e-9); // two groups: both see the same pair
    expect(out.subCoherence).to.be.closeTo(Math.max(Math.hypot(...dot(0, 1)), Math.hypot(...dot(2, 3))), 1e-12);
    expect(out.subCoherenceMean).to.be.closeTo((Math.hypot(...dot(0, 1)) + Math.hypot(...dot(2, 3))) / 2, 1e-12);
  });

  it('one device per group: block-coherence is the coherence and there is no sub-coherence', () => {
    const { re, im } = gaussian(5, 10, 'single');
    const m = coherenceMeasures(re, im, 5, 10, 10);
    expect(m.blockCoherence).to.be.closeTo(m.coherence, 1e-9);
    expect(m.subCoherence).to.equal(undefined);
  });

  it('Gaussian pilots respect the Welch bound mu >= sqrt((N - L) / (L (N - 1)))', () => {
    const [L, N] = [8, 40];
    const { re, im } = gaussian(L, N, 'welch');
    const m = coherenceMeasures(re, im, L, N, 8);
    expect(m.coherence).to.be.at.least(Math.sqrt((N - L) / (L * (N - 1))));
    expect(m.coherence).to.be.at.most(1);
    expect(m.subCoherence).to.be.at.most(m.coherence);
    expect(m.blockCoherenceMean).to.be.at.most(m.blockCoherence as number);
  });

  it('power iteration on a zero block returns 0; bad shapes and groups are clear errors', () => {
    const gram = { re: new Float64Array(16), im: new Float64Array(16) };
    expect(blockSpectralNorm(gram, 4, 0, 1, 2)).to.equal(0);
    expect(() => coherenceMeasures([1, 2, 3], [0, 0, 0], 2, 2)).to.throw(/expected 2 x 2 = 4 entries/);
    expect(() => coherenceMeasures([1, 0, 0, 0], [0, 0, 0, 0], 2, 2)).to.throw(/column 1 of the pilot matrix is zero/);
    const { re, im } = gaussian(3, 6, 'groups');
    expect(() => coherenceMeasures(re, im, 3, 6, 4)).to.throw(/divisor of N = 6/);
  });
});
