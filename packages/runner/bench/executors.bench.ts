/**
 * Throughput of the executors on one compute-bound spec, as trials per second and as ratios
 * against the inline executor measured in the same run: inline and pool (2 worker threads) as a
 * user runs them, `gfra run --workers 1|2` processes timed from their start to their exit (the
 * compiled build when it is current, as after `pnpm install`), and bullmq (2 local `gfra worker`
 * processes through a redis-server started here, the coordinator in this process).
 *
 * Workload (stated in the output): mmv-amp (50 iterations) with N = 100 devices, eps = 0.1,
 * L = 30, M = 4, Rayleigh at 4 SNR points (4 jobs), batches of 100 trials (or --batch-size),
 * every job stopped at maxTrials (no event target), so every executor runs exactly the same
 * trials. The pool's worker threads start inside its timing; the bullmq workers are started (and
 * ready) before the coordinator's, as long-lived workers are. All the runs must give identical
 * numbers (checked). Without redis-server, bullmq is left out (said).
 *
 * The machine's ceiling: two independent inline runs of the spec at the same time, trials/s of
 * both together. No executor can beat it; on a 2-core machine whose cores slow each other down
 * (shared caches and memory bandwidth, the other core's helper threads), it is below 2x.
 * Two further figures say why, per round:
 * - the machine without gfra: two processes of pure arithmetic (`arithmetic.js`: multiply-add
 *   chains in registers) against one, run just before the round;
 * - the cores each `gfra run` keeps busy after start-up: its CPU seconds, every thread's
 *   (`cpu-usage.js`, at its exit), as the throughput after start-up: the long run's extra CPU
 *   seconds over its extra seconds. An inline run is more than one core's work (its helper
 *   threads: the results store's commits on libuv's threads, V8's compiler and collector), so two
 *   cores give at most 2 / (its cores) times its throughput, before the cores slow each other
 *   down.
 *
 * Each executor runs the spec twice, with a short and a long maxTrials per job. The long run's
 * trials/s is the end-to-end figure (start-up included: module loading, the plan, the pool's
 * threads, about 1 to 2.5 s); the difference of the two runs (extra trials over extra seconds) is
 * the throughput after start-up, which is what a long sweep sees.
 *
 * Rounds: the executors run in turn, round after round (3 by default), and each ratio is taken
 * against the inline run of its own round; the table gives the medians and the range of the
 * ratios. On a shared machine whose speed drifts by tens of percent within an hour, runs a whole
 * bench apart are not comparable; runs a minute apart mostly are.
 *
 * Usage: pnpm bench [--quick] [--rounds R] [--batch-size B] (--quick: 1000 and 3000 trials per job
 * instead of 6000 and 24000, and one round; B: trials per batch, 100 unless given; the spec
 * default is 256. Every batch is one commit to the results store, so the per-batch costs weigh
 * less with larger batches.)
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { listWorkers } from '../src/distributed/protocol';
import { loadSpec } from '../src/plan/load';
import type { JobResult } from '../src/results/format';
import { runSpec, type RunOptions } from '../src/run';
import { redisAvailable, startRedis } from '../test/helpers/redis';

const BIN = path.join(__dirname, '..', 'bin', 'gfra.js');

/** Rounds per second of `arithmetic.js` run alone and as two processes at once, for `seconds`. */
async function arithmetic(seconds: number): Promise<{ one: number; two: number }> {
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(__dirname, 'arithmetic.js'), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`arithmetic.js exited with ${code}`))));
    });
  const one = await once();
  const [a, b] = await Promise.all([once(), once()]);
  return { one, two: a + b };
}

function spec(trials: number, batchSize: number): Record<string, unknown> {
  return {
    name: 'executor-bench',
    seed: 5,
    scenario: { numDevices: 100, numAntennas: 4, sequenceLength: 30, bitsPerDevice: 0 },
    traffic: { plugin: 'bernoulli', params: { activityProb: 0.1 } },
    channel: { plugin: 'rayleigh', params: { snrDb: 10 } },
    encoder: { plugin: 'gaussian-pilots', params: {} },
    candidates: { amp: { detector: { plugin: 'mmv-amp', params: {} } } },
    metrics: [{ plugin: 'activity', params: {} }],
    sweep: { 'channel.params.snrDb': [0, 5, 10, 15] },
    montecarlo: { batchSize, targetEvents: 1e9, maxTrials: trials, maxSeconds: 3600 },
  };
}

const strip = (rs: readonly JobResult[]) => JSON.stringify(rs.map((r) => ({ ...r, seconds: 0, detectorTime: undefined, diagnostics: undefined })));

