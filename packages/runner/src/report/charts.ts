/**
 * The report's charts. One chart area shows one statistic against one swept parameter, on a
 * log or linear y axis, chosen in the page: every (statistic, parameter, scale) combination is
 * built here as a Vega-Lite spec whose data set is stored once per (statistic, parameter) and
 * shared by the scales that draw the same rows. A training-loss chart is added when some result
 * carries a `training` record. Candidates are drawn under their display names
 * ({@link reportSeries}), which the page's shared toggles show and hide in every chart.
 */
import { pointLabel } from '../spec/sweep';
import { chartSpec, DATA_NAME, FONT, seriesColor, VISIBLE_PARAM } from '../plot/chart-spec';
import { wrapText, statisticLabel } from '../plot/figure';
import { paramLabel, shortName, sweptParams } from '../plot/params';
import { chartRows, type ChartRow, type PlotRun } from '../plot/rows';
import { candidateLabels, shownPointKeys } from '../results/format';
import type { TrainingRecord } from '../results/read';
import { describeStatistics, extraStatistics, type StatisticDescription } from '../results/statistics';

/** One candidate of one run as the report shows it. */
export interface ReportSeries {
  readonly run: string;
  readonly candidate: string;
  /** Display name: the candidate's `label` (else its key), prefixed by `run/` when there are several runs; unique. */
  readonly name: string;
  readonly color: string;
}

/** Every (run, candidate) with a result, in order, with unique display names and colours. */
export function reportSeries(runs: readonly PlotRun[]): ReportSeries[] {
  const prefix = runs.length > 1;
  const raw = runs.flatMap((run) => {
    const labels = candidateLabels({ candidates: run.data.spec?.candidates ?? {} });
    return [...new Set(run.data.results.map((r) => r.candidate))].map((candidate) => ({
      run: run.label,
      candidate,
      name: `${prefix ? `${run.label}/` : ''}${labels[candidate] ?? candidate}`,
    }));
  });
  // Two candidates given the same label (or a label equal to another's key) stay apart by key.
  const names = raw.map((s) => (raw.filter((t) => t.name === s.name).length > 1 ? `${s.name} (${s.candidate})` : s.name));
  return raw.map((s, i) => ({ ...s, name: names[i], color: seriesColor(i) }));
}

/** The display name of a run's candidate. */
export function seriesName(series: readonly ReportSeries[], run: string, candidate: string): string {
  return series.find((s) => s.run === run && s.candidate === candidate)?.name ?? candidate;
}

/** Statistics of all runs, by name, first description wins: the metrics, then detector time and diagnostics. */
export function reportStatistics(runs: readonly PlotRun[]): StatisticDescription[] {
  const byName = new Map<string, StatisticDescription>();
  for (const describe of [describeStatistics, extraStatistics]) {
    for (const run of runs) for (const s of describe(run.data)) if (!byName.has(s.name)) byName.set(s.name, s);
  }
  return [...byName.values()];
}

/** An x-axis choice: a swept path (coupled paths that repeat another's values once: `shownPointKeys`). */
export interface ReportParam {
  readonly path: string;
  readonly short: string;
  /** Axis title (with units where known). */
  readonly label: string;
}

/** The swept parameters of all runs, one per shown point key. */
export function reportParams(runs: readonly PlotRun[]): ReportParam[] {
  const keys = shownPointKeys(runs.flatMap((run) => run.data.results.map((r) => r.point)));
  const swept = runs.flatMap((run) => sweptParams(run.data));
  return keys.map((path) => ({ path, short: shortName(path), label: swept.find((p) => p.path === path)?.label ?? paramLabel(path) }));
}

export type YScale = 'log' | 'linear';

/** The chart area's content: the choices, the data sets and one spec per (statistic, parameter, scale). */
export interface ChartSet {
  readonly statistics: readonly { readonly name: string; readonly title: string; readonly scale: YScale }[];
  readonly params: readonly ReportParam[];
  /** Data sets by id, shared by specs that draw the same rows. */
  readonly data: Readonly<Record<string, readonly ChartRow[]>>;
  /** By {@link chartKey}: the spec (its data values left out) and the id of its data set; absent where nothing is drawable. */
  readonly charts: Readonly<Record<string, { readonly spec: Record<string, unknown>; readonly data: string }>>;
}

