/**
 * Figures from results files: `gfra plot` (one statistic or all against one swept parameter, or
 * one statistic against another: a trade-off) and the default figures `gfra run` writes next to
 * results.json. A figure is a screen figure (px, title) or, with a size in inches, a print figure
 * laid out in points with fonts of at least 8 pt (IEEE column and page presets), written as PDF,
 * SVG and PNG with its Vega-Lite spec beside it (FILE.vl.json) for restyling.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GfraUserError } from '@gfra/core';
import { chartSpec } from './chart-spec';
import { defaultParam, resolveParam, sweptParams, type SweptParam } from './params';
import { renderPdf, renderPng, renderSvg, withDpi } from './render';
import { candidateLabels } from '../results/format';
import { readResults, type LoadedResults } from '../results/read';
import { chartRows, plotRuns, tradeOffRows, type ChartRow, type PlotRun } from './rows';
import { describeStatistics, pickStatistic, extraStatistics, type StatisticDescription } from '../results/statistics';
import { parseFormats, parseLegend, parseLimits, parseSize, presetSize, PRINT_DPI, POINTS_PER_INCH, type FigureFormat, type LegendPosition, type PrintSize } from './style';

export interface Figure {
  readonly spec: Record<string, unknown>;
  readonly rows: ChartRow[];
  /** Physical size of a print figure (inches); undefined for a screen figure. */
  readonly print?: PrintSize;
}

/** Axis titles of the built-in statistics (paper notation; `_` marks a subscript as in P_MD). */
const STATISTIC_LABELS: Readonly<Record<string, string>> = {
  pmd: 'P_MD',
  pfa: 'P_FA',
  'pmd+pfa': 'P_MD + P_FA',
  pe: 'P_E',
  ber: 'BER',
  bler: 'BLER',
  'bler-trial': 'BLER (per trial)',
  ser: 'SER',
  nmse: 'NMSE',
  mse: 'MSE',
  'mse-entry': 'MSE per entry',
  'mmv-mse': 'MSE',
  'symbol-mse': 'Symbol MSE',
  jfi: "Jain's fairness index",
  'detector-ms': 'Detector time per trial (ms)',
};

/** Axis title of a statistic: `P_MD`, `BER`, `NMSE (dB)`; else `name (description)`. */
export function statisticLabel(stat: StatisticDescription): string {
  const known = STATISTIC_LABELS[stat.name];
  if (known !== undefined) return stat.decibel ? `${known} (dB)` : known;
  if (stat.decibel) return `${stat.name} (dB)`;
  return stat.description !== '' && stat.description !== stat.name ? `${stat.name} (${stat.description})` : stat.name;
}

/** A run's candidates in a fixed order: the spec's, then any others its results name. */
function candidateOrder(run: PlotRun): string[] {
  return [...new Set([...Object.keys(run.data.spec?.candidates ?? {}), ...run.data.results.map((r) => r.candidate)])].filter((c) =>
    run.data.results.some((r) => r.candidate === c),
  );
}

/**
 * Every series of the runs, in order: the candidates in spec order, prefixed by the run label
 * when several. A series' place fixes its colour, marker and dash, so a candidate looks the same
 * in every figure of a run.
 */
export function allSeries(runs: readonly PlotRun[]): string[] {
  const prefix = runs.length > 1;
  return runs.flatMap((run) => candidateOrder(run).map((c) => (prefix ? `${run.label}/${c}` : c)));
}

/** Display labels of the series: a candidate's `label` in its spec, else its key (prefixed like the series). */
export function seriesLabels(runs: readonly PlotRun[]): Record<string, string> {
  const prefix = runs.length > 1;
  const labels: Record<string, string> = {};
  for (const run of runs) {
    const own = run.data.spec?.candidates === undefined ? {} : candidateLabels(run.data.spec);
    for (const c of candidateOrder(run)) labels[prefix ? `${run.label}/${c}` : c] = prefix ? `${run.label}/${own[c] ?? c}` : (own[c] ?? c);
  }
  return labels;
}

/** Characters per subtitle line: a long line wraps instead of widening the figure. */
const SUBTITLE_WIDTH = 110;

/** Greedy word wrap to lines of at most `width` characters (a longer word gets a line of its own). */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line.length > 0 ? `${line} ${word}` : word;
  }
  if (line.length > 0) lines.push(line);
  return lines;
}

