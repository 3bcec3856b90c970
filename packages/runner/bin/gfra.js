#!/usr/bin/env node
// The gfra CLI. Runs the compiled JavaScript in dist/ (`pnpm build`, which `pnpm install` runs);
// runs the TypeScript sources through ts-node instead under the gfra-source condition (tests),
// with GFRA_FROM_SOURCE=1, or when dist is missing or older than the sources (see boot.js).
'use strict';
// `pnpm gfra ...` runs in the repository root; paths on its command line are the caller's, so
// work from where the user typed it (pnpm and npm say where in INIT_CWD).
if (process.env.npm_lifecycle_event === 'gfra' && process.env.npm_package_name === 'gfra' && process.env.INIT_CWD && process.env.INIT_CWD !== process.cwd()) {
  process.chdir(process.env.INIT_CWD);
}
const entry = require('./boot').prepare('cli', { checkBuild: true });
require('reflect-metadata');
const { main } = require(entry);
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
