/**
 * "Nothing lost, nothing silent": Ctrl-C stops a run at the next batch boundary (inline and on
 * workers) and keeps what exists; a rerun never empties an earlier results.json before it has a
 * result; a job that throws is recorded and the sweep goes on; unusable output folders are refused
 * up front with the path, the errno and a fix; --workers and --candidate are checked.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadSpec } from '../src/plan/load';
import { OutputError, writeResults, type ResultsFile } from '../src/results/format';
import { STORE_FILE } from '../src/results/store';
import { runSpec } from '../src/run';
import { tinySpec } from '../src/testing';
import { PROBE_PLUGIN } from './helpers/probe-plugin';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'packages', 'runner', 'bin', 'gfra.js');

function scratch(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-robust-'));
}

/** spec.json (and the probe plugin) in `dir`; returns the spec file. */
function writeSpec(dir: string, spec: Record<string, unknown>, name = 'spec.json'): string {
  fs.writeFileSync(path.join(dir, 'probe.ts'), PROBE_PLUGIN);
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(spec, null, 2));
  return file;
}

function probeSpec(params: Record<string, unknown>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return tinySpec({
    plugins: ['./probe.ts'],
    candidates: { probe: { detector: { plugin: 'test-probe', params } } },
    ...overrides,
  });
}

function gfra(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 120000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

function readJson(file: string): ResultsFile {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ResultsFile;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Start `gfra run`, wait until every file of `markers` exists (the jobs are running), send
 * SIGINT, and resolve with the exit code, the seconds from the signal to the exit, and the output.
 */
async function interruptRun(cwd: string, args: string[], markers: string[], signals = 1): Promise<{ code: number | null; seconds: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let running = true;
  void exited.then(() => (running = false));
  const deadline = Date.now() + 90000;
  while (running && !markers.every((m) => fs.existsSync(m))) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the run did not start within 90 s: ${stderr}`);
    }
    await sleep(50);
  }
  if (!running) throw new Error(`the run ended before the signal: ${stdout}${stderr}`);
  await sleep(300); // a few batches more
  if (!running) throw new Error(`the run ended before the signal: ${stdout}${stderr}`);
  const signalled = Date.now();
  child.kill('SIGINT');
  for (let i = 1; i < signals; i++) {
    await sleep(5);
    if (running) child.kill('SIGINT');
  }
  const code = await exited;
  return { code, seconds: (Date.now() - signalled) / 1000, stdout, stderr };
}

/** Whether this machine lets us mount a small tmpfs in a private mount namespace (root, unshare). */
function canMountTmpfs(): boolean {
  const probe = scratch();
  const r = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs '${probe}'`], { encoding: 'utf8' });
  return r.status === 0;
}

/** Run `gfra run ...` in a private mount namespace after `setup` (shell) mounted what it needs. */
function gfraInNamespace(cwd: string, setup: string, args: string[]) {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('unshare', ['-m', 'sh', '-c', `${setup} && ${quoted}; echo "rc=$?"; ls -a "$OUT_DIR"`], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, CI: '1', OUT_DIR: args[args.indexOf('--out') + 1] },
    timeout: 120000,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: Number(/rc=(\d+)/.exec(r.stdout)?.[1]) };
}

