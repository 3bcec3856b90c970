import { expect } from 'chai';
import {
  attentionComplexity,
  denseMultiplications,
  mmseSicComplexity,
  mpaComplexity,
  mpaComplexityRegular,
  mulVaeDetectorComplexity,
  mulVaeDetectorLayerCount,
  mulVaeEncoderComplexity,
  mulVaeEncoderLayerCount,
  mulVaeEncoderWidths,
  mulVaeSluiceWidths,
  mulVaeTaskDnnWidths,
  mulVaeTotalComplexity,
} from './complexity';

/** `x` rounded to `digits` significant digits, as the paper's Table I prints it. */
const sig = (x: number, digits = 3): number => Number(x.toPrecision(digits));

/** The SCMA factor graph of the simulated system (RE rows x user columns): d_v = 2, d_f = 3. */
const SCMA_F = [
  [0, 1, 1, 0, 1, 0],
  [1, 0, 1, 0, 0, 1],
  [0, 1, 0, 1, 0, 1],
  [1, 0, 0, 1, 1, 0],
];
/** Rates of the simulated system: users 1-3 at 1 bit, users 4-6 at 2 bits. */
const SIM_BITS = [1, 1, 1, 2, 2, 2];

describe('algorithms/complexity', () => {
  describe('building blocks', () => {
    it('counts a dense network as the sum of products of adjacent widths (Eq. (23))', () => {
      expect(denseMultiplications([3])).to.equal(0);
      expect(denseMultiplications([3, 5])).to.equal(15);
      expect(denseMultiplications([2, 16, 16, 16, 16, 8])).to.equal(32 + 3 * 256 + 128);
      expect(() => denseMultiplications([])).to.throw(RangeError);
      expect(() => denseMultiplications([4, 0])).to.throw(RangeError, 'widths[1]');
    });

    it('uses the layer shapes of the paper', () => {
      expect(mulVaeEncoderWidths(1, 4)).to.deep.equal([2, 16, 16, 16, 16, 8]);
      expect(mulVaeEncoderWidths(2, 4)).to.deep.equal([4, 32, 32, 32, 32, 8]);
      expect(mulVaeTaskDnnWidths(1, 4)).to.deep.equal([8, 16, 16, 16, 16, 16, 2]);
      expect(mulVaeSluiceWidths(SIM_BITS, 1)).to.deep.equal([18, 16, 16, 16, 16, 16, 42]);
      expect(mulVaeSluiceWidths(SIM_BITS)).to.deep.equal([18, 32, 32, 32, 32, 32, 42]); // default R = max = 2
    });

    it('encoder closed form (Eq. (24)) equals the layer-shape count', () => {
      for (const K of [1, 2, 4, 7]) {
        for (const bits of [[0], [1], [2], [3], [1, 1, 1, 2, 2, 2], [3, 0, 5]]) {
          expect(mulVaeEncoderComplexity(bits, K), `K=${K} bits=${bits}`).to.equal(mulVaeEncoderLayerCount(bits, K));
        }
      }
    });

    it('per-task DNN blocks cost 264 M^2 + 16 K M each, as in the first line of Eq. (26)', () => {
      for (const K of [2, 4]) {
        for (const r of [0, 1, 2, 3]) {
          const M = 2 ** r;
          expect(denseMultiplications(mulVaeTaskDnnWidths(r, K))).to.equal(264 * M * M + 16 * K * M);
        }
      }
    });

    it('detector closed form (Eq. (26)) equals the layer-shape count when all users share one rate', () => {
      for (const K of [2, 4]) {
        for (const N of [1, 6, 50]) {
          for (const r of [0, 1, 2, 3]) {
            const bits = new Array<number>(N).fill(r);
            expect(mulVaeDetectorComplexity(bits, K).total, `K=${K} N=${N} R=${r}`).to.equal(mulVaeDetectorLayerCount(bits, K).total);
          }
        }
      }
    });

    it('rejects invalid arguments with a message naming them', () => {
      expect(() => mulVaeEncoderComplexity([], 4)).to.throw(RangeError, 'bits');
      expect(() => mulVaeEncoderComplexity([1, 1.5], 4)).to.throw(RangeError, 'bits[1]');
      expect(() => attentionComplexity(0, 3)).to.throw(RangeError, 'K');
      expect(() => mulVaeDetectorComplexity([1], 4, -1)).to.throw(RangeError, 'sluiceRate');
      expect(() => mpaComplexityRegular(5, 4, 1, 5)).to.throw(RangeError, 'not an integer');
      expect(() => mpaComplexity({ iterations: 5, factorGraph: [[1, 0]], bits: [1] })).to.throw(RangeError, 'row 0');
      expect(() => mpaComplexity({ iterations: 5, factorGraph: [[2]], bits: [1] })).to.throw(RangeError, '0 or 1');
    });
  });

  describe('Table I (K = 4, R = 1, N_iter = 5)', () => {
    const K = 4;
    const table = [
      // N, Mul-VAE exact, Mul-VAE printed, MPA printed, MMSE-SIC exact, MMSE-SIC printed
      { N: 50, mulVae: 211_424, mulVaePaper: 2.11e5, mpaPaper: 8.39e11, sic: 1_040_400, sicPaper: 1.04e6 },
      { N: 100, mulVae: 501_824, mulVaePaper: 5.02e5, mpaPaper: 1.13e20, sic: 8_160_800, sicPaper: 8.16e6 },
      // The paper prints 1.01e9 for MMSE-SIC at N = 500; Eq. (30) gives 1.004e9 (rounding slip).
      { N: 500, mulVae: 5_705_024, mulVaePaper: 5.71e6, mpaPaper: 4.52e81, sic: 1_004_004_000, sicPaper: 1.0e9 },
    ];
    for (const row of table) {
      it(`N = ${row.N}`, () => {
        const bits = new Array<number>(row.N).fill(1);
        const total = mulVaeTotalComplexity(bits, K, 1).total;
        expect(total).to.equal(row.mulVae);
        expect(sig(total)).to.equal(row.mulVaePaper);
        expect(mulVaeTotalComplexity(bits, K).total).to.equal(row.mulVae); // default R = max = 1
        expect(sig(mpaComplexityRegular(row.N, K, 1, 5))).to.equal(row.mpaPaper);
        expect(mmseSicComplexity(row.N, K)).to.equal(row.sic);
        expect(sig(mmseSicComplexity(row.N, K), 3)).to.equal(row.sicPaper);
      });
    }

    it('MPA at N = 50 is exactly 25,000 * 2^25', () => {
      expect(mpaComplexityRegular(50, K, 1, 5)).to.equal(25_000 * 2 ** 25);
    });

    it('reproduces the quoted ratios at N = 50 (2.5e-5 % of MPA, 20.3 % of MMSE-SIC)', () => {
      const mulVae = mulVaeTotalComplexity(new Array<number>(50).fill(1), K).total;
      expect(sig(mulVae / mpaComplexityRegular(50, K, 1, 5))).to.equal(2.52e-7);
      expect(sig(mulVae / mmseSicComplexity(50, K), 4)).to.equal(0.2032);
    });
  });

  describe('the simulated system (N = 6, K = 4, R = 1,1,1,2,2,2)', () => {
    const K = 4;

    it('encoder, attention and multi-task parts', () => {
      expect(mulVaeEncoderComplexity(SIM_BITS, K)).to.equal(13_152);
      expect(attentionComplexity(K, 6)).to.equal(384);
      const r1 = mulVaeDetectorComplexity(SIM_BITS, K, 1);
      const r2 = mulVaeDetectorComplexity(SIM_BITS, K, 2);
      expect(r1.perUser).to.equal(34_464);
      expect(r2.perUser).to.equal(34_464);
      expect(r1.sluice).to.equal(1_696);
      expect(r2.sluice).to.equal(5_440);
      expect(mulVaeDetectorComplexity(SIM_BITS, K)).to.deep.equal(r2); // default R = max = 2
    });

    it('total (Eq. (27)) with the encoder and the detector reported separately', () => {
      const t1 = mulVaeTotalComplexity(SIM_BITS, K, 1);
      expect(t1).to.deep.include({ encoder: 13_152, attention: 384, detector: 384 + 34_464 + 1_696, total: 49_696 });
      const t2 = mulVaeTotalComplexity(SIM_BITS, K, 2);
      expect(t2.detector).to.equal(384 + 34_464 + 5_440);
      expect(t2.total).to.equal(53_440);
      // Eq. (27) written out: sum_n (736 M_n^2 + 48 K M_n) + 256 * 4^R + 8 (N^2 + N) 2^R + 4 K^2 N.
      const eq27 = (R: number) => SIM_BITS.reduce((s, r) => s + 736 * 4 ** r + 48 * K * 2 ** r, 0) + 256 * 4 ** R + 8 * 42 * 2 ** R + 4 * K * K * 6;
      expect(t1.total).to.equal(eq27(1));
      expect(t2.total).to.equal(eq27(2));
    });

    it('the layer-shape detector count differs from Eq. (26) with mixed rates by 8 (2^R sum M - sum M^2)', () => {
      // Per-task DNNs: 2 (3 (264*4 + 16*4*2) + 3 (264*16 + 16*4*4)) = 33,984; sluice input sum M = 18.
      const l1 = mulVaeDetectorLayerCount(SIM_BITS, K, 1);
      expect(l1.taskDnns).to.equal(33_984);
      expect(l1.sluiceDnn).to.equal(18 * 16 + 1_696);
      expect(l1.total - mulVaeDetectorComplexity(SIM_BITS, K, 1).total).to.equal(8 * (2 * 18 - 60)); // -192
      const l2 = mulVaeDetectorLayerCount(SIM_BITS, K, 2);
      expect(l2.total - mulVaeDetectorComplexity(SIM_BITS, K, 2).total).to.equal(8 * (4 * 18 - 60)); // +96
    });

    it('MPA on the actual factor graph: 2 * 5 * 3^2 * (16 + 16 + 32 + 32) = 8,640', () => {
      expect(mpaComplexity({ iterations: 5, factorGraph: SCMA_F, bits: SIM_BITS })).to.equal(8_640);
    });

    it('MPA on a regular graph with one rate equals Eqs. (28)-(29)', () => {
      const allTwo = new Array<number>(6).fill(2);
      const exact = mpaComplexity({ iterations: 5, factorGraph: SCMA_F, bits: allTwo });
      expect(exact).to.equal(2 * 5 * K * 9 * 64); // Eq. (28): 23,040
      expect(mpaComplexityRegular(6, K, 2, 5)).to.equal(exact); // Eq. (29), d_f = 2N/K = 3
    });

    it('MMSE-SIC (Eq. (30)) = 2,352', () => {
      expect(mmseSicComplexity(6, K)).to.equal(2_352);
    });
  });
});
