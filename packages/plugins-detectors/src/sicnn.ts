import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  TOKENS,
  type Capability,
  type ComplexTensor,
  type Detector,
  type Estimate,
  type ObservationWith,
  type ParamProblem,
  type RandomStreams,
  type Scenario,
  type Trainable,
  type TrainingBatch,
} from '@gfra/core';
import {
  CsiLayout,
  csiWidth,
  DenseInit,
  denseParameterCount,
  flatChannel,
  MseFairParams,
  mseFairLoss,
  mseFairProblems,
  SeededDenseStack,
  symbolEstimate,
} from './algorithms/mse-fair';

const REQUIRES = ['channelState', 'signatures'] as const satisfies readonly Capability[];
type SicnnObservation = ObservationWith<(typeof REQUIRES)[number]>;

export const SicnnParams = Type.Object(
  {
    hidden: Type.Array(Type.Integer({ minimum: 1 }), {
      default: [128, 256, 512, 256, 128],
      description: 'hidden ReLU widths of every module (the paper\'s [128, 256, 512, 256, 128]); the output layer has 2 linear units (Re, Im of x̂_n)',
    }),
    csi: CsiLayout,
    init: DenseInit,
    sicSubtract: Type.Union([Type.Literal('channel-aware'), Type.Literal('paper-literal')], {
      default: 'channel-aware',
      description:
        'SIC update after module n: "channel-aware" r <- r - diag(h_n) s̄_n x̂_n (the soft estimate re-spread and passed through the channel), or "paper-literal" r <- r - s̄_n x̂_n / |x̂_n| (Algorithm 1, line 16: no channel, unit-energy re-spreading; an ablation)',
    }),
    activityThreshold: Type.Number({ minimum: 0, default: 0.5, description: 'declare device n active when |x̂_n| exceeds this (0.5: halfway between 0 and |q| = 1)' }),
    loss: MseFairParams,
  },
  { additionalProperties: false },
);
export type SicnnParams = Static<typeof SicnnParams>;

/** Real inputs of one module: 4 L M (residual and received signal) + 2 N W (channel state, W = M or L M). */
export function sicnnInputWidth(p: Pick<SicnnParams, 'csi'>, s: Scenario): number {
  return 4 * s.sequenceLength * s.numAntennas + 2 * s.numDevices * csiWidth(p.csi, s);
}

/** Layer widths of one module: input, hidden..., 2. */
export function sicnnModuleWidths(p: Pick<SicnnParams, 'csi' | 'hidden'>, s: Scenario): number[] {
  return [sicnnInputWidth(p, s), ...p.hidden, 2];
}

