#!/usr/bin/env node
// Lab summary of a finite-alphabet NOMA run (Yu, Fei, Zheng, Ye): per repetition, the learned
// signatures' structure (from `gfra export`) and correlation diagnostics, and BER ratios against
// a reference candidate at each SNR; the paired differences themselves come from `gfra compare`.
//
//   node examples/finite-alphabet-noma/summarize.mjs RUN_DIR LEARNED REFERENCE [METRIC]
//
// e.g. RUN_DIR = runs/finite-alphabet-noma-r1, LEARNED = qnn.mmse-sic, REFERENCE = wbe.mmse-sic.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const [dir, learned, reference, metric = 'ber'] = process.argv.slice(2);
if (dir === undefined || learned === undefined || reference === undefined) {
  console.error('usage: summarize.mjs RUN_DIR LEARNED REFERENCE [METRIC]');
  process.exit(2);
}
const gfra = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages', 'runner', 'bin', 'gfra.js');
const data = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8'));
const snrOf = (r) => Object.values(r.point)[0];
const reps = [...new Set(data.results.map((r) => r.repetition ?? 0))].sort();
const fmt = (x, d = 4) => (x === null || x === undefined ? '-' : Number(x).toPrecision(d));

console.log(`# ${data.name}: ${learned} against ${reference} (${metric})\n`);
console.log('| rep | integer entries in [-Q, Q], no zero row | CCw learned | CCw reference | mean |c| frequent | mean |c| other | max |c| (collapse >= 0.99) |');
console.log('|---|---|---|---|---|---|---|');
for (const rep of reps) {
  const mine = data.results.find((r) => r.candidate === learned && (r.repetition ?? 0) === rep);
  const ref = data.results.find((r) => r.candidate === reference && (r.repetition ?? 0) === rep);
  let structure = 'n/a';
  if (mine?.training !== undefined) {
    const out = path.join(dir, `signatures-${learned}-rep${rep}.json`);
    const args = [gfra, 'export', dir, '--candidate', learned, '--out', out, ...(reps.length > 1 ? ['--repetition', String(rep)] : [])];
    execFileSync(process.execPath, args, { stdio: 'ignore' });
    const obj = JSON.parse(fs.readFileSync(out, 'utf8'));
    const [L, N] = obj.shape;
    const Q = obj.provenance?.alphabetHalfWidth ?? 2;
    const ints = [...obj.re, ...obj.im].every((x) => Number.isInteger(x) && Math.abs(x) <= Q);
    const zeroRow = Array.from({ length: N }, (_, n) => Array.from({ length: L }, (_, l) => obj.re[l * N + n] ** 2 + obj.im[l * N + n] ** 2).reduce((a, b) => a + b, 0)).some((e) => e === 0);
    structure = `${ints ? 'yes' : 'NO'}${zeroRow ? ', ZERO ROW' : ''}`;
  }
  const d = mine?.diagnostics ?? {};
  console.log(`| ${rep} | ${structure} | ${fmt(d['encoder/ccw'])} | ${fmt(ref?.diagnostics?.['encoder/ccw'])} | ${fmt(d['encoder/cc-frequent'], 3)} | ${fmt(d['encoder/cc-other'], 3)} | ${fmt(d['encoder/cc-max'], 3)} |`);
}
console.log(`\n| SNR | rep | ${metric} ${learned} [95 % CI] | ${metric} ${reference} [95 % CI] | ratio |`);
console.log('|---|---|---|---|---|');
for (const snr of [...new Set(data.results.map(snrOf))]) {
  for (const rep of reps) {
    const a = data.results.find((r) => r.candidate === learned && snrOf(r) === snr && (r.repetition ?? 0) === rep)?.metrics[metric];
    const b = data.results.find((r) => r.candidate === reference && snrOf(r) === snr && (r.repetition ?? 0) === rep)?.metrics[metric];
    if (a === undefined || b === undefined) continue;
    console.log(`| ${snr} | ${rep} | ${fmt(a.value, 3)} [${fmt(a.low, 3)}, ${fmt(a.high, 3)}] | ${fmt(b.value, 3)} [${fmt(b.low, 3)}, ${fmt(b.high, 3)}] | ${fmt(a.value / b.value, 3)} |`);
  }
}
