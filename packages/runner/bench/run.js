// `pnpm bench` in this package, through ts-node (as the CLI does):
//   pnpm bench [--quick] [--rounds R] [--batch-size B]   the executors (executors.bench.ts)
//   pnpm bench -- --memory [--minutes 30]                 memory over a long sweep (memory.bench.ts)
const path = require('node:path');
const { checkBenchOptions } = require('../../../scripts/bench-options');
const argv = process.argv.slice(2).filter((a) => a !== '--');
const memory = argv.includes('--memory');
const file = memory ? 'memory.bench.ts' : 'executors.bench.ts';
const rest = argv.filter((a) => a !== '--memory');
checkBenchOptions(rest, memory ? { '--minutes': true } : { '--quick': false, '--rounds': true, '--batch-size': true }, memory ? 'pnpm bench -- --memory' : 'pnpm bench', `bench/${file}`);
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
process.env.TS_NODE_PROJECT = process.env.TS_NODE_PROJECT || path.join(__dirname, '..', '..', '..', 'tsconfig.base.json');
require('ts-node/register');
require('reflect-metadata');
const { main } = require(`./${file}`);
main(rest).then((code) => {
  process.exitCode = code;
});
