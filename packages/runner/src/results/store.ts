/**
 * The results store: one DuckDB database per output folder (DIR/results.duckdb), written after
 * every batch (one statement, its own transaction), so that a run killed at any moment loses at
 * most a running job's last two batches (one computed, one in commit: see engine/commits.ts),
 * and a rerun of the same spec resumes where it stopped.
 *
 * Tables (every row keyed by the spec hash, so the results of a changed spec stay apart):
 *
 *   specs   (spec_hash PK, name, spec JSON text, created, updated, planned jobs, complete,
 *            results: the ResultsFile last derived from the store, as JSON text)
 *   jobs    (spec_hash, point (canonical JSON), candidate, repetition, position, status
 *            'done' | 'interrupted' | 'failed', result: the JobResult or JobFailure as JSON text)
 *            PK (spec_hash, point, candidate, repetition)
 *   batches (spec_hash, point, candidate, repetition, batch, first trial, count, seconds,
 *            detector_seconds, detector_trials, diagnostics, layout, trial_values BLOB)
 *            PK (spec_hash, point, candidate, repetition, batch)
 *
 * `trial_values` holds the batch's downloaded per-trial values as little-endian float64 (exact for
 * the float32 and int32 tensors they come from): for each statistic of `layout` in order, `count`
 * events then `count` samples (rates) or `count` values (means). A resumed job replays them
 * through the accumulators in order, so its statistics are bit-identical to an uninterrupted run.
 * The primary key refuses a batch stored twice. `repetition` is 0 .. montecarlo.repetitions - 1.
 *
 * `@duckdb/node-api` is loaded when a store is opened (only `gfra run` and `gfra results`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DuckDBConnection, DuckDBInstance, DuckDBPreparedStatement, DuckDBValue } from '@duckdb/node-api';
import type { TrialValues } from '@gfra/core';
import { canonicalJson } from '../spec/canonical';
import { OutputError, type JobFailure, type JobResult, type ResultsFile } from './format';

/** The database file in an output folder. */
export const STORE_FILE = 'results.duckdb';

/** The store's schema version (meta.version). */
export const STORE_VERSION = 1;

/** The store is locked by the process writing it (a run in progress): it cannot be opened now. */
export class StoreBusy extends OutputError {}

/** One committed batch of one job: what a resumed job replays. */
export interface BatchRecord {
  /** 0, 1, 2, ... within the job. */
  readonly batch: number;
  /** Trial index of its first trial (the trials before it). */
  readonly first: number;
  /** Trials drawn (the accumulators may have used fewer, when the stopping rule fired). */
  readonly count: number;
  /** Per-statistic per-trial values, `count` each. */
  readonly values: ReadonlyMap<string, TrialValues>;
  /** The job's seconds after this batch, over every session that ran it. */
  readonly seconds: number;
  /** The detector's timed seconds and trials after this batch, over every session. */
  readonly detector: { readonly seconds: number; readonly trials: number };
  /** The detector's diagnostics after this batch (when it has any). */
  readonly diagnostics?: Readonly<Record<string, number>>;
}

/** Identifies a job within a spec: (point, candidate, repetition). */
export interface JobKey {
  readonly candidate: string;
  readonly point: Readonly<Record<string, unknown>>;
  readonly repetition: number;
}

export function jobKeyString(key: JobKey): string {
  return `${key.candidate}\u0000${canonicalJson(key.point)}\u0000${key.repetition}`;
}

export type JobStatus = 'done' | 'interrupted' | 'failed';

export interface StoredJob {
  readonly status: JobStatus;
  readonly result?: JobResult;
  readonly failure?: JobFailure;
}

/** A spec in the store, for `gfra results ls`. */
export interface StoredSpec {
  readonly hash: string;
  readonly name: string;
  readonly spec: unknown;
  readonly created: Date;
  readonly updated: Date;
  readonly planned: number;
  readonly complete: boolean;
  readonly done: number;
  readonly failed: number;
  readonly batches: number;
  readonly trials: number;
  readonly results?: ResultsFile;
}

type DuckDB = typeof import('@duckdb/node-api');

/** The results store of one output folder. Open it with {@link openStore}. */
export class ResultsStore {
  private constructor(
    readonly file: string,
    private readonly duck: DuckDB,
    private readonly instance: DuckDBInstance,
    private readonly db: DuckDBConnection,
  ) {}

