/**
 * `gfra compare RUN --candidates A B [--metric M] [--json]`: paired differences A − B between two
 * candidates of a run, per statistic, sweep point and repetition (and pooled over repetitions),
 * from the per-trial values in the run's results store (results/paired.ts has the method).
 *
 * Two candidates are compared only when they saw the same trials: draws shared at that point
 * (`montecarlo.draws: "shared"`, or in results written before it existed
 * `montecarlo.commonRandomNumbers: true`), the same traffic and the same channel configuration at
 * that point (encoders and detectors may differ: that is what one compares), and a result for
 * both at that point and repetition. Anything else is refused with the reason and the fix.
 */
import { GfraUserError, UPSTREAM_SLOTS, type StatisticKind, type TrialValues } from '@gfra/core';
import { candidateSlots } from '../plan/plan';
import { candidateLabels, formatNumber, type JobFailure, type JobResult, type StatisticRecord } from '../results/format';
import { jobTrialValues, pairedDifference, pooledDifference, type PairedDifference, type PairedTrials, type RateTrials } from '../results/paired';
import { readResults } from '../results/read';
import { jobKeyString, ResultsStore, type BatchRecord } from '../results/store';
import { canonicalJson } from '../spec/canonical';
import type { SlotConfig, Spec } from '../spec/schema';
import { expandSweep, pointLabel, sweepAxes, type Assignment } from '../spec/sweep';
import { applyPoint } from '../spec/validate';

/** What the comparison reads from a results file (results.json, or the store's copy of it). */
export interface CompareSource {
  readonly spec: Spec;
  readonly results: readonly JobResult[];
  readonly statistics?: readonly StatisticRecord[];
  readonly failures?: readonly JobFailure[];
}

export interface CompareOptions {
  /** The two candidates: rows are A − B. */
  readonly candidates: readonly [string, string];
  /** Statistics to compare (default: every statistic of the results). */
  readonly metrics?: readonly string[];
}

/** One row: A − B for one statistic at one point and repetition (or pooled over repetitions). */
export interface CompareRow extends PairedDifference {
  readonly statistic: string;
  readonly point: Assignment;
  readonly repetition: number | 'pooled';
  readonly candidates: readonly [string, string];
  /** Two-sided confidence of the intervals (the spec's montecarlo.confidence at that point). */
  readonly confidence: number;
}

/** A statistic and how to read it from the store: its own rate or mean, or the rates it sums. */
interface Readable {
  readonly name: string;
  readonly kind: 'rate' | 'mean';
  /** The stored statistics it is made of: itself, or a rate-sum's parts. */
  readonly parts: readonly string[];
}

/** `montecarlo` of a spec as written, whichever version of gfra wrote it. */
function montecarloOf(spec: Spec): { draws?: unknown; commonRandomNumbers?: unknown; confidence?: unknown; repetitions?: unknown } {
  return { ...(spec.montecarlo as object) };
}

function slotText(s: SlotConfig): string {
  return Object.keys(s.params ?? {}).length > 0 ? `${s.plugin} ${JSON.stringify(s.params)}` : s.plugin;
}

/**
 * Why candidates `a` and `b` of `spec` (defaults applied, as results.json holds it) did not see the
 * same trials at `point`, or undefined when they did: the draws must be shared there, and the
 * traffic and channel configurations equal.
 */
