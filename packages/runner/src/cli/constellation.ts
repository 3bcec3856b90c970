/**
 * `gfra constellation FILE`: the diagnostics of a multi-user constellation (constellation/v1,
 * written by `gfra export --format constellation`) as a table, and its figure per resource
 * element: every user's codewords on RE k in the complex plane, one panel per RE, as in Fig. 5 of
 * Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint Constellation Design and Multiuser Detection for
 * Grant-Free NOMA", IEEE TWC 2022.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { constellationDiagnostics, GfraUserError, readConstellationFile, type ConstellationFile } from '@gfra/core';
import { renderPng, renderSvg } from '../plot/render';

/** The diagnostics as a plain-text report. */
export function formatConstellation(c: ConstellationFile, file: string): string {
  const d = constellationDiagnostics(c.users, c.K);
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'inf');
  const lines = [
    `${file}: ${c.users.length} users on K = ${c.K} resource elements (source ${c.source}; ${c.energyConvention})`,
    '',
    `| user | bits | average energy | codeword energies | power per RE (${Array.from({ length: c.K }, (_, k) => k + 1).join(', ')}) | min distance |`,
    '|---|---|---|---|---|---|',
    ...c.users.map((u, n) => `| ${u.id} | ${u.bits} | ${f(d.averageEnergy[n])} | ${d.codewordEnergies[n].map(f).join(', ')} | ${d.powerPerRe[n].map(f).join(', ')} | ${f(d.userMinDistance[n])} |`),
    '',
    `dense (user, RE) pairs (power > 0.1 of the user's uniform share): ${d.densePairs} of ${c.users.length * c.K}`,
    `min distance of the superimposed points per RE: ${d.reMinDistance.map(f).join(', ')} (0: two message tuples collide on that RE)`,
    d.jointMinDistance === undefined ? 'joint min distance: not computed (more than 4096 message tuples)' : `joint min distance over all REs: ${f(d.jointMinDistance)}`,
  ];
  return lines.join('\n');
}

/** Vega-Lite spec: one panel per RE, each user's codewords (shape and colour per user, message index as label). */
export function constellationChart(c: ConstellationFile, title?: string): Record<string, unknown> {
  const values = c.users.flatMap((u) => u.points.flatMap((word, s) => word.map(([re, im], k) => ({ re, im, re_index: `RE ${k + 1}`, user: `user ${u.id} (${u.bits} bit${u.bits === 1 ? '' : 's'})`, message: String(s) }))));
  const extent = Math.max(1e-9, ...values.map((v) => Math.max(Math.abs(v.re), Math.abs(v.im)))) * 1.1;
  const scale = { domain: [-extent, extent], nice: false };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    ...(title !== undefined ? { title } : {}),
    data: { values },
    facet: { field: 're_index', type: 'nominal', title: null, sort: Array.from({ length: c.K }, (_, k) => `RE ${k + 1}`) },
    columns: Math.min(c.K, 4),
    spec: {
      width: 180,
      height: 180,
      layer: [
        {
          mark: { type: 'point', filled: true, size: 60 },
          encoding: {
            x: { field: 're', type: 'quantitative', title: 'Re', scale },
            y: { field: 'im', type: 'quantitative', title: 'Im', scale },
            color: { field: 'user', type: 'nominal', title: null },
            shape: { field: 'user', type: 'nominal', title: null },
          },
        },
        {
          mark: { type: 'text', dx: 7, dy: -7, fontSize: 9 },
          encoding: { x: { field: 're', type: 'quantitative' }, y: { field: 'im', type: 'quantitative' }, text: { field: 'message' }, color: { field: 'user', type: 'nominal', legend: null } },
        },
      ],
    },
    config: { font: 'DejaVu Sans', axis: { labelFontSize: 10, titleFontSize: 11 }, legend: { labelFontSize: 10, orient: 'bottom' } },
  };
}

/**
 * Write the figure of `file` as `<out>.svg`, `<out>.png` and its Vega-Lite spec `<out>.vl.json`.
 * Returns the paths written.
 */
export async function writeConstellationFigure(c: ConstellationFile, out: string, title?: string): Promise<string[]> {
  const base = out.replace(/\.(svg|png)$/i, '');
  const spec = constellationChart(c, title);
  const svg = await renderSvg(spec);
  try {
    fs.mkdirSync(path.dirname(path.resolve(base)), { recursive: true });
    fs.writeFileSync(`${base}.vl.json`, `${JSON.stringify(spec, null, 1)}\n`);
    fs.writeFileSync(`${base}.svg`, svg);
    fs.writeFileSync(`${base}.png`, renderPng(svg));
  } catch (err) {
    throw new GfraUserError(`cannot write the figure ${base}.svg: ${(err as Error).message}`);
  }
  return [`${base}.svg`, `${base}.png`, `${base}.vl.json`];
}

/** Read a constellation file (user errors as GfraUserError). */
export function loadConstellation(file: string): ConstellationFile {
  try {
    return readConstellationFile(file);
  } catch (err) {
    throw new GfraUserError(`${(err as Error).message}. Write one with \`gfra export RUN --candidate NAME --format constellation --out FILE.json\``);
  }
}
