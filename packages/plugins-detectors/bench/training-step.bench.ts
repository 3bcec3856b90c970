/**
 * Training steps per second of two trained candidates, each run through gfra's own trainer
 * (`train` of @gfra/core on the runner's `trainingProblem`: the pipeline's forward pass over a
 * training batch -> loss -> tf.variableGrads -> Adam update -> loss readback), so that a step
 * costs what it costs in `gfra run`:
 *
 *   dl-mampnet     examples/dl-mampnet/reduced-fig7.json, candidate "dl-mampnet" at L = 16:
 *                  N = 20, M = 8, J = 1, T = 4, bMode "shared", batch 200 of a 4,000-trial
 *                  training set, Adam; the joint phase (joint-bce: every layer and the
 *                  refinement module on the BCE), reached through the plugin's own layer-wise
 *                  `fit` with one step in each earlier phase.
 *   learned-pilots examples/learned-pilots/spec.json, candidate "learned-mlp": learned-pilots
 *                  encoder trained jointly with the mlp-activity detector, N = 40, L = 12, M = 4,
 *                  batch 64, BCE, Adam with the cosine schedule (validation left out: it is not a
 *                  training step).
 *
 * Each workload is warmed up (about 1 s of steps), then timed 3 times (`--quick`: 1) for at least
 * 2 s (0.5 s) each; the steps/s reported is the median (wall clock), with the median steps per
 * CPU-second of this process beside it (less sensitive to other processes on a shared machine;
 * the wasm backend runs on one thread). A timed run counts the steps between the trainer's first
 * and last progress report, so phase set-up is not timed. Numbers are noisy on a shared machine:
 * compare runs made one after the other.
 *
 * `--profile` adds a load-independent measure: the kernels one step of the timed phase runs
 * (forward, gradient and update; tf.profile over 20 steps after the warm-up), with the kernels
 * that take the most time under profiling.
 *
 * Usage: pnpm bench -- --training [--quick] [--profile] [--backend wasm|cpu|tensorflow] [--only dl-mampnet|learned-pilots]
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { container as rootContainer } from 'tsyringe';
import { fixNativeMmapThreshold, selectBackend, train, TrainingInterrupted, type BackendChoice, type TrainConfig, type TrainingProblem } from '@gfra/core';
import { Pipeline } from '../../runner/src/engine/pipeline';
import { planObject } from '../../runner/src/plan/load';
import { trainingDomain, trainingProblem } from '../../runner/src/train/train';

const EXAMPLES = path.join(__dirname, '..', '..', '..', 'examples');

/** A steps count no timed run reaches: runs end by abort. */
const UNBOUNDED = 1_000_000_000;

interface Workload {
  readonly name: string;
  readonly describe: string;
  /** Spec file under examples/ and the candidate to train. */
  readonly spec: string;
  readonly candidate: string;
  /** Edit the parsed spec in place (one point, one repetition, unbounded steps). */
  readonly edit: (spec: Record<string, any>) => void;
  /** The phase whose steps are timed. */
  readonly phase: string;
  /** The train block of a timed run, from the planned one. */
  readonly config: (block: TrainConfig) => TrainConfig;
}

const WORKLOADS: readonly Workload[] = [
  {
    name: 'dl-mampnet',
    describe: 'reduced-fig7 at L = 16: N = 20, M = 8, J = 1, T = 4, shared B_t, batch 200, Adam, joint-bce phase',
    spec: 'dl-mampnet/reduced-fig7.json',
    candidate: 'dl-mampnet',
    edit: (spec) => {
      delete spec.sweep;
      spec.montecarlo.repetitions = 1;
      spec.candidates = { 'dl-mampnet': spec.candidates['dl-mampnet'] };
      const schedule = spec.candidates['dl-mampnet'].detector.params.schedule;
      delete schedule.epochs;
      schedule.steps = [1, 1, 1, 1, 1, UNBOUNDED];
    },
    phase: 'joint-bce',
    config: (block) => block,
  },
  {
    name: 'learned-pilots',
    describe: 'learned-pilots + mlp-activity: N = 40, L = 12, M = 4, batch 64, BCE, Adam (cosine schedule)',
    spec: 'learned-pilots/spec.json',
    candidate: 'learned-mlp',
    edit: (spec) => {
      spec.montecarlo.repetitions = 1;
      spec.candidates = { 'learned-mlp': spec.candidates['learned-mlp'] };
    },
    phase: 'main',
    config: (block) => {
      const { validation: _validation, ...rest } = block;
      return { ...rest, steps: UNBOUNDED } as TrainConfig;
    },
  },
];

/**
 * One call of the trainer: `onStep` sees every step of `phase` and returns true to stop the
 * training there (an interrupted training is the expected end).
 */
async function trainUntil(problem: TrainingProblem, config: TrainConfig, phase: string, onStep: (step: number) => boolean): Promise<void> {
  const abort = new AbortController();
  try {
    await train(problem, {
      config,
      signal: abort.signal,
      onProgress: (p) => {
        if (p.phase === phase && onStep(p.step)) abort.abort();
      },
    });
  } catch (err) {
    if (!(err instanceof TrainingInterrupted)) throw err;
  }
}

