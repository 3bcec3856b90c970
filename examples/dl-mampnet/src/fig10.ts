/**
 * Fig. 10 of Z. Ma, W. Wu, F. Gao, X. Shen, "Model-Driven Deep Learning for Non-Coherent Massive
 * Machine-Type Communications" [Ma2023]: what DL-mAMPnet's stages see for one block with two
 * active devices (N = 10, J = 1, L = 10, M = 2): (a) |X_T| after the 4 AMP layers, (b) the true |X| (both
 * 2NQ x M, real parts in rows 1-20, imaginary parts in rows 21-40), (c) u after max-pool /
 * max-unpool, (d) the output alpha_hat = f_rho(a), (e) the true alpha (NQ entries).
 *
 * Trains the network of ../fig10.json (or reuses its cached artifact), then draws the first
 * validation-free evaluation trial with exactly two active devices, and writes fig10.svg / .png
 * next to the spec.
 *
 *   TS_NODE_TRANSPILE_ONLY=true TS_NODE_PROJECT=tsconfig.base.json \
 *     node -r ts-node/register examples/dl-mampnet/src/fig10.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { readTrainedArtifact, selectBackend } from '../../../packages/core/src';
import { ensureTrained, loadSpec, Pipeline } from '../../../packages/runner/src';
import { renderPng, renderSvg } from '../../../packages/runner/src/plot/render';
import type { DlMampnetDetector, DlMampnetObservation } from '../../../packages/plugins-detectors/src/dl-mampnet';

type Container = ConstructorParameters<typeof Pipeline>[2];

async function main(): Promise<void> {
  const dir = path.join(__dirname, '..');
  await selectBackend('auto');
  const loaded = loadSpec(path.join(dir, 'fig10.json'));
  const jobs = loaded.jobs;
  const index = jobs.findIndex((j) => j.candidate === 'dl-mampnet');
  const trained = await ensureTrained(loaded, [jobs[index]]);
  const artifact = trained.get(0)?.dir as string;
  const runnerRequire = createRequire(require.resolve('../../../packages/runner/src/engine/pipeline.ts'));
  const { container } = runnerRequire('tsyringe') as { container: Container };
  const pipeline = new Pipeline(loaded.registry, jobs[index].pipeline, container);
  const { weights } = readTrainedArtifact(artifact);
  await pipeline.prepare({ tensors: weights, file: artifact, fix: `delete ${artifact}` });
  for (const t of Object.values(weights)) (t as { dispose(): void }).dispose();
  const det = pipeline.trainables().find((t) => t.slot === 'detector')?.instance as unknown as DlMampnetDetector;

  const { numDevices: N, numAntennas: M } = jobs[index].pipeline.scenario;
  const Q = 2;
  for (let trial = 0; trial < 10000; trial++) {
    const batch = pipeline.forward({ first: trial, count: 1 });
    const active = (batch.truth.activity.arraySync() as number[][])[0];
    if (active.filter((a) => a === 1).length !== 2) continue;
    const out = det.forward(batch.observation as DlMampnetObservation); // the pipeline grants what the detector requires
    const target = det.targets(batch);
    const xT = (out.x[out.x.length - 1].arraySync() as number[][][])[0]; // [M][2NQ]
    const x = (target.x.arraySync() as number[][][])[0];
    const u = (out.u?.arraySync() as number[][])[0];
    const a = (out.a?.arraySync() as number[][])[0];
    const alpha = (target.alpha.arraySync() as number[][])[0];
    const rho = (jobs[index].pipeline.slots.detector.params as { rho: number }).rho;
    const alphaHat = a.map((v) => Math.max(0, Math.tanh(rho * v)));
    const rows: { panel: string; row: number; col: number; value: number }[] = [];
    // Magnitudes on a 60 dB scale relative to the panel's peak (the devices' SNRs span 48 dB), so
    // that weak devices stay visible; alpha_hat and alpha are drawn linearly (values in [0, 1]).
    const add = (panel: string, get: (r: number, c: number) => number, height: number, width: number, decibel: boolean) => {
      const peak = Math.max(1e-12, ...Array.from({ length: height * width }, (_, i) => Math.abs(get(Math.floor(i / width), i % width))));
      const scale = (v: number) => (decibel ? Math.max(0, 1 + (20 * Math.log10(Math.max(v / peak, 1e-12))) / 60) : v);
      for (let r = 0; r < height; r++) for (let c = 0; c < width; c++) rows.push({ panel, row: r + 1, col: c + 1, value: scale(Math.abs(get(r, c))) });
    };
    add('(a) |X_T| (4 AMP layers)', (r, c) => xT[c][r], 2 * N * Q, M, true);
    add('(b) |X| (truth)', (r, c) => x[c][r], 2 * N * Q, M, true);
    add('(c) u (max-pool/unpool)', (r) => u[r], 2 * N * Q, 1, true);
    add('(d) alpha_hat', (r) => alphaHat[r], N * Q, 1, false);
    add('(e) alpha (truth)', (r) => alpha[r], N * Q, 1, false);
    const panels = [...new Set(rows.map((r) => r.panel))];
    const spec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: `DL-mAMPnet stages, N = ${N}, L = 10, M = ${M}, J = 1 (evaluation trial ${trial}; (a)-(c) in dB over 60 dB below each panel's peak)`,
      config: { font: 'DejaVu Sans' },
      hconcat: panels.map((p) => ({
        title: p,
        data: { values: rows.filter((r) => r.panel === p) },
        mark: 'rect',
        width: 18 * (p.startsWith('(a)') || p.startsWith('(b)') ? M : 1),
        height: 8 * (p.startsWith('(d)') || p.startsWith('(e)') ? N * Q : 2 * N * Q),
        encoding: {
          x: { field: 'col', type: 'ordinal', title: p.startsWith('(a)') || p.startsWith('(b)') ? 'antenna' : null },
          y: { field: 'row', type: 'ordinal', title: 'row', axis: { values: [1, 5, 10, 15, 20, 25, 30, 35, 40] } },
          color: { field: 'value', type: 'quantitative', scale: { scheme: 'greys', domain: [0, 1] }, legend: null },
        },
      })),
    };
    const svg = await renderSvg(spec);
    fs.writeFileSync(path.join(dir, 'fig10.svg'), svg);
    fs.writeFileSync(path.join(dir, 'fig10.png'), renderPng(svg));
    const kept = u.map((v, r) => (v > 0 ? r + 1 : 0)).filter((r) => r > 0);
    const sent = alpha.map((v, r) => (v > 0 ? r + 1 : 0)).filter((r) => r > 0);
    const decided = a.map((v, r) => (v > 0 ? r + 1 : 0)).filter((r) => r > 0); // the "logits" rule a > 0
    console.log(`trial ${trial}: sent sequences (1-based rows of alpha) ${sent.join(', ')}; a > 0 (active) at ${decided.join(', ') || 'none'}; non-zero rows of u: ${kept.join(', ')}`);
    console.log(`wrote ${path.join(dir, 'fig10.svg')} and fig10.png`);
    pipeline.dispose();
    return;
  }
  throw new Error('no trial with two active devices in 10,000');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
