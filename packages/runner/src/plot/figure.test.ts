import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as zlib from 'node:zlib';
import * as path from 'node:path';
import { GfraUserError } from '@gfra/core';
import { countColor, decodePng, greyVariance } from '../../test/helpers/png';
import { main } from '../cli';
import { tinySpec } from '../testing';
import { PALETTE } from './chart-spec';
import { buildFigure, buildTradeOff, figureOptions, plotResults, statisticLabel, wrapText, writeDefaultFigures } from './figure';
import { defaultParam, resolveParam, sweptParams } from './params';
import { renderPng, renderSvg, svgSize, withDpi } from './render';
import { DASHES, logAxis, powerOfTen, PRESETS, SHAPES } from './style';
import { readResults, type StoredResults } from '../results/read';
import { chartRows, DETECTOR_TIME, MARKER_BOUND, plotRuns, tradeOffRows } from './rows';
import { describeStatistics, pickStatistic, extraStatistics } from '../results/statistics';

const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'plot');
const QUICKSTART = path.join(FIXTURES, 'quickstart');
const SWEEP2D = path.join(FIXTURES, 'sweep2d');

/** Every stream of a PDF, inflated where compressed. */
function pdfStreams(pdf: Buffer): string[] {
  const text = pdf.toString('latin1');
  return [...text.matchAll(/stream\r?\n([\s\S]*?)\r?\nendstream/g)].map((m) => {
    const raw = Buffer.from(m[1], 'latin1');
    try {
      return zlib.inflateSync(raw).toString('latin1');
    } catch {
      return m[1];
    }
  });
}

/** The quickstart fixture with display labels on its candidates. */
function labelled(): StoredResults {
  const data = readResults(QUICKSTART).data;
  const candidates = Object.fromEntries(Object.entries(data.spec.candidates).map(([k, c], i) => [k, { ...c, label: `Detector ${'AB'[i]}` }]));
  return { ...data, spec: { ...data.spec, candidates } };
}

