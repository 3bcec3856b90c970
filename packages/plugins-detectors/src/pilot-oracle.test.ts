/**
 * The iterative pilot-based detectors against the exhaustive joint MAP oracle on tiny systems
 * (fixed seeds): the same decisions in the high-SNR limit, and never a lower block error rate
 * than the MAP decision at moderate SNR (the joint MAP decision minimises the probability that
 * any device of the block is wrong, given exactly the side information the others use).
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { RandomStreams, type Detector, type Scenario } from '@gfra/core';
import { CovarianceMlDetector } from './covariance-ml';
import { ExhaustiveMlDetector } from './exhaustive-ml';
import { MmvAmpDetector } from './mmv-amp';
import { synthetic, type SyntheticBatch } from './testing/synthetic';

function detectors(scenario: Scenario): Record<'map' | 'amp' | 'cov', Detector> {
  return {
    map: new ExhaustiveMlDetector({ model: 'noncoherent', criterion: 'map', activity: 'unknown', maxHypotheses: 4096 }, scenario),
    amp: new MmvAmpDetector({ maxIterations: 30, noiseEstimate: 'residual', onsager: 'matrix', threshold: { rule: 'map' } }, scenario),
    cov: new CovarianceMlDetector({ sweeps: 20, order: 'random', threshold: { rule: 'beta', fraction: 0.5 }, precision: 'float64', objective: 'ml' }, scenario, new RandomStreams(['oracle'])),
  };
}

/** Per trial: the decision as a string ("-" inactive, else the message) and whether the block is wrong. */
function decide(det: Detector, data: SyntheticBatch): { decisions: string[]; blockError: number[] } {
  return tf.tidy(() => {
    const est = det.detect(data.observation());
    const a = est.activity?.arraySync() as number[][];
    const m = est.message?.arraySync() as number[][];
    const decisions = a.map((row, b) => row.map((on, n) => (on ? String(m[b][n]) : '-')).join(''));
    const truth = data.activity.map((row, b) => row.map((on, n) => (on ? String(data.message[b][n]) : '-')).join(''));
    return { decisions, blockError: decisions.map((d, b) => (d === truth[b] ? 0 : 1)) };
  });
}

describe('pilot-based detectors vs exhaustive MAP (tiny systems)', () => {
  const highSnr: [string, Scenario, ('amp' | 'cov')[]][] = [
    ['N = 8, L = 6, M = 32, J = 0 (L < N: covariance)', { numDevices: 8, numAntennas: 32, sequenceLength: 6, bitsPerDevice: 0 }, ['cov']],
    ['N = 8, L = 12, M = 32, J = 0', { numDevices: 8, numAntennas: 32, sequenceLength: 12, bitsPerDevice: 0 }, ['amp', 'cov']],
    ['N = 6, L = 12, M = 32, J = 1', { numDevices: 6, numAntennas: 32, sequenceLength: 12, bitsPerDevice: 1 }, ['amp', 'cov']],
  ];
  for (const [label, scenario, which] of highSnr) {
    it(`30 dB, ${label}: ${which.join(' and ')} decide exactly as exhaustive MAP in all 150 trials`, () => {
      const data = synthetic({ scenario, trials: 150, activityProb: 0.2, snrDb: 30, key: `high-${label}` });
      const dets = detectors(scenario);
      const oracle = decide(dets.map, data);
      expect(oracle.blockError.reduce((a, b) => a + b, 0), 'MAP itself is error-free here').to.equal(0);
      for (const name of which) expect(decide(dets[name], data).decisions, name).to.deep.equal(oracle.decisions);
    });
  }

  const moderate: [string, Scenario, number][] = [
    ['N = 6, L = 4, M = 4, J = 1, 10 dB', { numDevices: 6, numAntennas: 4, sequenceLength: 4, bitsPerDevice: 1 }, 10],
    ['N = 6, L = 4, M = 8, J = 0, 5 dB', { numDevices: 6, numAntennas: 8, sequenceLength: 4, bitsPerDevice: 0 }, 5],
  ];
  for (const [label, scenario, snrDb] of moderate) {
    it(`${label}: block error rates of mmv-amp and covariance-ml are no better than MAP's (paired, 3 SE)`, () => {
      const B = 300;
      const data = synthetic({ scenario, trials: B, activityProb: 0.3, snrDb, key: `moderate-${label}` });
      const dets = detectors(scenario);
      const oracle = decide(dets.map, data).blockError;
      for (const name of ['amp', 'cov'] as const) {
        const e = decide(dets[name], data).blockError;
        // paired differences d_b = e_b - e_MAP,b: E d >= 0 by optimality of MAP; fail only if the
        // mean is below zero by more than 3 standard errors of the paired mean.
        const d = e.map((v, b) => v - oracle[b]);
        const mean = d.reduce((a, v) => a + v, 0) / B;
        const sd = Math.sqrt(d.reduce((a, v) => a + (v - mean) ** 2, 0) / (B - 1));
        expect(mean, `${name}: block error ${e.reduce((a, v) => a + v, 0) / B} vs MAP ${oracle.reduce((a, v) => a + v, 0) / B}`).to.be.at.least(
          -3 * (sd / Math.sqrt(B)),
        );
      }
    });
  }
});