/** One call of the trainer, aborted once `seconds` of the timed phase have passed; its steps/s there. */
async function timedRun(problem: TrainingProblem, config: TrainConfig, phase: string, seconds: number): Promise<{ rate: number; cpuRate: number; steps: number }> {
  let first: { step: number; at: number; cpu: number } | undefined;
  let last: { step: number; at: number; cpu: number } | undefined;
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  await trainUntil(problem, config, phase, (step) => {
    const [at, cpu] = [performance.now(), cpuMs()];
    first ??= { step, at, cpu };
    last = { step, at, cpu };
    return at - first.at >= seconds * 1000;
  });
  if (first === undefined || last === undefined || last.step === first.step) throw new Error(`phase "${phase}" ran fewer than two steps`);
  const steps = last.step - first.step;
  return { rate: (steps * 1000) / (last.at - first.at), cpuRate: (steps * 1000) / (last.cpu - first.cpu), steps };
}

/** Steps of the timed phase that `--profile` records. */
const PROFILED_STEPS = 20;

/** Kernels per step of the timed phase, and the kernels by total time (ms per step), from tf.profile over {@link PROFILED_STEPS} steps. */
async function profiledRun(problem: TrainingProblem, config: TrainConfig, phase: string): Promise<{ kernelsPerStep: number; msPerStep: number; top: { name: string; count: number; ms: number }[] }> {
  const engine = tf.engine() as unknown as { state: { activeProfile: { kernels: unknown[] } } };
  let first: { step: number; kernel: number } | undefined;
  let last: { step: number; kernel: number } | undefined;
  const info = await tf.profile(() =>
    trainUntil(problem, config, phase, (step) => {
      const kernel = engine.state.activeProfile.kernels.length;
      first ??= { step, kernel };
      last = { step, kernel };
      return last.step - first.step >= PROFILED_STEPS;
    }),
  );
  if (first === undefined || last === undefined || last.step === first.step) throw new Error(`phase "${phase}" ran fewer than two steps`);
  const steps = last.step - first.step;
  const kernels = info.kernels.slice(first.kernel, last.kernel);
  const byName = new Map<string, { count: number; ms: number }>();
  let total = 0;
  for (const k of kernels) {
    const e = byName.get(k.name) ?? { count: 0, ms: 0 };
    const ms = Number(k.kernelTimeMs) || 0;
    e.count += 1;
    e.ms += ms;
    total += ms;
    byName.set(k.name, e);
  }
  const top = [...byName.entries()]
    .map(([name, e]) => ({ name, count: e.count / steps, ms: e.ms / steps }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 15);
  return { kernelsPerStep: kernels.length / steps, msPerStep: total / steps, top };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const k = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[k] : (s[k - 1] + s[k]) / 2;
}

async function bench(w: Workload, runs: number, seconds: number, profile: boolean): Promise<{ rate: number; cpuRate: number }> {
  const file = path.join(EXAMPLES, w.spec);
  const spec = JSON.parse(require('node:fs').readFileSync(file, 'utf8')) as Record<string, any>;
  w.edit(spec);
  const loaded = planObject(spec, file);
  const job = loaded.jobs.find((j) => j.candidate === w.candidate);
  if (job?.training === undefined) throw new Error(`${w.spec}: no trained candidate "${w.candidate}"`);
  const domain = trainingDomain();
  const pipeline = new Pipeline(loaded.registry, job.training.pipeline, rootContainer, { domain });
  try {
    await pipeline.prepare();
    const problem = trainingProblem(pipeline, job, domain);
    const config = w.config(job.training.block);
    await timedRun(problem, config, w.phase, Math.min(1, seconds)); // warm-up
    const rates: number[] = [];
    const cpuRates: number[] = [];
    for (let r = 0; r < runs; r++) {
      const { rate, cpuRate, steps } = await timedRun(problem, config, w.phase, seconds);
      rates.push(rate);
      cpuRates.push(cpuRate);
      console.log(`    run ${r + 1}: ${rate.toFixed(2)} steps/s, ${cpuRate.toFixed(2)} steps per CPU-second (${steps} steps)`);
    }
    if (profile) {
      const p = await profiledRun(problem, config, w.phase);
      console.log(`    ${p.kernelsPerStep.toFixed(1)} kernels per step, ${p.msPerStep.toFixed(2)} ms of kernel time per step under tf.profile; by time:`);
      for (const k of p.top) console.log(`      ${k.name.padEnd(28)} ${k.count.toFixed(1).padStart(7)} per step ${k.ms.toFixed(3).padStart(9)} ms`);
    }
    return { rate: median(rates), cpuRate: median(cpuRates) };
  } finally {
    pipeline.dispose();
  }
}

export async function main(argv: string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const backendAt = argv.indexOf('--backend');
  // glibc's malloc thresholds as `gfra train` sets them (trainJob): without them, large arrays
  // are reused from the heap and a copy-heavy step looks cheaper than it is in a run
  fixNativeMmapThreshold();
  const backend = await selectBackend((backendAt >= 0 ? argv[backendAt + 1] : 'wasm') as BackendChoice);
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? argv[onlyAt + 1] : undefined;
  const [runs, seconds] = quick ? [1, 0.5] : [3, 2];
  console.log(`training steps (forward + backward + Adam update, gfra's trainer), backend ${backend.backend}; median of ${runs} run(s) of >= ${seconds} s`);
  for (const w of WORKLOADS) {
    if (only !== undefined && w.name !== only) continue;
    console.log(`  ${w.name}: ${w.describe}`);
    const before = tf.memory().numTensors;
    const { rate, cpuRate } = await bench(w, runs, seconds, argv.includes('--profile'));
    console.log(`  ${w.name.padEnd(16)} ${rate.toFixed(2).padStart(8)} steps/s   ${cpuRate.toFixed(2).padStart(8)} steps per CPU-second   (tensors left: ${tf.memory().numTensors - before})`);
  }
  return 0;
}
