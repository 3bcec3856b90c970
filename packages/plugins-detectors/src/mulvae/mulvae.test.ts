import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { cx, RandomStreams, type ComplexTensor, type Observation, type Scenario, type TrainingBatch } from '@gfra/core';
import { perTaskCrossEntropy } from '../algorithms/task-priority';
import { MulVaeDetector, mulVaeParameterCount, type MulVaeParams } from './index';
import { attention, taskGroups } from '../algorithms/multitask-network';
import { batch, codewords, disposeAll, lossOf, S3, train } from './testing';

const mulvaeParams = (p: Partial<MulVaeParams> = {}): MulVaeParams => ({
  attention: true,
  mu: -1,
  appendCsi: false,
  blocks: 2,
  hiddenPerBlock: 2,
  widthFactor: 8,
  sluice: 'static',
  loss: { prioritization: 'focal-normalized', gamma: 2, c: 0.7357 },
  ...p,
});

/** Per-user logits of a network built from the group variables task by task (independent reference). */
function referenceLogits(det: MulVaeDetector, p: MulVaeParams, s: Scenario, obs: Observation, alpha?: number[][][], beta?: number[][]): tf.Tensor2D[] {
  return tf.tidy(() => {
    const v = det.trainableVariables();
    const { numDevices: N, sequenceLength: L } = s;
    const B = obs.y.re.shape[0];
    const groups = taskGroups((s.deviceBits ?? []).map((j) => 2 ** j));
    const where = (n: number) => {
      const gi = groups.findIndex((g) => g.users.includes(n));
      return { q: groups[gi].q, row: groups[gi].users.indexOf(n) };
    };
    const slice = (name: string, row: number) => {
      const t = v[name];
      return tf.reshape(tf.slice(t, [row, 0, 0], [1, t.shape[1] as number, t.shape[2] as number]), [t.shape[1] as number, t.shape[2] as number]) as tf.Tensor2D;
    };
    const dense = (x: tf.Tensor2D, prefix: string, row: number, layers: number) => {
      let h = x;
      for (let k = 0; k < layers; k++) h = tf.tanh(tf.add(tf.matMul(h, slice(`${prefix}dense${k}/kernel`, row)), slice(`${prefix}dense${k}/bias`, row))) as tf.Tensor2D;
      return tf.add(tf.matMul(h, slice(`${prefix}output/kernel`, row)), slice(`${prefix}output/bias`, row)) as tf.Tensor2D;
    };
    // a_n = y conj(h_n) / |h_n|^2, layout [Re (L); Im (L)]
    const y = cx.reshape(obs.y, [B, L]);
    const h = cx.reshape(obs.channel as ComplexTensor, [B, N, L]);
    const inputs = Array.from({ length: N }, (_, n) => {
      const hn = { re: tf.squeeze(tf.slice(h.re, [0, n, 0], [B, 1, L]), [1]), im: tf.squeeze(tf.slice(h.im, [0, n, 0], [B, 1, L]), [1]) };
      const den = cx.abs2(hn);
      return tf.concat([tf.div(tf.add(tf.mul(y.re, hn.re), tf.mul(y.im, hn.im)), den), tf.div(tf.sub(tf.mul(y.im, hn.re), tf.mul(y.re, hn.im)), den)], 1) as tf.Tensor2D;
    });
    const history: tf.Tensor2D[][] = [];
    let current = inputs;
    for (let l = 0; l < p.blocks; l++) {
      const z = current.map((x, n) => dense(x, `q${where(n).q}/block${l}/`, where(n).row, p.hiddenPerBlock));
      history.push(z);
      if (alpha !== undefined && l + 1 < p.blocks) {
        current = z.map((_, n) => tf.addN(z.map((zm, m) => tf.mul(zm, alpha[l][m][n]))) as tf.Tensor2D);
      } else current = z;
    }
    return Array.from({ length: N }, (_, n) => {
      let o = history[p.blocks - 1][n];
      if (beta !== undefined) for (let l = 0; l + 1 < p.blocks; l++) o = tf.add(o, tf.mul(history[l][n], beta[l][n])) as tf.Tensor2D;
      return dense(o, `q${where(n).q}/head/`, where(n).row, 0);
    });
  });
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  expect(actual.length, what).to.equal(expected.length);
  for (let i = 0; i < actual.length; i++) expect(actual[i], `${what} [${i}]`).to.be.closeTo(expected[i], tol);
}

