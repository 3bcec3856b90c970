/**
 * plot/: figures of a statistic against a swept parameter, from results.json alone (no plugin
 * registry): rows with intervals and upper bounds (rows.ts), a Vega-Lite chart (chart-spec.ts),
 * rendering to SVG/PNG/PDF (render.ts, fonts.ts), print sizes, series styles and log ticks
 * (style.ts), and `gfra plot` (figure.ts).
 */
export * from './params';
export * from './rows';
export * from './chart-spec';
export * from './render';
export * from './figure';
export * from './style';
export * from './fonts';
