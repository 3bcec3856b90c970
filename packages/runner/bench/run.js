// `pnpm bench` in this package: runs bench/executors.bench.ts through ts-node (as the CLI does).
const path = require('node:path');
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
process.env.TS_NODE_PROJECT = process.env.TS_NODE_PROJECT || path.join(__dirname, '..', '..', '..', 'tsconfig.base.json');
require('ts-node/register');
require('reflect-metadata');
const { main } = require('./executors.bench.ts');
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
