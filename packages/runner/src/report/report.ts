/**
 * `gfra report RUN_DIR...`: one self-contained HTML file (Vega, Vega-Lite and vega-embed
 * inlined; no network access needed) with, for every run, the spec summary, results table, time
 * per candidate and environment, and interactive charts (hover values, candidate toggles) that
 * put all runs' candidates side by side, prefixed by run name when there are several.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readResults } from '../results/read';
import { plotRuns, type PlotRun } from '../plot/rows';
import { clientScript, inlineLibraries } from './assets';
import { metricCharts, trainingChart, type ReportChart } from './charts';
import { compareSection, type RunComparisons } from './compare';
import { esc, scriptCode, scriptJson } from './html';
import { environmentTable, resultsTable, specSummary, timingTable } from './sections';

const STYLE = `
  body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1180px; padding: 0 24px 48px; color: #222; }
  h1 { margin: 24px 0 4px; } h2 { margin-top: 36px; border-bottom: 1px solid #ddd; padding-bottom: 4px; } h3 { margin-bottom: 6px; }
  .meta, .note { color: #555; font-size: 13px; }
  nav a { margin-right: 14px; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; font-size: 14px; }
  dt { font-weight: bold; } dd { margin: 0; } dd ul { margin: 0; padding-left: 18px; }
  code, pre { font-family: "DejaVu Sans Mono", Menlo, monospace; font-size: 12px; }
  pre { background: #f6f6f6; padding: 8px; overflow: auto; max-height: 420px; }
  table { border-collapse: collapse; font-size: 13px; margin: 6px 0 16px; }
  th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; white-space: nowrap; }
  th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; } td.bound { color: #8a5a00; }
  figure.chart { margin: 18px 0 30px; }
  .toggles { display: flex; flex-wrap: wrap; gap: 6px 14px; margin: 6px 0; font-size: 13px; }
  .toggles label { cursor: pointer; display: inline-flex; align-items: center; gap: 5px; }
  .swatch { display: inline-block; width: 18px; height: 4px; border-radius: 2px; }
  .error { color: #b00020; font-weight: bold; }
  #vg-tooltip-element { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; }
`;

export interface ReportInput {
  /** Run directories or results.json files. */
  readonly targets: readonly string[];
}

function chartFigure(chart: ReportChart): string {
  const toggles = chart.series
    .map(
      (s) =>
        `<label><input type="checkbox" value="${esc(s.name)}" checked><span class="swatch" style="background:${esc(s.color)}"></span>${esc(s.name)}</label>`,
    )
    .join('');
  return [
    `<figure class="chart" data-chart="${esc(chart.id)}" data-kind="${chart.kind}" aria-label="${esc(chart.heading)}">`,
    `<div class="toggles" data-toggles-for="${esc(chart.id)}" title="show or hide a candidate (or click its legend entry)">${toggles}</div>`,
    `<div class="vis" id="${esc(chart.id)}"></div>`,
    '</figure>',
  ].join('\n');
}

/**
 * The report for these runs, as one HTML document; `comparisons` (from {@link runComparisons},
 * which reads the results stores) adds the paired comparisons.
 */
export function buildReport(runs: readonly PlotRun[], generated = new Date(), comparisons?: readonly RunComparisons[]): string {
  const libraries = inlineLibraries();
  const charts = metricCharts(runs);
  const training = trainingChart(runs, `chart-${charts.length + 1}`);
  const all = training === undefined ? charts : [...charts, training];
  const names = runs.map((r) => r.label).join(', ');
  const sections: string[] = [];
  sections.push(
    `<section id="experiments"><h2>Experiments</h2>${runs.map((r) => `<h3>${esc(r.label)}</h3>\n${specSummary(r)}`).join('\n')}</section>`,
  );
  sections.push(
    `<section id="figures"><h2>Figures</h2>${
      charts.length > 0
        ? `<p class="note">Hover a marker for its values; tick the boxes or click a legend entry to show or hide a candidate. ▼ marks an upper bound: no error was observed, the marker sits at the upper end of the interval.</p>\n${charts.map(chartFigure).join('\n')}`
        : '<p>No swept parameter: see the results table.</p>'
    }</section>`,
  );
  if (training !== undefined) {
    sections.push(`<section id="training"><h2>Training</h2>${chartFigure(training)}</section>`);
  }
  sections.push(`<section id="results"><h2>Results</h2>${runs.map((r) => `<h3>${esc(r.label)}</h3>\n${resultsTable(r)}`).join('\n')}</section>`);
  if (comparisons !== undefined) sections.push(`<section id="compare"><h2>Paired comparisons</h2>${compareSection(comparisons)}</section>`);
  sections.push(`<section id="timing"><h2>Time per candidate</h2>${timingTable(runs)}</section>`);
  sections.push(`<section id="environment"><h2>Environment</h2>${environmentTable(runs, libraries)}</section>`);
  const nav = ['experiments', 'figures', ...(training !== undefined ? ['training'] : []), 'results', ...(comparisons !== undefined ? ['compare'] : []), 'timing', 'environment']
    .map((id) => `<a href="#${id}">${id === 'timing' ? 'time per candidate' : id}</a>`)
    .join('');
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>gfra report: ${esc(names)}</title>`,
    `<style>${STYLE}</style>`,
    ...libraries.map((l) => `<script>/* ${esc(l.name)} ${esc(l.version)} */\n${scriptCode(l.code)}\n</script>`),
    '</head><body>',
    `<h1>gfra report: ${esc(names)}</h1>`,
    `<p class="meta">${runs.length} run${runs.length === 1 ? '' : 's'} · generated ${esc(generated.toISOString())} by gfra ${esc(runs[0]?.data.environment?.gfra ?? '')}</p>`,
    `<nav>${nav}</nav>`,
    ...sections,
    `<script type="application/json" id="gfra-charts">${scriptJson(all.map((c) => ({ id: c.id, spec: c.spec })))}</script>`,
    `<script>\n${scriptCode(clientScript())}\n</script>`,
    '</body></html>',
    '',
  ].join('\n');
}

/** Default output: `RUN_DIR/report.html` for one run, `report.html` here for several. */
export function defaultReportPath(targets: readonly string[]): string {
  if (targets.length !== 1) return 'report.html';
  return path.join(readResults(targets[0]).dir, 'report.html');
}

/** Read the runs, write the report (with `comparisons` when given), return its path. */
export function writeReport(targets: readonly string[], out?: string, comparisons?: readonly RunComparisons[]): string {
  const runs = plotRuns(targets.map((t) => readResults(t)));
  const file = out ?? defaultReportPath(targets);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, buildReport(runs, new Date(), comparisons));
  return file;
}
