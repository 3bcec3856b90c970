import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { abs2, sub } from '../complex';
import { definePlugin, TOKENS, type Estimate, type MeasuredStatistic, type Metric, type ParamProblem, type StatisticInfo, type Truth } from '../plugin';
import { qpskSymbols } from '../qpsk';
import type { Scenario } from '../scenario';

export const SymbolMseParams = Type.Object(
  {
    perUser: Type.Boolean({ default: false, description: 'also report symbol-mse-user<n>, the squared error of device n alone' }),
  },
  { additionalProperties: false },
);
export type SymbolMseParams = Static<typeof SymbolMseParams>;

/**
 * Squared error of the soft symbol estimates x_hat_n against the transmitted symbols
 * x_n = a_n q(m_n) (QPSK, 0 when inactive), over every device, active or not: per trial
 *
 *   symbol-mse = sum_n |x_hat_n - x_n|^2,   symbol-mse-user<n> = |x_hat_n - x_n|^2,
 *
 * averaged over trials (Student-t interval). Its mean is L_MSE of Eq. (10) (and the per-device
 * means the L_n of Eq. (9)) of H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design
 * for Grant-Free NOMA: A Quantized Deep Learning Approach": the training objective of its
 * regression receivers, evaluated on the evaluation draws.
 *
 * @input truth.activity, truth.message [B, N]
 * @input estimate.symbols [B, N] complex
 */
@injectable()
export class SymbolMseMetric implements Metric {
  static readonly plugin = definePlugin({
    kind: 'metric',
    name: 'symbol-mse',
    summary: 'Squared error of the soft QPSK symbol estimates, summed over devices (inactive target 0), per trial; optionally per device',
    reference:
      'H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free NOMA: A Quantized Deep Learning Approach", Eqs. (9)-(10)',
    params: SymbolMseParams,
    requires: () => ['symbols'],
    check: (_p: SymbolMseParams, s: Scenario): ParamProblem[] =>
      s.bitsPerDevice === 2 ? [] : [{ path: '', message: `compares QPSK symbols (bitsPerDevice 2), but the scenario has bitsPerDevice = ${s.bitsPerDevice}`, hint: 'Set "scenario": { "bitsPerDevice": 2 }' }],
    statistics: (p: SymbolMseParams, s: Scenario): StatisticInfo[] => [
      { name: 'symbol-mse', kind: 'mean', description: 'sum over devices of |x_hat_n - x_n|^2 per trial (L_MSE)' },
      ...(p.perUser
        ? Array.from({ length: s.numDevices }, (_, n): StatisticInfo => ({ name: `symbol-mse-user${n}`, kind: 'mean', description: `|x_hat_n - x_n|^2 of device ${n} (L_n)` }))
        : []),
    ],
  });

  constructor(@inject(TOKENS.params) private readonly params: SymbolMseParams) {}

  measure(truth: Truth, estimate: Estimate): Record<string, MeasuredStatistic> {
    const xHat = estimate.symbols;
    if (xHat === undefined) throw new Error('the detector gave no soft symbols');
    return tf.tidy(() => {
      const q = qpskSymbols(truth.message);
      const x = { re: tf.mul(q.re, truth.activity), im: tf.mul(q.im, truth.activity) };
      const perDevice = abs2(sub(xHat, x)) as tf.Tensor2D; // [B, N]
      const out: Record<string, MeasuredStatistic> = { 'symbol-mse': { values: tf.sum(perDevice, 1) as tf.Tensor1D } };
      if (this.params.perUser) tf.unstack(perDevice, 1).forEach((v, n) => (out[`symbol-mse-user${n}`] = { values: v as tf.Tensor1D }));
      return out;
    });
  }
}
