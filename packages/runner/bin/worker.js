// Entry point of a pool worker thread (see src/executors.ts): TypeScript through ts-node, as bin/gfra.js.
const path = require('node:path');
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
process.env.TS_NODE_PROJECT = process.env.TS_NODE_PROJECT || path.join(__dirname, '..', '..', '..', 'tsconfig.base.json');
require('ts-node/register');
require('reflect-metadata');
require('../src/worker.ts');
