/**
 * The results store (DIR/results.duckdb), with real child processes: a run killed with SIGKILL
 * and run again ends with the numbers of an uninterrupted run (no batch counted twice); a killed
 * or failing rerun leaves the results of a complete run intact; two runs into one folder never
 * lose a candidate (the second refuses, or waits with --wait); `gfra results export` writes CSV
 * and Parquet that read back (through DuckDB) equal to results.json.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ResultsFile } from '../src/results/format';
import { LOCK_FILE } from '../src/results/lock';
import { ResultsStore, STORE_FILE } from '../src/results/store';
import { tinySpec } from '../src/testing';
import { PROBE_PLUGIN } from './helpers/probe-plugin';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'packages', 'runner', 'bin', 'gfra.js');

function scratch(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-store-'));
}

/** A spec of probe candidates (`tags`), many small batches over two points. */
/** The probe's hold (see probe-plugin.ts): jobs stop before batch `after` until `file` exists. */
interface Hold {
  readonly file: string;
  readonly at?: number;
  readonly after: number;
}

function writeSpec(dir: string, name: string, opts: { marker?: string; tags?: string[]; maxTrials?: number; fail?: boolean; hold?: Hold } = {}): string {
  fs.writeFileSync(path.join(dir, 'probe.ts'), PROBE_PLUGIN);
  const candidates = Object.fromEntries(
    (opts.tags ?? ['a']).map((tag) => [
      tag,
      {
        detector: {
          plugin: 'test-probe',
          params: {
            tag,
            ...(opts.marker === undefined ? {} : { marker: opts.marker }),
            ...(opts.fail === true ? { failOnConstruction: true } : {}),
            ...(opts.hold === undefined ? {} : { holdFile: opts.hold.file, holdAfter: opts.hold.after, ...(opts.hold.at === undefined ? {} : { holdAt: opts.hold.at }) }),
          },
        },
      },
    ]),
  );
  const spec = tinySpec({
    name: 'store',
    plugins: ['./probe.ts'],
    candidates,
    sweep: { 'scenario.numAntennas': [2, 4] },
    montecarlo: { batchSize: 4, targetEvents: 1e9, maxTrials: opts.maxTrials ?? 600, maxSeconds: 600 },
  });
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(spec, null, 2));
  return file;
}

function gfra(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 170000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Started {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
  running(): boolean;
}

function start(cwd: string, args: string[]): Started {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: '1' } });
  let text = '';
  child.stdout?.on('data', (d) => (text += d));
  child.stderr?.on('data', (d) => (text += d));
  let alive = true;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => ((alive = false), resolve(code))));
  return { child, exited, output: () => text, running: () => alive };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(run: Started, files: string[]): Promise<void> {
  const deadline = Date.now() + 120000;
  while (!files.every((f) => fs.existsSync(f))) {
    if (!run.running()) throw new Error(`the run ended before ${files.join(', ')} existed: ${run.output()}`);
    if (Date.now() > deadline) {
      run.child.kill('SIGKILL');
      throw new Error(`the run did not reach ${files.join(', ')} within 120 s: ${run.output()}`);
    }
    await sleep(25);
  }
}

function readJson(file: string): ResultsFile {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ResultsFile;
}

/** The numbers of a results file (what a rerun must reproduce exactly), without times. */
function numbers(results: ResultsFile) {
  return results.results.map((r) => ({ candidate: r.candidate, point: r.point, trials: r.trials, stop: r.stop, metrics: r.metrics }));
}

async function readStore<T>(dir: string, body: (store: ResultsStore) => Promise<T>): Promise<T> {
  const store = await ResultsStore.open(dir, { readOnly: true });
  try {
    return await body(store);
  } finally {
    store.close();
  }
}

/** Rows of a file read back through an in-memory DuckDB (`read_csv` / `read_parquet`). */
async function readBack(file: string, reader: 'read_csv' | 'read_parquet'): Promise<Record<string, unknown>[]> {
  const duck = await import('@duckdb/node-api');
  const instance = await duck.DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    const reader2 = await db.runAndReadAll(`SELECT * FROM ${reader}('${file}') ORDER BY candidate, point, statistic`);
    return reader2.getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

/**
 * A scratch folder with a marked probe spec and its uninterrupted run (`reference`), the markers
 * of that run removed, so that a test can start, kill and rerun the same spec beside it. The spec
 * holds its jobs (`hold`, with the file `<dir>/release`): the reference runs released; the hold is
 * armed again on return (release removed), so that a started run stops at a known place.
 */
function uninterruptedReference(hold: Omit<Hold, 'file'>): { dir: string; marker: string; spec: string; reference: string; release: string } {
  const dir = scratch();
  const marker = path.join(dir, 'started');
  const release = path.join(dir, 'release');
  const spec = writeSpec(dir, 'spec.json', { marker, hold: { ...hold, file: release } });
  const reference = path.join(dir, 'reference');
  fs.writeFileSync(release, '');
  const clean = gfra(dir, 'run', spec, '--out', reference, '--quiet', '--no-plot');
  expect(clean.status, clean.stderr).to.equal(0);
  for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('started-'))) fs.rmSync(path.join(dir, f));
  fs.rmSync(release);
  return { dir, marker, spec, reference, release };
}

