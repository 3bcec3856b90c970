// `pnpm bench` in this package: runs bench/*.bench.ts through ts-node (as the CLI does).
//   pnpm bench [--quick] [--backend ...]   the pilot-based detector bench (pilot-detectors.bench.ts)
//   pnpm bench -- --numpy [--quick] ...    gfra against numpy baselines (numpy-baselines.bench.ts)
const path = require('node:path');
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
process.env.TS_NODE_PROJECT = process.env.TS_NODE_PROJECT || path.join(__dirname, '..', '..', '..', 'tsconfig.base.json');
require('ts-node/register');
require('reflect-metadata');
const argv = process.argv.slice(2).filter((a) => a !== '--');
const numpy = argv.includes('--numpy');
const { main } = require(numpy ? './numpy-baselines.bench.ts' : './pilot-detectors.bench.ts');
main(argv.filter((a) => a !== '--numpy')).then((code) => {
  process.exitCode = code;
});
