/**
 * Throughput of the pilot-based detectors (trials per second), reported as ratios against the
 * matched-filter energy detector measured in the same run, so that numbers from different
 * machines and loads can be compared.
 *
 * Workload (stated in the output): N = 100 devices, eps = 0.1, L = 40, M = 16, J = 0, path-loss
 * large-scale fading with the defaults of `path-loss-rayleigh` (d ~ U[0.05, 1] km: SNR 3.9 to
 * 52.8 dB, one fixed geometry), unit-norm Gaussian pilots, batches of 200 trials, every detector
 * with its default parameters (mmv-amp: 50 iterations, matrix Onsager; covariance-ml: 50 sweeps,
 * float64; also its float32 tfjs variant). Each detector is warmed up on 4 trials, then timed on
 * whole batches for at least 3 s (at least one batch); `--quick` times exactly one batch.
 *
 * Usage: pnpm bench [--quick] [--backend wasm|cpu|tensorflow]
 */
import * as tf from '@tensorflow/tfjs';
import { Generator, RandomStreams, selectBackend, type BackendChoice, type Detector, type Scenario } from '@gfra/core';
import { CorrelationEnergyDetector } from '../src/correlation-energy';
import { CovarianceMlDetector } from '../src/covariance-ml';
import { MmvAmpDetector } from '../src/mmv-amp';
import { synthetic } from '../src/testing/synthetic';

interface Row {
  readonly name: string;
  readonly trialsPerSecond: number;
}

function pathLossBeta(N: number): number[] {
  // SNR_n = 23 dBm - (128.1 + 37.6 log10 d) - (-169 dBm/Hz + 60 dB-Hz) = 3.9 - 37.6 log10(d / km)
  const g = Generator.fromKey(['bench-geometry']);
  return Array.from({ length: N }, () => 10 ** ((3.9 - 37.6 * Math.log10(0.05 + 0.95 * g.uniform())) / 10));
}

type Observe = () => ReturnType<ReturnType<typeof synthetic>['observation']>;

/** Trials per second of `det` on batches from `observe`, after a warm-up on a small batch. */
function time(det: Detector, warmUp: Observe, observe: Observe, batch: number, minBatches: number, minSeconds: number): number {
  tf.tidy(() => {
    det.detect(warmUp()).activity?.dataSync();
  });
  let batches = 0;
  const t0 = performance.now();
  while (batches < minBatches || performance.now() - t0 < minSeconds * 1000) {
    tf.tidy(() => {
      const est = det.detect(observe());
      est.activity?.dataSync();
    });
    batches += 1;
  }
  return (batches * batch) / ((performance.now() - t0) / 1000);
}

export async function main(argv: string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const backendAt = argv.indexOf('--backend');
  const backend = await selectBackend((backendAt >= 0 ? argv[backendAt + 1] : 'wasm') as BackendChoice);
  const scenario: Scenario = { numDevices: 100, numAntennas: 16, sequenceLength: 40, bitsPerDevice: 0 };
  const B = 200;
  const data = synthetic({ scenario, trials: B, activityProb: 0.1, snrDb: 0, beta: pathLossBeta(100), key: 'bench' });
  const warm = synthetic({ scenario, trials: 4, activityProb: 0.1, snrDb: 0, beta: pathLossBeta(100), key: 'bench-warm-up' });
  const observe = () => data.observation();
  const warmUp = () => warm.observation();
  const [minBatches, minSeconds] = quick ? [1, 0] : [1, 3];
  const detectors: [string, Detector][] = [
    ['correlation-energy', new CorrelationEnergyDetector({ threshold: { rule: 'false-alarm', falseAlarm: 0.01 }, noiseLevel: 'estimated' }, scenario)],
    ['mmv-amp', new MmvAmpDetector({ maxIterations: 50, noiseEstimate: 'residual', onsager: 'matrix', threshold: { rule: 'map' } }, scenario)],
    [
      'covariance-ml',
      new CovarianceMlDetector({ sweeps: 50, order: 'random', threshold: { rule: 'beta', fraction: 0.5 }, precision: 'float64', objective: 'ml' }, scenario, new RandomStreams(['bench'])),
    ],
    [
      'covariance-ml (float32)',
      new CovarianceMlDetector({ sweeps: 50, order: 'random', threshold: { rule: 'beta', fraction: 0.5 }, precision: 'float32', objective: 'ml' }, scenario, new RandomStreams(['bench'])),
    ],
  ];
  console.log(`pilot-based detectors, backend ${backend.backend}: N = 100, eps = 0.1, L = 40, M = 16, J = 0, path loss (SNR 3.9..52.8 dB), batches of ${B} trials`);
  const rows: Row[] = [];
  for (const [name, det] of detectors) {
    rows.push({ name, trialsPerSecond: time(det, warmUp, observe, B, minBatches, minSeconds) });
    console.log(`  ${name.padEnd(24)} ${rows[rows.length - 1].trialsPerSecond.toPrecision(3).padStart(8)} trials/s`);
  }
  const reference = rows[0].trialsPerSecond;
  console.log('\nrelative to correlation-energy in this run (trials/s ratio; cost = its inverse):');
  for (const r of rows.slice(1)) {
    const ratio = r.trialsPerSecond / reference;
    console.log(`  ${r.name.padEnd(24)} ${ratio.toExponential(2)} x   (${(1 / ratio).toPrecision(3)} times the cost of correlation-energy)`);
  }
  return 0;
}
