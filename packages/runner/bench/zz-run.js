const path = require('node:path');
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
process.env.TS_NODE_PROJECT = path.join(__dirname, '..', '..', '..', 'tsconfig.base.json');
require('ts-node/register');
require('reflect-metadata');
require(process.argv[2]).main(process.argv.slice(3)).then((c) => { process.exitCode = c; });
