#!/usr/bin/env node
// Table I of Ma, Wu, Jian, Gao, Shen (Mul-VAE): multiplications per detected block of Mul-VAE
// (Eq. (27), encoder included as in the paper), SCMA-MPA (Eq. (28)) and MMSE-SIC (Eq. (30)) at
// K = 4, R = 1, N_iter = 5 for N = 50, 100, 500; then the same counts at the configuration the
// paper simulates (N = 6, rates 1,1,1,2,2,2, the SCMA factor graph), where the order reverses.
// The counts come from the detectors' algorithm layer (algorithms/complexity.ts, whose tests pin
// them to the paper's printed values).
//
//   node examples/mul-vae/table1.mjs        (after `pnpm install`, which builds dist/)
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const c = require('../../packages/plugins-detectors/dist/algorithms/complexity.js');

const e = (x) => x.toExponential(2).replace('e+', 'e');
const K = 4;
console.log('Table I (K = 4, R = 1, N_iter = 5): multiplications per detected block');
console.log('| N | Mul-VAE (total, Eq. (27)) | Mul-VAE detector only | MPA (Eq. (28)) | MMSE-SIC (Eq. (30)) | Mul-VAE / MPA | Mul-VAE / MMSE-SIC |');
console.log('|---|---|---|---|---|---|---|');
for (const N of [50, 100, 500]) {
  const bits = new Array(N).fill(1);
  const m = c.mulVaeTotalComplexity(bits, K, 1);
  const mpa = c.mpaComplexityRegular(N, K, 1, 5);
  const sic = c.mmseSicComplexity(N, K);
  console.log(`| ${N} | ${e(m.total)} (${m.total}) | ${e(m.detector)} | ${e(mpa)} | ${e(sic)} (${sic}) | ${e(m.total / mpa)} | ${(m.total / sic).toFixed(3)} |`);
}

const SCMA_F = [
  [0, 1, 1, 0, 1, 0],
  [1, 0, 1, 0, 0, 1],
  [0, 1, 0, 1, 0, 1],
  [1, 0, 0, 1, 1, 0],
];
const sim = [1, 1, 1, 2, 2, 2];
console.log('\nThe simulated configuration (N = 6, K = 4, rates 1,1,1,2,2,2, N_iter = 5, the SCMA factor graph):');
console.log('| sluice R | Mul-VAE encoder | Mul-VAE detector | Mul-VAE total | MPA | MMSE-SIC |');
console.log('|---|---|---|---|---|---|');
const mpa6 = c.mpaComplexity({ iterations: 5, factorGraph: SCMA_F, bits: sim });
for (const R of [1, 2]) {
  const m = c.mulVaeTotalComplexity(sim, K, R);
  console.log(`| ${R} | ${m.encoder} | ${m.detector} | ${m.total} | ${mpa6} | ${c.mmseSicComplexity(6, K)} |`);
}
