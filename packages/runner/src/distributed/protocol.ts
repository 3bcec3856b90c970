/**
 * What the coordinator (`gfra run --executor bullmq`) and its workers (`gfra worker`) exchange
 * through Redis: key names, the run descriptor, batch jobs and their replies, and the identity a
 * worker must share with the coordinator to be let in.
 *
 * Keys (prefix `gfra`; a run is identified by its spec hash):
 *
 *   gfra:runs                       sorted set of active runs (score: start time, ms)
 *   gfra:run:<run>                  the run descriptor (JSON, {@link RunDescriptor})
 *   gfra:run:<run>:coordinator      the coordinator's lock (JSON {host, pid, token}, expires)
 *   gfra:run:<run>:refused          hash: worker id -> why it was refused
 *   gfra:worker:<id>                a worker's heartbeat (JSON {@link WorkerInfo}, expires)
 *   gfra:artifact:<sha256>          hash: file name -> bytes of a trained artifact (artifacts.ts)
 *   gfra:run-<run>:...              the BullMQ queue of the run's batch jobs (prefix gfra)
 */
import { createHash } from 'node:crypto';
import * as v8 from 'node:v8';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { GfraUserError, PLUGIN_KINDS, type Registry, type TrialValues } from '@gfra/core';
import { Redis } from 'ioredis';
import type { BatchOutput } from '../engine/montecarlo';
import type { PlannedJob } from '../plan/plan';
import type { JobFailure, ThresholdSummary } from '../results/format';
import { jobKeyString } from '../results/store';

export const KEY_PREFIX = 'gfra';
export const RUNS_KEY = `${KEY_PREFIX}:runs`;
export const runKey = (run: string) => `${KEY_PREFIX}:run:${run}`;
export const coordinatorKey = (run: string) => `${KEY_PREFIX}:run:${run}:coordinator`;
export const refusedKey = (run: string) => `${KEY_PREFIX}:run:${run}:refused`;
export const workerKey = (id: string) => `${KEY_PREFIX}:worker:${id}`;
export const WORKER_KEY_PATTERN = `${KEY_PREFIX}:worker:*`;
/** The BullMQ queue of a run (BullMQ prefixes it with {@link KEY_PREFIX}). */
export const queueName = (run: string) => `run-${run}`;

/** How long a heartbeat (worker) or lock (coordinator) lives without being renewed, in ms. */
export const HEARTBEAT_TTL_MS = 15000;
export const HEARTBEAT_EVERY_MS = 3000;

/** The descriptor format; a worker refuses another. */
export const DESCRIPTOR_FORMAT = 1;

/**
 * What must be the same on a worker and its coordinator for their numbers to agree: the gfra
 * version and a hash of its sources, the tfjs version, and the plugin set (each registered
 * plugin's kind, name and parameter schema, and the content of the spec's plugin modules).
 */
export interface BuildIdentity {
  readonly gfra: string;
  /** sha256 of gfra's TypeScript sources (every package's src/, tests excluded). */
  readonly sources: string;
  readonly tfjs: string;
  /** sha256 of the registry's plugins (kind, name, params schema), built-ins and modules. */
  readonly plugins: string;
}

/** A plugin module of the spec: the path the coordinator loaded it from, and its content hash. */
export interface PluginModuleFile {
  readonly file: string;
  readonly sha256?: string;
}

/** What a worker needs to run any batch of a run (written by the coordinator). */
export interface RunDescriptor {
  readonly format: number;
  readonly run: string;
  readonly specName: string;
  /** The spec file on the coordinator's machine (for messages; workers never read it). */
  readonly specFile: string;
  readonly coordinator: { readonly host: string; readonly pid: number };
  readonly build: BuildIdentity;
  readonly pluginModules: readonly PluginModuleFile[];
  /** Every planned job of the spec, by {@link jobKeyString}. */
  readonly jobs: Readonly<Record<string, PlannedJob>>;
}

/** The data of one BullMQ job: batch `batch` of planned job `key` (batch -1: the threshold alone). */
export interface BatchJobData {
  readonly key: string;
  readonly batch: number;
  readonly first: number;
  readonly count: number;
  /** Content hash of the trained artifact the job evaluates (artifacts.ts). */
  readonly artifact?: string;
}

/** A worker's heartbeat: who it is, what it runs on, what it is doing. */
export interface WorkerInfo {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly backend: string;
  readonly node: string;
  readonly build: Pick<BuildIdentity, 'gfra' | 'sources' | 'tfjs'>;
  /** The run it serves, if any. */
  readonly run?: string;
  /** Batches it has completed since it started. */
  readonly batches: number;
}

/** A batch's per-trial values as base64 little-endian float64 (exact for float32 and int32). */
type EncodedValues = Record<string, { readonly events: string; readonly samples: string } | { readonly values: string }>;

