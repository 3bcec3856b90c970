import { expect } from 'chai';
import {
  crossCorrelation,
  framePotential,
  MUSA_3LEVEL_6X4,
  musa3Level,
  musa3LevelSearch,
  musaGreedy,
  musaGreedyCodes,
  normalise,
  quantizeSignatures,
  signatureDiagnostics,
  wbeChirp,
  weightedCrossCorrelation,
  wfpSignatures,
} from './signature-sets';

const P_ASY = [0.8, 0.8, 0.8, 0.4, 0.4, 0.4];

describe('signature-sets', () => {
  it('chirp WBE (N=6, L=4) is a unit-norm tight frame: S S^H = (N/L) I', () => {
    const s = wbeChirp(6, 4);
    for (let a = 0; a < 4; a++) {
      for (let b = 0; b < 4; b++) {
        // (S S^H)_{ab} = Σ_n s_n(a) conj(s_n(b))
        let re = 0;
        let im = 0;
        for (let n = 0; n < 6; n++) {
          re += s.re[n][a] * s.re[n][b] + s.im[n][a] * s.im[n][b];
          im += s.im[n][a] * s.re[n][b] - s.re[n][a] * s.im[n][b];
        }
        expect(re, `(S S^H)[${a},${b}] re`).to.be.closeTo(a === b ? 6 / 4 : 0, 1e-5);
        expect(im, `(S S^H)[${a},${b}] im`).to.be.closeTo(0, 1e-5);
      }
    }
    expect(framePotential(s)).to.be.closeTo(36 / 4, 1e-9);
  });

  it('chirp WBE |c_ij| is 0, 0.25 or 0.4330 by circular index distance 3, 2, 1', () => {
    const c = crossCorrelation(wbeChirp(6, 4));
    const expected = [1, 0.4330127, 0.25, 0];
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j < 6; j++) {
        const d = Math.min((i - j + 6) % 6, (j - i + 6) % 6);
        expect(c[i][j], `|c_${i}${j}|`).to.be.closeTo(expected[d], 1e-4);
      }
    }
  });

  it('CCw (squared, eq. (29)) of chirp WBE with p_asy is 1.1/30', () => {
    expect(weightedCrossCorrelation(wbeChirp(6, 4), P_ASY)).to.be.closeTo(1.1 / 30, 1e-5);
  });

  it('the shipped MUSA fixture: CCw 0.0361 and frame potential 9.05', () => {
    const m = musa3Level(6, 4);
    expect(m).to.deep.equal(MUSA_3LEVEL_6X4);
    expect(weightedCrossCorrelation(m, P_ASY)).to.be.closeTo(0.0361, 1e-3);
    expect(framePotential(m)).to.be.closeTo(9.05, 0.01);
    const c = crossCorrelation(m);
    for (let i = 0; i < 6; i++) for (let j = i + 1; j < 6; j++) expect(c[i][j]).to.be.within(0.2 - 1e-9, 0.4473);
  });

  it('the MUSA search is deterministic, 3-level, starts with 1 and stays near the Welch bound', () => {
    const a = musa3LevelSearch(6, 4, 3);
    expect(musa3LevelSearch(6, 4, 3)).to.deep.equal(a);
    expect(musa3Level(6, 4, 3)).to.deep.equal(a);
    for (let n = 0; n < 6; n++) {
      expect([a.re[n][0], a.im[n][0]]).to.deep.equal([1, 0]);
      for (const x of [...a.re[n], ...a.im[n]]) expect([-1, 0, 1]).to.include(x);
    }
    // Welch bound 9; the fixture reaches 9.05 (loose: a different generator finds another local optimum)
    expect(framePotential(a)).to.be.within(9 - 1e-9, 9.5);
  });

  it('quantized chirp WBE (Q = 2) picks c = 1.8 and has CCw 0.0375', () => {
    const { set, scale } = quantizeSignatures(wbeChirp(6, 4), 2);
    expect(scale).to.equal(1.8);
    for (let n = 0; n < 6; n++) {
      const row = [...set.re[n], ...set.im[n]];
      for (const x of row) expect(Number.isInteger(x) && Math.abs(x) <= 2, `entry ${x}`).to.equal(true);
      expect(row.some((x) => x !== 0), `row ${n} not all zero`).to.equal(true);
    }
    expect(weightedCrossCorrelation(set, P_ASY)).to.be.closeTo(0.0375, 1e-3);
  });

  it('the paper-literal CCw is at least Σ p_i^2 / (N(N-1)) = 0.08 for p_asy', () => {
    for (const s of [wbeChirp(6, 4), musa3Level(6, 4), quantizeSignatures(wbeChirp(6, 4), 2).set]) {
      expect(weightedCrossCorrelation(s, P_ASY, 'paper-literal')).to.be.at.least(0.08 - 1e-12);
    }
  });

  it('wfp lowers CCw below WBE (reference 0.028) and makes the frequent devices nearly orthogonal', () => {
    const s = wfpSignatures(P_ASY, 4, 0);
    for (let n = 0; n < 6; n++) expect(s.re[n].reduce((t, x, k) => t + x * x + s.im[n][k] ** 2, 0)).to.be.closeTo(1, 1e-9);
    const d = signatureDiagnostics(s, P_ASY);
    expect(d.ccw).to.be.below(weightedCrossCorrelation(wbeChirp(6, 4), P_ASY));
    expect(d.ccw).to.be.closeTo(0.028, 2e-3);
    expect(d['cc-frequent']).to.be.below(d['cc-other']);
  });

  it('diagnostics: ccw, cc-max, and the group means only with unequal p', () => {
    const w = wbeChirp(6, 4);
    const d = signatureDiagnostics(w, P_ASY);
    expect(Object.keys(d).sort()).to.deep.equal(['cc-frequent', 'cc-max', 'cc-other', 'ccw']);
    expect(d['cc-max']).to.be.closeTo(0.4330127, 1e-6);
    // pairs among devices 0..2: distances 1, 2, 1 -> mean (0.433 + 0.25 + 0.433) / 3
    expect(d['cc-frequent']).to.be.closeTo((2 * 0.4330127 + 0.25) / 3, 1e-6);
    expect(Object.keys(signatureDiagnostics(w, new Array(6).fill(0.5))).sort()).to.deep.equal(['cc-max', 'ccw']);
  });

  it('normalise names an all-zero signature', () => {
    expect(() => normalise({ re: [[1, 0], [0, 0]], im: [[0, 0], [0, 0]] })).to.throw(/device 1 is all zero/);
  });
  it('musaGreedy (N = 6, L = 4): deterministic, no zero chip, unit rows, max |c_i^H c_j| = 0.5, the pinned codes', () => {
    const codes = musaGreedyCodes(6, 4);
    expect(musaGreedyCodes(6, 4)).to.deep.equal(codes);
    // every chip is ±(1 + j): the first candidate (-1 - j)(1, 1, 1, 1), three Hadamard-like rows
    // orthogonal to it, then two rows at |c| = 0.5 from the first four (the Welch bound is 0.316)
    const rows = [
      [-1, -1, -1, -1],
      [-1, -1, 1, 1],
      [-1, 1, -1, 1],
      [-1, 1, 1, -1],
      [-1, -1, -1, 1],
      [-1, -1, 1, -1],
    ];
    expect(codes).to.deep.equal({ re: rows, im: rows });
    for (let n = 0; n < 6; n++) for (let k = 0; k < 4; k++) expect(codes.re[n][k] !== 0 || codes.im[n][k] !== 0, `chip ${n},${k}`).to.equal(true);
    const unit = musaGreedy(6, 4);
    expect(unit).to.deep.equal(normalise(codes));
    for (let n = 0; n < 6; n++) expect(unit.re[n].reduce((t, x, k) => t + x * x + unit.im[n][k] ** 2, 0)).to.be.closeTo(1, 1e-12);
    const c = crossCorrelation(codes);
    let max = 0;
    for (let i = 0; i < 6; i++) for (let j = i + 1; j < 6; j++) max = Math.max(max, c[i][j]);
    expect(max).to.be.closeTo(0.5, 1e-12);
    // other sizes: N rows, no zero chip, and refusals
    const small = musaGreedyCodes(3, 2);
    expect(small.re).to.have.length(3);
    expect(small.re[0]).to.deep.equal([-1, -1]);
    expect(small.im[0]).to.deep.equal([-1, -1]);
    expect(() => musaGreedyCodes(2, 8)).to.throw(/8\^L/);
    expect(() => musaGreedyCodes(65, 2)).to.throw(/exceeds the 64 candidates/);
  });
});
