/**
 * The report's paired comparisons: for every run with two or more candidates, `gfra compare`'s
 * table for each pair of candidates that saw the same trials (cli/compare.ts), read from the run's
 * results store; a pair or run that cannot be compared gets one line saying why.
 */
import { GfraUserError } from '@gfra/core';
import { compareCells, compareHeader, compareRows, type CompareRow } from '../cli/compare';
import { plotRuns } from '../plot/rows';
import { candidateLabels } from '../results/format';
import { readResults } from '../results/read';
import { ResultsStore } from '../results/store';
import { esc, table } from './html';

/** One pair of candidates of a run: its rows, or why it has none. */
export interface PairComparison {
  readonly candidates: readonly [string, string];
  readonly rows?: readonly CompareRow[];
  readonly skipped?: string;
}

/** The paired comparisons of one run (labelled as elsewhere in the report), or why it has none; `names`: the candidates' display labels. */
export interface RunComparisons {
  readonly label: string;
  readonly names?: Readonly<Record<string, string>>;
  readonly pairs: readonly PairComparison[];
  readonly skipped?: string;
}

/**
 * The comparisons of every run that has results for two or more candidates (every pair, in spec
 * order), or undefined when no run has: then the report has no such section.
 */
export async function runComparisons(targets: readonly string[]): Promise<RunComparisons[] | undefined> {
  const loaded = targets.map((t) => readResults(t));
  const labels = plotRuns(loaded).map((r) => r.label);
  const out: RunComparisons[] = [];
  for (const [i, { data, dir }] of loaded.entries()) {
    const withResults = new Set(data.results.map((r) => r.candidate));
    const candidates = Object.keys(data.spec.candidates ?? {}).filter((c) => withResults.has(c));
    if (candidates.length < 2) continue;
    let store: ResultsStore;
    try {
      store = await ResultsStore.open(dir, { readOnly: true });
    } catch (err) {
      if (!(err instanceof GfraUserError)) throw err;
      out.push({ label: labels[i], pairs: [], skipped: `no paired comparison: it needs the per-trial values of the run's results store (${err.message})` });
      continue;
    }
    try {
      const batches = await store.batches(data.specHash);
      const pairs: PairComparison[] = [];
      candidates.forEach((a, j) => {
        for (const b of candidates.slice(j + 1)) {
          try {
            pairs.push({ candidates: [a, b], rows: compareRows(data, batches, { candidates: [a, b] }) });
          } catch (err) {
            if (!(err instanceof GfraUserError)) throw err;
            pairs.push({ candidates: [a, b], skipped: err.message });
          }
        }
      });
      out.push({ label: labels[i], pairs, names: candidateLabels(data.spec) });
    } finally {
      store.close();
    }
  }
  return out.length > 0 ? out : undefined;
}

/** Per run, per pair: one table per statistic (as `gfra compare` prints it), or why not. */
export function compareSection(runs: readonly RunComparisons[]): string {
  const note = (text: string) => `<p class="note">${esc(text)}</p>`;
  const parts = [
    note(
      'A − B on the trials both candidates ran (shared draws: the same activity, channel and noise). Paired interval: from the per-trial differences (delta method for rates); unpaired: the same estimates with the variances added as if independent, to show what pairing gains.',
    ),
  ];
  for (const run of runs) {
    parts.push(`<h3>${esc(run.label)}</h3>`);
    if (run.skipped !== undefined) parts.push(note(run.skipped));
    for (const pair of run.pairs) {
      const [a, b] = pair.candidates.map((c) => run.names?.[c] ?? c);
      parts.push(`<h4>${esc(`${a} − ${b}`)}</h4>`);
      if (pair.skipped !== undefined) {
        parts.push(`<pre>${esc(pair.skipped)}</pre>`);
        continue;
      }
      const rows = pair.rows ?? [];
      for (const statistic of [...new Set(rows.map((r) => r.statistic))]) {
        parts.push(`<p><b>${esc(statistic)}</b></p>`, table(compareHeader(a, b), rows.filter((r) => r.statistic === statistic).map(compareCells), 'compare'));
      }
    }
  }
  return parts.join('\n');
}