/**
 * SICNN: the successive-interference-cancellation neural receiver of code-domain NOMA, N small
 * MLPs in cascade, module n regressing device n's transmitted symbol x_n = a_n q_n (0 when
 * inactive) and its soft estimate, re-spread and passed through the channel, subtracted from the
 * residual before module n + 1.
 *
 * Reference: H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free
 * NOMA: A Quantized Deep Learning Approach", Sec. III-C, Fig. 4, Eqs. (26)-(28); loss Eqs.
 * (9)-(12); Algorithm 1.
 *
 * Per batch (r_0 = y; devices in index order n = 1..N):
 *   x_MUD,n = [Re r_{n-1}; Im r_{n-1}; Re y; Im y; Re h; Im h]   (Eq. (28); h device-major)
 *   x̂_n = v_0 + j v_1,  v = MLP_n(x_MUD,n)                        (Eq. (26))
 *   r_n = r_{n-1} - diag(h_n) s̄_n x̂_n                              (soft, channel-aware SIC)
 * with s̄_n the unit-norm signature of device n (side information `signatures` [L, N]), so the
 * gradient of the loss reaches a trainable encoder's signatures both through y and through the SIC
 * updates; there is no stop-gradient. Each MLP: input -> hidden (ReLU) ... -> 2 (linear), kernels
 * Glorot-uniform (or He-normal) from the `weights` stream, drawn module by module, zero biases.
 * Its own loss (`train.loss: "plugin"`) is mse-fair on the soft symbols.
 *
 * Trainable variables: module<n>/dense<k>/kernel [in, out], module<n>/dense<k>/bias [out],
 * module<n>/output/kernel [h, 2], module<n>/output/bias [2], n = 0 .. N-1.
 * Symbols: N numDevices, L sequenceLength (the paper's H), M numAntennas (1 in the paper),
 * W = M (block) or L M (per-resource) complex channel values per device.
 *
 * @input  y             [B, L, M] complex
 * @input  channel       [B, N, M] (csi "block") or [B, N, L, M] (csi "per-resource") complex
 * @input  signatures    [L, N] complex, unit-norm columns
 * @output symbols       [B, N] complex: soft x̂_n for every device
 * @output activityScore [B, N]: |x̂_n| (not clipped to [0, 1])
 * @output activity      [B, N] in {0, 1}: |x̂_n| > activityThreshold
 * @output message       [B, N] int32: QPSK slicer of x̂_n (every device)
 * @remarks Deviations from the paper: the SIC update subtracts diag(h_n) s̄_n x̂_n with the soft
 *   estimate (Algorithm 1, line 16 subtracts the unit-energy re-spread estimate without the
 *   channel, which turns a near-zero estimate into a full-power ghost; kept as `sicSubtract:
 *   "paper-literal"`); module input per Eq. (28) and Table II, not the text's "2H neurons"; ReLU
 *   hidden and linear output activations, real biases and zero initial biases (not stated / stated
 *   complex); Glorot-uniform by default although the paper cites He et al.; the channel-state
 *   layout is a parameter (block fading gives 4H + 2N inputs, per-resource 4H + 2NH as in Table
 *   II); M > 1 antennas are flattened into the inputs (the paper has M = 1); the activity and
 *   symbol decisions (|x̂_n| > 0.5, QPSK slicer) are not given in the paper; the parameter count
 *   follows the layer sizes (2 024 460 for N = 6, H = 4, per-resource), not the footnote's.
 */
