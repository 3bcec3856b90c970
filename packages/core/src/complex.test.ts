import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import * as cx from './complex';
import type { ComplexTensor } from './complex';
import { Generator } from './rng';
import { expectClose } from './testing/tensors';

/** A host-side complex array: separate real and imaginary parts, row-major. */
interface HostComplex {
  re: number[];
  im: number[];
}

/** n i.i.d. complex values with uniform parts in [-1, 1), from a fixed key. */
function randomHost(key: string, n: number): HostComplex {
  const g = Generator.fromKey(['complex.test', key]);
  const re: number[] = [];
  const im: number[] = [];
  for (let i = 0; i < n; i++) {
    re.push(2 * g.uniform() - 1);
    im.push(2 * g.uniform() - 1);
  }
  return { re, im };
}

function toTensor(h: HostComplex, shape: number[]): ComplexTensor {
  return cx.complex(tf.tensor(h.re, shape, 'float32'), tf.tensor(h.im, shape, 'float32'));
}

/**
 * Naive complex matmul, one matrix pair: A[m,k] (at offset aOff) x B[k,n] (at offset bOff),
 * written into out at offset oOff.
 */
function naiveMatmulInto(
  a: HostComplex,
  aOff: number,
  b: HostComplex,
  bOff: number,
  out: HostComplex,
  oOff: number,
  m: number,
  k: number,
  n: number,
): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sr = 0;
      let si = 0;
      for (let l = 0; l < k; l++) {
        const ar = a.re[aOff + i * k + l];
        const ai = a.im[aOff + i * k + l];
        const br = b.re[bOff + l * n + j];
        const bi = b.im[bOff + l * n + j];
        sr += ar * br - ai * bi;
        si += ar * bi + ai * br;
      }
      out.re[oOff + i * n + j] = sr;
      out.im[oOff + i * n + j] = si;
    }
  }
}

/**
 * Naive batched complex matmul. aBatch / bBatch: number of matrices on each side (1 for a shared
 * matrix); the result has max(aBatch, bBatch) matrices.
 */
function naiveMatmul(a: HostComplex, aBatch: number, b: HostComplex, bBatch: number, m: number, k: number, n: number): HostComplex {
  const B = Math.max(aBatch, bBatch);
  const out: HostComplex = { re: new Array(B * m * n).fill(0), im: new Array(B * m * n).fill(0) };
  for (let t = 0; t < B; t++) {
    const aOff = aBatch === 1 ? 0 : t * m * k;
    const bOff = bBatch === 1 ? 0 : t * k * n;
    naiveMatmulInto(a, aOff, b, bOff, out, t * m * n, m, k, n);
  }
  return out;
}

function expectComplexClose(z: ComplexTensor, expected: HostComplex, atol: number, what: string): void {
  expectClose(z.re, expected.re, atol, 0, `${what}.re`);
  expectClose(z.im, expected.im, atol, 0, `${what}.im`);
}

