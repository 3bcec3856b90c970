/**
 * gfra's classical receivers beside numpy implementations of the same algorithms
 * (bench/numpy/*.py), same workloads, one thread each (gfra's host kernels call OpenBLAS pinned
 * to one thread; the numpy child runs with OMP/OPENBLAS/MKL_NUM_THREADS = 1), in one invocation;
 * printed as trials/s and the ratio gfra / numpy (> 1: gfra faster).
 *
 * Workloads (unit-norm complex Gaussian pilots, sigma^2 = 1, beta_n from the path-loss geometry
 * of pilot-detectors.bench.ts, d ~ U[0.05, 1] km: SNR 3.9 .. 52.8 dB, one fixed geometry; activity
 * Bernoulli(eps) per device and trial, as `testing/synthetic.ts` draws it, not exactly eps N):
 *   - mmv-amp, default parameters (50 iterations, residual tau^2, matrix Onsager, MAP threshold,
 *     no damping), N = 200, eps = 0.1, batches of 100: (M, L) = (4, 30), (8, 30), (4, 40), each
 *     with one codebook per run [L, N] and with one codebook per trial [B, L, N] (the encoders'
 *     redraw "per-trial").
 *   - scma-mpa, the 6x4 SCMA codebook (J = 2), log-MPA, 10 iterations, M = 1, per-resource
 *     Rayleigh CN(0, 1), sigma^2 = 0.1, batches of 1000.
 *   - covariance-ml, default parameters (float64 host path, 50 random-order sweeps, threshold
 *     beta / 2), N = 100, eps = 0.1, M = 16, L = 20, batches of 100, one codebook per run and one
 *     per trial; numpy batches each coordinate step over the trials.
 * Each side: a warm-up batch, then a timed loop of whole batches of at least 2 s (at least one
 * batch), the two sides in turn, 3 rounds (`--quick`: 1): gfra, numpy, gfra, numpy, ... so that
 * each ratio compares runs seconds apart (this machine's speed drifts by tens of percent within an
 * hour, and runs of one side back to back gave ratios that moved with it). The table shows each
 * side's median and the median of the rounds' ratios, with every run beside them. gfra's inputs are
 * built once and reused by every batch (the timing is detect() plus the readback of its
 * decisions); numpy draws its own inputs with the same distributions (seeded), outside the timing.
 *
 * Before the timings, a cross-check feeds the same inputs (gfra's tensors, written to a temporary
 * JSON file) to both sides and prints the largest disagreement of the outputs: mmv-amp (LLR scores
 * and channel estimates, both codebook modes, N = 200, L = 30, M = 4, 50 iterations, 8 trials),
 * scma-mpa (bit LLRs) and covariance-ml (gamma, with gfra's coordinate orders, both codebook modes).
 *
 * numpy's allocator: by default the child runs with glibc's own malloc settings, as a user runs
 * numpy. `--numpy-malloc tuned` sets MALLOC_MMAP_THRESHOLD_ = 32 MiB and MALLOC_TRIM_THRESHOLD_ =
 * 64 MiB for it (no mmap per temporary array, no heap trimming). On gfra's 2-core tuning machine
 * (numpy 2.4; two invocations minutes apart) that made the scma-mpa baseline 3.2 to 3.5 times as
 * fast (its batch's temporaries are otherwise fresh pages each time), mmv-amp's 1.0 to 1.3 times,
 * covariance-ml's not measurably. gfra's own side is the same either way (it fixes its thresholds
 * at 128 KiB, as `gfra run` does).
 *
 * Usage: pnpm bench -- --numpy [--quick] [--no-check] [--only TEXT] [--python PATH] [--numpy-malloc default|tuned]
 * (`--only TEXT`: just the workloads whose name contains TEXT.)
 * Python: --python, else the first of `python3`, `/usr/bin/python3` that imports numpy; with
 * none, gfra's figures are printed alone.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { blas, fixNativeMmapThreshold, Generator, RandomStreams, selectBackend, type ComplexTensor, type Detector, type Estimate, type Observation, type Scenario } from '@gfra/core';
import { randomOrders } from '../src/algorithms/covariance';
import { CovarianceMlDetector, type CovarianceMlParams } from '../src/covariance-ml';
import { MmvAmpDetector, type MmvAmpParams } from '../src/mmv-amp';
import { ScmaMpaDetector } from '../src/scma-mpa';
import { scma6x4 } from '../src/testing/scma-reference';

const DRIVER = path.join(__dirname, 'numpy', 'driver.py');
const MIN_SECONDS = 2;
const NOISE_VAR = 1;
const SCMA_NOISE_VAR = 0.1;

const MMV_AMP_PARAMS: MmvAmpParams = { maxIterations: 50, noiseEstimate: 'residual', onsager: 'matrix', threshold: { rule: 'map' } };
const COVARIANCE_PARAMS: CovarianceMlParams = { sweeps: 50, order: 'random', threshold: { rule: 'beta', fraction: 0.5 }, precision: 'float64', objective: 'ml' };

/** beta_n of the path-loss geometry of pilot-detectors.bench.ts (its first N draws). */
function pathLossBeta(N: number): number[] {
  const g = Generator.fromKey(['bench-geometry']);
  return Array.from({ length: N }, () => 10 ** ((3.9 - 37.6 * Math.log10(0.05 + 0.95 * g.uniform())) / 10));
}