export interface FigureOptions {
  readonly interactive?: boolean;
  /**
   * Title: a string, or null for none. Default: none on a print figure; on a screen figure the
   * spec name (one run) or "statistic vs parameter" (several), with a subtitle on the intervals.
   */
  readonly title?: string | null;
  /** Physical size in inches: a print figure (points, fonts >= 8 pt). */
  readonly print?: PrintSize;
  readonly legend?: LegendPosition;
  readonly xlim?: readonly [number, number];
  readonly ylim?: readonly [number, number];
  /** Log scale on a numeric x axis. */
  readonly logX?: boolean;
}

/** The subtitle of a screen figure: runs compared, what the statistic is, its intervals, bounds. Never the spec description. */
function subtitleOf(runs: readonly PlotRun[], stat: StatisticDescription, rows: readonly ChartRow[]): string[] {
  const subtitle: string[] = [];
  const confidence = runs[0]?.data.spec?.montecarlo?.confidence ?? 0.95;
  const single = runs.length === 1 ? runs[0].data : undefined;
  if (runs.length > 1) subtitle.push(...wrapText(`runs: ${runs.map((r) => r.label).join(', ')}`, SUBTITLE_WIDTH));
  const intervals = stat.interval === 'none' ? 'no intervals' : `${Math.round(confidence * 1000) / 10} % ${stat.interval} intervals`;
  subtitle.push(
    `${stat.name}${stat.description ? `: ${stat.description}` : ''} · ${intervals}` + (single !== undefined && !single.complete ? ' · incomplete run' : ''),
  );
  if (rows.some((r) => r.bound)) subtitle.push('▼ no error observed: the marker is the upper end of the interval');
  return subtitle;
}

function titleOf(options: FigureOptions, fallback: string): string | undefined {
  if (options.title === null) return undefined;
  if (options.title !== undefined) return options.title;
  return options.print === undefined ? fallback : undefined;
}

/** The chart of `stat` against `x` over `runs` (one run for `gfra plot`, several in a report). */
export function buildFigure(runs: readonly PlotRun[], x: SweptParam, stat: StatisticDescription, options: FigureOptions = {}): Figure {
  const rows = chartRows(runs, x.path, stat);
  const single = runs.length === 1 ? runs[0].data : undefined;
  const title = titleOf(options, single !== undefined ? single.name : `${stat.name} vs ${x.short}`);
  const spec = chartSpec(rows, {
    title,
    subtitle: title === undefined ? [] : subtitleOf(runs, stat, rows),
    xLabel: x.label,
    yLabel: statisticLabel(stat),
    statistic: stat.name,
    scale: stat.scale,
    xScale: options.logX ? 'log' : 'linear',
    ...seriesAndLayout(runs, options),
  });
  return { spec, rows, ...(options.print === undefined ? {} : { print: options.print }) };
}

/** What every figure of these runs shares: its series (in spec order) with their labels, and the layout options. */
function seriesAndLayout(runs: readonly PlotRun[], options: FigureOptions) {
  return {
    series: allSeries(runs),
    labels: seriesLabels(runs),
    interactive: options.interactive,
    print: options.print,
    legend: options.legend,
    xlim: options.xlim,
    ylim: options.ylim,
  };
}

/**
 * A trade-off figure: `yStat` against `xStat` (e.g. P_MD against P_FA), one curve per candidate
 * through its points in the order of the swept parameter `along` (e.g. a swept threshold).
 * Rates are on log axes (log-log for two rates), `logX` forces a log x axis.
 */
export function buildTradeOff(
  runs: readonly PlotRun[],
  xStat: StatisticDescription,
  yStat: StatisticDescription,
  along: SweptParam | undefined,
  options: FigureOptions = {},
): Figure {
  const rows = tradeOffRows(runs, xStat, yStat, along?.path);
  const single = runs.length === 1 ? runs[0].data : undefined;
  const title = titleOf(options, single !== undefined ? single.name : `${yStat.name} vs ${xStat.name}`);
  const spec = chartSpec(rows, {
    title,
    subtitle: title === undefined ? [] : [...(along === undefined ? [] : [`points along ${along.label}`]), ...subtitleOf(runs, yStat, rows)],
    xLabel: statisticLabel(xStat),
    yLabel: statisticLabel(yStat),
    statistic: yStat.name,
    scale: yStat.scale,
    xScale: options.logX || xStat.scale === 'log' ? 'log' : 'linear',
    ...seriesAndLayout(runs, options),
    tradeOff: true,
  });
  return { spec, rows, ...(options.print === undefined ? {} : { print: options.print }) };
}

