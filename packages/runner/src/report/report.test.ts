import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { readResults, type StoredResults } from '../results/read';
import { buildReport, writeReport } from './report';
import { plotRuns } from '../plot/rows';

// The browser globals used inside page.evaluate (the workspace compiles without the DOM lib).
declare const document: { querySelectorAll(selector: string): { readonly length: number } };
declare const window: { gfraReport: { ready: Promise<void> } };

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

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A copy of the sweep2d run whose energy-midpoint results carry training loss curves. */
function runWithTraining(): string {
  const dir = path.join(tempDir('gfra-report-'), 'baseline');
  fs.mkdirSync(dir);
  const data = JSON.parse(fs.readFileSync(path.join(SWEEP2D, 'results.json'), 'utf8')) as StoredResults;
  let n = 0;
  const results = data.results.map((r) => {
    if (r.candidate !== 'energy-midpoint' || n >= 2) return r;
    n += 1;
    const lossHistory = Array.from({ length: 20 }, (_, i) => 1 / (i + 1) + 0.01 * n);
    return { ...r, training: { component: 'detector', lossHistory, validationLossHistory: lossHistory.map((l, step) => ({ step, loss: l * 1.2 })) } };
  });
  fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify({ ...data, results }));
  return dir;
}

/**
 * What each chart must show, computed from the raw results (not from the report code): one line
 * per (run, candidate, value of the other swept parameter) with at least one non-zero estimate,
 * one marker per result with a value.
 */
