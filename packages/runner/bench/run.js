// `pnpm bench` in this package, through ts-node (as the CLI does):
//   pnpm bench [--quick] [--rounds R] [--batch-size B]   the executors (executors.bench.ts)
//   pnpm bench -- --memory [--minutes 30]      memory over a long sweep (memory.bench.ts)
const path = require('node:path');
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
process.env.TS_NODE_PROJECT = process.env.TS_NODE_PROJECT || path.join(__dirname, '..', '..', '..', 'tsconfig.base.json');
require('ts-node/register');
require('reflect-metadata');
const argv = process.argv.slice(2).filter((a) => a !== '--');
const { main } = require(argv.includes('--memory') ? './memory.bench.ts' : './executors.bench.ts');
main(argv.filter((a) => a !== '--memory')).then((code) => {
  process.exitCode = code;
});
