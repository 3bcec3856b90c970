/**
 * How a figure looks on paper: its physical size (inches; the SVG is laid out in points, 1 unit =
 * 1 pt, so fonts are sized in points at the printed size), the per-series marker shape and dash
 * pattern (greyscale-safe), and power-of-ten tick labels on log axes.
 */
import { GfraUserError } from '@gfra/core';

/** Points per inch: the SVG unit of a print figure is the point. */
export const POINTS_PER_INCH = 72;
/** PNG resolution of print figures (dots per inch). */
export const PRINT_DPI = 300;

/** IEEE two-column paper: one column is 3.5 in wide, the full text width 7.16 in. */
export const PRESETS = {
  'ieee-column': { width: 3.5, height: 2.6 },
  'ieee-page': { width: 7.16, height: 3.0 },
} as const;
export type PresetName = keyof typeof PRESETS;

/** Physical size of a figure, in inches. */
export interface PrintSize {
  readonly width: number;
  readonly height: number;
}

/** Font sizes of a print figure in points: IEEE asks for at least 8 pt at the printed size. */
export const PRINT_FONTS = { tick: 8, axisTitle: 9, legend: 8, title: 10, subtitle: 8, header: 8 } as const;
/** Font sizes of a screen figure (no physical size), in px. */
export const SCREEN_FONTS = { tick: 11, axisTitle: 12, legend: 11, title: 15, subtitle: 11, header: 12 } as const;

/** `3.5x2.6` (inches) -> size; user errors for anything else. */
export function parseSize(text: string): PrintSize {
  const m = text.trim().match(/^(\d+(?:\.\d+)?|\.\d+)\s*[xX×]\s*(\d+(?:\.\d+)?|\.\d+)$/);
  const size = m === null ? undefined : { width: Number(m[1]), height: Number(m[2]) };
  if (size === undefined || !(size.width > 0 && size.height > 0) || size.width > 50 || size.height > 50) {
    throw new GfraUserError(`--size must be WIDTHxHEIGHT in inches, e.g. 3.5x2.6 (got "${text}")`);
  }
  return size;
}

export function presetSize(name: string): PrintSize {
  if (!(name in PRESETS)) throw new GfraUserError(`Unknown --preset "${name}". Valid: ${Object.keys(PRESETS).join(', ')}`);
  return PRESETS[name as PresetName];
}

/** `a,b` -> [a, b] with a < b; user errors otherwise. */
export function parseLimits(text: string, option: string): [number, number] {
  const parts = text.split(',').map((s) => s.trim());
  const [a, b] = parts.map(Number);
  if (parts.length !== 2 || parts.some((p) => p === '') || !Number.isFinite(a) || !Number.isFinite(b) || !(a < b)) {
    throw new GfraUserError(`${option} must be two numbers LOW,HIGH with LOW < HIGH, e.g. ${option} 1e-4,1 (got "${text}")`);
  }
  return [a, b];
}

export const LEGEND_POSITIONS = ['top-right', 'top-left', 'bottom-left', 'bottom-right', 'right', 'bottom', 'none'] as const;
export type LegendPosition = (typeof LEGEND_POSITIONS)[number];

export function parseLegend(text: string): LegendPosition {
  if (!(LEGEND_POSITIONS as readonly string[]).includes(text)) {
    throw new GfraUserError(`--legend must be one of ${LEGEND_POSITIONS.join(', ')} (got "${text}")`);
  }
  return text as LegendPosition;
}

export const FORMATS = ['pdf', 'svg', 'png'] as const;
export type FigureFormat = (typeof FORMATS)[number];

/** `pdf,png` -> ['pdf', 'png']; user errors for unknown formats. */
export function parseFormats(text: string): FigureFormat[] {
  const formats = text.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  const bad = formats.filter((f) => !(FORMATS as readonly string[]).includes(f));
  if (formats.length === 0 || bad.length > 0) throw new GfraUserError(`--format takes ${FORMATS.join(', ')}, comma-separated (got "${text}")`);
  return [...new Set(formats)] as FigureFormat[];
}

/**
 * Marker shapes of the series, in order (Vega symbol names). `triangle-down` is left out: it marks
 * upper bounds (points without an observed error).
 */
export const SHAPES = ['circle', 'square', 'triangle-up', 'diamond', 'cross', 'triangle-left', 'triangle-right'] as const;
/** Dash patterns of the series' lines, in order (stroke-dasharray, in the figure's units). */
export const DASHES: readonly (readonly number[])[] = [[], [5, 2], [1.5, 1.5], [5, 1.5, 1.5, 1.5], [8, 2.5], [2.5, 2.5], [5, 1.5, 1.5, 1.5, 1.5, 1.5]];

