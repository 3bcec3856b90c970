import * as tf from '@tensorflow/tfjs';
import type { TrafficSample } from '../plugin';
import type { RandomStreams, TrialRange } from '../rng';

/**
 * Pack a host activity array [B * N] into a {@link TrafficSample}: each active device's message is
 * drawn uniformly from [0, Q) on the `message` stream (per trial, so batching does not matter),
 * inactive devices get message 0.
 */
export function sampleWithMessages(random: RandomStreams, trials: TrialRange, activity: Float32Array, N: number, Q: number): TrafficSample {
  const message = Int32Array.from(random.fill(trials, 'message', [N], (g) => g.integer(Q)));
  for (let i = 0; i < activity.length; i++) if (activity[i] === 0) message[i] = 0;
  return {
    activity: tf.tensor2d(activity, [trials.count, N], 'float32'),
    message: tf.tensor2d(message, [trials.count, N], 'int32'),
  };
}