// ---------------------------------------------------------------------------------------------
// Inputs (host draws, float64, then float32 tensors)
// ---------------------------------------------------------------------------------------------

interface PilotWorkload {
  readonly N: number;
  readonly L: number;
  readonly M: number;
  readonly eps: number;
  readonly perTrial: boolean;
}

/**
 * A batch Y = S X + W: unit-norm CN columns of S (one [L, N] codebook, or one per trial
 * [B, L, N]), rows of X a_n h_n^T with a_n ~ Bernoulli(eps), h_n ~ CN(0, beta_n I_M), W ~ CN(0, sigma^2).
 */
function pilotObservation(w: PilotWorkload, B: number, beta: readonly number[], key: string): Observation {
  const { N, L, M, eps } = w;
  const g = Generator.fromKey(['numpy-baselines', key]);
  const books = w.perTrial ? B : 1;
  const sRe = new Float32Array(books * L * N);
  const sIm = new Float32Array(books * L * N);
  for (let t = 0; t < books; t++) {
    for (let n = 0; n < N; n++) {
      const re = Array.from({ length: L }, () => g.normal());
      const im = Array.from({ length: L }, () => g.normal());
      const norm = Math.sqrt(re.reduce((a, v, l) => a + v * v + im[l] * im[l], 0));
      for (let l = 0; l < L; l++) {
        sRe[(t * L + l) * N + n] = re[l] / norm;
        sIm[(t * L + l) * N + n] = im[l] / norm;
      }
    }
  }
  const yRe = new Float32Array(B * L * M);
  const yIm = new Float32Array(B * L * M);
  const ns = Math.sqrt(NOISE_VAR / 2);
  for (let b = 0; b < B; b++) {
    const off = w.perTrial ? b * L * N : 0;
    const acc = { re: new Float64Array(L * M), im: new Float64Array(L * M) };
    for (let i = 0; i < L * M; i++) {
      acc.re[i] = ns * g.normal();
      acc.im[i] = ns * g.normal();
    }
    for (let n = 0; n < N; n++) {
      const active = g.uniform() < eps;
      const s = Math.sqrt(beta[n] / 2);
      const hr = Array.from({ length: M }, () => s * g.normal());
      const hi = Array.from({ length: M }, () => s * g.normal());
      if (!active) continue;
      for (let l = 0; l < L; l++) {
        const pr = sRe[off + l * N + n];
        const pi = sIm[off + l * N + n];
        for (let m = 0; m < M; m++) {
          acc.re[l * M + m] += pr * hr[m] - pi * hi[m];
          acc.im[l * M + m] += pr * hi[m] + pi * hr[m];
        }
      }
    }
    yRe.set(acc.re, b * L * M);
    yIm.set(acc.im, b * L * M);
  }
  const cbShape = w.perTrial ? [B, L, N] : [L, N];
  return {
    y: { re: tf.tensor3d(yRe, [B, L, M]), im: tf.tensor3d(yIm, [B, L, M]) },
    codebook: { re: tf.tensor(sRe, cbShape), im: tf.tensor(sIm, cbShape) },
    noiseVar: NOISE_VAR,
    largeScaleFading: tf.tensor2d(Array.from({ length: B }, () => beta).flat(), [B, N]),
    activityProbability: tf.fill([N], eps) as tf.Tensor1D,
  };
}

