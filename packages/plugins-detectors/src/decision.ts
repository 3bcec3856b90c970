/**
 * Activity decisions shared by the detectors: the threshold rule on an estimated per-device power
 * ({@link PowerThreshold}: one schema, its type, and how it scores and decides), the per-device
 * choice of the best of Q sequences ({@link bestSequence}), and the rule that a threshold gamma*
 * fitted by the runner's thresholding module replaces the built-in one ({@link decideActivity}).
 */
import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { cx, type ComplexTensor, type Estimate } from '@gfra/core';

/**
 * The activity decision on an estimated per-device power p_n (the row energy ||x_n||^2 / M of a
 * channel estimate, or a power estimate such as gamma_n or r_n, all in the units of beta_n):
 * `beta` declares device n active when p_n > fraction * beta_n, `fixed` when p_n > value.
 */
export const PowerThreshold = Type.Union(
  [
    Type.Object(
      {
        rule: Type.Literal('beta'),
        fraction: Type.Number({ exclusiveMinimum: 0, default: 0.5, description: 'declare active when the estimated power > fraction * beta_n' }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      { rule: Type.Literal('fixed'), value: Type.Number({ minimum: 0, description: 'declare active when the estimated power > value (units of beta_n)' }) },
      { additionalProperties: false },
    ),
  ],
  {
    default: { rule: 'beta', fraction: 0.5 },
    description:
      'Activity decision on the estimated power of each device (row energy ||x_n||^2 / M, or the power estimate gamma_n / r_n): "beta" power > fraction * beta_n (needs beta_n), or "fixed" power > value (no beta_n needed)',
  },
);
export type PowerThreshold = Static<typeof PowerThreshold>;

/**
 * The activity score (power / beta_n under rule "beta", else the power) and the level it is
 * compared with (device active when score > level).
 *
 * @param power [B, N] estimated power
 * @param beta  [B, N] large-scale fading (rule "beta" only)
 */
export function powerScore(power: tf.Tensor2D, rule: PowerThreshold, beta: tf.Tensor2D | undefined): { score: tf.Tensor2D; level: number } {
  if (rule.rule === 'fixed') return { score: power, level: rule.value };
  if (beta === undefined) throw new Error('threshold rule "beta" needs the large-scale fading beta_n as side information (or use rule "fixed")');
  return { score: tf.div(power, beta) as tf.Tensor2D, level: rule.fraction };
}

/**
 * [B, N] activity in {0, 1}: score > level, or, once the thresholding module has fitted gamma*
 * (`fitted`), score >= gamma* (the decision the runner then reports).
 */
export function decideActivity(score: tf.Tensor, level: number | tf.Tensor, fitted?: number): tf.Tensor2D {
  return (fitted === undefined ? tf.cast(tf.greater(score, level), 'float32') : tf.cast(tf.greaterEqual(score, fitted), 'float32')) as tf.Tensor2D;
}

/**
 * The estimate of a signal-recovery decoder: channel X [B, N, M] complex, activityScore
 * ||x_n||^2 / M (divided by beta_n under rule "beta"), activity = score > the rule's level.
 * Call inside a tidy scope.
 */
export function rowEnergyEstimate(x: ComplexTensor, rule: PowerThreshold, largeScaleFading: tf.Tensor2D | undefined): Estimate {
  const M = x.re.shape[2] as number;
  const energy = tf.div(tf.sum(cx.abs2(x), 2), M) as tf.Tensor2D; // [B, N]
  const { score, level } = powerScore(energy, rule, largeScaleFading);
  return { activityScore: score, activity: decideActivity(score, level), channel: x };
}

/**
 * The best of each device's Q sequences: the largest score along `axis` (of length Q) and its
 * index (int32, the first on ties; all 0 when Q = 1), both with `axis` removed.
 *
 * @param perDevice scores with the Q sequences of a device along `axis`, e.g. [B, N, Q]
 */
export function bestSequence<T extends tf.Tensor = tf.Tensor2D>(perDevice: tf.Tensor, axis: number): { best: T; message: T } {
  const Q = perDevice.shape[axis];
  const best = tf.max(perDevice, axis) as T;
  const message = (Q === 1 ? tf.zeros(best.shape, 'int32') : tf.cast(tf.argMax(perDevice, axis), 'int32')) as T;
  return { best, message };
}
