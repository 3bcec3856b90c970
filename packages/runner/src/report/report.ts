/**
 * `gfra report RUN_DIR...`: one self-contained HTML file (Vega, Vega-Lite and vega-embed
 * inlined; no network access needed) of one or more runs: a warning when the runs differ in seed
 * or Monte Carlo settings, each run's spec summary, one chart area (statistic, x parameter and
 * log/linear scale chosen in the page) with all runs' candidates side by side, candidate toggles
 * shared by the charts and tables, the results of all runs in one sortable table (with the spread
 * over repetitions where the runs repeat), a CSV download per run in the long format of
 * `gfra results export`, time per candidate and each run's environment.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readResults } from '../results/read';
import { plotRuns, type PlotRun } from '../plot/rows';
import { legendSymbol } from '../plot/style';
import { clientScript, inlineLibraries } from './assets';
import { chartSet, reportSeries, trainingChart } from './charts';
import { compareSection, type RunComparisons } from './compare';
import { runCsvs } from './csv';
import { esc, scriptCode, scriptJson } from './html';
import { environmentTable, resultsTable, specSummary, timingTable } from './sections';
import { differenceText, settingDifferences } from './settings';

const STYLE = `
  body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1240px; padding: 0 24px 48px; color: #222; }
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
  th.group { text-align: center; }
  table.sortable th[data-col] { cursor: pointer; user-select: none; }
  table.sortable th[aria-sort="ascending"]::after { content: " ▲"; font-size: 10px; }
  table.sortable th[aria-sort="descending"]::after { content: " ▼"; font-size: 10px; }
  tr.pooled td { font-weight: bold; background: #fafaf3; }
  .scroll { overflow-x: auto; max-width: 100%; }
  .missing { color: #999; }
  .warning { border: 1px solid #d9a400; background: #fff6d6; padding: 8px 12px; margin: 12px 0; font-size: 14px; }
  .sticky { position: sticky; top: 0; z-index: 5; background: rgba(255,255,255,0.96); border-bottom: 1px solid #e4e4e4; padding: 6px 0; }
  .controls { display: flex; flex-wrap: wrap; gap: 8px 22px; align-items: center; margin: 10px 0; font-size: 14px; }
  .controls select { font-size: 14px; margin-left: 6px; }
  figure.chart { margin: 10px 0 24px; }
  .toggles { display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 13px; align-items: center; }
  .toggles label { cursor: pointer; display: inline-flex; align-items: center; gap: 5px; }
  .toggles button, .downloads button { font-size: 12px; }
  .downloads { display: flex; flex-wrap: wrap; gap: 8px; margin: 6px 0 10px; }
  .swatch { display: inline-block; width: 26px; height: 10px; }
  .error { color: #b00020; font-weight: bold; }
  #vg-tooltip-element { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; }
`;

export interface ReportInput {
  /** Run directories or results.json files. */
  readonly targets: readonly string[];
}

function select(id: string, label: string, options: readonly (readonly [string, string])[], title: string): string {
  return `<label title="${esc(title)}">${esc(label)}<select id="${id}">${options.map(([value, text]) => `<option value="${esc(value)}">${esc(text)}</option>`).join('')}</select></label>`;
}

/**
 * The report for these runs, as one HTML document; `comparisons` (from {@link runComparisons},
 * which reads the results stores) adds the paired comparisons.
 */
