/**
 * Trainable layers shared by the learned decoders: a stack of fully connected layers
 * ({@link DenseStack}), the per-antenna-column correction of the model-driven signal-recovery
 * decoders ({@link ColumnCorrection}), and the diagnostic of learned activity priors
 * ({@link priorDiagnostics}).
 */
import * as tf from '@tensorflow/tfjs';
import { denseLayer, type ComplexTensor, type DenseActivation, type RandomStreams } from '@gfra/core';

export interface DenseStackOptions {
  /** Variable-name prefix of layer k (`dense0`, `correction2`, ...); `last` marks the output layer. */
  readonly name: (k: number, last: boolean) => string;
  /** Start the output layer's weights at zero (residual / skip heads start at their input). */
  readonly zeroLast?: boolean;
  /** Initial kernels: Glorot-uniform (default) or He-normal (std sqrt(2 / fanIn)). */
  readonly init?: 'glorot-uniform' | 'he-normal';
  /** Activation after every layer but the last (default ReLU). */
  readonly activation?: 'relu' | 'elu' | 'tanh';
}

/** A host generator initial weights are drawn from (a `RandomStreams.onceGenerator`). */
export interface WeightSource {
  uniform(): number;
  normal(): number;
}

/**
 * A stack of fully connected layers sizes[0] -> sizes[1] -> ... -> sizes[K], ReLU (or ELU, tanh)
 * after every layer but the last: Glorot-uniform (or He-normal) weights drawn in layer order from the
 * plugin's `weights` stream or a given generator, zero biases.
 *
 * Variables: `<name>/kernel` [in, out] and `<name>/bias` [out] per layer.
 */
export class DenseStack {
  private readonly layers: { kernel: tf.Variable; bias: tf.Variable; name: string }[] = [];
  private readonly activation: DenseActivation;

  /**
   * @param random the plugin's streams (a fresh `weights` generator), or a generator shared by
   *   several stacks of one plugin, drawn one after the other so that they get different weights
   */
  constructor(sizes: readonly number[], random: RandomStreams | WeightSource, options: DenseStackOptions) {
    this.activation = options.activation ?? 'relu';
    if (sizes.length < 2) return;
    const g = 'onceGenerator' in random ? random.onceGenerator('weights') : random;
    for (let k = 0; k + 1 < sizes.length; k++) {
      const [fanIn, fanOut] = [sizes[k], sizes[k + 1]];
      const last = k + 2 === sizes.length;
      const values = new Float32Array(fanIn * fanOut);
      if (options.init === 'he-normal') {
        const std = Math.sqrt(2 / fanIn);
        for (let i = 0; i < values.length; i++) values[i] = std * g.normal();
      } else {
        const limit = last && options.zeroLast === true ? 0 : Math.sqrt(6 / (fanIn + fanOut));
        for (let i = 0; i < values.length; i++) values[i] = (2 * g.uniform() - 1) * limit;
      }
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

  /**
   * [rows, sizes[0]] -> [rows, sizes[K]] (identity without layers), layer by layer through
   * `denseLayer` (fused on the host in a training step). Call inside a tidy scope.
   */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    let h = x;
    this.layers.forEach((layer, k) => {
      h = denseLayer(h, layer.kernel as tf.Tensor2D, layer.bias as tf.Tensor1D, k + 1 < this.layers.length ? this.activation : 'linear');
    });
    return h;
  }

  dispose(): void {
    for (const l of this.layers) tf.dispose([l.kernel, l.bias]);
  }
}

/**
 * The correction part of the model-driven signal-recovery decoders (Y. Cui, S. Li, W. Zhang,
 * "Jointly sparse signal recovery and support recovery via deep learning with applications in
 * MIMO-based grant-free random access", IEEE J. Sel. Areas Commun., 2021, Sec. III-B): every
 * antenna column u_m = [Re x_m; Im x_m] in R^{2N} of the approximation output goes through one MLP
 * 2N -> h -> ... -> h -> 2N (weights shared over the M antennas and the batch), ReLU on the first
 * V - 1 layers, none on the last. The paper describes the first and last layers as "M neurons"
 * carrying (Re X_{:,m}, Im X_{:,m}); this is its per-column reading, the one that mixes devices.
 * With `residual` the output is u + MLP(u) and the last layer starts at zero (not in the paper),
 * so the decoder starts at its approximation part. Glorot-uniform weights from the `weights`
 * stream, zero biases (the paper gives neither the initialisation nor the hidden width).
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

/**
 * The learned-prior diagnostic of Cui, Li, Zhang (Figs. 3(e), 8(e): eps1 / eps2): the mean learned
 * activity prior over the first floor(N/2) devices (class N1 of the `two-class` traffic) and over
 * the others (N2), and their ratio, which tracks p1/p2 when the decoder learns the imbalance.
 */
export function priorDiagnostics(eps: readonly number[]): Record<string, number> {
  const half = Math.floor(eps.length / 2);
  const mean = (xs: readonly number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
  if (half === 0) return { eps: mean(eps) };
  const eps1 = mean(eps.slice(0, half));
  const eps2 = mean(eps.slice(half));
  return { eps1, eps2, 'eps1/eps2': eps1 / eps2 };
}
