/**
 * The bullmq executor against a real redis-server: worker processes that die, a coordinator that
 * dies, a worker that must be refused. Every run's numbers are compared with the inline executor.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { GfraUserError } from '@gfra/core';
import { loadSpec } from '../src/plan/load';
import { runSpec } from '../src/run';
import { DESCRIPTOR_FORMAT, encodeDescriptor, coordinatorKey, refusedKey, RUNS_KEY, runKey, listWorkers } from '../src/distributed/protocol';
import type { JobResult } from '../src/results/format';
import { redisAvailable, startRedis, type TestRedis } from './helpers/redis';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'packages', 'runner', 'bin', 'gfra.js');

/** Four jobs of mmv-amp and an energy detector; some stop on their events, some at maxTrials. */
function writeSpec(dir: string, maxTrials = 3000, targetEvents = 500): string {
  const file = path.join(dir, 'spec.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      name: 'distributed',
      seed: 11,
      scenario: { numDevices: 40, numAntennas: 4, sequenceLength: 12, bitsPerDevice: 0 },
      traffic: { plugin: 'bernoulli', params: { activityProb: 0.1 } },
      channel: { plugin: 'rayleigh', params: { snrDb: 10 } },
      encoder: { plugin: 'gaussian-pilots', params: {} },
      candidates: {
        amp: { detector: { plugin: 'mmv-amp', params: {} } },
        energy: { detector: { plugin: 'correlation-energy', params: { threshold: { rule: 'false-alarm', falseAlarm: 0.05 } } } },
      },
      metrics: [{ plugin: 'activity', params: {} }],
      sweep: { 'channel.params.snrDb': [0, 10] },
      montecarlo: { batchSize: 20, targetEvents, maxTrials, maxSeconds: 600 },
    }),
  );
  return file;
}

/**
 * What must be identical between executors: everything but timings and the detector's
 * diagnostics (which count what one pipeline instance saw: under bullmq, the worker that ran a
 * job's last batch).
 */
function numbers(results: readonly JobResult[]): unknown[] {
  return results.map((r) => ({ ...r, seconds: undefined, detectorTime: undefined, diagnostics: undefined }));
}

interface Proc {
  readonly child: ChildProcess;
  output: string;
  readonly exited: Promise<number | null>;
}

