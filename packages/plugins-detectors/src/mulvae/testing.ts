/**
 * Test helpers of the Mul-VAE and E2E receivers: a tiny synthetic multi-rate NOMA problem with
 * fixed codewords, and a short Adam training loop on a plugin's own loss (as the generic trainer
 * runs it: detect, then loss on the same observation).
 */
import * as tf from '@tensorflow/tfjs';
import { RandomStreams, type ComplexTensor, type Observation, type Scenario, type TrainingBatch } from '@gfra/core';
import type { MulVaeDetector } from './index';
import type { E2eAutoencoderRxDetector } from '../e2e-autoencoder-rx';

/** N = 3 users on L = 2 REs, one antenna, rates (1, 1, 2) bits. */
export const S3: Scenario = { numDevices: 3, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 2, deviceBits: [1, 1, 2] };

export function disposeAll(x: unknown): void {
  if (x instanceof tf.Tensor) x.dispose();
  else if (Array.isArray(x)) x.forEach(disposeAll);
  else if (x !== null && typeof x === 'object') Object.values(x).forEach(disposeAll);
}

/** Fixed codewords x_{n,q} [L] (complex), average energy 1 per device over its Q_n messages. */
export function codewords(s: Scenario, key: string): { re: number; im: number }[][][] {
  const g = new RandomStreams([key]).onceGenerator('codewords');
  const Qs = (s.deviceBits ?? Array<number>(s.numDevices).fill(s.bitsPerDevice)).map((j) => 2 ** j);
  return Qs.map((Q) => {
    const words = Array.from({ length: Q }, () => Array.from({ length: s.sequenceLength }, () => ({ re: g.normal(), im: g.normal() })));
    const energy = words.flat().reduce((e, v) => e + v.re * v.re + v.im * v.im, 0) / Q;
    return words.map((w) => w.map((v) => ({ re: v.re / Math.sqrt(energy), im: v.im / Math.sqrt(energy) })));
  });
}

/**
 * A synthetic batch y = sum_n diag(h_n) x_n(m_n) + CN(0, noiseVar I): uniform messages m_n in
 * [0, Q_n), h = 1 (AWGN) or i.i.d. CN(0, 1) per user and RE; channel state [B, N, L, 1].
 */
export function batch(s: Scenario, words: ReturnType<typeof codewords>, B: number, seed: string, opts: { noiseVar: number; fading: boolean }) {
  const g = new RandomStreams([seed]).onceGenerator('batch');
  const { numDevices: N, sequenceLength: L } = s;
  const message = new Int32Array(B * N);
  const hre = new Float32Array(B * N * L).fill(1);
  const him = new Float32Array(B * N * L);
  const yre = new Float32Array(B * L);
  const yim = new Float32Array(B * L);
  const sd = Math.sqrt(opts.noiseVar / 2);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      const m = Math.floor(g.uniform() * words[n].length);
      message[b * N + n] = m;
      for (let l = 0; l < L; l++) {
        const i = (b * N + n) * L + l;
        if (opts.fading) {
          hre[i] = g.normal() * Math.SQRT1_2;
          him[i] = g.normal() * Math.SQRT1_2;
        }
        const x = words[n][m][l];
        yre[b * L + l] += hre[i] * x.re - him[i] * x.im;
        yim[b * L + l] += hre[i] * x.im + him[i] * x.re;
      }
    }
    for (let l = 0; l < L; l++) {
      yre[b * L + l] += sd * g.normal();
      yim[b * L + l] += sd * g.normal();
    }
  }
  const observation: Observation & { readonly channel: ComplexTensor } = {
    y: { re: tf.tensor3d(yre, [B, L, 1]), im: tf.tensor3d(yim, [B, L, 1]) },
    channel: { re: tf.tensor4d(hre, [B, N, L, 1]), im: tf.tensor4d(him, [B, N, L, 1]) },
    noiseVar: opts.noiseVar,
  };
  return { observation, message: tf.tensor2d(message, [B, N], 'int32') };
}

export type Trainee = (MulVaeDetector | E2eAutoencoderRxDetector) & { setTraining(t: boolean): void };

/** The plugin loss of one forward pass (detect, then loss on the same observation), as a trainer runs it. */
export function lossOf(det: Trainee, data: ReturnType<typeof batch>): tf.Scalar {
  const estimate = det.detect(data.observation);
  return det.loss({ observation: data.observation, estimate, truth: { message: data.message } } as unknown as TrainingBatch);
}

/** Adam on the plugin loss over fresh batches; returns the mean loss of the first and last 5 steps. */
export function train(det: Trainee, s: Scenario, words: ReturnType<typeof codewords>, steps: number, opts: { noiseVar: number; fading: boolean; lr: number }): { first: number; last: number } {
  const optimizer = tf.train.adam(opts.lr);
  const vars = Object.values(det.trainableVariables());
  const losses: number[] = [];
  det.setTraining(true);
  for (let t = 0; t < steps; t++) {
    const data = batch(s, words, 128, `train-${t}`, opts);
    const value = optimizer.minimize(() => lossOf(det, data), true, vars);
    losses.push(value?.dataSync()[0] ?? NaN);
    value?.dispose();
    disposeAll(data);
  }
  det.setTraining(false);
  optimizer.dispose();
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { first: mean(losses.slice(0, 5)), last: mean(losses.slice(-5)) };
}

