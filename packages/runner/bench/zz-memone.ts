import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadSpec } from '../src/plan/load';
import { runSpec } from '../src/run';

const label = process.env.LABEL ?? 'x';
function spec(round: number) {
  return {
    name: 'memone', seed: 100 + round,
    scenario: { numDevices: 100, numAntennas: 4, sequenceLength: 30, bitsPerDevice: 0 },
    traffic: { plugin: 'bernoulli', params: { activityProb: 0.1 } },
    channel: { plugin: 'rayleigh', params: { snrDb: 10 } },
    encoder: { plugin: 'gaussian-pilots', params: {} },
    candidates: { amp: { detector: { plugin: 'mmv-amp', params: {} } } },
    metrics: [{ plugin: 'activity', params: {} }],
    sweep: { 'channel.params.snrDb': [0, 4, 8, 12, 16, 20] },
    montecarlo: { batchSize: 100, targetEvents: 1e9, maxTrials: 1e7, maxSeconds: 5 },
  };
}
import { fixNativeMmapThreshold } from '@gfra/core';
export async function main(args: string[]) {
  const minutes = Number(args[0] ?? 6);
  if (process.env.FIX) process.stdout.write(`fixed: ${fixNativeMmapThreshold()}\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memone-'));
  const t0 = performance.now();
  for (let round = 0; (performance.now() - t0) / 60000 < minutes; round++) {
    const file = path.join(dir, `s${round}.json`);
    fs.writeFileSync(file, JSON.stringify(spec(round)));
    await runSpec(loadSpec(file), { out: path.join(dir, `o${round}`), backend: 'wasm', workers: 1 });
    fs.rmSync(path.join(dir, `o${round}`), { recursive: true, force: true });
    (globalThis as any).gc?.();
    const before = process.memoryUsage().rss;
    process.stdout.write(`  before trim ${(before / 2 ** 20).toFixed(0)} `);
    const m = process.memoryUsage();
    process.stdout.write(`${label} ${((performance.now() - t0) / 60000).toFixed(1)} min rss ${(m.rss / 2 ** 20).toFixed(0)} heap ${(m.heapUsed / 2 ** 20).toFixed(0)} ab ${(m.arrayBuffers / 2 ** 20).toFixed(0)} ext ${(m.external / 2 ** 20).toFixed(0)} round ${round}\n`);
  }
  return 0;
}
