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

/** Read the value at a dotted path, or undefined if any part is missing. */
export function getPath(root: unknown, path: string): unknown {
  let node: unknown = root;
  for (const s of pathSegments(path)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[s];
  }
  return node;
}

/** The deepest existing prefix of `path` in `root` and the keys available there. */
export function nearestExisting(root: unknown, path: string): { prefix: string; keys: string[] } {
  let node: unknown = root;
  const done: string[] = [];
  for (const s of path.split('.')) {
    if (node === null || typeof node !== 'object' || !(s in (node as object))) break;
    node = (node as Record<string, unknown>)[s];
    done.push(s);
  }
  const keys = node !== null && typeof node === 'object' ? Object.keys(node as object) : [];
  return { prefix: done.join('.'), keys };
}

/** Set the value at a dotted path in place (every parent must exist). */
export function setPath(root: unknown, path: string, value: unknown): void {
  const segs = pathSegments(path);
  let node = root as Record<string | number, unknown>;
  for (const s of segs.slice(0, -1)) node = node[s] as Record<string | number, unknown>;
  node[segs[segs.length - 1]] = value;
}

/** A short label for a point: `sequenceLength=20, snrDb=10`. */
export function pointLabel(point: Assignment): string {
  const entries = Object.entries(point);
  if (entries.length === 0) return '(single point)';
  return entries.map(([k, v]) => `${k.split('.').pop()}=${JSON.stringify(v)}`).join(', ');
}