/** Marker and dash of series `i` (its place in the spec's candidate order), repeated after 7. */
export function seriesStyle(i: number): { shape: (typeof SHAPES)[number]; dash: readonly number[] } {
  return { shape: SHAPES[i % SHAPES.length], dash: DASHES[i % DASHES.length] };
}

/** Vega symbol paths of the markers inside the unit square [-1, 1]² (y down), at half size `r`. */
function markerPath(shape: (typeof SHAPES)[number], r: number): string {
  const f = (v: number) => String(Math.round(v * 1000) / 1000);
  const poly = (pts: [number, number][]) => `M${pts.map(([x, y]) => `${f(x)},${f(y)}`).join('L')}Z`;
  const t = r / 2.5;
  switch (shape) {
    case 'circle':
      return `M${f(-r)},0A${f(r)},${f(r)} 0 1,0 ${f(r)},0A${f(r)},${f(r)} 0 1,0 ${f(-r)},0Z`;
    case 'square':
      return poly([[-r, -r], [r, -r], [r, r], [-r, r]]);
    case 'triangle-up':
      return poly([[0, -r], [r, r], [-r, r]]);
    case 'diamond':
      return poly([[0, -r], [r, 0], [0, r], [-r, 0]]);
    case 'cross':
      return poly([[-t, -r], [t, -r], [t, -t], [r, -t], [r, t], [t, t], [t, r], [-t, r], [-t, t], [-r, t], [-r, -t], [-t, -t]]);
    case 'triangle-left':
      return poly([[-r, 0], [r, -r], [r, r]]);
    case 'triangle-right':
      return poly([[r, 0], [-r, -r], [-r, r]]);
  }
}

/**
 * Legend symbol of series `i`: a short line through its marker, drawn as one Vega symbol path
 * (the line is the path's first segment; the marker is filled).
 */
export function legendSymbol(i: number): string {
  return `M-1,0L1,0${markerPath(seriesStyle(i).shape, 0.33)}`;
}

/** Unicode superscript of an integer: -3 -> ⁻³. */
export function superscript(n: number): string {
  const digits = '⁰¹²³⁴⁵⁶⁷⁸⁹';
  return `${n < 0 ? '⁻' : ''}${String(Math.abs(n))
    .split('')
    .map((d) => digits[Number(d)])
    .join('')}`;
}

/** `10⁻³` for 1e-3; `1` and `10` stay as powers too (`10⁰`, `10¹`) so a log axis reads uniformly. */
export function powerOfTen(exponent: number): string {
  return `10${superscript(exponent)}`;
}

/** A log axis: its decade domain, the tick values (every 1..9 x 10^k while the span is small) and a label per decade. */
export interface LogAxis {
  readonly domain: [number, number];
  readonly values: number[];
  /** Vega expression: the power-of-ten label of a decade tick, '' for the others. */
  readonly labelExpr: string;
}

/**
 * Log axis over positive `values` (or the limits `lim` when given): whole decades around the data,
 * decade ticks labelled 10ⁿ, unlabelled ticks at 2..9 x 10ⁿ when the axis spans at most `maxMinor`
 * decades.
 */
export function logAxis(values: readonly number[], lim?: readonly [number, number], maxMinor = 4): LogAxis | undefined {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v));
  let lo: number;
  let hi: number;
  if (lim !== undefined) {
    if (!(lim[0] > 0)) throw new GfraUserError(`limits of a log axis must be positive (got ${lim[0]},${lim[1]})`);
    [lo, hi] = lim;
  } else {
    if (positive.length === 0) return undefined;
    lo = 10 ** Math.floor(Math.log10(Math.min(...positive)) + 1e-9);
    hi = 10 ** Math.ceil(Math.log10(Math.max(...positive)) - 1e-9);
    if (hi <= lo) hi = lo * 10;
  }
  const e0 = Math.floor(Math.log10(lo) + 1e-9);
  const e1 = Math.ceil(Math.log10(hi) - 1e-9);
  const minor = e1 - e0 <= maxMinor;
  const ticks: number[] = [];
  const decades: number[] = [];
  for (let e = e0; e <= e1; e++) {
    for (const m of minor ? [1, 2, 3, 4, 5, 6, 7, 8, 9] : [1]) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) {
        ticks.push(v);
        if (m === 1) decades.push(e);
      }
    }
  }
  const exponent = 'round(log(datum.value) / LN10)';
  const isDecade = `abs(log(datum.value) / LN10 - ${exponent}) < 1e-6`;
  const labels = decades.map((e) => `${exponent} == ${e} ? ${JSON.stringify(powerOfTen(e))}`).join(' : ');
  const labelExpr = decades.length === 0 ? "''" : `${isDecade} ? (${labels} : '') : ''`;
  return { domain: [lo, hi], values: ticks, labelExpr };
}
