import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { builtinRegistry } from '../spec/plugins';
import { assembleSpecSchema } from '../spec/schema';
import { tinySpec } from '../testing';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const BIN = path.join(ROOT, 'packages', 'runner', 'bin', 'gfra.js');

function gfra(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempSpec(spec: Record<string, unknown>): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-cli-'));
  const file = path.join(dir, 'spec.json');
  fs.writeFileSync(file, JSON.stringify(spec, null, 2));
  return { dir, file };
}

describe('gfra CLI', function () {
  this.timeout(120000);

  it('run: prints a table and writes results.json in the documented format', () => {
    const { dir, file } = tempSpec(tinySpec({ sweep: { 'scenario.sequenceLength': [6, 12] } }));
    const out = path.join(dir, 'out');
    const r = gfra('run', file, '--out', out, '--quiet');
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/candidate\s+sequenceLength\s+trials\s+detect ms\s+pmd\s+pfa\s+pmd\+pfa/);
    const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(results).to.include.keys('name', 'seed', 'specHash', 'backend', 'spec', 'results');
    expect(results.name).to.equal('tiny');
    expect(results.seed).to.equal(7);
    expect(results.specHash).to.match(/^[0-9a-f]{64}$/);
    expect(results.backend).to.equal('wasm');
    expect(results.complete).to.equal(true);
    expect(results.spec.montecarlo.confidence).to.equal(0.95); // the resolved spec, defaults filled in
    expect(results.results).to.have.length(2);
    const first = results.results[0];
    expect(first).to.include.keys('candidate', 'point', 'trials', 'seconds', 'metrics');
    expect(first.point).to.deep.equal({ 'scenario.sequenceLength': 6 });
    for (const name of ['pmd', 'pfa', 'pmd+pfa']) {
      expect(first.metrics[name]).to.have.all.keys('value', 'low', 'high', 'events', 'samples');
    }
  });

  it('worker: exits 2 with a message for a bad flag or an unreachable Redis, no stack trace', () => {
    const noRedis = gfra('worker');
    expect(noRedis.status).to.equal(2);
    expect(noRedis.stderr).to.match(/required option '--redis <url>' not specified/);
    const badLock = gfra('worker', '--redis', 'redis://127.0.0.1:1', '--lock-seconds', 'soon');
    expect(badLock.status).to.equal(2);
    expect(badLock.stderr).to.match(/--lock-seconds must be a positive number of seconds \(got not a number\)/);
    const badUrl = gfra('worker', '--redis', 'localhost:6379');
    expect(badUrl.status).to.equal(2);
    expect(badUrl.stderr).to.match(/--redis "localhost:6379" must start with redis:\/\/ or rediss:\/\//);
    const unreachable = gfra('worker', '--redis', 'redis://127.0.0.1:1', '--backend', 'wasm');
    expect(unreachable.status).to.equal(2);
    expect(unreachable.stderr).to.match(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1: .*Start it/);
    for (const r of [noRedis, badLock, badUrl, unreachable]) expect(r.stderr).to.not.match(/\n\s+at /);
  });

  it('run: exits 2 with a message (no stack trace) for a user error', () => {
    const { file } = tempSpec(tinySpec());
    const r = gfra('run', file, '--candidate', 'nope', '--quiet');
    expect(r.status).to.equal(2);
    expect(r.stderr).to.match(/Unknown candidate "nope". The spec has: energy/);
    expect(r.stderr).to.not.match(/\n\s+at /);
    const missing = gfra('run', 'does-not-exist.json');
    expect(missing.status).to.equal(2);
    expect(missing.stderr).to.match(/Spec file not found: does-not-exist.json/);
    const badBackend = gfra('run', file, '--backend', 'gpu');
    expect(badBackend.status).to.equal(2);
    expect(badBackend.stderr).to.match(/Allowed choices are auto, tensorflow, wasm, cpu/);
  });

  it('list: shows plugins with parameters; an unknown kind is a user error', () => {
    const r = gfra('list', 'channel');
    expect(r.status).to.equal(0);
    expect(r.stdout).to.match(/rayleigh — Rayleigh block fading/);
    expect(r.stdout).to.match(/snrDb: number \| \{ min: number, max: number \} = 10/);
    const bad = gfra('list', 'detectors');
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.match(/Unknown plugin kind "detectors"/);
  });

  it('ends quietly when its output pipe closes early (gfra run ... | head -1)', () => {
    const { dir, file } = tempSpec(tinySpec());
    const cmd = `"${process.execPath}" "${BIN}" run "${file}" --quiet --no-plot --out "${path.join(dir, 'out')}" | head -1`;
    const r = spawnSync('sh', ['-c', cmd], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '1' } });
    expect(r.status).to.equal(0);
    expect(r.stdout).to.match(/^candidate\s+trials/);
    expect(r.stderr).to.equal('');
    expect(fs.existsSync(path.join(dir, 'out', 'results.json'))).to.equal(true);
  });

  it('schema: the committed schema/gfra.schema.json is up to date (regenerate with `pnpm gfra schema --out schema/gfra.schema.json`)', () => {
    const committed = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', 'gfra.schema.json'), 'utf8'));
    expect(committed).to.deep.equal(assembleSpecSchema(builtinRegistry()));
  });

  it('runs the custom-plugin example: a third-party detector loaded from the spec', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-custom-'));
    const spec = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', 'custom-plugin', 'spec.json'), 'utf8'));
    spec.plugins = [path.join(ROOT, 'examples', 'custom-plugin', 'top-k-energy.ts')];
    spec.sweep = { 'channel.params.snrDb': [10] };
    spec.montecarlo = { batchSize: 32, targetEvents: 20, maxTrials: 64 };
    const file = path.join(dir, 'spec.json');
    fs.writeFileSync(file, JSON.stringify(spec));
    const r = gfra('run', file, '--out', path.join(dir, 'out'), '--quiet');
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/top-k\s+10\s+\d+/);
  });
});
