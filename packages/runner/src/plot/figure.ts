/**
 * Figures from results files: `gfra plot` (one statistic or all, against one swept parameter)
 * and the default figures `gfra run` writes next to results.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GfraUserError } from '@gfra/core';
import { chartSpec } from './chart-spec';
import { defaultParam, resolveParam, sweptParams, type SweptParam } from './params';
import { renderPng, renderSvg } from './render';
import { readResults, type LoadedResults } from '../results/read';
import { chartRows, plotRuns, type ChartRow, type PlotRun } from './rows';
import { describeStatistics, pickStatistic, extraStatistics, type StatisticDescription } from '../results/statistics';

export interface Figure {
  readonly spec: Record<string, unknown>;
  readonly rows: ChartRow[];
}

/** Axis title of a statistic: `pmd (missed-detection probability)`, `nmse (dB)`. */
export function statisticLabel(stat: StatisticDescription): string {
  if (stat.decibel) return `${stat.name} (dB)`;
  return stat.description !== '' && stat.description !== stat.name ? `${stat.name} (${stat.description})` : stat.name;
}

/** Every series of the runs, in order: candidates, prefixed by the run label when several. */
export function allSeries(runs: readonly PlotRun[]): string[] {
  const prefix = runs.length > 1;
  return runs.flatMap((run) => [...new Set(run.data.results.map((r) => (prefix ? `${run.label}/${r.candidate}` : r.candidate)))]);
}

/** Characters per subtitle line: a long spec description wraps instead of widening the figure. */
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
  /** Title; default the spec name (one run) or "statistic vs parameter" (several). */
  readonly title?: string;
}

/** The chart of `stat` against `x` over `runs` (one run for `gfra plot`, several in a report). */
export function buildFigure(runs: readonly PlotRun[], x: SweptParam, stat: StatisticDescription, options: FigureOptions = {}): Figure {
  const rows = chartRows(runs, x.path, stat);
  const confidence = runs[0]?.data.spec?.montecarlo?.confidence ?? 0.95;
  const single = runs.length === 1 ? runs[0].data : undefined;
  const subtitle: string[] = [];
  if (single?.spec?.description) subtitle.push(...wrapText(single.spec.description, SUBTITLE_WIDTH));
  if (runs.length > 1) subtitle.push(...wrapText(`runs: ${runs.map((r) => r.label).join(', ')}`, SUBTITLE_WIDTH));
  const intervals = stat.interval === 'none' ? 'no intervals' : `${Math.round(confidence * 1000) / 10} % ${stat.interval} intervals`;
  subtitle.push(
    `${stat.name}${stat.description ? `: ${stat.description}` : ''} · ${intervals}` + (single !== undefined && !single.complete ? ' · incomplete run' : ''),
  );
  if (rows.some((r) => r.bound)) subtitle.push('▼ no error observed: the marker is the upper end of the interval');
  const spec = chartSpec(rows, {
    title: options.title ?? (single !== undefined ? single.name : `${stat.name} vs ${x.short}`),
    subtitle,
    xLabel: x.label,
    yLabel: statisticLabel(stat),
    statistic: stat.name,
    scale: stat.scale,
    series: allSeries(runs),
    interactive: options.interactive,
  });
  return { spec, rows };
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

/** Render a figure once and write it to each file (.svg or .png by extension). */
export async function writeFigure(figure: Figure, files: readonly string[]): Promise<void> {
  const svg = await renderSvg(figure.spec);
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    if (file.toLowerCase().endsWith('.png')) fs.writeFileSync(file, renderPng(svg));
    else fs.writeFileSync(file, svg);
  }
}

export interface PlotOptions {
  /** Swept parameter for the x axis (full path or short name); default: the only one. */
  readonly x?: string;
  /** Statistic; default: every statistic, one figure each. */
  readonly metric?: string;
  /**
   * Output file (.png or .svg). With several statistics, `-<statistic>` is added before the
   * extension. Default: `<statistic>-vs-<parameter>.svg` and `.png` next to results.json.
   */
  readonly out?: string;
}

/** `gfra plot`: write the figures, return their paths. */
export async function plotResults(target: string, options: PlotOptions = {}): Promise<string[]> {
  const loaded = readResults(target);
  const params = sweptParams(loaded.data);
  const x = options.x !== undefined ? resolveParam(options.x, params) : defaultParam(params);
  const stats = describeStatistics(loaded.data);
  const chosen = options.metric !== undefined ? [pickStatistic([...stats, ...extraStatistics(loaded.data)], options.metric)] : stats;
  const out = options.out;
  if (out !== undefined && !/\.(png|svg)$/i.test(out)) {
    throw new GfraUserError(`--out must end in .png or .svg (got "${out}")`);
  }
  const runs = plotRuns([loaded]);
  const written: string[] = [];
  for (const stat of chosen) {
    const figure = buildFigure(runs, x, stat);
    if (figure.rows.length === 0) {
      if (options.metric !== undefined) throw new GfraUserError(`No values of "${stat.name}" against ${x.path} to plot in ${loaded.file}`);
      continue;
    }
    const files =
      out === undefined
        ? ['svg', 'png'].map((ext) => path.join(loaded.dir, `${figureName(stat, x, params)}.${ext}`))
        : [chosen.length === 1 ? out : out.replace(/(\.[A-Za-z]+)$/, `-${fileSlug(stat.name)}$1`)];
    await writeFigure(figure, files);
    written.push(...files);
  }
  return written;
}

/**
 * The figures `gfra run` writes next to results.json: every statistic against every swept
 * parameter (the first path of a coupled key), as SVG and PNG. None without a sweep.
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
