/**
 * Swept parameters as figure axes: which paths a results file sweeps, their axis titles (with
 * units where known), and the short names a user may type (`sequenceLength` for
 * `scenario.sequenceLength`).
 */
import { GfraUserError } from '@gfra/core';
import { sweepAxes } from '../spec/sweep';
import type { StoredResults } from '../results/read';

export interface SweptParam {
  /** Full parameter path, e.g. `scenario.sequenceLength`. */
  readonly path: string;
  /** Last part of the path, e.g. `sequenceLength`. */
  readonly short: string;
  /** The sweep key it belongs to (several paths when coupled). */
  readonly key: string;
  /** Other paths of a coupled key: they move with this one. */
  readonly coupled: readonly string[];
  /** Axis title with units where known. */
  readonly label: string;
}

/** Axis titles of the common scenario and plugin parameters (paper symbol, unit). */
const LABELS: Readonly<Record<string, string>> = {
  snrDb: 'SNR (dB)',
  sequenceLength: 'pilot length L (symbols)',
  numAntennas: 'antennas M',
  numDevices: 'devices N',
  numActive: 'active devices K',
  bitsPerDevice: 'bits per device J',
  activityProb: 'activity probability ε',
  noiseVar: 'noise variance σ²',
  maxIterations: 'iterations T',
  falseAlarm: 'target false-alarm probability',
};

export function shortName(path: string): string {
  return path.split('.').pop() as string;
}

/** An axis title for a parameter path: `pilot length L (symbols)`, or the short name. */
export function paramLabel(path: string, coupled: readonly string[] = []): string {
  const base = LABELS[shortName(path)] ?? shortName(path);
  return coupled.length === 0 ? base : `${base}, with ${coupled.map(shortName).join(', ')}`;
}

/**
 * The swept parameters of a results file, in sweep-key order. From `spec.sweep` when present
 * (so coupled keys are known); otherwise from the keys of the result points.
 */
export function sweptParams(data: StoredResults): SweptParam[] {
  const axes = sweepAxes(data.spec?.sweep);
  const fromSpec = axes.flatMap((axis) =>
    axis.paths.map((path) => {
      const coupled = axis.paths.filter((p) => p !== path);
      return { path, short: shortName(path), key: axis.key, coupled, label: paramLabel(path, coupled) };
    }),
  );
  const known = new Set(fromSpec.map((p) => p.path));
  const extra = [...new Set(data.results.flatMap((r) => Object.keys(r.point)))].filter((p) => !known.has(p));
  return [...fromSpec, ...extra.map((path) => ({ path, short: shortName(path), key: path, coupled: [], label: paramLabel(path) }))];
}

function listing(params: readonly SweptParam[]): string {
  return params.map((p) => (p.short === p.path ? p.path : `${p.short} (${p.path})`)).join(', ');
}

/**
 * Resolve what the user typed: a full path, or any dotted suffix of one (`sequenceLength`,
 * `params.snrDb`) that names a single swept parameter.
 */
export function resolveParam(name: string, params: readonly SweptParam[]): SweptParam {
  const exact = params.find((p) => p.path === name);
  if (exact !== undefined) return exact;
  const matches = params.filter((p) => p.path.endsWith(`.${name}`));
  if (matches.length === 1) return matches[0];
  if (params.length === 0) {
    throw new GfraUserError(`Cannot plot against "${name}": these results have no swept parameter (the spec has no "sweep")`);
  }
  if (matches.length > 1) {
    throw new GfraUserError(`"${name}" is ambiguous: it matches ${matches.map((p) => p.path).join(', ')}. Give the full path`);
  }
  throw new GfraUserError(`Unknown swept parameter "${name}". The results sweep: ${listing(params)}`);
}

/** `--x` when not given: the only swept parameter. */
export function defaultParam(params: readonly SweptParam[]): SweptParam {
  if (params.length === 1) return params[0];
  // One coupled sweep key ("L, snrDb": values that move together) is one axis: its first path.
  if (params.length > 1 && params.every((p) => p.key === params[0].key)) return params[0];
  if (params.length === 0) {
    throw new GfraUserError('These results have no swept parameter (the spec has no "sweep"), so there is nothing to plot against');
  }
  throw new GfraUserError(`These results sweep several parameters; choose the x axis with --x. Valid: ${listing(params)}`);
}