  /** Open (creating it unless `readOnly`) DIR/results.duckdb. Throws {@link OutputError}. */
  static async open(dir: string, options: { readOnly?: boolean } = {}): Promise<ResultsStore> {
    const file = path.join(dir, STORE_FILE);
    if (options.readOnly === true && !fs.existsSync(file)) {
      throw new OutputError(`${dir} has no results store (${STORE_FILE}); gfra run writes one into its output folder`);
    }
    const duck = await import('@duckdb/node-api');
    let instance: DuckDBInstance;
    try {
      // A run's store gets one DuckDB thread: its statements are small, and more threads only
      // add scheduling work (twice the CPU per batch commit), taken from the run's own workers.
      instance = await duck.DuckDBInstance.create(file, options.readOnly === true ? { access_mode: 'READ_ONLY' } : { threads: '1' });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const disk = diskError(file, message);
      if (disk !== undefined) throw disk;
      if (/lock/i.test(message)) throw new StoreBusy(`Cannot open the results store ${file} (a gfra run is writing to it: wait for it to end): ${message.split('\n')[0]}`);
      throw new OutputError(`Cannot open the results store ${file}: ${message.split('\n')[0]}`);
    }
    const db = await instance.connect();
    const store = new ResultsStore(file, duck, instance, db);
    if (options.readOnly !== true) await store.migrate();
    return store;
  }

  private async migrate(): Promise<void> {
    await this.db.run(`
      CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
      INSERT OR IGNORE INTO meta VALUES ('version', '${STORE_VERSION}');
      CREATE TABLE IF NOT EXISTS specs (
        spec_hash VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, spec VARCHAR NOT NULL,
        created TIMESTAMP NOT NULL, updated TIMESTAMP NOT NULL, planned INTEGER NOT NULL,
        complete BOOLEAN NOT NULL, results VARCHAR);
      CREATE TABLE IF NOT EXISTS jobs (
        spec_hash VARCHAR NOT NULL, point VARCHAR NOT NULL, candidate VARCHAR NOT NULL, repetition INTEGER NOT NULL,
        position INTEGER NOT NULL, status VARCHAR NOT NULL, result VARCHAR NOT NULL,
        PRIMARY KEY (spec_hash, point, candidate, repetition));
      CREATE TABLE IF NOT EXISTS batches (
        spec_hash VARCHAR NOT NULL, point VARCHAR NOT NULL, candidate VARCHAR NOT NULL, repetition INTEGER NOT NULL,
        batch INTEGER NOT NULL, first BIGINT NOT NULL, count INTEGER NOT NULL, seconds DOUBLE NOT NULL,
        detector_seconds DOUBLE NOT NULL, detector_trials BIGINT NOT NULL, diagnostics VARCHAR,
        layout VARCHAR NOT NULL, trial_values BLOB NOT NULL, committed TIMESTAMP NOT NULL,
        PRIMARY KEY (spec_hash, point, candidate, repetition, batch));
    `);
    const version = Number((await this.rows(`SELECT value FROM meta WHERE key = 'version'`))[0]?.value);
    if (version !== STORE_VERSION) {
      throw new OutputError(`${this.file} is a results store of version ${version}; this gfra reads version ${STORE_VERSION}. Choose another --out`);
    }
  }

  private async rows(sql: string, values: DuckDBValue[] = []): Promise<Record<string, unknown>[]> {
    const reader = await this.db.runAndReadAll(sql, values);
    return reader.getRowObjectsJS() as Record<string, unknown>[];
  }

  /** The transaction running now (one at a time on the connection: jobs on workers commit concurrently). */
  private tail: Promise<void> = Promise.resolve();

  /** The batch insert, prepared once (see addBatch). */
  private insertBatch?: DuckDBPreparedStatement;