const SCMA_SCENARIO: Scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };

/** SCMA 6x4: uniform messages, per-resource Rayleigh h[b, n, l, m] ~ CN(0, 1), noise CN(0, sigma^2). */
function scmaObservation(B: number, key: string): Observation {
  const book = scma6x4();
  const { numDevices: N, numAntennas: M, sequenceLength: L } = SCMA_SCENARIO;
  const Q = 4;
  const g = Generator.fromKey(['numpy-baselines', 'scma', key]);
  const cn = (v: number): [number, number] => [Math.sqrt(v / 2) * g.normal(), Math.sqrt(v / 2) * g.normal()];
  const hRe = new Float32Array(B * N * L * M);
  const hIm = new Float32Array(B * N * L * M);
  const yRe = new Float32Array(B * L * M);
  const yIm = new Float32Array(B * L * M);
  for (let b = 0; b < B; b++) {
    const msg = Array.from({ length: N }, () => g.integer(Q));
    for (let i = 0; i < N * L * M; i++) [hRe[b * N * L * M + i], hIm[b * N * L * M + i]] = cn(1);
    for (let l = 0; l < L; l++) {
      for (let m = 0; m < M; m++) {
        let [re, im] = cn(SCMA_NOISE_VAR);
        for (let n = 0; n < N; n++) {
          const [xr, xi] = book[n][msg[n]][l];
          const k = ((b * N + n) * L + l) * M + m;
          re += hRe[k] * xr - hIm[k] * xi;
          im += hRe[k] * xi + hIm[k] * xr;
        }
        yRe[(b * L + l) * M + m] = re;
        yIm[(b * L + l) * M + m] = im;
      }
    }
  }
  const cbRe = Array.from({ length: L }, (_, l) => Array.from({ length: N * Q }, (_, k) => book[Math.floor(k / Q)][k % Q][l][0]));
  const cbIm = Array.from({ length: L }, (_, l) => Array.from({ length: N * Q }, (_, k) => book[Math.floor(k / Q)][k % Q][l][1]));
  return {
    y: { re: tf.tensor3d(yRe, [B, L, M]), im: tf.tensor3d(yIm, [B, L, M]) },
    codebook: { re: tf.tensor2d(cbRe), im: tf.tensor2d(cbIm) },
    channel: { re: tf.tensor4d(hRe, [B, N, L, M]), im: tf.tensor4d(hIm, [B, N, L, M]) },
    noiseVar: SCMA_NOISE_VAR,
  };
}

function disposeObservation(obs: Observation): void {
  const ts: tf.Tensor[] = [obs.y.re, obs.y.im];
  for (const c of [obs.codebook, obs.channel]) if (c !== undefined) ts.push(c.re, c.im);
  if (obs.largeScaleFading !== undefined) ts.push(obs.largeScaleFading);
  if (obs.activityProbability !== undefined) ts.push(obs.activityProbability);
  tf.dispose(ts);
}

// ---------------------------------------------------------------------------------------------
// Python
// ---------------------------------------------------------------------------------------------

const CHILD_ENV: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1' };
/** glibc malloc settings of `--numpy-malloc tuned` (see the module comment). */
const TUNED_MALLOC = { MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024), MALLOC_TRIM_THRESHOLD_: String(64 * 1024 * 1024) };

