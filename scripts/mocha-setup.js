// Loaded by every package's .mocharc.json: TypeScript through ts-node (the TypeScript compiler
// itself, so decorator metadata is emitted for tsyringe), reflect-metadata, and root hooks that
// select the compute backend (GFRA_TEST_BACKEND, default wasm) before any test runs.
const path = require('node:path');
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
process.env.TS_NODE_PROJECT = process.env.TS_NODE_PROJECT || path.join(__dirname, '..', 'tsconfig.base.json');
require('ts-node/register');
require('reflect-metadata');
module.exports = require('../packages/core/src/testing/mocha-hooks.ts');
