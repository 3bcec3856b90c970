import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { longRows } from '../cli/results';
import type { ResultsFile } from '../results/format';
import { readResults, type StoredResults } from '../results/read';
import { poolRepetitions } from '../results/repetitions';
import { copyRows, type ExportColumn } from '../results/store';
import { plotRuns } from '../plot/rows';
import { csvText, duckDouble } from './csv';
import { buildReport, writeReport } from './report';

// The browser globals used inside page.evaluate (the workspace compiles without the DOM lib).
interface Elem {
  readonly textContent: string | null;
  readonly hidden: boolean;
  getAttribute(name: string): string | null;
}
declare const document: { querySelectorAll(selector: string): ArrayLike<Elem> & { readonly length: number } };
declare const window: {
  gfraReport: { ready: Promise<void>; idle(): Promise<void>; views: Record<string, { scale(name: string): { type: string } }>; state(): { statistic: string; x: string; scale: string } };
};

const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'plot');
const QUICKSTART = path.join(FIXTURES, 'quickstart');
const SWEEP2D = path.join(FIXTURES, 'sweep2d');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** The display label given to sweep2d's energy-fa (a comma and quotes: escaping is exercised). */
const LABEL = 'Energy, "5 %" FA';

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function readJson(dir: string): StoredResults {
  return JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as StoredResults;
}

function writeRun(name: string, data: unknown): string {
  const dir = path.join(tempDir('gfra-report-'), name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify(data));
  return dir;
}

/**
 * A copy of the sweep2d run whose energy-midpoint results at snrDb 0 carry training loss curves,
 * whose energy-fa has a display label, and whose environment has the fields of this version.
 */
function runWithTraining(): string {
  const data = readJson(SWEEP2D);
  let n = 0;
  const results = data.results.map((r) => {
    if (r.candidate !== 'energy-midpoint' || n >= 2) return r;
    n += 1;
    const lossHistory = Array.from({ length: 20 }, (_, i) => 1 / (i + 1) + 0.01 * n);
    return { ...r, training: { component: 'detector', lossHistory, validationLossHistory: lossHistory.map((l, step) => ({ step, loss: l * 1.2 })) } };
  });
  const spec = { ...data.spec, candidates: { ...data.spec.candidates, 'energy-fa': { ...data.spec.candidates['energy-fa'], label: LABEL } } };
  const environment = { ...data.environment, commit: '0123456789abcdef0123456789abcdef01234567+modified', os: 'Linux 6.1.0', cpu: 'Test CPU @ 2.0GHz', cores: '8', memory: '15.6 GiB', executor: 'bullmq', workers: '3' };
  return writeRun('baseline', { ...data, spec, results, environment });
}

/** The quickstart run with two repetitions per (point, candidate), scaled apart, and their pooled rows. */
function repeatedRun(): { dir: string; data: StoredResults } {
  const data = readJson(QUICKSTART);
  const results = data.results.flatMap((r) =>
    [0, 1].map((repetition) => ({
      ...r,
      repetition,
      metrics: Object.fromEntries(Object.entries(r.metrics).map(([k, m]) => [k, { ...m, value: (m.value as number) * (1 + 0.5 * repetition) }])),
    })),
  );
  const pooled = poolRepetitions(results, 0.95);
  const out = { ...data, spec: { ...data.spec, montecarlo: { ...data.spec.montecarlo, repetitions: 2 } }, results, pooled };
  return { dir: writeRun('repeated', out), data: out as unknown as StoredResults };
}

/** Display name of a series, from the raw file: label (else key), prefixed by the run name. */
function displayName(data: StoredResults, candidate: string): string {
  const label = (data.spec.candidates[candidate] as { label?: string }).label;
  return `${data.name}/${label ?? candidate}`;
}

/**
 * What the chart must show, computed from the raw results (not from the report code): one line
 * per (run, candidate, value of the other swept parameter) with at least one non-zero estimate,
 * one marker per result with a value.
 */