describe('detector:mulvae', () => {
  it('attention: y / h_n recovers x_n exactly for one user without noise, and is y under AWGN', () => {
    const rnd = new RandomStreams(['attention']);
    const trials = { first: 0, count: 16 };
    const x = rnd.complexNormal(trials, 'x', [4]); // [B, R]
    const h = rnd.complexNormal(trials, 'h', [1, 4]); // [B, 1, R]
    const y = cx.reshape(cx.mul(h, cx.reshape(x, [16, 1, 4])), [16, 4]);
    const a = attention(y, h, -1);
    const xr = x.re.dataSync();
    const xi = x.im.dataSync();
    const ar = a.re.dataSync();
    const ai = a.im.dataSync();
    for (let i = 0; i < xr.length; i++) {
      const scale = Math.max(1, Math.hypot(xr[i], xi[i]));
      expect(Math.hypot(ar[i] - xr[i], ai[i] - xi[i]) / scale, `entry ${i}`).to.be.below(1e-5);
    }
    // AWGN: h = 1 for every user, a_n = y
    const ones = { re: tf.ones([16, 3, 4]), im: tf.zeros([16, 3, 4]) };
    const awgn = attention(y, ones, -1);
    const plus = attention(y, h, 1);
    for (let n = 0; n < 3; n++) {
      expectClose(tf.slice(awgn.re, [0, n, 0], [16, 1, 4]).dataSync(), y.re.dataSync(), 1e-6, 'Re a_n');
      expectClose(tf.slice(awgn.im, [0, n, 0], [16, 1, 4]).dataSync(), y.im.dataSync(), 1e-6, 'Im a_n');
    }
    // mu = +1: the literal product h_n y
    const prod = cx.mul(h, cx.reshape(y, [16, 1, 4]));
    expectClose(plus.re.dataSync(), prod.re.dataSync(), 1e-6, 'Re h y');
    expectClose(plus.im.dataSync(), prod.im.dataSync(), 1e-6, 'Im h y');
    disposeAll([x, h, y, a, ones, awgn, plus, prod]);
  });

  it('the sluice network equals a task-by-task reference; alpha = I, beta = 0 equals independent stacks ("off")', () => {
    // rates (2, 1, 2): the groups {0, 2} (Q = 4) and {1} (Q = 2) are not in device order
    const s: Scenario = { numDevices: 3, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 2, deviceBits: [2, 1, 2] };
    const p = mulvaeParams({ blocks: 3 });
    const data = batch(s, codewords(s, 'cw'), 8, 'sluice', { noiseVar: 0.1, fading: true });
    const det = new MulVaeDetector(p, s, new RandomStreams(['sluice']));
    const v = det.trainableVariables();
    const alpha = [0, 1].map((l) => [0, 1, 2].map((m) => [0, 1, 2].map((n) => 0.3 * Math.sin(1 + l + 3 * m + 7 * n) + (m === n ? 0.8 : 0))));
    const beta = [[0.5, -0.7, 1.2], [0.2, 0.9, -0.4]];
    alpha.forEach((a, l) => v[`sluice${l}/alpha`].assign(tf.tensor2d(a)));
    beta.forEach((b, l) => v[`beta${l}`].assign(tf.tensor1d(b)));
    const got = tf.tidy(() => det.logits(data.observation));
    const want = referenceLogits(det, p, s, data.observation, alpha, beta);
    got.forEach((z, n) => expectClose(z.dataSync(), want[n].dataSync(), 1e-4, `logits of user ${n} (static sluice)`));
    expect(got.map((z) => z.shape[1])).to.deep.equal([4, 2, 4]);
    disposeAll([got, want]);

    // alpha = I, beta = 0: the same as the "off" sluice with the same block weights, and as the reference without mixing
    [0, 1].forEach((l) => {
      v[`sluice${l}/alpha`].assign(tf.eye(3));
      v[`beta${l}`].assign(tf.zeros([3]));
    });
    const off = new MulVaeDetector(mulvaeParams({ blocks: 3, sluice: 'off' }), s, new RandomStreams(['sluice']));
    expect(Object.keys(off.trainableVariables()).some((k) => k.includes('alpha') || k.includes('beta'))).to.equal(false);
    const a = tf.tidy(() => det.logits(data.observation));
    const b = tf.tidy(() => off.logits(data.observation));
    const independent = referenceLogits(off, p, s, data.observation);
    a.forEach((z, n) => {
      expectClose(z.dataSync(), b[n].dataSync(), 1e-5, `user ${n}: alpha = I vs off`);
      expectClose(z.dataSync(), independent[n].dataSync(), 1e-4, `user ${n}: alpha = I vs independent stacks`);
    });
    disposeAll([a, b, independent, data]);
    det.dispose();
    off.dispose();
  });

  it('gives the declared outputs: message in [0, Q_n), activity = activityScore = 1, bitLLR [B, N, J]', () => {
    const det = new MulVaeDetector(mulvaeParams(), S3, new RandomStreams(['shapes']));
    const data = batch(S3, codewords(S3, 'cw'), 300, 'shapes', { noiseVar: 1, fading: true });
    const est = det.detect(data.observation);
    expect(est.message?.shape).to.deep.equal([300, 3]);
    expect(est.message?.dtype).to.equal('int32');
    expect(est.bitLLR?.shape).to.deep.equal([300, 3, 2]);
    expect(Array.from(est.activity?.dataSync() ?? [])).to.satisfy((a: number[]) => a.length === 900 && a.every((x) => x === 1));
    expect(Array.from(est.activityScore?.dataSync() ?? [])).to.satisfy((a: number[]) => a.length === 900 && a.every((x) => x === 1));
    const m = est.message?.arraySync() as number[][];
    const llr = est.bitLLR?.arraySync() as number[][][];
    const Qn = [2, 2, 4];
    for (let n = 0; n < 3; n++) {
      const column = m.map((row) => row[n]);
      expect(Math.max(...column), `user ${n} messages`).to.be.at.most(Qn[n] - 1);
      expect(Math.min(...column), `user ${n} messages`).to.be.at.least(0);
      expect(new Set(column).size, `user ${n} uses its messages`).to.equal(Qn[n]); // untrained, random input: all decisions occur
    }
    // bitLLR from the logits on the host: LSE over the messages with bit j = 1 minus LSE over bit j = 0
    // (natural binary over J = 2 bits, MSB first); the 1-bit users' MSB is certainly 0
    const logits = tf.tidy(() => det.logits(data.observation));
    const z = logits.map((t) => t.arraySync() as number[][]);
    const lse = (xs: number[]) => {
      const top = Math.max(...xs);
      return top + Math.log(xs.reduce((a, x) => a + Math.exp(x - top), 0));
    };
    for (let b = 0; b < 300; b++) {
      for (let n = 0; n < 3; n++) {
        const row = z[n][b];
        expect(m[b][n], 'message = argmax of the own logits').to.equal(row.indexOf(Math.max(...row)));
        if (Qn[n] === 2) {
          expect(llr[b][n][0]).to.be.below(-1e8);
          expect(llr[b][n][1]).to.be.closeTo(row[1] - row[0], 1e-4);
        } else {
          expect(llr[b][n][0]).to.be.closeTo(lse([row[2], row[3]]) - lse([row[0], row[1]]), 1e-4);
          expect(llr[b][n][1]).to.be.closeTo(lse([row[1], row[3]]) - lse([row[0], row[2]]), 1e-4);
        }
      }
    }
    disposeAll(logits);
    disposeAll([est, data]);
    det.dispose();
  });

  it('takes block channel state [B, N, 1] as flat over the REs', () => {
    const det = new MulVaeDetector(mulvaeParams({ appendCsi: true }), S3, new RandomStreams(['block']));
    const rnd = new RandomStreams(['block-data']);
    const trials = { first: 0, count: 5 };
    const y = rnd.complexNormal(trials, 'y', [2, 1]);
    const h = rnd.complexNormal(trials, 'h', [3, 1]);
    const repeated = { re: tf.tile(tf.reshape(h.re, [5, 3, 1, 1]), [1, 1, 2, 1]), im: tf.tile(tf.reshape(h.im, [5, 3, 1, 1]), [1, 1, 2, 1]) };
    const a = tf.tidy(() => det.logits({ y, channel: h }));
    const b = tf.tidy(() => det.logits({ y, channel: repeated }));
    a.forEach((z, n) => expectClose(z.dataSync(), b[n].dataSync(), 1e-5, `user ${n}`));
    expect(() => det.logits({ y, channel: { re: tf.zeros([5, 3, 3, 1]), im: tf.zeros([5, 3, 3, 1]) } })).to.throw(/channel state has shape \[5,3,3,1\]/);
    disposeAll([y, h, repeated, a, b]);
    det.dispose();
  });

  it('loss gradients reach every variable, alpha and beta included; lossTerms has one cross-entropy per user', () => {
    const det = new MulVaeDetector(mulvaeParams(), S3, new RandomStreams(['grad']));
    const data = batch(S3, codewords(S3, 'cw'), 64, 'grad', { noiseVar: 0.1, fading: true });
    const vars = det.trainableVariables();
    expect(Object.keys(vars)).to.include.members(['sluice0/alpha', 'beta0', 'q2/block0/dense0/kernel', 'q4/head/output/kernel']);
    const before = tf.memory().numTensors;
    det.setTraining(true);
    const { value, grads } = tf.variableGrads(() => lossOf(det, data), Object.values(vars));
    det.setTraining(false);
    for (const [name, v] of Object.entries(vars)) {
      const g = grads[v.name];
      expect(g, name).to.not.equal(undefined);
      const norm = tf.tidy(() => tf.norm(g).dataSync()[0]);
      expect(norm, `gradient norm of ${name}`).to.be.greaterThan(0);
      expect(Number.isFinite(norm), name).to.equal(true);
    }
    const lossValue = value.dataSync()[0];
    disposeAll([value, grads]);
    expect(tf.memory().numTensors, 'tensors left by the training pass').to.equal(before);
    const terms = det.lossTerms();
    expect(Object.keys(terms)).to.deep.equal(['ce-user0', 'ce-user1', 'ce-user2']);
    // the terms are the per-user cross-entropies of the logits, and the focal-normalized weights sum to N
    const logits = tf.tidy(() => det.logits(data.observation));
    const labels = tf.unstack(data.message, 1);
    const ce = logits.map((z, n) => tf.tidy(() => perTaskCrossEntropy(z, labels[n] as tf.Tensor1D).dataSync()[0]));
    expectClose(Object.values(terms), ce, 1e-5, 'ce');
    // focal-normalized: sum_n w_n L_n with w_n >= 0 summing to N lies within N [min L_n, max L_n]
    expect(lossValue).to.be.within(Math.min(...ce) * 3 - 1e-4, Math.max(...ce) * 3 + 1e-4);
    disposeAll([logits, labels, data]);
    det.dispose();
  });

  it('trains: 60 Adam steps lower the loss clearly on a tiny AWGN problem (N = 3, L = 2, rates 1, 1, 2)', function () {
    this.timeout(20000);
    const words = codewords(S3, 'cw');
    const det = new MulVaeDetector(mulvaeParams(), S3, new RandomStreams(['train']));
    const { first, last } = train(det, S3, words, 60, { noiseVar: 0.05, fading: false, lr: 1e-2 });
    // initial loss ~ sum_n ln Q_n = 2.77 nats (weights sum to N); the codewords are separable at this SNR
    expect(first).to.be.greaterThan(1.5);
    expect(last, `loss ${first.toFixed(3)} -> ${last.toFixed(3)}`).to.be.below(0.4 * first);
    det.dispose();
  });

  it('runs the literal Eq. (21) ("paper-eq21"): finite loss and gradients, a few steps', function () {
    this.timeout(20000);
    const det = new MulVaeDetector(mulvaeParams({ loss: { prioritization: 'paper-eq21', gamma: 2, c: 0.7357 } }), S3, new RandomStreams(['eq21']));
    const { first, last } = train(det, S3, codewords(S3, 'cw'), 6, { noiseVar: 0.05, fading: false, lr: 1e-2 });
    expect(Number.isFinite(first) && Number.isFinite(last)).to.equal(true);
    expect(first).to.be.greaterThan(0);
    det.dispose();
  });

  it('dynamic sluice: starts as the static one; a constant sluice DNN output (alpha, beta) equals the task-by-task reference; gradients reach the DNN', () => {
    // rates (2, 1, 2): the DNN's output is in group order, tasks (1, 0, 2)
    const s: Scenario = { numDevices: 3, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 2, deviceBits: [2, 1, 2] };
    const data = batch(s, codewords(s, 'cw'), 8, 'dynamic', { noiseVar: 0.1, fading: true });
    const pd = mulvaeParams({ blocks: 3, sluice: 'dynamic' });
    const dyn = new MulVaeDetector(pd, s, new RandomStreams(['dynamic']));
    const stat = new MulVaeDetector(mulvaeParams({ blocks: 3 }), s, new RandomStreams(['dynamic']));
    const v = dyn.trainableVariables();
    expect(Object.keys(v)).to.include.members(['sluice0/net/dense0/kernel', 'sluice1/net/output/bias']);
    expect(Object.values(v).reduce((n, x) => n + x.size, 0)).to.equal(mulVaeParameterCount(pd, s));
    const a0 = tf.tidy(() => dyn.logits(data.observation));
    const b0 = tf.tidy(() => stat.logits(data.observation));
    a0.forEach((z, n) => expectClose(z.dataSync(), b0[n].dataSync(), 1e-5, `user ${n}: initial dynamic vs static sluice`));

    const alpha = [0, 1].map((l) => [0, 1, 2].map((m) => [0, 1, 2].map((n) => 0.3 * Math.cos(2 + l + 3 * m + 5 * n) + (m === n ? 0.7 : 0))));
    const beta = [[0.5, -0.7, 1.2], [0.2, 0.9, -0.4]];
    const order = [1, 0, 2];
    [0, 1].forEach((l) => {
      const bias = [...order.flatMap((m) => order.map((n) => alpha[l][m][n])), ...order.map((n) => beta[l][n])];
      v[`sluice${l}/net/output/bias`].assign(tf.tensor3d(bias, [1, 1, 12]));
    });
    const got = tf.tidy(() => dyn.logits(data.observation));
    const want = referenceLogits(dyn, pd, s, data.observation, alpha, beta);
    got.forEach((z, n) => expectClose(z.dataSync(), want[n].dataSync(), 1e-4, `logits of user ${n} (dynamic sluice, constant output)`));

    // two Adam steps make the output kernel non-zero; then every variable, the DNN's included, gets a gradient
    train(dyn, s, codewords(s, 'cw'), 2, { noiseVar: 0.1, fading: true, lr: 0.01 });
    dyn.setTraining(true);
    const { value, grads } = tf.variableGrads(() => lossOf(dyn, data), Object.values(v));
    dyn.setTraining(false);
    for (const [name, x] of Object.entries(v)) {
      const norm = tf.tidy(() => tf.norm(grads[x.name]).dataSync()[0]);
      expect(norm, `gradient norm of ${name}`).to.be.greaterThan(0);
      expect(Number.isFinite(norm), name).to.equal(true);
    }
    disposeAll([a0, b0, got, want, value, grads, data]);
    dyn.dispose();
    stat.dispose();
  });

  it('KL term (klWeight): adds klWeight (1 / sigma^2) mean_b ||mu_b - sqrt(P_R) 1||^2 (Eq. (12), corrected) to the loss, computed by hand', () => {
    const B = 5;
    const { numDevices: N, sequenceLength: L } = S3;
    const data = batch(S3, codewords(S3, 'cw'), B, 'kl', { noiseVar: 0.3, fading: true });
    const tx = new RandomStreams(['kl']).complexNormal({ first: 0, count: B }, 'tx', [N, L]);
    const full = { observation: data.observation, truth: { message: data.message }, tx, channel: { channel: data.observation.channel, noiseVar: 0.3 } };
    const lossWith = (klWeight?: number) => {
      const det = new MulVaeDetector(mulvaeParams(klWeight === undefined ? {} : { klWeight }), S3, new RandomStreams(['kl']));
      const value = tf.tidy(() => det.loss(full as unknown as TrainingBatch).dataSync()[0]);
      const terms = det.lossTerms();
      det.dispose();
      return { value, terms };
    };
    // by hand: mu_b = [Re; Im] of sum_n h_{b,n} x_{b,n}
    const [xr, xi, hr, hi] = [tx.re, tx.im, data.observation.channel.re, data.observation.channel.im].map((t) => t.dataSync());
    const mu: number[][] = [];
    for (let b = 0; b < B; b++) {
      const re = Array<number>(L).fill(0);
      const im = Array<number>(L).fill(0);
      for (let n = 0; n < N; n++) {
        for (let l = 0; l < L; l++) {
          const i = (b * N + n) * L + l;
          re[l] += hr[i] * xr[i] - hi[i] * xi[i];
          im[l] += hr[i] * xi[i] + hi[i] * xr[i];
        }
      }
      mu.push([...re, ...im]);
    }
    const power = mu.flat().reduce((a, x) => a + x * x, 0) / (B * 2 * L);
    const kl = mu.reduce((a, m) => a + m.reduce((c, x) => c + (x - Math.sqrt(power)) ** 2, 0) / 0.3, 0) / B;
    const without = lossWith();
    const zero = lossWith(0);
    const withKl = lossWith(0.5);
    expect(withKl.value - without.value).to.be.closeTo(0.5 * kl, 1e-4 * Math.max(1, kl));
    expect(withKl.terms.kl).to.be.closeTo(kl, 1e-4 * Math.max(1, kl));
    expect(zero.value).to.equal(without.value);
    expect(without.terms).to.not.have.property('kl');
    disposeAll([tx, data]);
  });

  it('runs without attention ([y; H] for every task), with mu = +1 and with focal-accuracy', () => {
    const data = batch(S3, codewords(S3, 'cw'), 16, 'variants', { noiseVar: 0.1, fading: true });
    for (const p of [mulvaeParams({ attention: false }), mulvaeParams({ mu: 1 }), mulvaeParams({ loss: { prioritization: 'focal-accuracy', gamma: 2, c: 0.7357 }, attentionClip: 5 })]) {
      const det = new MulVaeDetector(p, S3, new RandomStreams(['variants']));
      const loss = lossOf(det, data);
      expect(Number.isFinite(loss.dataSync()[0])).to.equal(true);
      loss.dispose();
      det.dispose();
    }
    disposeAll(data);
  });

  it('counts its parameters (paper scale: N = 6, K = 4, rates 1,1,1,2,2,2, 2 blocks of 5 layers, d_s = 32)', () => {
    const s: Scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2, deviceBits: [1, 1, 1, 2, 2, 2] };
    const p = mulvaeParams({ hiddenPerBlock: 5 });
    const det = new MulVaeDetector(p, s, new RandomStreams(['count']));
    const total = Object.values(det.trainableVariables()).reduce((n, v) => n + v.size, 0);
    expect(total).to.equal(mulVaeParameterCount(p, s));
    expect(total).to.be.within(4e4, 6e4); // about 4.8e4 for the decoder
    det.dispose();
  });

  it('check: a sluice needs two blocks', () => {
    const s: Scenario = { numDevices: 3, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 2, deviceBits: [1, 1, 2] };
    for (const sluice of ['static', 'dynamic'] as const) {
      expect(MulVaeDetector.plugin.check?.(mulvaeParams({ blocks: 1, sluice }), s)).to.deep.include({
        path: 'sluice',
        message: `is "${sluice}", but with blocks = 1 there is no sluice between blocks`,
        hint: 'Use blocks >= 2, or sluice "off"',
      });
    }
    expect(MulVaeDetector.plugin.check?.(mulvaeParams({ blocks: 1, sluice: 'off' }), s)).to.deep.equal([]);
  });
});