export function pairingProblem(spec: Spec, point: Assignment, a: string, b: string): string | undefined {
  const at = applyPoint(spec, point);
  const where = Object.keys(point).length > 0 ? ` at ${pointLabel(point)}` : '';
  const head = `candidates "${a}" and "${b}" did not see the same trials${where}`;
  const mc = montecarloOf(at);
  if (mc.draws === 'independent') {
    return `${head}: montecarlo.draws is "independent" (each candidate has its own streams); rerun with "draws": "shared" to compare them paired`;
  }
  if (mc.draws === undefined && mc.commonRandomNumbers !== true) {
    const was = mc.commonRandomNumbers === false ? 'is false' : 'is not set';
    return `${head}: these results were written before montecarlo.draws existed, and montecarlo.commonRandomNumbers ${was} (each candidate had its own streams); rerun with this gfra ("draws": "shared" is the default) to compare them paired`;
  }
  const slotsA = candidateSlots(at, a);
  const slotsB = candidateSlots(at, b);
  for (const slot of UPSTREAM_SLOTS) {
    if (slot === 'encoder') continue;
    const ca = slotsA[slot].config;
    const cb = slotsB[slot].config;
    if (canonicalJson(ca) !== canonicalJson(cb)) {
      return (
        `${head}: they use different ${slot} configurations ("${a}": ${slotText(ca)}; "${b}": ${slotText(cb)}), so their trials differ even with shared draws. ` +
        `Paired differences need the same traffic and channel (encoders and detectors may differ): compare candidates that share them`
      );
    }
  }
  return undefined;
}

/** The statistics of the results that can be compared, in their order, and how to read each. */
function readableStatistics(source: CompareSource, stored: ReadonlyMap<string, TrialValues>): Map<string, Readable | string> {
  const records = source.statistics ?? [];
  const names = [...new Set([...records.map((r) => r.name), ...source.results.flatMap((r) => Object.keys(r.metrics))])];
  const out = new Map<string, Readable | string>();
  for (const name of names) {
    const record = records.find((r) => r.name === name);
    const kind: StatisticKind | undefined = record?.kind ?? (stored.has(name) ? ('events' in (stored.get(name) as TrialValues) ? 'rate' : 'mean') : undefined);
    if (kind === 'rate-sum') {
      // A results.json written before StatisticRecord had parts: "pmd+pfa" names its parts.
      const parts = record?.parts ?? name.split('+').map((p) => p.trim());
      const ok = parts.length > 0 && parts.every((p) => stored.has(p) && 'events' in (stored.get(p) as TrialValues));
      out.set(name, ok ? { name, kind: 'rate', parts } : `the rates "${name}" adds up are not known from these results`);
    } else if (kind === 'jain-index') {
      out.set(name, `"${name}" is a Jain index of several rates, which has no paired difference here; compare its per-device rates (${(record?.parts ?? []).join(', ')})`);
    } else if (kind !== undefined && stored.has(name)) {
      out.set(name, { name, kind, parts: [name] });
    } else out.set(name, `the results store holds no per-trial values of "${name}"`);
  }
  return out;
}

const repetitionOf = (r: { readonly repetition?: number }): number => r.repetition ?? 0;

/** The planned points of a spec: its sweep expanded (one empty point without a sweep). */
function plannedPoints(spec: Spec): Assignment[] {
  return expandSweep(sweepAxes(spec.sweep));
}

/**
 * The rows of `gfra compare` from a results file and its store's batches (by jobKeyString): per
 * statistic, per point, per repetition, then a pooled row per point with several repetitions.
 * Pure: throws {@link GfraUserError} when the candidates cannot be compared, saying why and how
 * to fix it.
 */