function expectedCounts(dirs: readonly string[], metric: string, xShort: string): { lines: number; points: number; series: Set<string> } {
  const lines = new Set<string>();
  const series = new Set<string>();
  let points = 0;
  dirs.forEach((dir) => {
    const data = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as StoredResults;
    for (const r of data.results) {
      const xKey = Object.keys(r.point).find((k) => k.endsWith(`.${xShort}`));
      const m = r.metrics[metric];
      if (xKey === undefined || m === undefined || m.value === null) continue;
      const name = `${data.name}/${r.candidate}`;
      series.add(name);
      points += 1;
      const other = Object.entries(r.point).filter(([k]) => k !== xKey);
      if (m.value > 0) lines.add(`${name}|${JSON.stringify(other)}`);
    }
  });
  return { lines: lines.size, points, series };
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
    expect(html).to.match(/0\.473 \[0\.426, 0\.52\]/);
    // Self-contained: the libraries are inline, nothing is loaded from elsewhere.
    expect(html).to.not.match(/<script[^>]+src=/i).and.to.not.match(/<link[^>]+href=/i);
    expect(html).to.match(/<script>\/\* vega 5\.\d+\.\d+ \*\//).and.to.match(/\/\* vega-lite 5\.\d+\.\d+ \*\//).and.to.match(/\/\* vega-embed 6\.\d+\.\d+ \*\//);
    // One run: candidates are not prefixed.
    expect(html).to.include('value="energy-fa"').and.to.not.include('value="quickstart/energy-fa"');
    const withTraining = buildReport(plotRuns([readResults(runWithTraining())]));
    expect(withTraining).to.include('<section id="training">');
  });

  describe('in headless Chromium', function () {
    let browser: BrowserContext | undefined;
    let page: Page;
    const problems: string[] = [];
    const external: string[] = [];
    const outDir = tempDir('gfra-report-browser-');
    const baseline = runWithTraining();
    const dirs = [QUICKSTART, baseline];

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
      });
      page = await browser.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
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

    const count = (label: string, selector: string) =>
      page.evaluate(([l, s]) => document.querySelectorAll(`figure[aria-label="${l}"] ${s}`).length, [label, selector] as const);
    const lines = (label: string) => count(label, 'g.series_marks path');
    const points = (label: string) => count(label, 'g.points_marks path');

    it('loads with no console errors and no network access', async () => {
      expect(problems).to.deep.equal([]);
      expect(external).to.deep.equal([]);
      const headings = await page.$$eval('h2', (hs) => hs.map((h) => h.textContent));
      expect(headings).to.deep.equal(['Experiments', 'Figures', 'Training', 'Results', 'Time per candidate', 'Environment']);
    });

    it('draws one chart per (metric, swept parameter) with the expected series and points', async () => {
      const charts = await page.$$eval('figure.chart[data-kind="metric"]', (fs) => fs.map((f) => f.getAttribute('aria-label')));
      const expected = ['sequenceLength', 'snrDb'].flatMap((x) => ['pmd', 'pfa', 'pmd+pfa'].map((m) => `${m} vs ${x}`));
      expect(charts).to.deep.equal(expected);
      for (const label of expected) {
        const [metric, x] = label.split(' vs ');
        const want = expectedCounts(dirs, metric, x);
        expect(await lines(label), `${label}: lines`).to.equal(want.lines);
        expect(await points(label), `${label}: points`).to.equal(want.points);
        const toggles = await page.$$eval(`figure[aria-label="${label}"] .toggles input`, (is) => is.map((i) => (i as unknown as { value: string }).value));
        expect(new Set(toggles), `${label}: toggles`).to.deep.equal(want.series);
      }
      // Both runs side by side, candidates prefixed by run name.
      expect(expectedCounts(dirs, 'pmd', 'sequenceLength').series).to.deep.equal(
        new Set(['quickstart/energy-fa', 'quickstart/energy-midpoint', 'sweep2d/energy-fa', 'sweep2d/energy-midpoint']),
      );
    });

    it('a checkbox or a legend click hides a candidate, and showing it again restores it', async () => {
      const label = 'pmd vs sequenceLength';
      const all = { lines: await lines(label), points: await points(label) };
      const box = page.locator(`figure[aria-label="${label}"] .toggles input[value="sweep2d/energy-fa"]`);
      await box.uncheck();
      await page.waitForFunction(([l, n]) => document.querySelectorAll(`figure[aria-label="${l}"] g.points_marks path`).length === n, [label, all.points - 6] as const);
      expect(await lines(label)).to.equal(all.lines - 2); // its line in each of the two SNR panels
      const hidden = await page.$$eval(`figure[aria-label="${label}"] g.points_marks path`, (ps) => ps.filter((p) => (p.getAttribute('aria-label') ?? '').includes('candidate: sweep2d/energy-fa')).length);
      expect(hidden).to.equal(0);
      // Other charts are not affected.
      expect(await points('pfa vs sequenceLength')).to.equal(expectedCounts(dirs, 'pfa', 'sequenceLength').points);
      // A click on a legend entry toggles too, and ticks off its checkbox.
      await page.locator(`figure[aria-label="${label}"] g.role-legend-label text`, { hasText: /^quickstart\/energy-midpoint$/ }).click();
      await page.waitForFunction(([l, n]) => document.querySelectorAll(`figure[aria-label="${l}"] g.points_marks path`).length === n, [label, all.points - 10] as const);
      expect(await lines(label)).to.equal(all.lines - 3);
      expect(await page.locator(`figure[aria-label="${label}"] .toggles input[value="quickstart/energy-midpoint"]`).isChecked()).to.equal(false);
      await page.screenshot({ path: path.join(outDir, 'report-toggled.png') });
      await box.check();
      await page.locator(`figure[aria-label="${label}"] .toggles input[value="quickstart/energy-midpoint"]`).check();
      await page.waitForFunction(([l, n]) => document.querySelectorAll(`figure[aria-label="${l}"] g.points_marks path`).length === n, [label, all.points] as const);
      expect(await lines(label)).to.equal(all.lines);
    });

    it('hovering a marker shows its values', async () => {
      const label = 'pmd vs sequenceLength';
      await page.locator(`figure[aria-label="${label}"] g.points_marks path`).first().hover({ force: true });
      const tooltip = page.locator('#vg-tooltip-element.visible');
      await tooltip.waitFor({ state: 'visible', timeout: 5000 });
      const text = await tooltip.innerText();
      expect(text).to.match(/candidate\s+quickstart\/energy-fa/);
      expect(text).to.match(/pilot length L \(symbols\)\s+10/);
      expect(text).to.match(/errors\s+202/);
    });

    it('shows the training loss curves and saves a screenshot', async () => {
      // Two results with training and validation curves: four lines.
      expect(await count('training loss', 'g.mark-line path')).to.equal(4);
      const shot = path.join(outDir, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(fs.statSync(shot).size).to.be.greaterThan(50000);
      // eslint-disable-next-line no-console
      console.log(`      screenshots: ${shot}, ${path.join(outDir, 'report-toggled.png')}`);
      expect(problems).to.deep.equal([]);
    });
  });
});
