/**
 * Baselines of Z. Ma, W. Wu, F. Gao, X. Shen, "Model-driven deep learning for non-coherent massive
 * machine-type communications" (DL-mAMPnet), statistically (fixed seeds): the AMP-based joint
 * activity and data detector (mmv-amp with the paper's threshold (37), "large-m") has a per-device
 * SER (wrong activity or wrong message, Sec. V) that falls with the pilot length L and with the
 * number of antennas M, in the paper's near-far setting (per-device SNR spread over 3.9 ... 51.7 dB:
 * 23 dBm transmit power over the paper's path-loss range), and on a tiny system its block error
 * rate is no better than exhaustive joint MAP's and better than that of declaring nobody active
 * (pilot-oracle.test.ts does the same with the "map" threshold).
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import type { Scenario } from '@gfra/core';
import { ExhaustiveMlDetector } from './exhaustive-ml';
import { MmvAmpDetector } from './mmv-amp';
import { synthetic } from './testing/synthetic';

/** SER and its standard error over B trials x N devices. */
function ampSer(scenario: Scenario, trials: number, key: string): { ser: number; se: number } {
  const data = synthetic({ scenario, trials, activityProb: 0.1, snrDb: [3.9, 51.65], key });
  const det = new MmvAmpDetector({ maxIterations: 50, noiseEstimate: 'residual', onsager: 'matrix', threshold: { rule: 'large-m' } }, scenario);
  const [a, m] = tf.tidy(() => {
    const est = det.detect(data.observation());
    return [est.activity?.arraySync() as number[][], est.message?.arraySync() as number[][]];
  });
  let errors = 0;
  data.activity.forEach((row, b) =>
    row.forEach((on, n) => {
      if (a[b][n] !== on || (on === 1 && m[b][n] !== data.message[b][n])) errors += 1;
    }),
  );
  const count = trials * scenario.numDevices;
  const ser = errors / count;
  return { ser, se: Math.sqrt(Math.max(ser * (1 - ser), 1 / count) / count) };
}

describe('DL-mAMPnet baseline: AMP-based joint detector, SER against L and M (statistical)', () => {
  it('SER falls with L (N = 40, J = 1, M = 8: L = 12 -> 32), beyond 3 standard errors', () => {
    const short = ampSer({ numDevices: 40, numAntennas: 8, sequenceLength: 12, bitsPerDevice: 1 }, 300, 'ser-L');
    const long = ampSer({ numDevices: 40, numAntennas: 8, sequenceLength: 32, bitsPerDevice: 1 }, 300, 'ser-L');
    expect(short.ser - long.ser, `SER ${short.ser} (L = 12) vs ${long.ser} (L = 32)`).to.be.above(3 * Math.hypot(short.se, long.se));
    expect(short.ser, 'below the all-inactive SER eps').to.be.below(0.1);
  });

  it('SER falls with M (N = 40, J = 1, L = 20: M = 4 -> 16), beyond 3 standard errors', () => {
    const few = ampSer({ numDevices: 40, numAntennas: 4, sequenceLength: 20, bitsPerDevice: 1 }, 300, 'ser-M');
    const many = ampSer({ numDevices: 40, numAntennas: 16, sequenceLength: 20, bitsPerDevice: 1 }, 300, 'ser-M');
    expect(few.ser - many.ser, `SER ${few.ser} (M = 4) vs ${many.ser} (M = 16)`).to.be.above(3 * Math.hypot(few.se, many.se));
  });

  it('tiny case (N = 5, L = 4, M = 4, J = 1, SNR 5 ... 15 dB): block error rate no better than exhaustive joint MAP (paired, 3 SE), better than the all-inactive guess (paired, 5 SE)', () => {
    const scenario: Scenario = { numDevices: 5, numAntennas: 4, sequenceLength: 4, bitsPerDevice: 1 };
    const B = 400;
    const data = synthetic({ scenario, trials: B, activityProb: 0.2, snrDb: [5, 15], key: 'ser-map' });
    const amp = new MmvAmpDetector({ maxIterations: 50, noiseEstimate: 'residual', onsager: 'matrix', threshold: { rule: 'large-m' } }, scenario);
    const map = new ExhaustiveMlDetector({ model: 'noncoherent', criterion: 'map', activity: 'unknown', maxHypotheses: 4096 }, scenario);
    const blockErrors = (det: MmvAmpDetector | ExhaustiveMlDetector) =>
      tf.tidy(() => {
        const est = det.detect(data.observation());
        const a = est.activity?.arraySync() as number[][];
        const m = est.message?.arraySync() as number[][];
        return data.activity.map((row, b) => (row.some((on, n) => a[b][n] !== on || (on === 1 && m[b][n] !== data.message[b][n])) ? 1 : 0));
      });
    const eAmp = blockErrors(amp);
    const eMap = blockErrors(map);
    const d = eAmp.map((v, b) => v - eMap[b]);
    const mean = d.reduce((s, v) => s + v, 0) / B;
    const sd = Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / (B - 1));
    const rate = (e: number[]) => e.reduce((s, v) => s + v, 0) / B;
    expect(mean, `block error AMP ${rate(eAmp)} vs MAP ${rate(eMap)}`).to.be.at.least(-3 * (sd / Math.sqrt(B)));
    expect(rate(eMap), 'MAP makes errors here (a meaningful comparison)').to.be.above(0.02);
    // From the other side: the trivial detector that declares nobody active errs exactly in the
    // blocks with an active device; AMP's paired advantage over it must exceed 5 standard errors.
    const eNone = data.activity.map((row) => (row.some((on) => on === 1) ? 1 : 0));
    const g = eNone.map((v, b) => v - eAmp[b]);
    const gMean = g.reduce((s, v) => s + v, 0) / B;
    const gSd = Math.sqrt(g.reduce((s, v) => s + (v - gMean) ** 2, 0) / (B - 1));
    expect(gMean, `block error AMP ${rate(eAmp)} vs all-inactive ${rate(eNone)}`).to.be.above(5 * (gSd / Math.sqrt(B)));
  });
});
