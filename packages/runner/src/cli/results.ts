/**
 * `gfra results ls | show | export`: what the results store of an output folder holds (every spec
 * run into it, complete or not), a spec's results table, and its results in long format (one row
 * per candidate x point x repetition x statistic) as CSV, Parquet or JSON.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GfraUserError } from '@gfra/core';
import { candidateLabels, formatTable, skippedLines, type ResultsFile } from '../results/format';
import { readResults } from '../results/read';
import { copyRows, ResultsStore, STORE_FILE, StoreBusy, type ExportColumn, type StoredSpec } from '../results/store';

export const EXPORT_FORMATS = ['csv', 'parquet', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

async function withStore<T>(dir: string, body: (store: ResultsStore) => Promise<T>): Promise<T> {
  const store = await ResultsStore.open(dir, { readOnly: true });
  try {
    return await body(store);
  } finally {
    store.close();
  }
}

/** The spec `prefix` names (a prefix of its hash), or the most recently updated one. */
function pick(specs: readonly StoredSpec[], dir: string, prefix?: string): StoredSpec {
  if (specs.length === 0) throw new GfraUserError(`${path.join(dir, STORE_FILE)} holds no run yet`);
  if (prefix === undefined) return specs[0];
  const found = specs.filter((s) => s.hash.startsWith(prefix.toLowerCase()));
  if (found.length === 1) return found[0];
  const known = specs.map((s) => `${s.hash.slice(0, 12)} (${s.name})`).join(', ');
  throw new GfraUserError(`${found.length === 0 ? 'No' : 'More than one'} spec in ${dir} matches --spec ${prefix}. It holds: ${known}`);
}

/**
 * While a run writes the store, it cannot be opened (DuckDB has one writer per file): the results
 * then come from DIR/results.json, which the run keeps up to date after every job (atomically).
 */
function whileBusy(dir: string, err: unknown): { results: ResultsFile; note: string } {
  if (!(err instanceof StoreBusy)) throw err;
  const file = path.join(dir, 'results.json');
  if (!fs.existsSync(file)) {
    throw new StoreBusy(`A run is writing ${path.join(dir, STORE_FILE)} and has not written ${file} yet (it is training, or its first job is running): try again later`);
  }
  const { data } = readResults(file);
  const when = fs.statSync(file).mtime.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return {
    results: data as unknown as ResultsFile,
    note: `a run is writing ${path.join(dir, STORE_FILE)}; these are the results it has written to ${file} so far (${when}); its stored batches are readable once it ends`,
  };
}

/** `gfra results ls DIR`. */
export async function listRuns(dir: string): Promise<string> {
  let specs: StoredSpec[];
  try {
    specs = await withStore(dir, (store) => store.specs());
  } catch (err) {
    const { results, note } = whileBusy(dir, err);
    const done = results.results.filter((r) => r.stop !== 'interrupted').length;
    return `${note}\n\nspec ${results.specHash.slice(0, 12)} "${results.name}": ${results.complete ? 'complete' : 'in progress'}, ${done} jobs done, ${(results.failures ?? []).length} failed`;
  }
  if (specs.length === 0) return `${path.join(dir, STORE_FILE)}: no runs yet`;
  const header = ['spec', 'name', 'created', 'updated', 'status', 'jobs done', 'failed', 'batches', 'trials'];
  const time = (d: Date) => d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const rows = specs.map((s) => [
    s.hash.slice(0, 12),
    s.name,
    time(s.created),
    time(s.updated),
    s.complete ? 'complete' : 'incomplete',
    `${s.done}/${s.planned}`,
    String(s.failed),
    String(s.batches),
    String(s.trials),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The results file the store derived for a spec (the newest by default). */
export async function storedResults(dir: string, spec?: string): Promise<ResultsFile> {
  const specs = await withStore(dir, (store) => store.specs());
  const chosen = pick(specs, dir, spec);
  if (chosen.results === undefined) throw new GfraUserError(`spec ${chosen.hash.slice(0, 12)} in ${dir} has no finished job yet`);
  return chosen.results;
}

/** `gfra results show DIR [--spec HASH]`. */
export async function showRun(dir: string, spec?: string): Promise<string> {
  let results: ResultsFile;
  let note = '';
  try {
    results = await storedResults(dir, spec);
  } catch (err) {
    if (spec !== undefined) throw err;
    ({ results, note } = whileBusy(dir, err));
    note = `${note}\n\n`;
  }
  const head = `${note}${results.name} (spec ${results.specHash.slice(0, 12)}, ${results.complete ? 'complete' : 'incomplete'})`;
  const skipped = skippedLines(results.results);
  return `${head}\n\n${formatTable(results.results, results.failures ?? [], results.pooled ?? [], { labels: candidateLabels(results.spec) })}${skipped.length > 0 ? `\n\n${skipped.join('\n')}` : ''}`;
}

/** The long-format rows of a results file: one per candidate x point x repetition x statistic. */
export function longRows(results: ResultsFile): { columns: ExportColumn[]; rows: (string | number | null)[][] } {
  const pointKeys = [...new Set(results.results.flatMap((r) => Object.keys(r.point)))];
  const numeric = (k: string) => results.results.every((r) => typeof r.point[k] === 'number');
  const columns: ExportColumn[] = [
    { name: 'spec_hash', type: 'VARCHAR' },
    { name: 'candidate', type: 'VARCHAR' },
    { name: 'point', type: 'VARCHAR' },
    ...pointKeys.map((k): ExportColumn => ({ name: k, type: numeric(k) ? 'DOUBLE' : 'VARCHAR' })),
    { name: 'repetition', type: 'INTEGER' },
    { name: 'statistic', type: 'VARCHAR' },
    { name: 'value', type: 'DOUBLE' },
    { name: 'low', type: 'DOUBLE' },
    { name: 'high', type: 'DOUBLE' },
    { name: 'events', type: 'BIGINT' },
    { name: 'samples', type: 'BIGINT' },
    { name: 'trials', type: 'BIGINT' },
    { name: 'stop', type: 'VARCHAR' },
  ];
  const rows: (string | number | null)[][] = [];
  for (const r of results.results) {
    const point = pointKeys.map((k) => {
      const v = r.point[k];
      if (v === undefined) return null;
      return numeric(k) ? (v as number) : JSON.stringify(v);
    });
    for (const [statistic, m] of Object.entries(r.metrics)) {
      rows.push([results.specHash, r.candidate, JSON.stringify(r.point), ...point, r.repetition ?? 0, statistic, m.value, m.low, m.high, m.events, m.samples, r.trials, r.stop]);
    }
  }
  return { columns, rows };
}

/** `gfra results export DIR --format F --out FILE [--spec HASH]`; returns the rows written. */
export async function exportRun(dir: string, options: { format: ExportFormat; out: string; spec?: string }): Promise<number> {
  const results = await storedResults(dir, options.spec);
  const { columns, rows } = longRows(results);
  try {
    await copyRows(columns, rows, path.resolve(options.out), options.format);
  } catch (err) {
    throw new GfraUserError(`Cannot write ${options.out}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  return rows.length;
}
