import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { applyDefaults, cx, RandomStreams, toTransmitObject, writeTransmitFile, type Scenario } from '@gfra/core';
import { QnnSignaturesEncoder, QnnSignaturesParams, quantizeGuardedSte, quantizeSte } from './qnn-signatures';
import { QpskSpreadingEncoder } from './qpsk-spreading';

const S: Scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };

const make = (p: Partial<QnnSignaturesParams> = {}, s: Scenario = S, key = 'qnn') =>
  new QnnSignaturesEncoder(applyDefaults(QnnSignaturesParams, p) as QnnSignaturesParams, s, new RandomStreams([key]));

const traffic = () => ({
  activity: tf.tensor2d([[1, 0, 1, 1, 0, 1], [0, 1, 1, 1, 1, 0]]),
  message: tf.tensor2d([[0, 1, 2, 3, 0, 1], [3, 2, 1, 0, 3, 2]], [2, 6], 'int32'),
});

/** Σ over the norms of the gradients of `f` w.r.t. each variable. */
function gradNorms(enc: QnnSignaturesEncoder, f: () => tf.Scalar): Record<string, number> {
  const vars = enc.trainableVariables();
  const { value, grads } = tf.variableGrads(f, Object.values(vars));
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(vars)) out[name] = tf.tidy(() => tf.norm(grads[v.name]).dataSync()[0]);
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

