// Entry point of a pool worker thread (see src/engine/executors.ts): the compiled worker
// (dist/engine/worker.js), or its TypeScript source through ts-node when the thread that started
// it runs the sources (the gfra-source condition, or GFRA_FROM_SOURCE=1, which bin/gfra.js sets
// when it falls back to the sources). Either way a spec's `.ts` plugin modules load.
'use strict';
const entry = require('./boot').prepare(['engine/worker', 'worker'], { checkBuild: false });
require('reflect-metadata');
require(entry);