/** What a worker returns for a batch job. */
export type BatchReply =
  | {
      readonly ok: true;
      readonly worker: string;
      readonly backend: string;
      /** The worker's seconds on this job for this batch (including preparing the job, when it did). */
      readonly seconds: number;
      readonly values: EncodedValues;
      readonly nonFinite: BatchOutput['nonFinite'];
      readonly detector: BatchOutput['detector'];
      /** Non-finite diagnostics as the strings "NaN", "Infinity", "-Infinity". */
      readonly diagnostics: Readonly<Record<string, number | string>>;
      readonly threshold?: ThresholdSummary;
    }
  /** The job failed as it would inline (a plugin's error, a bad artifact): the planned job fails. */
  | { readonly ok: false; readonly worker: string; readonly failure: JobFailure };

/** A planned job's key in the run descriptor: (candidate, point, repetition). */
export function jobKey(job: PlannedJob): string {
  return jobKeyString({ candidate: job.candidate, point: job.point, repetition: job.repetition });
}

/** The BullMQ job id of batch `batch` of job `key` of run `run`: a hash of that key (ids cannot hold ':'). */
export function batchJobId(run: string, key: string, artifact: string | undefined, batch: number): string {
  return createHash('sha256').update(`${run}\u0000${key}\u0000${artifact ?? ''}\u0000${batch}`).digest('hex').slice(0, 40);
}

function encodeArray(a: ArrayLike<number>): string {
  const f = Float64Array.from(a);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}

function decodeArray(s: string): Float64Array {
  const b = Buffer.from(s, 'base64');
  // Copy into an aligned buffer (a Buffer's offset into its pool need not be a multiple of 8).
  const out = new Float64Array(b.byteLength / 8);
  new Uint8Array(out.buffer).set(b);
  return out;
}

export function encodeValues(values: ReadonlyMap<string, TrialValues>): EncodedValues {
  const out: EncodedValues = {};
  for (const [name, v] of values) out[name] = 'values' in v ? { values: encodeArray(v.values) } : { events: encodeArray(v.events), samples: encodeArray(v.samples) };
  return out;
}

export function decodeValues(encoded: EncodedValues): Map<string, TrialValues> {
  const out = new Map<string, TrialValues>();
  for (const [name, v] of Object.entries(encoded)) out.set(name, 'values' in v ? { values: decodeArray(v.values) } : { events: decodeArray(v.events), samples: decodeArray(v.samples) });
  return out;
}

export function encodeNumbers(values: Readonly<Record<string, number>>): Record<string, number | string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Number.isFinite(v) ? v : String(v)]));
}

export function decodeNumbers(values: Readonly<Record<string, number | string>>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'number' ? v : Number(v)]));
}

/** sha256 of a file's bytes. */
export function fileHash(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

let sourcesHash: string | undefined;

/**
 * sha256 over gfra's TypeScript sources (packages/<name>/src, tests excluded), the same whether
 * this process runs the compiled build or the sources. Computed once per process.
 */
export function gfraSourcesHash(): string {
  if (sourcesHash !== undefined) return sourcesHash;
  // This file is packages/runner/{src,dist}/distributed/protocol.{ts,js}.
  const packages = path.resolve(__dirname, '..', '..', '..');
  const hash = createHash('sha256');
  const walk = (dir: string, rel: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full, `${rel}/${entry.name}`);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) hash.update(`${rel}/${entry.name}\u0000`).update(fs.readFileSync(full)).update('\u0000');
    }
  };
  for (const name of fs.readdirSync(packages).sort()) {
    const src = path.join(packages, name, 'src');
    if (fs.existsSync(src)) walk(src, name);
  }
  sourcesHash = hash.digest('hex');
  return sourcesHash;
}

/** The gfra version (this package's). */
export function gfraVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return (require('../../package.json') as { version: string }).version;
}

/** sha256 of a registry's plugins: kind, name and params schema of each, in a fixed order. */
export function pluginSetHash(registry: Registry): string {
  const rows = PLUGIN_KINDS.flatMap((kind) => registry.list(kind).map((cls) => `${kind}:${cls.plugin.name}:${JSON.stringify(cls.plugin.params)}`)).sort();
  return createHash('sha256').update(rows.join('\n')).digest('hex');
}

export function buildIdentity(registry: Registry): BuildIdentity {
  return { gfra: gfraVersion(), sources: gfraSourcesHash(), tfjs: tf.version_core, plugins: pluginSetHash(registry) };
}

/** The plugin modules of a spec, as the coordinator loaded them (files get their content hash). */
export function pluginModuleFiles(modules: readonly string[]): PluginModuleFile[] {
  return modules.map((file) => (path.isAbsolute(file) && fs.existsSync(file) ? { file, sha256: fileHash(file) } : { file }));
}

