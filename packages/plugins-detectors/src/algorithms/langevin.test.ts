import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { RandomStreams, type ComplexTensor } from '@gfra/core';
import { annealedLangevin, largestEigenvalue, langevinStep, type LangevinSchedule } from './langevin';
import { GaussianScore, geometricLevels } from './score-models';

type C = { re: number; im: number };
const cmul = (a: C, b: C): C => ({ re: a.re * b.re - a.im * b.im, im: a.re * b.im + a.im * b.re });
const cdiv = (a: C, b: C): C => {
  const d = b.re * b.re + b.im * b.im;
  return { re: (a.re * b.re + a.im * b.im) / d, im: (a.im * b.re - a.re * b.im) / d };
};

/** Solve S Z = R (S [n, n], R [n, k] complex) by Gauss-Jordan with partial pivoting, float64. */
function solve(S: C[][], R: C[][]): C[][] {
  const n = S.length;
  const a = S.map((row, i) => [...row.map((v) => ({ ...v })), ...R[i].map((v) => ({ ...v }))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.hypot(a[r][c].re, a[r][c].im) > Math.hypot(a[p][c].re, a[p][c].im)) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    const pivot = a[c][c];
    a[c] = a[c].map((v) => cdiv(v, pivot));
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r][c];
      a[r] = a[r].map((v, j) => ({ re: v.re - cmul(f, a[c][j]).re, im: v.im - cmul(f, a[c][j]).im }));
    }
  }
  return a.map((row) => row.slice(n));
}

/** LMMSE of X [N, M] with prior CN(0, I) per trial: A^H (A A^H + s2 I)^-1 Y, float64. Returns [B][N][M]. */
function lmmse(A: C[][], Y: C[][][], s2: number): C[][][] {
  const L = A.length;
  const N = A[0].length;
  const S = Array.from({ length: L }, (_, i) =>
    Array.from({ length: L }, (_, j) => {
      let v: C = { re: i === j ? s2 : 0, im: 0 };
      for (let n = 0; n < N; n++) {
        const t = cmul(A[i][n], { re: A[j][n].re, im: -A[j][n].im });
        v = { re: v.re + t.re, im: v.im + t.im };
      }
      return v;
    }),
  );
  return Y.map((y) => {
    const Z = solve(S, y); // [L, M]
    return Array.from({ length: N }, (_, n) =>
      Array.from({ length: y[0].length }, (_, m) => {
        let v: C = { re: 0, im: 0 };
        for (let l = 0; l < L; l++) {
          const t = cmul({ re: A[l][n].re, im: -A[l][n].im }, Z[l][m]);
          v = { re: v.re + t.re, im: v.im + t.im };
        }
        return v;
      }),
    );
  });
}

/** A Gaussian problem: X ~ CN(0, I) [B, N, M], unit-norm QPSK pilots A [L, N], Y = A X + CN(0, s2). */
function gaussianProblem(B: number, N: number, M: number, L: number, s2: number, key: string) {
  const g = new RandomStreams([key]).onceGenerator('problem');
  const q = 1 / Math.sqrt(2 * L);
  const A: C[][] = Array.from({ length: L }, () => Array.from({ length: N }, () => ({ re: g.uniform() < 0.5 ? q : -q, im: g.uniform() < 0.5 ? q : -q })));
  const X: C[][][] = Array.from({ length: B }, () => Array.from({ length: N }, () => Array.from({ length: M }, () => ({ re: g.normal() * Math.SQRT1_2, im: g.normal() * Math.SQRT1_2 }))));
  const Y: C[][][] = X.map((x) =>
    Array.from({ length: L }, (_, l) =>
      Array.from({ length: M }, (_, m) => {
        let v: C = { re: g.normal() * Math.sqrt(s2 / 2), im: g.normal() * Math.sqrt(s2 / 2) };
        for (let n = 0; n < N; n++) {
          const t = cmul(A[l][n], x[n][m]);
          v = { re: v.re + t.re, im: v.im + t.im };
        }
        return v;
      }),
    ),
  );
  const tensor = (v: C[][][] | C[][]): ComplexTensor => {
    const flat = (v as unknown[]).flat(2) as C[];
    const shape = Array.isArray((v as C[][][])[0][0]) ? [v.length, (v as C[][][])[0].length, (v as C[][][])[0][0].length] : [v.length, (v as C[][])[0].length];
    return { re: tf.tensor(flat.map((c) => c.re), shape), im: tf.tensor(flat.map((c) => c.im), shape) };
  };
  return { A, X, Y, pilots: tensor(A), y: tensor(Y) };
}

const sq = (a: C[][][], b: C[][][]) => a.reduce((s, x, i) => s + x.reduce((t, row, n) => t + row.reduce((u, v, m) => u + (v.re - b[i][n][m].re) ** 2 + (v.im - b[i][n][m].im) ** 2, 0), 0), 0);
const toNested = (t: ComplexTensor): C[][][] => {
  const [B, N, M] = t.re.shape;
  const [re, im] = [t.re.dataSync(), t.im.dataSync()];
  return Array.from({ length: B }, (_, b) => Array.from({ length: N }, (_, n) => Array.from({ length: M }, (_, m) => ({ re: re[(b * N + n) * M + m], im: im[(b * N + n) * M + m] }))));
};

/** Langevin noise keyed per step (the detector keys it per trial; here one stream is enough). */
const noiseFor = (B: number, N: number, M: number, key: string) => (k: number) => new RandomStreams([key, k]).complexNormalOnce('xi', [B, N, M], 2);

const schedule = (p: Partial<LangevinSchedule>): LangevinSchedule => ({
  levels: geometricLevels(10, 1e-3, 200),
  stepsPerLevel: 3,
  mode: 'recommended',
  stepScale: 0.5,
  temperature: 0.9,
  likelihoodGain: 2,
  ...p,
});

