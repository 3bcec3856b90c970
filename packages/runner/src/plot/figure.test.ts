import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GfraUserError } from '@gfra/core';
import { countColor, decodePng, greyVariance } from '../../test/helpers/png';
import { main } from '../cli';
import { tinySpec } from '../testing';
import { PALETTE } from './chart-spec';
import { buildFigure, plotResults, wrapText, writeDefaultFigures } from './figure';
import { defaultParam, resolveParam, sweptParams } from './params';
import { renderPng, renderSvg } from './render';
import { readResults, type StoredResults } from '../results/read';
import { chartRows, DETECTOR_TIME, MARKER_BOUND, plotRuns } from './rows';
import { describeStatistics, pickStatistic, extraStatistics } from '../results/statistics';

const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'plot');
const QUICKSTART = path.join(FIXTURES, 'quickstart');
const SWEEP2D = path.join(FIXTURES, 'sweep2d');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-plot-'));
}

/** The figure of one statistic of a fixture, against a swept parameter given by short name. */
function figureOf(dir: string, x: string, metric: string) {
  const loaded = readResults(dir);
  const stat = pickStatistic(describeStatistics(loaded.data), metric);
  return buildFigure(plotRuns([loaded]), resolveParam(x, sweptParams(loaded.data)), stat);
}

/** `<g class="... NAME_marks">` groups of a rendered SVG, each with its direct paths. */
function markGroups(svg: string, name: string): string[][] {
  const groups = svg.split(new RegExp(`<g class="mark-[a-z]+ role-mark ${name}_marks"`)).slice(1);
  return groups.map((g) => g.split('</g>')[0].match(/<path [^>]*>/g) ?? []);
}

/** y pixel of each y-axis tick label: text -> y. */
function tickLabelY(svg: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of svg.matchAll(/<text text-anchor="end" transform="translate\(-?[\d.]+,([\d.]+)\)"[^>]*>([^<]+)<\/text>/g)) {
    out.set(m[2], Number(m[1]));
  }
  return out;
}

