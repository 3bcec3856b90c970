/**
 * Sweeps: `{ "scenario.sequenceLength": [10, 20], "channel.params.snrDb": [0, 10] }` expands to
 * the cartesian product of the lists; a key naming several comma-separated paths,
 * `"scenario.numDevices, traffic.params.numActive": [[100, 10], [200, 20]]`, moves those paths
 * together.
 *
 * A list of numbers may be written as a range ({@link SweepRange}): `{ "from": 0, "to": 20,
 * "step": 2 }` (evenly spaced) or `{ "from": 1e-4, "to": 0.1, "perDecade": 3 }` (evenly spaced on a
 * log scale). Validation expands it to the list it stands for ({@link expandRange}), so a range
 * and that list written out are the same spec (same hash, same points, same results).
 *
 * A point sets a parameter of a top-level slot (`traffic.params.x`, `channel.params.x`,
 * `encoder.params.x`) in the candidates' overrides of that slot that run the same plugin too
 * ({@link slotOverrides}); an override with another plugin keeps its own value, and a
 * candidate path swept explicitly keeps the value its own key gives it.
 */
import type { PathSegment } from './json-location';
import type { Spec } from './schema';

/** One sweep key: its paths and its list of values (one tuple per entry when coupled). */
export interface SweepAxis {
  readonly key: string;
  readonly paths: readonly string[];
  readonly values: readonly unknown[];
}

/** One point of the sweep: path -> value, in key order. */
export type Assignment = Readonly<Record<string, unknown>>;

/**
 * A range of numbers in place of a sweep list: `from`, `to` and either `step` (evenly spaced) or
 * `perDecade` (that many values per factor of 10).
 */
export interface SweepRange {
  readonly from: number;
  readonly to: number;
  readonly step?: number;
  readonly perDecade?: number;
}

/** Most values one range may expand to. */
export const MAX_RANGE_POINTS = 10000;

/** Relative tolerance (in steps, or in log-steps) within which `to` counts as on the grid. */
const GRID_TOLERANCE = 1e-9;

/** Whether a sweep entry is a range (an object) rather than a list. */
export function isSweepRange(values: unknown): values is SweepRange {
  return values !== null && typeof values === 'object' && !Array.isArray(values);
}

/** Digits after the decimal point in the shortest text of `x` (`0.25` -> 2, `1e-7` -> 7, `300` -> 0). */
function decimals(x: number): number {
  const [mantissa, exponent] = x.toExponential().split('e');
  return Math.max(0, (mantissa.split('.')[1]?.length ?? 0) - Number(exponent));
}

/** Significant digits of a logarithmic range's values: 4, one more per factor 10 of perDecade above 10. */
function logDigits(perDecade: number): number {
  return 4 + Math.max(0, Math.ceil(Math.log10(perDecade)) - 1);
}

/**
 * The number of values a range gives, or the problem that keeps it from giving any: segments
 * relative to its sweep entry (`[]` for the entry, `['step']` for a field), message and fix.
 */
