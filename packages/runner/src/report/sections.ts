/**
 * The report's text sections, one block per run: the spec summary, the results table, time per
 * candidate and the environment.
 */
import { UPSTREAM_SLOTS } from '@gfra/core';
import { formatNumber, pointCandidateKey, skippedText } from '../results/format';
import { shortName, sweptParams } from '../plot/params';
import type { PlotRun } from '../plot/rows';
import type { SlotConfig } from '../spec/schema';
import { definitions, esc, table, type Cell } from './html';

function compact(value: unknown): string {
  return JSON.stringify(value) ?? '';
}

function slot(s: SlotConfig | undefined): string {
  if (s === undefined) return '-';
  const params = s.params !== undefined && Object.keys(s.params).length > 0 ? ` ${compact(s.params)}` : '';
  return `${s.plugin}${params}`;
}

function code(text: string): { html: string } {
  return { html: `<code>${esc(text)}</code>` };
}

/** Name, description, seed, scenario, pipeline, candidates, metrics, sweep, Monte Carlo budget. */
export function specSummary(run: PlotRun): string {
  const { data } = run;
  const spec = data.spec;
  const candidates = Object.entries(spec.candidates ?? {}).map(([name, c]) => {
    const overrides = UPSTREAM_SLOTS.filter((k) => c[k] !== undefined).map((k) => `${k}: ${slot(c[k])}`);
    return `<li><b>${esc(name)}</b>: <code>${esc(slot(c.detector))}</code>${overrides.length > 0 ? ` (${esc(overrides.join('; '))})` : ''}</li>`;
  });
  const sweep = Object.entries(spec.sweep ?? {}).map(([k, v]) => `<li><code>${esc(k)}</code>: ${esc(v.map((x) => compact(x)).join(', '))}</li>`);
  const pairs: [string, string | { html: string }][] = [
    ['name', data.name],
    ...(spec.description ? ([['description', spec.description]] as [string, string][]) : []),
    ['seed', String(data.seed)],
    ['spec hash', code(data.specHash ?? '-')],
    ['scenario', code(Object.entries(spec.scenario ?? {}).map(([k, v]) => `${k}=${compact(v)}`).join(', '))],
    ['traffic', code(slot(spec.traffic))],
    ['channel', code(slot(spec.channel))],
    ['encoder', code(slot(spec.encoder))],
    ['candidates', { html: `<ul>${candidates.join('')}</ul>` }],
    ['metrics', code((spec.metrics ?? []).map(slot).join('; '))],
    ['sweep', sweep.length > 0 ? { html: `<ul>${sweep.join('')}</ul>` } : 'none'],
    ['Monte Carlo', code(compact(spec.montecarlo ?? {}))],
    ['complete', data.complete ? 'yes' : 'no: interrupted or still running'],
  ];
  return [
    definitions(pairs),
    `<details><summary>resolved spec (JSON)</summary><pre>${esc(JSON.stringify(spec, null, 2))}</pre></details>`,
  ].join('\n');
}

function interval(m: { value: number | null; low: number | null; high: number | null; events: number | null; samples: number; skipped?: { undefined: number; nonFinite: number } }): Cell {
  const text = `${formatNumber(m.value)} [${formatNumber(m.low)}, ${formatNumber(m.high)}]`;
  const skipped = skippedText(m.skipped);
  const title = `${m.events !== null ? `${m.events} errors in ${m.samples} samples` : `${m.samples} trials`}${skipped === '' ? '' : `; trials left out: ${skipped}`}`;
  // A statistic with trials left out for a non-finite detector output is marked (*).
  const mark = (m.skipped?.nonFinite ?? 0) > 0 ? ' *' : '';
  return { html: esc(text + mark), title, cls: m.events === 0 ? 'num bound' : 'num' };
}

/**
 * Every (point, candidate) of a run: swept values, trials, time, stop reason, value [low, high].
 * With repetitions, a `rep` column and, after the repetitions of each (point, candidate), its
 * pooled row: the across-repetition mean [t-interval], with the spread (sd, min..max) on hover.
 */
