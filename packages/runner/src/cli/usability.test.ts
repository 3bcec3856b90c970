import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProgressEvent } from '../engine/events';
import type { PlannedJob } from '../plan/plan';
import type { JobResult } from '../results/format';
import { tinySpec } from '../testing';
import { expectedWork, finishedLine, progressSink } from './progress';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const BIN = path.join(ROOT, 'packages', 'runner', 'bin', 'gfra.js');

function gfra(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, encoding: 'utf8', env: { ...process.env, CI: '1', ...options.env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('gfra CLI: what a user touches every day', function () {
  this.timeout(180000);

  it('--version names gfra, its commit, Node.js and tfjs', () => {
    const r = gfra(['--version']);
    expect(r.status).to.equal(0);
    expect(r.stdout.trim()).to.match(/^gfra \d+\.\d+\.\d+( \(commit [0-9a-f]{12}\))?, Node\.js v\d+\.\d+\.\d+, tfjs \d+\.\d+\.\d+$/);
  });

  it('--candidate runs merge into the run of the same spec: results.json keeps every candidate', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-cli-'));
    const file = path.join(dir, 'spec.json');
    fs.writeFileSync(
      file,
      JSON.stringify(
        tinySpec({
          candidates: {
            a: { detector: { plugin: 'correlation-energy' } },
            b: { label: 'Energy, midpoint', detector: { plugin: 'correlation-energy', params: { threshold: { rule: 'midpoint' } } } },
          },
        }),
      ),
    );
    const out = path.join(dir, 'out');
    const first = gfra(['run', file, '--candidate', 'a', '--out', out, '--quiet', '--no-plot']);
    expect(first.status, first.stderr).to.equal(0);
    const partial = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(partial.results.map((r: JobResult) => r.candidate)).to.deep.equal(['a']);
    expect(partial.complete).to.equal(false);
    const second = gfra(['run', file, '--candidate', 'b', '--out', out, '--quiet', '--no-plot']);
    expect(second.status, second.stderr).to.equal(0);
    const merged = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(merged.results.map((r: JobResult) => r.candidate)).to.deep.equal(['a', 'b']);
    expect(merged.complete).to.equal(true);
    // The table shows both, b under its label.
    expect(second.stdout).to.match(/\na\s/);
    expect(second.stdout).to.match(/\nEnergy, midpoint\s/);
  });

  it('pnpm gfra works from any folder: paths on the command line are the caller\'s', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-cli-'));
    fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(tinySpec()));
    // What `pnpm gfra` sets when typed in `dir` (the script itself runs in the repository root).
    const env = { npm_lifecycle_event: 'gfra', npm_package_name: 'gfra', INIT_CWD: dir };
    const r = gfra(['run', 'spec.json', '--out', 'out', '--quiet', '--no-plot'], { cwd: ROOT, env });
    expect(r.status, r.stderr).to.equal(0);
    expect(fs.existsSync(path.join(dir, 'out', 'results.json'))).to.equal(true);
    // And through pnpm itself, from a subfolder of the repository.
    const pnpm = spawnSync('pnpm', ['-s', 'gfra', 'validate', 'quickstart.json'], { cwd: path.join(ROOT, 'examples'), encoding: 'utf8', env: { ...process.env, CI: '1' } });
    if (pnpm.error === undefined) {
      expect(pnpm.status, pnpm.stderr).to.equal(0);
      expect(pnpm.stdout).to.match(/^quickstart\.json: ok/);
    }
  });

  it('gfra validate prints a sweep warning (a swept value that does not reach a candidate) and still succeeds', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-cli-'));
    const file = path.join(dir, 'spec.json');
    const spec = tinySpec({ sweep: { 'channel.params.snrDb': { from: 0, to: 10, step: 5 } } });
    const candidates = spec.candidates as Record<string, unknown>;
    spec.candidates = { ...candidates, other: { channel: { plugin: 'normalized-path-loss', params: { expectedActive: 4, snrDb: 12 } }, detector: { plugin: 'correlation-energy' } } };
    fs.writeFileSync(file, JSON.stringify(spec, null, 2));
    const r = gfra(['validate', file]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.contain(`warning: ${file}:`);
    expect(r.stderr).to.contain('does not reach candidate "other"');
    expect(r.stdout).to.match(/ok \(3 sweep points x 2 candidates = 6 runs\)/);
  });

  it('gfra run says something at once (unless --quiet)', () => {
    const r = gfra(['run', 'no-such-spec.json']);
    expect(r.stderr.split('\n')[0]).to.equal('gfra run no-such-spec.json: validating and planning');
    expect(gfra(['run', 'no-such-spec.json', '--quiet']).stderr).to.not.match(/validating and planning/);
  });
});

describe('progress line', () => {
  const job = (candidate: string, repetitions = 1): PlannedJob => ({ candidate, point: { 'channel.params.snrDb': 10 }, repetition: 0, montecarlo: { repetitions } }) as unknown as PlannedJob;
  const result = (candidate: string, seconds: number): JobResult => ({
    candidate,
    point: { 'channel.params.snrDb': 10, 'candidates.x.channel.params.snrDb': 10 },
    trials: 400,
    seconds,
    stop: 'target-events',
    metrics: { pmd: { value: 0.1, low: 0.08, high: 0.12, events: 40, samples: 400 } },
  });

  it('prints each finished job as one line, under its label, coupled keys once', () => {
    let written = '';
    const stream = { write: (s: string) => ((written += s), true), isTTY: true, columns: 200 } as unknown as NodeJS.WriteStream;
    const sink = progressSink({ quiet: false, stream, interactive: true, labels: { a: 'Energy (FA 5 %)' } });
    const events: ProgressEvent[] = [
      { type: 'job-start', job: job('a'), index: 0, total: 2 },
      { type: 'batch', job: job('a'), index: 0, total: 2, trials: 200, fraction: 0.5, seconds: 1 },
      { type: 'job-end', job: job('a'), index: 0, total: 2, result: result('a', 2) },
    ];
    events.forEach(sink.onProgress);
    expect(written).to.contain('  Energy (FA 5 %) snrDb=10: 400 trials, pmd 0.1 [0.08, 0.12] (2.0 s, target-events)\n');
    expect(finishedLine(result('a', 2), 'a')).to.equal('  a snrDb=10: 400 trials, pmd 0.1 [0.08, 0.12] (2.0 s, target-events)');
    // The line drawn after it: 1 of 2 done, 50 % (2 s done, 2 s expected for the other job).
    expect(written).to.match(/\[1\/2 done\] #{10}\.{10} 50%  ETA 0:02/);
  });

  it('weights the ETA by expected work: a job not started is expected to take as long as its candidate did', () => {
    const jobs = new Map([
      [0, { candidate: 'slow', fraction: 1, seconds: 30, finished: true }],
      [1, { candidate: 'fast', fraction: 1, seconds: 1, finished: true }],
      [2, { candidate: 'slow', fraction: 0.5, seconds: 10, finished: false }],
      [3, { candidate: 'fast', fraction: 0, seconds: 0, finished: false }],
    ]);
    const { done, remaining } = expectedWork(jobs, 5, (i) => (i === 4 ? 'slow' : undefined));
    expect(done).to.equal(41);
    // job 2: 10 s for half -> 10 s more; job 3 (fast, started, no batch yet): 1 s; job 4 (slow, unseen): 30 s.
    expect(remaining).to.equal(41);
  });
});