export function rangeProblem(range: SweepRange): { segments: PathSegment[]; message: string; hint?: string } | undefined {
  const { from, to, step, perDecade } = range;
  if (step !== undefined && perDecade !== undefined) {
    return { segments: [], message: 'gives both "step" and "perDecade"', hint: 'Give "step" for evenly spaced values, or "perDecade" for values evenly spaced on a log scale, not both' };
  }
  if (step === undefined && perDecade === undefined) {
    return {
      segments: [],
      message: 'is a range without "step" or "perDecade"',
      hint: `Give "step" for evenly spaced values, e.g. { "from": ${from}, "to": ${to}, "step": 1 }, or "perDecade" for values evenly spaced on a log scale`,
    };
  }
  let count: number;
  if (step !== undefined) {
    if (step === 0) return { segments: ['step'], message: 'must not be 0', hint: `Give the distance between neighbouring values, e.g. { "from": ${from}, "to": ${to}, "step": 1 }` };
    if (from !== to && Math.sign(to - from) !== Math.sign(step)) {
      const up = to > from;
      return {
        segments: ['step'],
        message: `is ${step} but the range goes ${up ? 'up' : 'down'} from ${from} to ${to}: a ${up ? 'negative' : 'positive'} step never reaches "to"`,
        hint: to > from ? `Use "step": ${-step}` : `Use "step": ${-step} to sweep downwards, or swap "from" and "to" to sweep upwards`,
      };
    }
    count = Math.floor((to - from) / step + GRID_TOLERANCE) + 1;
  } else {
    const pd = perDecade as number;
    if (from <= 0) return { segments: ['from'], message: `must be > 0 in a logarithmic range (perDecade) (got ${from})`, hint: 'Give a positive start, e.g. "from": 1e-4, or use "step" for evenly spaced values' };
    if (to <= 0) return { segments: ['to'], message: `must be > 0 in a logarithmic range (perDecade) (got ${to})`, hint: 'Give a positive end, or use "step" for evenly spaced values' };
    if (from > to) return { segments: [], message: `goes down from ${from} to ${to}; a logarithmic range (perDecade) goes up`, hint: `Swap "from" and "to": { "from": ${to}, "to": ${from}, "perDecade": ${pd} }` };
    count = Math.floor(pd * (Math.log10(to) - Math.log10(from)) + GRID_TOLERANCE) + 1;
  }
  if (count > MAX_RANGE_POINTS) {
    const fix = step !== undefined ? `a larger "step" (at least ${(to - from) / (MAX_RANGE_POINTS - 1)})` : 'a smaller "perDecade"';
    return { segments: [], message: `expands to ${count} values; a range gives at most ${MAX_RANGE_POINTS}`, hint: `Use ${fix}, or a narrower range` };
  }
  return undefined;
}

/**
 * The values of a valid range ({@link rangeProblem} finds none), in order from `from`.
 *
 * `step`: from, from + step, ... up to `to`, which is included when it lies on the grid (within
 * 1e-9 of a step). Each value is the number its decimal text would be, with as many decimals as
 * `from` and `step` have: `{ from: 0, to: 1, step: 0.1 }` gives 0.3, not 0.30000000000000004.
 *
 * `perDecade`: from x 10^(i / perDecade) up to `to` (included within 1e-9 of a log-step), rounded
 * to 4 significant digits (one more per factor 10 of perDecade above 10), so a decade is exact:
 * `{ from: 1e-4, to: 1e-2, perDecade: 2 }` gives 0.0001, 0.0003162, 0.001, 0.003162, 0.01.
 */
export function expandRange(range: SweepRange): number[] {
  const problem = rangeProblem(range);
  if (problem !== undefined) throw new Error(`expandRange: ${problem.message}`);
  const { from, to, step, perDecade } = range;
  if (step === undefined) {
    const pd = perDecade as number;
    const count = Math.floor(pd * (Math.log10(to) - Math.log10(from)) + GRID_TOLERANCE) + 1;
    const digits = logDigits(pd);
    return Array.from({ length: count }, (_, i) => Number((from * 10 ** (i / pd)).toPrecision(digits)));
  }
  const count = Math.floor((to - from) / step + GRID_TOLERANCE) + 1;
  const d = Math.max(decimals(from), decimals(step));
  const scale = 10 ** d;
  const first = Math.round(from * scale);
  const delta = Math.round(step * scale);
  // Integers below 2^53 and a power of ten below 10^23 are exact, so the division rounds once:
  // to the number the decimal text of the value parses to.
  const exact = d <= 22 && Math.abs(first) + (count - 1) * Math.abs(delta) < Number.MAX_SAFE_INTEGER;
  return Array.from({ length: count }, (_, i) => (exact ? (first + i * delta) / scale : Number((from + i * step).toPrecision(15))));
}

