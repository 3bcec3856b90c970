/**
 * The bullmq executor (`gfra run SPEC --executor bullmq --redis URL`): the planned jobs' batches
 * go onto a BullMQ queue in Redis, `gfra worker` processes on any machine run them, and this
 * process (the coordinator) keeps the Monte Carlo loop of every job: it takes each job's batches
 * in order, applies the stopping rule and the non-finite rule exactly as inline, and commits each
 * batch to the results store once. So the numbers are those of the inline executor, whatever the
 * number of workers, their speed, or their failures.
 *
 * - A batch job is keyed by (spec hash, point, candidate, repetition, trained artifact, batch)
 *   (a hash: BullMQ ids cannot hold ':'); adding a key that is already queued or done is a no-op,
 *   and a reply for a batch already used, or past a job's stop, is ignored.
 * - Batches are queued ahead of use, in plan order, at most `2 x workers` at a time and never more
 *   than that many ahead of a job's next batch; the batches queued past a job's stop are removed
 *   (the ones a worker already runs are discarded when they come back).
 * - A worker that dies loses its batch's lock; the queue gives the batch to another worker (up to
 *   three times; then the job fails, saying so).
 * - A killed coordinator leaves its queue and the workers' replies in Redis; started again on the
 *   same spec and output folder, it resumes from the results store, finds the batches already
 *   queued or done under the same keys, and ends with the same numbers.
 * - A job's `seconds` (and montecarlo.maxSeconds) count the workers' time on its batches, not the
 *   coordinator's wall clock, which includes the time a batch waits in the queue.
 */
import { randomUUID } from 'node:crypto';
import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { GfraUserError, type Registry, type TrialRange } from '@gfra/core';
import type { Completed, Executor, ExecutorContext } from '../engine/executors';
import { accumulateJob, batchRange, jobFailure, type BatchOutput, type BatchSource } from '../engine/montecarlo';
import type { PlannedJob } from '../plan/plan';
import { failureLine, type JobFailure, type ThresholdSummary } from '../results/format';
import { uploadArtifact } from './artifacts';
import {
  batchJobId,
  jobKey as keyOf,
  buildIdentity,
  coordinatorKey,
  decodeNumbers,
  decodeValues,
  DESCRIPTOR_FORMAT,
  encodeDescriptor,
  listWorkers,
  HEARTBEAT_EVERY_MS,
  HEARTBEAT_TTL_MS,
  KEY_PREFIX,
  parseRedisUrl,
  connectRedis,
  pluginModuleFiles,
  processName,
  queueName,
  refusedKey,
  RUNS_KEY,
  runKey,
  type BatchJobData,
  type BatchReply,
  type RunDescriptor,
} from './protocol';

export interface BullmqExecutorOptions {
  readonly redis: string;
  /** The spec's hash (the run's identity in Redis), its name, and every planned job of it. */
  readonly specHash: string;
  readonly specName: string;
  readonly allJobs: readonly PlannedJob[];
  /** How often the coordinator looks at the workers, in ms (tests shorten it). */
  readonly monitorMs?: number;
}

/** The bullmq executor and what it learnt about the workers that ran the batches. */
export interface BullmqExecutor {
  readonly executor: Executor;
  /** For results.json's environment: the executor and the workers that returned batches. */
  environment(): Record<string, string>;
}

/** The planned job of a failed batch, as the worker recorded it. */
class RemoteJobFailure extends Error {
  constructor(readonly failure: JobFailure) {
    super(failure.message);
  }
}


export function bullmqExecutor(options: BullmqExecutorOptions): BullmqExecutor {
  const backends = new Map<string, string>();
  return {
    executor: (ctx) => coordinate(ctx, options, backends),
    environment: () => ({
      executor: 'bullmq',
      workers: [...backends].map(([worker, backend]) => `${worker} (${backend})`).join(', '),
    }),
  };
}

interface Outstanding {
  readonly data: BatchJobData;
  readonly resolve: (reply: BatchReply) => void;
  readonly reject: (err: Error) => void;
}