/** The first interpreter that imports numpy, or undefined (with the reasons). */
function findPython(explicit: string | undefined): { python?: string; tried: string[] } {
  const tried: string[] = [];
  for (const cand of explicit !== undefined ? [explicit] : ['python3', '/usr/bin/python3']) {
    const r = spawnSync(cand, ['-c', 'import numpy, sys; print(sys.executable, numpy.__version__)'], { encoding: 'utf8', env: CHILD_ENV });
    if (r.status === 0) return { python: cand, tried: [...tried, `${cand}: ${r.stdout.trim()}`] };
    tried.push(`${cand}: ${r.error !== undefined ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`)}`);
  }
  return { tried };
}

let tmpDir: string | undefined;
function tmpFile(name: string): string {
  tmpDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-numpy-bench-'));
  return path.join(tmpDir, name);
}

/** Runs driver.py on `spec` and parses its JSON line. */
function runPython(python: string, spec: Record<string, unknown>): Record<string, unknown> {
  const specPath = tmpFile('spec.json');
  fs.writeFileSync(specPath, JSON.stringify(spec));
  const r = spawnSync(python, [DRIVER, specPath], { encoding: 'utf8', env: CHILD_ENV, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`numpy driver failed (${spec.task} ${spec.workload}): ${r.error?.message ?? r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
}

interface Encoded {
  re?: number[];
  im?: number[];
  data?: number[];
  shape: number[];
}

async function encodeComplex(c: ComplexTensor): Promise<Encoded> {
  return { re: Array.from(await c.re.data()), im: Array.from(await c.im.data()), shape: c.re.shape };
}
async function encodeReal(t: tf.Tensor): Promise<Encoded> {
  return { data: Array.from(await t.data()), shape: t.shape };
}

// ---------------------------------------------------------------------------------------------
// Cross-check
// ---------------------------------------------------------------------------------------------

/** Largest |a - b| over the largest |b| (b: numpy), and the largest elementwise |a - b| / |b| over |b| >= 1e-3 max |b|. */
function disagreement(gfra: ArrayLike<number>, numpy: ArrayLike<number>): { relMax: number; relElem: number } {
  if (gfra.length !== numpy.length) throw new Error(`cross-check: ${gfra.length} gfra values against ${numpy.length} numpy values`);
  let scale = 0;
  for (let i = 0; i < numpy.length; i++) scale = Math.max(scale, Math.abs(numpy[i]));
  let maxDiff = 0;
  let relElem = 0;
  for (let i = 0; i < numpy.length; i++) {
    const d = Math.abs(gfra[i] - numpy[i]);
    if (!(d <= maxDiff)) maxDiff = d; // NaN propagates
    if (Math.abs(numpy[i]) >= 1e-3 * scale && Math.abs(numpy[i]) > 0) relElem = Math.max(relElem, d / Math.abs(numpy[i]));
  }
  return { relMax: scale > 0 ? maxDiff / scale : maxDiff, relElem };
}

const flatOf = (e: Encoded): number[] => (e.data !== undefined ? e.data : [...(e.re as number[]), ...(e.im as number[])]);

interface CheckLine {
  readonly name: string;
  readonly output: string;
  readonly relMax: number;
  readonly relElem: number;
  readonly decisions: string;
  readonly tolerance: number;
}

async function crossCheck(python: string): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  const inputPath = tmpFile('check-input.json');
  /** The numpy side's outputs for `input` (written to a temporary JSON file the driver reads). */
  const numpyOutputs = (workload: string, input: Record<string, unknown>): Record<string, Encoded> => {
    fs.writeFileSync(inputPath, JSON.stringify(input));
    return (runPython(python, { task: 'check', workload, input: inputPath }).outputs ?? {}) as Record<string, Encoded>;
  };
  const compare = (name: string, output: string, g: number[], n: number[], tolerance: number, decisions: string) =>
    lines.push({ name, output, ...disagreement(g, n), tolerance, decisions });
  const decisionsDiffer = (g: ArrayLike<number>, n: ArrayLike<number>) => {
    let k = 0;
    for (let i = 0; i < g.length; i++) if (g[i] !== n[i]) k++;
    return `${k} of ${g.length} decisions differ`;
  };

  // mmv-amp, both codebook modes (float32 on both sides)
  const beta200 = pathLossBeta(200);
  for (const perTrial of [false, true]) {
    const w: PilotWorkload = { N: 200, L: 30, M: 4, eps: 0.1, perTrial };
    const obs = pilotObservation(w, 8, beta200, `check-${perTrial}`);
    const scenario: Scenario = { numDevices: w.N, numAntennas: w.M, sequenceLength: w.L, bitsPerDevice: 0 };
    const det = new MmvAmpDetector(MMV_AMP_PARAMS, scenario);
    const est = det.detect(obs as Parameters<MmvAmpDetector['detect']>[0]);
    const out = numpyOutputs('mmv-amp', {
      y: await encodeComplex(obs.y),
      codebook: await encodeComplex(obs.codebook as ComplexTensor),
      beta: await encodeReal(obs.largeScaleFading as tf.Tensor),
      eps: await encodeReal(obs.activityProbability as tf.Tensor),
      iterations: MMV_AMP_PARAMS.maxIterations,
    });
    const name = `mmv-amp ${perTrial ? 'per-trial' : 'per-run'} (B = 8, ${det.diagnostics().divergedTrials} diverged)`;
    const act = await (est.activity as tf.Tensor).data();
    compare(name, 'LLR scores', Array.from(await (est.activityScore as tf.Tensor).data()), flatOf(out.activityScore), 1e-4, decisionsDiffer(act, flatOf(out.activity)));
    const ch = await encodeComplex(est.channel as ComplexTensor);
    compare(name, 'channel estimates', flatOf(ch), flatOf(out.channel), 1e-4, '');
    tf.dispose(Object.values(est).flatMap((v) => (v === undefined ? [] : 're' in v ? [v.re, v.im] : [v])));
    disposeObservation(obs);
  }

  // scma-mpa (gfra float64 on the host, rounded to float32; numpy float32)
  {
    const obs = scmaObservation(200, 'check');
    const det = new ScmaMpaDetector({ iterations: 10, variant: 'log-mpa' }, SCMA_SCENARIO);
    const est = det.detect(obs as Parameters<ScmaMpaDetector['detect']>[0]);
    const out = numpyOutputs('scma-mpa', {
      y: await encodeComplex(obs.y),
      codebook: await encodeComplex(obs.codebook as ComplexTensor),
      channel: await encodeComplex(obs.channel as ComplexTensor),
      noiseVar: SCMA_NOISE_VAR,
      N: 6,
      Q: 4,
      J: 2,
      iterations: 10,
    });
    const msg = await (est.message as tf.Tensor).data();
    compare('scma-mpa (B = 200)', 'bit LLRs', Array.from(await (est.bitLLR as tf.Tensor).data()), flatOf(out.bitLLR), 1e-4, decisionsDiffer(msg, flatOf(out.message)));
    tf.dispose([est.message, est.bitLLR, est.activity].filter((t) => t !== undefined) as tf.Tensor[]);
    det.dispose();
    disposeObservation(obs);
  }

  // covariance-ml (float64 on both sides; gfra returns gamma rounded to float32), both codebook modes
  for (const perTrial of [false, true]) {
    const w: PilotWorkload = { N: 100, L: 20, M: 16, eps: 0.1, perTrial };
    const obs = pilotObservation(w, 4, pathLossBeta(100), `check-cov-${perTrial}`);
    const scenario: Scenario = { numDevices: w.N, numAntennas: w.M, sequenceLength: w.L, bitsPerDevice: 0 };
    const det = new CovarianceMlDetector(COVARIANCE_PARAMS, scenario, new RandomStreams(['numpy-baselines']));
    // the detector's own orders: drawn in its constructor from this stream, exactly so
    const orders = randomOrders(w.N, COVARIANCE_PARAMS.sweeps, new RandomStreams(['numpy-baselines']).onceGenerator('coordinate-order'));
    const gamma = det.estimate(obs as Parameters<CovarianceMlDetector['estimate']>[0]);
    const est = det.detect(obs as Parameters<CovarianceMlDetector['detect']>[0]);
    const out = numpyOutputs('covariance-ml', {
      y: await encodeComplex(obs.y),
      codebook: await encodeComplex(obs.codebook as ComplexTensor),
      beta: await encodeReal(obs.largeScaleFading as tf.Tensor),
      noiseVar: NOISE_VAR,
      orders,
    });
    const act = await (est.activity as tf.Tensor).data();
    compare(`covariance-ml ${perTrial ? 'per-trial' : 'per-run'} (B = 4)`, 'gamma', Array.from(await gamma.data()), flatOf(out.gamma), 1e-6, decisionsDiffer(act, flatOf(out.activity)));
    tf.dispose([gamma, est.activity, est.activityScore, est.message].filter((t) => t !== undefined) as tf.Tensor[]);
    disposeObservation(obs);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------------------------

/** `runs` rates (trials/s) of `batchOnce`, after one warm-up call; each run whole batches for at least `minSeconds`. */
function timeRuns(batchOnce: () => void, batch: number, runs: number, minSeconds: number): number[] {
  batchOnce();
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    let n = 0;
    const t0 = performance.now();
    let elapsed = 0;
    do {
      batchOnce();
      n += 1;
      elapsed = (performance.now() - t0) / 1000;
    } while (elapsed < minSeconds);
    rates.push((n * batch) / elapsed);
  }
  return rates;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface Workload {
  readonly name: string;
  readonly batch: number;
  /** gfra: builds its inputs and detector; returns one batch call and a cleanup. */
  gfra(): { once: () => void; done: () => void };
  /** The numpy driver's timing spec (task, runs and minSeconds added by the caller). */
  readonly numpy: Record<string, unknown>;
}

function workloads(): Workload[] {
  const list: Workload[] = [];
  const B = 100;
  for (const [M, L] of [
    [4, 30],
    [8, 30],
    [4, 40],
  ] as const) {
    for (const perTrial of [false, true]) {
      const w: PilotWorkload = { N: 200, L, M, eps: 0.1, perTrial };
      const beta = pathLossBeta(w.N);
      list.push({
        name: `mmv-amp M=${M} L=${L} ${perTrial ? 'per-trial' : 'per-run'}`,
        batch: B,
        gfra: () => {
          const obs = pilotObservation(w, B, beta, `time-${M}-${L}-${perTrial}`);
          const det = new MmvAmpDetector(MMV_AMP_PARAMS, { numDevices: w.N, numAntennas: M, sequenceLength: L, bitsPerDevice: 0 });
          return {
            once: () => tf.tidy(() => void det.detect(obs as Parameters<MmvAmpDetector['detect']>[0]).activity?.dataSync()),
            done: () => disposeObservation(obs),
          };
        },
        numpy: { workload: 'mmv-amp', params: { batch: B, N: w.N, L, M, eps: w.eps, beta, noiseVar: NOISE_VAR, perTrial, iterations: MMV_AMP_PARAMS.maxIterations } },
      });
    }
  }
  const scmaBatch = 1000;
  list.push({
    name: 'scma-mpa 6x4 M=1 log-MPA T=10',
    batch: scmaBatch,
    gfra: () => {
      const obs = scmaObservation(scmaBatch, 'time');
      const det = new ScmaMpaDetector({ iterations: 10, variant: 'log-mpa' }, SCMA_SCENARIO);
      return {
        once: () => tf.tidy(() => void det.detect(obs as Parameters<ScmaMpaDetector['detect']>[0]).message?.dataSync()),
        done: () => {
          det.dispose();
          disposeObservation(obs);
        },
      };
    },
    numpy: { workload: 'scma-mpa', params: { batch: scmaBatch, M: 1, noiseVar: SCMA_NOISE_VAR, iterations: 10 } },
  });
  for (const perTrial of [false, true]) {
    const cov: PilotWorkload = { N: 100, L: 20, M: 16, eps: 0.1, perTrial };
    const covBeta = pathLossBeta(cov.N);
    list.push({
      name: `covariance-ml f64 N=100 M=16 L=20 ${perTrial ? 'per-trial' : 'per-run'}`,
      batch: B,
      gfra: () => {
        const obs = pilotObservation(cov, B, covBeta, `time-cov-${perTrial}`);
        const det = new CovarianceMlDetector(COVARIANCE_PARAMS, { numDevices: cov.N, numAntennas: cov.M, sequenceLength: cov.L, bitsPerDevice: 0 }, new RandomStreams(['bench']));
        return {
          once: () => tf.tidy(() => void (det.detect(obs as Parameters<CovarianceMlDetector['detect']>[0]) as Estimate).activity?.dataSync()),
          done: () => disposeObservation(obs),
        };
      },
      numpy: { workload: 'covariance-ml', params: { batch: B, N: cov.N, L: cov.L, M: cov.M, eps: cov.eps, beta: covBeta, noiseVar: NOISE_VAR, sweeps: COVARIANCE_PARAMS.sweeps, perTrial } },
    });
  }
  return list;
}

// ---------------------------------------------------------------------------------------------

const fmt = (x: number | undefined, width: number) => (x === undefined ? '-' : x.toPrecision(3)).padStart(width);

export async function main(argv: string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const runs = quick ? 1 : 3;
  const pyAt = argv.indexOf('--python');
  const mallocAt = argv.indexOf('--numpy-malloc');
  const malloc = mallocAt >= 0 ? argv[mallocAt + 1] : 'default';
  if (malloc !== 'default' && malloc !== 'tuned') {
    console.error(`--numpy-malloc takes default or tuned (got ${malloc === undefined ? 'nothing' : JSON.stringify(malloc)})`);
    return 2;
  }
  if (malloc === 'tuned') Object.assign(CHILD_ENV, TUNED_MALLOC);
  else for (const key of Object.keys(TUNED_MALLOC)) delete CHILD_ENV[key];
  // glibc's malloc thresholds as `gfra run` sets them for every job (PreparedJob.prepare)
  fixNativeMmapThreshold();
  const backend = await selectBackend('wasm');
  const found = findPython(pyAt >= 0 ? argv[pyAt + 1] : undefined);
  console.log(`gfra (host kernels, BLAS: ${blas().description}; tfjs ${backend.backend} for the rest) against numpy, one thread each; ${runs === 1 ? '1 round' : `${runs} rounds`} of one timed run of >= ${MIN_SECONDS} s per side, the sides in turn; gfra/numpy: ${runs === 1 ? 'the ratio' : "the median of the rounds' ratios"}`);
  if (found.python === undefined) {
    console.log(`no python with numpy found (${found.tried.join('; ')}): gfra's figures alone`);
  } else {
    console.log(
      `python: ${found.tried[found.tried.length - 1]}; child env OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = 1; ` +
        (malloc === 'tuned' ? `numpy's malloc tuned (MALLOC_MMAP_THRESHOLD_ = 32 MiB, MALLOC_TRIM_THRESHOLD_ = 64 MiB)` : `glibc's default malloc settings for numpy (--numpy-malloc tuned: see the bench's comment)`),
    );
  }
  const t0 = performance.now();
  try {
    if (found.python !== undefined && !argv.includes('--no-check')) {
      console.log('\ncross-check on the same inputs (gfra vs numpy): max |diff| / max |numpy|, and max elementwise relative diff (entries >= 1e-3 of the max)');
      let ok = true;
      for (const c of await crossCheck(found.python)) {
        const pass = c.relMax <= c.tolerance;
        ok &&= pass;
        console.log(
          `  ${c.name.padEnd(38)} ${c.output.padEnd(18)} ${c.relMax.toExponential(2).padStart(9)} ${c.relElem.toExponential(2).padStart(9)}  ${pass ? 'agree' : 'DISAGREE'} (tol ${c.tolerance})${c.decisions === '' ? '' : `; ${c.decisions}`}`,
        );
      }
      if (!ok) console.log('  WARNING: a numpy baseline disagrees with gfra beyond float rounding; its timing may not be of the same algorithm');
    }

    console.log(`\n${'workload'.padEnd(46)} ${'batch'.padStart(5)} ${'gfra tr/s'.padStart(10)} ${'numpy tr/s'.padStart(10)} ${'gfra/numpy'.padStart(10)}   runs gfra | numpy`);
    const onlyAt = argv.indexOf('--only');
    const only = onlyAt >= 0 ? argv[onlyAt + 1] : undefined;
    for (const w of workloads().filter((x) => only === undefined || x.name.includes(only))) {
      // the sides in turn, round by round: each ratio pairs runs made seconds apart
      const gfraRates: number[] = [];
      const npRates: number[] = [];
      const g = w.gfra();
      try {
        for (let round = 0; round < runs; round++) {
          gfraRates.push(...timeRuns(g.once, w.batch, 1, MIN_SECONDS));
          if (found.python !== undefined) npRates.push(...(runPython(found.python, { task: 'time', runs: 1, minSeconds: MIN_SECONDS, ...w.numpy }).trialsPerSecond as number[]));
        }
      } finally {
        g.done();
      }
      const numpy = found.python !== undefined;
      const gm = median(gfraRates);
      const nm = numpy ? median(npRates) : undefined;
      const ratio = numpy ? median(gfraRates.map((r, i) => r / npRates[i])) : undefined;
      const list = (xs: number[]) => (xs.length === 0 ? '-' : xs.map((x) => x.toPrecision(3)).join(' '));
      console.log(`${w.name.padEnd(46)} ${String(w.batch).padStart(5)} ${fmt(gm, 10)} ${fmt(nm, 10)} ${fmt(ratio, 10)}   ${list(gfraRates)} | ${list(npRates)}`);
    }
    console.log(`\n(total ${((performance.now() - t0) / 1000).toFixed(0)} s; gfra/numpy > 1: gfra faster)`);
  } finally {
    if (tmpDir !== undefined) fs.rmSync(tmpDir, { recursive: true, force: true });
  }
  return 0;
}