export function compareRows(source: CompareSource, batches: ReadonlyMap<string, readonly BatchRecord[]>, options: CompareOptions): CompareRow[] {
  const { spec } = source;
  const [a, b] = options.candidates;
  const known = Object.keys(spec.candidates);
  for (const c of [a, b]) {
    if (!Object.hasOwn(spec.candidates, c)) throw new GfraUserError(`Unknown candidate "${c}". The run has: ${known.join(', ')}`);
  }
  if (a === b) throw new GfraUserError(`--candidates names "${a}" twice; name two different candidates (the run has: ${known.join(', ')})`);

  const points = plannedPoints(spec);
  const resultAt = (candidate: string, point: Assignment, repetition: number) =>
    source.results.find((r) => r.candidate === candidate && repetitionOf(r) === repetition && canonicalJson(r.point) === canonicalJson(point));
  const failedAt = (candidate: string, point: Assignment, repetition: number) =>
    (source.failures ?? []).some((f) => f.candidate === candidate && repetitionOf(f) === repetition && canonicalJson(f.point) === canonicalJson(point));

  // Every (point, repetition) must be pairable: the spec first, then the results.
  const problems: string[] = [];
  const jobs: { point: Assignment; repetitions: { repetition: number; ra: JobResult; rb: JobResult }[]; confidence: number }[] = [];
  for (const point of points) {
    const problem = pairingProblem(spec, point, a, b);
    if (problem !== undefined) {
      problems.push(problem);
      continue;
    }
    const mc = montecarloOf(applyPoint(spec, point));
    const count = typeof mc.repetitions === 'number' ? mc.repetitions : 1;
    const confidence = typeof mc.confidence === 'number' ? mc.confidence : 0.95;
    const repetitions: { repetition: number; ra: JobResult; rb: JobResult }[] = [];
    for (let repetition = 0; repetition < count; repetition++) {
      const ra = resultAt(a, point, repetition);
      const rb = resultAt(b, point, repetition);
      for (const [c, r] of [[a, ra], [b, rb]] as const) {
        if (r !== undefined) continue;
        const where = `${Object.keys(point).length > 0 ? ` at ${pointLabel(point)}` : ''}${count > 1 ? ` (repetition ${repetition})` : ''}`;
        problems.push(
          failedAt(c, point, repetition)
            ? `candidate "${c}" has no result${where}: its job failed (see "failures" in results.json); fix it and run the spec again into the same folder`
            : `candidate "${c}" has no result${where}: the run did not get to it; run the spec again into the same folder to finish it`,
        );
      }
      if (ra !== undefined && rb !== undefined) repetitions.push({ repetition, ra, rb });
    }
    jobs.push({ point, repetitions, confidence });
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 5);
    const more = problems.length > shown.length ? `\n  ... and ${problems.length - shown.length} more` : '';
    throw new GfraUserError(`Cannot compare "${a}" and "${b}" paired:\n  ${shown.join('\n  ')}${more}`);
  }

  // The statistics, as the store holds them (read from the first job's first batch).
  const batchesOf = (r: JobResult) => batches.get(jobKeyString({ candidate: r.candidate, point: r.point, repetition: repetitionOf(r) })) ?? [];
  const first = jobs.flatMap((j) => j.repetitions)[0];
  const sample = first === undefined ? new Map<string, TrialValues>() : (batchesOf(first.ra)[0]?.values ?? new Map<string, TrialValues>());
  const statistics = readableStatistics(source, sample);
  const chosen = options.metrics ?? [...statistics.keys()].filter((n) => typeof statistics.get(n) !== 'string');
  for (const name of chosen) {
    const s = statistics.get(name);
    if (s === undefined) throw new GfraUserError(`Unknown statistic "${name}". The results have: ${[...statistics.keys()].join(', ')}`);
    if (typeof s === 'string') throw new GfraUserError(`Cannot compare "${name}": ${s}`);
  }
  if (chosen.length === 0) throw new GfraUserError(`The results store holds no per-trial values to compare (statistics: ${[...statistics.keys()].join(', ') || 'none'})`);

  const trialsOf = (r: JobResult, name: string): TrialValues => {
    const values = jobTrialValues(batchesOf(r), r.trials, name);
    const have = values === undefined ? 0 : 'events' in values ? values.events.length : values.values.length;
    if (values === undefined || have < r.trials) {
      const where = `${Object.keys(r.point).length > 0 ? ` at ${pointLabel(r.point)}` : ''}`;
      throw new GfraUserError(
        `the results store holds ${have} trials of "${name}" for candidate "${r.candidate}"${where}, but results.json says ${r.trials}: ` +
          `the store and results.json are from different runs. Give the output folder gfra run wrote both into, or run the spec again into it`,
      );
    }
    return values;
  };
  const rows: CompareRow[] = [];
  for (const name of chosen) {
    const s = statistics.get(name) as Readable;
    for (const { point, repetitions, confidence } of jobs) {
      const perRepetition = repetitions.map(({ repetition, ra, rb }) => {
        const input: PairedTrials =
          s.kind === 'mean'
            ? { kind: 'mean', a: (trialsOf(ra, name) as { values: ArrayLike<number> }).values, b: (trialsOf(rb, name) as { values: ArrayLike<number> }).values }
            : { kind: 'rate', a: s.parts.map((p) => trialsOf(ra, p) as RateTrials), b: s.parts.map((p) => trialsOf(rb, p) as RateTrials) };
        const row: CompareRow = { statistic: name, point, repetition, candidates: [a, b], confidence, ...pairedDifference(input, confidence) };
        return row;
      });
      rows.push(...perRepetition);
      if (perRepetition.length > 1) {
        rows.push({ statistic: name, point, repetition: 'pooled', candidates: [a, b], confidence, ...pooledDifference(perRepetition, confidence) });
      }
    }
  }
  return rows;
}

