import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  TOKENS,
  type ComplexTensor,
  type Encoder,
  type ParamProblem,
  type RandomStreams,
  type Scenario,
  type SideInformation,
  type Trainable,
  type TrafficSample,
  type TransmitKind,
} from '@gfra/core';
import { activationWeights, qpskScenarioProblems, spreadingSideInformation, spreadQpsk } from './qpsk-spreading';
import { signatureDiagnostics } from './signature-sets';

export const SteMode = Type.Union([Type.Literal('identity'), Type.Literal('gated')], {
  default: 'identity',
  description: 'backward pass of the quantizer: "identity" (plain straight-through) or "gated" (gradient times 1{|u| <= Q})',
});
export type SteMode = Static<typeof SteMode>;

export const QnnSignaturesParams = Type.Object(
  {
    alphabetHalfWidth: Type.Integer({ minimum: 1, default: 2, description: 'Q (the paper\'s quantization level): Re and Im of every signature entry in {-Q, ..., Q}' }),
    quantize: Type.Boolean({ default: true, description: 'false bypasses the quantizer (s̃ = u, unquantized signatures; no latent clamp)' }),
    ste: SteMode,
    latentClamp: Type.Boolean({ default: true, description: 'clamp the latent to ±(Q + 0.5 - 1e-3) after every optimizer step (quantized only)' }),
    initScale: Type.Number({ exclusiveMinimum: 0, default: 1, description: 'multiplies the Glorot-uniform bound sqrt(6 / (2 + 2L))' }),
    encoderLrMultiplier: Type.Number({
      exclusiveMinimum: 0,
      default: 1,
      description: 'k: the latent is u = k v with v the stored variable, i.e. a k-times learning rate for the signatures under Adam (k² under plain SGD); 10 suits reduced-scale runs',
    }),
  },
  { additionalProperties: false },
);
export type QnnSignaturesParams = Static<typeof QnnSignaturesParams>;

/**
 * round(clip(u, -Q, Q)), optionally followed by `post` (e.g. the zero-signature guard), as one op
 * whose gradient is straight through: dy ("identity") or dy 1{|u| <= Q} ("gated"). The forward
 * ops run untaped, so non-differentiable ones (comparisons, argMax) are fine inside `post`.
 */
function straightThrough(u: tf.Tensor, Q: number, ste: SteMode, post?: (u: tf.Tensor, q: tf.Tensor) => tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    (args[1] as tf.GradSaveFunc)([input]);
    const q = tf.round(tf.clipByValue(input, -Q, Q));
    return {
      value: post === undefined ? q : post(input, q),
      gradFunc: (dy, saved) => (ste === 'gated' ? tf.mul(dy, tf.cast(tf.lessEqual(tf.abs(saved[0]), Q), 'float32')) : tf.clone(dy)),
    };
  });
  return f(u);
}

/**
 * The paper's quantizer with a straight-through gradient (eqs. (18), (23) with A = Q, step 1):
 * value round(clip(u, -Q, Q)) (tfjs rounds ties to even; they have probability zero), gradient
 * dy ("identity") or dy 1{|u| <= Q} ("gated"). Any shape.
 */
export function quantizeSte(u: tf.Tensor, alphabetHalfWidth: number, ste: SteMode = 'identity'): tf.Tensor {
  return straightThrough(u, alphabetHalfWidth, ste);
}

/**
 * Zero-signature guard: a device whose quantized signature is all zero would send nothing (and the
 * gradient through its norm blows up), so its s̃ becomes the one-hot vector at the largest |u|
 * among its 2L latent reals, with value sign(u) (+1 at u = 0). Not differentiable (comparisons):
 * use it through {@link quantizeGuardedSte}.
 * @param u [N, 2L] latent (real parts, then imaginary parts)
 * @param q [N, 2L] its quantized value
 * @returns value [N, 2L] guarded s̃, fired [N] float32 1 where the guard replaced the signature
 */
export function zeroSignatureGuard(u: tf.Tensor2D, q: tf.Tensor2D): { value: tf.Tensor2D; fired: tf.Tensor1D } {
  const fired = tf.cast(tf.equal(tf.sum(tf.abs(q), 1), 0), 'float32') as tf.Tensor1D;
  const hot = tf.cast(tf.oneHot(tf.argMax(tf.abs(u), 1), u.shape[1]), 'float32');
  const sign = tf.where(tf.less(u, 0), tf.fill(u.shape, -1), tf.fill(u.shape, 1));
  const value = tf.add(q, tf.mul(tf.mul(hot, sign), tf.expandDims(fired, 1))) as tf.Tensor2D;
  return { value, fired };
}