async function* coordinate(ctx: ExecutorContext, options: BullmqExecutorOptions, backends: Map<string, string>): AsyncIterable<Completed> {
  const { url, display } = parseRedisUrl(options.redis);
  const note = (message: string) => ctx.onProgress?.({ type: 'note', message });
  const warn = (message: string) => ctx.onProgress?.({ type: 'warning', message });
  const run = options.specHash;
  const redis = await connectRedis(url, display);
  let lock: { release: () => Promise<void> } | undefined;
  let queue: Queue<BatchJobData, BatchReply> | undefined;
  let events: QueueEvents | undefined;
  let monitor: NodeJS.Timeout | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let finishedCleanly = false;
  /** Connections BullMQ is given (it does not close a connection it did not create). */
  const connections: Redis[] = [];
  const connection = () => {
    const c = redis.duplicate();
    c.on('error', () => undefined);
    connections.push(c);
    return c;
  };
  try {
    lock = await acquireLock(redis, run, display, note);
    // Trained artifacts, once each, by content hash.
    const artifactHash = new Map<string, string>();
    for (const { artifact } of ctx.jobs) {
      if (artifact !== undefined && !artifactHash.has(artifact)) artifactHash.set(artifact, await uploadArtifact(redis, artifact));
    }
    const descriptor: Omit<RunDescriptor, 'jobs'> = {
      format: DESCRIPTOR_FORMAT,
      run,
      specName: options.specName,
      specFile: ctx.specFile,
      coordinator: processName(),
      build: buildIdentity(ctx.registry),
      pluginModules: pluginModuleFiles(ctx.pluginModules),
    };
    await redis.set(runKey(run), encodeDescriptor(descriptor, options.allJobs));
    await redis.zadd(RUNS_KEY, 'NX', Date.now(), run);

    queue = new Queue<BatchJobData, BatchReply>(queueName(run), { connection: connection(), prefix: KEY_PREFIX });
    queue.on('error', () => undefined);
    events = new QueueEvents(queueName(run), { connection: connection(), prefix: KEY_PREFIX });
    events.on('error', () => undefined);
    await events.waitUntilReady();
    const q = queue;

    // Replies by job id; a reply for an id no longer outstanding is ignored.
    const outstanding = new Map<string, Outstanding>();
    const deliver = (id: string, reply: BatchReply | null) => {
      const o = outstanding.get(id);
      if (o === undefined || reply === null) return;
      outstanding.delete(id);
      o.resolve(reply);
    };
    const fail = (id: string, reason: string) => {
      const o = outstanding.get(id);
      if (o === undefined) return;
      outstanding.delete(id);
      o.reject(new Error(`batch ${o.data.batch} failed on the workers: ${reason}`));
    };
    events.on('completed', ({ jobId, returnvalue }) => deliver(jobId, parseReply(returnvalue)));
    events.on('failed', ({ jobId, failedReason }) => fail(jobId, failedReason));
    /** What is already known of a job (a restarted coordinator finds replies that came while it was away). */
    const settle = async (id: string) => {
      // The state first, then the job: read the other way round, a job that completes in
      // between would look completed without its return value.
      const state = await q.getJobState(id);
      if (state === 'unknown') {
        const o = outstanding.get(id);
        if (o !== undefined) await q.add('batch', o.data, { jobId: id, attempts: 3, removeOnFail: false, removeOnComplete: false });
      } else if (state === 'completed') {
        const job = await Job.fromId<BatchJobData, BatchReply>(q, id);
        if (job !== undefined) deliver(id, parseReply(job.returnvalue));
      } else if (state === 'failed' && outstanding.has(id)) {
        // Failed before (a previous coordinator's run, or workers that died with it): try again.
        const job = await Job.fromId<BatchJobData, BatchReply>(q, id);
        await job?.retry('failed').catch(() => undefined);
      }
    };
    const submit = (data: BatchJobData, id: string): Promise<BatchReply> =>
      new Promise<BatchReply>((resolve, reject) => {
        outstanding.set(id, { data, resolve, reject });
        q.add('batch', data, { jobId: id, attempts: 3, removeOnFail: false, removeOnComplete: false })
          .then(() => settle(id))
          .catch((err: unknown) => reject(err instanceof Error ? err : new Error(String(err))));
      });
    const discard = (id: string) => {
      outstanding.delete(id);
      void q.remove(id).catch(() => undefined);
    };
    // Events can be missed (a reconnect): look at every outstanding job now and then.
    sweeper = setInterval(() => {
      for (const id of [...outstanding.keys()]) void settle(id).catch(() => undefined);
    }, 2000);

    const scheduler = new Scheduler();
    const sources = ctx.jobs.map(({ job, artifact, resume }) => {
      const hash = artifact === undefined ? undefined : artifactHash.get(artifact);
      return new RemoteSource(job, run, hash, resume?.length ?? 0, scheduler, submit, discard, ctx.signal, backends);
    });
    scheduler.sources = sources;

    // The workers serving this run, and the refusals.
    const seenRefusals = new Set<string>();
    let lastWorkers = -1;
    let waitingSaid = false;
    const started = Date.now();
    const look = async () => {
      const workers = (await listWorkers(redis)).filter((w) => w.run === run);
      scheduler.setWorkers(workers.length);
      for (const [id, message] of Object.entries(await redis.hgetall(refusedKey(run)))) {
        if (!seenRefusals.has(id)) {
          seenRefusals.add(id);
          warn(message);
        }
      }
      if (workers.length !== lastWorkers) {
        if (workers.length > 0 || lastWorkers > 0) note(`workers serving this run: ${workers.length}${workers.length === 0 ? '' : ` (${workers.map((w) => `${w.host}:${w.pid} ${w.backend}`).join(', ')})`}`);
        lastWorkers = workers.length;
      }
      if (workers.length === 0 && !waitingSaid && Date.now() - started > 3000) {
        waitingSaid = true;
        note(`no worker serves this run yet: start \`gfra worker --redis ${display}\` on any machine (the batches wait in the queue)`);
      }
      ctx.onProgress?.({ type: 'cluster', workers: workers.length, inFlight: scheduler.inFlight });
    };
    await look();
    monitor = setInterval(() => void look().catch(() => undefined), options.monitorMs ?? 1000);

    // Every job's Monte Carlo loop, concurrently; the scheduler queues their batches in plan order.
    const done: Completed[] = [];
    let wake: (() => void) | undefined;
    let running = sources.length;
    const total = ctx.jobs.length;
    ctx.jobs.forEach(({ job, resume }, position) => {
      ctx.onProgress?.({ type: 'job-start', job, index: position, total });
      const onBatch = ctx.onBatch;
      accumulateJob(job, sources[position], {
        onProgress: ctx.onProgress,
        signal: ctx.signal,
        index: position,
        total,
        resume,
        ...(onBatch === undefined ? {} : { onBatch: (record) => onBatch(position, record) }),
      }).then(
        (result) => {
          // Interrupted before its first batch came back: not started, as inline and pool say.
          if (result.stop === 'interrupted' && sources[position].used === 0 && (resume?.length ?? 0) === 0) return;
          done.push({ position, result });
        },
        (err: unknown) => {
          sources[position].stop();
          const failure = err instanceof RemoteJobFailure ? err.failure : jobFailure(job, err);
          ctx.onProgress?.({ type: 'job-failed', job, index: position, total, failure });
          warn(`${failureLine(failure)} (the run goes on without it)`);
          done.push({ position, failure });
        },
      ).finally(() => {
        running -= 1;
        wake?.();
      });
    });
    const onAbort = () => wake?.();
    ctx.signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        while (done.length > 0) yield done.shift() as Completed;
        if (running === 0) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      ctx.signal?.removeEventListener('abort', onAbort);
    }
    finishedCleanly = true;
  } finally {
    if (monitor !== undefined) clearInterval(monitor);
    if (sweeper !== undefined) clearInterval(sweeper);
    if (finishedCleanly) {
      // The run is over (finished or interrupted): nothing of it stays in Redis. Its workers
      // leave it first (they look every half second), so that none writes to the queue after.
      await redis.zrem(RUNS_KEY, run).catch(() => undefined);
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline && (await listWorkers(redis).catch(() => [])).some((w) => w.run === run)) await new Promise((r) => setTimeout(r, 100));
      await redis.del(runKey(run), refusedKey(run)).catch(() => undefined);
      await queue?.obliterate({ force: true }).catch(() => undefined);
    }
    await events?.close().catch(() => undefined);
    await queue?.close().catch(() => undefined);
    await lock?.release().catch(() => undefined);
    for (const c of connections) c.disconnect();
    redis.disconnect();
  }
}

