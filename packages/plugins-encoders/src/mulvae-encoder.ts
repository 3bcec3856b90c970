import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  deviceBits,
  deviceSequences,
  matMul2d,
  numSequences,
  TOKENS,
  type ComplexTensor,
  type Encoder,
  type Generator,
  type ParamProblem,
  type RandomStreams,
  type Scenario,
  type SideInformation,
  type Trainable,
  type TrafficSample,
  type TransmitKind,
} from '@gfra/core';
import { sendCodewords } from './codebook-transmitter';

export const MulvaePower = Type.Union([Type.Literal('average'), Type.Literal('per-point'), Type.Literal('tanh-peak')], {
  default: 'average',
  description:
    '"average": each device\'s table scaled to average codeword energy 1 over its Q_n codewords (power may differ between codewords); "per-point": every codeword scaled to ||x||² = 1; "tanh-peak": tanh output, no normalisation (|Re|, |Im| <= 1 per RE, so ||x||² <= 2L; the realised energy differs from 1, so the SNR is not comparable with the other encoders)',
});
export type MulvaePower = Static<typeof MulvaePower>;

export const MulvaeEncoderParams = Type.Object(
  {
    hidden: Type.Integer({ minimum: 0, default: 4, description: 'hidden layers of every device\'s MLP (tanh)' }),
    widthFactor: Type.Integer({ minimum: 1, default: 8, description: 'hidden width = widthFactor · Q_n (8: 2^{R_n+3}, the paper\'s width)' }),
    power: MulvaePower,
  },
  { additionalProperties: false },
);
export type MulvaeEncoderParams = Static<typeof MulvaeEncoderParams>;

/** Problems of a scenario for mulvae-encoder: every device needs at least one bit. */
function scenarioProblems(s: Scenario): ParamProblem[] {
  const bits = deviceBits(s);
  const zero = bits.flatMap((j, n) => (j < 1 ? [n] : []));
  if (zero.length === 0) return [];
  return [
    {
      path: '',
      message: `mulvae-encoder needs at least 1 bit per device (a learned constellation of 2^J_n >= 2 codewords), but device${zero.length > 1 ? 's' : ''} ${zero.join(', ')} ${zero.length > 1 ? 'have' : 'has'} J_n = 0`,
      hint: 'Set "bitsPerDevice" to a number >= 1, or a list whose entries are all >= 1 (e.g. [1, 1, 1, 2, 2, 2])',
    },
  ];
}

/** One dense layer of a device's MLP. */
interface Dense {
  readonly name: string;
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
}

/**
 * A device's MLP: sizes[0] -> ... -> sizes[K], tanh on the hidden layers, linear output;
 * Glorot-uniform kernels U(-sqrt(6 / (in + out)), +) drawn row-major ([in, out]) from `g`, layer
 * by layer; zero biases. Variables `<prefix>dense<k>/kernel|bias`, `<prefix>output/kernel|bias`.
 */
function denseStack(sizes: readonly number[], g: Generator, prefix: string): Dense[] {
  const layers: Dense[] = [];
  for (let k = 0; k + 1 < sizes.length; k++) {
    const [fanIn, fanOut] = [sizes[k], sizes[k + 1]];
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const values = new Float32Array(fanIn * fanOut);
    for (let i = 0; i < values.length; i++) values[i] = (2 * g.uniform() - 1) * limit;
    const name = `${prefix}${k + 2 === sizes.length ? 'output' : `dense${k}`}`;
    tf.tidy(() => {
      layers.push({ name, kernel: tf.variable(tf.tensor2d(values, [fanIn, fanOut]), true), bias: tf.variable(tf.zeros([fanOut]), true) });
    });
  }
  return layers;
}

function applyStack(layers: readonly Dense[], x: tf.Tensor2D): tf.Tensor2D {
  let h = x;
  layers.forEach((layer, k) => {
    const z = tf.add(matMul2d(h, layer.kernel as tf.Tensor2D), layer.bias) as tf.Tensor2D;
    h = k + 1 < layers.length ? tf.tanh(z) : z;
  });
  return h;
}

/**
 * Normalise a device's table T̃ [Q_n, L] complex (differentiable):
 * "average" T̃ sqrt(1 / mean_s ||T̃[s]||²), "per-point" each row to ||.||² = 1, "tanh-peak" tanh
 * of Re and Im, no scaling.
 */
export function normaliseTable(table: ComplexTensor, power: MulvaePower): ComplexTensor {
  if (power === 'tanh-peak') return { re: tf.tanh(table.re), im: tf.tanh(table.im) };
  const energy = tf.sum(cx.abs2(table), 1, true); // [Q_n, 1]
  const denom = power === 'average' ? tf.mean(energy) : energy;
  return cx.scale(table, tf.rsqrt(tf.add(denom, 1e-20)));
}

