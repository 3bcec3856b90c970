/**
 * Sweeps: `{ "scenario.sequenceLength": [10, 20], "channel.params.snrDb": [0, 10] }` expands to
 * the cartesian product of the lists; a key naming several comma-separated paths,
 * `"scenario.numDevices, traffic.params.numActive": [[100, 10], [200, 20]]`, moves those paths
 * together.
 */
import type { PathSegment } from './json-location';

/** One sweep key: its paths and its list of values (one tuple per entry when coupled). */
export interface SweepAxis {
  readonly key: string;
  readonly paths: readonly string[];
  readonly values: readonly unknown[];
}

/** One point of the sweep: path -> value, in key order. */
export type Assignment = Readonly<Record<string, unknown>>;

export function sweepAxes(sweep: Record<string, unknown[]> | undefined): SweepAxis[] {
  return Object.entries(sweep ?? {}).map(([key, values]) => ({
    key,
    paths: key.split(',').map((p) => p.trim()),
    values,
  }));
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
  const segs = pathSegments(path);
  const last = segs[segs.length - 1];
  const parent = segs.length === 1 ? root : getPath(root, segs.slice(0, -1).join('.'));
  if (parent === null || typeof parent !== 'object' || FORBIDDEN_SEGMENTS.has(String(last))) {
    throw new Error(`setPath: "${path}" is not a path of own properties of the spec`);
  }
  (parent as Record<string | number, unknown>)[last] = value;
}

/** A short label for a point: `sequenceLength=20, snrDb=10`. */
export function pointLabel(point: Assignment): string {
  const entries = Object.entries(point);
  if (entries.length === 0) return '(single point)';
  return entries.map(([k, v]) => `${k.split('.').pop()}=${JSON.stringify(v)}`).join(', ');
}