function gfra(args: string[], cwd: string): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc: Proc = { child, output: '', exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
  child.stdout?.on('data', (d: Buffer) => (proc.output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (proc.output += d.toString()));
  return proc;
}

async function until(what: string, test: () => boolean | Promise<boolean>, seconds = 90): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startWorker(redis: TestRedis, dir: string): Proc {
  return gfra(['worker', '--redis', redis.url, '--lock-seconds', '2', '--cache', path.join(dir, 'cache'), '--idle-exit', '120', '--backend', 'wasm'], dir);
}

describe('bullmq executor (redis-server)', function () {
  this.timeout(240000);
  let redis: TestRedis;
  let client: Redis;
  const procs: Proc[] = [];

  before(async function () {
    if (!redisAvailable()) {
      if (process.env.GFRA_REQUIRE_REDIS) throw new Error('redis-server is not installed (GFRA_REQUIRE_REDIS is set): apt-get install redis-server');
      this.skip();
    }
    redis = await startRedis();
    client = new Redis(redis.url);
  });

  afterEach(async () => {
    for (const p of procs.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.exited;
    }
    await client?.flushall();
  });

  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('three workers, one killed (SIGKILL) mid-run: the same numbers as inline, batches committed once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-bullmq-'));
    const file = writeSpec(dir);
    const workers = [0, 1, 2].map(() => startWorker(redis, dir));
    procs.push(...workers);
    await until('three workers', async () => (await listWorkers(client)).length === 3);

    let committed = 0;
    let killedAt: number | undefined;
    let clusterSize = 0;
    const notes: string[] = [];
    const distributed = await runSpec(loadSpec(file), {
      out: path.join(dir, 'bullmq'),
      backend: 'wasm',
      executor: 'bullmq',
      redis: redis.url,
      onProgress: (event) => {
        if (event.type === 'note' || event.type === 'warning') notes.push(event.message);
        if (event.type === 'cluster') clusterSize = Math.max(clusterSize, event.workers);
        if (event.type !== 'batch') return;
        committed += 1;
        // Kill one worker once the coordinator has seen all three serve the run (it looks at the
        // workers about once a second) and at least 15 batches are in.
        if (killedAt === undefined && committed >= 15 && clusterSize === 3) {
          killedAt = committed;
          workers[0].child.kill('SIGKILL');
        }
      },
    });
    const inline = await runSpec(loadSpec(file), { out: path.join(dir, 'inline'), backend: 'wasm' });
    expect(killedAt, 'the worker was killed mid-run').to.be.a('number');
    expect(killedAt as number, 'the worker was killed mid-run').to.be.below(committed);
    expect(workers[0].child.signalCode).to.equal('SIGKILL');
    expect(distributed.results.complete).to.equal(true);
    expect(numbers(distributed.results.results)).to.deep.equal(numbers(inline.results.results));
    // One progress event per committed batch: exactly the batches inline runs, none twice.
    const batches = inline.results.results.reduce((n, r) => n + Math.ceil(r.trials / 20), 0);
    expect(committed).to.equal(batches);
    expect(distributed.results.environment.executor).to.equal('bullmq');
    expect(notes.some((n) => /workers serving this run: 3/.test(n))).to.equal(true);
    // Nothing of the run is left in Redis.
    expect(await client.zrange(RUNS_KEY, 0, -1)).to.deep.equal([]);
    expect(await client.keys('gfra:run-*')).to.deep.equal([]);
  });

  it('a coordinator killed mid-run and started again resumes from the store and the queue, with the same numbers', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-bullmq-'));
    // Long enough that the kill comes well before the end (about 300 batches).
    const file = writeSpec(dir, 4000, 1500);
    procs.push(startWorker(redis, dir), startWorker(redis, dir));
    await until('two workers', async () => (await listWorkers(client)).length === 2);
    const args = ['run', file, '--executor', 'bullmq', '--redis', redis.url, '--out', path.join(dir, 'bullmq'), '--backend', 'wasm', '--no-plot'];
    const first = gfra(args, dir);
    procs.push(first);
    // Kill it once the workers have done some batches (their heartbeats count them).
    await until('batches done', async () => (await listWorkers(client)).reduce((n, w) => n + w.batches, 0) >= 8);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(first.child.signalCode).to.equal('SIGKILL');
    const second = gfra(args, dir);
    procs.push(second);
    const code = await second.exited;
    expect(code, second.output).to.equal(0);
    expect(second.output).to.match(/resuming from .*results\.duckdb: \d+ of 4 jobs already done, \d+ continue after their [1-9]\d* stored trials/);
    const distributed = JSON.parse(fs.readFileSync(path.join(dir, 'bullmq', 'results.json'), 'utf8')) as { complete: boolean; results: JobResult[] };
    const inline = await runSpec(loadSpec(file), { out: path.join(dir, 'inline'), backend: 'wasm' });
    expect(distributed.complete).to.equal(true);
    expect(numbers(distributed.results)).to.deep.equal(numbers(inline.results.results));
  });

  it('a worker refuses a run whose coordinator runs another gfra, and says why', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-bullmq-'));
    const worker = startWorker(redis, dir);
    procs.push(worker);
    await until('a worker', async () => (await listWorkers(client)).length === 1);
    const { jobs } = loadSpec(writeSpec(dir));
    const run = 'f'.repeat(64);
    const descriptor = {
      format: DESCRIPTOR_FORMAT,
      run,
      specName: 'other',
      specFile: '/elsewhere/spec.json',
      coordinator: { host: 'elsewhere', pid: 1 },
      build: { gfra: '0.0.0-other', sources: 'x'.repeat(64), tfjs: '4.22.0', plugins: 'y'.repeat(64) },
      pluginModules: [],
    };
    await client.set(runKey(run), encodeDescriptor(descriptor, jobs));
    await client.set(coordinatorKey(run), JSON.stringify({ host: 'elsewhere', pid: 1, token: 't' }), 'PX', 60000);
    await client.zadd(RUNS_KEY, Date.now(), run);
    await until('a refusal', async () => (await client.hlen(refusedKey(run))) === 1, 30);
    const [message] = Object.values(await client.hgetall(refusedKey(run)));
    expect(message).to.match(/refuses run ffffffffffff \("other" from elsewhere:1\): gfra 0\.1\.0 here, 0\.0\.0-other on the coordinator: install the same version on every machine/);
    await until('the message in its log', () => worker.output.includes('refuses run ffffffffffff'), 10);
    expect((await listWorkers(client))[0].run).to.equal(undefined);
  });

  it('says what is wrong with --executor, --redis and an unreachable server', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-bullmq-'));
    const loaded = loadSpec(writeSpec(dir, 100));
    const attempt = async (options: Parameters<typeof runSpec>[1]) => {
      try {
        await runSpec(loaded, { out: path.join(dir, 'out'), backend: 'wasm', ...options });
      } catch (err) {
        expect(err).to.be.instanceOf(GfraUserError);
        return (err as Error).message;
      }
      throw new Error('no error');
    };
    expect(await attempt({ executor: 'bullmq' })).to.match(/--executor bullmq needs --redis URL/);
    expect(await attempt({ executor: 'bullmq', redis: redis.url, workers: 2 })).to.match(/--workers is for the pool executor/);
    expect(await attempt({ redis: redis.url })).to.match(/--redis is for --executor bullmq/);
    expect(await attempt({ executor: 'bullmq', redis: 'http://x' })).to.match(/must start with redis:\/\//);
    expect(await attempt({ executor: 'bullmq', redis: `redis://127.0.0.1:${redis.port === 1 ? 2 : 1}` })).to.match(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+/);
  });
});
