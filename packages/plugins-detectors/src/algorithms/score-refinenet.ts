/**
 * A small fully convolutional, noise-conditional score network ("refinenet-lite") for the
 * score-based channel estimator of C. Tang, Z. Li, Z. Chen, H. H. Yang, "Device Activity Detection
 * and Channel Estimation Using Score-Based Generative Models in Massive MIMO", ZTE Communications
 * 23(1), 2025, Fig. 3 (a RefineNet-style net: 2-D down-sampling convolutions with ReLU, up-sampling
 * back to the input size, average pooling), conditioned on the noise level as in its ref. [34]
 * (M. Arvinte, J. I. Tamir, "MIMO channel estimation using score-based generative models", IEEE
 * TWC 22(6), 2023): the network output o is divided by sigma, s = o / sigma.
 *
 * The convolutions, pools and up-sampling are written with pad / slice / concat / reshape and a 2-D
 * matMul (im2col), whose gradients all run on the tfjs wasm backend (tf.conv2d's filter gradient,
 * Conv2DBackpropFilter, has no wasm kernel).
 */
import * as tf from '@tensorflow/tfjs';
import { matMul2d, type ComplexTensor } from '@gfra/core';
import type { WeightSource } from './layers';
import type { ScoreModel } from './score-models';

/** A k x k convolution's parameters: kernel [k, k, Cin, Cout] (tf.conv2d's filter layout), bias [Cout]. */
export interface ConvWeights {
  readonly kernel: tf.Tensor4D;
  readonly bias: tf.Tensor1D;
}

/**
 * 'same' convolution, stride 1, odd kernel size k, zero padding (k - 1) / 2 on each side, by im2col:
 * the k^2 shifted copies of the padded input, concatenated on the channel axis in (dy, dx, cin)
 * order, [B H W, k^2 Cin] times the kernel reshaped to [k^2 Cin, Cout], plus the bias. Equals
 * tf.conv2d(x, kernel, 1, 'same') + bias.
 *
 * @param x [B, H, W, Cin]
 * @returns [B, H, W, Cout]. Call inside a tidy or gradient scope.
 */
export function conv2dSame(x: tf.Tensor4D, w: ConvWeights): tf.Tensor4D {
  const [B, H, W, Cin] = x.shape;
  const [k, k2, kIn, Cout] = w.kernel.shape;
  if (k !== k2 || k % 2 !== 1 || kIn !== Cin) throw new Error(`conv2dSame: need an odd square kernel [k, k, ${Cin}, Cout]; got [${w.kernel.shape}] for input [${x.shape}]`);
  let cols: tf.Tensor4D;
  if (k === 1) cols = x;
  else {
    const p = (k - 1) / 2;
    const padded = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]);
    const shifts: tf.Tensor4D[] = [];
    for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) shifts.push(tf.slice(padded, [0, dy, dx, 0], [B, H, W, Cin]));
    cols = tf.concat(shifts, 3);
  }
  const out = matMul2d(tf.reshape(cols, [B * H * W, k * k * Cin]), tf.reshape(w.kernel, [k * k * Cin, Cout]));
  return tf.reshape(tf.add(out, w.bias), [B, H, W, Cout]);
}

/** 2 x 2 average pool, stride 2: [B, H, W, C] -> [B, H/2, W/2, C] (H, W even). */
export function avgPool2(x: tf.Tensor4D): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  if (H % 2 !== 0 || W % 2 !== 0) throw new Error(`avgPool2: need even spatial sizes; got [${x.shape}]`);
  return tf.mean(tf.reshape(x, [B, H / 2, 2, W / 2, 2, C]), [2, 4]) as tf.Tensor4D;
}

/**
 * 5 x 5 average pool, stride 1, 'same' with zero padding 2 counted in the divisor (always 25; the
 * count_include_pad convention), separably: 5 shifts along H, then 5 along W.
 */
export function avgPool5Same(x: tf.Tensor4D): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  const ph = tf.pad(x, [[0, 0], [2, 2], [0, 0], [0, 0]]);
  const rows = tf.addN(Array.from({ length: 5 }, (_, d) => tf.slice(ph, [0, d, 0, 0], [B, H, W, C])));
  const pw = tf.pad(rows, [[0, 0], [0, 0], [2, 2], [0, 0]]);
  const both = tf.addN(Array.from({ length: 5 }, (_, d) => tf.slice(pw, [0, 0, d, 0], [B, H, W, C])));
  return tf.div(both, 25);
}

/** Nearest-neighbour up-sampling x2: [B, H, W, C] -> [B, 2H, 2W, C] (each pixel a 2 x 2 block). */
export function upsample2(x: tf.Tensor4D): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  const col = tf.reshape(x, [B, H, W, 1, C]);
  const wide = tf.reshape(tf.concat([col, col], 3), [B, H, 1, 2 * W * C]);
  return tf.reshape(tf.concat([wide, wide], 2), [B, 2 * H, 2 * W, C]);
}