describe('plot: figures from results.json', function () {
  this.timeout(30000);

  it('SVG: labelled axes, a log y scale for error rates, one line per candidate with markers and a legend', async () => {
    const svg = await renderSvg(figureOf(QUICKSTART, 'sequenceLength', 'pmd').spec);
    expect(svg).to.match(/^<svg /);
    // Axis titles (with the unit where known), title and subtitle from the spec.
    expect(svg).to.include('>pilot length L (symbols)</text>');
    expect(svg).to.include('>pmd (missed-detection probability)</text>');
    expect(svg).to.include('>quickstart</text>');
    expect(svg).to.include('>Activity detection error vs pilot length for the matched-filter energy detector</tspan>');
    expect(svg).to.include('95 % trial-clustered Wilson intervals');
    // Log scale: decades are equally spaced on the y axis, 2 sits at log10(2) of a decade.
    const y = tickLabelY(svg);
    for (const t of ['0.01', '0.1', '1', '0.02']) expect(y.has(t), `tick ${t}`).to.equal(true);
    const decade = (y.get('0.01') as number) - (y.get('0.1') as number);
    expect(decade).to.be.greaterThan(20);
    expect((y.get('0.1') as number) - (y.get('1') as number)).to.be.closeTo(decade, 0.01);
    expect((y.get('0.01') as number) - (y.get('0.02') as number)).to.be.closeTo(decade * Math.log10(2), 0.01);
    // One path per candidate, in its legend colour, through its 4 sweep points.
    const lines = markGroups(svg, 'series').flat();
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(/candidate: energy-fa/).and.to.match(new RegExp(`stroke="${PALETTE[0]}"`));
    expect(lines[1]).to.match(/candidate: energy-midpoint/).and.to.match(new RegExp(`stroke="${PALETTE[1]}"`));
    for (const line of lines) expect((line.match(/ d="([^"]+)"/) as RegExpMatchArray)[1].split('L')).to.have.length(4);
    // Markers at every point, error bars, legend entries.
    expect(markGroups(svg, 'points').flat()).to.have.length(8);
    expect(svg).to.match(/class="mark-rule role-mark intervals/);
    expect(svg).to.include('>energy-fa</text>').and.to.include('>energy-midpoint</text>').and.to.include('>candidate</text>');
  });

  it('PNG: the quickstart fixture renders at twice the SVG size, is not blank, and shows both candidates', async () => {
    const svg = await renderSvg(figureOf(QUICKSTART, 'sequenceLength', 'pmd+pfa').spec);
    const [, w, h] = (svg.match(/<svg [^>]*width="(\d+)" height="(\d+)"/) as RegExpMatchArray).map(Number);
    const dir = tempDir();
    const file = path.join(dir, 'fig.png');
    fs.writeFileSync(file, renderPng(svg));
    const png = decodePng(fs.readFileSync(file));
    expect([png.width, png.height]).to.deep.equal([2 * w, 2 * h]);
    expect(png.width).to.be.within(900, 2000);
    expect(png.height).to.be.within(500, 1200);
    expect(greyVariance(png)).to.be.greaterThan(100); // a blank image has 0
    // The two series colours and dark text (title, labels) are really drawn.
    expect(countColor(png, PALETTE[0])).to.be.greaterThan(500);
    expect(countColor(png, PALETTE[1])).to.be.greaterThan(500);
    expect(countColor(png, '#000000', 40)).to.be.greaterThan(2000);
  });

  it('wraps long descriptions into subtitle lines instead of widening the figure', () => {
    expect(wrapText('aaa bbb ccc dddd', 7)).to.deep.equal(['aaa bbb', 'ccc', 'dddd']);
    expect(wrapText('averyveryverylongword x', 5)).to.deep.equal(['averyveryverylongword', 'x']);
    const loaded = readResults(QUICKSTART);
    const long: StoredResults = { ...loaded.data, spec: { ...loaded.data.spec, description: 'word '.repeat(100).trim() } };
    const stat = pickStatistic(describeStatistics(long), 'pmd');
    const figure = buildFigure(plotRuns([{ ...loaded, data: long }]), resolveParam('sequenceLength', sweptParams(long)), stat);
    const subtitle = (figure.spec as { title: { subtitle: string[] } }).title.subtitle;
    expect(subtitle.length).to.be.greaterThan(3);
    expect(Math.max(...subtitle.map((l) => l.length))).to.be.at.most(110);
  });

  it('detector time and diagnostics: pseudo-statistics drawn only when asked for by name', () => {
    const loaded = readResults(QUICKSTART);
    expect(extraStatistics(loaded.data)).to.deep.equal([]); // the fixture predates detectorTime
    const timed: StoredResults = {
      ...loaded.data,
      results: loaded.data.results.map((r, i) => ({ ...r, detectorTime: { seconds: 0.1 * (i + 1), trials: 100, msPerTrial: i + 1 } })),
    };
    expect(describeStatistics(timed).map((s) => s.name)).to.not.include(DETECTOR_TIME); // not a default figure
    const [stat] = extraStatistics(timed);
    expect(stat).to.include({ name: DETECTOR_TIME, scale: 'log', kind: 'mean', interval: 'none' });
    const rows = chartRows(plotRuns([{ ...loaded, data: timed }]), 'scenario.sequenceLength', stat);
    expect(rows.map((r) => r.y)).to.deep.equal(timed.results.map((_, i) => i + 1));
    expect(rows.every((r) => r.yLow === null && r.yHigh === null)).to.equal(true);
    // Detector diagnostics are pseudo-statistics too, by their own names.
    const diag: StoredResults = { ...timed, results: timed.results.map((r, i) => ({ ...r, diagnostics: { 'eps1/eps2': 1 + i } })) };
    const eps = extraStatistics(diag).find((s) => s.name === 'eps1/eps2');
    if (eps === undefined) throw new Error('eps1/eps2 not offered');
    expect(chartRows(plotRuns([{ ...loaded, data: diag }]), 'scenario.sequenceLength', eps).map((r) => r.y)).to.deep.equal(diag.results.map((_, i) => 1 + i));
  });

  it('zero observed errors: drawn as a downward triangle at the interval upper end, not dropped or at zero', async () => {
    const loaded = readResults(SWEEP2D);
    const zero = loaded.data.results.find((r) => r.metrics.pmd.events === 0);
    expect(zero, 'the fixture has a pmd point without errors').to.not.equal(undefined);
    const stat = pickStatistic(describeStatistics(loaded.data), 'pmd');
    const rows = chartRows(plotRuns([loaded]), 'scenario.sequenceLength', stat);
    expect(rows).to.have.length(loaded.data.results.length); // nothing dropped
    const bound = rows.filter((r) => r.bound);
    expect(bound).to.have.length(1);
    expect(bound[0].candidate).to.equal(zero?.candidate);
    expect(bound[0].value).to.equal(0);
    expect(bound[0].y).to.equal(zero?.metrics.pmd.high).and.to.be.greaterThan(0);
    expect(bound[0].marker).to.equal(MARKER_BOUND);
    expect([bound[0].yLow, bound[0].yHigh]).to.deep.equal([null, null]); // no error bar below it
    expect(bound[0].panel).to.equal('snrDb=20');

    const figure = figureOf(SWEEP2D, 'sequenceLength', 'pmd');
    const svg = await renderSvg(figure.spec);
    const points = markGroups(svg, 'points').flat();
    expect(points).to.have.length(12);
    const triangles = points.filter((p) => p.includes(`marker: ${MARKER_BOUND}`));
    expect(triangles).to.have.length(1);
    // A triangle pointing down (apex below its base; y grows downwards), not a circle (arcs)...
    const [apex, left, right] = [...(triangles[0].match(/ d="M([^"]+)Z"/) as RegExpMatchArray)[1].split('L')].map((v) => v.split(',').map(Number));
    expect(apex[1]).to.be.greaterThan(0);
    expect([left[1], right[1]]).to.satisfy((ys: number[]) => ys.every((v) => v < 0));
    // ...placed at the Wilson upper end on the log axis (tick labels sit 3 px below their value).
    const y = tickLabelY(svg);
    const decade = (y.get('0.01') as number) - (y.get('0.1') as number);
    const expected = (y.get('0.1') as number) - 3 + (Math.log10(0.1) - Math.log10(zero?.metrics.pmd.high as number)) * decade;
    const at = Number((triangles[0].match(/transform="translate\([\d.]+,([\d.]+)\)"/) as RegExpMatchArray)[1]);
    expect(at).to.be.closeTo(expected, 0.05);
    expect(svg).to.include(`>${MARKER_BOUND}</text>`); // in the legend
    expect(svg).to.include('no error observed');
    // Panels split by the other swept parameter; each has one line per candidate, and the line
    // of the candidate with the bound stops before it.
    expect(svg).to.include('>snrDb=0</text>').and.to.include('>snrDb=20</text>');
    const lines = markGroups(svg, 'series').flat();
    expect(lines).to.have.length(4);
    const faLines = lines.filter((l) => l.includes(`candidate: ${zero?.candidate}`)).map((l) => (l.match(/ d="([^"]+)"/) as RegExpMatchArray)[1].split('L').length);
    expect(faLines.sort()).to.deep.equal([2, 3]);
  });

  it('means with decibel: 10 log10 on a linear axis, as the results describe them; rates are recognised from their events without a description', () => {
    const base = readResults(QUICKSTART).data;
    const data: StoredResults = {
      ...base,
      spec: { ...base.spec, metrics: [{ plugin: 'nmse-test', params: {} }, { plugin: 'third-party', params: {} }] },
      statistics: [{ name: 'nmse', kind: 'mean', decibel: true, description: 'normalised MSE: |h - ĥ|² / |h|²' }],
      results: base.results.map((r, i) => ({
        ...r,
        metrics: {
          nmse: { value: 0.1 / (i + 1), low: 0.08 / (i + 1), high: 0.12 / (i + 1), events: null, samples: 100 },
          custom: { value: 0.5, low: 0.4, high: 0.6, events: 50, samples: 100 },
        },
      })),
    };
    const stats = describeStatistics(data);
    expect(stats.map((s) => [s.name, s.kind, s.scale, s.decibel])).to.deep.equal([
      ['nmse', 'mean', 'linear', true],
      ['custom', 'rate', 'log', false],
    ]);
    const x = sweptParams(data)[0];
    const figure = buildFigure(plotRuns([{ file: '', dir: '', data }]), x, stats[0]);
    expect(figure.rows[0].y).to.be.closeTo(-10, 1e-9);
    expect(figure.rows[1].y).to.be.closeTo(10 * Math.log10(0.05), 1e-9);
    expect(figure.rows[0].yHigh).to.be.closeTo(10 * Math.log10(0.12), 1e-9);
    const layers = (figure.spec as { layer: { encoding: { y: { scale: unknown; title: string } } }[] }).layer;
    expect(layers[1].encoding.y.scale).to.deep.equal({ zero: false });
    expect(layers[1].encoding.y.title).to.equal('nmse (dB)');
  });

  it('parameters: short names resolve; unknown names and several sweeps get errors listing the valid ones', () => {
    const params = sweptParams(readResults(SWEEP2D).data);
    expect(params.map((p) => p.path)).to.deep.equal(['channel.params.snrDb', 'scenario.sequenceLength']);
    expect(resolveParam('sequenceLength', params).path).to.equal('scenario.sequenceLength');
    expect(resolveParam('params.snrDb', params).label).to.equal('SNR (dB)');
    expect(() => resolveParam('numAntennas', params)).to.throw(GfraUserError, /Unknown swept parameter "numAntennas". The results sweep: snrDb \(channel.params.snrDb\), sequenceLength \(scenario.sequenceLength\)/);
    expect(() => defaultParam(params)).to.throw(GfraUserError, /several parameters; choose the x axis with --x. Valid: snrDb/);
    expect(defaultParam(sweptParams(readResults(QUICKSTART).data)).path).to.equal('scenario.sequenceLength');
    // A coupled key (values that move together) is one axis: its first path.
    const coupled = (p: string, key: string, others: string[]) => ({ path: p, short: p.split('.').pop() as string, key, coupled: others, label: p });
    const key = 'scenario.sequenceLength, channel.params.snrDb';
    expect(defaultParam([coupled('scenario.sequenceLength', key, ['channel.params.snrDb']), coupled('channel.params.snrDb', key, ['scenario.sequenceLength'])]).path).to.equal('scenario.sequenceLength');
    expect(() => pickStatistic(describeStatistics(readResults(QUICKSTART).data), 'ber')).to.throw(GfraUserError, /Unknown metric "ber". The results have: pmd, pfa, pmd\+pfa/);
    expect(() => readResults(path.join(FIXTURES, 'nope'))).to.throw(GfraUserError, /Results not found: .*nope.*results.json/);
  });

  it('gfra plot: --out FILE.png/.svg per statistic, defaults beside results.json', async () => {
    const dir = tempDir();
    fs.copyFileSync(path.join(QUICKSTART, 'results.json'), path.join(dir, 'results.json'));
    expect(await plotResults(dir, { x: 'sequenceLength', metric: 'pfa', out: path.join(dir, 'a', 'pfa.svg') })).to.deep.equal([path.join(dir, 'a', 'pfa.svg')]);
    expect(fs.readFileSync(path.join(dir, 'a', 'pfa.svg'), 'utf8')).to.match(/^<svg /);
    const all = await plotResults(path.join(dir, 'results.json'), { out: path.join(dir, 'fig.png') });
    expect(all.map((f) => path.basename(f))).to.deep.equal(['fig-pmd.png', 'fig-pfa.png', 'fig-pmd+pfa.png']);
    const defaults = await plotResults(dir, { metric: 'pmd' });
    expect(defaults.map((f) => path.basename(f))).to.deep.equal(['pmd-vs-sequenceLength.svg', 'pmd-vs-sequenceLength.png']);
    await plotResults(dir, { out: path.join(dir, 'x.pdf') }).then(
      () => expect.fail('a .pdf output must be refused'),
      (err: Error) => expect(err.message).to.match(/--out must end in .png or .svg/),
    );
  });

  it('gfra run writes one SVG and one PNG per statistic for a sweep, none without a sweep or with --no-plot', async () => {
    const dir = tempDir();
    const write = (name: string, spec: Record<string, unknown>) => {
      const file = path.join(dir, `${name}.json`);
      fs.writeFileSync(file, JSON.stringify(spec));
      return file;
    };
    const fast = { batchSize: 16, targetEvents: 5, maxTrials: 32, maxSeconds: 10 };
    const swept = write('swept', tinySpec({ montecarlo: fast, sweep: { 'scenario.sequenceLength': [6, 12] } }));
    const single = write('single', tinySpec({ montecarlo: fast }));
    const stdout = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write; // keep the test output clean
    let codes: number[];
    try {
      codes = [
        await main(['run', swept, '--out', path.join(dir, 'swept'), '--quiet', '--backend', 'wasm']),
        await main(['run', swept, '--out', path.join(dir, 'noplot'), '--quiet', '--no-plot', '--backend', 'wasm']),
        await main(['run', single, '--out', path.join(dir, 'single'), '--quiet', '--backend', 'wasm']),
      ];
    } finally {
      process.stdout.write = stdout;
    }
    expect(codes).to.deep.equal([0, 0, 0]);
    const files = (d: string) => fs.readdirSync(path.join(dir, d)).sort();
    expect(files('swept')).to.deep.equal([
      'pfa-vs-sequenceLength.png',
      'pfa-vs-sequenceLength.svg',
      'pmd+pfa-vs-sequenceLength.png',
      'pmd+pfa-vs-sequenceLength.svg',
      'pmd-vs-sequenceLength.png',
      'pmd-vs-sequenceLength.svg',
      'results.duckdb',
      'results.json',
    ]);
    expect(files('noplot')).to.deep.equal(['results.duckdb', 'results.json']);
    expect(files('single')).to.deep.equal(['results.duckdb', 'results.json']);
    expect(await writeDefaultFigures(path.join(dir, 'single'))).to.deep.equal([]);
    const png = decodePng(fs.readFileSync(path.join(dir, 'swept', 'pmd-vs-sequenceLength.png')));
    expect(greyVariance(png)).to.be.greaterThan(100);
  });
});
