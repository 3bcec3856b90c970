// Loaded by every package's .mocharc.json, which also starts mocha with
// `--conditions=gfra-source`: `@gfra/*` (and `@gfra/core/testing`) resolve to the TypeScript
// sources, never to a build in dist/, in this process and in its worker threads. TypeScript runs
// through ts-node (the TypeScript compiler itself, so decorator metadata is emitted for tsyringe),
// then reflect-metadata, and root hooks that select the compute backend (GFRA_TEST_BACKEND, default
// wasm) before any test runs.
//
// CLI processes a test spawns (packages/runner/bin/gfra.js) do not inherit the condition: they run
// dist when it was built from exactly the sources on disk, else the sources (bin/build-state.js).
//
// Every temporary folder the tests make (with os.tmpdir(), in this process, its worker threads and
// the processes it starts) lands in one folder per test run, removed when mocha exits
// (GFRA_KEEP_TEST_TMP=1 keeps it, for debugging).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
if (process.env.GFRA_TEST_TMP === undefined) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-tests-'));
  process.env.GFRA_TEST_TMP = dir;
  process.env.TMPDIR = dir;
  if (!process.env.GFRA_KEEP_TEST_TMP) {
    process.on('exit', () => {
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        // a file still held open elsewhere: leave the folder
      }
    });
  }
}
const boot = require('../packages/runner/bin/boot');
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
process.env.TS_NODE_PROJECT = process.env.TS_NODE_PROJECT || path.join(__dirname, '..', 'tsconfig.base.json');
if (!boot.sourceConditionOn()) {
  // Started without the condition (a runner that ignores .mocharc's node-option): redirect
  // `@gfra/*` here, and tell worker threads to run the sources too.
  process.env.GFRA_FROM_SOURCE = '1';
}
boot.useSources();
// (from core, which depends on it: the root does not)
require(require.resolve('reflect-metadata', { paths: [path.join(__dirname, '..', 'packages', 'core')] }));
module.exports = require('../packages/core/src/testing/mocha-hooks.ts');