export interface RefineNetLiteOptions {
  /** Base width C (feature maps at full resolution); level d has min(2^d C, 4 C). @default 16 */
  readonly channels?: number;
  /** Number of down-sampling levels D; spatial sizes are zero-padded to multiples of 2^D. @default 2 */
  readonly depth?: number;
  /** Feed log sigma as an extra constant input channel. @default true */
  readonly logSigmaInput?: boolean;
  /**
   * Feed x~ / sqrt(1 + sigma^2) instead of x~ (our choice: without normalisation layers a ReLU net
   * sees inputs growing with sigma while its target o ~ -z stays of unit size). @default true
   */
  readonly inputScaling?: boolean;
}

type Conv = { name: string; kernel: tf.Variable<tf.Rank.R4>; bias: tf.Variable<tf.Rank.R1> };

/**
 * RefineNet-lite score network (Tang et al., Fig. 3; output / sigma as in Arvinte & Tamir).
 *
 * Input x~ [B, N, M] complex is stacked to [B, N, M, 2] (NHWC: H = N users, W = M antennas,
 * channels re, im), scaled by 1 / sqrt(1 + sigma^2) (option `inputScaling`), zero-padded and
 * joined by a constant channel log sigma (option `logSigmaInput`), giving
 * [B, Hp, Wp, Cin] with Hp, Wp the next multiples of 2^D. With C_0 = C, C_{d+1} = min(2 C_d, 4 C),
 * res(h) = h + conv3(relu(conv3(relu(h)))):
 * - stem: conv3, Cin -> C;
 * - encoder, d = 0..D-1: two res blocks at C_d (the skip of level d, [B, Hp/2^d, Wp/2^d, C_d]), 2 x 2
 *   average pool, conv1 C_d -> C_{d+1};
 * - bottleneck: two res blocks at C_D, [B, Hp/2^D, Wp/2^D, C_D];
 * - decoder, d = D-1..0: nearest up-sample x2, concat the skip of level d, conv3 -> C_d, one res
 *   block, then chained residual pooling twice: t = relu(h); t <- conv3(avgpool5(t)); h <- h + t;
 * - head: relu, conv3 C -> 2 (kernel and bias start at zero, so the untrained score is 0);
 * o [B, Hp, Wp, 2] cropped to [B, N, M, 2]; score = (o_re + j o_im) / sigma.
 *
 * Weights: Glorot-uniform kernels (fan-in k^2 Cin, fan-out k^2 Cout), drawn layer by layer in the
 * order above from the given generator; zero biases. Variables `refinenet/<layer>/kernel`
 * [k, k, Cin, Cout] and `refinenet/<layer>/bias` [Cout], layers `stem`, `enc<d>/res<r>/conv<i>`,
 * `enc<d>/down`, `mid/res<r>/conv<i>`, `dec<d>/fuse`, `dec<d>/res0/conv<i>`, `dec<d>/crp<i>`, `head`.
 *
 * @remarks Deviations (the paper gives no widths, kernel sizes, depth D or normalisation; these are
 * our choices): no instance normalisation (ref. [34]'s NCSNv2 uses instance-norm++), ReLU instead of
 * ELU, plain residual blocks without dilation, one skip per level instead of RefineNet's
 * multi-resolution fusion blocks, an optional log sigma input channel and an optional input scaling
 * by 1 / sqrt(1 + sigma^2) (both not in [34], which conditions only through o / sigma), zero padding
 * to multiples of 2^D, and a zero-initialised head.
 */
export class RefineNetLiteScore implements ScoreModel {
  private readonly convs = new Map<string, Conv>();
  private readonly C: number;
  private readonly D: number;
  private readonly logSigmaInput: boolean;
  private readonly inputScaling: boolean;
  private readonly widths: number[];