function expectedCounts(dirs: readonly string[], metric: string, xShort: string, hidden: readonly string[] = []): { lines: number; points: number; series: Set<string> } {
  const lines = new Set<string>();
  const series = new Set<string>();
  let points = 0;
  dirs.forEach((dir) => {
    const data = readJson(dir);
    for (const r of data.results) {
      const xKey = Object.keys(r.point).find((k) => k.endsWith(`.${xShort}`));
      const m = r.metrics[metric];
      const name = displayName(data, r.candidate);
      if (xKey === undefined || m === undefined || m.value === null || hidden.includes(name)) continue;
      series.add(name);
      points += 1;
      const other = Object.entries(r.point).filter(([k]) => k !== xKey);
      if (m.value > 0) lines.add(`${name}|${JSON.stringify(other)}`);
    }
  });
  return { lines: lines.size, points, series };
}

/** The CSV `gfra results export --format csv` writes for these rows (DuckDB's COPY), as text. */
async function duckCsv(columns: readonly ExportColumn[], rows: readonly (string | number | null)[][]): Promise<string> {
  const file = path.join(tempDir('gfra-report-csv-'), 'export.csv');
  await copyRows(columns, rows as (string | number | null)[][], file, 'csv');
  return fs.readFileSync(file, 'utf8');
}