export function buildReport(runs: readonly PlotRun[], generated = new Date(), comparisons?: readonly RunComparisons[]): string {
  const libraries = inlineLibraries();
  const series = reportSeries(runs);
  const charts = chartSet(runs, series);
  const training = trainingChart(runs, series);
  const csvs = runCsvs(runs);
  const differences = settingDifferences(runs);
  const names = runs.map((r) => r.label).join(', ');
  const sections: string[] = [];
  sections.push(
    `<section id="experiments"><h2>Experiments</h2>${runs.map((r) => `<h3>${esc(r.label)}</h3>\n${specSummary(r)}`).join('\n')}</section>`,
  );
  const hasCharts = charts.statistics.length > 0 && charts.params.length > 0;
  sections.push(
    `<section id="figures"><h2>Figures</h2>${
      hasCharts
        ? [
            '<div class="controls">',
            select('stat-select', 'statistic', charts.statistics.map((s) => [s.name, s.title]), 'the statistic on the y axis'),
            select('x-select', 'x', charts.params.map((p) => [p.path, p.label === p.short ? p.path : `${p.label} (${p.path})`]), 'the swept parameter on the x axis; the other swept parameters split the chart into panels'),
            select('scale-select', 'y scale', [['auto', "the statistic's own (log for rates)"], ['log', 'log'], ['linear', 'linear']], 'the y axis scale'),
            '</div>',
            '<figure class="chart" data-kind="metric" id="metric-figure"><div class="vis" id="metric-chart"></div></figure>',
            '<p class="note">Hover a marker for its values; the candidate boxes at the top (or a click on a legend entry) show or hide a candidate in every chart and table. ▼ marks an upper bound: no error was observed, the marker sits at the upper end of the interval. With repetitions, a marker is the mean over repetitions with its t-interval; the results table gives their sd, min and max.</p>',
          ].join('\n')
        : '<p>No swept parameter: see the results table.</p>'
    }</section>`,
  );
  if (training !== undefined) {
    sections.push(`<section id="training"><h2>Training</h2><figure class="chart" data-kind="training" id="training-figure"><div class="vis" id="training-chart"></div></figure></section>`);
  }
  const downloads = csvs
    .map((c, i) => `<button type="button" data-csv="${i}" title="${esc(`${c.rows} rows: one per candidate × point × repetition × statistic`)}">⤓ ${esc(c.file)}</button>`)
    .join('');
  sections.push(
    [
      '<section id="results"><h2>Results</h2>',
      `<div class="downloads">${downloads}</div>`,
      `<p class="note">CSV: ${runs.length > 1 ? 'one file per run (their swept parameters, hence columns, may differ), each' : 'the results'} in the long format of <code>gfra results export --format csv</code> (one row per candidate × point × repetition × statistic, candidate keys). Table: click a column header to sort, again to reverse.${runs.some((r) => (r.data.pooled ?? []).length > 0) ? ' Rows "mean of R" pool the repetitions of a (point, candidate): the mean with its t-interval, and the spread over repetitions (sd, min, max).' : ''} <span id="hidden-rows"></span></p>`,
      resultsTable(runs, series),
      '</section>',
    ].join('\n'),
  );
  if (comparisons !== undefined) sections.push(`<section id="compare"><h2>Paired comparisons</h2>${compareSection(comparisons)}</section>`);
  sections.push(`<section id="timing"><h2>Time per candidate</h2>${timingTable(runs, series)}</section>`);
  sections.push(`<section id="environment"><h2>Environment</h2>${environmentTable(runs, libraries)}</section>`);
  const nav = ['experiments', 'figures', ...(training !== undefined ? ['training'] : []), 'results', ...(comparisons !== undefined ? ['compare'] : []), 'timing', 'environment']
    .map((id) => `<a href="#${id}">${id === 'timing' ? 'time per candidate' : id}</a>`)
    .join('');
  const warning =
    differences.length > 0
      ? `<div class="warning" id="settings-warning" role="alert"><b>⚠ These runs were not estimated alike.</b> They differ in ${esc(differenceText(differences))}. Their curves share an axis, but differences between them may come from these settings (other random draws, other stopping rules or confidence levels), not only from the candidates.</div>`
      : '';
  const toggles = series
    .map(
      (s, i) =>
        // The swatch is the series' legend symbol (colour and marker, as in every chart).
        `<label><input type="checkbox" value="${esc(s.name)}" checked><svg class="swatch" viewBox="-1.15 -0.45 2.3 0.9" aria-hidden="true"><path d="${esc(legendSymbol(i))}" fill="${esc(s.color)}" stroke="${esc(s.color)}" stroke-width="0.14"/></svg>${esc(s.name)}</label>`,
    )
    .join('');
  const client = { series: series.map((s) => ({ name: s.name, color: s.color })), charts, training: training ?? null, csv: csvs.map((c) => ({ file: c.file, text: c.text })) };
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
    warning,
    `<div class="toggles sticky" id="candidates" title="show or hide a candidate in every chart and table (or click its legend entry)"><b>candidates</b>${toggles}<button type="button" data-all="1">all</button><button type="button" data-all="0">none</button></div>`,
    ...sections,
    `<script type="application/json" id="gfra-data">${scriptJson(client)}</script>`,
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
