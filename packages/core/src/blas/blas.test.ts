import { expect } from 'chai';
import { GfraUserError } from '../errors';
import { Generator } from '../rng';
import { blas, gemmJs, resetBlasForTests, type RealArray } from './index';

/** The textbook triple loop, written out separately from gemmJs: C = alpha op(A) op(B) + beta C. */
function reference(tA: boolean, tB: boolean, m: number, n: number, k: number, alpha: number, a: RealArray, aOff: number, lda: number, b: RealArray, bOff: number, ldb: number, beta: number, c: RealArray, cOff: number, ldc: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (tA ? a[aOff + p * lda + i] : a[aOff + i * lda + p]) * (tB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j]);
      out.push(alpha * s + (beta === 0 ? 0 : beta * c[cOff + i * ldc + j]));
    }
  return out;
}

const randoms = (g: Generator, n: number) => Array.from({ length: n }, () => 2 * g.uniform() - 1);

describe('blas: the matrix product of the host kernels', () => {
  afterEach(() => {
    delete process.env.GFRA_BLAS;
    delete process.env.GFRA_BLAS_LIBRARY;
    resetBlasForTests();
  });

  const cases = [
    { tA: false, tB: false, m: 5, n: 7, k: 3 },
    { tA: true, tB: false, m: 6, n: 4, k: 9 },
    { tA: false, tB: true, m: 3, n: 8, k: 5 },
    { tA: true, tB: true, m: 7, n: 2, k: 6 },
    { tA: false, tB: false, m: 33, n: 65, k: 17 },
  ];
  for (const precision of ['float32', 'float64'] as const) {
    for (const c of cases) {
      it(`${precision} ${c.tA ? 'A^T' : 'A'} ${c.tB ? 'B^T' : 'B'} ${c.m}x${c.k}x${c.n}, with offsets, leading dimensions and beta: the native path and the JavaScript path agree with the triple loop`, () => {
        const g = Generator.fromKey(['blas', precision, c.m, c.n, c.k, String(c.tA), String(c.tB)]);
        const Arr = precision === 'float32' ? Float32Array : Float64Array;
        // op(A) is m x k; stored rows x cols with leading dimension lda > cols, offset 3
        const [aRows, aCols] = c.tA ? [c.k, c.m] : [c.m, c.k];
        const [bRows, bCols] = c.tB ? [c.n, c.k] : [c.k, c.n];
        const lda = aCols + 2;
        const ldb = bCols + 1;
        const ldc = c.n + 3;
        const a = Arr.from(randoms(g, 3 + aRows * lda));
        const b = Arr.from(randoms(g, 5 + bRows * ldb));
        const c0 = Arr.from(randoms(g, 2 + c.m * ldc));
        const want = reference(c.tA, c.tB, c.m, c.n, c.k, 0.5, a, 3, lda, b, 5, ldb, -2, c0, 2, ldc);
        const tol = precision === 'float32' ? 1e-5 * c.k : 1e-13 * c.k;
        for (const path of ['native', 'javascript'] as const) {
          if (path === 'javascript') process.env.GFRA_BLAS = 'javascript';
          resetBlasForTests();
          const lib = blas();
          const out = Arr.from(c0);
          if (precision === 'float32') lib.sgemm(c.tA, c.tB, c.m, c.n, c.k, 0.5, a as Float32Array, 3, lda, b as Float32Array, 5, ldb, -2, out as Float32Array, 2, ldc);
          else lib.dgemm(c.tA, c.tB, c.m, c.n, c.k, 0.5, a as Float64Array, 3, lda, b as Float64Array, 5, ldb, -2, out as Float64Array, 2, ldc);
          for (let i = 0; i < c.m; i++)
            for (let j = 0; j < c.n; j++) expect(Math.abs(out[2 + i * ldc + j] - want[i * c.n + j]), `${path} (${i}, ${j})`).to.be.below(tol);
          // padding between rows of C and before it is untouched
          expect(out[0]).to.equal(c0[0]);
          expect(out[2 + c.n]).to.equal(c0[2 + c.n]);
        }
      });
    }
  }

  it('beta = 0 overwrites C, NaN included, on both paths', () => {
    for (const mode of ['', 'javascript']) {
      process.env.GFRA_BLAS = mode;
      resetBlasForTests();
      const c = new Float32Array([NaN, NaN, NaN, NaN]);
      blas().sgemm(false, false, 2, 2, 1, 1, new Float32Array([1, 2]), 0, 1, new Float32Array([3, 4]), 0, 2, 0, c, 0, 2);
      expect(Array.from(c)).to.deep.equal([3, 4, 6, 8]);
    }
  });

  it('GFRA_BLAS=javascript gives the JavaScript path, without a "missing" message', () => {
    process.env.GFRA_BLAS = 'javascript';
    resetBlasForTests();
    expect(blas()).to.include({ native: false, description: 'JavaScript' });
    expect(blas().missing).to.equal(undefined);
  });

  it('an unknown GFRA_BLAS value is a user error naming the setting and the values it takes (auto is the default)', () => {
    process.env.GFRA_BLAS = 'javscript';
    resetBlasForTests();
    expect(() => blas()).to.throw(GfraUserError, /GFRA_BLAS=javscript is not a known setting: use GFRA_BLAS=javascript/);
    process.env.GFRA_BLAS = 'auto';
    resetBlasForTests();
    process.env.GFRA_BLAS = '';
    const auto = blas();
    delete process.env.GFRA_BLAS;
    resetBlasForTests();
    expect(blas().description).to.equal(auto.description);
  });

  it('a GFRA_BLAS_LIBRARY that cannot be loaded falls back to JavaScript and says what failed and how to get the fast path', () => {
    process.env.GFRA_BLAS_LIBRARY = '/nonexistent/libcblas.so';
    resetBlasForTests();
    const lib = blas();
    expect(lib.native).to.equal(false);
    expect(lib.missing).to.match(/GFRA_BLAS_LIBRARY=\/nonexistent\/libcblas\.so could not be loaded/);
    expect(lib.missing).to.match(/apt-get install libopenblas0-pthread/);
    const c = new Float64Array(1);
    lib.dgemm(false, false, 1, 1, 2, 1, new Float64Array([1, 2]), 0, 2, new Float64Array([3, 4]), 0, 1, 0, c, 0, 1);
    expect(c[0]).to.equal(11);
  });

  it('the native path is OpenBLAS where CI installs it (GFRA_REQUIRE_BLAS=1)', function () {
    if (process.env.GFRA_REQUIRE_BLAS !== '1') this.skip();
    resetBlasForTests();
    expect(blas().native, blas().missing).to.equal(true);
  });

  it('gemmJs: an entry does not depend on the number of columns or its position', () => {
    const g = Generator.fromKey(['blas', 'position']);
    const a = Float32Array.from(randoms(g, 6 * 40));
    const b = Float32Array.from(randoms(g, 40 * 9));
    const full = new Float32Array(6 * 9);
    gemmJs(false, false, 6, 9, 40, 1, a, 0, 40, b, 0, 9, 0, full, 0, 9);
    const part = new Float32Array(6 * 2);
    gemmJs(false, false, 6, 2, 40, 1, a, 0, 40, b, 4, 9, 0, part, 0, 2);
    for (let i = 0; i < 6; i++) expect([part[2 * i], part[2 * i + 1]]).to.deep.equal([full[9 * i + 4], full[9 * i + 5]]);
  });
});