function interval(i: { low: number | null; high: number | null }): string {
  return i.low === null || i.high === null ? '-' : `[${formatNumber(i.low)}, ${formatNumber(i.high)}]`;
}

/** The cells of a row, in {@link compareHeader} order. */
export function compareCells(row: CompareRow): string[] {
  return [
    pointLabel(row.point),
    String(row.repetition),
    String(row.trials),
    formatNumber(row.a),
    formatNumber(row.b),
    formatNumber(row.difference),
    interval(row.paired),
    interval(row.unpaired),
    row.paired.low === null ? '-' : row.excludesZero ? 'yes' : 'no',
  ];
}

/** The column names of a comparison table of candidates A and B. */
export function compareHeader(a: string, b: string): string[] {
  return ['point', 'repetition', 'trials', a, b, `${a} − ${b}`, 'paired interval', 'unpaired interval', 'excludes 0'];
}

/** One plain-text table per statistic; candidates under their display `labels` where they have one. */
export function formatCompare(rows: readonly CompareRow[], labels: Readonly<Record<string, string>> = {}): string {
  if (rows.length === 0) return '(nothing to compare)';
  const [a, b] = rows[0].candidates.map((c) => labels[c] ?? c);
  const blocks: string[] = [];
  for (const statistic of [...new Set(rows.map((r) => r.statistic))]) {
    const mine = rows.filter((r) => r.statistic === statistic);
    const header = compareHeader(a, b);
    const cells = mine.map(compareCells);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
    const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i])).join('  ').trimEnd();
    const confidence = [...new Set(mine.map((r) => `${Math.round(r.confidence * 1000) / 10}%`))].join(', ');
    blocks.push(
      [`${statistic}: ${a} − ${b} on common trials, ${confidence} intervals (paired: per-trial differences; unpaired: as if independent)`, line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n'),
    );
  }
  return blocks.join('\n\n');
}

/** Read a run (its folder or results.json) and its store, and compare; also the run itself. */
async function compareStored(target: string, options: CompareOptions): Promise<{ rows: CompareRow[]; data: ReturnType<typeof readResults>['data'] }> {
  const { data, dir } = readResults(target);
  const store = await ResultsStore.open(dir, { readOnly: true });
  try {
    const batches = await store.batches(data.specHash);
    return { rows: compareRows(data, batches, options), data };
  } finally {
    store.close();
  }
}

/** Read a run (its folder or results.json) and its store, and compare. */
export async function compareRun(target: string, options: CompareOptions): Promise<CompareRow[]> {
  return (await compareStored(target, options)).rows;
}

/** `gfra compare`: the tables (candidates under their labels), or the rows as JSON. */
export async function compareCommand(target: string, options: CompareOptions & { readonly json?: boolean }): Promise<string> {
  const { rows, data } = await compareStored(target, options);
  return options.json === true ? JSON.stringify(rows, null, 2) : formatCompare(rows, candidateLabels(data.spec));
}