export async function main(args: string[]): Promise<number> {
  const quick = args.includes('--quick');
  const at = args.indexOf('--rounds');
  const roundCount = at >= 0 ? Number(args[at + 1]) : quick ? 1 : 3;
  if (!(Number.isInteger(roundCount) && roundCount >= 1)) {
    process.stderr.write(`--rounds must be a whole number >= 1 (got ${args[at + 1]})\n`);
    return 2;
  }
  const batchAt = args.indexOf('--batch-size');
  const batchSize = batchAt >= 0 ? Number(args[batchAt + 1]) : 100;
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 6000)) {
    process.stderr.write(`--batch-size must be a whole number from 1 to 6000 (got ${args[batchAt + 1]})\n`);
    return 2;
  }
  const withRedis = redisAvailable();
  if (!withRedis) process.stdout.write('redis-server is not installed (apt-get install redis-server): the bullmq executor is left out\n');
  const sizes = quick ? ([1000, 3000] as const) : ([6000, 24000] as const);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-bench-exec-'));
  const files = sizes.map((trials) => {
    const file = path.join(dir, `spec-${trials}.json`);
    fs.writeFileSync(file, JSON.stringify(spec(trials, batchSize)));
    return file;
  });
  process.stdout.write(
    `executors: mmv-amp, N=100, eps=0.1, L=30, M=4, 4 jobs x ${sizes[0]} and x ${sizes[1]} trials, batches of ${batchSize}; ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'unknown CPU'})\n`,
  );

  const redis = withRedis ? await startRedis() : undefined;
  const client = redis === undefined ? undefined : new Redis(redis.url);
  const workers =
    redis === undefined
      ? []
      : [0, 1].map(() =>
          spawn(process.execPath, [BIN, 'worker', '--redis', redis.url, '--backend', 'wasm', '--cache', path.join(dir, 'cache')], { stdio: 'ignore', env: { ...process.env, CI: '1' } }),
        );
  try {
    const deadline = Date.now() + 120000;
    while (client !== undefined && (await listWorkers(client)).length < 2) {
      if (Date.now() > deadline) throw new Error('the two gfra workers did not start within 120 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    // a fresh output folder for every run (an existing one would be resumed: no trials left to run)
    let runs = 0;
    const outDir = (name: string, size: number) => path.join(dir, `${name.replace(/\W+/g, '-')}-${size}-${runs++}`);
    const timed = async (name: string, options: RunOptions, size: number) => {
      const start = performance.now();
      const run = await runSpec(loadSpec(files[size]), { out: outDir(name, size), backend: 'wasm', ...options });
      const seconds = (performance.now() - start) / 1000;
      return { seconds, numbers: strip(run.results.results) };
    };
    // inline and the pool as a user runs them: `gfra run` processes (the compiled build when it is
    // current), timed from the process start to its exit
    const cli = async (name: string, workers: number, size: number) => {
      const out = outDir(name, size);
      const cpuFile = `${out}.cpu.json`;
      const start = performance.now();
      const child = spawn(process.execPath, ['--require', path.join(__dirname, 'cpu-usage.js'), BIN, 'run', files[size], '--out', out, '--workers', String(workers), '--backend', 'wasm', '--quiet', '--no-plot'], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, CI: '1', GFRA_BENCH_CPU_FILE: cpuFile },
      });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      const seconds = (performance.now() - start) / 1000;
      if (code !== 0) throw new Error(`gfra run --workers ${workers} exited with ${code}: ${stderr}`);
      const results = (JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as { results: JobResult[] }).results;
      const cpu = (JSON.parse(fs.readFileSync(cpuFile, 'utf8')) as { seconds: number }).seconds;
      return { seconds, numbers: strip(results), cpu };
    };
    // the machine's own ceiling for two-way parallelism: two independent inline runs at once (the
    // spec's trials twice, until the later one exits), sharing no code path beyond the process
    const twins = async (size: number) => {
      const [a, b] = await Promise.all([cli('twin-a', 1, size), cli('twin-b', 1, size)]);
      return { seconds: Math.max(a.seconds, b.seconds), numbers: a.numbers === b.numbers ? a.numbers : `${a.numbers} != ${b.numbers}`, copies: 2, cpu: a.cpu + b.cpu };
    };
    type Once = (size: number) => Promise<{ seconds: number; numbers: string; copies?: number; cpu?: number }>;
    /** One executor at both sizes: end-to-end trials/s of the long run, and the extra trials over the extra seconds. */
    const both = async (once: Once) => {
      const short = await once(0);
      const long = await once(1);
      const copies = long.copies ?? 1;
      return {
        seconds: long.seconds,
        endToEnd: (copies * 4 * sizes[1]) / long.seconds,
        afterStart: (copies * 4 * (sizes[1] - sizes[0])) / (long.seconds - short.seconds),
        // cores kept busy after start-up (the extra CPU seconds over the extra seconds), where known
        cores: long.cpu === undefined || short.cpu === undefined ? undefined : (long.cpu - short.cpu) / (long.seconds - short.seconds),
        numbers: [short.numbers, long.numbers],
      };
    };
    const executors: { name: string; once: Once }[] = [
      { name: 'inline (gfra run --workers 1)', once: (size) => cli('inline', 1, size) },
      { name: 'pool (gfra run --workers 2)', once: (size) => cli('pool', 2, size) },
      { name: 'ceiling (2 inline runs at once)', once: twins },
      ...(redis === undefined ? [] : [{ name: 'bullmq, 2 local workers', once: (size: number) => timed('bullmq', { executor: 'bullmq', redis: redis.url }, size) }]),
    ];
    // rounds of every executor in turn: each ratio compares runs minutes apart, not a whole bench apart
    const rounds: Awaited<ReturnType<typeof both>>[][] = [];
    const machine: number[] = [];
    for (let round = 0; round < roundCount; round++) {
      const { one, two } = await arithmetic(3);
      machine.push(two / one);
      const row: Awaited<ReturnType<typeof both>>[] = [];
      for (const e of executors) row.push(await both(e.once));
      rounds.push(row);
      const base = row[0];
      const busy = (i: number) => (row[i].cores === undefined ? '' : `, ${row[i].cores.toFixed(2)} cores busy`);
      process.stdout.write(
        `  round ${round + 1}: arithmetic, 2 processes ${(two / one).toFixed(2)}x 1; ${executors.map((e, i) => `${e.name.split(/[ ,]/)[0]} ${row[i].endToEnd.toFixed(0)} / ${row[i].afterStart.toFixed(0)} trials/s${i > 0 ? ` (${(row[i].endToEnd / base.endToEnd).toFixed(2)}x / ${(row[i].afterStart / base.afterStart).toFixed(2)}x)` : ''}${busy(i)}`).join(', ')}\n`,
      );
    }
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    process.stdout.write(`  median over ${roundCount} round(s) (ratios: per round, to that round's inline; range in brackets)\n`);
    process.stdout.write(`  ${''.padEnd(32)} ${'end to end'.padStart(22)}   ${'after start-up'.padStart(24)}   busy after start-up\n`);
    executors.forEach((e, i) => {
      const column = (key: 'endToEnd' | 'afterStart') => {
        const rate = median(rounds.map((r) => r[i][key]));
        const ratios = rounds.map((r) => r[i][key] / r[0][key]);
        const range = roundCount > 1 ? ` [${Math.min(...ratios).toFixed(2)}, ${Math.max(...ratios).toFixed(2)}]` : '';
        return `${rate.toFixed(0).padStart(6)} trials/s ${`${median(ratios).toFixed(2)}x inline`.padStart(12)}${range}`;
      };
      const cores = rounds.map((r) => r[i].cores).filter((c) => c !== undefined);
      const busy = cores.length === 0 ? '' : `   ${median(cores).toFixed(2)} cores`;
      process.stdout.write(`  ${e.name.padEnd(32)} ${column('endToEnd')}   ${column('afterStart')}${busy}\n`);
    });
    const inlineCores = median(rounds.map((r) => r[0].cores ?? NaN));
    process.stdout.write(
      `  the machine: two processes of pure arithmetic give ${median(machine).toFixed(2)}x one [${Math.min(...machine).toFixed(2)}, ${Math.max(...machine).toFixed(2)}]; ` +
        `an inline run keeps ${inlineCores.toFixed(2)} cores busy, so two cores give it at most ${(2 / inlineCores).toFixed(2)}x before they slow each other down\n`,
    );
    const reference = rounds[0][0].numbers;
    const same = rounds.every((row) => row.every((r) => r.numbers[0] === reference[0] && r.numbers[1] === reference[1]));
    process.stdout.write(same ? `  numbers: identical across the ${executors.length} executors and ${roundCount} round(s)\n` : '  numbers: DIFFER between executors\n');
    return same ? 0 : 1;
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(undefined) : w.once('exit', r)))));
    client?.disconnect();
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