/**
 * Quantizer plus zero-signature guard, with the straight-through gradient of {@link quantizeSte}
 * (a guarded device's latent still gets the gradient of its one-hot replacement).
 * @param u [N, 2L] latent (real parts, then imaginary parts)
 * @returns [N, 2L] guarded integer s̃
 */
export function quantizeGuardedSte(u: tf.Tensor2D, alphabetHalfWidth: number, ste: SteMode = 'identity'): tf.Tensor2D {
  return straightThrough(u, alphabetHalfWidth, ste, (x, q) => zeroSignatureGuard(x as tf.Tensor2D, q as tf.Tensor2D).value) as tf.Tensor2D;
}

/** [N] float32: 1 where round(clip(u, -Q, Q)) of a row is all zero (the guard fires); no gradient needed. */
function guardFirings(u: tf.Tensor2D, Q: number): tf.Tensor {
  return tf.sum(tf.cast(tf.equal(tf.sum(tf.abs(tf.round(tf.clipByValue(u, -Q, Q))), 1), 0), 'float32'));
}

/** Whether a latent row (2L reals) rounds to all zeros under round(clip(., -Q, Q)). */
function roundsToZero(row: readonly number[]): boolean {
  return row.every((x) => Math.abs(x) <= 0.5);
}

/**
 * Learned finite-alphabet spreading signatures: the quantized one-layer "QNN" encoder of H. Yu,
 * Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free NOMA: A Quantized Deep
 * Learning Approach", Sec. III-A, eqs. (14)-(16), (18), (23)-(25): each device n keeps a
 * full-precision latent u_n = u_n^R + j u_n^I in C^L; the forward pass quantizes it,
 *   s̃_n = round(clip(u_n, -Q, Q))  (Re and Im separately, integers in {-Q..Q}),
 * with a straight-through gradient, and normalises (eq. (24)),
 *   s̄_n = s̃_n / sqrt(Σ_k |s̃_n(k)|² + 1e-8),
 * and an active device sends z_n = s̄_n q(m_n) (QPSK). The signatures are trained end to end
 * through the receiver's loss (the generic trainer; the SICNN decoder in the paper).
 *
 * Trainable variables: `latentRe`, `latentIm` [N, L] (v; the latent is u = k v with k =
 * encoderLrMultiplier). Initialisation: Glorot-uniform U(-ℓ, ℓ), ℓ = sqrt(6 / (2 + 2L)) initScale
 * (draw `init`, once per run, device by device: L real then L imaginary parts).
 *
 * Symbols: N numDevices, L sequenceLength (the paper's H), Q alphabetHalfWidth, J = 2.
 *
 * @output tx         [B, N, L] complex: a_n q(m_n) s̄_n (exactly 0 for an inactive device)
 * @output signatures [L, N] complex, column n = s̄_n
 * @output codebook   [L, N*4] complex, column n*4 + q = s̄_n q(q)
 * @remarks Deviations from the paper:
 *   - tied complex parametrisation (2L latent reals per device) instead of a free 2L x 2 weight
 *     matrix W_n: eq. (16) as printed has a wrong second row ([s^R, s^I] for [s^I, s^R]), and a
 *     free W_n is widely linear, which no complex signature represents; quantizing the tied
 *     entries equals quantizing W_n element-wise since the alphabet is symmetric;
 *   - the α_n / Δ_n derivation of eqs. (17)-(22) is not used (with A = Q it drops out after the
 *     normalisation);
 *   - eq. (4)'s ||s_n x_n||² is read as ||s_n|| (unit-energy z_n; 0 when inactive);
 *   - the paper does not say whether the gradient is zeroed where |u| > Q: identity STE, plus a
 *     clamp of the latent to ±(Q + 0.5 - 1e-3) after every optimizer step ({@link afterStep}; the
 *     trainer must call it); the gated STE is an option;
 *   - zero-signature guard (not in the paper): an initial latent that rounds to all zeros is
 *     redrawn; in the forward pass an all-zero s̃_n is replaced by a one-hot sign vector, counted
 *     in the `zero-guard` diagnostic;
 *   - `encoderLrMultiplier` k reparametrises u = k v: Adam is invariant to the gradient scale, so
 *     this is a k-times learning rate for the encoder under Adam (k² under plain SGD).
 */
