/**
 * The figure as a declarative Vega-Lite spec: the same spec is rendered to SVG/PNG in Node
 * (`gfra plot`, `gfra run`) and embedded, interactive, in the HTML report.
 *
 * Layers: error bars (interval), one line per series through the estimates, and markers —
 * filled circles for estimates, downward triangles at the interval's upper end where no error
 * was observed (an upper bound, never drawn at zero). Non-x swept parameters split the figure
 * into panels (small multiples sharing axes), one line per candidate in each.
 */
import { MARKER_BOUND, MARKER_ESTIMATE, type ChartRow } from './rows';

export interface ChartOptions {
  readonly title: string;
  readonly subtitle?: readonly string[];
  readonly xLabel: string;
  readonly yLabel: string;
  /** Name of the statistic, for tooltips. */
  readonly statistic: string;
  readonly scale: 'log' | 'linear';
  /** Every series name, in legend order (fixes the colours, also when some are hidden). */
  readonly series: readonly string[];
  /** Report mode: hover tooltips and a `visible` parameter that filters series. */
  readonly interactive?: boolean;
}

/** Vega-Lite marks are named, so the rendered SVG groups are findable: `g.series_marks` etc. */
export const MARK_NAMES = { lines: 'series', points: 'points', errors: 'intervals' } as const;
/** The report's show/hide parameter: the list of visible series. */
export const VISIBLE_PARAM = 'visible';
/** The name of the data set inside the view. */
export const DATA_NAME = 'rows';

export const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** Series colours (Vega's tableau10), cycled; the report's toggles use the same swatches. */
export const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'] as const;

/** The colour of series `i` in legend order. */
export function seriesColor(i: number): string {
  return PALETTE[i % PALETTE.length];
}

type Json = Record<string, unknown>;

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

function legendDimming(): Json {
  const opacity = { signal: `indexof(${VISIBLE_PARAM}, datum.value) >= 0 ? 1 : 0.3` };
  const entry = { interactive: true, update: { opacity, cursor: { value: 'pointer' } } };
  return { labels: entry, symbols: entry };
}

/** A Vega-Lite spec for the rows of one statistic against one swept parameter. */
export function chartSpec(rows: readonly ChartRow[], o: ChartOptions): Json {
  const numericX = rows.every((r) => typeof r.x === 'number');
  const xValues = unique(rows.map((r) => r.x));
  const panels = unique(rows.map((r) => r.panel));
  const faceted = panels.some((p) => p !== '');
  const hasBounds = rows.some((r) => r.bound);
  const yScale: Json = o.scale === 'log' ? { type: 'log' } : { zero: false };
  const x: Json = numericX
    ? {
        field: 'x',
        type: 'quantitative',
        title: o.xLabel,
        scale: { zero: false, nice: false, padding: 12 },
        axis: xValues.length <= 12 ? { values: [...xValues].sort((a, b) => (a as number) - (b as number)) } : {},
      }
    : { field: 'x', type: 'ordinal', title: o.xLabel, sort: xValues };
  const color: Json = {
    field: 'series',
    type: 'nominal',
    title: 'candidate',
    scale: { domain: [...o.series], range: o.series.map((_, i) => seriesColor(i)) },
    legend: {
      symbolType: 'stroke',
      symbolStrokeWidth: 2.5,
      // Report: hidden series are dimmed in the legend (a click on an entry toggles it).
      ...(o.interactive ? { encode: legendDimming() } : {}),
    },
  };
  const y = (field: string): Json => ({ field, type: 'quantitative', title: o.yLabel, scale: yScale });
  const fmt = '.3~g';
  const tooltip: Json[] = [
    { field: 'series', title: 'candidate' },
    { field: 'x', title: o.xLabel },
    ...(faceted ? [{ field: 'panel', title: 'point' }] : []),
    { field: 'value', title: o.statistic, type: 'quantitative', format: fmt },
    { field: 'low', title: 'interval low', type: 'quantitative', format: fmt },
    { field: 'high', title: 'interval high', type: 'quantitative', format: fmt },
    { field: 'events', title: 'errors' },
    { field: 'samples', title: 'samples' },
    { field: 'trials', title: 'trials' },
    { field: 'repetitions', title: 'repetitions pooled' },
    { field: 'skipped', title: 'trials left out' },
    { field: 'marker', title: 'marker' },
  ];
  const layer: Json[] = [
    {
      name: MARK_NAMES.errors,
      transform: [{ filter: 'datum.yLow != null && datum.yHigh != null' }],
      mark: { type: 'errorbar', ticks: { size: 7 }, thickness: 1.2 },
      encoding: { y: y('yLow'), y2: { field: 'yHigh' }, color },
    },
    {
      name: MARK_NAMES.lines,
      transform: [{ filter: '!datum.bound' }],
      mark: { type: 'line', strokeWidth: 1.8 },
      encoding: { y: y('y'), color },
    },
    {
      name: MARK_NAMES.points,
      mark: { type: 'point', filled: true, size: 55, opacity: 1 },
      encoding: {
        y: y('y'),
        color,
        shape: {
          field: 'marker',
          type: 'nominal',
          title: null,
          scale: { domain: [MARKER_ESTIMATE, MARKER_BOUND], range: ['circle', 'triangle-down'] },
          ...(hasBounds ? {} : { legend: null }),
        },
        ...(o.interactive ? { tooltip } : {}),
      },
    },
  ];
  const inner: Json = { encoding: { x }, layer };
  const size = faceted ? { width: 300, height: 220 } : { width: 440, height: 300 };
  const spec: Json = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: o.title, subtitle: [...(o.subtitle ?? [])], anchor: 'start', subtitleColor: '#444' },
    data: { name: DATA_NAME, values: rows },
    background: 'white',
    padding: 12,
    config: {
      font: FONT,
      axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e4e4e4' },
      legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 },
      title: { fontSize: 15, subtitleFontSize: 11 },
      header: { labelFontSize: 12 },
    },
  };
  if (o.interactive) {
    spec.params = [{ name: VISIBLE_PARAM, value: [...o.series] }];
    spec.transform = [{ filter: `indexof(${VISIBLE_PARAM}, datum.series) >= 0` }];
  }
  if (faceted) {
    return {
      ...spec,
      facet: { field: 'panel', type: 'nominal', title: null, sort: panels },
      columns: Math.min(3, panels.length),
      spec: { ...size, ...inner },
    };
  }
  return { ...spec, ...size, ...inner };
}
