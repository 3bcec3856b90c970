import * as tf from '@tensorflow/tfjs';
import type { ComplexTensor, RandomStreams } from '@gfra/core';
import { DenseStack } from './dense-stack';

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
  private readonly mlp: DenseStack;

  constructor(
    numDevices: number,
    layers: number,
    width: number,
    private readonly residual: boolean,
    random: RandomStreams,
  ) {
    const sizes = layers === 0 ? [] : [2 * numDevices, ...Array<number>(layers - 1).fill(width), 2 * numDevices];
    this.mlp = new DenseStack(sizes, random, { name: (k) => `correction${k}`, zeroLast: residual });
  }

  /** Whether there are any layers (V > 0). */
  get active(): boolean {
    return this.mlp.depth > 0;
  }

  variables(): Record<string, tf.Variable> {
    return this.mlp.variables();
  }

  /** [B, N, M] complex -> [B, N, M] complex (identity when V = 0). Call inside a tidy scope. */
  apply(x: ComplexTensor): ComplexTensor {
    if (!this.active) return x;
    const [B, N, M] = x.re.shape as [number, number, number];
    const cols = (t: tf.Tensor) => tf.reshape(tf.transpose(t, [0, 2, 1]), [B * M, N]);
    const u = tf.concat([cols(x.re), cols(x.im)], 1) as tf.Tensor2D; // [B M, 2N]
    const h = this.mlp.apply(u);
    const out = this.residual ? tf.add(u, h) : h;
    const [re, im] = tf.split(out, 2, 1);
    const back = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, M, N]), [0, 2, 1]) as tf.Tensor3D;
    return { re: back(re), im: back(im) };
  }

  dispose(): void {
    this.mlp.dispose();
  }
}
