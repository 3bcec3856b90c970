#!/usr/bin/env node
// The gfra CLI. Runs the compiled JavaScript in dist/ (`pnpm build`, which `pnpm install` runs);
// runs the TypeScript sources through ts-node instead under the gfra-source condition (tests),
// with GFRA_FROM_SOURCE=1, or when dist is missing or older than the sources (see boot.js).
'use strict';
const entry = require('./boot').prepare('cli', { checkBuild: true });
require('reflect-metadata');
const { main } = require(entry);
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
