/**
 * Swept parameters as figure axes: which paths a results file sweeps, their axis titles (with
 * units where known), and the short names a user may type (`sequenceLength` for
 * `scenario.sequenceLength`).
 */
import { GfraUserError } from '@gfra/core';
import { sweepAxes } from '../spec/sweep';
import { shownPointKeys } from '../results/format';
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

/** Axis titles of the built-in scenario and plugin parameters (name, paper symbol, unit). */
const LABELS: Readonly<Record<string, string>> = {
  snrDb: 'SNR (dB)',
  ebN0Db: 'Eb/N0 (dB)',
  esN0Db: 'Es/N0 (dB)',
  sequenceLength: 'Pilot length L',
  numAntennas: 'Antennas M',
  numDevices: 'Devices N',
  numActive: 'Active devices K',
  expectedActive: 'Expected active devices',
  bitsPerDevice: 'Bits per device J',
  activityProb: 'Activity probability',
  activityThreshold: 'Activity threshold',
  noiseVar: 'Noise variance σ²',
  maxIterations: 'Iterations T',
  iterations: 'Iterations T',
  falseAlarm: 'Target false-alarm probability',
  numGroups: 'Groups',
  ratio: 'Ratio',
  threshold: 'Threshold',
};

export function shortName(path: string): string {
  return path.split('.').pop() as string;
}

/**
 * An axis title for a parameter path: `Pilot length L`, or the short name. `coupled` are the
 * other paths of its sweep key that are worth naming (see {@link sweptParams}).
 */
export function paramLabel(path: string, coupled: readonly string[] = []): string {
  const label = (p: string) => LABELS[shortName(p)] ?? shortName(p);
  return coupled.length === 0 ? label(path) : `${label(path)}, with ${coupled.map(label).join(', ')}`;
}

/**
 * The other paths of a coupled key that an axis title of `path` names: not those with the same
 * last part and the same values at every point (`channel.params.ebN0Db` and
 * `candidates.x.channel.params.ebN0Db` are one Eb/N0), as in the results table ({@link shownPointKeys}).
 */
function namedCoupled(path: string, coupled: readonly string[], data: StoredResults): string[] {
  // The points restricted to the key's paths, `path` first, so it is the one kept of equal ones.
  const paths = [path, ...coupled];
  const shown = new Set(shownPointKeys(data.results.map((r) => Object.fromEntries(paths.filter((p) => p in r.point).map((p) => [p, r.point[p]])))));
  return coupled.filter((p) => shown.has(p));
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
      return { path, short: shortName(path), key: axis.key, coupled, label: paramLabel(path, namedCoupled(path, coupled, data)) };
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
