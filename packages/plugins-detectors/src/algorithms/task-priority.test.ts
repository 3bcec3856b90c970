import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { applyDefaults } from '@gfra/core';
import { paperEq21Loss, perTaskCrossEntropy, prioritizedLoss, TaskPriorityParams, taskPriorityProblems, taskWeights } from './task-priority';

const params = (p: Partial<TaskPriorityParams> = {}): TaskPriorityParams => ({ prioritization: 'focal-normalized', gamma: 2, c: 0.7357, ...p });
const LSTAR = -Math.log(0.7357); // 0.306933

/** Scalar value of a tensor, freeing it. */
function value(t: tf.Tensor): number {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

function expectClose(actual: readonly number[], expected: readonly number[], tol: number): void {
  expect(actual.length).to.equal(expected.length);
  actual.forEach((a, i) => expect(a, `entry ${i}`).to.be.closeTo(expected[i], tol));
}

/** d/dL of the literal Eq. (21) for one task, through tf.grad. */
function eq21Slope(L: number, gamma = 2): number {
  const g = tf.grad((x: tf.Tensor) => prioritizedLoss([x as tf.Scalar], params({ prioritization: 'paper-eq21', gamma })));
  return value(g(tf.scalar(L)));
}

describe('algorithms/task-priority', () => {
  it('has the defaults focal-normalized, gamma = 2, c = 0.7357', () => {
    expect(applyDefaults(TaskPriorityParams, undefined)).to.deep.equal({ prioritization: 'focal-normalized', gamma: 2, c: 0.7357 });
    expect(taskPriorityProblems(params({ prioritization: 'paper-eq21', gamma: 2.5 }))).to.have.length(1);
    expect(taskPriorityProblems(params({ prioritization: 'paper-eq21' }))).to.deep.equal([]);
    expect(taskPriorityProblems(params({ gamma: 2.5 }))).to.deep.equal([]);
  });

  describe('task weights', () => {
    // L = [0.2, 0.5, 1.2] nats; exp(-L) = [0.818731, 0.606531, 0.301194].
    const ce = [0.2, 0.5, 1.2];

    it('"none" gives ones', () => {
      expect(taskWeights(ce, params({ prioritization: 'none' }))).to.deep.equal([1, 1, 1]);
    });

    it('"focal-normalized" gives N rho_n / sum rho with kappa = clip(exp(-L)/c)', () => {
      // kappa = exp(-L)/0.7357 = [1.112860 -> 1 - 1e-6, 0.824427, 0.409398]
      // rho = (1 - kappa)^2 (-ln kappa) = [1e-12 * 1e-6 = 1.0e-18, 0.175573^2 * 0.193064 = 0.00595149,
      //                                   0.590602^2 * 0.893064 = 0.311511]
      // sum = 0.317463; w = 3 rho / sum = [9.45e-18, 0.0562412, 2.943759]
      const w = taskWeights(ce, params());
      expectClose(w, [0, 0.0562412, 2.943759], 2e-6);
      expect(w[0]).to.be.within(9.4e-18, 9.5e-18);
      expect(w.reduce((a, b) => a + b, 0)).to.be.closeTo(3, 1e-12);
      // gamma = 4: rho = [1e-30, 0.175573^4 * 0.193064 = 1.83439e-4, 0.590602^4 * 0.893064 = 0.108638]
      expectClose(taskWeights(ce, params({ gamma: 4 })), [0, 0.00505671, 2.994943], 2e-6);
    });

    it('"focal-normalized" weights are all 1 once every task is below -ln c (all kappa clipped)', () => {
      expectClose(taskWeights([0.3, 0.1, 1e-4], params()), [1, 1, 1], 1e-12);
      expectClose(taskWeights([0.3, 0.1], params({ gamma: 80 })), [1, 1], 1e-12); // rho ~ 1e-486: log domain
    });

    it('"focal-accuracy" uses the measured accuracy with 1 - kappa floored at 1e-3', () => {
      // kappa = [0.9, 0.5, 1.0 -> 0.999]
      // rho = [0.01 * 0.1053605 = 0.001053605, 0.25 * 0.693147 = 0.1732868, 1e-6 * 0.0010005 = 1.0005e-9]
      // sum = 0.1743404; w = [0.0181301, 2.9818698, 1.72163e-8]
      expectClose(taskWeights(ce, params({ prioritization: 'focal-accuracy' }), [0.9, 0.5, 1.0]), [0.0181301, 2.9818698, 1.72163e-8], 2e-6);
      expect(() => taskWeights(ce, params({ prioritization: 'focal-accuracy' }))).to.throw(/accuracies/);
      expect(() => taskWeights(ce, params({ prioritization: 'focal-accuracy' }), [1, 1])).to.throw(/2 accuracies for 3 tasks/);
    });

    it('"paper-eq21" gives the factors whose weighted sum is Eq. (21)', () => {
      // -ln c (1 - kappa)^2 L with kappa unclipped: 0.306933 * [0.112860^2 * 0.2, 0.175573^2 * 0.5, 0.590602^2 * 1.2]
      //   = [0.000781897, 0.00473076, 0.128474]
      const w = taskWeights(ce, params({ prioritization: 'paper-eq21' }));
      expectClose(w, [0.000781897, 0.00473076, 0.128474], 1e-6);
      // Eq. (21) = sum w_n L_n = 0.000156379 + 0.00236538 + 0.154168 = 0.156690
      expect(paperEq21Loss(ce, 2, 0.7357)).to.be.closeTo(0.156690, 1e-6);
      expect(paperEq21Loss(ce, 2, 0.7357)).to.be.closeTo(w[0] * 0.2 + w[1] * 0.5 + w[2] * 1.2, 1e-12);
    });
  });

  describe('paper-eq21', () => {
    it('is 0 at L = -ln c for every task, on the host and in tfjs', () => {
      expect(paperEq21Loss([LSTAR, LSTAR, LSTAR], 2, 0.7357)).to.be.closeTo(0, 1e-6);
      const Ls = [LSTAR, LSTAR, LSTAR].map((L) => tf.scalar(L));
      expect(value(prioritizedLoss(Ls, params({ prioritization: 'paper-eq21' })))).to.be.closeTo(0, 1e-6);
      expect(value(prioritizedLoss(Ls, params({ prioritization: 'paper-eq21', gamma: 4 })))).to.be.closeTo(0, 1e-6);
      tf.dispose(Ls);
    });

    it('tfjs value matches the host formula', () => {
      const Ls = [0.2, 0.5, 1.2].map((L) => tf.scalar(L));
      expect(value(prioritizedLoss(Ls, params({ prioritization: 'paper-eq21' })))).to.be.closeTo(0.156690, 1e-6);
      tf.dispose(Ls);
    });

    it('descends towards -ln c from both sides, with a local maximum near 0.147 (gamma = 2)', () => {
      // f(L) = -ln c (1 - u)^2 L^2, u = e^{-L}/c; f'(L) = -ln c * 2L (1 - u)(uL + 1 - u):
      //   f'(0.5) = +0.03168, f'(0.2) = -0.00152; zero where e^{-L}(1 - L) = c, L = 0.14743;
      //   f'(0.145) = +8.28e-5, f'(0.15) = -8.72e-5.
      expect(eq21Slope(0.5)).to.be.closeTo(0.0316754, 1e-5);
      expect(eq21Slope(0.2)).to.be.closeTo(-0.00152019, 1e-5);
      expect(eq21Slope(0.145)).to.be.greaterThan(0);
      expect(eq21Slope(0.15)).to.be.lessThan(0);
      expect(eq21Slope(0.1)).to.be.greaterThan(0); // below the maximum: towards 0
      // any gamma: f' = -ln c L (1 - u)^{gamma-1} (gamma u L + 2 - 2u), maximum where e^{-L}(1 - gamma L/2) = c;
      // gamma = 4: L = 0.095, so the slope is still negative at 0.2 and positive at 0.5
      expect(eq21Slope(0.2, 4)).to.be.lessThan(0);
      expect(eq21Slope(0.5, 4)).to.be.greaterThan(0);
    });
  });

  describe('perTaskCrossEntropy', () => {
    // logits [[0, ln 3], [1, 1]], labels [1, 0]: p = [3/4, 1/2], CE = (ln(4/3) + ln 2)/2 = ln(8/3)/2 = 0.490415
    it('equals the hand computation', () => {
      const z = tf.tensor2d([[0, Math.log(3)], [1, 1]]);
      const s = tf.tensor1d([1, 0], 'int32');
      expect(value(perTaskCrossEntropy(z, s))).to.be.closeTo(Math.log(8 / 3) / 2, 1e-6);
      // large logits stay finite: [[1000, 0]] label 1 -> CE = 1000
      const big = tf.tensor2d([[1000, 0]]);
      const s1 = tf.tensor1d([1], 'int32');
      expect(value(perTaskCrossEntropy(big, s1))).to.be.closeTo(1000, 1e-3);
      tf.dispose([z, s, big, s1]);
    });

    it('ignores padded columns beyond validCount, in value and gradient', () => {
      const z = tf.tensor2d([[0, Math.log(3), 100, -7], [1, 1, 50, 3]]);
      const s = tf.tensor1d([1, 0], 'int32');
      expect(value(perTaskCrossEntropy(z, s, 2))).to.be.closeTo(Math.log(8 / 3) / 2, 1e-6);
      const g = tf.grad((x: tf.Tensor) => perTaskCrossEntropy(x as tf.Tensor2D, s, 2))(z);
      // d/dz of mean CE = (softmax - onehot)/B on the valid columns: row 0 [1/4, -1/4]/2, row 1 [-1/2, 1/2]/2
      expectClose(Array.from(g.dataSync()), [0.125, -0.125, 0, 0, -0.25, 0.25, 0, 0], 1e-6);
      expect(() => perTaskCrossEntropy(z, tf.tensor1d([2, 0], 'int32'), 2)).to.throw(/label 2 at row 0/);
      expect(() => perTaskCrossEntropy(z, s, 5)).to.throw(/validCount 5/);
      tf.dispose([z, s, g]);
    });
  });

  describe('prioritizedLoss', () => {
    // Three tasks with B = 2 and M = [2, 4, 3 (padded to 4)]; every CE above -ln c so the focal weights are non-trivial.
    const logitValues = [
      [[0.3, -0.2], [0.1, 0.4]],
      [[0.5, 0, -0.3, 0.2], [0.1, 0.1, 0, -0.4]],
      [[0.2, -0.1, 0.4, 9], [0, 0.3, -0.2, -9]],
    ];
    const labels = [[1, 0], [2, 3], [0, 1]];
    const counts = [2, 4, 3];
    const setup = () => ({
      z: logitValues.map((v) => tf.tensor2d(v)),
      s: labels.map((v) => tf.tensor1d(v, 'int32')),
    });
    const ces = (z: readonly tf.Tensor[], s: readonly tf.Tensor1D[]) => z.map((zn, n) => perTaskCrossEntropy(zn as tf.Tensor2D, s[n], counts[n]));

    it('"none" equals the plain sum, in value and gradient', () => {
      const { z, s } = setup();
      const before = tf.memory().numTensors;
      const f = (...x: tf.Tensor[]) => prioritizedLoss(ces(x, s), params({ prioritization: 'none' }));
      const plain = (...x: tf.Tensor[]) => tf.addN(ces(x, s)) as tf.Scalar;
      expect(value(tf.tidy(() => f(...z)))).to.be.closeTo(value(tf.tidy(() => plain(...z))), 1e-6);
      const g = tf.grads(f)(z);
      const gp = tf.grads(plain)(z);
      g.forEach((gn, n) => expectClose(Array.from(gn.dataSync()), Array.from(gp[n].dataSync()), 1e-6));
      tf.dispose([...g, ...gp]);
      expect(tf.memory().numTensors).to.equal(before);
      tf.dispose([...z, ...s]);
    });

    for (const mode of ['focal-normalized', 'focal-accuracy'] as const) {
      it(`"${mode}" has the gradient sum_n w_n dL_n with w_n detached constants`, () => {
        const { z, s } = setup();
        const p = params({ prioritization: mode });
        const accuracy = [0.5, 0.5, 1];
        const before = tf.memory().numTensors;
        const ceValues = ces(z, s).map(value);
        ceValues.forEach((L) => expect(L).to.be.greaterThan(0.4));
        const w = taskWeights(ceValues, p, accuracy);
        const weighted = (...x: tf.Tensor[]) => tf.addN(ces(x, s).map((L, n) => tf.mul(L, w[n]))) as tf.Scalar;
        const f = (...x: tf.Tensor[]) => prioritizedLoss(ces(x, s), p, accuracy);
        expect(value(tf.tidy(() => f(...z)))).to.be.closeTo(value(tf.tidy(() => weighted(...z))), 1e-5);
        const g = tf.grads(f)(z);
        const gw = tf.grads(weighted)(z);
        g.forEach((gn, n) => expectClose(Array.from(gn.dataSync()), Array.from(gw[n].dataSync()), 1e-6));
        tf.dispose([...g, ...gw]);
        expect(tf.memory().numTensors).to.equal(before);
        tf.dispose([...z, ...s]);
      });
    }

    it('works inside tf.variableGrads (values read with dataSync in the loss function)', () => {
      const v = tf.variable(tf.tensor2d([[0.2, -0.1, 0.3]]));
      const s = tf.tensor1d([2], 'int32');
      const { value: loss, grads } = tf.variableGrads(() => prioritizedLoss([perTaskCrossEntropy(v, s)], params()), [v]);
      // one task: w = 1, so the gradient is that of the CE: softmax - onehot
      const p = [0.2, -0.1, 0.3].map(Math.exp);
      const sum = p.reduce((a, b) => a + b, 0);
      expectClose(Array.from(grads[v.name].dataSync()), [p[0] / sum, p[1] / sum, p[2] / sum - 1], 1e-6);
      expect(value(loss)).to.be.closeTo(Math.log(sum) - 0.3, 1e-6);
      tf.dispose([v, s, grads[v.name]]);
    });
  });

  describe('toy: three tasks trained with Adam', () => {
    // One trainable logit vector per task (M = 2, 4, 4, initialised at 0, so CE starts at ln M >= 0.69),
    // a fixed label each, Adam lr 0.05, 300 steps. Deterministic (no randomness).
    // Expected from the analysis of Eq. (21): every task descends into the basin of L* = -ln c = 0.307
    // (its start ln M is above the local maximum 0.147) and stays there; with the detached,
    // normalised focal weights every task keeps descending once all are below 0.307.
    function train(p: TaskPriorityParams): number[] {
      const sizes = [2, 4, 4];
      const labelIds = [1, 0, 3];
      const z = sizes.map((M) => tf.variable(tf.zeros([1, M])));
      const s = labelIds.map((k) => tf.tensor1d([k], 'int32'));
      const opt = tf.train.adam(0.05);
      for (let step = 0; step < 300; step++) {
        const { value: loss, grads } = tf.variableGrads(() => prioritizedLoss(z.map((zn, n) => perTaskCrossEntropy(zn as tf.Variable<tf.Rank.R2>, s[n])), p), z);
        opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
        tf.dispose([loss, ...Object.values(grads)]);
      }
      const final = z.map((zn, n) => value(perTaskCrossEntropy(zn as tf.Variable<tf.Rank.R2>, s[n])));
      opt.dispose();
      tf.dispose([...z, ...s]);
      return final;
    }

    it('stalls near -ln c under paper-eq21 and converges under focal-normalized', function () {
      this.timeout(5000);
      const eq21 = train(params({ prioritization: 'paper-eq21' }));
      const focal = train(params());
      eq21.forEach((L) => expect(L).to.be.within(0.15, 0.45));
      focal.forEach((L) => expect(L).to.be.below(0.05));
    });
  });
});