  /**
   * Run `body` after the writes queued before it, in a transaction (rolled back when it throws);
   * `'statement'` when `body` is one statement, which is a transaction of its own (autocommit).
   */
  private transaction(body: () => Promise<void>, scope: 'transaction' | 'statement' = 'transaction'): Promise<void> {
    const run = this.tail.then(() => this.transact(body, scope));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async transact(body: () => Promise<void>, scope: 'transaction' | 'statement'): Promise<void> {
    const explicit = scope === 'transaction';
    if (explicit) await this.db.run('BEGIN TRANSACTION');
    try {
      await body();
      if (explicit) await this.db.run('COMMIT');
    } catch (err) {
      if (explicit) await this.db.run('ROLLBACK').catch(() => undefined);
      const disk = diskError(this.file, err instanceof Error ? err.message : String(err));
      if (disk !== undefined) throw disk;
      throw new OutputError(`Cannot write the results store ${this.file}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }

  /** Every spec in the store, most recently updated first, with counts. */
  async specs(): Promise<StoredSpec[]> {
    const rows = await this.rows(`
      SELECT s.*, 
        (SELECT count(*) FROM jobs j WHERE j.spec_hash = s.spec_hash AND j.status = 'done') AS done,
        (SELECT count(*) FROM jobs j WHERE j.spec_hash = s.spec_hash AND j.status = 'failed') AS failed,
        (SELECT count(*) FROM batches b WHERE b.spec_hash = s.spec_hash) AS nbatches,
        (SELECT coalesce(sum(b.count), 0) FROM batches b WHERE b.spec_hash = s.spec_hash) AS ntrials
      FROM specs s ORDER BY s.updated DESC, s.spec_hash`);
    return rows.map((r) => ({
      hash: r.spec_hash as string,
      name: r.name as string,
      spec: JSON.parse(r.spec as string) as unknown,
      created: r.created as Date,
      updated: r.updated as Date,
      planned: Number(r.planned),
      complete: r.complete as boolean,
      done: Number(r.done),
      failed: Number(r.failed),
      batches: Number(r.nbatches),
      trials: Number(r.ntrials),
      ...(r.results === null ? {} : { results: JSON.parse(r.results as string) as ResultsFile }),
    }));
  }

  /** Record that a run of this spec starts (created once, `updated` every time). */
  async beginSpec(hash: string, name: string, spec: unknown, planned: number): Promise<void> {
    await this.transaction(async () => {
      await this.db.run(
        `INSERT INTO specs VALUES ($1, $2, $3, now(), now(), $4, false, NULL)
         ON CONFLICT (spec_hash) DO UPDATE SET updated = now(), planned = excluded.planned`,
        [hash, name, canonicalJson(spec), planned],
      );
    });
  }

  /** The jobs of a spec by {@link jobKeyString}. */
  async jobs(hash: string): Promise<Map<string, StoredJob>> {
    const out = new Map<string, StoredJob>();
    for (const r of await this.rows(`SELECT candidate, point, repetition, status, result FROM jobs WHERE spec_hash = $1 ORDER BY position`, [hash])) {
      const key = jobKeyString({ candidate: r.candidate as string, point: JSON.parse(r.point as string) as Record<string, unknown>, repetition: Number(r.repetition) });
      const status = r.status as JobStatus;
      const value = JSON.parse(r.result as string) as JobResult & JobFailure;
      out.set(key, status === 'failed' ? { status, failure: value } : { status, result: value });
    }
    return out;
  }

  /** The committed batches of a spec's jobs, by {@link jobKeyString}, in batch order. */
  async batches(hash: string): Promise<Map<string, BatchRecord[]>> {
    const out = new Map<string, BatchRecord[]>();
    const rows = await this.rows(
      `SELECT candidate, point, repetition, batch, first, count, seconds, detector_seconds, detector_trials, diagnostics, layout, trial_values
       FROM batches WHERE spec_hash = $1 ORDER BY candidate, point, repetition, batch`,
      [hash],
    );
    for (const r of rows) {
      const key = jobKeyString({ candidate: r.candidate as string, point: JSON.parse(r.point as string) as Record<string, unknown>, repetition: Number(r.repetition) });
      const count = Number(r.count);
      const record: BatchRecord = {
        batch: Number(r.batch),
        first: Number(r.first),
        count,
        values: decodeValues(JSON.parse(r.layout as string) as Layout, r.trial_values as Uint8Array, count),
        seconds: r.seconds as number,
        detector: { seconds: r.detector_seconds as number, trials: Number(r.detector_trials) },
        ...(r.diagnostics === null ? {} : { diagnostics: JSON.parse(r.diagnostics as string) as Record<string, number> }),
      };
      const list = out.get(key) ?? [];
      list.push(record);
      out.set(key, list);
    }
    return out;
  }

  /**
   * Commit one batch of a job (a batch stored twice is refused by the primary key).
   *
   * One prepared statement, executed on its own: a single asynchronous step. Every step of a
   * DuckDB call completes only when this thread's event loop turns, which a run does once per
   * batch; BEGIN, INSERT (extracted, prepared and executed per call) and COMMIT took five, so a
   * commit overlapped with the next batch's computation still kept the loop waiting.
   */
  async addBatch(hash: string, key: JobKey, record: BatchRecord): Promise<void> {
    const { layout, bytes } = encodeValues(record.values, record.count);
    await this.transaction(async () => {
      this.insertBatch ??= await this.db.prepare(`INSERT INTO batches VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, now())`);
      this.insertBatch.bind([
        hash,
        canonicalJson(key.point),
        key.candidate,
        key.repetition,
        record.batch,
        record.first,
        record.count,
        record.seconds,
        record.detector.seconds,
        record.detector.trials,
        record.diagnostics === undefined ? null : JSON.stringify(record.diagnostics),
        JSON.stringify(layout),
        this.duck.blobValue(bytes),
      ]);
      await this.insertBatch.run();
    }, 'statement');
  }

  /**
   * Record a job's result (or failure) and the results file derived from the store, in one
   * transaction; `complete` marks the spec complete.
   */
  async putJob(hash: string, key: JobKey, position: number, job: StoredJob, results: ResultsFile): Promise<void> {
    await this.transaction(async () => {
      await this.db.run(`INSERT OR REPLACE INTO jobs VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
        hash,
        canonicalJson(key.point),
        key.candidate,
        key.repetition,
        position,
        job.status,
        JSON.stringify(job.status === 'failed' ? job.failure : job.result),
      ]);
      await this.db.run(`UPDATE specs SET results = $2, complete = $3, updated = now() WHERE spec_hash = $1`, [hash, JSON.stringify(results), results.complete]);
    });
  }

  /** Store the results file derived at the end of a run (and whether the spec is complete). */
  async putResults(hash: string, results: ResultsFile): Promise<void> {
    await this.transaction(async () => {
      await this.db.run(`UPDATE specs SET results = $2, complete = $3, updated = now() WHERE spec_hash = $1`, [hash, JSON.stringify(results), results.complete]);
    });
  }

  /** Read a query's rows (for tests and `gfra results`). */
  async query(sql: string, values: DuckDBValue[] = []): Promise<Record<string, unknown>[]> {
    return this.rows(sql, values);
  }

  close(): void {
    this.db.closeSync();
    this.instance.closeSync();
  }
}

