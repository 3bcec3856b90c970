/**
 * The figure as a declarative Vega-Lite spec: the same spec is rendered to SVG/PNG in Node
 * (`gfra plot`, `gfra run`) and embedded, interactive, in the HTML report.
 *
 * Layers: error bars (interval), one line per series through the estimates, and markers. Each
 * series has its colour, marker shape and dash pattern (by its place in the series order, so a
 * figure stays readable in greyscale); a downward triangle marks the interval's upper end where
 * no error was observed (an upper bound, never drawn at zero). Non-x swept parameters split the
 * figure into panels (small multiples sharing axes), one line per candidate in each. Log axes
 * are labelled in powers of ten. A print figure (`print`: a size in inches) is laid out in points.
 */
import type { ChartRow } from './rows';
import { legendSymbol, logAxis, POINTS_PER_INCH, PRINT_FONTS, SCREEN_FONTS, seriesStyle, type LegendPosition, type PrintSize } from './style';

export interface ChartOptions {
  /** Title; none when undefined or ''. */
  readonly title?: string;
  /** Lines under the title (only drawn with a title). */
  readonly subtitle?: readonly string[];
  readonly xLabel: string;
  readonly yLabel: string;
  /** Name of the statistic, for tooltips. */
  readonly statistic: string;
  /** y scale. */
  readonly scale: 'log' | 'linear';
  /** x scale (a numeric x only); default linear. */
  readonly xScale?: 'log' | 'linear';
  /** Every series name, in legend order: fixes the colours, markers and dashes, also when some are hidden. */
  readonly series: readonly string[];
  /** Display label of a series in the legend (default: its name). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Report mode: hover tooltips and a `visible` parameter that filters series. */
  readonly interactive?: boolean;
  /** Physical size in inches: laid out in points (1 unit = 1 pt) with print fonts; default a screen figure. */
  readonly print?: PrintSize;
  /** Legend placement; default `right` on screen, `top-right` (inside the plot) in print. */
  readonly legend?: LegendPosition;
  readonly xlim?: readonly [number, number];
  readonly ylim?: readonly [number, number];
  /** Statistic against statistic: each series' points joined in `order`, with horizontal error bars too. */
  readonly tradeOff?: boolean;
}

/** Vega-Lite marks are named, so the rendered SVG groups are findable: `g.series_marks` etc. */
export const MARK_NAMES = { lines: 'series', points: 'points', errors: 'intervals', xErrors: 'x_intervals' } as const;
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

/** A Vega expression mapping `datum[field]` (a series name) to the JSON value given per series. */
function bySeries(series: readonly string[], value: (name: string, i: number) => unknown, otherwise: string, field = 'value'): string {
  return series.reduceRight((rest, name, i) => `datum.${field} === ${JSON.stringify(name)} ? ${JSON.stringify(value(name, i))} : ${rest}`, otherwise);
}

/** Legend symbols: the series' line dash through its marker, in its colour (dimmed in the report when hidden). */
function legendEncoding(o: ChartOptions, lineWidth: number): Json {
  const opacity = o.interactive ? { opacity: { signal: `indexof(${VISIBLE_PARAM}, datum.value) >= 0 ? 1 : 0.3` } } : {};
  const interactive = o.interactive ? { interactive: true } : {};
  const cursor = o.interactive ? { cursor: { value: 'pointer' } } : {};
  return {
    symbols: {
      ...interactive,
      update: {
        shape: { signal: bySeries(o.series, (_, i) => legendSymbol(i), JSON.stringify(legendSymbol(0))) },
        strokeDash: { signal: bySeries(o.series, (_, i) => dashOf(i), '[1, 0]') },
        stroke: { scale: 'color', field: 'value' },
        fill: { scale: 'color', field: 'value' },
        strokeWidth: { value: lineWidth },
        ...opacity,
        ...cursor,
      },
    },
    labels: { ...interactive, update: { ...opacity, ...cursor } },
  };
}

function dashOf(i: number): number[] {
  const dash = seriesStyle(i).dash;
  return dash.length === 0 ? [1, 0] : [...dash];
}

/** The legend's Vega-Lite properties for a position (undefined: no legend). */
function legendPlacement(position: LegendPosition): Json | undefined {
  switch (position) {
    case 'none':
      return undefined;
    case 'right':
    case 'bottom':
      return { orient: position };
    default:
      return { orient: position, fillColor: 'rgba(255,255,255,0.85)', strokeColor: '#999999', padding: 3, offset: 4, cornerRadius: 0 };
  }
}