/** `pmd+pfa` -> a file-name-safe `pmd+pfa`; other odd characters become `_`. */
export function fileSlug(name: string): string {
  return name.replace(/[^A-Za-z0-9.+_-]/g, '_');
}

/** `<statistic>-vs-<parameter>`, with the full path when two swept paths share a last part. */
function figureName(stat: StatisticDescription, x: SweptParam, params: readonly SweptParam[]): string {
  const clash = params.some((p) => p.path !== x.path && p.short === x.short);
  return `${fileSlug(stat.name)}-vs-${fileSlug(clash ? x.path : x.short)}`;
}

/** PNG pixels per SVG unit: 300 dpi for a print figure (1 unit = 1 pt), twice the size on screen. */
export function pngScale(figure: Figure): number {
  return figure.print === undefined ? 2 : PRINT_DPI / POINTS_PER_INCH;
}

/**
 * Render a figure once and write it to each file, by extension: .svg, .png, .pdf, or .json (the
 * Vega-Lite spec, data included, for restyling: `FILE.vl.json`).
 */
export async function writeFigure(figure: Figure, files: readonly string[]): Promise<void> {
  const svg = await renderSvg(figure.spec);
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const ext = path.extname(file).toLowerCase();
    if (ext === '.png') {
      const png = renderPng(svg, pngScale(figure));
      fs.writeFileSync(file, figure.print === undefined ? png : withDpi(png, PRINT_DPI));
    }
    else if (ext === '.pdf') fs.writeFileSync(file, await renderPdf(svg));
    else if (ext === '.json') fs.writeFileSync(file, `${JSON.stringify(figure.spec, null, 2)}\n`);
    else fs.writeFileSync(file, svg);
  }
}

export interface PlotOptions {
  /** Swept parameter for the x axis (full path or short name); default: the only one. With `y`: a statistic. */
  readonly x?: string;
  /** Trade-off figure: the statistic on the y axis, drawn against the statistic `x`. */
  readonly y?: string;
  /** Trade-off figure: the swept parameter that orders each curve (default: the only swept key, else the first). */
  readonly along?: string;
  /** Statistic; default: every statistic, one figure each. */
  readonly metric?: string;
  /**
   * Output file: .png, .svg or .pdf, or no extension (then `format` says which). With several
   * statistics, `-<statistic>` is added before the extension. Default:
   * `<statistic>-vs-<parameter>.<format>` next to results.json.
   */
  readonly out?: string;
  /** Formats, e.g. `pdf,png` (default: the extension of `out`, else svg and png). */
  readonly format?: string | readonly FigureFormat[];
  /** Physical size `WxH` in inches (a print figure). */
  readonly size?: string;
  /** `ieee-column` (3.5 in wide) or `ieee-page` (7.16 in); `size` overrides its size. */
  readonly preset?: string;
  /** A title, or false for none (`--no-title`). */
  readonly title?: string | false;
  readonly legend?: string;
  /** `a,b` limits of the axes. */
  readonly xlim?: string;
  readonly ylim?: string;
  readonly logX?: boolean;
}

/** The figure options of `gfra plot`'s options (user errors for malformed ones). */
export function figureOptions(options: PlotOptions): FigureOptions {
  const preset = options.preset === undefined ? undefined : presetSize(options.preset);
  const print = options.size !== undefined ? parseSize(options.size) : preset;
  return {
    ...(options.title === false ? { title: null } : options.title !== undefined ? { title: options.title } : {}),
    ...(print === undefined ? {} : { print }),
    ...(options.legend === undefined ? {} : { legend: parseLegend(options.legend) }),
    ...(options.xlim === undefined ? {} : { xlim: parseLimits(options.xlim, '--xlim') }),
    ...(options.ylim === undefined ? {} : { ylim: parseLimits(options.ylim, '--ylim') }),
    ...(options.logX ? { logX: true } : {}),
  };
}