/**
 * Write `rows` to `file` with DuckDB's COPY (csv with a header, parquet, or a JSON array), through
 * an in-memory database (the store itself is only read).
 */
export async function copyRows(columns: readonly ExportColumn[], rows: readonly (string | number | null)[][], file: string, format: 'csv' | 'parquet' | 'json'): Promise<void> {
  const duck = await import('@duckdb/node-api');
  const instance = await duck.DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    await db.run(`CREATE TABLE export_rows (${columns.map((c) => `"${c.name}" ${c.type}`).join(', ')})`);
    const appender = await db.createAppender('export_rows', null);
    for (const row of rows) {
      row.forEach((v, i) => {
        if (v === null) appender.appendNull();
        else if (columns[i].type === 'VARCHAR') appender.appendVarchar(String(v));
        else if (columns[i].type === 'BIGINT') appender.appendBigInt(BigInt(v));
        else if (columns[i].type === 'INTEGER') appender.appendInteger(Number(v));
        else appender.appendDouble(Number(v));
      });
      appender.endRow();
    }
    appender.closeSync();
    const options = format === 'csv' ? `FORMAT csv, HEADER true` : format === 'parquet' ? `FORMAT parquet` : `FORMAT json, ARRAY true`;
    await db.run(`COPY export_rows TO '${file.replace(/'/g, "''")}' (${options})`);
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

/** A full, read-only or forbidden disk, in the words of results.json's errors (DuckDB says it in its own). */
function diskError(file: string, message: string): OutputError | undefined {
  if (/No space left on device|Disk quota exceeded/i.test(message)) {
    return new OutputError(`Cannot write ${file}: the disk is full (ENOSPC). Free some space, or choose a folder on another disk with --out`);
  }
  if (/Read-only file system/i.test(message)) return new OutputError(`Cannot write ${file}: the file system is read-only (EROFS). Choose a folder you can write to with --out`);
  if (/Permission denied/i.test(message)) return new OutputError(`Cannot write ${file}: permission denied (EACCES). Choose a folder you can write to with --out`);
  return undefined;
}

/** A column of an export: its name and DuckDB type. */
export interface ExportColumn {
  readonly name: string;
  readonly type: 'VARCHAR' | 'BIGINT' | 'INTEGER' | 'DOUBLE';
}

/** Statistic name and whether it has events and samples (a rate) or values (a mean). */
type Layout = [string, 'rate' | 'mean'][];

function encodeValues(values: ReadonlyMap<string, TrialValues>, count: number): { layout: Layout; bytes: Uint8Array } {
  const layout: Layout = [...values].map(([name, v]) => [name, 'events' in v ? 'rate' : 'mean']);
  const out = new Float64Array(layout.reduce((n, [, kind]) => n + (kind === 'rate' ? 2 : 1) * count, 0));
  let at = 0;
  for (const v of values.values()) {
    for (const array of 'events' in v ? [v.events, v.samples] : [v.values]) {
      for (let t = 0; t < count; t++) out[at++] = array[t];
    }
  }
  return { layout, bytes: new Uint8Array(out.buffer) };
}

function decodeValues(layout: Layout, bytes: Uint8Array, count: number): Map<string, TrialValues> {
  const aligned = new Uint8Array(bytes.byteLength);
  aligned.set(bytes);
  const all = new Float64Array(aligned.buffer);
  const out = new Map<string, TrialValues>();
  let at = 0;
  const next = () => {
    const slice = all.subarray(at, at + count);
    at += count;
    return slice;
  };
  for (const [name, kind] of layout) {
    if (kind === 'rate') {
      const events = next();
      out.set(name, { events, samples: next() });
    } else out.set(name, { values: next() });
  }
  if (at !== all.length) throw new Error(`results store: a batch holds ${all.length} values, its layout ${at}`);
  return out;
}