/** The key of a chart in {@link ChartSet.charts}. */
export function chartKey(statistic: string, path: string, scale: YScale): string {
  return `${statistic}|${path}|${scale}`;
}

/** Plot size: one wide chart, or up to three panels a row. */
function resize(spec: Record<string, unknown>): Record<string, unknown> {
  if (spec.facet !== undefined) {
    const columns = Number(spec.columns ?? 1);
    const width = columns === 1 ? 720 : columns === 2 ? 400 : 270;
    return { ...spec, spec: { ...(spec.spec as Record<string, unknown>), width, height: 250 } };
  }
  return { ...spec, width: 740, height: 400 };
}

function withoutData(spec: Record<string, unknown>): Record<string, unknown> {
  return { ...spec, data: { name: DATA_NAME } };
}

/** The spec without tooltip entries for fields no row has (they would read `undefined`). */
function tooltipsOf(spec: unknown, rows: readonly object[]): unknown {
  if (Array.isArray(spec)) return spec.map((s) => tooltipsOf(s, rows));
  if (spec === null || typeof spec !== 'object') return spec;
  return Object.fromEntries(
    Object.entries(spec).map(([k, v]) => [
      k,
      k === 'tooltip' && Array.isArray(v) ? v.filter((t: { field?: string }) => t.field === undefined || rows.some((r) => t.field! in r)) : k === 'data' ? v : tooltipsOf(v, rows),
    ]),
  );
}

/** Every chart of the chart area (see {@link ChartSet}). */
export function chartSet(runs: readonly PlotRun[], series: readonly ReportSeries[]): ChartSet {
  const params = reportParams(runs);
  const stats = reportStatistics(runs);
  const names = series.map((s) => s.name);
  const confidence = runs[0]?.data.spec?.montecarlo?.confidence ?? 0.95;
  const data: Record<string, ChartRow[]> = {};
  const charts: Record<string, { spec: Record<string, unknown>; data: string }> = {};
  const shownStats = new Set<string>();
  for (const x of params) {
    for (const stat of stats) {
      const rows = chartRows(runs, x.path, stat).map((r) => ({ ...r, series: seriesName(series, r.run, r.candidate) }));
      if (rows.length === 0) continue;
      shownStats.add(stat.name);
      const intervals = stat.interval === 'none' ? 'no intervals' : `${Math.round(confidence * 1000) / 10} % ${stat.interval} intervals`;
      const pooled = rows.some((r) => r.repetitions !== undefined);
      const base = [
        ...(runs.length > 1 ? wrapText(`runs: ${runs.map((r) => r.label).join(', ')}`, 110) : []),
        `${stat.name}${stat.description ? `: ${stat.description}` : ''} · ${intervals}`,
        ...(pooled ? ['with repetitions: the mean over repetitions and its t-interval (the table gives sd, min, max)'] : []),
      ];
      for (const scale of ['log', 'linear'] as const) {
        // A linear statistic on a log axis: values <= 0 cannot be drawn, nor interval ends <= 0.
        const drawn =
          scale === 'log' && stat.scale === 'linear'
            ? rows.filter((r) => r.y > 0).map((r) => ({ ...r, yLow: r.yLow !== null && r.yLow > 0 ? r.yLow : null, yHigh: r.yHigh !== null && r.yHigh > 0 ? r.yHigh : null }))
            : rows;
        if (drawn.length === 0) continue;
        const id = drawn === rows ? `${stat.name}|${x.path}` : chartKey(stat.name, x.path, scale);
        data[id] = drawn;
        const subtitle = [
          ...base,
          ...(drawn.some((r) => r.bound) ? ['▼ no error observed: the marker is the upper end of the interval'] : []),
          ...(drawn.length < rows.length ? [`${rows.length - drawn.length} values <= 0 are not drawn on the log axis`] : []),
        ];
        const spec = chartSpec(drawn, {
          title: `${stat.name} vs ${x.short}`,
          subtitle,
          xLabel: x.label,
          yLabel: statisticLabel(stat),
          statistic: stat.name,
          scale,
          series: names,
          interactive: true,
        });
        charts[chartKey(stat.name, x.path, scale)] = { spec: withoutData(tooltipsOf(resize(spec), drawn) as Record<string, unknown>), data: id };
      }
    }
  }
  return {
    statistics: stats.filter((s) => shownStats.has(s.name)).map((s) => ({ name: s.name, title: statisticLabel(s), scale: s.scale })),
    params: params.filter((p) => stats.some((s) => charts[chartKey(s.name, p.path, s.scale)] !== undefined || charts[chartKey(s.name, p.path, s.scale === 'log' ? 'linear' : 'log')] !== undefined)),
    data,
    charts,
  };
}