describe('gfra run: nothing lost, nothing silent', function () {
  this.timeout(180000);

  describe('Ctrl-C', () => {
    const longRun = (dir: string, antennas: number[]) =>
      writeSpec(
        dir,
        probeSpec(
          { marker: path.join(dir, 'started') },
          {
            sweep: { 'scenario.numAntennas': antennas },
            // Many cheap batches: a job would run for a minute.
            montecarlo: { batchSize: 4, targetEvents: 1e9, maxTrials: 1e9, maxSeconds: 60 },
          },
        ),
      );

    for (const workers of [1, 2]) {
      it(`${workers === 1 ? 'inline' : 'with --workers 2'}: stops within a batch, keeps the partial results (complete: false) and exits 130`, async () => {
        const dir = scratch();
        const antennas = workers === 1 ? [2, 4] : [2, 4, 8];
        const spec = longRun(dir, antennas);
        const out = path.join(dir, 'out');
        const args = ['run', spec, '--out', out, '--quiet', '--no-plot', '--workers', String(workers)];
        const running = workers === 1 ? [2] : [2, 4]; // the jobs running when the signal comes
        const r = await interruptRun(dir, args, running.map((m) => path.join(dir, `started-${m}`)));
        expect(r.code, r.stderr).to.equal(130);
        expect(r.seconds, 'seconds from the signal to the exit').to.be.below(3);
        const results = readJson(path.join(out, 'results.json'));
        expect(results.complete).to.equal(false);
        expect(results.results.map((x) => x.point['scenario.numAntennas'])).to.deep.equal(running);
        for (const x of results.results) {
          expect(x.stop).to.equal('interrupted');
          expect(x.trials).to.be.above(0);
        }
        expect(r.stderr).to.include('interrupted: finishing the current batch and saving results (Ctrl-C again to quit now)');
        expect(r.stderr).to.include(`interrupted: 0 of ${antennas.length} jobs finished, ${running.length} stopped at a batch boundary (stop "interrupted"); saved in ${path.join(out, 'results.json')} with "complete": false`);
        expect(r.stderr).to.include(`Run it again to resume where it stopped: gfra run ${spec} --out ${out} --workers ${workers} --quiet --no-plot`);
        expect(fs.readdirSync(out).sort()).to.deep.equal([STORE_FILE, 'results.json']); // no temporary or lock file left
      });
    }
  });

  it('a second Ctrl-C quits at once, leaving results.json whole', async () => {
    const dir = scratch();
    const out = path.join(dir, 'out');
    const short = writeSpec(dir, probeSpec({}), 'short.json');
    await runSpec(loadSpec(short), { out, backend: 'wasm' });
    const spec = writeSpec(
      dir,
      probeSpec({ marker: path.join(dir, 'started') }, { montecarlo: { batchSize: 4, targetEvents: 1e9, maxTrials: 1e9, maxSeconds: 60 } }),
    );
    const r = await interruptRun(dir, ['run', spec, '--out', out, '--quiet', '--no-plot'], [path.join(dir, 'started-4')], 2);
    expect(r.code, r.stderr).to.equal(130);
    expect(r.seconds).to.be.below(3);
    // The earlier run's file or this run's partial one, whichever the second Ctrl-C left: never torn.
    expect(readJson(path.join(out, 'results.json')).results).to.have.length(1);
    // No temporary or lock file (the store may keep its write-ahead log after an exit mid-batch).
    expect(fs.readdirSync(out).filter((n) => !n.startsWith(STORE_FILE))).to.deep.equal(['results.json']);
  });

  describe('results.json of an earlier run', () => {
    it('is kept whole by a rerun that fails (every job throws), and replaced only once the rerun has a result', async () => {
      const dir = scratch();
      const out = path.join(dir, 'out');
      const good = writeSpec(dir, probeSpec({}, { sweep: { 'scenario.numAntennas': [2, 4] } }));
      await runSpec(loadSpec(good), { out, backend: 'wasm' });
      const file = path.join(out, 'results.json');
      const before = fs.readFileSync(file, 'utf8');
      expect(JSON.parse(before).complete).to.equal(true);

      const broken = writeSpec(dir, probeSpec({ failOnConstruction: true }, { sweep: { 'scenario.numAntennas': [2, 4] } }), 'broken.json');
      const r = gfra(dir, 'run', broken, '--out', out, '--quiet');
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stdout).to.include(`results: none written; ${file} of an earlier run is kept as it was`);
      expect(r.stderr).to.include(`error: 2 of 2 jobs failed (no job succeeded; ${file} of an earlier run is kept):`);
      expect(r.stderr).to.include('  - "probe" at numAntennas=2: [detector:test-probe] candidates.probe.detector: construction failed: cannot be built (a test plugin)');
      expect(r.stderr).to.not.match(/\n\s+at /);
      expect(fs.readFileSync(file, 'utf8')).to.equal(before);
      expect(fs.readdirSync(out)).to.include.members(['results.json']).and.not.satisfy((names: string[]) => names.some((n) => n.includes('.tmp')));

      // A rerun that works (of another seed: the store would reuse the same spec's results): the old
      // file is still there while its first job runs.
      const other = writeSpec(dir, probeSpec({}, { seed: 8, sweep: { 'scenario.numAntennas': [2, 4] } }), 'other.json');
      const seen: string[] = [];
      const rerun = await runSpec(loadSpec(other), {
        out,
        backend: 'wasm',
        onProgress: (e) => {
          if (e.type === 'batch' && e.index === 0 && seen.length === 0) seen.push(fs.readFileSync(file, 'utf8'));
        },
      });
      expect(seen).to.deep.equal([before]);
      expect(rerun.written).to.equal(true);
      expect(readJson(file).complete).to.equal(true);
    });

    it('writeResults leaves no temporary file when the write fails, and names the file, the errno and a fix', () => {
      const dir = scratch();
      fs.mkdirSync(path.join(dir, 'results.json'));
      const data = { results: [] } as unknown as ResultsFile;
      expect(() => writeResults(path.join(dir, 'results.json'), data)).to.throw(
        OutputError,
        `Cannot write ${path.join(dir, 'results.json')}: it is a folder (EISDIR). Choose a folder you can write to with --out`,
      );
      expect(fs.readdirSync(dir)).to.deep.equal(['results.json']);
    });
  });

  describe('a job that throws', () => {
    const sweep = { sweep: { 'scenario.numAntennas': [1, 2, 4] } };

    for (const workers of [1, 2]) {
      it(`is recorded as a failure and the sweep goes on (${workers === 1 ? 'inline' : '2 workers'}), with the other numbers unchanged`, async () => {
        const dir = scratch();
        const spec = writeSpec(dir, probeSpec({ failAt: 2 }, sweep));
        const run = await runSpec(loadSpec(spec), { out: path.join(dir, 'out'), backend: 'wasm', workers });
        const { results, failures, complete } = readJson(run.resultsFile);
        expect(complete).to.equal(false);
        expect(results.map((r) => r.point)).to.deep.equal([{ 'scenario.numAntennas': 1 }, { 'scenario.numAntennas': 4 }]);
        expect(results.map((r) => r.stop)).to.deep.equal(['max-trials', 'max-trials']);
        expect(failures).to.deep.equal([
          {
            candidate: 'probe',
            point: { 'scenario.numAntennas': 2 },
            message: '[detector:test-probe] candidates.probe.detector: detect failed: Cholesky: the matrix is not positive definite',
            plugin: 'detector:test-probe',
            path: 'candidates.probe.detector',
          },
        ]);
        // The same points without the failing one give the same numbers.
        const clean = writeSpec(dir, probeSpec({}, { sweep: { 'scenario.numAntennas': [1, 4] } }), 'clean.json');
        const reference = await runSpec(loadSpec(clean), { out: path.join(dir, 'clean'), backend: 'wasm' });
        const strip = (rs: readonly { seconds: number; detectorTime?: unknown }[]) => rs.map((r) => ({ ...r, seconds: 0, detectorTime: undefined }));
        expect(strip(results)).to.deep.equal(strip(reference.results.results));
      });
    }

    it('gfra run: the table shows it, a summary lists it, and the exit status is 2 after the sweep', () => {
      const dir = scratch();
      const spec = writeSpec(dir, probeSpec({ failAt: 2 }, sweep));
      const out = path.join(dir, 'out');
      const r = gfra(dir, 'run', spec, '--out', out, '--quiet', '--no-plot');
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stdout).to.match(/^probe\s+1\s+\d+ /m);
      expect(r.stdout).to.match(/^probe\s+4\s+\d+ /m);
      expect(r.stdout).to.match(/^probe\s+2\s+failed\s+-\s+-\s+-\s+-$/m);
      expect(r.stderr).to.include(
        `error: 1 of 3 jobs failed (the other results are in ${path.join(out, 'results.json')}, the failures under "failures"):\n` +
          '  - "probe" at numAntennas=2: [detector:test-probe] candidates.probe.detector: detect failed: Cholesky: the matrix is not positive definite\n',
      );
      expect(r.stderr).to.include('warning: "probe" at numAntennas=2: [detector:test-probe]'); // said when it happens
      expect(r.stderr).to.not.match(/\n\s+at /);
    });
  });

  describe('the output folder, checked before any work', () => {
    let dir: string;
    let spec: string;
    before(() => {
      dir = scratch();
      spec = path.join(dir, 'spec.json');
      fs.writeFileSync(spec, JSON.stringify(tinySpec()));
    });

    const refused = (r: ReturnType<typeof gfra>, message: string) => {
      expect(r.status, r.stdout + r.stderr).to.equal(2);
      expect(r.stderr).to.equal(`error: ${message}\n`);
    };

    it('--out naming a file, results.json that is a folder, --out with a file inside the path, --out \'\'', () => {
      const file = path.join(dir, 'a-file');
      fs.writeFileSync(file, 'x');
      refused(gfra(dir, 'run', spec, '--out', file, '--quiet'), `--out ${file} is a file, not a folder. Name a folder (it is created if missing), or remove the file`);
      refused(
        gfra(dir, 'run', spec, '--out', path.join(file, 'sub'), '--quiet'),
        `Cannot use --out ${path.join(file, 'sub')}: a part of the path is a file, not a folder (ENOTDIR). Choose a folder you can write to with --out`,
      );
      const folder = path.join(dir, 'has-folder');
      fs.mkdirSync(path.join(folder, 'results.json'), { recursive: true });
      refused(gfra(dir, 'run', spec, '--out', folder, '--quiet'), `${path.join(folder, 'results.json')} is a folder; results.json must be a file. Remove it, or choose another --out`);
      expect(fs.readdirSync(folder)).to.deep.equal(['results.json']); // no temporary or probe file left
      const empty = path.join(dir, 'cwd');
      fs.mkdirSync(empty);
      refused(gfra(empty, 'run', spec, '--out', '', '--quiet'), `--out is empty. Name the output folder, e.g. --out runs/NAME (--out . for the current folder)`);
      expect(fs.readdirSync(empty)).to.deep.equal([]);
    });

    it('--out under /proc ends at once (no mkdir loop)', function () {
      if (!fs.existsSync('/proc/self')) this.skip();
      const started = Date.now();
      const r = gfra(dir, 'run', spec, '--out', '/proc/gfra-test/out', '--quiet');
      expect(r.signal, 'killed by the timeout').to.equal(null);
      expect(Date.now() - started).to.be.below(60000);
      refused(r, `Cannot create the output folder /proc/gfra-test: its file system does not allow new folders (ENOENT). Choose a folder you can write to with --out`);
    });

    it('a 300-character spec name goes to a shortened folder, with a message', () => {
      const long = scratch();
      const name = 'n'.repeat(300);
      const file = path.join(long, 'long.json');
      fs.writeFileSync(file, JSON.stringify(tinySpec({ name })));
      const r = gfra(long, 'run', file, '--quiet', '--no-plot');
      expect(r.status, r.stderr).to.equal(0);
      const folder = fs.readdirSync(path.join(long, 'runs'));
      expect(folder).to.have.length(1);
      expect(folder[0]).to.match(/^n{100}-[0-9a-f]{12}$/);
      expect(r.stderr).to.include(
        `warning: the spec name is 300 characters long; its results go to ${path.join('runs', folder[0])} (folder names over 200 characters are shortened; --out chooses the folder)`,
      );
      expect(readJson(path.join(long, 'runs', folder[0], 'results.json')).name).to.equal(name);
    });

    it('a name in --out over the file system limit is refused with the errno', () => {
      const out = path.join(dir, 'x'.repeat(300));
      refused(gfra(dir, 'run', spec, '--out', out, '--quiet'), `Cannot use --out ${out}: a name in the path is too long (ENAMETOOLONG). Choose a shorter --out`);
    });

    describe('read-only and full file systems (a tmpfs in a private mount namespace)', () => {
      before(function () {
        if (!canMountTmpfs()) this.skip();
      });

      it('a read-only folder is refused before any work', () => {
        const mnt = scratch();
        const out = path.join(mnt, 'out');
        const r = gfraInNamespace(dir, `mount -t tmpfs -o size=64k tmpfs '${mnt}' && mkdir '${out}' && mount -o remount,ro '${mnt}'`, ['run', spec, '--out', out, '--quiet']);
        expect(r.status, r.stdout + r.stderr).to.equal(2);
        expect(r.stderr).to.equal(`error: Cannot write to the output folder ${out}: the file system is read-only (EROFS). Choose a folder you can write to with --out\n`);
      });

      it('a full disk is refused before any work; a disk that fills during the run is an error naming the file, with no temporary file left', () => {
        const mnt = scratch();
        const out = path.join(mnt, 'out');
        const full = gfraInNamespace(dir, `mount -t tmpfs -o size=16k tmpfs '${mnt}' && mkdir '${out}' && (dd if=/dev/zero of='${mnt}/fill' bs=1k count=64 2>/dev/null; true)`, ['run', spec, '--out', out, '--quiet']);
        expect(full.status, full.stdout + full.stderr).to.equal(2);
        expect(full.stderr).to.equal(`error: Cannot write to the output folder ${out}: the disk is full (ENOSPC). Free some space, or choose a folder on another disk with --out\n`);
        // One page free: the 4 KiB probe fits, the results store does not.
        const big = path.join(dir, 'three.json');
        fs.writeFileSync(big, JSON.stringify(tinySpec({ sweep: { 'scenario.sequenceLength': [6, 8, 10] } })));
        const later = gfraInNamespace(dir, `mount -t tmpfs -o size=16k tmpfs '${mnt}' && mkdir '${out}' && dd if=/dev/zero of='${mnt}/fill' bs=4k count=3 2>/dev/null`, ['run', big, '--out', out, '--quiet', '--no-plot']);
        expect(later.status, later.stdout + later.stderr).to.equal(2);
        expect(later.stderr).to.equal(`error: Cannot write ${path.join(out, STORE_FILE)}: the disk is full (ENOSPC). Free some space, or choose a folder on another disk with --out\n`);
        expect(later.stdout).to.not.match(/\.tmp-|\.gfra-write-test/); // `ls -a` of the folder afterwards
      });
    });
  });

  describe('--workers and --candidate', () => {
    it('--workers must be a positive integer, and the message says what is useful', async () => {
      const dir = scratch();
      const spec = path.join(dir, 'spec.json');
      fs.writeFileSync(spec, JSON.stringify(tinySpec({ sweep: { 'scenario.sequenceLength': [6, 8, 10] } })));
      const cores = os.availableParallelism();
      const useful = Math.min(3, cores);
      for (const workers of [1.5, 0, -2, Number.NaN]) {
        const got = Number.isNaN(workers) ? 'not a number' : String(workers);
        let error: unknown;
        await runSpec(loadSpec(spec), { out: path.join(dir, 'out'), workers }).catch((err: unknown) => (error = err));
        expect(error, String(workers)).to.be.instanceOf(Error);
        expect((error as Error).message).to.equal(
          `--workers must be a positive integer (got ${got}). Use ${useful === 1 ? '1' : `1 to ${useful}`}: more than the 3 jobs of this run or the ${cores} core${cores === 1 ? '' : 's'} of this machine gains nothing, and 1 runs the jobs in this thread`,
        );
      }
      expect(fs.existsSync(path.join(dir, 'out')), 'nothing was written').to.equal(false);
      const r = gfra(dir, 'run', spec, '--workers', '1.5', '--quiet');
      expect(r.status).to.equal(2);
      expect(r.stderr).to.match(/^error: --workers must be a positive integer \(got 1\.5\)\. /);
    });

    it('--candidate must name one of the spec\'s candidates (not an Object property such as toString)', async () => {
      const dir = scratch();
      const spec = path.join(dir, 'spec.json');
      fs.writeFileSync(spec, JSON.stringify(tinySpec()));
      for (const name of ['toString', 'constructor', '__proto__']) {
        let error: unknown;
        await runSpec(loadSpec(spec), { out: path.join(dir, 'out'), candidates: [name] }).catch((err: unknown) => (error = err));
        expect((error as Error | undefined)?.message, name).to.equal(`Unknown candidate "${name}". The spec has: energy`);
      }
      const r = gfra(dir, 'run', spec, '--candidate', 'toString', '--quiet');
      expect(r.status).to.equal(2);
      expect(r.stderr).to.equal('error: Unknown candidate "toString". The spec has: energy\n');
      expect(fs.existsSync(path.join(dir, 'runs'))).to.equal(false);
    });
  });
});
