// `pnpm bench` in this package: runs bench/*.bench.ts through ts-node (as the CLI does).
//   pnpm bench [--quick] [--backend ...]   the pilot-based detector bench (pilot-detectors.bench.ts)
//   pnpm bench -- --numpy [--quick] ...    gfra against numpy baselines (numpy-baselines.bench.ts)
//   pnpm bench -- --training [--quick] ... training steps per second (training-step.bench.ts)
const path = require('node:path');
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
process.env.TS_NODE_PROJECT = process.env.TS_NODE_PROJECT || path.join(__dirname, '..', '..', '..', 'tsconfig.base.json');
require('ts-node/register');
require('reflect-metadata');
const argv = process.argv.slice(2).filter((a) => a !== '--');
const file = argv.includes('--numpy') ? './numpy-baselines.bench.ts' : argv.includes('--training') ? './training-step.bench.ts' : './pilot-detectors.bench.ts';
const { main } = require(file);
main(argv.filter((a) => a !== '--numpy' && a !== '--training')).then((code) => {
  process.exitCode = code;
});