interface AxisParts {
  readonly scale: Json;
  readonly axis: Json;
}

/** Scale and axis of a numeric, quantitative channel. */
function numericAxis(values: readonly number[], scale: 'log' | 'linear', lim: readonly [number, number] | undefined, print: boolean, ticks?: readonly number[]): AxisParts {
  if (scale === 'log') {
    const log = logAxis(values, lim);
    if (log !== undefined) return { scale: { type: 'log', domain: log.domain, nice: false }, axis: { values: log.values, labelExpr: log.labelExpr } };
    return { scale: { type: 'log' }, axis: {} };
  }
  const inRange = (ticks ?? []).filter((v) => lim === undefined || (v >= lim[0] && v <= lim[1]));
  const axis: Json = ticks !== undefined && inRange.length > 0 && inRange.length <= (print ? 8 : 12) ? { values: [...inRange].sort((a, b) => a - b) } : print ? { tickCount: 6 } : {};
  return { scale: lim !== undefined ? { domain: [...lim], nice: false, zero: false } : { zero: false }, axis };
}

/** A Vega-Lite spec for the rows of one statistic against one swept parameter (or, in a trade-off, another statistic). */
export function chartSpec(rows: readonly ChartRow[], o: ChartOptions): Json {
  const print = o.print !== undefined;
  const fonts = print ? PRINT_FONTS : SCREEN_FONTS;
  const numericX = rows.every((r) => typeof r.x === 'number');
  const xValues = unique(rows.map((r) => r.x));
  const panels = unique(rows.map((r) => r.panel));
  const faceted = panels.some((p) => p !== '');
  const clip = o.xlim !== undefined || o.ylim !== undefined;
  const nums = (xs: readonly (number | string | null | undefined)[]) => xs.filter((v): v is number => typeof v === 'number');
  const yParts = numericAxis(nums(rows.flatMap((r) => [r.y, r.yLow, r.yHigh])), o.scale, o.ylim, print);
  const x: Json = numericX
    ? (() => {
        const xs = nums(rows.flatMap((r) => [r.x, r.xLow, r.xHigh]));
        const parts = numericAxis(xs, o.xScale ?? 'linear', o.xlim, print, o.tradeOff ? undefined : (xValues as number[]));
        const padding = o.xScale === 'log' || o.xlim !== undefined || o.tradeOff ? {} : { padding: print ? 6 : 12, nice: false };
        return { field: 'x', type: 'quantitative', title: o.xLabel, scale: { ...parts.scale, ...padding }, axis: parts.axis };
      })()
    : { field: 'x', type: 'ordinal', title: o.xLabel, sort: xValues };
  const placement = legendPlacement(o.legend ?? (print ? 'top-right' : 'right'));
  const lineWidth = print ? 1 : 1.8;
  const labelExpr = o.labels === undefined ? undefined : bySeries(o.series, (name) => o.labels?.[name] ?? name, 'datum.label');
  const domain = [...o.series];
  const color: Json = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain, range: o.series.map((_, i) => seriesColor(i)) },
    legend:
      placement === undefined
        ? null
        : {
            ...placement,
            symbolSize: print ? 256 : 576,
            symbolStrokeWidth: lineWidth,
            ...(labelExpr === undefined ? {} : { labelExpr }),
            encode: legendEncoding(o, lineWidth),
          },
  };
  // Dash and marker by series as mark properties (not scales: their legends would merge with the
  // colour legend, which draws both); a bound is a downward triangle.
  const strokeDash = { expr: bySeries(o.series, (_, i) => dashOf(i), '[1, 0]', 'series') };
  const shape = { expr: `datum.bound ? 'triangle-down' : ${bySeries(o.series, (_, i) => seriesStyle(i).shape, "'circle'", 'series')}` };
  const y = (field: string): Json => ({ field, type: 'quantitative', title: o.yLabel, scale: yParts.scale, axis: yParts.axis });
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
  const clipped = clip ? { clip: true } : {};
  const order = o.tradeOff ? { order: { field: 'order', type: 'quantitative' } } : {};
  const layer: Json[] = [
    {
      name: MARK_NAMES.errors,
      transform: [{ filter: 'datum.yLow != null && datum.yHigh != null' }],
      mark: { type: 'errorbar', ticks: { size: print ? 3 : 7 }, thickness: print ? 0.6 : 1.2, ...clipped },
      encoding: { y: y('yLow'), y2: { field: 'yHigh' }, color },
    },
    ...(o.tradeOff
      ? [
          {
            name: MARK_NAMES.xErrors,
            transform: [{ filter: 'datum.xLow != null && datum.xHigh != null' }],
            mark: { type: 'errorbar', ticks: { size: print ? 3 : 7 }, thickness: print ? 0.6 : 1.2, ...clipped },
            encoding: { x: { ...x, field: 'xLow' }, x2: { field: 'xHigh' }, y: y('y'), color },
          },
        ]
      : []),
    {
      name: MARK_NAMES.lines,
      transform: [{ filter: '!datum.bound' }],
      mark: { type: 'line', strokeWidth: lineWidth, strokeDash, ...clipped },
      encoding: { y: y('y'), color, ...order },
    },
    {
      name: MARK_NAMES.points,
      mark: { type: 'point', filled: true, size: print ? 18 : 55, opacity: 1, shape, ...clipped },
      encoding: { y: y('y'), color, ...(o.interactive ? { tooltip } : {}) },
    },
  ];
  const inner: Json = { encoding: { x }, layer };
  const axisStyle: Json = print
    ? {
        labelFontSize: fonts.tick,
        titleFontSize: fonts.axisTitle,
        titleFontWeight: 'normal',
        labelColor: 'black',
        titleColor: 'black',
        domainColor: 'black',
        tickColor: 'black',
        domainWidth: 0.6,
        tickWidth: 0.6,
        tickSize: 3,
        labelPadding: 2,
        titlePadding: 3,
        gridColor: '#dddddd',
        gridWidth: 0.4,
        labelFlush: false,
      }
    : { labelFontSize: fonts.tick, titleFontSize: fonts.axisTitle, gridColor: '#e4e4e4' };
  const title = o.title !== undefined && o.title !== '' ? { title: { text: o.title, subtitle: [...(o.subtitle ?? [])], anchor: 'start', subtitleColor: '#444' } } : {};
  const spec: Json = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    ...title,
    data: { name: DATA_NAME, values: rows },
    background: 'white',
    padding: print ? 2 : 12,
    config: {
      font: FONT,
      axis: axisStyle,
      legend: { labelFontSize: fonts.legend, titleFontSize: fonts.legend, labelLimit: print ? 0 : 320, rowPadding: print ? 1 : 2, labelOffset: print ? 3 : 5 },
      title: { fontSize: fonts.title, subtitleFontSize: fonts.subtitle },
      header: { labelFontSize: fonts.header, titleFontSize: fonts.header },
      view: print ? { stroke: 'black', strokeWidth: 0.6 } : {},
    },
  };
  if (o.interactive) {
    spec.params = [{ name: VISIBLE_PARAM, value: [...o.series] }];
    spec.transform = [{ filter: `indexof(${VISIBLE_PARAM}, datum.series) >= 0` }];
  }
  if (faceted) {
    const columns = Math.min(3, panels.length);
    const size = o.print === undefined ? { width: 300, height: 220 } : facetCell(o.print, columns, Math.ceil(panels.length / columns), placement);
    return {
      ...spec,
      facet: { field: 'panel', type: 'nominal', title: null, sort: panels },
      columns,
      spec: { ...size, ...inner },
    };
  }
  if (o.print !== undefined) {
    // The whole figure, axes and legend included, is the printed size: Vega shrinks the plot area to fit.
    return {
      ...spec,
      width: points(o.print.width),
      height: points(o.print.height),
      autosize: { type: 'fit', contains: 'padding' },
      ...inner,
    };
  }
  return { ...spec, width: 440, height: 300, ...inner };
}

/** Inches to points, rounded to 1/1000 pt (3.5 in -> 252, 2.6 in -> 187.2). */
function points(inches: number): number {
  return Math.round(inches * POINTS_PER_INCH * 1000) / 1000;
}

/** Cell size of a print figure with panels (Vega cannot fit a facet): the size less rough room for axes, headers and legend. */
function facetCell(size: PrintSize, columns: number, rowCount: number, legend: Json | undefined): { width: number; height: number } {
  const w = size.width * POINTS_PER_INCH - 40 - (legend?.orient === 'right' ? 80 : 0);
  const h = size.height * POINTS_PER_INCH - 30 - (legend?.orient === 'bottom' ? 30 : 0);
  return { width: Math.max(40, (w - 10 * (columns - 1)) / columns), height: Math.max(40, (h - 22 * rowCount) / rowCount) };
}
