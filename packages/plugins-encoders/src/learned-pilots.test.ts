import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { cx, RandomStreams, type Scenario } from '@gfra/core';
import { LearnedPilotsEncoder } from './learned-pilots';

const S: Scenario = { numDevices: 5, numAntennas: 1, sequenceLength: 3, bitsPerDevice: 1 };

function columnNorms(c: cx.ComplexTensor): number[] {
  return tf.tidy(() => Array.from(tf.sum(cx.abs2(c), 0).dataSync()));
}

describe('encoder:learned-pilots', () => {
  it('has exactly unit-norm columns, also after the raw variables are changed', () => {
    const enc = new LearnedPilotsEncoder({ trainable: true }, S, new RandomStreams(['p']));
    const A = enc.sideInformation().codebook as cx.ComplexTensor;
    expect(A.re.shape).to.deep.equal([3, 10]);
    columnNorms(A).forEach((n) => expect(n).to.be.closeTo(1, 1e-6));
    const { pilotsRe } = enc.trainableVariables();
    pilotsRe.assign(tf.mul(pilotsRe, tf.linspace(1, 7, 10)));
    enc.setTraining(false); // weights changed (e.g. loaded): refresh the cache
    columnNorms(enc.sideInformation().codebook as cx.ComplexTensor).forEach((n) => expect(n).to.be.closeTo(1, 1e-5));
    enc.dispose();
  });

  it('sends column n*Q + m_n of its codebook for active devices and zeros otherwise', () => {
    const enc = new LearnedPilotsEncoder({ trainable: true }, S, new RandomStreams(['p']));
    const A = enc.sideInformation().codebook as cx.ComplexTensor;
    const tx = enc.encode({ activity: tf.tensor2d([[1, 0, 0, 0, 1]]), message: tf.tensor2d([[1, 0, 0, 0, 0]], [1, 5], 'int32') });
    const col = (k: number) => (A.re.arraySync() as number[][]).map((r) => r[k]);
    const got = tx.re.arraySync() as number[][][];
    expect(got[0][0]).to.deep.equal(col(1));
    expect(got[0][4]).to.deep.equal(col(8));
    expect(got[0][2]).to.deep.equal([0, 0, 0]);
    cx.dispose(tx);
    enc.dispose();
  });

  it('in training mode, gradients of the sent signal reach W through the normalisation', () => {
    const enc = new LearnedPilotsEncoder({ trainable: true }, S, new RandomStreams(['p']));
    enc.setTraining(true);
    const vars = enc.trainableVariables();
    const traffic = { activity: tf.ones([2, 5]) as tf.Tensor2D, message: tf.zeros([2, 5], 'int32') as tf.Tensor2D };
    const { value, grads } = tf.variableGrads(() => tf.sum(enc.encode(traffic).re) as tf.Scalar, Object.values(vars));
    for (const v of Object.values(vars)) {
      const g = grads[v.name];
      expect(tf.tidy(() => tf.norm(g).dataSync()[0])).to.be.greaterThan(0);
      // W / ||W|| is invariant to scaling a column: the gradient is orthogonal to W column-wise
    }
    const radial = tf.tidy(() => tf.sum(tf.add(tf.mul(grads[vars.pilotsRe.name], vars.pilotsRe), tf.mul(grads[vars.pilotsIm.name], vars.pilotsIm)), 0));
    Array.from(radial.dataSync()).forEach((x) => expect(x).to.be.closeTo(0, 1e-5));
    tf.dispose([value, radial, ...Object.values(grads), traffic.activity, traffic.message]);
    enc.setTraining(false);
    enc.dispose();
  });

  it('is the same draw for the same key, and frozen (not trainable) with trainable: false', () => {
    const a = new LearnedPilotsEncoder({ trainable: true }, S, new RandomStreams(['k']));
    const b = new LearnedPilotsEncoder({ trainable: false }, S, new RandomStreams(['k']));
    expect(cx.toArrays(a.sideInformation().codebook as cx.ComplexTensor)).to.deep.equal(cx.toArrays(b.sideInformation().codebook as cx.ComplexTensor));
    expect(b.trainableVariables()).to.deep.equal({});
    expect(LearnedPilotsEncoder.plugin.training?.({ trainable: false }, S)).to.equal(undefined);
    a.dispose();
    b.dispose();
  });
});
