/**
 * Memory over a long sweep: one `gfra run` (this process, inline executor) of a sweep whose jobs
 * never reach their event target, stopped after `--minutes` (default 30) by the same abort a
 * Ctrl-C gives. The resident set size (RSS), the V8 heap and the number of live tfjs tensors are
 * sampled every 10 s; the first 3 minutes are the warm-up (tfjs, the wasm backend, DuckDB and the
 * plugins' caches fill), after which memory should stay flat. RSS rises and falls by 10-15 % as
 * the garbage collector and DuckDB's buffers work, and by as much again with the job that runs (a
 * covariance-ml job holds more than a correlation-energy one), so one sample says little.
 *
 * Two comparisons, both printed:
 *
 * - same phase (the verdict): RSS is also read at the end of every job. Each job of a round is
 *   compared with the same job (same candidate, same SNR) in the first round that started after
 *   the warm-up, and the median of these ratios over the jobs of the last round is the change.
 *   Samples at the same point of the sweep compare like with like.
 * - by time: the median of the first 5 minutes after the warm-up against that of the last 5
 *   minutes, and a least-squares line through all timed samples. Windows not aligned with the
 *   6-minute rounds compare different job mixes; printed for reference.
 *
 * It passes (exit code 0) when the same-phase change stays within 10 % and no tensors are left
 * alive; the peak is printed beside it.
 *
 * Workload: mmv-amp (host BLAS kernel), covariance-ml and correlation-energy candidates over an
 * SNR sweep of 6 points, N = 100, L = 30, M = 4, batches of 100, each job capped at 20 s, and the
 * sweep repeated with new seeds (a new output folder per round) until the time is up.
 *
 * Usage: pnpm bench -- --memory [--minutes M]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { blas } from '@gfra/core';
import { loadSpec } from '../src/plan/load';
import { runSpec } from '../src/run';

function spec(round: number): Record<string, unknown> {
  return {
    name: 'memory-bench',
    seed: 100 + round,
    scenario: { numDevices: 100, numAntennas: 4, sequenceLength: 30, bitsPerDevice: 0 },
    traffic: { plugin: 'bernoulli', params: { activityProb: 0.1 } },
    channel: { plugin: 'rayleigh', params: { snrDb: 10 } },
    encoder: { plugin: 'gaussian-pilots', params: {} },
    candidates: {
      amp: { detector: { plugin: 'mmv-amp', params: {} } },
      cov: { detector: { plugin: 'covariance-ml', params: { sweeps: 10 } } },
      energy: { detector: { plugin: 'correlation-energy', params: { threshold: { rule: 'false-alarm', falseAlarm: 0.05 } } } },
    },
    metrics: [{ plugin: 'activity', params: {} }],
    sweep: { 'channel.params.snrDb': [0, 4, 8, 12, 16, 20] },
    montecarlo: { batchSize: 100, targetEvents: 1e9, maxTrials: 1e7, maxSeconds: 20 },
  };
}

interface Sample {
  readonly seconds: number;
  readonly rss: number;
  readonly heap: number;
  readonly tensors: number;
}

const MiB = 2 ** 20;

export async function main(args: string[]): Promise<number> {
  const at = args.indexOf('--minutes');
  const minutes = at >= 0 ? Number(args[at + 1]) : 30;
  if (!(minutes > 0)) {
    process.stderr.write('--minutes must be a positive number\n');
    return 2;
  }
  const warmup = Math.min(3, minutes / 4) * 60;
  process.stdout.write(`memory over ${minutes} min of sweeps (mmv-amp, covariance-ml, correlation-energy; 6 SNR points, 20 s per job), warm-up ${(warmup / 60).toFixed(1)} min; BLAS: ${blas().description}\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-bench-memory-'));
  const start = performance.now();
  const elapsed = () => (performance.now() - start) / 1000;
  const samples: Sample[] = [];
  const sample = () => {
    const m = process.memoryUsage();
    samples.push({ seconds: elapsed(), rss: m.rss, heap: m.heapUsed, tensors: tf.memory().numTensors });
    const s = samples[samples.length - 1];
    if (samples.length % 6 === 1) process.stdout.write(`  ${(s.seconds / 60).toFixed(1).padStart(5)} min  rss ${(s.rss / MiB).toFixed(0)} MiB  heap ${(s.heap / MiB).toFixed(0)} MiB  tensors ${s.tensors}\n`);
  };
  const timer = setInterval(sample, 10000);
  /** RSS at the end of every job that ran to its stop (job: its index in the round's plan). */
  const ends: { round: number; started: number; job: number; rss: number }[] = [];
  const stop = new AbortController();
  const deadline = setTimeout(() => stop.abort(), minutes * 60000);
  try {
    for (let round = 0; !stop.signal.aborted; round++) {
      const file = path.join(dir, `spec-${round}.json`);
      fs.writeFileSync(file, JSON.stringify(spec(round)));
      const started = elapsed();
      await runSpec(loadSpec(file), {
        out: path.join(dir, `out-${round}`),
        backend: 'wasm',
        workers: 1,
        signal: stop.signal,
        onProgress: (e) => {
          if (e.type === 'job-end' && e.result.stop !== 'interrupted') ends.push({ round, started, job: e.index, rss: process.memoryUsage().rss });
        },
      });
      fs.rmSync(path.join(dir, `out-${round}`), { recursive: true, force: true });
    }
  } finally {
    clearInterval(timer);
    clearTimeout(deadline);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  sample();
  const after = samples.filter((s) => s.seconds >= warmup);
  if (after.length < 2) {
    process.stdout.write('too short to judge (fewer than 2 samples after the warm-up)\n');
    return 0;
  }
  const range = (key: 'rss' | 'heap') => [Math.min(...after.map((s) => s[key])), Math.max(...after.map((s) => s[key]))];
  const [rssLow, rssHigh] = range('rss');
  const [heapLow, heapHigh] = range('heap');
  const first = after[0];
  const last = after[after.length - 1];
  const window = Math.min(300, (last.seconds - first.seconds) / 3);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const early = median(after.filter((s) => s.seconds <= first.seconds + window).map((s) => s.rss));
  const late = median(after.filter((s) => s.seconds >= last.seconds - window).map((s) => s.rss));
  // least-squares slope of RSS against time, times the span: the fitted change over the run
  const mt = after.reduce((a, s) => a + s.seconds, 0) / after.length;
  const mr = after.reduce((a, s) => a + s.rss, 0) / after.length;
  const slope = after.reduce((a, s) => a + (s.seconds - mt) * (s.rss - mr), 0) / after.reduce((a, s) => a + (s.seconds - mt) ** 2, 0);
  const fitted = slope * (last.seconds - first.seconds);
  const pct = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)} %`;
  process.stdout.write(
    `after the warm-up (${after.length} samples over ${((last.seconds - first.seconds) / 60).toFixed(1)} min):\n` +
      `  rss  median of the first ${(window / 60).toFixed(1)} min ${(early / MiB).toFixed(0)} MiB, of the last ${(window / 60).toFixed(1)} min ${(late / MiB).toFixed(0)} MiB (${pct(late / early - 1)}); fitted change over the run ${pct(fitted / early)}\n` +
      `  rss  range ${(rssLow / MiB).toFixed(0)} .. ${(rssHigh / MiB).toFixed(0)} MiB (peak ${pct(rssHigh / early - 1)} above the first median)\n` +
      `  heap ${(first.heap / MiB).toFixed(0)} -> ${(last.heap / MiB).toFixed(0)} MiB, range ${(heapLow / MiB).toFixed(0)} .. ${(heapHigh / MiB).toFixed(0)} MiB\n` +
      `  live tensors at the end: ${last.tensors}\n`,
  );
  // same phase: each job's RSS at its end, against the same job in the first round after the warm-up
  const rounds = [...new Set(ends.filter((e) => e.started >= warmup).map((e) => e.round))];
  const reference = new Map(ends.filter((e) => e.round === rounds[0]).map((e) => [e.job, e.rss]));
  const lastRound = rounds[rounds.length - 1];
  const ratios = ends.filter((e) => e.round === lastRound && reference.has(e.job)).map((e) => e.rss / (reference.get(e.job) as number));
  if (rounds.length < 2 || ratios.length === 0) {
    process.stdout.write(`  same phase: fewer than 2 rounds after the warm-up (${rounds.length}); run longer to judge\n`);
    return last.tensors <= first.tensors ? 0 : 1;
  }
  const phase = median(ratios) - 1;
  process.stdout.write(
    `  same phase: rss at each job's end in round ${lastRound + 1} against the same job in round ${rounds[0] + 1} (the first after the warm-up), ${ratios.length} jobs: median ${pct(phase)}, range ${pct(Math.min(...ratios) - 1)} .. ${pct(Math.max(...ratios) - 1)}\n`,
  );
  const flat = Math.abs(phase) <= 0.1 && last.tensors <= first.tensors;
  process.stdout.write(flat ? '  flat: same-phase change within 10 %, no tensors left behind\n' : '  NOT flat\n');
  return flat ? 0 : 1;
}
