// Start-up times of the CLI: `node scripts/startup-bench.js [runs]` (default 7) times
// `gfra --help` and `gfra list` (wall clock, min and median over the runs), plus what loading
// @tensorflow/tfjs alone costs. Build first (`pnpm build`): a stale build runs the sources.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const BIN = path.join(ROOT, 'packages', 'runner', 'bin', 'gfra.js');
const runs = Number(process.argv[2] ?? 7);

function time(args, options = {}) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', ...options });
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  times.sort((a, b) => a - b);
  return `min ${times[0].toFixed(2)} s, median ${times[Math.floor(times.length / 2)].toFixed(2)} s`;
}

const stale = require('../packages/runner/bin/build-state').staleReason(
  require('node:fs').readdirSync(path.join(ROOT, 'packages')).map((p) => path.join(ROOT, 'packages', p)),
);
if (stale !== null) console.log(`note: ${stale}; these times are for the TypeScript sources`);
console.log(`node -e 0          ${time(['-e', '0'])}`);
console.log(`gfra --help        ${time([BIN, '--help'])}`);
console.log(`gfra list          ${time([BIN, 'list'])}`);
console.log(`require tfjs alone ${time(['-e', "require('@tensorflow/tfjs')"], { cwd: path.join(ROOT, 'packages', 'runner') })}`);
