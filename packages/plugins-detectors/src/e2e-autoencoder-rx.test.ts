import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { RandomStreams } from '@gfra/core';
import { E2eAutoencoderRxDetector, type E2eAutoencoderRxParams } from './e2e-autoencoder-rx';
import { batch, codewords, disposeAll, lossOf, S3, train } from './mulvae/testing';

const e2eParams = (p: Partial<E2eAutoencoderRxParams> = {}): E2eAutoencoderRxParams => ({ hidden: 2, widthFactor: 8, csi: true, ...p });

describe('detector:e2e-autoencoder-rx', () => {
  it('gives per-user messages in [0, Q_n), ones for activity, bitLLR [B, N, J]; csi false needs no channel', () => {
    const data = batch(S3, codewords(S3, 'cw'), 200, 'e2e-shapes', { noiseVar: 1, fading: true });
    const det = new E2eAutoencoderRxDetector(e2eParams(), S3, new RandomStreams(['e2e']));
    const est = det.detect(data.observation);
    expect(est.message?.shape).to.deep.equal([200, 3]);
    expect(est.bitLLR?.shape).to.deep.equal([200, 3, 2]);
    const m = est.message?.arraySync() as number[][];
    [2, 2, 4].forEach((Q, n) => expect(Math.max(...m.map((r) => r[n]))).to.equal(Q - 1));
    expect(Math.min(...Array.from(est.activityScore?.dataSync() ?? []))).to.equal(1);
    const bare = new E2eAutoencoderRxDetector(e2eParams({ csi: false }), S3, new RandomStreams(['e2e']));
    expect(E2eAutoencoderRxDetector.plugin.requires?.(e2eParams({ csi: false }), S3)).to.deep.equal([]);
    const est2 = bare.detect({ y: data.observation.y });
    expect(est2.message?.shape).to.deep.equal([200, 3]);
    expect(det.trainableVariables()['q2/dense0/kernel'].shape).to.deep.equal([2, 4 + 12, 16]);
    expect(bare.trainableVariables()['q4/output/kernel'].shape).to.deep.equal([1, 32, 4]);
    disposeAll([est, est2, data]);
    det.dispose();
    bare.dispose();
  });

  it('loss = sum of per-user cross-entropies; gradients reach every variable; lossTerms per user', () => {
    const det = new E2eAutoencoderRxDetector(e2eParams(), S3, new RandomStreams(['e2e-grad']));
    const data = batch(S3, codewords(S3, 'cw'), 64, 'e2e-grad', { noiseVar: 0.1, fading: true });
    const vars = det.trainableVariables();
    det.setTraining(true);
    const { value, grads } = tf.variableGrads(() => lossOf(det, data), Object.values(vars));
    det.setTraining(false);
    for (const [name, v] of Object.entries(vars)) {
      const norm = tf.tidy(() => tf.norm(grads[v.name]).dataSync()[0]);
      expect(norm, name).to.be.greaterThan(0);
    }
    const terms = det.lossTerms();
    expect(Object.keys(terms)).to.deep.equal(['ce-user0', 'ce-user1', 'ce-user2']);
    expect(value.dataSync()[0]).to.be.closeTo(Object.values(terms).reduce((a, b) => a + b, 0), 1e-4);
    disposeAll([value, grads, data]);
    det.dispose();
  });

  it('trains: 60 Adam steps lower the loss clearly on the tiny AWGN problem', function () {
    this.timeout(20000);
    const det = new E2eAutoencoderRxDetector(e2eParams({ csi: false }), S3, new RandomStreams(['e2e-train']));
    const { first, last } = train(det, S3, codewords(S3, 'cw'), 60, { noiseVar: 0.05, fading: false, lr: 1e-2 });
    expect(first).to.be.greaterThan(1.5);
    expect(last, `loss ${first.toFixed(3)} -> ${last.toFixed(3)}`).to.be.below(0.4 * first);
    det.dispose();
  });
});
