import * as tf from '@tensorflow/tfjs';
import { describePluginContract, type ContractOptions } from '@gfra/core/testing';
import { RandomStreams, type PluginClass } from '@gfra/core';
import { detectorPlugins } from './index';
import { ScmaMpaDetector } from './scma-mpa';
import { ExhaustiveMlDetector } from './exhaustive-ml';
import { CovarianceMlDetector } from './covariance-ml';
import { GroupLassoDetector } from './group-lasso';
import { GroupLassoUnfoldedDetector } from './group-lasso-unfolded';
import { AmpUnfoldedDetector } from './amp-unfolded';
import { MapUnfoldedDetector } from './map-unfolded';
import { CovarianceLassoDetector } from './covariance-lasso';
import { MmvAmpDetector } from './mmv-amp';
import { MatchedFilterDetector } from './matched-filter';
import { MmseSicDetector } from './mmse-sic';
import { OracleLsDetector } from './oracle-ls';
import { SicnnDetector } from './sicnn';
import { MulVaeDetector } from './mulvae';
import { E2eAutoencoderRxDetector } from './e2e-autoencoder-rx';
import { LmmseDetector } from './lmmse';
import { ScoreLangevinDetector } from './score-langevin';

/** Code-domain NOMA with QPSK spread by signatures: one antenna, J = 2. */
const NOMA = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };

/** Chirp signatures [L, N] (unit-norm columns), block fading [B, N, 1] and a true activity pattern. */
const nomaObservation: ContractOptions['observation'] = (s, batch) => {
  const phase = (k: number, n: number) => (Math.PI * k * k) / s.numDevices + (2 * Math.PI * k * n) / s.numDevices;
  const rows = (f: (x: number) => number) =>
    Array.from({ length: s.sequenceLength }, (_, k) => Array.from({ length: s.numDevices }, (_, n) => f(phase(k, n)) / Math.sqrt(s.sequenceLength)));
  return {
    signatures: { re: tf.tensor2d(rows(Math.cos)), im: tf.tensor2d(rows(Math.sin)) },
    channel: new RandomStreams(['contract-noma']).complexNormal({ first: 0, count: batch }, 'h', [s.numDevices, 1]),
    trueActivity: tf.tensor2d(Array.from({ length: batch }, (_, b) => Array.from({ length: s.numDevices }, (_, n) => ((b + n) % 2 === 0 ? 1 : 0)))),
  };
};

/** A sparse 6-user, 4-RE codebook with Q = 4 (random values on the 6x4 SCMA factor graph) and a per-resource channel. */
const scmaObservation: ContractOptions['observation'] = (s, batch) => {
  const { numDevices: N, sequenceLength: L, numAntennas: M } = s;
  const Q = 2 ** s.bitsPerDevice;
  const users = [[1, 2, 4], [0, 2, 5], [1, 3, 5], [0, 3, 4]]; // users on RE l
  const mask = tf.tensor2d(users.map((on) => Array.from({ length: N * Q }, (_, k) => (on.includes(Math.floor(k / Q)) ? 1 : 0))));
  const rnd = new RandomStreams(['contract-scma']);
  const c = rnd.complexNormalOnce('codebook', [L, N * Q], 0.5);
  const channel = rnd.complexNormal({ first: 0, count: batch }, 'h', [N, L, M]);
  return { codebook: { re: tf.mul(c.re, mask), im: tf.mul(c.im, mask) }, channel, noiseVar: 0.1 };
};

/** The contract's tiny scenario with one pilot per device (Q = 1). */
const ONE_PILOT = { numDevices: 6, numAntennas: 2, sequenceLength: 4, bitsPerDevice: 0 };

/** Plugins whose tiny forward pass needs its own options (the others use the contract defaults). */
const OPTIONS = new Map<PluginClass, ContractOptions>([
  [ScmaMpaDetector, { scenario: { numDevices: 6, numAntennas: 2, sequenceLength: 4, bitsPerDevice: 2 }, observation: scmaObservation }],
  [GroupLassoDetector, { scenario: ONE_PILOT, params: { iterations: 20 } }],
  [GroupLassoUnfoldedDetector, { scenario: ONE_PILOT, params: { blocks: 5, residual: false } }],
  [AmpUnfoldedDetector, { scenario: ONE_PILOT, params: { blocks: 3, residual: false } }],
  [MapUnfoldedDetector, { scenario: ONE_PILOT, params: { sweeps: 2 } }],
  [CovarianceLassoDetector, { scenario: ONE_PILOT, params: { sweeps: 20 } }],
  [MatchedFilterDetector, { scenario: NOMA, observation: nomaObservation }],
  [MmseSicDetector, { scenario: NOMA, observation: nomaObservation }],
  [OracleLsDetector, { scenario: NOMA, observation: nomaObservation }],
  [LmmseDetector, { scenario: ONE_PILOT }],
  [ScoreLangevinDetector, { scenario: ONE_PILOT, params: { sampler: { levels: { count: 10 }, stepsPerLevel: 2 } } }],
  [SicnnDetector, { scenario: NOMA, params: { hidden: [16, 16] }, observation: nomaObservation }],
]);

for (const plugin of detectorPlugins) describePluginContract(plugin, OPTIONS.get(plugin));

// Second configurations of the pilot-based detectors: exhaustive-ml as a coherent oracle over a
// per-resource channel [B, N, L, M], and covariance-ml's batched float32 path.
describePluginContract(ExhaustiveMlDetector, {
  params: { model: 'coherent' },
  observation: (s, batch) => ({ channel: new RandomStreams(['contract-coherent']).complexNormal({ first: 0, count: batch }, 'h', [s.numDevices, s.sequenceLength, s.numAntennas]) }),
});
describePluginContract(CovarianceMlDetector, { params: { precision: 'float32', sweeps: 3 } });
describePluginContract(GroupLassoDetector, { scenario: ONE_PILOT, params: { solver: 'bcd', iterations: 5, threshold: { rule: 'fixed', value: 0.2 } } });
describePluginContract(MmvAmpDetector, { params: { damping: 0.3 } });

// Mul-VAE's setting: rates (1, 1, 1, 2, 2, 2) bits on 4 REs, one antenna, per-resource channel [B, N, L, 1].
const MULTI_RATE = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2, deviceBits: [1, 1, 1, 2, 2, 2] };
const perResource: ContractOptions['observation'] = (s, batch) => ({
  channel: new RandomStreams(['contract-per-resource']).complexNormal({ first: 0, count: batch }, 'h', [s.numDevices, s.sequenceLength, s.numAntennas]),
});
describePluginContract(MulVaeDetector, { scenario: MULTI_RATE, params: { hiddenPerBlock: 2 }, observation: perResource });
describePluginContract(E2eAutoencoderRxDetector, { scenario: MULTI_RATE, params: { hidden: 2 }, observation: perResource });
