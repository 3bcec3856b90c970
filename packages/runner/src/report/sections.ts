/**
 * The report's text sections: the spec summary of each run, the results of all runs in one
 * sortable table, time per candidate, and the environment of each run.
 */
import { UPSTREAM_SLOTS } from '@gfra/core';
import { candidateLabels, failureLine, formatNumber, pointCandidateKey, shownPointKeys, skippedText } from '../results/format';
import { shortName, sweptParams } from '../plot/params';
import type { PlotRun } from '../plot/rows';
import type { SlotConfig } from '../spec/schema';
import { reportSeries, seriesName, type ReportSeries } from './charts';
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
    const label = c.label !== undefined && c.label !== name ? ` (${esc(c.label)})` : '';
    return `<li><b>${esc(name)}</b>${label}: <code>${esc(slot(c.detector))}</code>${overrides.length > 0 ? ` (${esc(overrides.join('; '))})` : ''}</li>`;
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

/** A sortable cell: shown text, its sort key (a number, or text), optional title and class. */
interface SortCell {
  readonly text: string;
  readonly sort?: number | string;
  readonly title?: string;
  readonly cls?: string;
}

function td(c: SortCell | undefined): string {
  if (c === undefined) return '<td></td>';
  const key = c.sort ?? c.text;
  const attrs = [
    `data-sort="${esc(typeof key === 'number' ? `n:${key}` : `s:${key}`)}"`,
    ...(c.title !== undefined ? [`title="${esc(c.title)}"`] : []),
    ...(c.cls !== undefined ? [`class="${esc(c.cls)}"`] : typeof key === 'number' ? ['class="num"'] : []),
  ];
  return `<td ${attrs.join(' ')}>${esc(c.text)}</td>`;
}

function num(x: number | null | undefined, cls = 'num'): SortCell | undefined {
  return x === null || x === undefined ? undefined : { text: formatNumber(x), sort: x, cls };
}

/**
 * The results of every run in one sortable table (a click on a column header sorts by it,
 * another reverses): run (with several runs), candidate (display label), the swept values
 * (coupled keys once), repetition, trials, seconds, decode milliseconds per trial, stop reason,
 * then per statistic its value and interval ends (`low`, `high`). With repetitions, each
 * (point, candidate) also has a pooled row (`mean of R`: the across-repetition mean and
 * t-interval) whose `sd`, `min` and `max` columns give the spread over repetitions. Each row
 * carries its series' display name (`data-series`) for the candidate toggles. A value with trials
 * left out for a non-finite detector output is marked `*`; a rate with no error observed is a
 * bound (`bound`, its value 0).
 */