describe('complex', () => {
  describe('construction', () => {
    it('complex() keeps both parts and rejects parts of different shapes', () => {
      tf.tidy(() => {
        const z = cx.complex(tf.tensor([1, 2]), tf.tensor([3, 4]));
        expect(cx.toArrays(z)).to.deep.equal({ re: [1, 2], im: [3, 4] });
        expect(() => cx.complex(tf.zeros([2, 3]), tf.zeros([3, 2]))).to.throw(
          /complex: real part has shape \[2,3\] but imaginary part has shape \[3,2\]/,
        );
        expect(() => cx.complex(tf.zeros([2]), tf.zeros([2, 1]))).to.throw(/real part has shape \[2\]/);
      });
    });

    it('fromReal has a zero imaginary part of the same shape', () => {
      tf.tidy(() => {
        const z = cx.fromReal(tf.tensor2d([1, -2, 3, 4], [2, 2]));
        expect(z.im.shape).to.deep.equal([2, 2]);
        expect(cx.toArrays(z)).to.deep.equal({ re: [1, -2, 3, 4], im: [0, 0, 0, 0] });
      });
    });

    it('complexFromPairs reads [re, im] pairs, with an optional shape', () => {
      tf.tidy(() => {
        const v = cx.complexFromPairs([
          [1, 2],
          [3, -1],
        ]);
        expect(cx.shapeOf(v)).to.deep.equal([2]);
        expect(cx.toArrays(v)).to.deep.equal({ re: [1, 3], im: [2, -1] });
        const m = cx.complexFromPairs(
          [
            [1, 0],
            [0, 1],
            [2, 2],
            [-1, 3],
          ],
          [2, 2],
        );
        expect(cx.shapeOf(m)).to.deep.equal([2, 2]);
        expect(cx.toArrays(m)).to.deep.equal({ re: [1, 0, 2, -1], im: [0, 1, 2, 3] });
      });
    });

    it('shapeOf returns a copy', () => {
      tf.tidy(() => {
        const z = cx.fromReal(tf.zeros([2, 3]));
        const s = cx.shapeOf(z);
        s[0] = 99;
        expect(cx.shapeOf(z)).to.deep.equal([2, 3]);
      });
    });
  });

  describe('elementwise ops (hand-computed)', () => {
    it('mul: (1+2i)(3-i) = 5+5i, and (a+ib)(c+id) on several pairs', () => {
      tf.tidy(() => {
        const a = cx.complexFromPairs([
          [1, 2],
          [0, 1],
          [2, -3],
        ]);
        const b = cx.complexFromPairs([
          [3, -1],
          [0, 1],
          [-1, 0.5],
        ]);
        // (1+2i)(3-i) = 3 - i + 6i + 2 = 5 + 5i; i*i = -1; (2-3i)(-1+0.5i) = -2 + i + 3i + 1.5 = -0.5 + 4i
        expect(cx.toArrays(cx.mul(a, b))).to.deep.equal({ re: [5, -1, -0.5], im: [5, 0, 4] });
      });
    });

    it('mul broadcasts a scalar complex over a vector', () => {
      tf.tidy(() => {
        const i = cx.complex(tf.scalar(0), tf.scalar(1));
        const v = cx.complexFromPairs([
          [1, 0],
          [2, 3],
        ]);
        // i*1 = i; i*(2+3i) = -3 + 2i
        expect(cx.toArrays(cx.mul(i, v))).to.deep.equal({ re: [0, -3], im: [1, 2] });
      });
    });

    it('add and sub', () => {
      tf.tidy(() => {
        const a = cx.complexFromPairs([
          [1, 2],
          [3, -1],
        ]);
        const b = cx.complexFromPairs([
          [0.5, -4],
          [-3, 1],
        ]);
        expect(cx.toArrays(cx.add(a, b))).to.deep.equal({ re: [1.5, 0], im: [-2, 0] });
        expect(cx.toArrays(cx.sub(a, b))).to.deep.equal({ re: [0.5, 6], im: [6, -2] });
      });
    });

    it('add broadcasts [2,1] + [3]', () => {
      tf.tidy(() => {
        const a = cx.complex(tf.tensor2d([1, 2], [2, 1]), tf.tensor2d([10, 20], [2, 1]));
        const b = cx.complex(tf.tensor1d([0, 1, 2]), tf.tensor1d([0, 0, 1]));
        const c = cx.add(a, b);
        expect(cx.shapeOf(c)).to.deep.equal([2, 3]);
        expect(cx.toArrays(c)).to.deep.equal({ re: [1, 2, 3, 2, 3, 4], im: [10, 10, 11, 20, 20, 21] });
      });
    });

    it('scale by a number and by a real tensor', () => {
      tf.tidy(() => {
        const a = cx.complexFromPairs([
          [1, 2],
          [3, -1],
        ]);
        expect(cx.toArrays(cx.scale(a, 2))).to.deep.equal({ re: [2, 6], im: [4, -2] });
        expect(cx.toArrays(cx.scale(a, tf.tensor1d([-1, 0.5])))).to.deep.equal({ re: [-1, 1.5], im: [-2, -0.5] });
      });
    });

    it('conj and abs2', () => {
      tf.tidy(() => {
        const a = cx.complexFromPairs([
          [1, 2],
          [3, -4],
          [0, 0],
        ]);
        expect(cx.toArrays(cx.conj(a))).to.deep.equal({ re: [1, 3, 0], im: [-2, 4, -0] });
        expect(Array.from(cx.abs2(a).dataSync())).to.deep.equal([5, 25, 0]);
        // z conj(z) = |z|^2 + 0i
        const zz = cx.mul(a, cx.conj(a));
        expect(cx.toArrays(zz)).to.deep.equal({ re: [5, 25, 0], im: [0, 0, 0] });
      });
    });

    it('sum over an axis, over all, and with keepDims', () => {
      tf.tidy(() => {
        // [[1+2i, 3-i], [0+i, -2+0i]]
        const a = cx.complexFromPairs(
          [
            [1, 2],
            [3, -1],
            [0, 1],
            [-2, 0],
          ],
          [2, 2],
        );
        expect(cx.toArrays(cx.sum(a, 1))).to.deep.equal({ re: [4, -2], im: [1, 1] });
        expect(cx.toArrays(cx.sum(a, 0))).to.deep.equal({ re: [1, 1], im: [3, -1] });
        expect(cx.toArrays(cx.sum(a))).to.deep.equal({ re: [2], im: [2] });
        expect(cx.shapeOf(cx.sum(a, 1, true))).to.deep.equal([2, 1]);
      });
    });

    it('reshape, transpose, expandDims', () => {
      tf.tidy(() => {
        const a = cx.complex(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), tf.tensor2d([-1, -2, -3, -4, -5, -6], [2, 3]));
        const r = cx.reshape(a, [3, 2]);
        expect(cx.shapeOf(r)).to.deep.equal([3, 2]);
        expect(cx.toArrays(r).re).to.deep.equal([1, 2, 3, 4, 5, 6]);
        const t = cx.transpose(a, [1, 0]);
        expect(cx.shapeOf(t)).to.deep.equal([3, 2]);
        expect(cx.toArrays(t)).to.deep.equal({ re: [1, 4, 2, 5, 3, 6], im: [-1, -4, -2, -5, -3, -6] });
        expect(cx.shapeOf(cx.expandDims(a, 0))).to.deep.equal([1, 2, 3]);
        expect(cx.shapeOf(cx.expandDims(a, 2))).to.deep.equal([2, 3, 1]);
      });
    });
  });

  describe('transposes', () => {
    it('matrixTranspose swaps the last two axes without conjugating', () => {
      tf.tidy(() => {
        // [1, 2, 3] batch of one 1x3 matrix -> [1, 3, 1]
        const a = cx.complex(tf.tensor3d([1, 2, 3, 4, 5, 6], [2, 1, 3]), tf.tensor3d([1, 1, 1, 2, 2, 2], [2, 1, 3]));
        const t = cx.matrixTranspose(a);
        expect(cx.shapeOf(t)).to.deep.equal([2, 3, 1]);
        expect(cx.toArrays(t)).to.deep.equal({ re: [1, 2, 3, 4, 5, 6], im: [1, 1, 1, 2, 2, 2] });
        expect(() => cx.matrixTranspose(cx.fromReal(tf.zeros([3])))).to.throw(/matrixTranspose: need rank >= 2, got shape \[3\]/);
      });
    });

    it('hermitian is the conjugate transpose', () => {
      tf.tidy(() => {
        // A = [[1+2i, 3-i], [4i, 5]]  ->  A^H = [[1-2i, -4i], [3+i, 5]]
        const a = cx.complexFromPairs(
          [
            [1, 2],
            [3, -1],
            [0, 4],
            [5, 0],
          ],
          [2, 2],
        );
        const h = cx.hermitian(a);
        expectComplexClose(h, { re: [1, 0, 3, 5], im: [-2, -4, 1, 0] }, 0, 'A^H');
        // (A^H)^H = A
        expectComplexClose(cx.hermitian(h), { re: [1, 3, 0, 5], im: [2, -1, 4, 0] }, 0, 'A^HH');
      });
    });

    it('hermitian of a batch: (A B)^H = B^H A^H on random data', () => {
      tf.tidy(() => {
        const [B, m, k, n] = [3, 2, 4, 3];
        const A = toTensor(randomHost('herm-a', B * m * k), [B, m, k]);
        const Bm = toTensor(randomHost('herm-b', B * k * n), [B, k, n]);
        const lhs = cx.hermitian(cx.matmul(A, Bm));
        const rhs = cx.matmul(cx.hermitian(Bm), cx.hermitian(A));
        expect(cx.shapeOf(lhs)).to.deep.equal([B, n, m]);
        const r = cx.toArrays(rhs);
        expectComplexClose(lhs, r, 1e-5, '(AB)^H');
      });
    });
  });

  describe('matmul against a naive triple loop (atol 1e-4)', () => {
    const m = 3;
    const k = 5;
    const n = 4;
    const B = 6;

    it('hand-computed 2x2: [[1, i], [2, 1-i]] [[1], [i]] = [[0], [3+i]]', () => {
      tf.tidy(() => {
        const A = cx.complexFromPairs(
          [
            [1, 0],
            [0, 1],
            [2, 0],
            [1, -1],
          ],
          [2, 2],
        );
        const x = cx.complexFromPairs(
          [
            [1, 0],
            [0, 1],
          ],
          [2, 1],
        );
        // row 1: 1*1 + i*i = 0; row 2: 2*1 + (1-i) i = 2 + i + 1 = 3 + i
        expectComplexClose(cx.matmul(A, x), { re: [0, 3], im: [0, 1] }, 0, 'Ax');
      });
    });

    it('[m,k] x [k,n]', () => {
      tf.tidy(() => {
        const a = randomHost('mm-a', m * k);
        const b = randomHost('mm-b', k * n);
        const c = cx.matmul(toTensor(a, [m, k]), toTensor(b, [k, n]));
        expect(cx.shapeOf(c)).to.deep.equal([m, n]);
        expectComplexClose(c, naiveMatmul(a, 1, b, 1, m, k, n), 1e-4, 'AB');
      });
    });

    it('batched [B,m,k] x [B,k,n]', () => {
      tf.tidy(() => {
        const a = randomHost('bmm-a', B * m * k);
        const b = randomHost('bmm-b', B * k * n);
        const c = cx.matmul(toTensor(a, [B, m, k]), toTensor(b, [B, k, n]));
        expect(cx.shapeOf(c)).to.deep.equal([B, m, n]);
        expectComplexClose(c, naiveMatmul(a, B, b, B, m, k, n), 1e-4, 'A_b B_b');
      });
    });

    it('shared left [m,k] x [B,k,n]', () => {
      tf.tidy(() => {
        const a = randomHost('sl-a', m * k);
        const b = randomHost('sl-b', B * k * n);
        const c = cx.matmul(toTensor(a, [m, k]), toTensor(b, [B, k, n]));
        expect(cx.shapeOf(c)).to.deep.equal([B, m, n]);
        expectComplexClose(c, naiveMatmul(a, 1, b, B, m, k, n), 1e-4, 'A B_b');
      });
    });

    it('shared right [B,m,k] x [k,n]', () => {
      tf.tidy(() => {
        const a = randomHost('sr-a', B * m * k);
        const b = randomHost('sr-b', k * n);
        const c = cx.matmul(toTensor(a, [B, m, k]), toTensor(b, [k, n]));
        expect(cx.shapeOf(c)).to.deep.equal([B, m, n]);
        expectComplexClose(c, naiveMatmul(a, B, b, 1, m, k, n), 1e-4, 'A_b B');
      });
    });

    it('rejects mismatched inner dimensions and unsupported ranks', () => {
      tf.tidy(() => {
        const a = cx.fromReal(tf.zeros([2, 3]));
        const b = cx.fromReal(tf.zeros([4, 2]));
        expect(() => cx.matmul(a, b)).to.throw(/matmul: inner dimensions differ: \[2,3\] x \[4,2\]/);
        const a4 = cx.fromReal(tf.zeros([2, 2, 2, 3]));
        const b2 = cx.fromReal(tf.zeros([3, 2]));
        expect(() => cx.matmul(a4, b2)).to.throw(/matmul: unsupported ranks 4 x 2/);
      });
    });
  });

  describe('real-valued equivalents', () => {
    it('realMatrix of [[1+2i]] is [[1, -2], [2, 1]]', () => {
      tf.tidy(() => {
        const a = cx.complexFromPairs([[1, 2]], [1, 1]);
        const r = cx.realMatrix(a);
        expect(r.shape).to.deep.equal([2, 2]);
        expect(Array.from(r.dataSync())).to.deep.equal([1, -2, 2, 1]);
      });
    });

    it('realMatrix(A) @ realVector(x) == realVector(A x), single and batched', () => {
      tf.tidy(() => {
        const [m, n, B] = [3, 4, 2];
        const A = toTensor(randomHost('rm-a', m * n), [m, n]);
        const x = toTensor(randomHost('rm-x', n), [n, 1]);
        const lhs = tf.matMul(cx.realMatrix(A) as tf.Tensor2D, cx.realVector(x) as tf.Tensor2D);
        const rhs = cx.realVector(cx.matmul(A, x));
        expect(lhs.shape).to.deep.equal([2 * m, 1]);
        expectClose(lhs, rhs.dataSync(), 1e-5, 0, 'realMatrix(A) realVector(x)');

        const Ab = toTensor(randomHost('rm-ab', B * m * n), [B, m, n]);
        const Xb = toTensor(randomHost('rm-xb', B * n * 2), [B, n, 2]);
        const lhsB = tf.matMul(cx.realMatrix(Ab) as tf.Tensor3D, cx.realVector(Xb) as tf.Tensor3D);
        const rhsB = cx.realVector(cx.matmul(Ab, Xb));
        expect(cx.realMatrix(Ab).shape).to.deep.equal([B, 2 * m, 2 * n]);
        expect(lhsB.shape).to.deep.equal([B, 2 * m, 2]);
        expectClose(lhsB, rhsB.dataSync(), 1e-5, 0, 'batched');
      });
    });

    it('realVector stacks [Re; Im] along the rows (or a given axis)', () => {
      tf.tidy(() => {
        const v = cx.complexFromPairs([
          [1, 2],
          [3, -1],
        ]);
        expect(Array.from(cx.realVector(v).dataSync())).to.deep.equal([1, 3, 2, -1]);
        const col = cx.reshape(v, [2, 1]);
        expect(cx.realVector(col).shape).to.deep.equal([4, 1]);
        const row = cx.reshape(v, [1, 2]);
        const r = cx.realVector(row, 1);
        expect(r.shape).to.deep.equal([1, 4]);
        expect(Array.from(r.dataSync())).to.deep.equal([1, 3, 2, -1]);
      });
    });

    it('fromRealVector inverts realVector (default and explicit axis)', () => {
      tf.tidy(() => {
        const h = randomHost('frv', 2 * 3 * 4);
        const z = toTensor(h, [2, 3, 4]);
        const back = cx.fromRealVector(cx.realVector(z));
        expect(cx.shapeOf(back)).to.deep.equal([2, 3, 4]);
        const zh = cx.toArrays(z); // the float32 values
        expectComplexClose(back, zh, 0, 'default axis');
        const back2 = cx.fromRealVector(cx.realVector(z, 2), 2);
        expectComplexClose(back2, zh, 0, 'axis 2');
        const v = cx.complexFromPairs([
          [1, 2],
          [3, 4],
        ]);
        expectComplexClose(cx.fromRealVector(cx.realVector(v)), { re: [1, 3], im: [2, 4] }, 0, 'vector');
        expect(() => cx.fromRealVector(tf.zeros([3, 1]))).to.throw(/fromRealVector: axis 0 of \[3,1\] has odd size 3/);
      });
    });
  });

  describe('gradients', () => {
    // tfjs-core alone registers no gradient functions in Node (its register_all_gradients module
    // is ESM-only); core imports '@tensorflow/tfjs', whose Node bundle registers them.
    it('importing core registers the gradients of the kernels complex.ts uses', () => {
      for (const kernel of ['Sum', 'Square', 'Add', 'Sub', 'Multiply', 'Neg', 'BatchMatMul', 'Reshape', 'Transpose', 'Concat', 'SplitV']) {
        expect(tf.getGradient(kernel), `gradient of ${kernel}`).to.not.equal(undefined);
      }
    });

    // f(A) = sum |A x|^2 = sum_i |y_i|^2 with y = A x. For A = Ar + i Ai,
    // df/dAr + i df/dAi = 2 y x^H (closed form).
    it('tf.grad of sum |A x|^2 w.r.t. Re A and Im A equals 2 y x^H', () => {
      const [m, k] = [3, 4];
      const a = randomHost('grad-a', m * k);
      const xh = randomHost('grad-x', k);
      tf.tidy(() => {
        const x = toTensor(xh, [k, 1]);
        const Ai = tf.tensor2d(a.im, [m, k]);
        const Ar = tf.tensor2d(a.re, [m, k]);
        const fOfRe = (re: tf.Tensor) => tf.sum(cx.abs2(cx.matmul(cx.complex(re, Ai), x)));
        const fOfIm = (im: tf.Tensor) => tf.sum(cx.abs2(cx.matmul(cx.complex(Ar, im), x)));
        const gRe = tf.grad(fOfRe)(Ar);
        const gIm = tf.grad(fOfIm)(Ai);
        const y = cx.matmul(cx.complex(Ar, Ai), x);
        const expected = cx.scale(cx.matmul(y, cx.hermitian(x)), 2);
        expectClose(gRe, expected.re.dataSync(), 1e-4, 1e-4, 'df/dRe A');
        expectClose(gIm, expected.im.dataSync(), 1e-4, 1e-4, 'df/dIm A');
      });
    });

    it('tf.variableGrads through a shared [m,k] x [B,k,n] matmul: 2 sum_b Y_b X_b^H, and central differences', () => {
      const [m, k, n, B] = [2, 3, 2, 4];
      const a = randomHost('vg-a', m * k);
      const xh = randomHost('vg-x', B * k * n);
      const Ar = tf.variable(tf.tensor2d(a.re, [m, k]), true, 'complex-test-Ar');
      const Ai = tf.variable(tf.tensor2d(a.im, [m, k]), true, 'complex-test-Ai');
      try {
        tf.tidy(() => {
          const X = toTensor(xh, [B, k, n]);
          const loss = () => tf.sum(cx.abs2(cx.matmul(cx.complex(Ar, Ai), X))) as tf.Scalar;
          const { value, grads } = tf.variableGrads(loss, [Ar, Ai]);

          // closed form: 2 sum_b (A X_b) X_b^H
          const Y = cx.matmul(cx.complex(Ar, Ai), X);
          const G = cx.scale(cx.sum(cx.matmul(Y, cx.hermitian(X)), 0), 2);
          expectClose(grads[Ar.name], G.re.dataSync(), 1e-4, 1e-4, 'df/dRe A');
          expectClose(grads[Ai.name], G.im.dataSync(), 1e-4, 1e-4, 'df/dIm A');

          // value against the naive loop
          const y = naiveMatmul(a, 1, xh, B, m, k, n);
          const f = y.re.reduce((s, r, i) => s + r * r + y.im[i] * y.im[i], 0);
          expect(value.dataSync()[0]).to.be.closeTo(f, 1e-4 * f);

          // central differences are exact for a quadratic; eps = 0.25 keeps float32 rounding small
          const eps = 0.25;
          const fAt = (re: number[], im: number[]): number => {
            const yy = naiveMatmul({ re, im }, 1, xh, B, m, k, n);
            return yy.re.reduce((s, r, i) => s + r * r + yy.im[i] * yy.im[i], 0);
          };
          const gr = grads[Ar.name].dataSync();
          const gi = grads[Ai.name].dataSync();
          for (let j = 0; j < m * k; j++) {
            const up = a.re.slice();
            const down = a.re.slice();
            up[j] += eps;
            down[j] -= eps;
            const fdRe = (fAt(up, a.im) - fAt(down, a.im)) / (2 * eps);
            expect(gr[j], `df/dRe A[${j}]`).to.be.closeTo(fdRe, 1e-3 * Math.max(1, Math.abs(fdRe)));
            const upI = a.im.slice();
            const downI = a.im.slice();
            upI[j] += eps;
            downI[j] -= eps;
            const fdIm = (fAt(a.re, upI) - fAt(a.re, downI)) / (2 * eps);
            expect(gi[j], `df/dIm A[${j}]`).to.be.closeTo(fdIm, 1e-3 * Math.max(1, Math.abs(fdIm)));
          }
        });
      } finally {
        Ar.dispose();
        Ai.dispose();
      }
    });

    it('gradient through a shared [B,m,k] x [k,n] matmul w.r.t. the shared right matrix', () => {
      // f(W) = sum_b |X_b W|^2  ->  df/dRe W + i df/dIm W = 2 sum_b X_b^H (X_b W)
      const [m, k, n, B] = [2, 3, 2, 3];
      const xh = randomHost('gr-x', B * m * k);
      const w = randomHost('gr-w', k * n);
      tf.tidy(() => {
        const X = toTensor(xh, [B, m, k]);
        const Wr = tf.tensor2d(w.re, [k, n]);
        const Wi = tf.tensor2d(w.im, [k, n]);
        const [gr, gi] = tf.grads((re: tf.Tensor, im: tf.Tensor) => tf.sum(cx.abs2(cx.matmul(X, cx.complex(re, im)))))([Wr, Wi]);
        const G = cx.scale(cx.sum(cx.matmul(cx.hermitian(X), cx.matmul(X, cx.complex(Wr, Wi))), 0), 2);
        expectClose(gr, G.re.dataSync(), 1e-4, 1e-4, 'df/dRe W');
        expectClose(gi, G.im.dataSync(), 1e-4, 1e-4, 'df/dIm W');
      });
    });
  });

  describe('memory', () => {
    it('no tensors leak from a tidy of every op', () => {
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const a = toTensor(randomHost('leak-a', 2 * 3 * 4), [2, 3, 4]);
        const b = toTensor(randomHost('leak-b', 2 * 4 * 2), [2, 4, 2]);
        const s = toTensor(randomHost('leak-s', 4 * 2), [4, 2]);
        const c = cx.matmul(a, b);
        cx.matmul(cx.reshape(a, [6, 4]), s);
        cx.matmul(a, s);
        const first = (t: tf.Tensor) => tf.squeeze(tf.slice(t, [0, 0, 0], [1, 3, 4]), [0]);
        cx.matmul(cx.complex(first(a.re), first(a.im)), b);
        cx.add(c, c);
        cx.sub(c, c);
        cx.mul(c, cx.conj(c));
        cx.scale(c, 3);
        cx.abs2(c);
        cx.sum(c, 1);
        cx.hermitian(c);
        cx.expandDims(c, 0);
        cx.fromRealVector(cx.realVector(c));
        cx.realMatrix(c);
        cx.fromReal(c.re);
        tf.grad((x: tf.Tensor) => tf.sum(cx.abs2(cx.matmul(cx.complex(x, a.im), b))))(a.re);
      });
      expect(tf.memory().numTensors).to.equal(before);
    });

    it('keep survives a tidy and dispose releases both parts', () => {
      const before = tf.memory().numTensors;
      let kept: ComplexTensor | undefined;
      tf.tidy(() => {
        kept = cx.keep(cx.mul(cx.complexFromPairs([[1, 2]]), cx.complexFromPairs([[3, -1]])));
      });
      if (kept === undefined) throw new Error('tidy did not run');
      expect(tf.memory().numTensors).to.equal(before + 2);
      expect(cx.toArrays(kept)).to.deep.equal({ re: [5], im: [5] });
      cx.dispose(kept);
      cx.dispose(undefined);
      expect(tf.memory().numTensors).to.equal(before);
    });

    it('cx.tidy returns a complex result alive and frees the intermediates', () => {
      const before = tf.memory().numTensors;
      const z = cx.tidy(() => cx.matmul(cx.complexFromPairs([[1, 2]], [1, 1]), cx.complexFromPairs([[3, -1]], [1, 1])));
      expect(tf.memory().numTensors).to.equal(before + 2);
      expect(cx.toArrays(z)).to.deep.equal({ re: [5], im: [5] });
      cx.dispose(z);
      expect(tf.memory().numTensors).to.equal(before);
    });
  });
});
