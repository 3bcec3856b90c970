import * as tf from '@tensorflow/tfjs';

/**
 * The built-in activity decision on an estimated per-device power (row energy, gamma_n, r_n):
 * `beta` compares power / beta_n with a fraction, `fixed` compares the power itself with a value.
 */
export type PowerRule = { readonly rule: 'beta'; readonly fraction: number } | { readonly rule: 'fixed'; readonly value: number };

/**
 * The activity score (power / beta_n under rule "beta", else the power) and the level it is
 * compared with (device active when score > level).
 *
 * @param power [B, N] estimated power
 * @param beta  [B, N] large-scale fading (rule "beta" only)
 */
export function powerScore(power: tf.Tensor2D, rule: PowerRule, beta: tf.Tensor2D | undefined): { score: tf.Tensor2D; level: number } {
  if (rule.rule === 'fixed') return { score: power, level: rule.value };
  if (beta === undefined) throw new Error('threshold rule "beta" needs the large-scale fading beta_n as side information');
  return { score: tf.div(power, beta) as tf.Tensor2D, level: rule.fraction };
}
