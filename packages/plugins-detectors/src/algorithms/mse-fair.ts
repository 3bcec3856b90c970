/**
 * The fairness-regularised symbol MSE that trains the regression receivers of code-domain NOMA
 * (`sicnn`, `fcnn-mud`): per-device mean squared symbol error, their sum, and a weighted penalty
 * on how far each device's error is from a reference level.
 *
 * Reference: H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free
 * NOMA: A Quantized Deep Learning Approach", Eqs. (9)-(12).
 *
 * The second half of the module holds what both receivers trained with this loss share (dense
 * stacks, the channel-state layout, the estimate from soft symbols), since plugins do not import
 * from each other.
 */
import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { qpskSlice, qpskSymbols, type ComplexTensor, type Estimate, type ParamProblem, type Scenario, type TrafficSample } from '@gfra/core';
import { DenseStack, type WeightSource } from './layers';

export const MseFairParams = Type.Object(
  {
    betaMse: Type.Number({ minimum: 0, default: 1, description: 'weight beta_MSE of the sum of per-device MSEs L_MSE (Eq. (12))' }),
    betaFair: Type.Number({ minimum: 0, default: 1, description: 'weight beta_fair of the fairness penalty L_fair (Eq. (12)); 0 trains with the plain sum MSE (Eq. (10))' }),
    lambda: Type.Optional(
      Type.Array(Type.Number({ minimum: 0 }), {
        minItems: 1,
        description: 'per-device fairness weights lambda_n (numDevices values); default all ones. The paper uses [1, 1, 1, 2, 2, 2] (weight 2 for the rarely active devices with p = 0.4)',
      }),
    ),
    fairnessReference: Type.Union([Type.Literal('mean'), Type.Literal('sum')], {
      default: 'mean',
      description: 'reference L_ref of the penalty sum_n lambda_n |L_n - L_ref|: "mean" of the per-device MSEs (measures dispersion), or their "sum" (the paper\'s literal wording)',
    }),
  },
  { additionalProperties: false, default: {}, description: 'the mse-fair training loss (Yu, Fei, Zheng, Ye, Eqs. (9)-(12))' },
);
export type MseFairParams = Static<typeof MseFairParams>;

/** Problems with the loss params for this scenario (paths under `prefix`, e.g. "loss"). */
export function mseFairProblems(p: MseFairParams, s: Scenario, prefix = 'loss'): ParamProblem[] {
  const problems: ParamProblem[] = [];
  if (p.lambda !== undefined && p.lambda.length !== s.numDevices) {
    problems.push({ path: `${prefix}.lambda`, message: `has ${p.lambda.length} values, but there are ${s.numDevices} devices`, hint: 'Give one weight per device' });
  }
  return problems;
}

/**
 * [N] per-device MSE L_n = (1/B) sum_b |x̂_{b,n} - x_{b,n}|^2 (real and imaginary parts summed,
 * inactive samples included with target x = 0), with the transmitted symbol x = a q(m) (QPSK).
 *
 * @param estimate [B, N] complex soft symbols x̂
 * @param truth    activity [B, N] in {0, 1}, message [B, N] int32 in [0, 4)
 */
export function perDeviceMse(estimate: ComplexTensor, truth: TrafficSample): tf.Tensor1D {
  return tf.tidy(() => {
    const q = qpskSymbols(truth.message);
    const dre = tf.sub(estimate.re, tf.mul(truth.activity, q.re));
    const dim = tf.sub(estimate.im, tf.mul(truth.activity, q.im));
    return tf.mean(tf.add(tf.square(dre), tf.square(dim)), 0) as tf.Tensor1D;
  });
}

/**
 * The loss L_all = beta_MSE L_MSE + beta_fair L_fair (Eq. (12)) with
 *   L_MSE  = sum_n L_n                       (Eq. (10)),
 *   L_fair = sum_n lambda_n |L_n - L_ref|    (Eq. (11)),
 * L_n from {@link perDeviceMse}, L_ref = (1/N) sum_m L_m ("mean") or sum_m L_m ("sum").
 *
 * @remarks Deviations from the paper: its L_dec,n and L_dec are undefined and the penalty is
 *   described as the gap to the *sum* MSE, under which every gap is negative and the penalty is
 *   only a reweighted sum MSE favouring the frequently active devices; the default reference is
 *   therefore the mean ("sum" is kept as an option). lambda defaults to all ones (the paper's
 *   [1, 1, 1, 2, 2, 2] must be given).
 * @returns a scalar (differentiable with respect to the estimate)
 */
export function mseFairLoss(estimate: ComplexTensor, truth: TrafficSample, p: MseFairParams): tf.Scalar {
  return tf.tidy(() => {
    const perDevice = perDeviceMse(estimate, truth);
    const N = perDevice.shape[0];
    const lambda = p.lambda ?? Array<number>(N).fill(1);
    if (lambda.length !== N) throw new Error(`mse-fair: lambda has ${lambda.length} values, but the estimate has ${N} devices`);
    const sum = tf.sum(perDevice);
    const reference = p.fairnessReference === 'sum' ? sum : tf.div(sum, N);
    const fair = tf.sum(tf.mul(tf.tensor1d(lambda), tf.abs(tf.sub(perDevice, reference))));
    return tf.add(tf.mul(p.betaMse, sum), tf.mul(p.betaFair, fair)) as tf.Scalar;
  });
}

