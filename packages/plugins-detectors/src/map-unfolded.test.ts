import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { applyDefaults, RandomStreams, type Scenario } from '@gfra/core';
import { CovarianceMlDetector, CovarianceMlParams } from './covariance-ml';
import { MapUnfoldedDetector, MapUnfoldedParams } from './map-unfolded';
import { synthetic, type SyntheticObservation } from './testing/synthetic';

const [N, L, M, B] = [12, 6, 4, 4];
const scenario: Scenario = { numDevices: N, numAntennas: M, sequenceLength: L, bitsPerDevice: 0 };
const data = synthetic({ scenario, trials: B, activityProb: 0.2, snrDb: 10, noiseVar: 0.1, key: 'map-unfolded' });

const mapNn = (p: Partial<MapUnfoldedParams>) =>
  new MapUnfoldedDetector(applyDefaults(MapUnfoldedParams, p) as MapUnfoldedParams, scenario, new RandomStreams(['map-unfolded.test']));

describe('detector:map-unfolded (MAP-NN of Cui, Li, Zhang)', () => {
  it('with V = 0, head "plain" and fixed eps(n) = p it is Algorithm 3: covariance-ml objective "map", float32, cyclic, U sweeps', () => {
    const p = 0.15;
    const det = mapNn({ sweeps: 4, activityProb: p, trainPriors: false, correctionLayers: 0, head: 'plain' });
    const ref = new CovarianceMlDetector(
      applyDefaults(CovarianceMlParams, { sweeps: 4, order: 'cyclic', objective: 'map', precision: 'float32' }) as CovarianceMlParams,
      scenario,
      new RandomStreams(['ref']),
    );
    const [ours, theirs, decided, theirDecision] = tf.tidy(() => {
      const obs: SyntheticObservation = { ...data.observation(), activityProbability: tf.fill([N], p) as tf.Tensor1D };
      const a = det.detect(obs);
      const b = ref.detect(obs); // score = gamma / beta_n, decision score > 1/2
      return [a.activityScore, b.activityScore, a.activity, b.activity].map((t) => (t as tf.Tensor).arraySync() as number[][]);
    });
    expect(det.priors().every((e) => Math.abs(e - p) < 1e-6)).to.equal(true);
    ours.flat().forEach((v, i) => expect(v, `entry ${i}`).to.be.closeTo(theirs.flat()[i], 1e-4 * Math.max(1, Math.abs(theirs.flat()[i]))));
    expect(ours.flat().some((v) => v > 0.5)).to.equal(true); // a real test: some devices are found
    // Equal scores give equal decisions except exactly at 1/2 (>= here, > there), which does not occur.
    expect(decided).to.deep.equal(theirDecision);
    det.dispose();
  });

  it('with eps(n) = 1/2 fixed it is the unrolled ML coordinate descent (covariance-ml objective "ml", float32, cyclic)', () => {
    const det = mapNn({ sweeps: 3, activityProb: 0.5, trainPriors: false, correctionLayers: 0, head: 'plain' });
    const ref = new CovarianceMlDetector(
      applyDefaults(CovarianceMlParams, { sweeps: 3, order: 'cyclic', objective: 'ml', precision: 'float32' }) as CovarianceMlParams,
      scenario,
      new RandomStreams(['ref']),
    );
    const [ours, theirs] = tf.tidy(() => {
      const obs = data.observation();
      return [det.detect(obs).activityScore, ref.detect(obs).activityScore].map((t) => (t as tf.Tensor).arraySync() as number[][]);
    });
    // c = 0 exactly; the MAP step (u* - 1) / s with u* = q / s rounds differently from (q - s) / s^2
    ours.flat().forEach((v, i) => expect(v, `entry ${i}`).to.be.closeTo(theirs.flat()[i], 1e-5 * Math.max(1, Math.abs(theirs.flat()[i]))));
    expect(ours.flat().some((v) => v > 0.5)).to.equal(true);
    const check = MapUnfoldedDetector.plugin.check;
    const p = applyDefaults(MapUnfoldedParams, { activityProb: 0.5 }) as MapUnfoldedParams;
    expect(check?.(p, scenario)[0].message).to.match(/cannot be learned/);
    det.dispose();
  });

  it('skip-logit head with V = 0 is the soft threshold sigmoid(kappa (alpha - b)); with V > 0 it starts there (zero last layer)', () => {
    const plain = mapNn({ sweeps: 2, correctionLayers: 0, head: 'plain', trainPriors: false });
    const soft = mapNn({ sweeps: 2, correctionLayers: 0, sharpness: 7, offset: 0.4, trainPriors: false });
    const withMlp = mapNn({ sweeps: 2, correctionLayers: 3, sharpness: 7, offset: 0.4, trainPriors: false });
    const [alpha, s0, s3] = tf.tidy(() => {
      const obs = data.observation();
      return [plain.score(obs), soft.score(obs), withMlp.score(obs)].map((t) => t.arraySync() as number[][]);
    });
    alpha.flat().forEach((a, i) => {
      const expected = 1 / (1 + Math.exp(-7 * (a - 0.4)));
      expect(s0.flat()[i]).to.be.closeTo(expected, 1e-5);
      expect(s3.flat()[i]).to.be.closeTo(expected, 1e-5);
    });
    expect(Object.keys(withMlp.trainableVariables())).to.include.members(['head/kappa', 'head/offset', 'correction0/kernel', 'correction2/bias']);
    [plain, soft, withMlp].forEach((d) => d.dispose());
  });

  it('gradients through the unrolled sweeps match central differences (eps(n) and the pilots)', () => {
    const det = mapNn({ sweeps: 2, correctionLayers: 0, head: 'plain', activityProb: 0.2 });
    const theta = det.trainableVariables()['priors/theta'];
    const weights = tf.tidy(() => tf.keep(tf.randomUniform([B, N], 0.5, 1.5, 'float32', 3)));
    const base = data.observation();
    const loss = (obs: SyntheticObservation) => tf.sum(tf.mul(det.approximation(obs), weights)) as tf.Scalar;
    // d loss / d theta_n
    const { grads } = tf.variableGrads(() => loss(base), [theta as tf.Variable]);
    const g = grads[theta.name].dataSync();
    const th0 = theta.dataSync().slice();
    for (const n of [0, 3, 7]) {
      const at = (delta: number) => {
        const t = th0.slice();
        t[n] += delta;
        theta.assign(tf.tensor1d(t));
        return tf.tidy(() => loss(base).dataSync()[0]);
      };
      const h = 1e-2;
      const fd = (at(h) - at(-h)) / (2 * h);
      theta.assign(tf.tensor1d(th0));
      expect(g[n], `theta_${n}`).to.be.closeTo(fd, 1e-2 * Math.max(1, Math.abs(fd)));
    }
    // d loss / d Re(A)[l, n] for the pilots handed to the decoder (y fixed)
    const codebook = base.codebook as { re: tf.Tensor; im: tf.Tensor };
    const gradA = tf.grad((re: tf.Tensor) => loss({ ...base, codebook: { re, im: codebook.im } }))(codebook.re).dataSync();
    const re0 = codebook.re.dataSync();
    for (const idx of [1, 14, 40]) {
      const at = (delta: number) =>
        tf.tidy(() => {
          const v = Float32Array.from(re0);
          v[idx] += delta;
          return loss({ ...base, codebook: { re: tf.tensor(v, codebook.re.shape), im: codebook.im } }).dataSync()[0];
        });
      const h = 1e-2;
      const fd = (at(h) - at(-h)) / (2 * h);
      expect(gradA[idx], `Re A entry ${idx}`).to.be.closeTo(fd, 2e-2 * Math.max(1, Math.abs(fd)));
    }
    tf.dispose([weights, ...Object.values(grads), base.y.re, base.y.im, codebook.re, codebook.im]);
    tf.dispose(Object.values(base).filter((v): v is tf.Tensor => v instanceof tf.Tensor));
    det.dispose();
  });

  it('rejects more than one sequence per device and huge unrolled graphs at validation', () => {
    const check = MapUnfoldedDetector.plugin.check;
    if (check === undefined) throw new Error('no check');
    const p = applyDefaults(MapUnfoldedParams, {}) as MapUnfoldedParams;
    expect(check(p, { ...scenario, bitsPerDevice: 1 })[0].message).to.match(/one pilot per device/);
    expect(check({ ...p, sweeps: 300 }, { ...scenario, numDevices: 100 })[0].message).to.match(/30000 sequential coordinate steps/);
    expect(check(p, scenario)).to.deep.equal([]);
  });
});
