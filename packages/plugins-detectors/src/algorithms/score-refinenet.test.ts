import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { RandomStreams, type ComplexTensor } from '@gfra/core';
import { avgPool2, avgPool5Same, conv2dSame, RefineNetLiteScore, upsample2 } from './score-refinenet';
import { denoisingScoreMatchingLoss } from './score-models';

/** A [..shape] tensor of i.i.d. N(0, 1) entries from a fixed key. */
function normal(shape: number[], key: string): tf.Tensor {
  const g = new RandomStreams([key]).onceGenerator('t');
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => g.normal()), shape);
}

/** Element (b, i, j, c) of a row-major [B, H, W, C] array. */
const at = (v: ArrayLike<number>, [, H, W, C]: number[], b: number, i: number, j: number, c: number) => v[((b * H + i) * W + j) * C + c];

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('algorithms/score-refinenet', () => {
  it("im2col 'same' convolution equals tf.conv2d (3 x 3 and 1 x 1, odd sizes, bias)", () => {
    tf.tidy(() => {
      for (const [k, H, W, cin, cout] of [
        [3, 5, 7, 3, 4],
        [3, 8, 4, 16, 16],
        [1, 4, 6, 5, 2],
      ]) {
        const x = normal([2, H, W, cin], `x${k}${H}`) as tf.Tensor4D;
        const kernel = normal([k, k, cin, cout], `k${k}${H}`) as tf.Tensor4D;
        const bias = normal([cout], `b${k}${H}`) as tf.Tensor1D;
        const ours = conv2dSame(x, { kernel, bias });
        const ref = tf.add(tf.conv2d(x, kernel, 1, 'same'), bias);
        expect(ours.shape).to.deep.equal([2, H, W, cout]);
        expect(maxAbsDiff(ours, ref), `k ${k}`).to.be.lessThan(1e-5);
      }
    });
  });

  it('average pools and nearest up-sampling equal plain loops', () => {
    const shape = [2, 4, 6, 3];
    const v = Array.from({ length: 2 * 4 * 6 * 3 }, (_, i) => Math.fround(Math.sin(1.7 * i) + 0.1 * i));
    tf.tidy(() => {
      const x = tf.tensor4d(v, shape as [number, number, number, number]);
      const p2 = avgPool2(x).dataSync();
      const p5 = avgPool5Same(x).dataSync();
      const up = upsample2(x);
      expect(up.shape).to.deep.equal([2, 8, 12, 3]);
      const u = up.dataSync();
      for (let b = 0; b < 2; b++)
        for (let c = 0; c < 3; c++) {
          for (let i = 0; i < 4; i++)
            for (let j = 0; j < 6; j++) {
              // 5 x 5 window, zero padding counted: divisor always 25
              let s = 0;
              for (let di = -2; di <= 2; di++) for (let dj = -2; dj <= 2; dj++) if (i + di >= 0 && i + di < 4 && j + dj >= 0 && j + dj < 6) s += at(v, shape, b, i + di, j + dj, c);
              expect(at(p5, shape, b, i, j, c)).to.be.closeTo(s / 25, 1e-5);
              for (let a = 0; a < 2; a++) for (let e = 0; e < 2; e++) expect(at(u, [2, 8, 12, 3], b, 2 * i + a, 2 * j + e, c)).to.equal(at(v, shape, b, i, j, c));
            }
          for (let i = 0; i < 2; i++)
            for (let j = 0; j < 3; j++) {
              const s = at(v, shape, b, 2 * i, 2 * j, c) + at(v, shape, b, 2 * i + 1, 2 * j, c) + at(v, shape, b, 2 * i, 2 * j + 1, c) + at(v, shape, b, 2 * i + 1, 2 * j + 1, c);
              expect(at(p2, [2, 2, 3, 3], b, i, j, c)).to.be.closeTo(s / 4, 1e-5);
            }
        }
    });
  });

  it('shapes: [B, N, M] in and out for N = 32, M = 8 and odd 6 x 3 (padded, cropped); the untrained score is exactly 0; names are unique', () => {
    const model = new RefineNetLiteScore(new RandomStreams(['w']).onceGenerator('weights'), { channels: 4, depth: 2 });
    for (const [N, M] of [
      [32, 8],
      [6, 3],
    ]) {
      tf.tidy(() => {
        const x = { re: normal([3, N, M], `re${N}`) as tf.Tensor3D, im: normal([3, N, M], `im${N}`) as tf.Tensor3D };
        const s = model.score(x, tf.tensor1d([0.1, 1, 3]));
        expect(s.re.shape).to.deep.equal([3, N, M]);
        expect(s.im.shape).to.deep.equal([3, N, M]);
        expect(Array.from(s.re.dataSync()).every((a) => a === 0)).to.equal(true);
        expect(Array.from(s.im.dataSync()).every((a) => a === 0)).to.equal(true);
      });
    }
    const names = Object.keys(model.variables());
    // stem, 2 x (2 res x 2 convs + down), mid 2 x 2, 2 x (fuse + 2 + 2 crp), head: 26 layers
    expect(names.length).to.equal(2 * 26);
    expect(names).to.include.members(['refinenet/stem/kernel', 'refinenet/enc0/res0/conv0/kernel', 'refinenet/enc1/down/bias', 'refinenet/mid/res1/conv1/kernel', 'refinenet/dec0/crp1/kernel', 'refinenet/head/kernel']);
    expect(model.variables()['refinenet/enc1/down/kernel'].shape).to.deep.equal([1, 1, 8, 16]);
    expect(model.variables()['refinenet/mid/res0/conv0/kernel'].shape).to.deep.equal([3, 3, 16, 16]); // min(2 * 8, 4 C)
    expect(model.variables()['refinenet/dec1/fuse/kernel'].shape).to.deep.equal([3, 3, 24, 8]);
    // the same generator key draws the same weights
    const again = new RefineNetLiteScore(new RandomStreams(['w']).onceGenerator('weights'), { channels: 4, depth: 2 });
    expect(Array.from(again.variables()['refinenet/dec0/crp1/kernel'].dataSync())).to.deep.equal(Array.from(model.variables()['refinenet/dec0/crp1/kernel'].dataSync()));
    model.dispose();
    again.dispose();
  });

  it('gradients reach every variable (tf.variableGrads on the test backend) after one Adam step', () => {
    const model = new RefineNetLiteScore(new RandomStreams(['g']).onceGenerator('weights'), { channels: 4, depth: 2 });
    const x = { re: normal([2, 6, 5], 'gre') as tf.Tensor3D, im: normal([2, 6, 5], 'gim') as tf.Tensor3D };
    const z = { re: normal([2, 6, 5], 'gzr') as tf.Tensor3D, im: normal([2, 6, 5], 'gzi') as tf.Tensor3D };
    const sigma = tf.tensor1d([0.3, 2]);
    const vars = model.variables();
    const loss = () => denoisingScoreMatchingLoss(model, x, sigma, z);
    const optimizer = tf.train.adam(1e-2);
    optimizer.minimize(loss, false, Object.values(vars));
    const { value, grads } = tf.variableGrads(loss, Object.values(vars));
    expect(Object.keys(grads).length).to.equal(Object.keys(vars).length);
    const named = Object.entries(vars).map(([name, v]) => [name, tf.tidy(() => tf.norm(grads[v.name]).dataSync()[0])] as const);
    for (const [name, norm] of named) expect(Number.isFinite(norm) && norm > 0, `${name}: |grad| ${norm}`).to.equal(true);
    tf.dispose([value, ...Object.values(grads), x.re, x.im, z.re, z.im, sigma]);
    optimizer.dispose();
    model.dispose();
  });

  it('denoising score matching on x ~ CN(0, I) entries: the loss falls clearly towards the exact-score loss in 100 Adam steps', function () {
    this.timeout(60000);
    const [B, N, M] = [16, 8, 4];
    const levels = [0.1, 0.3, 1, 3];
    // exact score -x~ / (1/2 + sigma^2) per real coordinate: the DSM loss per sample is
    // N M (1/2) / (1/2 + sigma^2); the zero score (untrained) gives N M
    const exact = (levels.reduce((s, l) => s + 0.5 / (0.5 + l * l), 0) / levels.length) * N * M;
    const model = new RefineNetLiteScore(new RandomStreams(['dsm']).onceGenerator('weights'), { channels: 8, depth: 2 });
    const optimizer = tf.train.adam(2e-3);
    const losses: number[] = [];
    let tensors = 0;
    for (let t = 0; t < 100; t++) {
      if (t === 1) tensors = tf.memory().numTensors; // after the optimizer's state exists
      const value = optimizer.minimize(
        () => {
          const streams = new RandomStreams([`dsm-${t}`]);
          const x: ComplexTensor = streams.complexNormalOnce('x', [B, N, M], 1);
          const z: ComplexTensor = streams.complexNormalOnce('z', [B, N, M], 2); // re, im ~ N(0, 1)
          const g = streams.onceGenerator('levels');
          const sigma = tf.tensor1d(Array.from({ length: B }, () => levels[Math.floor(g.uniform() * levels.length)]));
          return denoisingScoreMatchingLoss(model, x, sigma, z);
        },
        true,
        Object.values(model.variables()),
      );
      losses.push(value!.dataSync()[0]);
      value!.dispose();
    }
    expect(tf.memory().numTensors, 'tensors left by training').to.equal(tensors);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const [first, last] = [mean(losses.slice(0, 10)), mean(losses.slice(-10))];
    // starts at the zero score's N M = 32; must close at least half the gap to the exact-score loss
    // (about 17.7); single-batch losses scatter by about 3.5, so a 10-step mean by about 1.1
    expect(first).to.be.closeTo(N * M, 3);
    expect(last, `first ${first}, last ${last}, exact ${exact}`).to.be.lessThan((first + exact) / 2);
    expect(last).to.be.greaterThan(exact - 3);
    optimizer.dispose();
    model.dispose();
  });

  it('a forward call leaves no tensors', () => {
    const model = new RefineNetLiteScore(new RandomStreams(['m']).onceGenerator('weights'), { channels: 4, depth: 2 });
    const x = { re: normal([2, 6, 3], 'mre') as tf.Tensor3D, im: normal([2, 6, 3], 'mim') as tf.Tensor3D };
    const sigma = tf.tensor1d([0.5, 1.5]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.tidy(() => model.score(x, sigma).re.dataSync());
    expect(tf.memory().numTensors).to.equal(before);
    const count = tf.memory().numTensors;
    model.dispose();
    expect(tf.memory().numTensors).to.equal(count - 2 * 26);
    tf.dispose([x.re, x.im, sigma]);
  });
});
