#!/usr/bin/env node
// The gfra CLI. Runs the TypeScript sources through ts-node (transpile-only, with decorator
// metadata emitted by the TypeScript compiler, which tsyringe needs).
const path = require('node:path');
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
process.env.TS_NODE_PROJECT = process.env.TS_NODE_PROJECT || path.join(__dirname, '..', '..', '..', 'tsconfig.base.json');
require('ts-node/register');
require('reflect-metadata');
const { main } = require('../src/cli.ts');
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