// ---------------------------------------------------------------------------------------------
// Building blocks shared by the two regression receivers trained with this loss (`sicnn`,
// `fcnn-mud`): the dense stacks with a choice of initialiser and one weight stream for all of a
// plugin's stacks, the real feature layout of [y; h], and the estimate built from soft symbols.

/** Initialiser of the dense kernels (biases always start at zero). */
export const DenseInit = Type.Union([Type.Literal('glorot-uniform'), Type.Literal('he-normal')], {
  default: 'glorot-uniform',
  description: 'kernel initialiser: "glorot-uniform" U(-a, a), a = sqrt(6 / (fanIn + fanOut)) (Xavier, named in the paper), or "he-normal" N(0, 2 / fanIn) (He et al., the paper\'s citation); biases start at zero',
});
export type DenseInit = Static<typeof DenseInit>;

/** Number of kernel weights of fully connected layers widths[0] -> widths[1] -> ... (no biases). */
export function denseWeightCount(widths: readonly number[]): number {
  let n = 0;
  for (let k = 0; k + 1 < widths.length; k++) n += widths[k] * widths[k + 1];
  return n;
}

/** Number of trainable values (kernels and biases) of fully connected layers widths[0] -> ... */
export function denseParameterCount(widths: readonly number[]): number {
  return denseWeightCount(widths) + widths.slice(1).reduce((s, w) => s + w, 0);
}

/**
 * {@link DenseStack} with the receivers' naming and initialiser: kernels drawn in layer order from
 * `source`, so several stacks of one plugin drawn one after the other from the same generator
 * get different weights (N SICNN modules).
 *
 * Variables: `<prefix><name>/kernel` [in, out], `<prefix><name>/bias` [out], name = `dense<k>`
 * for hidden layers and `output` for the last.
 */
export class SeededDenseStack extends DenseStack {
  constructor(sizes: readonly number[], source: WeightSource, init: DenseInit, prefix = '') {
    super(sizes, source, { name: (k, last) => `${prefix}${last ? 'output' : `dense${k}`}`, init });
  }
}

/** How the receiver is given the channel state: one gain per device, or one per device and RE. */
export const CsiLayout = Type.Union([Type.Literal('block'), Type.Literal('per-resource')], {
  default: 'block',
  description:
    'channel state the network is built for: "block" h [B, N, M] (one gain per device, N M complex inputs) or "per-resource" h [B, N, L, M] (one per device and RE, N L M complex inputs); must match the channel plugin\'s fading mode',
});
export type CsiLayout = Static<typeof CsiLayout>;

/** Complex values per device of the channel-state input: M (block) or L M (per-resource). */
export function csiWidth(layout: CsiLayout, s: Scenario): number {
  return layout === 'block' ? s.numAntennas : s.sequenceLength * s.numAntennas;
}

/**
 * The channel state as [B, N, W] complex (W = {@link csiWidth}, device-major rows), after checking
 * its rank against the layout: [B, N, M] for "block", [B, N, L, M] for "per-resource".
 */
export function flatChannel(owner: string, h: ComplexTensor, layout: CsiLayout, s: Scenario): ComplexTensor {
  const rank = layout === 'block' ? 3 : 4;
  if (h.re.rank !== rank) {
    const other: CsiLayout = layout === 'block' ? 'per-resource' : 'block';
    throw new Error(
      `${owner}: param csi is "${layout}", which needs channel state of rank ${rank} (${layout === 'block' ? '[B, N, M]' : '[B, N, L, M]'}), got shape [${h.re.shape}]; set csi to "${other}" to match the channel's fading mode`,
    );
  }
  const B = h.re.shape[0];
  const shape = [B, s.numDevices, csiWidth(layout, s)];
  return { re: tf.reshape(h.re, shape), im: tf.reshape(h.im, shape) };
}

/**
 * The estimate of a symbol-regression receiver from its soft symbols x̂ [B, N]: `symbols` x̂,
 * `activityScore` |x̂|, `activity` 1{|x̂| > threshold}, `message` the QPSK slicer of x̂ (for every
 * device). Call inside a tidy or gradient scope.
 */
export function symbolEstimate(re: tf.Tensor2D, im: tf.Tensor2D, threshold: number): Estimate {
  const power = tf.add(tf.square(re), tf.square(im));
  // + 1e-12 keeps the gradient of |x̂| finite at x̂ = 0 (a shift of at most 1e-6)
  const score = tf.sqrt(tf.add(power, 1e-12)) as tf.Tensor2D;
  const activity = tf.cast(tf.greater(power, threshold * threshold), 'float32') as tf.Tensor2D;
  // (core qpskSlice returns float32 on the wasm backend although documented int32; Estimate.message is int32)
  return { symbols: { re, im }, activityScore: score, activity, message: tf.cast(qpskSlice({ re, im }), 'int32') as tf.Tensor2D };
}