describe('encoder:qnn-signatures', () => {
  it('quantizes round(clip(u, -2, 2)): [-3.2, -1.6, -0.4, 0.49, 0.51, 2.7] -> [-2, -2, 0, 0, 1, 2]', () => {
    const u = tf.tensor1d([-3.2, -1.6, -0.4, 0.49, 0.51, 2.7]);
    const q = quantizeSte(u, 2);
    expect(Array.from(q.dataSync()).map((x) => x + 0)).to.deep.equal([-2, -2, 0, 0, 1, 2]);
    tf.dispose([u, q]);
  });

  it('passes the gradient straight through: d/du Σ quantize(u) c = c (gated: c 1{|u| <= Q})', () => {
    const u = tf.tensor1d([-3.2, -1.6, -0.4, 0.49, 0.51, 2.7]);
    const c = tf.tensor1d([0.3, -1.2, 2.5, 0.7, -0.1, 4]);
    const identity = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(quantizeSte(x, 2), c)))(u);
    expect(Array.from(identity.dataSync())).to.deep.equal(Array.from(c.dataSync()));
    const gated = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(quantizeSte(x, 2, 'gated'), c)))(u);
    expect(Array.from(gated.dataSync()).map((x) => x + 0)).to.deep.equal(Array.from(c.dataSync()).map((x, i) => (i === 0 || i === 5 ? 0 : x)));
    tf.dispose([u, c, identity, gated]);
  });

  it('guards an all-zero signature with the one-hot sign of the largest |u|, keeping the gradient', () => {
    const u = tf.tensor2d([[0.1, -0.4, 0.2, 0.3], [0.1, 1.7, -0.2, 0.3]]); // L = 2: [re re im im]
    const q = quantizeGuardedSte(u, 2);
    expect(q.arraySync().map((r) => r.map((x) => x + 0))).to.deep.equal([[0, -1, 0, 0], [0, 2, 0, 0]]);
    const c = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(quantizeGuardedSte(x as tf.Tensor2D, 2), c)))(u);
    expect(g.arraySync()).to.deep.equal(c.arraySync());
    tf.dispose([u, q, c, g]);
  });

  it('sends unit energy for an active device and exactly 0 for an inactive one', () => {
    const enc = make();
    const t = traffic();
    const tx = enc.encode(t);
    const re = tx.re.arraySync() as number[][][];
    const im = tx.im.arraySync() as number[][][];
    const a = t.activity.arraySync();
    for (let b = 0; b < 2; b++) {
      for (let n = 0; n < 6; n++) {
        const e = re[b][n].reduce((s, x, k) => s + x * x + im[b][n][k] ** 2, 0);
        if (a[b][n] === 1) expect(e, `energy of active device ${n}`).to.be.closeTo(1, 1e-5);
        else for (let k = 0; k < 4; k++) expect(re[b][n][k] === 0 && im[b][n][k] === 0, `inactive device ${n}`).to.equal(true);
      }
    }
    tf.dispose([t.activity, t.message]);
    cx.dispose(tx);
    enc.dispose();
  });

  it('encoderLrMultiplier reparametrises u = k v without changing the forward values', () => {
    const a = make({ encoderLrMultiplier: 1 });
    const b = make({ encoderLrMultiplier: 10 });
    const t = traffic();
    const [txa, txb] = [a.encode(t), b.encode(t)];
    const [ta, tb] = [cx.toArrays(txa), cx.toArrays(txb)];
    cx.dispose(txa);
    cx.dispose(txb);
    ta.re.forEach((x, i) => expect(x).to.be.closeTo(tb.re[i], 1e-6));
    ta.im.forEach((x, i) => expect(x).to.be.closeTo(tb.im[i], 1e-6));
    expect(a.quantizedSignatures()).to.deep.equal(b.quantizedSignatures());
    const va = a.trainableVariables().latentRe.dataSync();
    const vb = b.trainableVariables().latentRe.dataSync();
    va.forEach((x, i) => expect(vb[i] * 10).to.be.closeTo(x, 1e-6));
    tf.dispose([t.activity, t.message]);
    a.dispose();
    b.dispose();
  });

  it('exports integer signatures [L, N] in {-Q..Q} with no zero row, which qpsk-spreading loads', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-qnn-'));
    try {
      const enc = make({}, { ...S, numDevices: 12, sequenceLength: 8 }, 'export');
      const { kind, value } = enc.transmitObject();
      expect(kind).to.equal('signatures');
      expect(value.re.shape).to.deep.equal([8, 12]);
      const obj = toTransmitObject(kind, value);
      cx.dispose(value);
      for (const x of [...obj.re, ...obj.im]) expect(Number.isInteger(x) && Math.abs(x) <= 2, `entry ${x}`).to.equal(true);
      for (let n = 0; n < 12; n++) {
        let e = 0;
        for (let k = 0; k < 8; k++) e += obj.re[k * 12 + n] ** 2 + obj.im[k * 12 + n] ** 2;
        expect(e, `device ${n}`).to.be.greaterThan(0);
      }
      const d = enc.diagnostics({});
      expect(d['zero-guard'], 'no forward guard firing after the init redraws').to.equal(0);
      const file = path.join(dir, 'sig.json');
      writeTransmitFile(file, obj);
      const loaded = new QpskSpreadingEncoder({ signatures: { source: 'file', path: file } }, { ...S, numDevices: 12, sequenceLength: 8 });
      const mine = cx.toArrays(enc.sideInformation().signatures!);
      const theirs = cx.toArrays(loaded.sideInformation().signatures!);
      mine.re.forEach((x, i) => expect(theirs.re[i]).to.be.closeTo(x, 1e-6));
      mine.im.forEach((x, i) => expect(theirs.im[i]).to.be.closeTo(x, 1e-6));
      expect(loaded.diagnostics({}).ccw).to.be.closeTo(d.ccw, 1e-9);
      loaded.dispose();
      enc.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('redraws an initial latent that rounds to all zeros (L = 8) and counts it', () => {
    // ℓ = sqrt(6/18) = 0.577: a device rounds to all zeros with probability about 0.10
    const counts = ['a', 'b', 'c', 'd'].map((key) => {
      const enc = make({}, { ...S, numDevices: 12, sequenceLength: 8 }, key);
      const sig = enc.quantizedSignatures();
      sig.re.forEach((r, n) => expect([...r, ...sig.im[n]].some((x) => x !== 0), `device ${n}`).to.equal(true));
      const redraws = enc.initRedraws;
      expect(enc.diagnostics({})['zero-guard-init']).to.equal(redraws);
      enc.dispose();
      return redraws;
    });
    expect(counts.some((c) => c > 0), `redraws ${counts}`).to.equal(true);
  });

  it('fires the forward guard on an all-zero latent and counts it in the diagnostics', () => {
    const enc = make();
    const { latentRe, latentIm } = enc.trainableVariables();
    tf.tidy(() => {
      latentRe.assign(tf.tensor2d([[0.1, -0.3, 0, 0], ...Array(5).fill([1, 0, 0, 0])]));
      latentIm.assign(tf.tensor2d([[0, 0.2, 0, 0], ...Array(5).fill([0, 1, 0, 0])]));
    });
    enc.setTraining(false);
    expect(enc.quantizedSignatures().re[0].map((x) => x + 0)).to.deep.equal([0, -1, 0, 0]);
    const t = traffic();
    cx.dispose(enc.encode(t));
    expect(enc.diagnostics({})['zero-guard']).to.equal(1);
    tf.dispose([t.activity, t.message]);
    enc.dispose();
  });

  it('trains through tx and through the signatures and codebook given to the receiver', () => {
    const enc = make();
    enc.setTraining(true);
    const t = traffic();
    const w = tf.randomNormal([2, 6, 4], 0, 1, 'float32', 7);
    const viaTx = gradNorms(enc, () => {
      const tx = enc.encode(t);
      return tf.sum(tf.add(tf.mul(tx.re, w), tf.mul(tx.im, tf.square(w)))) as tf.Scalar;
    });
    const c = tf.randomNormal([4, 6], 0, 1, 'float32', 8);
    const viaSignatures = gradNorms(enc, () => {
      const s = enc.sideInformation().signatures!;
      return tf.sum(tf.add(tf.mul(s.re, c), tf.mul(s.im, tf.square(c)))) as tf.Scalar;
    });
    const d = tf.randomNormal([4, 24], 0, 1, 'float32', 9);
    const viaCodebook = gradNorms(enc, () => {
      const s = enc.sideInformation().codebook!;
      return tf.sum(tf.add(tf.mul(s.re, d), tf.mul(s.im, tf.square(d)))) as tf.Scalar;
    });
    for (const [what, g] of Object.entries({ viaTx, viaSignatures, viaCodebook })) {
      for (const name of ['latentRe', 'latentIm']) expect(g[name], `${what} ${name}`).to.be.greaterThan(0).and.to.satisfy(Number.isFinite);
    }
    enc.setTraining(false);
    tf.dispose([t.activity, t.message, w, c, d]);
    enc.dispose();
  });

  it('clamps the latent to ±(Q + 0.5 - 1e-3) in afterStep() and when training ends (unless disabled)', () => {
    for (const [p, bound] of [
      [{ encoderLrMultiplier: 10 }, 2.499],
      [{ latentClamp: false }, 7],
      [{ quantize: false }, 7],
    ] as const) {
      const enc = make(p);
      const k = p.encoderLrMultiplier ?? 1;
      const { latentRe, latentIm } = enc.trainableVariables();
      enc.setTraining(true);
      tf.tidy(() => {
        latentRe.assign(tf.fill([6, 4], 7 / k));
        latentIm.assign(tf.fill([6, 4], -7 / k));
      });
      enc.afterStep();
      const max = () => Math.max(...Array.from(latentRe.dataSync()), ...Array.from(latentIm.dataSync()).map(Math.abs)) * k;
      expect(max(), JSON.stringify(p)).to.be.closeTo(bound, 1e-5);
      tf.tidy(() => latentRe.assign(tf.fill([6, 4], 9 / k)));
      enc.setTraining(false);
      expect(max(), JSON.stringify(p)).to.be.closeTo(bound === 7 ? 9 : bound, 1e-5);
      enc.dispose();
    }
  });

  it('unquantized: s̄ = u/||u|| (float entries), exported normalised', () => {
    const enc = make({ quantize: false });
    const { value } = enc.transmitObject();
    const { re, im } = cx.toArrays(value);
    expect(re.some((x) => !Number.isInteger(x))).to.equal(true);
    for (let n = 0; n < 6; n++) {
      let e = 0;
      for (let k = 0; k < 4; k++) e += re[k * 6 + n] ** 2 + im[k * 6 + n] ** 2;
      expect(e).to.be.closeTo(1, 1e-5);
    }
    cx.dispose(value);
    enc.dispose();
  });

  it('reports the correlation diagnostics of its quantized signatures with the traffic p', () => {
    const enc = make();
    const p = tf.tensor1d([0.8, 0.8, 0.8, 0.4, 0.4, 0.4]);
    const d = enc.diagnostics({ activityProbability: p });
    expect(Object.keys(d).sort()).to.deep.equal(['cc-frequent', 'cc-max', 'cc-other', 'ccw', 'zero-guard', 'zero-guard-init']);
    expect(d.ccw).to.be.within(0, 0.64);
    p.dispose();
    enc.dispose();
  });
});