describe('the results store', function () {
  this.timeout(300000);

  it('SIGKILL mid-sweep, then a rerun: the numbers of an uninterrupted run, no batch counted twice', async () => {
    // the second job (numAntennas 4) stops before its batch 3
    const { dir, marker, spec, reference, release } = uninterruptedReference({ at: 4, after: 3 });

    const out = path.join(dir, 'out');
    const run = start(dir, ['run', spec, '--out', out, '--quiet', '--no-plot']);
    await until(run, [`${marker}-a-4`, `${release}-waiting-4`]); // the first job is done, the second is held
    const wasRunning = run.running();
    run.child.kill('SIGKILL'); // before any expectation: a held run never ends on its own
    await run.exited;
    expect(wasRunning, run.output()).to.equal(true);
    const killed = await readStore(out, async (store) => (await store.query(`SELECT count(*)::INTEGER AS n, sum(count)::INTEGER AS t FROM batches`))[0]);
    expect(killed.n as number).to.be.above(150); // the first job's 150 batches and some of the second's
    expect(fs.existsSync(path.join(out, LOCK_FILE)), 'the killed run leaves its lock').to.equal(true);

    fs.writeFileSync(release, '');
    const rerun = gfra(dir, 'run', spec, '--out', out, '--no-plot');
    expect(rerun.status, rerun.stderr).to.equal(0);
    expect(rerun.stderr).to.match(/resuming from .*results\.duckdb: 1 of 2 jobs already done, 1 continue after their \d+ stored trials/);
    const expected = readJson(path.join(reference, 'results.json'));
    const got = readJson(path.join(out, 'results.json'));
    expect(got.complete).to.equal(true);
    expect(numbers(got)).to.deep.equal(numbers(expected));
    expect(got.results.map((r) => r.trials)).to.deep.equal([600, 600]);
    // Every job's batches: 0, 1, 2, ... each starting where the one before ended, 600 trials in all.
    const batches = await readStore(out, (store) =>
      store.query(`SELECT point, list(batch ORDER BY batch) AS b, list(first ORDER BY batch) AS f, sum(count)::INTEGER AS t FROM batches GROUP BY point ORDER BY point`),
    );
    expect(batches).to.have.length(2);
    for (const row of batches) {
      const b = row.b as number[];
      expect(b).to.deep.equal(b.map((_, i) => i));
      expect((row.f as bigint[]).map(Number)).to.deep.equal(b.map((_, i) => 4 * i));
      expect(row.t).to.equal(600);
    }
    expect(fs.existsSync(path.join(out, LOCK_FILE))).to.equal(false);
  });

  it('with --workers 2: SIGKILL while both jobs run, then a rerun: the numbers of an uninterrupted run', async () => {
    // both jobs stop before their batch 20
    const { dir, marker, spec, reference, release } = uninterruptedReference({ after: 20 });

    const out = path.join(dir, 'out');
    const run = start(dir, ['run', spec, '--out', out, '--quiet', '--no-plot', '--workers', '2']);
    await until(run, [`${marker}-a-2`, `${marker}-a-4`, `${release}-waiting-2`, `${release}-waiting-4`]); // both jobs are held, one per worker
    run.child.kill('SIGKILL');
    await run.exited;
    const stored = await readStore(out, async (store) => (await store.query(`SELECT count(*)::INTEGER AS n FROM batches`))[0]);
    expect(stored.n as number).to.be.above(0);

    fs.writeFileSync(release, '');
    const rerun = gfra(dir, 'run', spec, '--out', out, '--no-plot', '--workers', '2');
    expect(rerun.status, rerun.stderr).to.equal(0);
    expect(rerun.stderr).to.match(/resuming from .*results\.duckdb: [01] of 2 jobs already done, [12] continue after their \d+ stored trials/);
    const got = readJson(path.join(out, 'results.json'));
    expect(got.complete).to.equal(true);
    expect(numbers(got)).to.deep.equal(numbers(readJson(path.join(reference, 'results.json'))));
    const totals = await readStore(out, (store) => store.query(`SELECT point, count(*)::INTEGER AS n, sum(count)::INTEGER AS t FROM batches GROUP BY point ORDER BY point`));
    expect(totals.map((r) => [r.n, r.t])).to.deep.equal([
      [150, 600],
      [150, 600],
    ]);
  });

  it('gfra results, while another process writes the store: what results.json holds, saying so', async () => {
    const dir = scratch();
    const spec = writeSpec(dir, 'spec.json', { maxTrials: 8 });
    const out = path.join(dir, 'out');
    expect(gfra(dir, 'run', spec, '--out', out, '--quiet', '--no-plot').status).to.equal(0);
    // A writer holding the store open, as a run does from start to end.
    const holder = spawn(process.execPath, [
      '-e',
      // globals keep the instance and connection alive: garbage-collected, they would release the lock
      `require('@duckdb/node-api').DuckDBInstance.create(${JSON.stringify(path.join(out, STORE_FILE))}).then((i) => { globalThis.store = i; return i.connect(); }).then((c) => { globalThis.connection = c; console.log('open'); setInterval(() => {}, 1000); })`,
    ], { cwd: path.join(ROOT, 'packages', 'runner') });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (d: Buffer) => (String(d).includes('open') ? resolve() : undefined));
        holder.on('exit', (code) => reject(new Error(`the store holder exited with ${code}`)));
      });
      const show = gfra(dir, 'results', 'show', out);
      expect(show.status, show.stderr).to.equal(0);
      expect(show.stdout).to.match(/^a run is writing .*results\.duckdb; these are the results it has written to .*results\.json so far \(/);
      expect(show.stdout).to.match(/store \(spec [0-9a-f]{12}, complete\)/);
      expect(show.stdout).to.match(/\na\s+2\s+8\s/);
      const ls = gfra(dir, 'results', 'ls', out);
      expect(ls.status, ls.stderr).to.equal(0);
      expect(ls.stdout).to.match(/"store": complete, 2 jobs done, 0 failed$/m);
      // A spec chosen by hash needs the store itself: the message says why it cannot be opened now.
      const chosen = gfra(dir, 'results', 'show', out, '--spec', 'abc');
      expect(chosen.status).to.not.equal(0);
      expect(chosen.stderr).to.match(/a gfra run is writing to it: wait for it to end/);
      // Before the run has written results.json (training, or its first job), it says so.
      fs.rmSync(path.join(out, 'results.json'));
      const early = gfra(dir, 'results', 'show', out);
      expect(early.status).to.not.equal(0);
      expect(early.stderr).to.include(
        `A run is writing ${path.join(out, STORE_FILE)} and has not written ${path.join(out, 'results.json')} yet (it is training, or its first job is running): try again later`,
      );
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('a killed or failing rerun of a changed spec leaves the results of a complete run intact', async () => {
    const dir = scratch();
    const out = path.join(dir, 'out');
    const spec = writeSpec(dir, 'spec.json', { maxTrials: 40 });
    expect(gfra(dir, 'run', spec, '--out', out, '--quiet', '--no-plot').status).to.equal(0);
    const file = path.join(out, 'results.json');
    const before = fs.readFileSync(file, 'utf8');
    const hash = readJson(file).specHash;

    // A longer spec, killed during its first job.
    const marker = path.join(dir, 'started');
    const longer = writeSpec(dir, 'longer.json', { marker, maxTrials: 100000 });
    const run = start(dir, ['run', longer, '--out', out, '--no-plot']);
    await until(run, [`${marker}-a-2`]);
    await sleep(300);
    run.child.kill('SIGKILL');
    await run.exited;
    expect(run.output()).to.include('warning: the spec changed since the last run into');
    expect(run.output()).to.include('montecarlo.maxTrials: 40 -> 100000');
    expect(fs.readFileSync(file, 'utf8')).to.equal(before);

    // A spec whose every job fails.
    const broken = writeSpec(dir, 'broken.json', { fail: true });
    const failed = gfra(dir, 'run', broken, '--out', out, '--quiet', '--no-plot');
    expect(failed.status, failed.stderr).to.equal(2);
    expect(fs.readFileSync(file, 'utf8')).to.equal(before);

    // The store still holds the complete run, apart from the others.
    const ls = gfra(dir, 'results', 'ls', out);
    expect(ls.status, ls.stderr).to.equal(0);
    expect(ls.stdout).to.match(new RegExp(`^${hash.slice(0, 12)}\\s+store\\s+.*\\s+complete\\s+2/2\\s+0\\s+20\\s+80$`, 'm'));
    expect(ls.stdout.split('\n').filter((l) => /incomplete/.test(l))).to.have.length(2);
    const stored = await readStore(out, async (store) => (await store.specs()).find((s) => s.hash === hash));
    expect(stored?.results).to.deep.equal(JSON.parse(before));
    const show = gfra(dir, 'results', 'show', out, '--spec', hash.slice(0, 8));
    expect(show.status, show.stderr).to.equal(0);
    expect(show.stdout).to.include(`store (spec ${hash.slice(0, 12)}, complete)`);
  });

  it('two runs into one folder: the second refuses (naming the pid and the folder) or waits with --wait; no candidate is lost', async () => {
    const dir = scratch();
    const out = path.join(dir, 'out');
    const marker = path.join(dir, 'started');
    // the first run's second job (numAntennas 4) waits for `release`: the first run is still
    // writing while the others start, however fast the machine
    const release = path.join(dir, 'release');
    const spec = writeSpec(dir, 'spec.json', { marker, tags: ['a', 'b'], maxTrials: 1600, hold: { file: release, at: 4, after: 0 } });
    const first = start(dir, ['run', spec, '--out', out, '--candidate', 'a', '--quiet', '--no-plot']);
    let refused: ReturnType<typeof gfra>;
    let firstWasRunning: boolean;
    let second: Started;
    try {
      await until(first, [`${marker}-a-2`]);
      // Both start while the first runs: one waits for it, the other refuses.
      second = start(dir, ['run', spec, '--out', out, '--candidate', 'b', '--wait', '--no-plot']);
      refused = gfra(dir, 'run', spec, '--out', out, '--candidate', 'b', '--quiet', '--no-plot');
      firstWasRunning = first.running();
    } finally {
      fs.writeFileSync(release, ''); // a held run never ends on its own
    }
    expect(refused.status, refused.stderr).to.equal(2);
    expect(refused.stderr).to.match(new RegExp(`^error: Another gfra run \\(pid ${first.child.pid}, started [^)]+\\) is writing to ${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\. Wait for it to end, run again with --wait to wait for it, or choose another --out\\n$`));
    expect(firstWasRunning, 'the refused run left the first alone').to.equal(true);
    expect(await first.exited, first.output()).to.equal(0);
    expect(await second.exited, second.output()).to.equal(0);
    expect(second.output()).to.include(`waiting for the gfra run (pid ${first.child.pid}`);
    const results = readJson(path.join(out, 'results.json'));
    expect(results.results.map((r) => `${r.candidate}@${r.point['scenario.numAntennas']}`)).to.deep.equal(['a@2', 'b@2', 'a@4', 'b@4']);
    expect(results.complete).to.equal(true);
  });

  it('gfra results export: CSV and Parquet (read back through DuckDB) and JSON equal results.json', async () => {
    const dir = scratch();
    const out = path.join(dir, 'out');
    const spec = writeSpec(dir, 'spec.json', { tags: ['a', 'b'], maxTrials: 40 });
    expect(gfra(dir, 'run', spec, '--out', out, '--quiet', '--no-plot').status).to.equal(0);
    const results = readJson(path.join(out, 'results.json'));
    const expected = results.results
      .flatMap((r) =>
        Object.entries(r.metrics).map(([statistic, m]) => ({
          candidate: r.candidate,
          point: JSON.stringify(r.point),
          numAntennas: r.point['scenario.numAntennas'],
          statistic,
          value: m.value,
          low: m.low,
          high: m.high,
          events: m.events,
          samples: m.samples,
          trials: r.trials,
        })),
      )
      .sort((x, y) => (x.candidate + x.point + x.statistic < y.candidate + y.point + y.statistic ? -1 : 1));
    expect(expected.length).to.equal(2 * 2 * 3);
    const pick = (row: Record<string, unknown>) => ({
      candidate: row.candidate,
      point: row.point,
      numAntennas: row['scenario.numAntennas'],
      statistic: row.statistic,
      value: row.value,
      low: row.low,
      high: row.high,
      events: row.events === null ? null : Number(row.events),
      samples: Number(row.samples),
      trials: Number(row.trials),
    });
    for (const format of ['csv', 'parquet'] as const) {
      const file = path.join(dir, `long.${format}`);
      const r = gfra(dir, 'results', 'export', out, '--format', format, '--out', file);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.equal(`12 rows written to ${file}\n`);
      const rows = await readBack(file, format === 'csv' ? 'read_csv' : 'read_parquet');
      expect(rows.map(pick), format).to.deep.equal(expected);
      expect(rows.every((row) => Number(row.repetition) === 0 && row.spec_hash === results.specHash)).to.equal(true);
    }
    const json = path.join(dir, 'long.json');
    expect(gfra(dir, 'results', 'export', out, '--format', 'json', '--out', json).status).to.equal(0);
    const rows = (JSON.parse(fs.readFileSync(json, 'utf8')) as Record<string, unknown>[]).map(pick);
    rows.sort((x, y) => (`${x.candidate}${x.point}${x.statistic}` < `${y.candidate}${y.point}${y.statistic}` ? -1 : 1));
    expect(rows).to.deep.equal(expected);
    expect(fs.readdirSync(out).sort()).to.deep.equal([STORE_FILE, 'results.json']);
  });
});