  constructor(weights: WeightSource, options: RefineNetLiteOptions = {}) {
    this.C = options.channels ?? 16;
    this.D = options.depth ?? 2;
    this.logSigmaInput = options.logSigmaInput ?? true;
    this.inputScaling = options.inputScaling ?? true;
    if (!Number.isInteger(this.C) || this.C < 1) throw new Error(`RefineNetLiteScore: channels must be a positive integer; got ${this.C}`);
    if (!Number.isInteger(this.D) || this.D < 0) throw new Error(`RefineNetLiteScore: depth must be a non-negative integer; got ${this.D}`);
    const C = this.C;
    this.widths = [C];
    for (let d = 0; d < this.D; d++) this.widths.push(Math.min(2 * this.widths[d], 4 * C));
    const add = (name: string, k: number, cin: number, cout: number, zero = false) => {
      const limit = zero ? 0 : Math.sqrt(6 / (k * k * cin + k * k * cout));
      const values = new Float32Array(k * k * cin * cout);
      for (let i = 0; i < values.length; i++) values[i] = (2 * weights.uniform() - 1) * limit;
      // variables outlive the tidy; their initial values are freed
      tf.tidy(() => {
        this.convs.set(name, {
          name,
          kernel: tf.variable(tf.tensor4d(values, [k, k, cin, cout]), true),
          bias: tf.variable(tf.zeros([cout]), true),
        });
      });
    };
    const res = (prefix: string, c: number) => {
      add(`${prefix}/conv0`, 3, c, c);
      add(`${prefix}/conv1`, 3, c, c);
    };
    const w = this.widths;
    add('stem', 3, this.logSigmaInput ? 3 : 2, C);
    for (let d = 0; d < this.D; d++) {
      res(`enc${d}/res0`, w[d]);
      res(`enc${d}/res1`, w[d]);
      add(`enc${d}/down`, 1, w[d], w[d + 1]);
    }
    res('mid/res0', w[this.D]);
    res('mid/res1', w[this.D]);
    for (let d = this.D - 1; d >= 0; d--) {
      add(`dec${d}/fuse`, 3, w[d + 1] + w[d], w[d]);
      res(`dec${d}/res0`, w[d]);
      add(`dec${d}/crp0`, 3, w[d], w[d]);
      add(`dec${d}/crp1`, 3, w[d], w[d]);
    }
    add('head', 3, C, 2, true);
  }

  private conv(name: string, x: tf.Tensor4D): tf.Tensor4D {
    const c = this.convs.get(name);
    if (c === undefined) throw new Error(`RefineNetLiteScore: no layer ${name}`);
    return conv2dSame(x, { kernel: c.kernel, bias: c.bias });
  }

  private res(prefix: string, h: tf.Tensor4D): tf.Tensor4D {
    return tf.add(h, this.conv(`${prefix}/conv1`, tf.relu(this.conv(`${prefix}/conv0`, tf.relu(h)))));
  }

  score(x: ComplexTensor, sigma: tf.Tensor1D): ComplexTensor {
    const [B, N, M] = x.re.shape as [number, number, number];
    if (sigma.shape[0] !== B) throw new Error(`RefineNetLiteScore.score: sigma has ${sigma.shape[0]} levels for a batch of ${B}`);
    const unit = 2 ** this.D;
    const [Hp, Wp] = [Math.ceil(N / unit) * unit, Math.ceil(M / unit) * unit];
    let input: tf.Tensor4D = tf.stack([x.re, x.im], 3) as tf.Tensor4D; // [B, N, M, 2]
    if (this.inputScaling) input = tf.mul(input, tf.reshape(tf.rsqrt(tf.add(1, tf.square(sigma))), [B, 1, 1, 1]));
    input = tf.pad(input, [[0, 0], [0, Hp - N], [0, Wp - M], [0, 0]]);
    if (this.logSigmaInput) input = tf.concat([input, tf.mul(tf.ones([B, Hp, Wp, 1]), tf.reshape(tf.log(sigma), [B, 1, 1, 1])) as tf.Tensor4D], 3);

    let h = this.conv('stem', input);
    const skips: tf.Tensor4D[] = [];
    for (let d = 0; d < this.D; d++) {
      h = this.res(`enc${d}/res1`, this.res(`enc${d}/res0`, h));
      skips.push(h);
      h = this.conv(`enc${d}/down`, avgPool2(h));
    }
    h = this.res('mid/res1', this.res('mid/res0', h));
    for (let d = this.D - 1; d >= 0; d--) {
      h = this.conv(`dec${d}/fuse`, tf.concat([upsample2(h), skips[d]], 3));
      h = this.res(`dec${d}/res0`, h);
      let t = tf.relu(h);
      for (let i = 0; i < 2; i++) {
        t = this.conv(`dec${d}/crp${i}`, avgPool5Same(t));
        h = tf.add(h, t) as tf.Tensor4D;
      }
    }
    const o = tf.slice(this.conv('head', tf.relu(h)), [0, 0, 0, 0], [B, N, M, 2]);
    const inv = tf.reshape(tf.reciprocal(sigma), [B, 1, 1, 1]);
    const s = tf.mul(o, inv);
    return { re: tf.reshape(tf.slice(s, [0, 0, 0, 0], [B, N, M, 1]), [B, N, M]), im: tf.reshape(tf.slice(s, [0, 0, 0, 1], [B, N, M, 1]), [B, N, M]) };
  }

  variables(): Record<string, tf.Variable> {
    return Object.fromEntries([...this.convs.values()].flatMap((c) => [[`refinenet/${c.name}/kernel`, c.kernel], [`refinenet/${c.name}/bias`, c.bias]]));
  }

  dispose(): void {
    for (const c of this.convs.values()) tf.dispose([c.kernel, c.bias]);
    this.convs.clear();
  }
}
