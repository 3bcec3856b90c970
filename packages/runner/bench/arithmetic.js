// The machine's own two-way parallelism, without gfra: `node arithmetic.js SECONDS` runs 16
// independent multiply-add chains (registers only: no memory traffic) for SECONDS and prints
// rounds per second. executors.bench.ts runs it alone and as two processes at once.
'use strict';
function chains(n) {
  const k = 1.0000001;
  let a0 = 1, a1 = 1, a2 = 1, a3 = 1, a4 = 1, a5 = 1, a6 = 1, a7 = 1;
  let b0 = 1, b1 = 1, b2 = 1, b3 = 1, b4 = 1, b5 = 1, b6 = 1, b7 = 1;
  for (let i = 0; i < n; i++) {
    a0 = a0 * k + 1e-9; a1 = a1 * k + 1e-9; a2 = a2 * k + 1e-9; a3 = a3 * k + 1e-9;
    a4 = a4 * k + 1e-9; a5 = a5 * k + 1e-9; a6 = a6 * k + 1e-9; a7 = a7 * k + 1e-9;
    b0 = b0 * k + 1e-9; b1 = b1 * k + 1e-9; b2 = b2 * k + 1e-9; b3 = b3 * k + 1e-9;
    b4 = b4 * k + 1e-9; b5 = b5 * k + 1e-9; b6 = b6 * k + 1e-9; b7 = b7 * k + 1e-9;
  }
  return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + b0 + b1 + b2 + b3 + b4 + b5 + b6 + b7;
}
const seconds = Number(process.argv[2] ?? 3);
let sink = chains(1e6);
let rounds = 0;
const start = performance.now();
while (performance.now() - start < seconds * 1000) {
  sink += chains(1e6);
  rounds += 1;
}
process.stdout.write(`${(rounds / ((performance.now() - start) / 1000)).toFixed(3)} ${sink > 0 ? '' : ' '}\n`);
