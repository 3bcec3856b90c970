/**
 * `gfra coherence`: the coherence measures of a pilot matrix (a transmit object written by
 * `gfra export`) next to their average over i.i.d. Gaussian matrices of the same size — paper
 * 001's Figs. 5(e), 6(d-e), 10(e) and 11(e-f), which compare the learned pilots with Gaussian
 * ones (the paper averages the Gaussian values over 10,000 draws).
 */
import { coherenceMeasures, GfraUserError, Generator, readTransmitFile, type CoherenceMeasures } from '@gfra/core';

export interface CoherenceOptions {
  /** G: groups of N / G consecutive devices for block- and sub-coherence. */
  readonly groups?: number;
  /** Gaussian draws to average over. */
  readonly draws: number;
  readonly seed: number;
}

export interface CoherenceReport {
  readonly shape: readonly [number, number];
  readonly pilots: CoherenceMeasures;
  /** Mean and standard deviation of each measure over the Gaussian draws. */
  readonly gaussian: Readonly<Record<string, { readonly mean: number; readonly sd: number }>>;
}

const LABELS: Readonly<Record<keyof CoherenceMeasures, string>> = {
  coherence: 'coherence',
  blockCoherence: 'block-coherence (max over groups)',
  blockCoherenceMean: 'block-coherence (mean over groups)',
  subCoherence: 'sub-coherence (max over groups)',
  subCoherenceMean: 'sub-coherence (mean over groups)',
};

export function coherenceReport(file: string, options: CoherenceOptions): CoherenceReport {
  let obj;
  try {
    obj = readTransmitFile(file);
  } catch (err) {
    throw new GfraUserError((err as Error).message);
  }
  if (obj.shape.length !== 2) throw new GfraUserError(`${file}: expected a pilot matrix [L, N], got shape [${obj.shape.join(', ')}]`);
  const [L, N] = obj.shape as [number, number];
  const { groups } = options;
  if (groups !== undefined && (!Number.isInteger(groups) || groups < 1 || N % groups !== 0)) {
    throw new GfraUserError(`--groups must be a positive divisor of N = ${N} (got ${groups})`);
  }
  if (!Number.isInteger(options.draws) || options.draws < 1) throw new GfraUserError(`--draws must be a positive integer (got ${options.draws})`);
  const pilots = coherenceMeasures(obj.re, obj.im, L, N, groups);
  const sums = new Map<string, { s: number; s2: number }>();
  for (let k = 0; k < options.draws; k++) {
    const g = Generator.fromKey(['gfra-coherence', options.seed, k]);
    const re = Array.from({ length: L * N }, () => g.normal());
    const im = Array.from({ length: L * N }, () => g.normal());
    for (const [name, v] of Object.entries(coherenceMeasures(re, im, L, N, groups))) {
      const t = sums.get(name) ?? { s: 0, s2: 0 };
      t.s += v as number;
      t.s2 += (v as number) ** 2;
      sums.set(name, t);
    }
  }
  const K = options.draws;
  const gaussian = Object.fromEntries(
    [...sums].map(([name, { s, s2 }]) => [name, { mean: s / K, sd: K > 1 ? Math.sqrt(Math.max(0, (s2 - (s * s) / K) / (K - 1))) : 0 }]),
  );
  return { shape: [L, N], pilots, gaussian };
}

/** The report as a text table. */
export function formatCoherence(report: CoherenceReport, file: string, options: CoherenceOptions): string {
  const rows = (Object.keys(LABELS) as (keyof CoherenceMeasures)[])
    .filter((k) => report.pilots[k] !== undefined)
    .map((k) => {
      const g = report.gaussian[k];
      return [LABELS[k], (report.pilots[k] as number).toFixed(4), `${g.mean.toFixed(4)} (sd ${g.sd.toFixed(4)})`];
    });
  const header = ['measure', 'pilots', `Gaussian, mean of ${options.draws} draws`];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const [L, N] = report.shape;
  const grouping = options.groups === undefined ? '' : `, ${options.groups} groups of ${N / options.groups}`;
  return [`${file}: pilot matrix L = ${L}, N = ${N}${grouping}`, line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
