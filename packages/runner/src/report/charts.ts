/**
 * The report's charts: one per (statistic, swept parameter) over all runs, and one of training
 * loss curves when some result carries a `training` record. Each chart knows its series, for the
 * show/hide toggles next to it.
 */
import { pointLabel } from '../spec/sweep';
import { DATA_NAME, FONT, seriesColor, VISIBLE_PARAM } from '../plot/chart-spec';
import { allSeries, buildFigure } from '../plot/figure';
import { sweptParams, type SweptParam } from '../plot/params';
import type { TrainingRecord } from '../results/read';
import type { PlotRun } from '../plot/rows';
import { describeStatistics, type StatisticDescription } from '../results/statistics';

export interface ReportChart {
  /** DOM id of the chart's container. */
  readonly id: string;
  readonly kind: 'metric' | 'training';
  readonly heading: string;
  /** Vega-Lite spec (interactive: tooltips and the `visible` parameter). */
  readonly spec: Record<string, unknown>;
  /** The series drawn in this chart (toggles), with their colours. */
  readonly series: readonly { readonly name: string; readonly color: string }[];
}

/** Statistics of all runs, by name, first description wins. */
export function reportStatistics(runs: readonly PlotRun[]): StatisticDescription[] {
  const byName = new Map<string, StatisticDescription>();
  for (const run of runs) for (const s of describeStatistics(run.data)) if (!byName.has(s.name)) byName.set(s.name, s);
  return [...byName.values()];
}

/** Swept parameters of all runs, one per sweep key (the first path of a coupled key). */
export function reportParams(runs: readonly PlotRun[]): SweptParam[] {
  const byPath = new Map<string, SweptParam>();
  for (const run of runs) {
    const params = sweptParams(run.data);
    for (const p of params.filter((q, i) => params.findIndex((r) => r.key === q.key) === i)) if (!byPath.has(p.path)) byPath.set(p.path, p);
  }
  return [...byPath.values()];
}

function withColors(names: readonly string[], all: readonly string[]): ReportChart['series'] {
  return names.map((name) => ({ name, color: seriesColor(all.indexOf(name)) }));
}

/** One interactive chart per (statistic, swept parameter) that has something to draw. */
export function metricCharts(runs: readonly PlotRun[]): ReportChart[] {
  const series = allSeries(runs);
  const charts: ReportChart[] = [];
  for (const x of reportParams(runs)) {
    for (const stat of reportStatistics(runs)) {
      const figure = buildFigure(runs, x, stat, { interactive: true, title: `${stat.name} vs ${x.short}` });
      if (figure.rows.length === 0) continue;
      const present = series.filter((s) => figure.rows.some((r) => r.series === s));
      charts.push({ id: `chart-${charts.length + 1}`, kind: 'metric', heading: `${stat.name} vs ${x.short}`, spec: figure.spec, series: withColors(present, series) });
    }
  }
  return charts;
}

interface LossRow {
  readonly series: string;
  readonly curve: 'training' | 'validation';
  readonly step: number;
  readonly loss: number;
}

function lossRows(history: TrainingRecord['lossHistory'], series: string, curve: LossRow['curve']): LossRow[] {
  if (!Array.isArray(history)) return [];
  return history.flatMap((h, i) => {
    const loss = typeof h === 'number' ? h : h?.loss;
    const step = typeof h === 'number' ? i : (h?.step ?? i);
    return typeof loss === 'number' && Number.isFinite(loss) ? [{ series, curve, step, loss }] : [];
  });
}

/** Loss curves of trained components (`results[i].training.lossHistory`), or none. */
export function trainingChart(runs: readonly PlotRun[], id: string): ReportChart | undefined {
  const prefix = runs.length > 1;
  const rows: LossRow[] = [];
  for (const run of runs) {
    for (const r of run.data.results) {
      if (r.training === undefined || r.training === null) continue;
      const at = Object.keys(r.point).length > 0 ? ` @ ${pointLabel(r.point)}` : '';
      const name = `${prefix ? `${run.label}/` : ''}${r.candidate}${r.training.component ? ` (${r.training.component})` : ''}${at}`;
      rows.push(...lossRows(r.training.lossHistory, name, 'training'), ...lossRows(r.training.validationLossHistory, name, 'validation'));
    }
  }
  if (rows.length === 0) return undefined;
  const series = [...new Set(rows.map((r) => r.series))];
  const log = rows.every((r) => r.loss > 0);
  const hasValidation = rows.some((r) => r.curve === 'validation');
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'training loss', anchor: 'start', subtitle: hasValidation ? ['solid: training, dashed: validation'] : [] },
    data: { name: DATA_NAME, values: rows },
    params: [{ name: VISIBLE_PARAM, value: series }],
    transform: [{ filter: `indexof(${VISIBLE_PARAM}, datum.series) >= 0` }],
    width: 560,
    height: 300,
    background: 'white',
    padding: 12,
    config: { font: FONT, legend: { labelLimit: 420 } },
    mark: { type: 'line', strokeWidth: 1.6, tooltip: true },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training step' },
      y: { field: 'loss', type: 'quantitative', title: 'loss', scale: log ? { type: 'log' } : { zero: false } },
      color: { field: 'series', type: 'nominal', title: 'component', scale: { domain: series, range: series.map((_, i) => seriesColor(i)) } },
      strokeDash: { field: 'curve', type: 'nominal', title: null, scale: { domain: ['training', 'validation'], range: [[1, 0], [5, 3]] }, ...(hasValidation ? {} : { legend: null }) },
      detail: { field: 'curve' },
      tooltip: [
        { field: 'series', title: 'component' },
        { field: 'curve' },
        { field: 'step' },
        { field: 'loss', format: '.4~g' },
      ],
    },
  };
  return { id, kind: 'training', heading: 'training loss', spec, series: withColors(series, series) };
}
