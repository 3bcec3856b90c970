import * as tf from '@tensorflow/tfjs';
import { matMul2d, type RandomStreams } from '@gfra/core';

export interface DenseStackOptions {
  /** Variable-name prefix of layer k (`dense0`, `correction2`, ...); `last` marks the output layer. */
  readonly name: (k: number, last: boolean) => string;
  /** Start the output layer's weights at zero (residual / skip heads start at their input). */
  readonly zeroLast?: boolean;
}

/**
 * A stack of fully connected layers sizes[0] -> sizes[1] -> ... -> sizes[K], ReLU after every
 * layer but the last, as used by the correction parts and fully connected decoders of paper 001
 * (spec mmv-autoencoder.md A3): Glorot-uniform weights drawn in layer order from the plugin's
 * `weights` stream, zero biases.
 *
 * Variables: `<name>/kernel` [in, out] and `<name>/bias` [out] per layer.
 */
export class DenseStack {
  private readonly layers: { kernel: tf.Variable; bias: tf.Variable; name: string }[] = [];

  constructor(sizes: readonly number[], random: RandomStreams, options: DenseStackOptions) {
    if (sizes.length < 2) return;
    const g = random.onceGenerator('weights');
    for (let k = 0; k + 1 < sizes.length; k++) {
      const [fanIn, fanOut] = [sizes[k], sizes[k + 1]];
      const last = k + 2 === sizes.length;
      const limit = last && options.zeroLast === true ? 0 : Math.sqrt(6 / (fanIn + fanOut));
      const values = new Float32Array(fanIn * fanOut);
      for (let i = 0; i < values.length; i++) values[i] = (2 * g.uniform() - 1) * limit;
      // variables outlive the tidy; their initial values are freed
      tf.tidy(() => {
        this.layers.push({
          name: options.name(k, last),
          kernel: tf.variable(tf.tensor2d(values, [fanIn, fanOut]), true),
          bias: tf.variable(tf.zeros([fanOut]), true),
        });
      });
    }
  }

  /** Number of layers (0 when built from fewer than two sizes). */
  get depth(): number {
    return this.layers.length;
  }

  variables(): Record<string, tf.Variable> {
    return Object.fromEntries(this.layers.flatMap((l) => [[`${l.name}/kernel`, l.kernel], [`${l.name}/bias`, l.bias]]));
  }

  /** [rows, sizes[0]] -> [rows, sizes[K]] (identity without layers). Call inside a tidy scope. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    let h = x;
    this.layers.forEach((layer, k) => {
      const z = tf.add(matMul2d(h, layer.kernel as tf.Tensor2D), layer.bias) as tf.Tensor2D;
      h = k + 1 < this.layers.length ? tf.relu(z) : z;
    });
    return h;
  }

  dispose(): void {
    for (const l of this.layers) tf.dispose([l.kernel, l.bias]);
  }
}
