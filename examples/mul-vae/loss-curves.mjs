#!/usr/bin/env node
// Per-user training cross-entropies (nats) of the trained candidates of a Mul-VAE run, from the
// loss history that results.json carries (`training.lossHistory[].terms`), at a few steps, per
// repetition: the curves of the paper's Figs. 6-8, as a table.
//
//   node examples/mul-vae/loss-curves.mjs RUN_DIR [STEP ...]
import * as fs from 'node:fs';
import * as path from 'node:path';

const [dir, ...stepArgs] = process.argv.slice(2);
if (dir === undefined) {
  console.error('usage: loss-curves.mjs RUN_DIR [STEP ...]');
  process.exit(2);
}
const steps = stepArgs.length > 0 ? stepArgs.map(Number) : [100, 500, 1000, 2000];
const data = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8'));
const seen = new Set();
console.log(`| candidate | rep | step | ${[0, 1, 2, 3, 4, 5].map((n) => `CE user ${n}`).join(' | ')} |`);
console.log(`|---|---|---|${'---|'.repeat(6)}`);
for (const r of data.results) {
  const key = `${r.candidate}/${r.repetition ?? 0}`;
  if (r.training === undefined || seen.has(key)) continue;
  seen.add(key);
  for (const step of steps) {
    // the history entry at this step, or the last one before it
    const entry = [...r.training.lossHistory].reverse().find((p) => p.step <= step && p.terms !== undefined);
    if (entry === undefined) continue;
    const ce = Object.keys(entry.terms).sort().map((k) => entry.terms[k].toFixed(3));
    console.log(`| ${r.candidate} | ${r.repetition ?? 0} | ${entry.step} | ${ce.join(' | ')} |`);
  }
}