export function resultsTable(input: PlotRun | readonly PlotRun[], series?: readonly ReportSeries[]): string {
  const runs: readonly PlotRun[] = Array.isArray(input) ? input : [input as PlotRun];
  series ??= reportSeries(runs);
  const all = runs.flatMap((run) => run.data.results.map((r) => ({ run, r })));
  const failures = runs.flatMap((run) => run.data.failures ?? []);
  if (all.length === 0 && failures.length === 0) return '<p>(no results)</p>';
  const several = runs.length > 1;
  const keys = shownPointKeys([...all.map(({ r }) => r.point), ...failures.map((f) => f.point)]);
  const stats = [...new Set(all.flatMap(({ r }) => Object.keys(r.metrics)))];
  const repeated = all.some(({ r }) => r.repetition !== undefined) || failures.some((f) => f.repetition !== undefined);
  const spread = runs.some((run) => (run.data.pooled ?? []).length > 0);
  const sub = ['value', 'low', 'high', ...(spread ? ['sd', 'min', 'max'] : [])];
  const fixed: [string, string][] = [
    ...(several ? ([['run', 'run']] as [string, string][]) : []),
    ['candidate', 'candidate (display label; the key on hover)'],
    ...keys.map((k): [string, string] => [shortName(k), k]),
    ...(repeated ? ([['rep', 'repetition (0-based); "mean of R": the pooled row']] as [string, string][]) : []),
    ['trials', 'trials'],
    ['seconds', 'wall-clock seconds of the job'],
    ['detect ms', 'detector time per trial in milliseconds (decoding only, warm-up batch excluded)'],
    ['stop', 'why the job stopped'],
  ];
  let col = 0;
  const th = (text: string, title: string, extra = '') => `<th data-col="${col++}" title="${esc(title)}"${extra}>${esc(text)}</th>`;
  const head1 = [...fixed.map(([t, title]) => th(t, `${title}; click to sort`, ' rowspan="2"')), ...stats.map((s) => `<th colspan="${sub.length}" class="group">${esc(s)}</th>`)];
  const head2 = stats.flatMap((s) => sub.map((x) => th(x, `${s}: ${x}; click to sort`)));
  const body: string[] = [];
  for (const run of runs) {
    const pooledBy = new Map((run.data.pooled ?? []).map((p) => [pointCandidateKey(p), p]));
    const results = run.data.results;
    const name = (candidate: string) => seriesName(series, run.label, candidate);
    const lead = (candidate: string, point: Readonly<Record<string, unknown>>): (SortCell | undefined)[] => [
      ...(several ? [{ text: run.label }] : []),
      { text: name(candidate), title: candidate },
      ...keys.map((k): SortCell | undefined => (k in point ? { text: compact(point[k]), sort: typeof point[k] === 'number' ? (point[k] as number) : compact(point[k]) } : undefined)),
    ];
    const row = (cls: string, candidate: string, cells: (SortCell | undefined)[]) =>
      `<tr class="${cls}" data-series="${esc(name(candidate))}">${cells.map(td).join('')}</tr>`;
    results.forEach((r, i) => {
      const cells: (SortCell | undefined)[] = [
        ...lead(r.candidate, r.point),
        ...(repeated ? [r.repetition === undefined ? undefined : { text: String(r.repetition), sort: r.repetition }] : []),
        { text: String(r.trials), sort: r.trials, cls: 'num' },
        { text: r.seconds.toFixed(2), sort: r.seconds, cls: 'num' },
        num(r.detectorTime?.msPerTrial),
        { text: r.stop ?? '' },
        ...stats.flatMap((s): (SortCell | undefined)[] => {
          const m = r.metrics[s];
          if (m === undefined) return sub.map(() => undefined);
          const skipped = skippedText(m.skipped);
          const title = `${m.events !== null ? `${m.events} errors in ${m.samples} samples` : `${m.samples} trials`}${skipped === '' ? '' : `; trials left out: ${skipped}`}`;
          // A statistic with trials left out for a non-finite detector output is marked (*).
          const mark = (m.skipped?.nonFinite ?? 0) > 0 ? ' *' : '';
          const value: SortCell | undefined = m.value === null ? undefined : { text: `${formatNumber(m.value)}${mark}`, sort: m.value, title, cls: m.events === 0 ? 'num bound' : 'num' };
          return [value, num(m.low), num(m.high), ...(spread ? [undefined, undefined, undefined] : [])];
        }),
      ];
      body.push(row('result', r.candidate, cells));
      // The pooled row after the last repetition of its (point, candidate).
      const p = pooledBy.get(pointCandidateKey(r));
      if (p === undefined || (i + 1 < results.length && pointCandidateKey(results[i + 1]) === pointCandidateKey(r))) return;
      body.push(
        row('pooled', p.candidate, [
          ...lead(p.candidate, p.point),
          { text: `mean of ${p.repetitions}`, sort: `mean of ${p.repetitions}`, title: 'across-repetition mean, t-interval over repetitions' },
          { text: String(p.trials), sort: p.trials, cls: 'num' },
          undefined,
          undefined,
          undefined,
          ...stats.flatMap((s): (SortCell | undefined)[] => {
            const m = p.metrics[s];
            if (m === undefined) return sub.map(() => undefined);
            const title = `over ${m.repetitions} repetitions`;
            return [num(m.value), num(m.low), num(m.high), num(m.sd), num(m.min), num(m.max)].map((c) => (c === undefined ? c : { ...c, title }));
          }),
        ]),
      );
    });
  }
  // Jobs that failed: a row each (stop "failed", the message on hover), and the messages below.
  const failed: string[] = [];
  for (const run of runs) {
    const labels = candidateLabels({ candidates: run.data.spec?.candidates ?? {} });
    for (const f of run.data.failures ?? []) {
      // A candidate without any result has no series (no toggle): its label, as the series would be named.
      const known = series.some((x) => x.run === run.label && x.candidate === f.candidate);
      const name = known ? seriesName(series, run.label, f.candidate) : `${several ? `${run.label}/` : ''}${labels[f.candidate] ?? f.candidate}`;
      const cells: (SortCell | undefined)[] = [
        ...(several ? [{ text: run.label }] : []),
        { text: name, title: f.candidate },
        ...keys.map((k): SortCell | undefined => (k in f.point ? { text: compact(f.point[k]), sort: typeof f.point[k] === 'number' ? (f.point[k] as number) : compact(f.point[k]) } : undefined)),
        ...(repeated ? [f.repetition === undefined ? undefined : { text: String(f.repetition), sort: f.repetition }] : []),
        undefined,
        undefined,
        undefined,
        { text: 'failed', title: f.message },
        ...stats.flatMap(() => sub.map(() => undefined)),
      ];
      body.push(`<tr class="failed" data-series="${esc(name)}">${cells.map(td).join('')}</tr>`);
      failed.push(`<li>${esc(`${several ? `${run.label}: ` : ''}${failureLine(f)}`)}</li>`);
    }
  }
  return [
    '<div class="scroll">',
    '<table class="results sortable">',
    `<thead><tr>${head1.join('')}</tr><tr>${head2.join('')}</tr></thead>`,
    '<tbody>',
    ...body,
    '</tbody></table></div>',
    ...(failed.length > 0 ? [`<p class="note">Jobs that failed (no result; the run went on without them):</p>`, `<ul class="failures">${failed.join('')}</ul>`] : []),
  ].join('\n');
}

