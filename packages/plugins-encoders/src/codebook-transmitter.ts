/**
 * What every codebook-based encoder does with its codebook S in C^{L x NQ} (column n*Q + q is
 * sequence q of device n): an active device n sends the column of its message, tx_n = a_n
 * S[:, n*Q + m_n], and the receiver is given S.
 */
import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import {
  assertShape,
  cx,
  numSequences,
  withCodewordFactors,
  type ComplexTensor,
  type Generator,
  type RandomStreams,
  type Scenario,
  type SideInformation,
  type TrafficSample,
  type TrialRange,
} from '@gfra/core';

/**
 * tx[B, N, L] complex with tx[b, n, :] = a_n S[:, n*Q + m_n] (zero for inactive devices), S the
 * run's codebook [L, N*Q] or, for a per-trial codebook [B, L, N*Q], trial b's own S_b.
 * Differentiable in S (learned pilots train through it). Not tidied: call inside cx.tidy. With a
 * per-run codebook, tx carries its `CodewordFactors` (S and the traffic sample).
 * @param codebook [L, N*Q] or [B, L, N*Q] complex
 */
export function sendCodewords(codebook: ComplexTensor, traffic: TrafficSample, scenario: Scenario): ComplexTensor {
  const { numDevices: N, sequenceLength: L } = scenario;
  const Q = numSequences(scenario);
  const perDevice =
    codebook.re.rank === 3
      ? cx.reshape(cx.transpose(codebook, [0, 2, 1]), [codebook.re.shape[0], N, Q, L]) // [B, N, Q, L]
      : cx.reshape(cx.transpose(codebook), [1, N, Q, L]); // [1, N, Q, L]
  // weights[b, n, q] = a_n 1(m_n = q); tf.oneHot needs depth >= 2, so Q = 1 uses a_n itself.
  const active = tf.expandDims(traffic.activity, 2);
  const weights = Q === 1 ? active : tf.mul(tf.oneHot(tf.cast(traffic.message, 'int32'), Q), active);
  const B = traffic.activity.shape[0];
  // Q = 1: the product has a single sequence axis, dropped by a reshape (a sum over it costs as much as the product)
  const tx = Q === 1 ? cx.reshape(cx.scale(perDevice, tf.expandDims(weights, 3)), [B, N, L]) : cx.sum(cx.scale(perDevice, tf.expandDims(weights, 3)), 2);
  if (codebook.re.rank === 3) return tx;
  // a per-run codebook: the channel may multiply S by all trials' channels at once
  return withCodewordFactors(tx, { codebook: codebook as ComplexTensor<tf.Rank.R2>, activity: traffic.activity, message: traffic.message });
}

/** A fixed codebook an encoder owns: sends codewords, gives the codebook to the receiver, frees it. */
export class FixedCodebook {
  /** Takes ownership of `codebook` [L, N*Q] complex (kept until {@link dispose}). */
  constructor(
    readonly codebook: ComplexTensor,
    private readonly scenario: Scenario,
  ) {
    assertShape(codebook, [scenario.sequenceLength, scenario.numDevices * numSequences(scenario)], 'codebook');
  }

  encode(traffic: TrafficSample): ComplexTensor {
    return cx.tidy(() => sendCodewords(this.codebook, traffic, this.scenario));
  }

  sideInformation(): SideInformation {
    return { codebook: this.codebook };
  }

  dispose(): void {
    cx.dispose(this.codebook);
  }
}

/**
 * The `redraw` parameter of the random-pilot encoders (optional, without a schema default, so that
 * the resolved specs, and so the cache keys, of existing runs stay as they were).
 */
export const Redraw = Type.Union([Type.Literal('per-run'), Type.Literal('per-trial')], {
  description:
    'Omitted or "per-run": one codebook drawn once per run, shared by every trial; "per-trial": every Monte Carlo trial draws its own codebook (keyed by trial index, so independent of the batch split), given to the receiver as per-trial side information [B, L, N*Q] (the ensemble average over random pilots; detectors trained for one codebook refuse it)',
});
export type Redraw = Static<typeof Redraw>;

/**
 * Draws the codebook of one trial into row-major [L, K] host arrays (K = N*Q), from that trial's
 * generator.
 */
export type TrialCodebookDraw = (g: Generator, re: Float32Array, im: Float32Array) => void;

/**
 * A codebook drawn anew for every trial (`redraw: "per-trial"`): trial t's codebook S_t comes
 * from the generator of (`component`, t) of the encoder's random streams, so it is the same
 * whatever batch t falls in. `encode(traffic, trials)` sends a_n S_b[:, n*Q + m_n] in trial b;
 * `sideInformation(trials)` gives the receiver the same S_b as [B, L, N*Q]. The host draws of the
 * last batch are cached, so the usual encode-then-sideInformation of one batch draws once.
 */
export class PerTrialCodebook {
  private cache: { first: number; count: number; re: Float32Array; im: Float32Array } | undefined;

  constructor(
    private readonly plugin: string,
    private readonly component: string,
    private readonly random: RandomStreams,
    private readonly scenario: Scenario,
    private readonly draw: TrialCodebookDraw,
  ) {}

  /** [B, L, N*Q] complex: the codebooks of `trials` (a new tensor in the caller's scope). */
  codebooks(trials: TrialRange): ComplexTensor {
    const { re, im } = this.host(trials);
    const shape: [number, number, number] = [trials.count, this.scenario.sequenceLength, this.size()];
    return { re: tf.tensor3d(re, shape, 'float32'), im: tf.tensor3d(im, shape, 'float32') };
  }

  encode(traffic: TrafficSample, trials?: TrialRange): ComplexTensor {
    const range = this.required(trials, 'encode(traffic, trials)');
    if (traffic.activity.shape[0] !== range.count) throw new Error(`${this.plugin}: encode got ${traffic.activity.shape[0]} trials of traffic but trials.count = ${range.count}`);
    return cx.tidy(() => sendCodewords(this.codebooks(range), traffic, this.scenario));
  }

  /** Without `trials` there is no static codebook (the receiver gets it per batch). */
  sideInformation(trials?: TrialRange): SideInformation {
    return trials === undefined ? {} : { codebook: this.codebooks(trials) };
  }

  private size(): number {
    return this.scenario.numDevices * numSequences(this.scenario);
  }

  private required(trials: TrialRange | undefined, call: string): TrialRange {
    if (trials === undefined) {
      throw new Error(`${this.plugin} with redraw "per-trial" draws a codebook per trial and needs the batch's trials in ${call}; the caller passed none (use redraw "per-run", or a runner that passes trials)`);
    }
    return trials;
  }

  private host(trials: TrialRange): { re: Float32Array; im: Float32Array } {
    const c = this.cache;
    if (c !== undefined && c.first === trials.first && c.count === trials.count) return c;
    const per = this.scenario.sequenceLength * this.size();
    const re = new Float32Array(trials.count * per);
    const im = new Float32Array(trials.count * per);
    for (let b = 0; b < trials.count; b++) {
      this.draw(this.random.generator(this.component, trials.first + b), re.subarray(b * per, (b + 1) * per), im.subarray(b * per, (b + 1) * per));
    }
    this.cache = { first: trials.first, count: trials.count, re, im };
    return this.cache;
  }
}
