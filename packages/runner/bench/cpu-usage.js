// Preloaded (node --require) into a `gfra run` that executors.bench.ts times: at the process's
// exit, writes its CPU seconds, every thread's together (getrusage), to GFRA_BENCH_CPU_FILE.
'use strict';
const fs = require('node:fs');
const { isMainThread } = require('node:worker_threads');
if (isMainThread && process.env.GFRA_BENCH_CPU_FILE) {
  process.on('exit', () => {
    const { user, system } = process.cpuUsage();
    fs.writeFileSync(process.env.GFRA_BENCH_CPU_FILE, JSON.stringify({ seconds: (user + system) / 1e6 }));
  });
}
