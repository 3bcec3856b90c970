import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { definePlugin, TOKENS, type Estimate, type MeasuredStatistic, type Metric, type StatisticInfo, type Truth } from '../plugin';
import * as cx from '../complex';
import type { Scenario } from '../scenario';
import { BitSource, bitErrors, bitMetricProblems, perDeviceRates } from './ber';

/** [j, devices with j bits], by increasing j (empty without bits per device). */
function rateGroups(s: Scenario): [number, number[]][] {
  if (s.deviceBits === undefined) return [];
  const bits = s.deviceBits;
  return [...new Set(bits)].sort((a, b) => a - b).map((j) => [j, bits.flatMap((b, n) => (b === j ? [n] : []))]);
}

export const BlerParams = Type.Object(
  {
    bits: BitSource,
    unit: Type.Union([Type.Literal('device'), Type.Literal('trial')], {
      default: 'device',
      description:
        '"device": a block is one active device\'s J bits in one trial (statistic `bler`); "trial": a block is all active devices of one trial together (statistic `bler-trial`)',
    }),
    perUser: Type.Boolean({ default: false, description: 'unit "device" only: also report bler-user<n> for every device n = 0..N-1 (not tracked)' }),
    byRate: Type.Boolean({
      default: false,
      description:
        'unit "device", bits per device only: also report bler-bits<j>, the block error rate of the devices with j bits (tracked: the stopping rule waits for each rate group\'s errors)',
    }),
  },
  { additionalProperties: false },
);
export type BlerParams = Static<typeof BlerParams>;

/**
 * Block error rate of uncoded blocks.
 *
 * - `unit: "device"` (default, statistic `bler`): a block is the J bits one active device sends in
 *   one trial (one codeword), in error when any of its bits is wrong or the device is declared
 *   inactive:
 *
 *     BLER = sum_{trials, active n} 1(some b_hat_{n,j} != b_{n,j}) / (number of active devices),
 *
 *   i.e. P(s_hat_n != s_n), the per-user BLER of code-domain NOMA papers whose block is one
 *   user's codeword (e.g. BLER_n = P(s_hat_n != s_n) of Mul-VAE in Z. Ma, W. Wu, M. Jian, F. Gao,
 *   X. Shen, "Joint Constellation Design and Multiuser Detection for Grant-Free NOMA" [Ma2022],
 *   Sec. IV-D); with bits from the
 *   message it equals the message error rate of active devices. `perUser` adds
 *   `bler-user<n>` (n = 0..N-1).
 * - `unit: "trial"` (statistic `bler-trial`): a trial is in error when any active device's block is
 *   wrong: the joint (frame) error rate that joint maximum-likelihood detection minimises. Trials
 *   without active devices are not counted.
 *
 * Bits come from the detected message or the LLR signs (`bits`), as for `ber`. With bits per
 * device (a `bitsPerDevice` list) a block is device n's J_n-bit message: judged on the detected
 * message (`bits: "message"`), it is in error exactly when the message is, and `byRate` adds the
 * block error rate of each rate group (`bler-bits1`, `bler-bits2`, ...: the low- and high-rate
 * averages BLER_low, BLER_high of Mul-VAE when every device is active in every trial).
 */
@injectable()
export class BlerMetric implements Metric {
  static readonly plugin = definePlugin({
    kind: 'metric',
    name: 'bler',
    summary: 'Block error rate: an active device\'s J-bit block (or a whole trial) with any bit wrong or the device missed',
    reference:
      'Per-user BLER = P(s_hat_n != s_n) of uncoded code-domain NOMA (e.g. BLER_n of Mul-VAE, Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint constellation design and multiuser detection for grant-free NOMA", IEEE TWC 2022 [Ma2022], Sec. IV-D); joint frame error rate with unit "trial"',
    params: BlerParams,
    requires: (p: BlerParams) => [p.bits === 'llr' ? 'bitLLR' : 'message'],
    perDeviceBits: true,
    check: (p: BlerParams, s: Scenario) => [
      ...bitMetricProblems(s),
      ...(s.deviceBits !== undefined && p.bits === 'llr'
        ? [{ path: 'bits', message: 'with bits per device, a block is judged on the detected message: "llr" (J bit LLRs per device) does not apply', hint: 'Use "bits": "message"' }]
        : []),
      ...(p.unit === 'trial' && p.perUser ? [{ path: 'perUser', message: 'per-user rates need unit "device"', hint: 'Set unit to "device", or perUser to false' }] : []),
      ...(p.byRate && (p.unit === 'trial' || s.deviceBits === undefined)
        ? [{ path: 'byRate', message: 'rate groups need unit "device" and a bitsPerDevice list (one per device)', hint: 'Set unit to "device" and scenario.bitsPerDevice to a list, or byRate to false' }]
        : []),
    ],
    statistics: (p: BlerParams, s: Scenario): StatisticInfo[] =>
      p.unit === 'trial'
        ? [{ name: 'bler-trial', kind: 'rate', description: 'fraction of trials with any active device\'s block in error', tracked: true }]
        : [
            { name: 'bler', kind: 'rate', description: 'fraction of active devices\' blocks with a bit error (or missed)', tracked: true },
            ...(p.perUser ? perDeviceRates('bler', 'block error rate', s.numDevices) : []),
            ...(p.byRate ? rateGroups(s).map(([j]) => ({ name: `bler-bits${j}`, kind: 'rate' as const, description: `block error rate of the devices with ${j} bit${j === 1 ? '' : 's'}`, tracked: true })) : []),
          ],
  });

  constructor(
    @inject(TOKENS.params) private readonly params: BlerParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {}

  measure(truth: Truth, estimate: Estimate): Record<string, MeasuredStatistic> {
    const { numDevices: N, bitsPerDevice: J } = this.scenario;
    return cx.tidy(() => {
      const out: Record<string, MeasuredStatistic> = {};
      const wrong = bitErrors(truth, estimate, this.params.bits, J); // [B, N, J], zero for inactive devices
      const blockWrong = tf.max(wrong, 2); // [B, N]
      if (this.params.unit === 'trial') {
        const anyActive = tf.max(truth.activity, 1) as tf.Tensor1D;
        out['bler-trial'] = { events: tf.max(blockWrong, 1) as tf.Tensor1D, samples: anyActive };
        return out;
      }
      out.bler = { events: tf.sum(blockWrong, 1) as tf.Tensor1D, samples: tf.sum(truth.activity, 1) as tf.Tensor1D };
      if (this.params.byRate) {
        for (const [j, devices] of rateGroups(this.scenario)) {
          const mask = tf.tensor1d(Array.from({ length: N }, (_, n) => (devices.includes(n) ? 1 : 0)));
          out[`bler-bits${j}`] = { events: tf.sum(tf.mul(blockWrong, mask), 1) as tf.Tensor1D, samples: tf.sum(tf.mul(truth.activity, mask), 1) as tf.Tensor1D };
        }
      }
      if (this.params.perUser) {
        const events = tf.unstack(blockWrong, 1);
        const samples = tf.unstack(truth.activity, 1);
        for (let n = 0; n < N; n++) {
          out[`bler-user${n}`] = { events: events[n] as tf.Tensor1D, samples: samples[n] as tf.Tensor1D };
        }
      }
      return out;
    });
  }
}
