import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { RandomStreams, train, type Scenario, type TrainConfig, type TrainingBatch } from '@gfra/core';
import { scalarBgDenoiser } from '../algorithms/amp';
import { synthetic, type SyntheticBatch, type SyntheticObservation } from '../testing/synthetic';
import { DlMampnetDetector, poolUnpool, type DlMampnetParams } from './index';
import { ampNonlinearity } from './network';

const params = (p: Partial<DlMampnetParams> = {}): DlMampnetParams => ({
  layers: 4,
  bMode: 'shared',
  onsagerNorm: '2LM',
  theta2Init: 'data',
  rho: 1,
  rmInputNorm: 'tau',
  lossSurrogate: 'logits',
  convInit: 'avg',
  fc3Init: 'pair',
  ...p,
});

const make = (scenario: Scenario, p: Partial<DlMampnetParams> = {}) => new DlMampnetDetector(params(p), scenario, new RandomStreams(['dl-mampnet-test']));

/** Eq. (47) as printed (second line), on host numbers (float64). */
function etaLiteral(z: number, tau2: number, theta1: number, theta2: number): number {
  const s = tau2 + (tau2 * tau2) / theta2;
  const c = Math.sqrt(1 + theta2 / tau2) * Math.exp(theta1 - (z * z) / (2 * s));
  return z / ((1 + tau2 / theta2) * (1 + c));
}

/** A training batch (truth + observation) from synthetic data (tensors owned by the caller's scope). */
function batchOf(data: SyntheticBatch): TrainingBatch & { observation: SyntheticObservation } {
  const observation = data.observation();
  const N = data.scenario.numDevices;
  const B = data.activity.length;
  const truth = {
    activity: tf.tensor2d(data.activity.flat(), [B, N]),
    message: tf.tensor2d(data.message.flat(), [B, N], 'int32'),
    channel: data.channel(),
    largeScaleFading: observation.largeScaleFading as tf.Tensor2D,
  };
  return { observation, truth } as unknown as TrainingBatch & { observation: SyntheticObservation };
}

/** Real-valued AMP with the per-entry denoiser (47), on host numbers: X_t [2NQ][M] per layer. */
function referenceAmp(data: SyntheticBatch, trial: number, layers: number, eps: number): number[][][] {
  const { numDevices: N, numAntennas: M, sequenceLength: L } = data.scenario;
  const Q = 2 ** data.scenario.bitsPerDevice;
  const K = N * Q;
  const sigma = Math.sqrt(data.noiseVar);
  // S_r = [[Re S, -Im S], [Im S, Re S]]
  const Sr = Array.from({ length: 2 * L }, (_, i) =>
    Array.from({ length: 2 * K }, (_, j) => {
      const [l, k] = [i % L, j % K];
      const p = data.pilots[k];
      if (i < L) return j < K ? p.re[l] : -p.im[l];
      return j < K ? p.im[l] : p.re[l];
    }),
  );
  const y = data.y[trial];
  const Y = Array.from({ length: 2 * L }, (_, i) => Array.from({ length: M }, (_, m) => (i < L ? y.re[i * M + m] : y.im[(i - L) * M + m]) / sigma));
  const theta1 = Math.log((Q - eps) / eps);
  const theta2 = (r: number) => data.beta[Math.floor((r % K) / Q)] / 2 / data.noiseVar;
  let X = Array.from({ length: 2 * K }, () => new Array<number>(M).fill(0));
  let R = Y.map((row) => row.slice());
  const out: number[][][] = [];
  for (let t = 0; t < layers; t++) {
    const tau2 = R.flat().reduce((a, v) => a + v * v, 0) / (2 * L * M);
    const Xn = X.map((row) => row.slice());
    let sumDer = 0;
    for (let r = 0; r < 2 * K; r++) {
      for (let m = 0; m < M; m++) {
        let z = X[r][m];
        for (let i = 0; i < 2 * L; i++) z += Sr[i][r] * R[i][m];
        Xn[r][m] = etaLiteral(z, tau2, theta1, theta2(r));
        const h = 1e-6 * Math.max(1, Math.abs(z));
        sumDer += (etaLiteral(z + h, tau2, theta1, theta2(r)) - etaLiteral(z - h, tau2, theta1, theta2(r))) / (2 * h);
      }
    }
    const Rn = Y.map((row, i) =>
      row.map((yv, m) => {
        let sx = 0;
        for (let r = 0; r < 2 * K; r++) sx += Sr[i][r] * Xn[r][m];
        return yv - sx + (sumDer / (2 * L * M)) * R[i][m];
      }),
    );
    X = Xn;
    R = Rn;
    out.push(X);
  }
  return out;
}