/** The `font-size` of every text of an SVG. */
function fontSizes(svg: string): number[] {
  return [...svg.matchAll(/<text [^>]*font-size="([\d.]+)px"/g)].map((m) => Number(m[1]));
}

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
    // Axis titles (paper notation, unit where known), the spec name as title on a screen figure,
    // the intervals in the subtitle, never the spec description.
    expect(svg).to.include('>Pilot length L</text>');
    expect(svg).to.include('>P_MD</text>');
    expect(svg).to.include('>quickstart</text>');
    expect(svg).to.not.include('Activity detection error vs pilot length');
    expect(svg).to.include('95 % trial-clustered Wilson intervals');
    // Log scale: decades labelled as powers of ten and equally spaced on the y axis; unlabelled
    // ticks at 2..9 x 10^k, 2 at log10(2) of a decade.
    const y = tickLabelY(svg);
    for (const t of ['10⁻²', '10⁻¹', '10⁰']) expect(y.has(t), `tick ${t}`).to.equal(true);
    expect([...y.keys()].some((t) => /^0\.|^1$/.test(t)), 'no decimal tick labels').to.equal(false);
    const decade = (y.get('10⁻²') as number) - (y.get('10⁻¹') as number);
    expect(decade).to.be.greaterThan(20);
    expect((y.get('10⁻¹') as number) - (y.get('10⁰') as number)).to.be.closeTo(decade, 0.01);
    const ticks = [...svg.matchAll(/<line transform="translate\(0,([\d.]+)\)" x2="-5"/g)].map((m) => Number(m[1]));
    const decades = [...y.keys()].filter((t) => t.startsWith('10')).length;
    expect(ticks).to.have.length(9 * (decades - 1) + 1); // 1..9 x 10^k for every decade, and the top one
    expect(ticks.some((t) => Math.abs(t - ((y.get('10⁻²') as number) - 3 - decade * Math.log10(2))) <= 0.5), 'tick at 0.02 (Vega rounds ticks to whole pixels)').to.equal(true);
    // One path per candidate, in its legend colour, through its 4 sweep points.
    const lines = markGroups(svg, 'series').flat();
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(/series: energy-fa/).and.to.match(new RegExp(`stroke="${PALETTE[0]}"`));
    expect(lines[1]).to.match(/series: energy-midpoint/).and.to.match(new RegExp(`stroke="${PALETTE[1]}"`));
    for (const line of lines) expect((line.match(/ d="([^"]+)"/) as RegExpMatchArray)[1].split('L')).to.have.length(4);
    // Markers at every point, error bars, legend entries.
    expect(markGroups(svg, 'points').flat()).to.have.length(8);
    expect(svg).to.match(/class="mark-rule role-mark intervals/);
    expect(svg).to.include('>energy-fa</text>').and.to.include('>energy-midpoint</text>');
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

  it('never bakes the spec description into the image; wraps a long list of compared runs', () => {
    expect(wrapText('aaa bbb ccc dddd', 7)).to.deep.equal(['aaa bbb', 'ccc', 'dddd']);
    expect(wrapText('averyveryverylongword x', 5)).to.deep.equal(['averyveryverylongword', 'x']);
    const loaded = readResults(QUICKSTART);
    const long: StoredResults = { ...loaded.data, spec: { ...loaded.data.spec, description: 'word '.repeat(100).trim() } };
    const stat = pickStatistic(describeStatistics(long), 'pmd');
    const x = resolveParam('sequenceLength', sweptParams(long));
    const subtitle = (f: { spec: Record<string, unknown> }) => (f.spec as { title: { subtitle: string[] } }).title.subtitle;
    expect(subtitle(buildFigure(plotRuns([{ ...loaded, data: long }]), x, stat)).join(' ')).to.not.include('word');
    const many = Array.from({ length: 12 }, (_, i) => ({ ...loaded, data: { ...long, name: `a-rather-long-run-name-${i}` } }));
    const lines = subtitle(buildFigure(plotRuns(many), x, stat));
    expect(lines.length).to.be.greaterThan(3);
    expect(Math.max(...lines.map((l) => l.length))).to.be.at.most(110);
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
    expect(bound[0].panel).to.equal('SNR = 20 dB');

    const figure = figureOf(SWEEP2D, 'sequenceLength', 'pmd');
    const svg = await renderSvg(figure.spec);
    const points = markGroups(svg, 'points').flat();
    expect(points).to.have.length(12);
    // Downward triangles (the bound marker; no series has it): apex below its base.
    const isTriangleDown = (p: string) => {
      const d = p.match(/ d="M([^"]+)Z"/);
      const v = d === null ? [] : d[1].split('L').map((c) => c.split(',').map(Number));
      return v.length === 3 && v[0][1] > 0 && v[1][1] < 0 && v[2][1] < 0;
    };
    const triangles = points.filter(isTriangleDown);
    expect(triangles).to.have.length(1);
    expect(triangles[0]).to.include(`series: ${zero?.candidate}`);
    // A triangle pointing down (apex below its base; y grows downwards), not a circle (arcs)...
    const [apex, left, right] = [...(triangles[0].match(/ d="M([^"]+)Z"/) as RegExpMatchArray)[1].split('L')].map((v) => v.split(',').map(Number));
    expect(apex[1]).to.be.greaterThan(0);
    expect([left[1], right[1]]).to.satisfy((ys: number[]) => ys.every((v) => v < 0));
    // ...placed at the Wilson upper end on the log axis (tick labels sit 3 px below their value).
    const y = tickLabelY(svg);
    const decade = (y.get('10⁻²') as number) - (y.get('10⁻¹') as number);
    const expected = (y.get('10⁻¹') as number) - 3 + (Math.log10(0.1) - Math.log10(zero?.metrics.pmd.high as number)) * decade;
    const at = Number((triangles[0].match(/transform="translate\([\d.]+,([\d.]+)\)"/) as RegExpMatchArray)[1]);
    expect(at).to.be.closeTo(expected, 0.05);
    expect(svg).to.include('no error observed'); // explained in the subtitle
    // Panels split by the other swept parameter; each has one line per candidate, and the line
    // of the candidate with the bound stops before it.
    expect(svg).to.include('>SNR = 0 dB</text>').and.to.include('>SNR = 20 dB</text>');
    const lines = markGroups(svg, 'series').flat();
    expect(lines).to.have.length(4);
    const faLines = lines.filter((l) => l.includes(`series: ${zero?.candidate}`)).map((l) => (l.match(/ d="([^"]+)"/) as RegExpMatchArray)[1].split('L').length);
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
    expect(layers[1].encoding.y.title).to.equal('NMSE (dB)');
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

  it('gfra plot: --out FILE.png/.svg/.pdf per statistic with FILE.vl.json beside it, defaults beside results.json', async () => {
    const dir = tempDir();
    fs.copyFileSync(path.join(QUICKSTART, 'results.json'), path.join(dir, 'results.json'));
    expect(await plotResults(dir, { x: 'sequenceLength', metric: 'pfa', out: path.join(dir, 'a', 'pfa.svg') })).to.deep.equal([
      path.join(dir, 'a', 'pfa.svg'),
      path.join(dir, 'a', 'pfa.vl.json'),
    ]);
    expect(fs.readFileSync(path.join(dir, 'a', 'pfa.svg'), 'utf8')).to.match(/^<svg /);
    const all = await plotResults(path.join(dir, 'results.json'), { out: path.join(dir, 'fig.png') });
    expect(all.map((f) => path.basename(f))).to.deep.equal(['fig-pmd.png', 'fig-pmd.vl.json', 'fig-pfa.png', 'fig-pfa.vl.json', 'fig-pmd+pfa.png', 'fig-pmd+pfa.vl.json']);
    const defaults = await plotResults(dir, { metric: 'pmd' });
    expect(defaults.map((f) => path.basename(f))).to.deep.equal(['pmd-vs-sequenceLength.svg', 'pmd-vs-sequenceLength.png', 'pmd-vs-sequenceLength.vl.json']);
    const several = await plotResults(dir, { metric: 'pmd', out: path.join(dir, 'b', 'fig'), format: 'pdf,png' });
    expect(several.map((f) => path.basename(f))).to.deep.equal(['fig.pdf', 'fig.png', 'fig.vl.json']);
    expect(fs.readFileSync(path.join(dir, 'b', 'fig.pdf')).subarray(0, 5).toString()).to.equal('%PDF-');
    // The Vega-Lite spec beside the figure is the figure's, data included, so it can be restyled.
    const vl = JSON.parse(fs.readFileSync(path.join(dir, 'b', 'fig.vl.json'), 'utf8')) as { $schema: string; data: { values: unknown[] } };
    expect(vl.$schema).to.match(/vega-lite/);
    expect(vl.data.values).to.have.length(8);
    expect(await renderSvg(vl)).to.equal(fs.readFileSync(path.join(dir, 'pmd-vs-sequenceLength.svg'), 'utf8'));
    for (const [opts, message] of [
      [{ out: path.join(dir, 'x.jpg') }, /--out must end in .png, .svg or .pdf/],
      [{ format: 'pdf,eps' }, /--format takes pdf, svg, png/],
      [{ size: '3.5' }, /--size must be WIDTHxHEIGHT in inches/],
      [{ preset: 'ieee' }, /Unknown --preset "ieee". Valid: ieee-column, ieee-page/],
      [{ legend: 'middle' }, /--legend must be one of top-right/],
      [{ ylim: '1,0.1' }, /--ylim must be two numbers LOW,HIGH with LOW < HIGH/],
      [{ y: 'pmd' }, /give the x statistic with --x/],
    ] as const) {
      await plotResults(dir, opts).then(
        () => expect.fail(`${JSON.stringify(opts)} must be refused`),
        (err: Error) => expect(err).to.be.instanceOf(GfraUserError).and.to.have.property('message').that.matches(message),
      );
    }
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

  describe('print figures (gfra plot --preset / --size)', () => {
    const x = () => resolveParam('sequenceLength', sweptParams(labelled()));
    const pmd = () => pickStatistic(describeStatistics(labelled()), 'pmd');
    const runs = () => plotRuns([{ file: '', dir: '', data: labelled() }]);

    it('presets: ieee-column is 3.5 in (252 pt) wide, ieee-page 7.16 in; the SVG is the printed size in points, the PNG 300 dpi', async () => {
      expect(figureOptions({ preset: 'ieee-column' }).print).to.deep.equal({ width: 3.5, height: 2.6 });
      expect(figureOptions({ preset: 'ieee-page' }).print).to.deep.equal(PRESETS['ieee-page']);
      expect(figureOptions({ preset: 'ieee-column', size: '3.5x3' }).print).to.deep.equal({ width: 3.5, height: 3 });
      for (const [print, w, h] of [
        [{ width: 3.5, height: 2.6 }, 252, 187.2],
        [{ width: 7.16, height: 3 }, 515.52, 216],
      ] as const) {
        const figure = buildFigure(runs(), x(), pmd(), { print });
        const svg = await renderSvg(figure.spec);
        const size = svgSize(svg);
        expect(size.width).to.be.closeTo(w, 0.01);
        expect(size.height).to.be.closeTo(h, 0.01);
        const png = decodePng(renderPng(svg, 300 / 72));
        expect(png.width).to.be.closeTo(print.width * 300, 1);
        expect(png.height).to.be.closeTo(print.height * 300, 1);
      }
    });

    it('text is at least 8 pt at 3.5 in wide, and there is no title on a print figure unless asked for', async () => {
      const svg = await renderSvg(buildFigure(runs(), x(), pmd(), figureOptions({ preset: 'ieee-column' })).spec);
      expect(svgSize(svg).width).to.equal(252); // 1 unit = 1 pt
      const sizes = fontSizes(svg);
      expect(sizes.length).to.be.greaterThan(8);
      expect(Math.min(...sizes)).to.be.at.least(8);
      expect(svg).to.not.include('>quickstart</text>').and.to.not.include('Wilson intervals');
      const titled = await renderSvg(buildFigure(runs(), x(), pmd(), figureOptions({ preset: 'ieee-column', title: 'Fig. 3' })).spec);
      expect(titled).to.include('>Fig. 3</text>');
      expect(Math.min(...fontSizes(titled))).to.be.at.least(8);
      // --no-title on a screen figure too.
      const screen = await renderSvg(buildFigure(runs(), x(), pmd(), figureOptions({ title: false })).spec);
      expect(screen).to.not.include('>quickstart</text>');
      expect(await renderSvg(buildFigure(runs(), x(), pmd()).spec)).to.include('>quickstart</text>');
    });

    it('each series has its own marker shape and dash pattern (greyscale-safe), in spec order, and the legend shows labels', async () => {
      const svg = await renderSvg(buildFigure(runs(), x(), pmd(), figureOptions({ preset: 'ieee-column' })).spec);
      const lines = markGroups(svg, 'series').flat();
      expect(lines).to.have.length(2);
      const dash = (l: string) => (l.match(/stroke-dasharray="([^"]+)"/) ?? [])[1];
      expect(dash(lines[0])).to.equal(undefined); // solid
      expect(dash(lines[1])).to.equal(DASHES[1].join(','));
      const points = markGroups(svg, 'points').flat();
      const shapeOf = (series: string) => new Set(points.filter((p) => p.includes(`series: ${series}`)).map((p) => (p.match(/ d="([^"]+)"/) as RegExpMatchArray)[1]));
      const [a, b] = [shapeOf('energy-fa'), shapeOf('energy-midpoint')];
      expect([a.size, b.size]).to.deep.equal([1, 1]); // one shape per series
      expect([...a][0]).to.not.equal([...b][0]);
      expect([...a][0]).to.match(/A/); // circle (arcs)
      expect([...b][0]).to.match(/h.*v.*h/); // square
      expect([SHAPES[0], SHAPES[1]]).to.deep.equal(['circle', 'square']);
      // Every style in the cycle is distinct: 7 series get 7 different markers and dashes.
      expect(new Set(SHAPES).size).to.equal(SHAPES.length).and.to.equal(DASHES.length);
      expect(new Set(DASHES.map((d) => d.join(','))).size).to.equal(DASHES.length);
      expect(SHAPES).to.not.include('triangle-down'); // the upper-bound marker
      // Legend: labels, not keys; each symbol a line (dashed like its series) through its marker.
      expect(svg).to.include('>Detector A</text>').and.to.include('>Detector B</text>');
      expect(svg).to.not.include('>energy-fa</text>');
      const symbols = [...svg.matchAll(/role-legend-symbol"[^>]*>(<path [^>]*>)/g)].map((m) => m[1]);
      expect(symbols).to.have.length(2);
      expect(symbols[0]).to.not.include('stroke-dasharray');
      expect(symbols[1]).to.include(`stroke-dasharray="${DASHES[1].join(',')}"`);
      const d = (p: string) => (p.match(/ d="([^"]+)"/) as RegExpMatchArray)[1];
      for (const sym of symbols) expect(d(sym)).to.match(/^M-[\d.]+,0L[\d.]+,0M/); // the line, then the marker
      expect(d(symbols[0])).to.match(/C/); // circle
      expect(d(symbols[1])).to.not.match(/C/); // square
      // The same candidate keeps its style in another figure of the run (another statistic).
      const pfa = await renderSvg(buildFigure(runs(), x(), pickStatistic(describeStatistics(labelled()), 'pfa'), figureOptions({ preset: 'ieee-column' })).spec);
      expect(dash(markGroups(pfa, 'series').flat()[1])).to.equal(DASHES[1].join(','));
    });

    it('legend position, axis limits and a log x axis', async () => {
      const spec = (o: Parameters<typeof figureOptions>[0]) => buildFigure(runs(), x(), pmd(), figureOptions(o)).spec as { encoding: { x: { scale: Record<string, unknown>; axis: Record<string, unknown> } }; layer: { encoding: Record<string, { legend?: unknown; scale?: Record<string, unknown> }> }[] };
      expect((spec({ preset: 'ieee-column', legend: 'bottom-left' }).layer[1].encoding.color.legend as { orient: string }).orient).to.equal('bottom-left');
      expect(spec({ legend: 'none' }).layer[1].encoding.color.legend).to.equal(null);
      const noLegend = await renderSvg(buildFigure(runs(), x(), pmd(), figureOptions({ legend: 'none' })).spec);
      expect(noLegend).to.not.include('>energy-fa</text>');
      const limited = spec({ xlim: '15,50', ylim: '1e-3,1' });
      expect(limited.encoding.x.scale.domain).to.deep.equal([15, 50]);
      expect(limited.encoding.x.axis.values).to.deep.equal([20, 40]); // the swept values inside the limits
      expect(limited.layer[1].encoding.y.scale?.domain).to.deep.equal([1e-3, 1]);
      const logx = spec({ logX: true });
      expect(logx.encoding.x.scale.type).to.equal('log');
      expect(logx.encoding.x.scale.domain).to.deep.equal([10, 100]);
      const svg = await renderSvg(buildFigure(runs(), x(), pmd(), figureOptions({ logX: true })).spec);
      expect(svg).to.include('>10¹</text>').and.to.include('>10²</text>');
    });

    it('log axes read as powers of ten: 10⁻³, decades labelled, minor ticks unlabelled', () => {
      expect(powerOfTen(-3)).to.equal('10⁻³');
      expect(powerOfTen(0)).to.equal('10⁰');
      expect(powerOfTen(12)).to.equal('10¹²');
      const axis = logAxis([0.0042, 0.3]);
      expect(axis?.domain).to.deep.equal([1e-3, 1]);
      expect(axis?.values.filter((v) => [1e-3, 1e-2, 0.1, 1].includes(v))).to.have.length(4);
      expect(axis?.values).to.include(0.002).and.to.include(0.09);
      expect(axis?.labelExpr).to.include('"10⁻³"').and.to.include('"10⁰"');
      // Over more than 4 decades only the decades are ticked.
      expect(logAxis([1e-7, 0.5])?.values).to.deep.equal([1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1]);
      expect(logAxis([0.02, 0.05], [1e-4, 1])?.domain).to.deep.equal([1e-4, 1]);
    });

    it('axis and statistic labels: built-in parameters and statistics in paper notation; coupled sweep keys named once', () => {
      const base = readResults(QUICKSTART).data;
      const coupled = (key: string, points: Record<string, unknown>[]): StoredResults => ({
        ...base,
        spec: { ...base.spec, sweep: { [key]: points.map((p) => Object.values(p)) } },
        results: points.map((point, i) => ({ ...base.results[i], point })),
      });
      const ebn0 = coupled('channel.params.ebN0Db, candidates.log-mpa-awgn.channel.params.ebN0Db, candidates.max-log-mpa-awgn.channel.params.ebN0Db', [
        { 'channel.params.ebN0Db': 0, 'candidates.log-mpa-awgn.channel.params.ebN0Db': 0, 'candidates.max-log-mpa-awgn.channel.params.ebN0Db': 0 },
        { 'channel.params.ebN0Db': 2, 'candidates.log-mpa-awgn.channel.params.ebN0Db': 2, 'candidates.max-log-mpa-awgn.channel.params.ebN0Db': 2 },
      ]);
      const params = sweptParams(ebn0);
      expect(defaultParam(params).label).to.equal('Eb/N0 (dB)');
      expect(params.map((p) => p.label)).to.deep.equal(['Eb/N0 (dB)', 'Eb/N0 (dB)', 'Eb/N0 (dB)']);
      // Coupled paths of other parameters, or with other values, are still named.
      const lSnr = coupled('scenario.sequenceLength, channel.params.snrDb', [
        { 'scenario.sequenceLength': 10, 'channel.params.snrDb': 0 },
        { 'scenario.sequenceLength': 20, 'channel.params.snrDb': 5 },
      ]);
      expect(sweptParams(lSnr)[0].label).to.equal('Pilot length L, with SNR (dB)');
      const differ = coupled('channel.params.snrDb, candidates.a.channel.params.snrDb', [
        { 'channel.params.snrDb': 0, 'candidates.a.channel.params.snrDb': 3 },
        { 'channel.params.snrDb': 5, 'candidates.a.channel.params.snrDb': 8 },
      ]);
      expect(sweptParams(differ)[0].label).to.equal('SNR (dB), with SNR (dB)');
      const label = (name: string) => statisticLabel({ name, kind: 'rate', description: 'x', decibel: false, scale: 'log', interval: 'wilson' } as never);
      expect(['pmd', 'pfa', 'pmd+pfa', 'ber', 'bler', 'ser'].map(label)).to.deep.equal(['P_MD', 'P_FA', 'P_MD + P_FA', 'BER', 'BLER', 'SER']);
      expect(sweptParams(readResults(SWEEP2D).data).map((p) => p.label)).to.deep.equal(['SNR (dB)', 'Pilot length L']);
    });

    it('trade-off figure: P_MD against P_FA, one curve per candidate through its points in sweep order, log-log', async () => {
      const data = labelled();
      const stats = describeStatistics(data);
      const [pfa, pmdStat] = [pickStatistic(stats, 'pfa'), pickStatistic(stats, 'pmd')];
      const rows = tradeOffRows(plotRuns([{ file: '', dir: '', data }]), pfa, pmdStat, 'scenario.sequenceLength');
      expect(rows).to.have.length(8);
      for (const r of data.results) {
        const row = rows.find((w) => w.candidate === r.candidate && w.order === r.point['scenario.sequenceLength']);
        expect(row, `${r.candidate} at ${JSON.stringify(r.point)}`).to.not.equal(undefined);
        expect(row?.x).to.equal(r.metrics.pfa.value);
        expect(row?.y).to.equal(r.metrics.pmd.value);
        expect([row?.xLow, row?.xHigh]).to.deep.equal([r.metrics.pfa.low, r.metrics.pfa.high]);
        expect([row?.yLow, row?.yHigh]).to.deep.equal([r.metrics.pmd.low, r.metrics.pmd.high]);
      }
      const x = resolveParam('sequenceLength', sweptParams(data));
      const figure = buildTradeOff(plotRuns([{ file: '', dir: '', data }]), pfa, pmdStat, x, figureOptions({ preset: 'ieee-column' }));
      const spec = figure.spec as { encoding: { x: { title: string; scale: { type: string } } }; layer: { encoding: { y: { title: string; scale: { type: string } }; order?: unknown } }[] };
      expect(spec.encoding.x.title).to.equal('P_FA');
      expect(spec.encoding.x.scale.type).to.equal('log');
      expect(spec.layer.find((l) => l.encoding.order !== undefined)?.encoding.y.scale.type).to.equal('log');
      const svg = await renderSvg(figure.spec);
      expect(svg).to.include('>P_FA</text>').and.to.include('>P_MD</text>');
      // Each curve visits its points in the order of L: the line's vertices are the rows' pixels in that order.
      const lines = markGroups(svg, 'series').flat();
      expect(lines).to.have.length(2);
      const pts = markGroups(svg, 'points').flat().filter((p) => p.includes('series: energy-fa'));
      const pixel = (p: string) => (p.match(/translate\(([-\d.]+),([-\d.]+)\)/) as RegExpMatchArray).slice(1, 3).map(Number);
      const byL = data.results
        .filter((r) => r.candidate === 'energy-fa')
        .sort((a, b) => (a.point['scenario.sequenceLength'] as number) - (b.point['scenario.sequenceLength'] as number))
        .map((r) => pts.find((p) => p.includes(`P_FA: ${Number(r.metrics.pfa.value).toPrecision(12).replace(/\.?0+$/, '')}`)) as string);
      const vertices = (lines[0].match(/ d="M([^"]+)"/) as RegExpMatchArray)[1].split('L').map((v) => v.split(',').map(Number));
      expect(vertices).to.have.length(4);
      vertices.forEach((v, i) => {
        const [px, py] = pixel(byL[i]);
        expect(v[0]).to.be.closeTo(px, 0.01);
        expect(v[1]).to.be.closeTo(py, 0.01);
      });
      // gfra plot --x pfa --y pmd
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify(data));
      const files = await plotResults(dir, { x: 'pfa', y: 'pmd', preset: 'ieee-column', format: 'svg' });
      expect(files.map((f) => path.basename(f))).to.deep.equal(['pmd-vs-pfa.svg', 'pmd-vs-pfa.vl.json']);
    });

    it('PDF: one page of the printed size in points (inches x 72), the DejaVu font embedded, text as text', async () => {
      const dir = tempDir();
      fs.copyFileSync(path.join(QUICKSTART, 'results.json'), path.join(dir, 'results.json'));
      const [file] = await plotResults(dir, { metric: 'pmd', preset: 'ieee-column', format: 'pdf', out: path.join(dir, 'fig') });
      expect(path.basename(file)).to.equal('fig.pdf');
      const pdf = fs.readFileSync(file);
      const text = pdf.toString('latin1');
      expect(text.startsWith('%PDF-')).to.equal(true);
      expect(text.match(/\/Type \/Page\b/g)).to.have.length(1);
      expect(text).to.include('/MediaBox [0 0 252 187.2]'); // 3.5 x 2.6 in
      expect(text).to.match(/\/BaseFont \/[A-Z]{6}\+DejaVuSans\b/);
      expect(text).to.include('/FontFile2');
      const streams = pdfStreams(pdf);
      // Text drawing operators in the page, and the font's unicode map holds the characters drawn:
      // the superscript minus of 10⁻² (U+207B) and the letters of "Pilot length L".
      expect(streams.some((s) => /BT[\s\S]*Tf[\s\S]*T[Jj][\s\S]*ET/.test(s))).to.equal(true);
      const cmap = streams.find((s) => s.includes('begincmap')) as string;
      expect(cmap).to.be.a('string');
      for (const ch of ['⁻', 'P', 'L', 'g', 'h', '_']) {
        expect(cmap.toUpperCase(), `glyph of ${ch}`).to.include(`<${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}>`);
      }
      const size = await plotResults(dir, { metric: 'pmd', size: '2x1.5', format: 'pdf', out: path.join(dir, 'small') });
      expect(fs.readFileSync(size[0]).toString('latin1')).to.include('/MediaBox [0 0 144 108]');
    });

    it('gfra plot command line: --preset, --no-title/--title, --format, --legend, --ylim, --log-x reach the figure', async () => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify(labelled()));
      const stdout = process.stdout.write;
      const printed: string[] = [];
      process.stdout.write = ((chunk: string) => printed.push(String(chunk)) > 0) as typeof process.stdout.write;
      let codes: number[];
      try {
        codes = [
          await main(['plot', dir, '--metric', 'pmd', '--preset', 'ieee-column', '--no-title', '--format', 'pdf,svg', '--legend', 'bottom-left', '--ylim', '1e-3,1', '--log-x', '--out', path.join(dir, 'a')]),
          await main(['plot', dir, '--metric', 'pmd', '--size', '3.5x2', '--title', 'My title', '--format', 'svg', '--out', path.join(dir, 'b')]),
          await main(['plot', dir, '--x', 'pfa', '--y', 'pmd', '--preset', 'ieee-page', '--format', 'svg', '--out', path.join(dir, 'c')]),
        ];
      } finally {
        process.stdout.write = stdout;
      }
      expect(codes).to.deep.equal([0, 0, 0]);
      expect(printed.join('')).to.include(path.join(dir, 'a.pdf')).and.to.include(path.join(dir, 'a.vl.json'));
      const a = fs.readFileSync(path.join(dir, 'a.svg'), 'utf8');
      expect(svgSize(a)).to.deep.equal({ width: 252, height: 187.2 });
      expect(a).to.not.include('>quickstart</text>');
      expect(a).to.include('>Detector A</text>').and.to.include('>10²</text>');
      const spec = JSON.parse(fs.readFileSync(path.join(dir, 'a.vl.json'), 'utf8')) as { layer: { encoding: { color: { legend: { orient: string } }; y: { scale: { domain: number[] } } } }[] };
      expect(spec.layer[1].encoding.color.legend.orient).to.equal('bottom-left');
      expect(spec.layer[1].encoding.y.scale.domain).to.deep.equal([1e-3, 1]);
      expect(fs.readFileSync(path.join(dir, 'a.pdf')).toString('latin1')).to.include('/MediaBox [0 0 252 187.2]');
      const b = fs.readFileSync(path.join(dir, 'b.svg'), 'utf8');
      expect(b).to.include('>My title</text>');
      expect(svgSize(b)).to.deep.equal({ width: 252, height: 144 });
      const c = fs.readFileSync(path.join(dir, 'c.svg'), 'utf8');
      expect(svgSize(c).width).to.be.closeTo(515.52, 0.01);
      expect(c).to.include('>P_FA</text>');
    });
  });
});

describe('plot: PNG resolution', () => {
  /** CRC-32 of PNG chunks, bit by bit (independent of zlib's). */
  const crc32 = (bytes: Buffer): number => {
    let c = 0xffffffff;
    for (const b of bytes) {
      c ^= b;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    }
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunks = (png: Buffer) => {
    const out: { type: string; data: Buffer; crcOk: boolean }[] = [];
    for (let at = 8; at < png.length; ) {
      const length = png.readUInt32BE(at);
      const type = png.toString('latin1', at + 4, at + 8);
      const data = png.subarray(at + 8, at + 8 + length);
      out.push({ type, data, crcOk: png.readUInt32BE(at + 8 + length) === crc32(png.subarray(at + 4, at + 8 + length)) });
      at += 12 + length;
    }
    return out;
  };

  it('records 300 dpi in a print PNG (pHYs after IHDR, valid CRCs, still decodes)', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="252" height="187.2"><rect width="100" height="50" fill="black"/></svg>';
    const png = withDpi(renderPng(svg, 300 / 72), 300);
    const list = chunks(png);
    expect(list.map((c) => c.type).slice(0, 2)).to.deep.equal(['IHDR', 'pHYs']);
    expect(list.every((c) => c.crcOk)).to.equal(true);
    const phys = list[1].data;
    // 300 dots per inch = 11811 per metre, unit byte 1 (metre).
    expect([phys.readUInt32BE(0), phys.readUInt32BE(4), phys[8]]).to.deep.equal([11811, 11811, 1]);
    const decoded = decodePng(png);
    expect([decoded.width, decoded.height]).to.deep.equal([1050, 780]);
  });
});
