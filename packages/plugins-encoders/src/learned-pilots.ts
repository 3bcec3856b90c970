import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  numSequences,
  TOKENS,
  type ComplexTensor,
  type Encoder,
  type RandomStreams,
  type Scenario,
  type SideInformation,
  type Trainable,
  type TrafficSample,
} from '@gfra/core';
import { sendCodewords } from './codebook-transmitter';

export const LearnedPilotsParams = Type.Object(
  {
    trainable: Type.Boolean({
      default: true,
      description: 'false freezes the pilots at their initial (normalised Gaussian) draw, to train the receiver alone',
    }),
  },
  { additionalProperties: false },
);
export type LearnedPilotsParams = Static<typeof LearnedPilotsParams>;

/**
 * Learned pilot matrix: the encoder of the model-driven auto-encoders of [Cui2021] (with no
 * approximation blocks, U = 0, the auto-encoder is purely data-driven), trained end to end with
 * the receiver.
 *
 * Reference: Y. Cui, S. Li, W. Zhang, "Jointly Sparse Signal Recovery and Support Recovery via
 * Deep Learning With Applications in MIMO-Based Grant-Free Random Access" [Cui2021], Sec. III-A,
 * Eqs. (2)-(3): the encoder is a linear map with weights W_R = Re(A), W_I = Im(A) applied to every
 * antenna column,
 *   Re(Y) = Re(A) Re(X) - Im(A) Im(X) + Re(Z),   Im(Y) = Im(A) Re(X) + Re(A) Im(X) + Im(Z)
 * with the power constraint that every column of A has a fixed norm (||a_n|| = sqrt(L), Sec. V).
 *
 * Trainable variables: W = pilotsRe + i pilotsIm, [L, N*Q] (raw, unconstrained). The pilot matrix
 * is the column-normalised reparameterisation (gfra's choice; the paper does not say how it
 * enforces the norm)
 *   A = W / colnorm(W),   colnorm(W)_k = sqrt(sum_l |W_{l,k}|^2)
 * so the constraint holds exactly at every step and is differentiable. W starts from a seeded
 * i.i.d. CN(0, 1/L) draw (the plugin's `pilots` stream), i.e. A starts as normalised Gaussian
 * pilots. Q = 2^J sequences per device (J > 0: a learned codebook of the non-coherent scheme).
 *
 * Symbols: N numDevices, L sequenceLength, J bitsPerDevice, Q = 2^J.
 *
 * @output tx       [B, N, L] complex: a_n s_n^{m_n}
 * @output codebook [L, N*Q] complex, column n*Q + q = sequence q of device n
 * @remarks Deviations from the paper: unit-norm columns (||a_n|| = 1) instead of ||a_n|| = sqrt(L),
 *   gfra's convention for sequences (the channel's SNR is per unit-energy sequence); the two
 *   differ only in how the SNR is stated. Noise is added by the channel plugin, not the encoder.
 */
@injectable()
export class LearnedPilotsEncoder implements Encoder, Trainable {
  static readonly plugin = definePlugin({
    kind: 'encoder',
    name: 'learned-pilots',
    draws: {
      pilots: 'the initial codebook [L, N*Q], i.i.d. CN(0, 1/L) once per run: the same draw as gaussian-pilots\' (then column-normalised)',
    },
    summary: 'Trainable pilot matrix (codebook) with unit-norm columns, initialised from a seeded Gaussian draw',
    reference: 'Y. Cui, S. Li, W. Zhang, "Jointly sparse signal recovery and support recovery via deep learning with applications in MIMO-based grant-free random access", IEEE JSAC 2021 [Cui2021], Sec. III-A, Eqs. (2)-(3), encoder with ||a_n|| fixed',
    params: LearnedPilotsParams,
    provides: () => ['codebook'],
    training: (p: LearnedPilotsParams) => (p.trainable ? {} : undefined),
    notes: ['Train it with a `train` block on the candidate; `gfra export` writes the learned codebook as JSON for `codebook-file`.'],
  });

  private readonly re: tf.Variable;
  private readonly im: tf.Variable;
  private training = false;
  /** Normalised codebook [L, N*Q], cached outside training. */
  private cached: ComplexTensor | undefined;

  constructor(
    @inject(TOKENS.params) private readonly params: LearnedPilotsParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    const { numDevices: N, sequenceLength: L } = scenario;
    const Q = numSequences(scenario);
    const w = random.complexNormalOnce('pilots', [L, N * Q], 1 / L);
    this.re = tf.variable(w.re, params.trainable);
    this.im = tf.variable(w.im, params.trainable);
    cx.dispose(w);
  }

  trainableVariables(): Readonly<Record<string, tf.Variable>> {
    return this.params.trainable ? { pilotsRe: this.re, pilotsIm: this.im } : {};
  }

  setTraining(training: boolean): void {
    this.training = training;
    cx.dispose(this.cached);
    this.cached = undefined;
  }

  /** A = W / colnorm(W), [L, N*Q] complex (new tensors in the caller's scope). */
  private normalised(): ComplexTensor {
    return cx.tidy(() => {
      const W = { re: this.re as tf.Tensor, im: this.im as tf.Tensor };
      return cx.scale(W, tf.rsqrt(tf.sum(cx.abs2(W), 0, true)));
    });
  }

  /** The current codebook: computed from the variables while training, cached otherwise. */
  private codebook(): ComplexTensor {
    if (this.training) return this.normalised();
    this.cached ??= cx.keep(this.normalised());
    return this.cached;
  }

  encode(traffic: TrafficSample): ComplexTensor {
    const A = this.codebook();
    return cx.tidy(() => sendCodewords(A, traffic, this.scenario));
  }

  sideInformation(): SideInformation {
    return { codebook: this.codebook() };
  }

  dispose(): void {
    cx.dispose(this.cached);
    this.re.dispose();
    this.im.dispose();
  }
}