/** Set theta_{t,2} of every layer to beta_n / 2 per row (theta2Init = 1). */
function setTheta2ToBeta(det: DlMampnetDetector, data: SyntheticBatch): void {
  const { numDevices: N, numAntennas: M } = data.scenario;
  const Q = 2 ** data.scenario.bitsPerDevice;
  const K = N * Q;
  const vars = det.trainableVariables();
  vars.theta2Init.assign(tf.scalar(1));
  const row = Array.from({ length: 2 * K }, (_, r) => Math.log(data.beta[Math.floor((r % K) / Q)] / 2 / data.noiseVar));
  for (const [name, v] of Object.entries(vars)) if (name.endsWith('/dLogTheta2')) v.assign(tf.tensor2d(Array.from({ length: M }, () => row).flat(), [M, 2 * K]));
}

function relErr(a: number[], b: number[]): number {
  const d = Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0));
  return d / Math.sqrt(b.reduce((s, v) => s + v * v, 0));
}

describe('detector:dl-mampnet', () => {
  it('denoiser (47)-(48): eta equals the printed formula, eta\' equals its central differences and autodiff (float64 reference, rel 1e-4)', () => {
    const cases: [number, number, number, number][] = [];
    for (const tau2 of [0.3, 1, 7]) for (const theta2 of [0.5, 20, 800]) for (const theta1 of [-1, 2.944, 6]) for (const z of [-9, -2.5, -0.3, 0.01, 1.2, 4, 30]) cases.push([z, tau2, theta1, theta2]);
    const [zs, taus, t1s, t2s] = [0, 1, 2, 3].map((i) => tf.tensor1d(cases.map((c) => c[i])));
    const { eta, derivative, posterior, gain, s } = scalarBgDenoiser(zs, taus, t1s, t2s);
    const auto = tf.grad((z: tf.Tensor) => tf.sum(scalarBgDenoiser(z, taus, t1s, t2s).eta))(zs);
    const [e, d, g] = [eta.dataSync(), derivative.dataSync(), auto.dataSync()];
    cases.forEach(([z, tau2, theta1, theta2], i) => {
      const ref = etaLiteral(z, tau2, theta1, theta2);
      const h = 1e-5 * Math.max(1, Math.abs(z));
      const fd = (etaLiteral(z + h, tau2, theta1, theta2) - etaLiteral(z - h, tau2, theta1, theta2)) / (2 * h);
      const label = `z ${z}, tau2 ${tau2}, theta1 ${theta1}, theta2 ${theta2}`;
      expect(e[i], `eta, ${label}`).to.be.closeTo(ref, 1e-4 * Math.max(1e-3, Math.abs(ref)) + 1e-6);
      expect(d[i], `eta', ${label}`).to.be.closeTo(fd, 1e-4 * Math.max(1e-2, Math.abs(fd)) + 1e-6);
      expect(g[i], `autodiff, ${label}`).to.be.closeTo(fd, 1e-4 * Math.max(1e-2, Math.abs(fd)) + 1e-6);
    });
    tf.dispose([zs, taus, t1s, t2s, eta, derivative, posterior, gain, s, auto]);
  });

  // The tfjs formulation of ampNonlinearity (the fallback); its WebAssembly kernels are checked against it in layer-kernel.test.ts.
  it('the fused layer op (ampNonlinearity) equals v eta and (v / C) sum eta\' of scalarBgDenoiser bit for bit, and its hand-written gradient equals autodiff of that formulation (float32, rel 1e-5)', () => {
    const [B, M, K] = [5, 3, 8];
    const g = new RandomStreams(['dl-mampnet-fused']).onceGenerator('values');
    const draw = (shape: number[], f: () => number) => tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, f), shape);
    // z spans inactive (|z| ~ tau) to strongly active entries; tau2, theta2 over orders of magnitude
    const z = draw([B, M, K], () => g.normal() * 10 ** (1.5 * g.uniform())) as tf.Tensor3D;
    const tau2 = draw([B, 1, 1], () => 10 ** (2 * g.uniform() - 1)) as tf.Tensor3D;
    const theta1 = draw([M, K], () => 3 + 2 * g.normal()) as tf.Tensor2D;
    const theta2 = draw([M, K], () => 10 ** (3 * g.uniform() - 1)) as tf.Tensor2D;
    const v = tf.scalar(0.8);
    const C = 2 * 7 * M;
    const upX = draw([B, M, K], () => g.normal());
    const upO = draw([B, 1, 1], () => g.normal());
    const previous = (zz: tf.Tensor, t: tf.Tensor, a: tf.Tensor, b: tf.Tensor, vv: tf.Tensor) => {
      const den = scalarBgDenoiser(zz, t, a, b);
      return { x: tf.mul(vv, den.eta), onsager: tf.reshape(tf.div(tf.mul(vv, tf.sum(den.derivative, [1, 2])), C), [B, 1, 1]) };
    };
    const fused = (zz: tf.Tensor, t: tf.Tensor, a: tf.Tensor, b: tf.Tensor, vv: tf.Tensor) =>
      ampNonlinearity(zz as tf.Tensor3D, t as tf.Tensor3D, a as tf.Tensor2D, b as tf.Tensor2D, vv as tf.Scalar, C, 'tfjs');
    const objective = (f: typeof previous) => (zz: tf.Tensor, t: tf.Tensor, a: tf.Tensor, b: tf.Tensor, vv: tf.Tensor) => {
      const out = f(zz, t, a, b, vv);
      return tf.add(tf.sum(tf.mul(out.x, upX)), tf.sum(tf.mul(out.onsager, upO)));
    };
    tf.tidy(() => {
      const [ref, got] = [previous(z, tau2, theta1, theta2, v), fused(z, tau2, theta1, theta2, v)];
      expect(Array.from(got.x.dataSync()), 'X').to.deep.equal(Array.from(ref.x.dataSync()));
      expect(Array.from(got.onsager.dataSync()), 'Onsager').to.deep.equal(Array.from(ref.onsager.dataSync()));
      const inputs = [z, tau2, theta1, theta2, v];
      const gRef = tf.grads(objective(previous))(inputs);
      const gGot = tf.grads(objective(fused))(inputs);
      ['z', 'tau2', 'theta1', 'theta2', 'v'].forEach((name, i) => {
        expect(gGot[i].shape, name).to.deep.equal(inputs[i].shape);
        const [a, b] = [Array.from(gGot[i].dataSync()), Array.from(gRef[i].dataSync())];
        expect(b.every(Number.isFinite), `${name}: finite reference`).to.equal(true);
        expect(relErr(a, b), `gradient wrt ${name}`).to.be.below(1e-5);
      });
    });
    // no gradient tape: nothing saved, nothing left
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      fused(z, tau2, theta1, theta2, v);
    });
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([z, tau2, theta1, theta2, v, upX, upO]);
  });

  it('with theta_1 = log((Q - eps)/eps), theta_2 = beta_n / 2, B_t = S_r^T, v_t = 1 its AMP layers are the AMP iterations (float64 reference, rel 1e-4), and the error falls over layers', () => {
    const scenario: Scenario = { numDevices: 20, numAntennas: 8, sequenceLength: 24, bitsPerDevice: 1 };
    const data = synthetic({ scenario, trials: 20, activityProb: 0.1, snrDb: [0, 20], key: 'dl-amp-equivalence' });
    const det = make(scenario, { layers: 6 });
    setTheta2ToBeta(det, data);
    const T = 6;
    const { xs, target } = tf.tidy(() => {
      const batch = batchOf(data);
      const out = det.forward(batch.observation, T, false);
      return { xs: out.x.map((x) => x.arraySync() as number[][][]), target: det.targets(batch).x.arraySync() as number[][][] };
    });
    const { numDevices: N, numAntennas: M } = scenario;
    const K2 = 2 * N * 2;
    for (let b = 0; b < 3; b++) {
      const ref = referenceAmp(data, b, T, 0.1);
      for (let t = 0; t < T; t++) {
        // network layout [M, 2NQ]; reference [2NQ, M]
        const net = xs[t][b];
        const err = relErr(Array.from({ length: K2 * M }, (_, j) => net[j % M][Math.floor(j / M)]), ref[t].flat());
        expect(err, `trial ${b}, layer ${t + 1}`).to.be.below(1e-4);
      }
    }
    // squared error over 20 trials, per layer
    const truth = target.flat(2);
    const mse = xs.map((x) => x.flat(2).reduce((s, v, j) => s + (v - truth[j]) ** 2, 0) / 20);
    expect(mse[T - 1], `squared error per trial over layers: ${mse.map((v) => v.toFixed(1)).join(', ')}`).to.be.below(0.8 * mse[0]);
    det.dispose();
  });

  it('Kronecker-free form = literal form: "shared" B equals "dense" B_t = I_M kron B, and vec(layer 1) equals the literal Kronecker computation', () => {
    const scenario: Scenario = { numDevices: 3, numAntennas: 2, sequenceLength: 4, bitsPerDevice: 1 };
    const { numDevices: N, numAntennas: M, sequenceLength: L } = scenario;
    const K2 = 2 * N * 2;
    const data = synthetic({ scenario, trials: 2, activityProb: 0.5, snrDb: [5, 15], key: 'dl-kron' });
    const shared = make(scenario, { layers: 3, theta2Init: 4 });
    const dense = make(scenario, { layers: 3, theta2Init: 4, bMode: 'dense' });
    const g = new RandomStreams(['kron']).onceGenerator('d');
    for (let t = 1; t <= 3; t++) {
      const D = Array.from({ length: K2 }, () => Array.from({ length: 2 * L }, () => 0.1 * g.normal()));
      shared.trainableVariables()[`layer${t}/dB`].assign(tf.tensor2d(D));
      // (I_M kron D)[m K2 + r, m' 2L + i] = 1(m = m') D[r, i]
      const kron = Array.from({ length: M * K2 }, (_, row) => Array.from({ length: M * 2 * L }, (_, col) => (Math.floor(row / K2) === Math.floor(col / (2 * L)) ? D[row % K2][col % (2 * L)] : 0)));
      dense.trainableVariables()[`layer${t}/dB`].assign(tf.tensor2d(kron));
    }
    const [a, b, obsArrays] = tf.tidy(() => {
      const obs = data.observation();
      const fa = shared.forward(obs, 3, false).x.map((x) => Array.from(x.dataSync()));
      const fb = dense.forward(obs, 3, false).x.map((x) => Array.from(x.dataSync()));
      const Sr = tf.concat([tf.concat([obs.codebook!.re, tf.neg(obs.codebook!.im)], 1), tf.concat([obs.codebook!.im, obs.codebook!.re], 1)], 0);
      return [fa, fb, { Sr: Sr.arraySync() as number[][] }];
    }) as unknown as [number[][], number[][], { Sr: number[][] }];
    for (let t = 0; t < 3; t++) expect(relErr(a[t], b[t]), `layer ${t + 1}`).to.be.below(1e-5);
    // Literal layer 1 for trial 0 with the Kronecker matrix S~ = I_M kron S_r and column-major vec.
    const Sr = obsArrays.Sr;
    const B1 = shared.trainableVariables()['layer1/dB'].arraySync() as number[][];
    const Bt = Array.from({ length: M * K2 }, (_, row) => Array.from({ length: M * 2 * L }, (_, col) => (Math.floor(row / K2) === Math.floor(col / (2 * L)) ? Sr[col % (2 * L)][row % K2] + B1[row % K2][col % (2 * L)] : 0)));
    const y = data.y[0];
    const yVec = Array.from({ length: 2 * L * M }, (_, j) => {
      const [m, i] = [Math.floor(j / (2 * L)), j % (2 * L)]; // column-major: vec index m 2L + i
      return i < L ? y.re[i * M + m] : y.im[(i - L) * M + m];
    });
    const tau2 = yVec.reduce((s, v) => s + v * v, 0) / (2 * L * M);
    const theta1 = Math.log((2 - 0.5) / 0.5);
    const zVec = Bt.map((row) => row.reduce((s, v, j) => s + v * yVec[j], 0));
    const xVec = zVec.map((z) => etaLiteral(z, tau2, theta1, 4));
    expect(relErr(a[0].slice(0, M * K2), xVec)).to.be.below(1e-5);
    shared.dispose();
    dense.dispose();
  });

  it('Y_r = S_r X_r + W_r in its layout: the residual of the training target has the noise variance (1/2 per real entry, sigma-normalised)', () => {
    const scenario: Scenario = { numDevices: 10, numAntennas: 4, sequenceLength: 12, bitsPerDevice: 2 };
    const data = synthetic({ scenario, trials: 50, activityProb: 0.3, snrDb: 40, noiseVar: 0.01, key: 'dl-layout' });
    const det = make(scenario);
    const [residual, signal] = tf.tidy(() => {
      const batch = batchOf(data);
      const obs = batch.observation;
      const y = tf.div(tf.concat([tf.transpose(obs.y.re, [0, 2, 1]), tf.transpose(obs.y.im, [0, 2, 1])], 2), Math.sqrt(0.01));
      const Sr = tf.concat([tf.concat([obs.codebook!.re, tf.neg(obs.codebook!.im)], 1), tf.concat([obs.codebook!.im, obs.codebook!.re], 1)], 0);
      const x = det.targets(batch).x; // [B, M, 2NQ]
      const sx = tf.reshape(tf.matMul(tf.reshape(x, [-1, x.shape[2]]), Sr, false, true), y.shape);
      return [tf.mean(tf.square(tf.sub(y, sx))).dataSync()[0], tf.mean(tf.square(y)).dataSync()[0]];
    });
    // 50 x 4 x 24 = 4800 real noise samples: SE of the variance estimate 0.5 sqrt(2/4800) = 0.01
    expect(residual).to.be.closeTo(0.5, 0.05);
    expect(signal).to.be.above(100);
    det.dispose();
  });

  it('max-pool / max-unpool keeps exactly one entry per Q-block (its first maximum) and passes the gradient only there; so does the network', () => {
    const o = tf.tensor2d([
      [0.5, 2, 2, 1, 0, 0, 0, 0, 3, 1, 4, 2],
      [1, 1, 1, 1, 7, 0, 0, 6, 0.1, 0.2, 0.3, 0.05],
    ]);
    const u = poolUnpool(o, 4);
    expect(u.arraySync()).to.deep.equal([
      [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0],
      [1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0.3, 0].map((v) => Math.fround(v)),
    ]);
    const w = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]]);
    const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(poolUnpool(x as tf.Tensor2D, 4), w)))(o);
    expect(grad.arraySync()).to.deep.equal([
      [0, 2, 0, 0, 5, 0, 0, 0, 0, 0, 11, 0],
      [1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 11, 0],
    ]);
    tf.dispose([o, u, w, grad]);
    // In the network: at most one non-zero of u per (device, real/imaginary half).
    const scenario: Scenario = { numDevices: 8, numAntennas: 4, sequenceLength: 8, bitsPerDevice: 2 };
    const data = synthetic({ scenario, trials: 20, activityProb: 0.3, snrDb: 15, key: 'dl-pool' });
    const det = make(scenario);
    const rows = tf.tidy(() => det.forward(data.observation()).u!.arraySync());
    for (const row of rows) for (let blk = 0; blk < row.length / 4; blk++) expect(row.slice(4 * blk, 4 * blk + 4).filter((v) => v !== 0).length).to.be.at.most(1);
    expect(rows.flat().some((v) => v > 0), 'the module is not dead').to.equal(true);
    det.dispose();
  });

  it('trains layer-wise through the trainer (T + 2 phases, each changing every variable it trains and no other), and the losses fall', async function () {
    this.timeout(60000);
    const scenario: Scenario = { numDevices: 10, numAntennas: 4, sequenceLength: 8, bitsPerDevice: 1 };
    const det = make(scenario, { layers: 2, schedule: { steps: [15, 15, 30, 10], learningRates: [0.01, 0.01, 0.01, 0.001] } });
    const sets = { train: 0, validation: 1e6 };
    const forward = (trials: { first: number; count: number }, set: 'train' | 'validation'): TrainingBatch => {
      const data = synthetic({ scenario, trials: trials.count, first: trials.first + sets[set], activityProb: 0.2, snrDb: [0, 20], key: 'dl-train' });
      const batch = batchOf(data);
      return { ...batch, estimate: det.detect(batch.observation) };
    };
    const evalBatch = synthetic({ scenario, trials: 200, first: 5e6, activityProb: 0.2, snrDb: [0, 20], key: 'dl-train' });
    const losses = () =>
      tf.tidy(() => {
        const b = batchOf(evalBatch);
        return [1, 2, 3].map((s) => det.stageLoss(b, s).dataSync()[0]);
      });
    det.setTraining(true);
    det.trainableVariables().theta2Init.assign(tf.scalar(0));
    const vars = Object.fromEntries(Object.entries(det.trainableVariables()).map(([n, v]) => [`detector/${n}`, v]));
    const before = new Map(Object.entries(vars).map(([n, v]) => [n, Array.from(v.dataSync())]));
    const config = {
      loss: 'plugin',
      optimizer: { type: 'adam', learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
      schedule: { type: 'constant' },
      batchSize: 50,
      steps: 1,
      trainingSetSize: 500,
      overrides: {},
      checkpointEvery: 10000,
    } as TrainConfig;
    let lossesBefore: number[] = [];
    // every variable's values around each phase (bit patterns: a variable that "stays" must stay bit-identical)
    const snapshot = () => new Map(Object.entries(det.trainableVariables()).map(([n, v]) => [n, Float32Array.from(v.dataSync() as Float32Array)]));
    const bitEqual = (a: Float32Array, b: Float32Array) => a.length === b.length && new Uint32Array(a.buffer).every((w, i) => w === new Uint32Array(b.buffer)[i]);
    const changedIn = new Map<string, string[]>();
    const outcome = await train(
      {
        variables: vars,
        forward,
        loss: (b) => det.loss(b),
        setTraining: (on) => det.setTraining(on),
        fit: {
          slot: 'detector',
          run: async (ctx) => {
            // Measure the initial losses once theta2Init is set (fit sets it before phase 1).
            const phase = ctx.phase;
            let first = true;
            await det.fit({
              ...ctx,
              phase: async (name, options) => {
                if (first) {
                  det.setTraining(false);
                  lossesBefore = losses();
                  det.setTraining(true);
                  first = false;
                }
                const start = snapshot();
                const result = await phase(name, options);
                const end = snapshot();
                changedIn.set(
                  name,
                  [...end.keys()].filter((n) => !bitEqual(start.get(n) as Float32Array, end.get(n) as Float32Array)),
                );
                return result;
              },
            });
          },
        },
      },
      { config },
    );
    expect(outcome.phases.map((p) => [p.name, p.steps])).to.deep.equal([
      ['layer1-mse', 15],
      ['layer2-mse', 15],
      ['refinement-bce', 30],
      ['joint-bce', 10],
    ]);
    // Each phase changes every variable it trains and leaves every other one bit-identical:
    // layer<t>-mse: layer<t>/{dB, v, dTheta1, dLogTheta2}; refinement-bce: rm/*; joint-bce: layer*/ and
    // rm/*; theta2Init (set by fit before phase 1) in none.
    const names = Object.keys(det.trainableVariables());
    const layer = (t: number) => names.filter((n) => n.startsWith(`layer${t}/`));
    const rm = names.filter((n) => n.startsWith('rm/'));
    expect(layer(1)).to.have.length(4);
    expect(layer(2)).to.have.length(4);
    expect(rm.length, 'refinement variables').to.be.above(0);
    expect(names).to.include('theta2Init');
    const sorted = (v: string[] | undefined) => (v ?? []).slice().sort();
    expect(sorted(changedIn.get('layer1-mse')), 'changed in layer1-mse').to.deep.equal(sorted(layer(1)));
    expect(sorted(changedIn.get('layer2-mse')), 'changed in layer2-mse').to.deep.equal(sorted(layer(2)));
    expect(sorted(changedIn.get('refinement-bce')), 'changed in refinement-bce').to.deep.equal(sorted(rm));
    expect(sorted(changedIn.get('joint-bce')), 'changed in joint-bce').to.deep.equal(sorted([...layer(1), ...layer(2), ...rm]));
    const theta2 = det.trainableVariables().theta2Init.dataSync()[0];
    expect(theta2, 'theta2Init estimated from the training set').to.be.above(1);
    expect(Array.from(vars['detector/theta2Init'].dataSync())).to.not.deep.equal(before.get('detector/theta2Init'));
    const after = losses();
    expect(after[0], `layer-1 MSE ${lossesBefore[0]} -> ${after[0]}`).to.be.below(lossesBefore[0]);
    expect(after[1], `layer-2 MSE ${lossesBefore[1]} -> ${after[1]}`).to.be.below(lossesBefore[1]);
    expect(after[2], `BCE ${lossesBefore[2]} -> ${after[2]}`).to.be.below(lossesBefore[2]);
    det.dispose();
  });
});