describe('algorithms/langevin', () => {
  it('largest eigenvalue of A^H A by power iteration: diagonal and 2 x 2 Hermitian closed forms', () => {
    // A = diag(1, 2j): A^H A = diag(1, 4)
    expect(largestEigenvalue([1, 0, 0, 0], [0, 0, 0, 2], 2, 2)).to.be.closeTo(4, 1e-9);
    // A = [[1, 1 + j], [0, 2]]: A^H A = [[1, 1 + j], [1 - j, 6]], eigenvalues (7 +- sqrt(25 + 8)) / 2
    expect(largestEigenvalue([1, 1, 0, 2], [0, 1, 0, 0], 2, 2)).to.be.closeTo((7 + Math.sqrt(33)) / 2, 1e-9);
  });

  it('step rule: min(sigma^2, v / (2 lambda)) scaled by c, with v = s2 + 2 gamma sigma^2; the paper rule alpha_0 r^i', () => {
    const s = schedule({ levels: [10, 0.1], stepScale: 0.5, likelihoodGain: 2 });
    const close = (got: { step: number; variance: number }, step: number, variance: number) => {
      expect(got.step).to.be.closeTo(step, 1e-12);
      expect(got.variance).to.be.closeTo(variance, 1e-12);
    };
    close(langevinStep(s, 0, 0.2, 8), 0.5 * ((0.2 + 400) / 16), 0.2 + 400); // likelihood-limited
    close(langevinStep(s, 1, 0.2, 8), 0.5 * 0.01, 0.2 + 0.04); // prior-limited
    const p = schedule({ levels: [10, 0.1], mode: 'paper', paperStep: { initial: 0.1, decay: 0.9 } });
    close(langevinStep(p, 1, 0.2, 8), 0.1 * 0.81, 0.2 + 0.01);
  });

  it('sign: one step from X = 0 with a flat prior moves X along A^H Y (both forms)', () => {
    const P = gaussianProblem(4, 8, 2, 6, 0.1, 'sign');
    for (const mode of ['recommended', 'paper'] as const) {
      const init = { re: tf.zeros([4, 8, 2]), im: tf.zeros([4, 8, 2]) };
      const x = annealedLangevin(new GaussianScore(1e9), { y: P.y, pilots: P.pilots, noiseVar: 0.1, init, noise: noiseFor(4, 8, 2, 'sign') }, schedule({ levels: [1], stepsPerLevel: 1, temperature: 0, mode, paperStep: { initial: 0.1, decay: 0.9 } }));
      const got = toNested(x);
      // <X, A^H Y> = Re sum conj(x) (A^H y)
      let inner = 0;
      P.Y.forEach((y, b) => {
        for (let n = 0; n < 8; n++) {
          for (let m = 0; m < 2; m++) {
            let v: C = { re: 0, im: 0 };
            for (let l = 0; l < 6; l++) {
              const t = cmul({ re: P.A[l][n].re, im: -P.A[l][n].im }, y[l][m]);
              v = { re: v.re + t.re, im: v.im + t.im };
            }
            inner += got[b][n][m].re * v.re + got[b][n][m].im * v.im;
          }
        }
      });
      expect(inner, mode).to.be.greaterThan(0);
      tf.dispose([x.re, x.im]);
    }
    tf.dispose([P.y.re, P.y.im, P.pilots.re, P.pilots.im]);
  });

  it('Gaussian prior CN(0, I): at T = 0 the sampler converges to the LMMSE estimate; at T = 1 a posterior sample has twice the MMSE (+3 dB)', function () {
    this.timeout(60000);
    // N = 32, M = 8, L = 16 (rho = 0.5), unit-norm QPSK pilots: received power per entry N / L = 2; SNR 10 dB
    const [B, N, M, L] = [20, 32, 8, 16];
    const s2 = (N / L) * 0.1;
    const P = gaussianProblem(B, N, M, L, s2, 'gauss');
    const ref = lmmse(P.A, P.Y, s2);
    const energy = P.X.reduce((s, x) => s + x.flat().reduce((t, v) => t + v.re * v.re + v.im * v.im, 0), 0);
    const mmse = sq(ref, P.X) / energy;
    const tensors = tf.memory().numTensors;
    const run = (temperature: number) => {
      const init = new RandomStreams(['init']).complexNormalOnce('x0', [B, N, M]);
      const x = annealedLangevin(new GaussianScore(1), { y: P.y, pilots: P.pilots, noiseVar: s2, init, noise: noiseFor(B, N, M, `xi-${temperature}`) }, schedule({ temperature, likelihoodGain: N / L }));
      const out = toNested(x);
      tf.dispose([x.re, x.im]);
      return out;
    };
    const mode = run(0);
    expect(tf.memory().numTensors, 'tensors left by the sampler').to.equal(tensors);
    const distanceDb = 10 * Math.log10(sq(mode, ref) / sq(ref, ref.map((x) => x.map((r) => r.map(() => ({ re: 0, im: 0 }))))));
    expect(distanceDb, 'relative distance to LMMSE (dB)').to.be.lessThan(-25);
    const sample = run(1);
    // B N M = 5120 complex entries: the error energy of the sample is estimated to within a few %, so
    // the excess is 3.0 dB up to about +-0.3 dB of sampling noise: +-0.5 dB
    const excessDb = 10 * Math.log10(sq(sample, P.X) / energy / mmse);
    expect(excessDb).to.be.closeTo(3.0, 0.5);
    tf.dispose([P.y.re, P.y.im, P.pilots.re, P.pilots.im]);
  });
});