describe('report: one self-contained HTML file', function () {
  this.timeout(30000);

  it('has the spec summary, results, time per candidate and environment; a training section only when present', () => {
    const html = buildReport(plotRuns([readResults(QUICKSTART)]));
    for (const id of ['experiments', 'figures', 'results', 'timing', 'environment']) expect(html).to.include(`<section id="${id}">`);
    expect(html).to.not.include('<section id="training">');
    expect(html).to.include('Activity detection error vs pilot length for the matched-filter energy detector');
    expect(html).to.include('<td>wasm</td>').and.to.include('<td>2026</td>'); // backend, seed
    expect(html).to.match(/<th>candidate<\/th><th>points<\/th><th>trials<\/th><th>seconds<\/th>/);
    // pmd of energy-fa at L = 10: value, low, high in their own sortable columns.
    expect(html).to.match(/data-sort="n:0\.47306791569086654"[^>]*>0\.473<\/td><td data-sort="n:0\.4261632195884354" class="num">0\.426<\/td><td data-sort="n:0\.5204528742690222" class="num">0\.52<\/td>/);
    // Self-contained: the libraries are inline, nothing is loaded from elsewhere.
    expect(html).to.not.match(/<script[^>]+src=/i).and.to.not.match(/<link[^>]+href=/i);
    expect(html).to.match(/<script>\/\* vega 5\.\d+\.\d+ \*\//).and.to.match(/\/\* vega-lite 5\.\d+\.\d+ \*\//).and.to.match(/\/\* vega-embed 6\.\d+\.\d+ \*\//);
    // One run: candidates are not prefixed; no settings warning.
    expect(html).to.include('value="energy-fa"').and.to.not.include('value="quickstart/energy-fa"');
    expect(html).to.not.include('id="settings-warning"');
    const withTraining = buildReport(plotRuns([readResults(runWithTraining())]));
    expect(withTraining).to.include('<section id="training">');
  });

  it('warns when the runs differ in seed or Monte Carlo settings, naming what differs, and not when they match', () => {
    const quick = readJson(QUICKSTART);
    const sweep = readJson(SWEEP2D);
    const html = buildReport(plotRuns([readResults(QUICKSTART), readResults(SWEEP2D)]));
    const warning = /<div class="warning" id="settings-warning"[^>]*>(.*?)<\/div>/s.exec(html)?.[1] ?? '';
    expect(warning).to.include(`seed (quickstart: ${quick.seed}, sweep2d: ${sweep.seed})`);
    // Independently: the montecarlo fields whose values differ between the two fixture files.
    const mc = (d: StoredResults) => d.spec.montecarlo as unknown as Record<string, unknown>;
    const differing = Object.keys(mc(quick)).filter((k) => JSON.stringify(mc(quick)[k]) !== JSON.stringify(mc(sweep)[k]));
    expect(differing).to.include.members(['batchSize', 'targetEvents', 'maxTrials']);
    for (const k of differing) expect(warning).to.include(`montecarlo.${k} (quickstart: ${JSON.stringify(mc(quick)[k])}, sweep2d: ${JSON.stringify(mc(sweep)[k])})`);
    for (const k of Object.keys(mc(quick)).filter((f) => !differing.includes(f))) expect(warning).to.not.include(`montecarlo.${k} `);
    // Same settings (another copy of the run, another candidate set): no warning.
    const same = writeRun('quickstart', quick);
    expect(buildReport(plotRuns([readResults(QUICKSTART), readResults(same)]))).to.not.include('settings-warning');
    // Only the confidence level differs: it alone is named.
    const other = writeRun('quickstart', { ...quick, spec: { ...quick.spec, montecarlo: { ...quick.spec.montecarlo, confidence: 0.9 } } });
    const one = buildReport(plotRuns([readResults(QUICKSTART), readResults(other)]));
    expect(one).to.match(/They differ in montecarlo\.confidence \(quickstart#1: 0\.95, quickstart#2: 0\.9\)\./);
  });

  it('shows the spread over repetitions in the pooled rows of the table (sd, min, max)', () => {
    const { dir, data } = repeatedRun();
    const html = buildReport(plotRuns([readResults(dir)]));
    expect(html).to.match(/<th data-col="\d+" title="pmd: sd; click to sort">sd<\/th><th data-col="\d+" title="pmd: min; click to sort">min<\/th>/);
    expect(data.pooled).to.have.length(8);
    const p = (data.pooled ?? [])[0];
    const pmd = p.metrics.pmd;
    // Two repetitions v and 1.5 v: mean 1.25 v, sd |0.5 v| / sqrt(2), min v, max 1.5 v.
    const v = data.results[0].metrics.pmd.value as number;
    expect(pmd.value).to.be.closeTo(1.25 * v, 1e-12);
    expect(pmd.sd).to.be.closeTo((0.5 * v) / Math.SQRT2, 1e-12);
    const row = new RegExp(`<tr class="pooled" data-series="energy-fa">.*?mean of 2.*?</tr>`).exec(html)?.[0] ?? '';
    for (const x of [pmd.value, pmd.low, pmd.high, pmd.sd, v, 1.5 * v]) expect(row).to.include(`data-sort="n:${x}"`);
    expect((html.match(/<tr class="pooled"/g) ?? []).length).to.equal(8);
    expect((html.match(/<tr class="result"/g) ?? []).length).to.equal(16);
  });

  it('writes CSV exactly as `gfra results export` does (DuckDB COPY): quoting, doubles, nulls', async () => {
    const columns: ExportColumn[] = [
      { name: 's', type: 'VARCHAR' },
      { name: 'd', type: 'DOUBLE' },
      { name: 'i', type: 'INTEGER' },
      { name: 'b', type: 'BIGINT' },
    ];
    const doubles = [0.1, 100, 1e-5, 1e21, 0.47306791569086654, -0, 1 / 3, 123456.789, 1e-7, 2.5e-10, 1.2345678901234567e19, 0.000123, 1e16, 1e15, -7.25e-3, 9.999999999999999e15, 0.0001];
    const strings = ['plain', '{"a":1,"b":"x"}', 'with "q"', 'a,b', 'line\nbreak', ' lead', '', 'NULL', 'x;y', 'tab\there', 'ü', "q'", 'cr\rx', null, '5', '-', '#'];
    const rows = doubles.map((d, i) => [strings[i], d, i % 3 === 0 ? null : i, i * 123456789]);
    expect(csvText(columns, rows)).to.equal(await duckCsv(columns, rows));
    expect(duckDouble(100)).to.equal('100.0');
    expect(duckDouble(1e-5)).to.equal('1e-05');
    // Real results: every column type of the long format, with and without repetitions.
    for (const data of [readJson(SWEEP2D), repeatedRun().data]) {
      const { columns: cols, rows: longs } = longRows(data as unknown as ResultsFile);
      expect(csvText(cols, longs)).to.equal(await duckCsv(cols, longs));
    }
  });

  describe('in headless Chromium', function () {
    let browser: BrowserContext | undefined;
    let page: Page;
    const problems: string[] = [];
    const external: string[] = [];
    const outDir = tempDir('gfra-report-browser-');
    const baseline = runWithTraining();
    const dirs = [QUICKSTART, baseline];
    const labelled = `sweep2d/${LABEL}`;

    before(async function () {
      if (!fs.existsSync(CHROMIUM)) {
        if (process.env.GFRA_REQUIRE_BROWSER) {
          throw new Error(`GFRA_REQUIRE_BROWSER is set but ${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`);
        }
        // eslint-disable-next-line no-console
        console.log(`      SKIPPED: the report browser tests need ${CHROMIUM} (apt-get install chromium); set GFRA_REQUIRE_BROWSER=1 to make its absence a failure`);
        this.skip();
      }
      const { chromium } = await import('playwright-core');
      browser = await chromium.launchPersistentContext(tempDir('gfra-chromium-profile-'), {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1280, height: 900 },
        acceptDownloads: true,
      });
      page = await browser.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
        external.push(url);
        return route.abort();
      });
      const file = path.join(outDir, 'report.html');
      expect(writeReport(dirs, file)).to.equal(file);
      await page.goto(pathToFileURL(file).href);
      await page.evaluate(() => window.gfraReport.ready);
    });

    after(async () => {
      await browser?.close();
    });

    const metricCount = (selector: string) => page.evaluate((s) => document.querySelectorAll(`#metric-figure ${s}`).length, selector);
    const lines = () => metricCount('g.series_marks path');
    const points = () => metricCount('g.points_marks path');
    const choose = async (id: string, value: string) => {
      await page.selectOption(`#${id}`, value);
      await page.evaluate(() => window.gfraReport.idle());
    };
    const state = () => page.evaluate(() => window.gfraReport.state());
    const yScale = () => page.evaluate(() => window.gfraReport.views.metric.scale('y').type);
    const title = () => page.$$eval('#metric-figure g.role-title-text text', (ts) => ts.map((t) => t.textContent));
    const shownRows = (table: string) =>
      page.evaluate((t) => Array.from(document.querySelectorAll(`table.${t} tbody tr`)).filter((r) => !r.hidden).map((r) => r.getAttribute('data-series')), table);

    it('loads with no console errors and no network access; one candidate row and one chart area', async () => {
      expect(problems).to.deep.equal([]);
      expect(external).to.deep.equal([]);
      const headings = await page.$$eval('h2', (hs) => hs.map((h) => h.textContent));
      expect(headings).to.deep.equal(['Experiments', 'Figures', 'Training', 'Results', 'Time per candidate', 'Environment']);
      expect(await page.locator('.toggles').count()).to.equal(1);
      expect(await page.locator('figure.chart[data-kind="metric"]').count()).to.equal(1);
      const toggles = await page.$$eval('#candidates input', (is) => is.map((i) => (i as unknown as { value: string }).value));
      expect(toggles).to.deep.equal(['quickstart/energy-fa', 'quickstart/energy-midpoint', labelled, 'sweep2d/energy-midpoint']);
      // The label in the legend, the table and the timing table.
      expect(await page.locator('#metric-figure g.role-legend-label text', { hasText: labelled }).count()).to.equal(1);
      expect((await shownRows('results')).filter((s) => s === labelled)).to.have.length(6);
      expect(await page.locator('table.timing td', { hasText: labelled }).count()).to.equal(1);
    });

    it('the selectors switch the statistic, the x parameter and the y scale', async () => {
      expect(await state()).to.deep.equal({ statistic: 'pmd', x: 'scenario.sequenceLength', scale: 'log' });
      const check = async (metric: string, x: string) => {
        const want = expectedCounts(dirs, metric, x);
        expect(await points(), `${metric} vs ${x}: points`).to.equal(want.points);
        expect(await lines(), `${metric} vs ${x}: lines`).to.equal(want.lines);
        expect(await title()).to.include(`${metric} vs ${x}`);
      };
      await check('pmd', 'sequenceLength');
      expect(await yScale()).to.equal('log');
      await choose('stat-select', 'pfa');
      await check('pfa', 'sequenceLength');
      await choose('x-select', 'channel.params.snrDb');
      expect((await state()).x).to.equal('channel.params.snrDb');
      await check('pfa', 'snrDb');
      await choose('scale-select', 'linear');
      expect(await yScale()).to.equal('linear');
      expect(await page.getAttribute('#metric-figure', 'data-scale')).to.equal('linear');
      await check('pfa', 'snrDb');
      await choose('scale-select', 'log');
      expect(await yScale()).to.equal('log');
      await choose('scale-select', 'auto');
      await choose('x-select', 'scenario.sequenceLength');
      await choose('stat-select', 'pmd');
      await check('pmd', 'sequenceLength');
      expect(problems).to.deep.equal([]);
    });

    it('a candidate toggle hides it in every chart and table, also after switching the statistic', async () => {
      const hidden = 'sweep2d/energy-midpoint';
      const all = expectedCounts(dirs, 'pmd', 'sequenceLength');
      expect(await page.locator('#training-figure g.mark-line path').count()).to.equal(4);
      await page.locator(`#candidates input[value="${hidden}"]`).uncheck();
      await page.waitForFunction((n) => document.querySelectorAll('#metric-figure g.points_marks path').length === n, expectedCounts(dirs, 'pmd', 'sequenceLength', [hidden]).points);
      expect(await lines()).to.equal(expectedCounts(dirs, 'pmd', 'sequenceLength', [hidden]).lines);
      // Its training curves (the only ones) are gone too, and its rows in both tables.
      await page.waitForFunction(() => document.querySelectorAll('#training-figure g.mark-line path').length === 0);
      expect(await shownRows('results')).to.not.include(hidden);
      expect(await shownRows('results')).to.have.length(8 + 12 - 6);
      expect(await shownRows('timing')).to.deep.equal(['quickstart/energy-fa', 'quickstart/energy-midpoint', labelled]);
      expect(await page.locator('#hidden-rows').textContent()).to.equal('6 rows are hidden by the candidate toggles.');
      // Another statistic is drawn with the candidate still hidden.
      await choose('stat-select', 'pmd+pfa');
      expect(await points()).to.equal(expectedCounts(dirs, 'pmd+pfa', 'sequenceLength', [hidden]).points);
      await choose('stat-select', 'pmd');
      // A click on a legend entry toggles too, and ticks off its box.
      await page.locator('#metric-figure g.role-legend-label text', { hasText: /^quickstart\/energy-midpoint$/ }).click();
      const two = expectedCounts(dirs, 'pmd', 'sequenceLength', [hidden, 'quickstart/energy-midpoint']);
      await page.waitForFunction((n) => document.querySelectorAll('#metric-figure g.points_marks path').length === n, two.points);
      expect(await lines()).to.equal(two.lines);
      expect(await page.locator('#candidates input[value="quickstart/energy-midpoint"]').isChecked()).to.equal(false);
      expect(await shownRows('results')).to.not.include('quickstart/energy-midpoint');
      await page.screenshot({ path: path.join(outDir, 'report-toggled.png') });
      await page.locator('#candidates button[data-all="1"]').click();
      await page.waitForFunction((n) => document.querySelectorAll('#metric-figure g.points_marks path').length === n, all.points);
      expect(await lines()).to.equal(all.lines);
      await page.waitForFunction(() => document.querySelectorAll('#training-figure g.mark-line path').length === 4);
      expect(await shownRows('results')).to.have.length(20);
    });

    it('sorts the results table by a clicked column, and reverses on a second click', async () => {
      const column = async (header: string) => {
        const col = await page.locator(`table.results th[data-col]`, { hasText: new RegExp(`^${header}$`) }).first().getAttribute('data-col');
        return page.evaluate((c) => Array.from(document.querySelectorAll('table.results tbody tr')).map((r) => (r as unknown as { cells: Elem[] }).cells[Number(c)].textContent), col);
      };
      const trials = [...readJson(QUICKSTART).results, ...readJson(baseline).results].map((r) => r.trials);
      await page.locator('table.results th[data-col]', { hasText: /^trials$/ }).click();
      expect((await column('trials')).map(Number)).to.deep.equal([...trials].sort((a, b) => a - b));
      expect(await page.getAttribute('table.results th[aria-sort]', 'aria-sort')).to.equal('ascending');
      await page.locator('table.results th[data-col]', { hasText: /^trials$/ }).click();
      expect((await column('trials')).map(Number)).to.deep.equal([...trials].sort((a, b) => b - a));
      // By the upper interval end of pmd (the first `high` column): the raw values, ascending.
      const highs = [...readJson(QUICKSTART).results, ...readJson(baseline).results].map((r) => r.metrics.pmd.high as number).sort((a, b) => a - b);
      await page.locator('table.results th[title="pmd: high; click to sort"]').click();
      const sorted = await page.evaluate(() => {
        const th = Array.from(document.querySelectorAll('table.results th[aria-sort]'))[0];
        const c = Number(th.getAttribute('data-col'));
        return Array.from(document.querySelectorAll('table.results tbody tr')).map((r) => (r as unknown as { cells: Elem[] }).cells[c].getAttribute('data-sort'));
      });
      expect(sorted).to.deep.equal(highs.map((h) => `n:${h}`));
    });

    it('downloads each run as CSV: the rows of longRows, byte for byte what `gfra results export` writes', async () => {
      for (const [i, dir] of dirs.entries()) {
        const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`button[data-csv="${i}"]`).click()]);
        const data = readJson(dir);
        expect(download.suggestedFilename()).to.equal(`${data.name}-results.csv`);
        const text = fs.readFileSync(await download.path(), 'utf8');
        const { columns, rows } = longRows(data as unknown as ResultsFile);
        expect(text).to.equal(await duckCsv(columns, rows));
        const lines = text.trimEnd().split('\n');
        expect(lines).to.have.length(rows.length + 1);
        expect(lines[0]).to.equal(columns.map((c) => c.name).join(','));
        expect(rows.length).to.equal(data.results.length * 3); // three statistics per result
      }
    });

    it('warns that the two runs differ in seed and Monte Carlo settings, and shows each environment', async () => {
      const warning = page.locator('#settings-warning');
      expect(await warning.isVisible()).to.equal(true);
      expect(await warning.textContent()).to.include('seed (quickstart: 2026, sweep2d: 11)').and.to.include('montecarlo.maxTrials (quickstart: 20000, sweep2d: 60)');
      const env = await page.$$eval('table.environment tbody tr', (rs) => rs.map((r) => Array.from(r.querySelectorAll('td')).map((d) => (d as unknown as Elem).textContent)));
      const byKey = Object.fromEntries(env.map(([k, ...v]) => [k, v]));
      expect(byKey.cpu).to.deep.equal(['not recorded', 'Test CPU @ 2.0GHz']);
      expect(byKey.cores).to.deep.equal(['not recorded', '8']);
      expect(byKey.memory).to.deep.equal(['not recorded', '15.6 GiB']);
      expect(byKey.commit).to.deep.equal(['not recorded', '0123456789abcdef0123456789abcdef01234567+modified']);
      expect(byKey.executor).to.deep.equal(['not recorded', 'bullmq']);
      expect(byKey.workers).to.deep.equal(['not recorded', '3']);
      expect(byKey.os).to.deep.equal(['not recorded', 'Linux 6.1.0']);
      expect(byKey.node).to.deep.equal(['v20.20.2', 'v20.20.2']);
    });

    it('hovering a marker shows its values', async () => {
      await page.locator('#metric-figure g.points_marks path').first().hover({ force: true });
      const tooltip = page.locator('#vg-tooltip-element.visible');
      await tooltip.waitFor({ state: 'visible', timeout: 5000 });
      const text = await tooltip.innerText();
      expect(text).to.match(/candidate\s+quickstart\/energy-fa/);
      expect(text).to.match(/pilot length L[^\n]*\s+10\n/i);
      expect(text).to.not.include('undefined');
      expect(text).to.match(/errors\s+202/);
    });

    it('saves a screenshot', async () => {
      const shot = path.join(outDir, 'report.png');
      await page.mouse.move(0, 0);
      await page.screenshot({ path: shot, fullPage: true });
      expect(fs.statSync(shot).size).to.be.greaterThan(50000);
      // eslint-disable-next-line no-console
      console.log(`      screenshots: ${shot}, ${path.join(outDir, 'report-toggled.png')}`);
      expect(problems).to.deep.equal([]);
    });
  });
});