/**
 * A sweep entry as a list: a list as it is, a range expanded; on a coupled key of `paths` paths,
 * each value of a range goes to every path (`[v, v, ...]`).
 */
export function sweepValues(values: unknown, paths: number): unknown[] {
  if (Array.isArray(values)) return values;
  if (!isSweepRange(values)) return [];
  const list = expandRange(values);
  return paths > 1 ? list.map((v) => Array.from({ length: paths }, () => v)) : list;
}

export function sweepAxes(sweep: Record<string, unknown> | undefined): SweepAxis[] {
  return Object.entries(sweep ?? {}).map(([key, values]) => {
    const paths = key.split(',').map((p) => p.trim());
    return { key, paths, values: sweepValues(values, paths.length) };
  });
}

/** Split a dotted parameter path; numeric parts index arrays (`metrics.0.params.x`). */
export function pathSegments(path: string): PathSegment[] {
  return path.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** The cartesian product of the axes, in row-major order (last key fastest). */
export function expandSweep(axes: readonly SweepAxis[]): Assignment[] {
  let points: Record<string, unknown>[] = [{}];
  for (const axis of axes) {
    const next: Record<string, unknown>[] = [];
    for (const point of points) {
      for (const value of axis.values) {
        const p = { ...point };
        if (axis.paths.length === 1) p[axis.paths[0]] = value;
        else axis.paths.forEach((path, i) => (p[path] = (value as unknown[])[i]));
        next.push(p);
      }
    }
    points = next;
  }
  return points;
}

/**
 * Path segments that would reach JavaScript's object machinery (the prototype chain) rather than
 * data of the spec: never resolved, whatever the object holds.
 */
export const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** The first segment of a dotted path that is in {@link FORBIDDEN_SEGMENTS}, if any. */
export function forbiddenSegment(path: string): string | undefined {
  return path.split('.').find((s) => FORBIDDEN_SEGMENTS.has(s));
}

/** `node[s]` when `s` is an own property of the object `node` (never inherited), else undefined. */
function ownChild(node: unknown, s: PathSegment): unknown {
  if (node === null || typeof node !== 'object' || FORBIDDEN_SEGMENTS.has(String(s))) return undefined;
  return Object.hasOwn(node, s) ? (node as Record<string | number, unknown>)[s] : undefined;
}

/** Read the value at a dotted path through own properties only, or undefined if any part is missing. */
export function getPath(root: unknown, path: string): unknown {
  let node: unknown = root;
  for (const s of pathSegments(path)) {
    node = ownChild(node, s);
    if (node === undefined) return undefined;
  }
  return node;
}

/** The deepest existing prefix of `path` in `root` (own properties only) and the keys available there. */
export function nearestExisting(root: unknown, path: string): { prefix: string; keys: string[] } {
  let node: unknown = root;
  const done: string[] = [];
  for (const s of path.split('.')) {
    const next = ownChild(node, s);
    if (next === undefined) break;
    node = next;
    done.push(s);
  }
  const keys = node !== null && typeof node === 'object' ? Object.keys(node as object) : [];
  return { prefix: done.join('.'), keys };
}

/**
 * Set the value at a dotted path in place. Every parent must exist as an own property (see
 * {@link getPath}); a path through a missing parent or a {@link FORBIDDEN_SEGMENTS} name throws.
 */
export function setPath(root: unknown, path: string, value: unknown): void {
  setAt(root, pathSegments(path), value, path);
}

/** {@link setPath} by segments (a candidate name may hold dots). */
function setAt(root: unknown, segs: readonly PathSegment[], value: unknown, path: string): void {
  const last = segs[segs.length - 1];
  let parent: unknown = root;
  for (const s of segs.slice(0, -1)) parent = ownChild(parent, s);
  if (parent === null || typeof parent !== 'object' || FORBIDDEN_SEGMENTS.has(String(last))) {
    throw new Error(`setPath: "${path}" is not a path of own properties of the spec`);
  }
  (parent as Record<string | number, unknown>)[last] = value;
}

/** The top-level slots a candidate may override. */
const OVERRIDABLE_SLOTS: ReadonlySet<string> = new Set(['traffic', 'channel', 'encoder']);

/** A candidate's override of the top-level slot a swept path is in. */
export interface SlotOverride {
  readonly candidate: string;
  readonly slot: 'traffic' | 'channel' | 'encoder';
  /** The override's plugin. */
  readonly plugin: string;
  /** The swept path's place in the override, `candidates.<candidate>.<slot>.<rest>`. */
  readonly path: string;
  readonly segments: readonly PathSegment[];
  /**
   * Whether the point sets it too: the path is a parameter (`<slot>.params.<name>...`), the
   * override runs the top-level slot's plugin and holds the parameter's parent object.
   */
  readonly reached: boolean;
  /** Whether the override has a value at the path (a parameter of the same name, for another plugin). */
  readonly has: boolean;
}

/**
 * The candidates' overrides of the top-level slot that `path` is in (`channel.params.snrDb` ->
 * every candidate's own `channel`), with whether a sweep of `path` reaches them; undefined when
 * `path` is not in a top-level traffic, channel or encoder slot. `spec` is the spec at the point
 * (a swept plugin name already substituted).
 */
export function slotOverrides(spec: Spec, path: string): SlotOverride[] | undefined {
  const segs = pathSegments(path);
  const slot = segs[0];
  if (typeof slot !== 'string' || !OVERRIDABLE_SLOTS.has(slot)) return undefined;
  const top = ownChild(spec, slot) as { plugin?: unknown } | undefined;
  const isParam = segs.length >= 3 && segs[1] === 'params';
  const out: SlotOverride[] = [];
  for (const [candidate, c] of Object.entries(spec.candidates ?? {})) {
    const override = ownChild(c, slot) as { plugin?: unknown } | undefined;
    if (override === undefined) continue;
    const rest = segs.slice(1);
    let parent: unknown = override;
    for (const s of rest.slice(0, -1)) parent = ownChild(parent, s);
    const parentOk = parent !== null && typeof parent === 'object' && !Array.isArray(parent);
    out.push({
      candidate,
      slot: slot as SlotOverride['slot'],
      plugin: String(override.plugin),
      path: `candidates.${candidate}.${path}`,
      segments: ['candidates', candidate, ...segs],
      reached: isParam && top !== undefined && override.plugin === top.plugin && parentOk && !FORBIDDEN_SEGMENTS.has(String(segs[segs.length - 1])),
      has: parentOk && ownChild(parent, segs[segs.length - 1]) !== undefined,
    });
  }
  return out;
}

/**
 * The spec with one sweep point substituted: each path of the point, then each top-level slot
 * parameter of the point in the candidates' overrides it reaches ({@link slotOverrides}) that the
 * point does not set explicitly.
 */
export function substitutePoint(spec: Spec, point: Assignment): Spec {
  const out = structuredClone(spec);
  for (const [path, value] of Object.entries(point)) setPath(out, path, structuredClone(value));
  for (const [path, value] of Object.entries(point)) {
    for (const o of slotOverrides(out, path) ?? []) {
      if (o.reached && !Object.hasOwn(point, o.path)) setAt(out, o.segments, structuredClone(value), o.path);
    }
  }
  return out;
}

/**
 * A short label for a point: `sequenceLength=20, snrDb=10`. Coupled keys that set one parameter in
 * several slots (same last segment, same value) appear once.
 */
export function pointLabel(point: Assignment): string {
  const entries = Object.entries(point);
  if (entries.length === 0) return '(single point)';
  const shown = new Set<string>();
  const parts: string[] = [];
  for (const [k, v] of entries) {
    const part = `${k.split('.').pop()}=${JSON.stringify(v)}`;
    if (shown.has(part)) continue;
    shown.add(part);
    parts.push(part);
  }
  return parts.join(', ');
}
