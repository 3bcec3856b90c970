import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  definePlugin,
  messageBits,
  TOKENS,
  type Estimate,
  type MeasuredStatistic,
  type Metric,
  type ParamProblem,
  type StatisticInfo,
  type Truth,
} from '../plugin';
import * as cx from '../complex';
import type { Scenario } from '../scenario';

export const BitSource = Type.Union([Type.Literal('message'), Type.Literal('llr')], {
  default: 'message',
  description:
    'Where the detected bits come from: "message" = bits of the detected message (natural binary, MSB first); "llr" = hard decisions on bitLLR (1 where LLR > 0)',
});

export const BerParams = Type.Object(
  {
    bits: BitSource,
    perUser: Type.Boolean({ default: false, description: 'also report ber-user<n> for every device n = 0..N-1 (not tracked)' }),
    mode: Type.Union([Type.Literal('strict'), Type.Literal('sign')], {
      default: 'strict',
      description:
        '"strict": an active device the detector declares inactive counts all its J bits as errors; "sign": the bits of every active device come from the detected message whatever the detected activity (activity errors count only through their effect on the data, e.g. SIC error propagation; needs a detector that decides a message for every device)',
    }),
    jain: Type.Boolean({
      default: false,
      description: 'also report jfi, Jain\'s fairness index (sum_n BER_n)^2 / (N sum_n BER_n^2) of the per-device BERs (implies perUser)',
    }),
  },
  { additionalProperties: false },
);
export type BerParams = Static<typeof BerParams>;

/** Untracked per-device rate statistics `<prefix>-user0` ... `<prefix>-user<N-1>`. */
export function perDeviceRates(prefix: string, what: string, numDevices: number): StatisticInfo[] {
  return Array.from({ length: numDevices }, (_, n): StatisticInfo => ({
    name: `${prefix}-user${n}`,
    kind: 'rate',
    description: `${what} of device ${n}`,
    tracked: false,
  }));
}

/** Problems shared by the bit-based metrics: they need J >= 1. */
export function bitMetricProblems(s: Scenario): ParamProblem[] {
  return s.bitsPerDevice < 1
    ? [{ path: '', message: 'needs bits: scenario.bitsPerDevice must be >= 1 (got 0)', hint: 'Set scenario.bitsPerDevice, or use the "activity" metric' }]
    : [];
}

/**
 * [B, N, J] float32 in {0, 1}: 1 where a detected bit differs from the sent one. A device the
 * detector declares inactive (when the estimate has `activity`) has all J bits wrong.
 */
export function bitErrors(truth: Truth, estimate: Estimate, bits: BerParams['bits'], J: number, mode: BerParams['mode'] = 'strict'): tf.Tensor3D {
  return tf.tidy(() => {
    const sent = messageBits(truth.message, J);
    let detected: tf.Tensor;
    if (bits === 'llr') {
      if (estimate.bitLLR === undefined) throw new Error('bits "llr" needs the detector\'s bitLLR');
      detected = tf.cast(tf.greater(estimate.bitLLR, 0), 'float32');
    } else {
      if (estimate.message === undefined) throw new Error('bits "message" needs the detector\'s message');
      detected = messageBits(estimate.message, J);
    }
    let wrong = tf.cast(tf.notEqual(sent, detected), 'float32');
    if (mode === 'strict' && estimate.activity !== undefined) {
      const missed = tf.expandDims(tf.cast(tf.less(estimate.activity, 0.5), 'float32'), 2);
      wrong = tf.maximum(wrong, missed);
    }
    return tf.mul(wrong, tf.expandDims(truth.activity, 2)) as tf.Tensor3D;
  });
}

/**
 * Bit error rate of the data of active devices (uncoded):
 *
 *   BER = sum_{trials, active n, j} 1(b_hat_{n,j} != b_{n,j}) / (J * number of active devices)
 *
 * pooled over devices and trials (every transmitted bit counts once). Bits of message m are its J
 * bits in natural binary, most significant first (core `messageBits`). The detected bits come
 * from the detected message (`bits: "message"`, default: any detector with `message`) or from the
 * signs of the detector's bit LLRs (`bits: "llr"`, as BER curves of soft-output detectors such as
 * SCMA-MPA are usually drawn; the two differ only where bitwise and symbolwise decisions differ).
 * A truly active device that the detector declares inactive counts all J bits as errors; bits of
 * inactive devices are not counted (activity errors are the `activity` metric's business).
 *
 * With `perUser`, `ber-user<n>` (n = 0..N-1, the device index of the spec) is the same rate
 * restricted to device n. With `mode: "sign"`, a device's bits always come from its detected
 * message (the slicer on a soft symbol estimate), whatever activity the detector declares, the
 * "average BER" of H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for
 * Grant-Free NOMA: A Quantized Deep Learning Approach" for an MSE-trained regression receiver.
 * With `jain`, `jfi` is that paper's Jain fairness index, Eq. (30), over all N devices' BERs
 * accumulated over the run (the paper's sum over the active set divided by N, read as all N).
 *
 * User-averaged BER ((1/N) sum_n BER_n) is not a statistic of its own: read it from the per-user
 * rates.
 */
@injectable()
export class BerMetric implements Metric {
  static readonly plugin = definePlugin({
    kind: 'metric',
    name: 'ber',
    summary: 'Bit error rate over the bits of active devices (pooled), optionally per device; bits from the message or from bit LLRs',
    reference: 'Standard uncoded bit error rate, pooled over transmitted bits (the BER vs Eb/N0 curves of NOMA/SCMA studies)',
    params: BerParams,
    requires: (p: BerParams) => [p.bits === 'llr' ? 'bitLLR' : 'message'],
    check: (_p: BerParams, s: Scenario) => bitMetricProblems(s),
    statistics: (p: BerParams, s: Scenario): StatisticInfo[] => {
      const users = perDeviceRates('ber', 'bit error rate', s.numDevices);
      return [
        { name: 'ber', kind: 'rate', description: 'bit error rate over all bits of active devices', tracked: true },
        ...(p.perUser || p.jain ? users : []),
        ...(p.jain
          ? [{ name: 'jfi', kind: 'jain-index' as const, parts: users.map((u) => u.name), description: 'Jain fairness index of the per-device BERs (1/N: one device takes every error; 1: all equal)' }]
          : []),
      ];
    },
  });

  constructor(
    @inject(TOKENS.params) private readonly params: BerParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {}

  measure(truth: Truth, estimate: Estimate): Record<string, MeasuredStatistic> {
    const J = this.scenario.bitsPerDevice;
    const N = this.scenario.numDevices;
    return cx.tidy(() => {
      const out: Record<string, MeasuredStatistic> = {};
      const wrong = bitErrors(truth, estimate, this.params.bits, J, this.params.mode); // [B, N, J]
      const perDevice = tf.sum(wrong, 2); // [B, N]
      const sent = tf.mul(truth.activity, J); // [B, N] bits sent
      out.ber = { events: tf.sum(perDevice, 1) as tf.Tensor1D, samples: tf.sum(sent, 1) as tf.Tensor1D };
      if (this.params.perUser || this.params.jain) {
        const events = tf.unstack(perDevice, 1);
        const samples = tf.unstack(sent, 1);
        for (let n = 0; n < N; n++) {
          out[`ber-user${n}`] = { events: events[n] as tf.Tensor1D, samples: samples[n] as tf.Tensor1D };
        }
      }
      return out;
    });
  }
}
