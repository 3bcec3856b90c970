/**
 * A researcher's plugin file in any folder, outside this repository and without a package.json:
 * it runs from a spec with no other edit (gfra's own @gfra/*, tfjs and typebox are used), its
 * type errors are reported by `gfra validate` with file:line, a really missing import is named,
 * and `gfra test-plugin` runs the public contract suite on it.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BACKEND_CHOICES, PLUGIN_KINDS } from '@gfra/core';
import { CLI_BACKENDS, CLI_KINDS } from '../cli';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const BIN = path.join(ROOT, 'packages', 'runner', 'bin', 'gfra.js');
const PLUGIN = fs.readFileSync(path.join(ROOT, 'examples', 'custom-plugin', 'top-k-energy.ts'), 'utf8');
const SPEC = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', 'custom-plugin', 'spec.json'), 'utf8')) as Record<string, unknown>;

function gfra(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A scratch folder outside the repository holding `plugin.ts` (text given) and spec.json naming it. */
function scratch(pluginText: string): { dir: string; spec: string; plugin: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-scratch-'));
  expect(path.relative(ROOT, dir).startsWith('..'), 'the scratch folder is outside the repository').to.equal(true);
  const plugin = path.join(dir, 'plugin.ts');
  fs.writeFileSync(plugin, pluginText);
  const spec = path.join(dir, 'spec.json');
  const { $schema: _schema, ...rest } = SPEC;
  fs.writeFileSync(
    spec,
    JSON.stringify({ ...rest, plugins: ['./plugin.ts'], sweep: { 'channel.params.snrDb': [10] }, montecarlo: { batchSize: 32, targetEvents: 20, maxTrials: 64 } }, null, 2),
  );
  return { dir, spec, plugin };
}

describe('plugins outside the repository', function () {
  this.timeout(180000);

  it('a plugin file in a scratch folder runs from a spec with no other edit', () => {
    const { dir, spec } = scratch(PLUGIN);
    const r = gfra(dir, 'run', spec, '--out', path.join(dir, 'out'), '--quiet', '--no-plot');
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/top-k\s+10\s+\d+/);
  });

  it('gfra validate reports a type error in a plugin file with file:line:column', () => {
    const text = `${PLUGIN.trimEnd()}\nexport const broken: number = 'not a number';\n`;
    const line = text.trimEnd().split('\n').length;
    const { dir, spec } = scratch(text);
    const r = gfra(dir, 'validate', spec);
    expect(r.status, r.stdout + r.stderr).to.equal(2);
    expect(r.stderr).to.match(new RegExp(`plugins\\[0\\]: type error in "\\./plugin\\.ts" at plugin\\.ts:${line}:14: TS2322: Type 'string' is not assignable to type 'number'`));
    expect(r.stderr).to.not.match(/\n\s+at /); // no stack trace
    // The same file without the error validates.
    const ok = scratch(PLUGIN);
    const good = gfra(ok.dir, 'validate', ok.spec);
    expect(good.status, good.stderr).to.equal(0);
  });

  it('a missing import is named as the module that is really missing', () => {
    const text = PLUGIN.replace("import * as tf from '@tensorflow/tfjs';", "import * as tf from '@tensorflow/tfjs';\nimport 'no-such-package-anywhere';");
    const { dir, spec } = scratch(text);
    const r = gfra(dir, 'validate', spec);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.match(/plugins\[0\]: plugin module "\.\/plugin\.ts" needs "no-such-package-anywhere", which is installed neither beside .*plugin\.ts nor with gfra/);
  });

  it('gfra test-plugin runs the contract suite of @gfra/core/testing on the file', () => {
    const { dir, plugin } = scratch(PLUGIN);
    const r = gfra(dir, 'test-plugin', plugin, '--backend', 'wasm');
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/plugin contract: detector:top-k-energy/);
    expect(r.stdout).to.match(/1 plugin: detector:top-k-energy/);
    expect(r.stdout).to.match(/[1-9]\d* passed, 0 failed/);
  });

  it('the CLI choices are @gfra/core\'s (the CLI keeps its own copy so that --help does not load tfjs)', () => {
    expect([...CLI_BACKENDS]).to.deep.equal([...BACKEND_CHOICES]);
    expect([...CLI_KINDS]).to.deep.equal([...PLUGIN_KINDS]);
  });
});