@injectable()
export class QnnSignaturesEncoder implements Encoder, Trainable {
  static readonly plugin = definePlugin({
    kind: 'encoder',
    name: 'qnn-signatures',
    summary: 'Trainable finite-alphabet spreading signatures (quantized latent, straight-through gradient) for QPSK code-domain NOMA',
    reference:
      'H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free NOMA: A Quantized Deep Learning Approach", Sec. III-A, eqs. (14)-(18), (23)-(25)',
    params: QnnSignaturesParams,
    provides: () => ['codebook', 'signatures'],
    training: () => ({}),
    check: (_p: QnnSignaturesParams, s: Scenario): ParamProblem[] => qpskScenarioProblems('qnn-signatures', s),
    draws: {
      init: 'the initial latent [N, 2L], Glorot-uniform, once per run, device by device (L real then L imaginary parts); a device whose latent rounds to all zeros draws its 2L values again from the same generator',
    },
    notes: [
      'Needs bitsPerDevice = 2 (QPSK). Train it with a `train` block (the detector\'s loss trains it end to end); `gfra export` writes the integer signatures (kind "signatures", [L, N]) for qpsk-spreading\'s `file` source.',
      'The trainer calls afterStep() after every optimizer step: it clamps the latent to ±(Q + 0.5 - 1e-3).',
      'Diagnostics: ccw, cc-max, cc-frequent, cc-other of the current quantized signatures, zero-guard (forward-pass guard firings, per device and evaluation), zero-guard-init (initial redraws).',
    ],
  });

  private readonly vRe: tf.Variable;
  private readonly vIm: tf.Variable;
  /** Forward-pass guard firings (device-evaluations), a non-trainable counter. */
  private readonly guardCount: tf.Variable;
  /** Initial latents redrawn because they rounded to all zeros. */
  readonly initRedraws: number;
  private training = false;
  private cached: { unit: ComplexTensor; signatures: ComplexTensor; codebook: ComplexTensor } | undefined;

  constructor(
    @inject(TOKENS.params) private readonly params: QnnSignaturesParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    if (scenario.bitsPerDevice !== 2) throw new Error(qpskScenarioProblems('qnn-signatures', scenario)[0].message);
    const { numDevices: N, sequenceLength: L } = scenario;
    const k = params.encoderLrMultiplier;
    const ell = Math.sqrt(6 / (2 + 2 * L)) * params.initScale;
    const g = random.onceGenerator('init');
    const draw = () => Array.from({ length: 2 * L }, () => ell * (2 * g.uniform() - 1));
    let redraws = 0;
    const rows: number[][] = [];
    for (let n = 0; n < N; n++) {
      let row = draw();
      // bounded: with ℓ <= 0.5 no latent can round to non-zero; the forward guard then takes over
      for (let attempt = 0; params.quantize && roundsToZero(row) && attempt < 100; attempt++) {
        row = draw();
        redraws++;
      }
      rows.push(row);
    }
    this.initRedraws = redraws;
    const init = (part: number[][]) => {
      const t = tf.tensor2d(part.map((r) => r.map((x) => x / k)), [N, L], 'float32');
      const v = tf.variable(t, true);
      t.dispose();
      return v;
    };
    this.vRe = init(rows.map((r) => r.slice(0, L)));
    this.vIm = init(rows.map((r) => r.slice(L)));
    const zero = tf.scalar(0);
    this.guardCount = tf.variable(zero, false);
    zero.dispose();
  }

  trainableVariables(): Readonly<Record<string, tf.Variable>> {
    return { latentRe: this.vRe, latentIm: this.vIm };
  }

  setTraining(training: boolean): void {
    this.training = training;
    this.disposeCache();
    if (!training) this.afterStep();
  }

  /**
   * Clamp the latent to ±(Q + 0.5 - 1e-3) (u = k v, so v to that over k), so that it never drifts
   * further than one level of movement beyond the alphabet; a no-op when unquantized or with
   * `latentClamp: false`. The trainer calls it after every optimizer step.
   */
  afterStep(): void {
    if (!this.params.quantize || !this.params.latentClamp) return;
    const bound = (this.params.alphabetHalfWidth + 0.5 - 1e-3) / this.params.encoderLrMultiplier;
    tf.tidy(() => {
      this.vRe.assign(tf.clipByValue(this.vRe, -bound, bound));
      this.vIm.assign(tf.clipByValue(this.vIm, -bound, bound));
    });
  }