/**
 * Per candidate of each run: points, trials, total and per-point seconds, trials per second,
 * and the detector's decode time per trial (milliseconds, warm-up batches excluded).
 */
export function timingTable(runs: readonly PlotRun[], series: readonly ReportSeries[]): string {
  const rows: string[] = [];
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
      const name = seriesName(series, run.label, candidate);
      const cells: Cell[] = [
        name,
        t.points,
        t.trials,
        Number(t.seconds.toFixed(2)),
        Number((t.seconds / t.points).toFixed(3)),
        t.seconds > 0 ? Math.round(t.trials / t.seconds) : '-',
        t.detectTrials > 0 ? Number(((1000 * t.detectSeconds) / t.detectTrials).toPrecision(3)) : '-',
      ];
      rows.push(`<tr data-series="${esc(name)}">${cells.map((c) => `<td${typeof c === 'number' ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`);
    }
  }
  const header = ['candidate', 'points', 'trials', 'seconds', 'seconds per point', 'trials per second', 'detector ms per trial'];
  return [`<table class="timing">`, `<thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>`, '<tbody>', ...rows, '</tbody></table>'].join('\n');
}

/** The environment fields results.json records, in the order shown (others follow as found). */
const ENVIRONMENT_ORDER: readonly [string, string][] = [
  ['gfra', 'gfra version'],
  ['commit', 'git commit of the gfra checkout (+modified: with local changes)'],
  ['node', 'Node.js version'],
  ['tfjs', 'TensorFlow.js version'],
  ['backend', 'compute backend'],
  ['backendProvider', 'package providing the backend'],
  ['platform', 'platform and architecture'],
  ['os', 'operating system'],
  ['cpu', 'CPU model'],
  ['cores', 'CPU cores available'],
  ['memory', 'total memory'],
  ['executor', 'job executor'],
  ['workers', 'workers'],
];

/**
 * Per run: seed, spec hash, and every field of its `environment` (versions, commit, backend,
 * OS, CPU, cores, memory, executor and workers where recorded; `not recorded` for a field another
 * run has), the swept parameters, plus the report's own libraries. Decode timings are only
 * comparable between runs on the same machine and backend.
 */
export function environmentTable(runs: readonly PlotRun[], libraries: readonly { name: string; version: string }[]): string {
  const env = (run: PlotRun): Readonly<Record<string, unknown>> => ({ backend: run.data.backend, ...(run.data.environment ?? {}) });
  const found = [...new Set(runs.flatMap((r) => Object.keys(env(r))))];
  const known = new Map(ENVIRONMENT_ORDER);
  const keys = [...ENVIRONMENT_ORDER.map(([k]) => k).filter((k) => found.includes(k)), ...found.filter((k) => !known.has(k))];
  const value = (run: PlotRun, k: string): Cell => {
    const v = env(run)[k];
    if (v === undefined || v === null || v === '') return { html: '<span class="missing">not recorded</span>' };
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    return k === 'commit' ? { html: `<code>${esc(text)}</code>` } : text;
  };
  const header: Cell[] = ['', ...runs.map((r) => r.label)];
  const rows: Cell[][] = [
    ['seed', ...runs.map((r) => String(r.data.seed))],
    ['spec hash', ...runs.map((r) => ({ html: `<code>${esc((r.data.specHash ?? '-').slice(0, 16))}</code>`, title: r.data.specHash ?? '' }))],
    ...keys.map((k): Cell[] => [{ html: esc(k), title: known.get(k) ?? k }, ...runs.map((r) => value(r, k))]),
    ['swept', ...runs.map((r) => sweptParams(r.data).map((p) => p.short).join(', ') || 'none')],
  ];
  const libs = libraries.map((l) => `${l.name} ${l.version}`).join(', ');
  return `${table(header, rows, 'environment')}\n<p class="note">Decode times (detect ms) depend on the machine (CPU, cores, memory) and backend above. Charts drawn with ${esc(libs)} (inlined in this file).</p>`;
}