/** Decides which batches go onto the queue: plan order, at most `limit` at a time. */
class Scheduler {
  sources: readonly RemoteSource[] = [];
  inFlight = 0;
  private limit = 2;

  setWorkers(workers: number): void {
    this.limit = Math.max(2, 2 * workers);
    this.pump();
  }

  /** How far ahead of its next batch a job may queue. */
  get window(): number {
    return this.limit;
  }

  pump(): void {
    while (this.inFlight < this.limit) {
      const source = this.sources.find((s) => s.canEnqueue());
      if (source === undefined) return;
      source.enqueueNext();
    }
  }
}

interface Deferred {
  readonly promise: Promise<BatchReply>;
  resolve(reply: BatchReply): void;
  reject(err: Error): void;
}

function deferred(): Deferred {
  let resolve!: (reply: BatchReply) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<BatchReply>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A batch fetched ahead and never used (past a stop) must not be an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** One planned job's batches, from the workers. */
class RemoteSource implements BatchSource {
  private readonly replies = new Map<number, Deferred>();
  /** Queue ids of this job's batches still in Redis. */
  private readonly ids = new Map<number, string>();
  /** Batches counted in the scheduler's in-flight number (queued, no reply yet). */
  private readonly counted = new Set<number>();
  private next: number;
  private consumed: number;
  private readonly batches: number;
  private stopped = false;
  private seconds = 0;
  private fitted: ThresholdSummary | undefined;
  /** Batches of the workers used by this session. */
  used = 0;

  constructor(
    readonly job: PlannedJob,
    private readonly run: string,
    private readonly artifact: string | undefined,
    start: number,
    private readonly scheduler: Scheduler,
    private readonly submit: (data: BatchJobData, id: string) => Promise<BatchReply>,
    private readonly discard: (id: string) => void,
    private readonly signal: AbortSignal | undefined,
    private readonly backends: Map<string, string>,
  ) {
    this.next = start;
    this.consumed = start;
    this.batches = Math.ceil(job.montecarlo.maxTrials / job.montecarlo.batchSize);
  }

  canEnqueue(): boolean {
    return !this.stopped && this.signal?.aborted !== true && this.next < Math.min(this.batches, this.consumed + this.scheduler.window);
  }

  enqueueNext(): void {
    const index = this.next++;
    this.request(index, batchRange(this.job.montecarlo, index)).then(
      (reply) => this.reply(index).resolve(reply),
      (err: Error) => this.reply(index).reject(err),
    );
  }

  private request(index: number, range: TrialRange): Promise<BatchReply> {
    const key = keyOf(this.job);
    const id = batchJobId(this.run, key, this.artifact, index);
    this.ids.set(index, id);
    this.counted.add(index);
    this.scheduler.inFlight += 1;
    const data: BatchJobData = { key, batch: index, first: range.first, count: range.count, ...(this.artifact === undefined ? {} : { artifact: this.artifact }) };
    return this.submit(data, id).finally(() => this.uncount(index));
  }

  private uncount(index: number): void {
    if (!this.counted.delete(index)) return;
    this.scheduler.inFlight -= 1;
    this.scheduler.pump();
  }

  private reply(index: number): Deferred {
    let d = this.replies.get(index);
    if (d === undefined) {
      d = deferred();
      this.replies.set(index, d);
    }
    return d;
  }

  async batch(index: number, range: TrialRange): Promise<BatchOutput | undefined> {
    // The batch before was committed by now: its reply can leave Redis.
    this.forget(index - 1);
    this.consumed = index;
    this.scheduler.pump();
    const expected = batchRange(this.job.montecarlo, index);
    if (expected.first !== range.first || expected.count !== range.count) throw new Error(`batch ${index} of "${this.job.candidate}": trials ${range.first}+${range.count}, planned ${expected.first}+${expected.count}`);
    const reply = await abortable(this.reply(index).promise, this.signal);
    if (reply === undefined) return undefined;
    this.replies.delete(index);
    if (!reply.ok) throw new RemoteJobFailure(reply.failure);
    this.used += 1;
    this.seconds += reply.seconds;
    if (reply.threshold !== undefined) this.fitted = reply.threshold;
    this.backends.set(reply.worker, reply.backend);
    return { values: decodeValues(reply.values), nonFinite: reply.nonFinite, detector: reply.detector, diagnostics: decodeNumbers(reply.diagnostics) };
  }

  /** Batch `index` is no longer needed: out of the in-flight count, out of Redis, its reply ignored. */
  private forget(index: number): void {
    const id = this.ids.get(index);
    if (id === undefined) return;
    this.ids.delete(index);
    this.uncount(index);
    this.discard(id);
  }

  elapsed(): number {
    return this.seconds;
  }

  async threshold(): Promise<ThresholdSummary | undefined> {
    if (this.job.threshold === undefined || this.fitted !== undefined) return this.fitted;
    // No batch ran in this session (every one was stored): a worker fits the threshold alone.
    const reply = await abortable(this.request(-1, { first: 0, count: 0 }), this.signal);
    this.forget(-1);
    if (reply === undefined) return undefined;
    if (!reply.ok) throw new RemoteJobFailure(reply.failure);
    this.fitted = reply.threshold;
    return this.fitted;
  }

  async finished(): Promise<void> {
    this.stop();
  }

  /** No more batches: every one still queued is removed, and its reply ignored. */
  stop(): void {
    this.stopped = true;
    for (const index of [...this.ids.keys()]) this.forget(index);
    this.scheduler.pump();
  }
}

/** The promise's value, or undefined once `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** A job's return value (an object, or its JSON text); null when it has none (yet). */
function parseReply(value: unknown): BatchReply | null {
  const reply = (typeof value === 'string' ? JSON.parse(value) : value) as BatchReply | null | undefined;
  return reply === undefined || reply === null || typeof reply !== 'object' ? null : reply;
}

/**
 * The run's lock in Redis: one coordinator per spec and Redis database. A lock left by a killed
 * coordinator on this host is taken over at once; one from another host when it expires.
 */
async function acquireLock(redis: Redis, run: string, display: string, note: (m: string) => void): Promise<{ release: () => Promise<void> }> {
  const key = coordinatorKey(run);
  const me = processName();
  const value = JSON.stringify({ ...me, token: randomUUID() });
  const deadline = Date.now() + HEARTBEAT_TTL_MS + 2000;
  let said = false;
  for (;;) {
    if ((await redis.set(key, value, 'PX', HEARTBEAT_TTL_MS, 'NX')) === 'OK') break;
    const text = await redis.get(key);
    const holder = text === null ? undefined : (JSON.parse(text) as { host: string; pid: number });
    if (holder !== undefined && holder.host === me.host && !alive(holder.pid)) {
      // Ours, from a coordinator of this machine that was killed.
      if ((await redis.get(key)) === text) await redis.del(key);
      continue;
    }
    if (Date.now() > deadline) {
      throw new GfraUserError(
        `another coordinator (${holder?.host}:${holder?.pid}) is running this spec on ${display}: wait for it to end, or give this run its own Redis database (e.g. ${display.replace(/\/\d+$/, '')}/1)`,
      );
    }
    if (!said) {
      said = true;
      note(`the spec's run on ${display} is locked by ${holder?.host}:${holder?.pid}; waiting up to ${Math.ceil(HEARTBEAT_TTL_MS / 1000)} s for its lock to expire`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const refresh = setInterval(() => {
    void redis.get(key).then((v) => (v === value ? redis.set(key, value, 'PX', HEARTBEAT_TTL_MS, 'XX') : undefined)).catch(() => undefined);
  }, HEARTBEAT_EVERY_MS);
  return {
    release: async () => {
      clearInterval(refresh);
      if ((await redis.get(key)) === value) await redis.del(key);
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