/** Where the figures go: the base path (no extension) and the formats. */
function outputs(options: PlotOptions): { base?: string; formats: FigureFormat[] } {
  const given = options.format === undefined ? undefined : typeof options.format === 'string' ? parseFormats(options.format) : [...options.format];
  if (options.out === undefined) return { formats: given ?? ['svg', 'png'] };
  const ext = path.extname(options.out).toLowerCase().slice(1);
  if (ext === '') return { base: options.out, formats: given ?? ['svg', 'png'] };
  if (!['png', 'svg', 'pdf'].includes(ext)) throw new GfraUserError(`--out must end in .png, .svg or .pdf, or have no extension (got "${options.out}")`);
  return { base: options.out.slice(0, -ext.length - 1), formats: given ?? [ext as FigureFormat] };
}

/** The files of one figure: one per format, and its Vega-Lite spec. */
function figureFiles(base: string, formats: readonly FigureFormat[]): string[] {
  return [...formats.map((f) => `${base}.${f}`), `${base}.vl.json`];
}

/** `gfra plot`: write the figures (and their Vega-Lite specs), return their paths. */
export async function plotResults(target: string, options: PlotOptions = {}): Promise<string[]> {
  const figOptions = figureOptions(options);
  const { base, formats } = outputs(options);
  const loaded = readResults(target);
  const params = sweptParams(loaded.data);
  const runs = plotRuns([loaded]);
  const allStats = [...describeStatistics(loaded.data), ...extraStatistics(loaded.data)];
  if (options.y !== undefined) {
    if (options.x === undefined) throw new GfraUserError('--y draws one statistic against another: give the x statistic with --x (e.g. --x pfa --y pmd)');
    if (options.metric !== undefined) throw new GfraUserError('--metric and --y cannot be combined: with --y, --x and --y name the two statistics');
    const xStat = pickStatistic(allStats, options.x);
    const yStat = pickStatistic(allStats, options.y);
    const along = options.along !== undefined ? resolveParam(options.along, params) : params[0];
    const figure = buildTradeOff(runs, xStat, yStat, along, figOptions);
    if (figure.rows.length === 0) throw new GfraUserError(`No points with both "${xStat.name}" and "${yStat.name}" to plot in ${loaded.file}`);
    const files = figureFiles(base ?? path.join(loaded.dir, `${fileSlug(yStat.name)}-vs-${fileSlug(xStat.name)}`), formats);
    await writeFigure(figure, files);
    return files;
  }
  const x = options.x !== undefined ? resolveParam(options.x, params) : defaultParam(params);
  const chosen = options.metric !== undefined ? [pickStatistic(allStats, options.metric)] : describeStatistics(loaded.data);
  const written: string[] = [];
  for (const stat of chosen) {
    const figure = buildFigure(runs, x, stat, figOptions);
    if (figure.rows.length === 0) {
      if (options.metric !== undefined) throw new GfraUserError(`No values of "${stat.name}" against ${x.path} to plot in ${loaded.file}`);
      continue;
    }
    const name = base === undefined ? path.join(loaded.dir, figureName(stat, x, params)) : chosen.length === 1 ? base : `${base}-${fileSlug(stat.name)}`;
    const files = figureFiles(name, formats);
    await writeFigure(figure, files);
    written.push(...files);
  }
  return written;
}

/**
 * The figures `gfra run` writes next to results.json: every statistic against every swept
 * parameter (the first path of a coupled key), as SVG and PNG screen figures. None without a sweep.
 */
export async function writeDefaultFigures(loaded: LoadedResults | string): Promise<string[]> {
  const results = typeof loaded === 'string' ? readResults(loaded) : loaded;
  const params = sweptParams(results.data).filter((p, i, all) => all.findIndex((q) => q.key === p.key) === i);
  const stats = describeStatistics(results.data);
  const runs = plotRuns([results]);
  const written: string[] = [];
  for (const x of params) {
    for (const stat of stats) {
      const figure = buildFigure(runs, x, stat);
      if (figure.rows.length === 0) continue;
      const files = ['svg', 'png'].map((ext) => path.join(results.dir, `${figureName(stat, x, params)}.${ext}`));
      await writeFigure(figure, files);
      written.push(...files);
    }
  }
  return written;
}
