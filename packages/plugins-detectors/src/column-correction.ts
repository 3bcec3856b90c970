import * as tf from '@tensorflow/tfjs';
import { matMul2d, type ComplexTensor, type RandomStreams } from '@gfra/core';

/**
 * The correction part of paper 001's model-driven signal-recovery decoders (spec
 * mmv-autoencoder.md 2.2.1, `column` mode): every antenna column u_m = [Re x_m; Im x_m] in R^{2N}
 * of the approximation output goes through one MLP 2N -> h -> ... -> h -> 2N (weights shared over
 * the M antennas and the batch), ReLU on the first V - 1 layers, none on the last. With
 * `residual` the output is u + MLP(u) and the last layer starts at zero (not in the paper; spec
 * 2.2.1), so the decoder starts at its approximation part. Glorot-uniform weights from the
 * `weights` stream, zero biases (spec A3).
 *
 * Variables: correction<k>/kernel [in, out], correction<k>/bias [out], k = 0 .. V-1.
 */
export class ColumnCorrection {
  private readonly layers: { kernel: tf.Variable; bias: tf.Variable; name: string }[] = [];

  constructor(
    numDevices: number,
    layers: number,
    width: number,
    private readonly residual: boolean,
    random: RandomStreams,
  ) {
    if (layers === 0) return;
    const N = numDevices;
    const sizes = [2 * N, ...Array<number>(layers - 1).fill(width), 2 * N];
    const g = random.onceGenerator('weights');
    for (let k = 0; k + 1 < sizes.length; k++) {
      const [fanIn, fanOut] = [sizes[k], sizes[k + 1]];
      const last = k + 2 === sizes.length;
      const limit = last && residual ? 0 : Math.sqrt(6 / (fanIn + fanOut));
      const values = new Float32Array(fanIn * fanOut);
      for (let i = 0; i < values.length; i++) values[i] = (2 * g.uniform() - 1) * limit;
      tf.tidy(() => {
        this.layers.push({ name: `correction${k}`, kernel: tf.variable(tf.tensor2d(values, [fanIn, fanOut]), true), bias: tf.variable(tf.zeros([fanOut]), true) });
      });
    }
  }

  /** Whether there are any layers (V > 0). */
  get active(): boolean {
    return this.layers.length > 0;
  }

  variables(): Record<string, tf.Variable> {
    return Object.fromEntries(this.layers.flatMap((l) => [[`${l.name}/kernel`, l.kernel], [`${l.name}/bias`, l.bias]]));
  }

  /** [B, N, M] complex -> [B, N, M] complex (identity when V = 0). Call inside a tidy scope. */
  apply(x: ComplexTensor): ComplexTensor {
    if (this.layers.length === 0) return x;
    const [B, N, M] = x.re.shape as [number, number, number];
    const cols = (t: tf.Tensor) => tf.reshape(tf.transpose(t, [0, 2, 1]), [B * M, N]);
    const u = tf.concat([cols(x.re), cols(x.im)], 1) as tf.Tensor2D; // [B M, 2N]
    let h: tf.Tensor2D = u;
    this.layers.forEach((layer, k) => {
      const z = tf.add(matMul2d(h, layer.kernel as tf.Tensor2D), layer.bias) as tf.Tensor2D;
      h = k + 1 < this.layers.length ? tf.relu(z) : z;
    });
    const out = this.residual ? tf.add(u, h) : h;
    const [re, im] = tf.split(out, 2, 1);
    const back = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, M, N]), [0, 2, 1]) as tf.Tensor3D;
    return { re: back(re), im: back(im) };
  }

  dispose(): void {
    for (const l of this.layers) {
      l.kernel.dispose();
      l.bias.dispose();
    }
  }
}