interface LossRow {
  /** The candidate's display name (the shared toggles filter on it). */
  readonly series: string;
  /** The curve's legend entry: candidate, component and point. */
  readonly name: string;
  readonly curve: 'training' | 'validation';
  readonly step: number;
  readonly loss: number;
}

function lossRows(history: TrainingRecord['lossHistory'], series: string, name: string, curve: LossRow['curve']): LossRow[] {
  if (!Array.isArray(history)) return [];
  return history.flatMap((h, i) => {
    const loss = typeof h === 'number' ? h : h?.loss;
    const step = typeof h === 'number' ? i : (h?.step ?? i);
    return typeof loss === 'number' && Number.isFinite(loss) ? [{ series, name, curve, step, loss }] : [];
  });
}

/** Vega-Lite spec of the loss curves of trained components (`results[i].training.lossHistory`), or none. */
export function trainingChart(runs: readonly PlotRun[], series: readonly ReportSeries[]): Record<string, unknown> | undefined {
  const rows: LossRow[] = [];
  for (const run of runs) {
    for (const r of run.data.results) {
      if (r.training === undefined || r.training === null) continue;
      const at = Object.keys(r.point).length > 0 ? ` @ ${pointLabel(r.point)}` : '';
      const candidate = seriesName(series, run.label, r.candidate);
      const name = `${candidate}${r.training.component ? ` (${r.training.component})` : ''}${at}`;
      rows.push(...lossRows(r.training.lossHistory, candidate, name, 'training'), ...lossRows(r.training.validationLossHistory, candidate, name, 'validation'));
    }
  }
  if (rows.length === 0) return undefined;
  const curves = [...new Set(rows.map((r) => r.name))];
  const log = rows.every((r) => r.loss > 0);
  const hasValidation = rows.some((r) => r.curve === 'validation');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'training loss', anchor: 'start', subtitle: hasValidation ? ['solid: training, dashed: validation'] : [] },
    data: { name: DATA_NAME, values: rows },
    params: [{ name: VISIBLE_PARAM, value: series.map((s) => s.name) }],
    transform: [{ filter: `indexof(${VISIBLE_PARAM}, datum.series) >= 0` }],
    width: 740,
    height: 320,
    background: 'white',
    padding: 12,
    config: { font: FONT, legend: { labelLimit: 420 } },
    mark: { type: 'line', strokeWidth: 1.6, tooltip: true },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training step' },
      y: { field: 'loss', type: 'quantitative', title: 'loss', scale: log ? { type: 'log' } : { zero: false } },
      color: { field: 'name', type: 'nominal', title: 'component', scale: { domain: curves, range: curves.map((_, i) => seriesColor(i)) } },
      strokeDash: { field: 'curve', type: 'nominal', title: null, scale: { domain: ['training', 'validation'], range: [[1, 0], [5, 3]] }, ...(hasValidation ? {} : { legend: null }) },
      detail: { field: 'curve' },
      tooltip: [{ field: 'name', title: 'component' }, { field: 'curve' }, { field: 'step' }, { field: 'loss', format: '.4~g' }],
    },
  };
}