export function resultsTable(run: PlotRun): string {
  const results = run.data.results;
  if (results.length === 0) return '<p>(no results)</p>';
  const pooled = run.data.pooled ?? [];
  const repeated = results.some((r) => r.repetition !== undefined);
  const keys = [...new Set(results.flatMap((r) => Object.keys(r.point)))];
  const stats = [...new Set(results.flatMap((r) => Object.keys(r.metrics)))];
  const header: Cell[] = ['candidate', ...keys.map(shortName), ...(repeated ? ['rep'] : []), 'trials', 'seconds', 'stop', ...stats];
  const pooledBy = new Map(pooled.map((p) => [pointCandidateKey(p), p]));
  const rows: Cell[][] = [];
  results.forEach((r, i) => {
    rows.push([
      r.candidate,
      ...keys.map((k) => (k in r.point ? compact(r.point[k]) : '')),
      ...(repeated ? [r.repetition ?? ''] : []),
      r.trials,
      Number(r.seconds.toFixed(2)),
      r.stop ?? '',
      ...stats.map((s) => (r.metrics[s] !== undefined ? interval(r.metrics[s]) : '')),
    ]);
    const p = pooledBy.get(pointCandidateKey(r));
    if (p === undefined || (i + 1 < results.length && pointCandidateKey(results[i + 1]) === pointCandidateKey(r))) return;
    rows.push([
      p.candidate,
      ...keys.map((k) => (k in p.point ? compact(p.point[k]) : '')),
      { html: `<b>mean of ${p.repetitions}</b>`, title: 'across-repetition mean, t-interval over repetitions' },
      p.trials,
      '',
      '',
      ...stats.map((s): Cell => {
        const m = p.metrics[s];
        if (m === undefined) return '';
        const text = `${formatNumber(m.value)} [${formatNumber(m.low)}, ${formatNumber(m.high)}]`;
        return { html: `<b>${esc(text)}</b>`, title: `sd ${formatNumber(m.sd)} over ${m.repetitions} repetitions, min ${formatNumber(m.min)}, max ${formatNumber(m.max)}`, cls: 'num' };
      }),
    ]);
  });
  return table(header, rows, 'results');
}

/**
 * Per candidate of each run: points, trials, total and per-point seconds, trials per second,
 * and the detector's decode time per trial (milliseconds, warm-up batches excluded).
 */
export function timingTable(runs: readonly PlotRun[]): string {
  const prefix = runs.length > 1;
  const rows: Cell[][] = [];
  for (const run of runs) {
    const byCandidate = new Map<string, { points: number; trials: number; seconds: number; detectSeconds: number; detectTrials: number }>();
    for (const r of run.data.results) {
      const t = byCandidate.get(r.candidate) ?? { points: 0, trials: 0, seconds: 0, detectSeconds: 0, detectTrials: 0 };
      t.points += 1;
      t.trials += r.trials;
      t.seconds += r.seconds;
      t.detectSeconds += r.detectorTime?.seconds ?? 0;
      t.detectTrials += r.detectorTime?.trials ?? 0;
      byCandidate.set(r.candidate, t);
    }
    for (const [candidate, t] of byCandidate) {
      rows.push([
        prefix ? `${run.label}/${candidate}` : candidate,
        t.points,
        t.trials,
        Number(t.seconds.toFixed(2)),
        Number((t.seconds / t.points).toFixed(3)),
        t.seconds > 0 ? Math.round(t.trials / t.seconds) : '-',
        t.detectTrials > 0 ? Number(((1000 * t.detectSeconds) / t.detectTrials).toPrecision(3)) : '-',
      ]);
    }
  }
  return table(['candidate', 'points', 'trials', 'seconds', 'seconds per point', 'trials per second', 'detector ms per trial'], rows, 'timing');
}

/** Backend, versions, seed and spec hash of each run, plus the report's own libraries. */
export function environmentTable(runs: readonly PlotRun[], libraries: readonly { name: string; version: string }[]): string {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.data.environment ?? {})))];
  const header: Cell[] = ['', ...runs.map((r) => r.label)];
  const rows: Cell[][] = [
    ['seed', ...runs.map((r) => String(r.data.seed))],
    ['spec hash', ...runs.map((r) => ({ html: `<code>${esc((r.data.specHash ?? '-').slice(0, 16))}</code>`, title: r.data.specHash ?? '' }))],
    ['backend', ...runs.map((r) => r.data.backend ?? '-')],
    ...keys.filter((k) => k !== 'backend').map((k) => [k, ...runs.map((r) => r.data.environment?.[k] ?? '-')]),
    ['swept', ...runs.map((r) => sweptParams(r.data).map((p) => p.short).join(', ') || 'none')],
  ];
  const libs = libraries.map((l) => `${l.name} ${l.version}`).join(', ');
  return `${table(header, rows, 'environment')}\n<p class="note">Charts drawn with ${esc(libs)} (inlined in this file).</p>`;
}