/**
 * Why a worker with identity `mine` must not run the batches of `descriptor` (one line per
 * difference, with what to do), or an empty list. The plugin modules are compared by content;
 * the plugin set is compared once they are loaded (`loadedPlugins`).
 */
export function incompatibilities(descriptor: RunDescriptor, mine: Omit<BuildIdentity, 'plugins'>, loadedPlugins?: string): string[] {
  const out: string[] = [];
  if (descriptor.format !== DESCRIPTOR_FORMAT) {
    out.push(`the coordinator writes run descriptors of format ${descriptor.format}, this worker reads format ${DESCRIPTOR_FORMAT}: run the same gfra version on both`);
    return out;
  }
  const theirs = descriptor.build;
  if (theirs.gfra !== mine.gfra) out.push(`gfra ${mine.gfra} here, ${theirs.gfra} on the coordinator: install the same version on every machine`);
  else if (theirs.sources !== mine.sources) {
    out.push(`gfra's sources differ from the coordinator's (${mine.sources.slice(0, 12)} here, ${theirs.sources.slice(0, 12)} there): check out the same commit, without local changes, on every machine`);
  }
  if (theirs.tfjs !== mine.tfjs) out.push(`tfjs ${mine.tfjs} here, ${theirs.tfjs} on the coordinator: install the same versions (pnpm install --frozen-lockfile)`);
  for (const m of descriptor.pluginModules) {
    if (m.sha256 === undefined) continue;
    if (!fs.existsSync(m.file)) out.push(`the spec's plugin module ${m.file} is not on this machine: put the same file at the same path (a shared folder, or a copy)`);
    else if (fileHash(m.file) !== m.sha256) out.push(`the spec's plugin module ${m.file} differs from the coordinator's: copy the coordinator's file`);
  }
  if (out.length === 0 && loadedPlugins !== undefined && loadedPlugins !== theirs.plugins) {
    out.push('the registered plugins (names or parameters) differ from the coordinator\'s: install the same plugin packages on every machine');
  }
  return out;
}

/** A `--redis` URL, checked (redis:// or rediss://, host, optional port and database). */
export function parseRedisUrl(url: string): { url: string; display: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new GfraUserError(`--redis ${JSON.stringify(url)} is not a URL: give e.g. redis://127.0.0.1:6379 (or redis://:password@host:port/db)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new GfraUserError(`--redis ${JSON.stringify(url)} must start with redis:// or rediss:// (e.g. redis://127.0.0.1:6379)`);
  }
  if (parsed.hostname === '') throw new GfraUserError(`--redis ${JSON.stringify(url)} names no host (e.g. redis://127.0.0.1:6379)`);
  // Never print a password.
  const display = `${parsed.protocol}//${parsed.hostname}${parsed.port === '' ? '' : `:${parsed.port}`}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  return { url, display };
}

/**
 * A connection to Redis (retrying a lost connection forever, as BullMQ requires), or a
 * {@link GfraUserError} saying that the server cannot be reached and how to start one.
 */
export async function connectRedis(url: string, display: string): Promise<Redis> {
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new GfraUserError(`cannot reach Redis at ${display}: ${(err instanceof Error ? err.message : String(err)).replace(/\.+$/, '')}. Start it (redis-server --port 6379) or give --redis redis://HOST:PORT`);
  }
  return redis;
}

/** This process, as a worker or coordinator names it. */
export function processName(): { host: string; pid: number } {
  return { host: os.hostname(), pid: process.pid };
}

/**
 * The run descriptor as stored: JSON, with the planned jobs as base64 of Node's structured
 * serialisation (what a pool worker receives; keeps every number, NaN and Infinity included).
 */
export function encodeDescriptor(descriptor: Omit<RunDescriptor, 'jobs'>, jobs: readonly PlannedJob[]): string {
  const byKey = Object.fromEntries(jobs.map((job) => [jobKey(job), job]));
  return JSON.stringify({ ...descriptor, jobs: v8.serialize(byKey).toString('base64') });
}

export function decodeDescriptor(text: string): RunDescriptor {
  const raw = JSON.parse(text) as Omit<RunDescriptor, 'jobs'> & { jobs: string };
  return { ...raw, jobs: v8.deserialize(Buffer.from(raw.jobs, 'base64')) as Record<string, PlannedJob> };
}

/** The workers whose heartbeat is in Redis. */
export async function listWorkers(redis: Redis): Promise<WorkerInfo[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', WORKER_KEY_PATTERN, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await redis.mget(...keys);
  return values.flatMap((v) => {
    if (v === null) return [];
    try {
      return [JSON.parse(v) as WorkerInfo];
    } catch {
      return [];
    }
  });
}