@injectable()
export class SicnnDetector implements Detector, Trainable {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'sicnn',
    summary: 'Cascade of N MLPs with soft SIC: module n regresses device n\'s QPSK symbol (0 if inactive) from [residual; y; h]; trained with mse-fair',
    reference:
      'H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free NOMA: A Quantized Deep Learning Approach", Sec. III-C, Fig. 4, Eqs. (26)-(28), loss Eqs. (9)-(12)',
    params: SicnnParams,
    draws: { weights: 'once per run: the initial kernels of all modules (module 1 first, layer by layer)' },
    requires: () => REQUIRES,
    provides: () => ['symbols', 'activityScore', 'activity', 'message'],
    training: () => ({ loss: true }),
    check: (p: SicnnParams, s: Scenario): ParamProblem[] => {
      const problems: ParamProblem[] = [...mseFairProblems(p.loss, s)];
      if (s.bitsPerDevice !== 2) problems.push({ path: '', message: `regresses QPSK symbols, but the scenario has bitsPerDevice ${s.bitsPerDevice}`, hint: 'Use bitsPerDevice 2' });
      const count = s.numDevices * denseParameterCount(sicnnModuleWidths(p, s));
      if (count > 5e7) problems.push({ path: 'hidden', message: `gives about ${count.toExponential(1)} weights over ${s.numDevices} modules`, hint: 'Use smaller hidden widths' });
      return problems;
    },
    notes: [
      'Untrained it outputs noise: give its candidate a `train` block (loss "plugin" = mse-fair with params.loss).',
      'csi must match the channel: "block" for [B, N, M] channel state, "per-resource" for [B, N, L, M].',
    ],
  });

  /** One MLP per device, in cascade order. */
  private readonly modules: SeededDenseStack[];

  constructor(
    @inject(TOKENS.params) private readonly params: SicnnParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
    @inject(TOKENS.random) random: RandomStreams,
  ) {
    const widths = sicnnModuleWidths(params, scenario);
    const source = random.onceGenerator('weights');
    this.modules = Array.from({ length: scenario.numDevices }, (_, n) => new SeededDenseStack(widths, source, params.init, `module${n}/`));
  }

  trainableVariables(): Readonly<Record<string, tf.Variable>> {
    return Object.assign({}, ...this.modules.map((m) => m.variables())) as Record<string, tf.Variable>;
  }

  /** mse-fair (params.loss) on the soft symbols of the batch's estimate. */
  loss(batch: TrainingBatch): tf.Scalar {
    const symbols = batch.estimate.symbols;
    if (symbols === undefined) throw new Error('detector:sicnn loss: the batch estimate has no symbols');
    return mseFairLoss(symbols, batch.truth, this.params.loss);
  }

  /** [B, N] complex soft symbols x̂ of the cascade. Call inside a tidy or gradient scope. */
  private cascade(obs: SicnnObservation): ComplexTensor<tf.Rank.R2> {
    const { numDevices: N, sequenceLength: L, numAntennas: M } = this.scenario;
    if (obs.signatures === undefined || obs.channel === undefined) {
      throw new Error('detector:sicnn: needs the signatures [L, N] and the channel state as side information (it requires "signatures" and "channelState")');
    }
    const B = obs.y.re.shape[0];
    const LM = L * M;
    const h = flatChannel('detector:sicnn', obs.channel, this.params.csi, this.scenario); // [B, N, W]
    const W = csiWidth(this.params.csi, this.scenario);
    const y = { re: tf.reshape(obs.y.re, [B, LM]), im: tf.reshape(obs.y.im, [B, LM]) };
    const fixed = tf.concat([y.re, y.im, tf.reshape(h.re, [B, N * W]), tf.reshape(h.im, [B, N * W])], 1);
    // signatures s̄ [L, N] -> [1, N, L, 1]
    const sig = { re: tf.reshape(tf.transpose(obs.signatures.re), [1, N, L, 1]), im: tf.reshape(tf.transpose(obs.signatures.im), [1, N, L, 1]) };
    // what module n's estimate is multiplied by before it is subtracted: [B or 1, L M] per device
    let spread: ComplexTensor[];
    if (this.params.sicSubtract === 'channel-aware') {
      // g_n = diag(h_n) s̄_n: [B, N, 1, M] (block) or [B, N, L, M] (per-resource) times [1, N, L, 1]
      const hb = this.params.csi === 'block' ? cx.reshape(h, [B, N, 1, M]) : cx.reshape(h, [B, N, L, M]);
      const g = cx.reshape(cx.mul(hb, sig), [B, N, LM]);
      const re = tf.unstack(g.re, 1);
      const im = tf.unstack(g.im, 1);
      spread = re.map((r, n) => ({ re: r, im: im[n] }));
    } else {
      const ones = tf.ones([1, 1, 1, M]);
      const s = { re: tf.reshape(tf.mul(sig.re, ones), [N, LM]), im: tf.reshape(tf.mul(sig.im, ones), [N, LM]) };
      const re = tf.split(s.re, N, 0);
      const im = tf.split(s.im, N, 0);
      spread = re.map((r, n) => ({ re: r, im: im[n] }));
    }
    let r: ComplexTensor = y;
    const xr: tf.Tensor[] = [];
    const xi: tf.Tensor[] = [];
    this.modules.forEach((module, n) => {
      const v = module.apply(tf.concat([r.re, r.im, fixed], 1) as tf.Tensor2D); // [B, 2]
      const [vr, vi] = tf.split(v, 2, 1); // [B, 1] each
      xr.push(vr);
      xi.push(vi);
      if (n + 1 === N) return;
      let x: ComplexTensor = { re: vr, im: vi };
      if (this.params.sicSubtract === 'paper-literal') {
        // f_n(x̂_n) = s̄_n x̂_n / |x̂_n| (unit energy; the small constant keeps it finite at x̂ = 0)
        x = cx.scale(x, tf.rsqrt(tf.add(tf.add(tf.square(vr), tf.square(vi)), 1e-12)));
      }
      r = cx.sub(r, cx.mul(spread[n], x));
    });
    return { re: tf.concat(xr, 1) as tf.Tensor2D, im: tf.concat(xi, 1) as tf.Tensor2D };
  }

  detect(obs: SicnnObservation): Estimate {
    return cx.tidy((): Estimate => {
      const x = this.cascade(obs);
      return symbolEstimate(x.re, x.im, this.params.activityThreshold);
    });
  }

  dispose(): void {
    for (const m of this.modules) m.dispose();
  }
}