/** Host statistics of a codebook [L, N*Q] (device n's first Q_n columns used). */
export function constellationDiagnostics(
  re: Float32Array | number[],
  im: Float32Array | number[],
  L: number,
  sizes: readonly number[],
  Q: number,
): { minDistance: number[]; densePairs: number; energy: number[] } {
  const N = sizes.length;
  const at = (l: number, n: number, q: number) => l * N * Q + n * Q + q;
  const minDistance: number[] = [];
  const energy: number[] = [];
  let densePairs = 0;
  for (let n = 0; n < N; n++) {
    const Qn = sizes[n];
    let best = Infinity;
    for (let a = 0; a < Qn; a++) {
      for (let b = a + 1; b < Qn; b++) {
        let d = 0;
        for (let l = 0; l < L; l++) d += (re[at(l, n, a)] - re[at(l, n, b)]) ** 2 + (im[at(l, n, a)] - im[at(l, n, b)]) ** 2;
        best = Math.min(best, Math.sqrt(d));
      }
    }
    minDistance.push(Qn < 2 ? 0 : best);
    const perRe = Array.from({ length: L }, (_, l) => {
      let p = 0;
      for (let q = 0; q < Qn; q++) p += re[at(l, n, q)] ** 2 + im[at(l, n, q)] ** 2;
      return p / Qn;
    });
    const e = perRe.reduce((s, p) => s + p, 0);
    energy.push(e);
    densePairs += perRe.filter((p) => p > (0.1 * e) / L).length;
  }
  return { minDistance, densePairs, energy };
}

/**
 * Learned multidimensional constellations, the encoder of Mul-VAE: Z. Ma, W. Wu, M. Jian, F. Gao,
 * X. Shen, "Joint Constellation Design and Multiuser Detection for Grant-Free NOMA", IEEE Trans.
 * Wireless Commun., 2022, Sec. III-B, eqs. (6), (8), (16). Device n has its own MLP F_{Θ_n}
 * (distributed constellation design): its one-hot message m_n (Q_n = 2^{J_n} inputs) goes through
 * `hidden` tanh layers of width widthFactor·Q_n (the paper: 4 layers of 2^{R_n+3}) and a linear
 * layer to 2L outputs [Re x_n; Im x_n] (eq. (6), L = the paper's K resource elements).
 *
 * Evaluation: the input is one-hot, so each forward pass computes device n's whole table
 * T̃_n = F_{Θ_n}(I_{Q_n}) [Q_n, L] complex once, normalises it (`power`), and an active device
 * sends row m_n: tx[b, n, :] = a[b, n] T_n[m[b, n]] (one-hot matmul, differentiable). Default
 * normalisation "average": T_n = T̃_n sqrt(1 / mean_s ||T̃_n[s]||²), gradients through the
 * normaliser, so E_s ||x_n||² = 1 exactly for every parameter value and codewords may carry
 * different energies.
 *
 * Trainable variables: `device<n>/dense<k>/kernel` [in, out], `device<n>/dense<k>/bias`,
 * `device<n>/output/kernel|bias`. Initialisation: Glorot-uniform kernels, zero biases, drawn once
 * per run from draw `weights`, device by device, layer by layer, row-major.
 *
 * Symbols: N numDevices, L sequenceLength (REs), J_n the device's bits (scenario.deviceBits, or
 * bitsPerDevice for all), Q_n = 2^{J_n}, Q = 2^{max J_n}.
 *
 * @output tx       [B, N, L] complex: a_n T_n[m_n] (exactly 0 for an inactive device)
 * @output codebook [L, N*Q] complex, column n*Q + q = T_n[q] (zero for q >= Q_n)
 * @remarks Deviations from the paper:
 *   - energy: the paper writes ||x_n|| <= K without saying how it is enforced, and defines no SNR;
 *     here E_s ||x_n||² = 1 (the framework convention; the channel's per-RE SNR then equals the
 *     paper-scale convention E||x_n||² = K, SNR = 1/σ²), enforced by the normaliser above;
 *   - linear output layer (the paper does not state the output activation); `power: "tanh-peak"`
 *     is the literal alternative (tanh output, no normalisation, ||x_n||² <= 2L): its realised
 *     energy (diagnostic `mean-energy`) is not 1, so its SNR axis is not comparable;
 *   - uniform Glorot variant and zero biases (the paper says "Xavier" only);
 *   - the KL prior term of eq. (12) is not the encoder's business (the paper drops it, eq. (13)).
 */
@injectable()
export class MulvaeEncoder implements Encoder, Trainable {
  static readonly plugin = definePlugin({
    kind: 'encoder',
    name: 'mulvae-encoder',
    summary: 'Trainable per-device MLP constellations (one-hot message -> dense L-RE codeword), the Mul-VAE encoder; heterogeneous rates',
    reference:
      'Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint Constellation Design and Multiuser Detection for Grant-Free NOMA", IEEE Trans. Wireless Commun., 2022, Sec. III-B, eqs. (6), (8), (16)',
    params: MulvaeEncoderParams,
    provides: () => ['codebook'],
    training: () => ({}),
    perDeviceBits: true,
    check: (_p: MulvaeEncoderParams, s: Scenario): ParamProblem[] => scenarioProblems(s),
    draws: {
      weights: 'every MLP kernel, Glorot-uniform, once per run: device by device, layer by layer (input to output), row-major [in, out]; biases start at zero',
    },
    notes: [
      'Accepts a bitsPerDevice list (e.g. [1, 1, 1, 2, 2, 2], the paper\'s setting): device n has Q_n = 2^{J_n} codewords; its codebook columns q >= Q_n are zero.',
      'Train it with a `train` block (the detector\'s loss trains it end to end, e.g. detector `mulvae`); `gfra export` writes kind "codebook" [L, N*Q] for codebook-file.',
      'Diagnostics: min-distance (smallest over devices) and min-distance-<n> (per device, Euclidean), dense-pairs (number of (device, RE) pairs whose average power over the device\'s codewords exceeds 0.1 × its uniform share E_n / L; N L = fully dense), mean-energy (average of E_s ||x_n||² over devices: 1 except with "tanh-peak").',
    ],
  });