  /**
   * s̃ [N, L] complex (integers when quantized, u otherwise) and s̄ [N, L] from the variables, new
   * tensors in the caller's scope; `count` adds the guard firings to the counter.
   */
  private signatures(count: boolean): { tilde: ComplexTensor; unit: ComplexTensor } {
    return cx.tidy(() => {
      const { alphabetHalfWidth: Q, quantize, ste, encoderLrMultiplier: k } = this.params;
      const L = this.scenario.sequenceLength;
      const uRe = tf.mul(this.vRe, k);
      const uIm = tf.mul(this.vIm, k);
      let tilde: ComplexTensor;
      if (!quantize) tilde = { re: uRe, im: uIm };
      else {
        const u = tf.concat([uRe, uIm], 1) as tf.Tensor2D; // [N, 2L]
        const value = quantizeGuardedSte(u, Q, ste);
        if (count) this.guardCount.assign(tf.add(this.guardCount, guardFirings(u, Q)));
        const [re, im] = tf.split(value, [L, L], 1);
        tilde = { re, im };
      }
      const unit = cx.scale(tilde, tf.rsqrt(tf.add(tf.sum(cx.abs2(tilde), 1, true), 1e-8)));
      return { tilde, unit };
    });
  }

  /** s̄ and the side information: fresh while training (caller's scope), cached otherwise. */
  private current(): { unit: ComplexTensor; signatures: ComplexTensor; codebook: ComplexTensor } {
    const build = () =>
      cx.tidy(() => {
        const { unit } = this.signatures(true);
        return { unit, ...spreadingSideInformation(unit, this.scenario) };
      });
    if (this.training) return build();
    if (this.cached === undefined) {
      const c = build();
      this.cached = { unit: cx.keep(c.unit), signatures: cx.keep(c.signatures), codebook: cx.keep(c.codebook) };
    }
    return this.cached;
  }

  encode(traffic: TrafficSample): ComplexTensor {
    if (this.training) {
      return cx.tidy(() => spreadQpsk(this.signatures(true).unit, traffic));
    }
    const { unit } = this.current();
    return cx.tidy(() => spreadQpsk(unit, traffic));
  }

  sideInformation(): SideInformation {
    const { signatures, codebook } = this.current();
    return { signatures, codebook };
  }

  /**
   * The learned signatures for `gfra export`: kind "signatures", [L, N] complex, the integer s̃
   * (unnormalised, so the file holds integers in {-Q..Q}; qpsk-spreading normalises on loading),
   * or s̄ when unquantized. The tensors belong to the caller.
   */
  transmitObject(): { readonly kind: TransmitKind; readonly value: ComplexTensor } {
    const value = cx.tidy(() => {
      const { tilde, unit } = this.signatures(false);
      return cx.transpose(this.params.quantize ? tilde : unit);
    });
    return { kind: 'signatures', value };
  }

  /** Host copy of s̃ as rows = devices. */
  private hostSignatures(): { re: number[][]; im: number[][] } {
    const { numDevices: N, sequenceLength: L } = this.scenario;
    const tilde = cx.tidy(() => this.signatures(false).tilde);
    const { re, im } = cx.toArrays(tilde);
    cx.dispose(tilde);
    const rows = (a: number[]) => Array.from({ length: N }, (_, n) => a.slice(n * L, (n + 1) * L));
    return { re: rows(re), im: rows(im) };
  }

  /** Integer signatures s̃ (rows = devices; latent values when unquantized), for tests and reports. */
  quantizedSignatures(): { re: number[][]; im: number[][] } {
    return this.hostSignatures();
  }

  diagnostics(side: SideInformation): Readonly<Record<string, number>> {
    const p = activationWeights(side, this.scenario.numDevices);
    return {
      ...signatureDiagnostics(this.hostSignatures(), p),
      'zero-guard': this.guardCount.dataSync()[0],
      'zero-guard-init': this.initRedraws,
    };
  }

  private disposeCache(): void {
    if (this.cached === undefined) return;
    cx.dispose(this.cached.unit);
    cx.dispose(this.cached.signatures);
    cx.dispose(this.cached.codebook);
    this.cached = undefined;
  }

  dispose(): void {
    this.disposeCache();
    this.vRe.dispose();
    this.vIm.dispose();
    this.guardCount.dispose();
  }
}
