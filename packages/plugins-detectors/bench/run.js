// `pnpm bench` in this package: runs bench/*.bench.ts through ts-node (as the CLI does).
//   pnpm bench [--quick] [--backend ...]   the pilot-based detector bench (pilot-detectors.bench.ts)
//   pnpm bench -- --numpy [--quick] ...    gfra against numpy baselines (numpy-baselines.bench.ts)
//   pnpm bench -- --training [--quick] ... training steps per second (training-step.bench.ts)
const path = require('node:path');
const { checkBenchOptions } = require('../../../scripts/bench-options');
const argv = process.argv.slice(2).filter((a) => a !== '--');
// each bench's options: option -> whether a value follows it
const benches = {
  '--numpy': { file: 'numpy-baselines.bench.ts', options: { '--quick': false, '--python': true, '--numpy-malloc': true, '--only': true, '--no-check': false } },
  '--training': { file: 'training-step.bench.ts', options: { '--quick': false, '--backend': true, '--only': true, '--profile': false } },
  '': { file: 'pilot-detectors.bench.ts', options: { '--quick': false, '--backend': true } },
};
const which = argv.includes('--numpy') ? '--numpy' : argv.includes('--training') ? '--training' : '';
const { file, options } = benches[which];
const rest = argv.filter((a) => a !== which);
checkBenchOptions(rest, options, which === '' ? 'pnpm bench' : `pnpm bench -- ${which}`, `bench/${file}`);
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
process.env.TS_NODE_PROJECT = process.env.TS_NODE_PROJECT || path.join(__dirname, '..', '..', '..', 'tsconfig.base.json');
require('ts-node/register');
require('reflect-metadata');
const { main } = require(`./${file}`);
main(rest).then((code) => {
  process.exitCode = code;
});