  private readonly stacks: Dense[][];
  private readonly sizes: number[];
  private training = false;
  private cached: ComplexTensor | undefined;

  constructor(
    @inject(TOKENS.params) private readonly params: MulvaeEncoderParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    const problems = scenarioProblems(scenario);
    if (problems.length > 0) throw new Error(problems[0].message);
    if (scenario.deviceBits !== undefined && scenario.deviceBits.length !== scenario.numDevices) {
      throw new Error(`mulvae-encoder: bitsPerDevice has ${scenario.deviceBits.length} entries, but numDevices is ${scenario.numDevices}`);
    }
    const L = scenario.sequenceLength;
    this.sizes = deviceSequences(scenario);
    const g = random.onceGenerator('weights');
    this.stacks = this.sizes.map((Qn, n) => {
      const width = params.widthFactor * Qn;
      const sizes = [Qn, ...new Array<number>(params.hidden).fill(width), 2 * L];
      return denseStack(sizes, g, `device${n}/`);
    });
  }

  trainableVariables(): Readonly<Record<string, tf.Variable>> {
    return Object.fromEntries(this.stacks.flatMap((layers) => layers.flatMap((l) => [[`${l.name}/kernel`, l.kernel], [`${l.name}/bias`, l.bias]])));
  }

  setTraining(training: boolean): void {
    this.training = training;
    this.disposeCache();
  }

  /** Device n's normalised table T_n [Q_n, L] complex, a new tensor (call inside a tidy or gradient scope). */
  table(n: number): ComplexTensor {
    const L = this.scenario.sequenceLength;
    const raw = applyStack(this.stacks[n], tf.eye(this.sizes[n]) as tf.Tensor2D); // [Q_n, 2L]
    const [re, im] = tf.split(raw, [L, L], 1);
    return normaliseTable({ re, im }, this.params.power);
  }

  /** The codebook [L, N*Q] from the variables, new tensors in the caller's scope. */
  private build(): ComplexTensor {
    return cx.tidy(() => {
      const Q = numSequences(this.scenario);
      const tables = this.sizes.map((Qn, n) => {
        const t = this.table(n);
        if (Qn === Q) return t;
        return { re: tf.pad(t.re, [[0, Q - Qn], [0, 0]]), im: tf.pad(t.im, [[0, Q - Qn], [0, 0]]) };
      });
      return cx.transpose({ re: tf.concat(tables.map((t) => t.re), 0), im: tf.concat(tables.map((t) => t.im), 0) }); // [L, N*Q]
    });
  }

  /** The codebook: fresh while training (caller's scope, gradients flow), cached otherwise. */
  private codebook(): ComplexTensor {
    if (this.training) return this.build();
    if (this.cached === undefined) this.cached = cx.keep(this.build());
    return this.cached;
  }

  encode(traffic: TrafficSample): ComplexTensor {
    if (this.training) return cx.tidy(() => sendCodewords(this.build(), traffic, this.scenario));
    const book = this.codebook();
    return cx.tidy(() => sendCodewords(book, traffic, this.scenario));
  }

  sideInformation(): SideInformation {
    return { codebook: this.codebook() };
  }

  /** The learned tables for `gfra export`: kind "codebook", [L, N*Q] (zero columns for q >= Q_n); the caller owns the tensors. */
  transmitObject(): { readonly kind: TransmitKind; readonly value: ComplexTensor } {
    return { kind: 'codebook', value: this.build() };
  }

  diagnostics(): Readonly<Record<string, number>> {
    const book = this.build();
    const re = book.re.dataSync() as Float32Array;
    const im = book.im.dataSync() as Float32Array;
    cx.dispose(book);
    const { minDistance, densePairs, energy } = constellationDiagnostics(re, im, this.scenario.sequenceLength, this.sizes, numSequences(this.scenario));
    return {
      'min-distance': Math.min(...minDistance),
      ...Object.fromEntries(minDistance.map((d, n) => [`min-distance-${n}`, d])),
      'dense-pairs': densePairs,
      'mean-energy': energy.reduce((a, b) => a + b, 0) / energy.length,
    };
  }

  private disposeCache(): void {
    if (this.cached === undefined) return;
    cx.dispose(this.cached);
    this.cached = undefined;
  }

  dispose(): void {
    this.disposeCache();
    for (const layers of this.stacks) for (const l of layers) tf.dispose([l.kernel, l.bias]);
  }
}
