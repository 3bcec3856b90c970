/**
 * `gfra worker --redis URL`: a process that runs batches for coordinators (`gfra run --executor
 * bullmq`) on any machine that reaches the Redis server. It never reads a spec: it takes the
 * planned jobs from the run descriptor in Redis, checks that it runs the same gfra, tfjs and
 * plugins as the coordinator (else it refuses the run, saying why, on both sides), then consumes
 * the run's BullMQ queue one batch at a time and returns each batch's per-trial statistics.
 *
 * A worker serves one run at a time (the oldest active one it may serve), keeps the last prepared
 * pipelines (so consecutive batches of a job pay for preparation once), and sends a heartbeat
 * with its environment. SIGINT / SIGTERM finish the batch in progress, then exit; a second one
 * exits at once (the queue gives that batch to another worker once its lock expires).
 */
import { Worker as BullWorker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { selectBackend, type BackendChoice, type BackendSelection, type Registry } from '@gfra/core';
import { jobFailure, PreparedJob } from '../engine/montecarlo';
import { builtinRegistry, loadPluginModules } from '../spec/plugins';
import { fetchArtifact } from './artifacts';
import {
  buildIdentity,
  coordinatorKey,
  decodeDescriptor,
  encodeNumbers,
  encodeValues,
  gfraSourcesHash,
  gfraVersion,
  HEARTBEAT_EVERY_MS,
  HEARTBEAT_TTL_MS,
  incompatibilities,
  KEY_PREFIX,
  parseRedisUrl,
  connectRedis,
  processName,
  queueName,
  refusedKey,
  RUNS_KEY,
  runKey,
  workerKey,
  type BatchJobData,
  type BatchReply,
  type RunDescriptor,
  type WorkerInfo,
} from './protocol';
import * as tf from '@tensorflow/tfjs';

export interface WorkerOptions {
  readonly redis: string;
  readonly backend?: BackendChoice;
  /** Folder for downloaded trained artifacts (see artifacts.ts). */
  readonly cache: string;
  /**
   * Seconds a batch may hold its job's lock without renewal; past it the queue gives the batch to
   * another worker. A batch runs without yielding, so this must exceed the longest batch (and the
   * job's preparation); it is also how long a killed worker's batch waits before it is retried.
   */
  readonly lockSeconds: number;
  /** Exit after this many seconds without a run to serve (for job arrays); default: never. */
  readonly idleExitSeconds?: number;
  /** Where the worker says what it does (default: stderr). */
  readonly log?: (line: string) => void;
  /** Stops the worker (after the batch in progress). */
  readonly signal?: AbortSignal;
}

/** Prepared pipelines kept per worker (the jobs of a run are mostly consumed in order). */
const PREPARED_KEPT = 2;

/** How often an idle worker looks for runs, in ms. */
const POLL_MS = 500;

interface Attached {
  readonly run: string;
  readonly descriptor: RunDescriptor;
  readonly bull: BullWorker<BatchJobData, BatchReply>;
  readonly prepared: Map<string, Promise<PreparedJob>>;
  /** Built-in plugins and the run's plugin modules. */
  readonly registry: Registry;
  /** The connection BullMQ was given (it does not close it). */
  readonly connection: Redis;
}

/** Run a worker until `signal` aborts (or it has been idle for idleExitSeconds). */
export async function serveWorker(options: WorkerOptions): Promise<void> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { url, display } = parseRedisUrl(options.redis);
  const backend: BackendSelection = await selectBackend(options.backend ?? 'auto');
  const me = processName();
  const id = `${me.host}:${me.pid}:${Math.random().toString(36).slice(2, 8)}`;
  const redis = await connectRedis(url, display);
  const build = { gfra: gfraVersion(), sources: gfraSourcesHash(), tfjs: tf.version_core };
  let batches = 0;
  let attached: Attached | undefined;
  const refused = new Set<string>();

  const heartbeat = async () => {
    const info: WorkerInfo = { id, ...me, backend: backend.backend, node: process.version, build, batches, ...(attached === undefined ? {} : { run: attached.run }) };
    await redis.set(workerKey(id), JSON.stringify(info), 'PX', HEARTBEAT_TTL_MS);
  };
  await heartbeat();
  const beat = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);
  log(`gfra worker ${id} ready: backend ${backend.backend} (${backend.provider}), gfra ${build.gfra} (sources ${build.sources.slice(0, 12)}), tfjs ${build.tfjs}; waiting for runs on ${display}`);

  const runBatchJob = async (attachment: Attached, job: Job<BatchJobData, BatchReply>): Promise<BatchReply> => {
    const { key, batch, first, count, artifact } = job.data;
    const planned = attachment.descriptor.jobs[key];
    if (planned === undefined) throw new Error(`the run descriptor has no job ${JSON.stringify(key)}`);
    const started = performance.now();
    const cacheKey = `${key}\u0000${artifact ?? ''}`;
    let preparing = attachment.prepared.get(cacheKey);
    if (preparing === undefined) {
      // Environment errors (Redis, the cache folder) throw: the queue retries the batch.
      const dir = artifact === undefined ? undefined : await fetchArtifact(redis, artifact, options.cache);
      preparing = PreparedJob.prepare(planned, { registry: attachment.registry, artifact: dir, warn: (m) => log(`warning: ${m}`) });
      attachment.prepared.set(cacheKey, preparing);
      while (attachment.prepared.size > PREPARED_KEPT) {
        const [oldest, evicted] = attachment.prepared.entries().next().value as [string, Promise<PreparedJob>];
        attachment.prepared.delete(oldest);
        void evicted.then((p) => p.dispose(), () => undefined);
      }
    }
    try {
      const prepared = await preparing;
      if (batch < 0) {
        const threshold = await prepared.threshold();
        return { ok: true, worker: id, backend: backend.backend, seconds: 0, values: {}, nonFinite: { trials: 0, outputs: {} }, detector: { seconds: 0, trials: 0 }, diagnostics: {}, ...(threshold === undefined ? {} : { threshold }) };
      }
      const output = await prepared.batch(batch, { first, count });
      const threshold = await prepared.threshold();
      const seconds = (performance.now() - started) / 1000;
      if (seconds > options.lockSeconds / 2) {
        log(`warning: batch ${batch} of "${planned.candidate}" took ${seconds.toFixed(1)} s, more than half the ${options.lockSeconds} s lock: raise --lock-seconds on every worker (or lower montecarlo.batchSize), else the queue gives the batch to another worker`);
      }
      batches += 1;
      return {
        ok: true,
        worker: id,
        backend: backend.backend,
        seconds,
        values: encodeValues(output.values),
        nonFinite: output.nonFinite,
        detector: output.detector,
        diagnostics: encodeNumbers(output.diagnostics),
        ...(threshold === undefined ? {} : { threshold }),
      };
    } catch (err) {
      // What would fail the job inline fails it here: the coordinator records the failure.
      attachment.prepared.delete(cacheKey);
      return { ok: false, worker: id, failure: jobFailure(planned, err) };
    }
  };


  const refuse = async (run: string, descriptor: RunDescriptor | undefined, why: string[]) => {
    refused.add(run);
    const message = `worker ${id} refuses run ${run.slice(0, 12)}${descriptor === undefined ? '' : ` ("${descriptor.specName}" from ${descriptor.coordinator.host}:${descriptor.coordinator.pid})`}: ${why.join('; ')}`;
    log(message);
    await redis.hset(refusedKey(run), id, message);
  };

  const attach = async (run: string): Promise<Attached | undefined> => {
    const text = await redis.get(runKey(run));
    if (text === null) return undefined;
    let descriptor: RunDescriptor;
    try {
      descriptor = decodeDescriptor(text);
    } catch (err) {
      await refuse(run, undefined, [`its run descriptor cannot be read here (${err instanceof Error ? err.message : String(err)}): run the same gfra and Node.js versions on every machine`]);
      return undefined;
    }
    const before = incompatibilities(descriptor, build);
    if (before.length > 0) {
      await refuse(run, descriptor, before);
      return undefined;
    }
    const registry = builtinRegistry();
    try {
      loadPluginModules(registry, descriptor.pluginModules.map((m) => m.file), descriptor.specFile);
    } catch (err) {
      await refuse(run, descriptor, [`its plugin modules do not load here: ${err instanceof Error ? err.message : String(err)}`]);
      return undefined;
    }
    const after = incompatibilities(descriptor, build, buildIdentity(registry).plugins);
    if (after.length > 0) {
      await refuse(run, descriptor, after);
      return undefined;
    }
    const prepared = new Map<string, Promise<PreparedJob>>();
    const connection = redis.duplicate();
    connection.on('error', () => undefined);
    const bull = new BullWorker<BatchJobData, BatchReply>(queueName(run), async (job) => runBatchJob(attachment, job), {
      connection,
      prefix: KEY_PREFIX,
      concurrency: 1,
      lockDuration: options.lockSeconds * 1000,
      stalledInterval: Math.max(500, (options.lockSeconds * 1000) / 2),
      maxStalledCount: 3,
      autorun: false,
    });
    // A coordinator that ends its run removes the queue under a batch in progress: not an error here.
    bull.on('error', () => undefined);
    const attachment: Attached = { run, descriptor, bull, prepared, connection, registry };
    void bull.run().catch(() => undefined);
    log(`serving run ${run.slice(0, 12)} ("${descriptor.specName}" from ${descriptor.coordinator.host}:${descriptor.coordinator.pid})`);
    return attachment;
  };

  const detach = async (a: Attached) => {
    await a.bull.close().catch(() => undefined);
    await a.bull.disconnect().catch(() => undefined);
    a.connection.disconnect();
    for (const p of a.prepared.values()) void p.then((x) => x.dispose(), () => undefined);
    log(`run ${a.run.slice(0, 12)} ended (${batches} batches done by this worker so far)`);
  };

  let idleSince = Date.now();
  try {
    while (options.signal?.aborted !== true) {
      // A run is active while it is listed and its coordinator holds its lock (a killed
      // coordinator's lock expires; a restarted one takes it again).
      const listed = await redis.zrange(RUNS_KEY, 0, -1);
      const held = await Promise.all(listed.map((r) => redis.exists(coordinatorKey(r))));
      const active = listed.filter((_, i) => held[i] === 1);
      if (attached !== undefined && !active.includes(attached.run)) {
        const a = attached;
        attached = undefined;
        await detach(a);
        idleSince = Date.now();
        await heartbeat();
      }
      if (attached === undefined) {
        for (const run of active) {
          if (refused.has(run)) continue;
          attached = await attach(run);
          if (attached !== undefined) {
            await heartbeat();
            break;
          }
        }
      }
      if (attached === undefined && options.idleExitSeconds !== undefined && Date.now() - idleSince > options.idleExitSeconds * 1000) {
        log(`no run to serve for ${options.idleExitSeconds} s: exiting`);
        break;
      }
      await sleep(POLL_MS, options.signal);
    }
  } finally {
    clearInterval(beat);
    if (attached !== undefined) await detach(attached);
    await redis.del(workerKey(id)).catch(() => undefined);
    redis.disconnect();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
