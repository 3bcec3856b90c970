/**
 * Spec validation: nesting depth (before any parser runs), JSON syntax, finite numbers, then ajv
 * against the schema assembled from the registry (all errors at once, defaults filled in), then
 * the sweep (paths and its number of runs, then values: every point is itself a valid spec whose
 * plugin parameters fit float32; see limits.ts). The result holds each sweep point's spec,
 * defaults filled and file paths resolved; the semantic checks that ask plugin descriptors (their
 * own `check`, capabilities, training) belong to the plan (plan/plan.ts).
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import {
  applyDefaults,
  FILE_PATH_KEYWORD,
  nearest,
  SLOTS,
  SpecError,
  TrainSchema,
  UPSTREAM_SLOTS,
  type PluginKind,
  type Registry,
  type SpecIssue,
} from '@gfra/core';
import { mapFilePaths } from './file-paths';
import { canonicalJson } from './canonical';
import { assembleSpecSchema, type SlotConfig, type Spec } from './schema';
import { inFileOrder, issueCollector, translateAjvErrors, toSpecIssue, type RawIssue } from './ajv-issues';
import { duplicateKeys, formatPath, JsonLocator, jsonSyntaxError, type PathSegment } from './json-location';
import { float32Issues, nestingIssue, nestingProblem, nonFiniteIssues, sweepSizeIssue } from './limits';
import {
  expandSweep,
  forbiddenSegment,
  getPath,
  isSweepRange,
  nearestExisting,
  pathSegments,
  rangeProblem,
  slotOverrides,
  substitutePoint,
  sweepAxes,
  sweepValues,
  type Assignment,
  type SweepAxis,
} from './sweep';

export interface ValidatedSpec {
  readonly file: string;
  /** The spec with defaults applied and sweep ranges expanded to lists (sweep values not substituted). */
  readonly spec: Spec;
  /** sha256 of the canonical resolved spec (a sweep range hashed as the list it expands to). */
  readonly hash: string;
  readonly points: readonly Assignment[];
  /** The spec at each point: values substituted, defaults filled, file paths made absolute. */
  readonly pointSpecs: readonly Spec[];
  /**
   * What the spec probably does not mean but may: a swept top-level slot parameter that does not
   * reach a candidate whose override of the slot runs another plugin with a parameter of the same
   * name. Absent when there is none.
   */
  readonly warnings?: readonly SpecIssue[];
}

export { canonicalJson };

const RESERVED_SWEEP_ROOTS = new Set(['$schema', 'sweep', 'plugins', 'name', 'description']);

export class SpecValidator {
  private readonly validateFn: ValidateFunction;
  readonly schema: Record<string, unknown>;

  constructor(readonly registry: Registry) {
    this.schema = assembleSpecSchema(registry);
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, verbose: true, allowUnionTypes: true });
    ajv.addKeyword({ keyword: 'x-kind', schemaType: 'string' });
    ajv.addKeyword({ keyword: FILE_PATH_KEYWORD, schemaType: 'boolean' });
    this.validateFn = ajv.compile(withoutUnionDefaults(this.schema));
  }

  /**
   * Validate `data` in place: plugin parameter defaults first ({@link applyDefaults}, which also
   * fills the defaults inside unions), then ajv (which fills the remaining defaults).
   */
  private check(data: unknown): boolean {
    this.fillPluginDefaults(data);
    return this.validateFn(data);
  }

  /** Apply each plugin's parameter defaults to every slot that names a registered plugin. */
  private fillPluginDefaults(data: unknown): void {
    if (!isObject(data)) return;
    const fill = (slot: unknown, kind: PluginKind) => {
      if (!isObject(slot) || typeof slot.plugin !== 'string') return;
      const cls = this.registry.find(kind, slot.plugin);
      if (cls === undefined) return;
      const params = slot.params === undefined ? {} : slot.params;
      if (isObject(params)) slot.params = applyDefaults(cls.plugin.params, params);
    };
    for (const slot of UPSTREAM_SLOTS) fill(data[slot], slot);
    if (isObject(data.candidates)) {
      for (const c of Object.values(data.candidates)) {
        if (!isObject(c)) continue;
        for (const slot of SLOTS) fill(c[slot], slot);
        if (isObject(c.train)) c.train = applyDefaults(TrainSchema, c.train);
      }
    }
    if (Array.isArray(data.metrics)) for (const m of data.metrics) fill(m, 'metric');
  }

  /**
   * Parse and validate spec text; `file` is used in messages. A leading UTF-8 byte order mark is
   * ignored. Throws {@link SpecError}.
   */
  validateText(input: string, file: string): ValidatedSpec {
    const text = withoutBom(input);
    // Before any parser runs: they recurse, and a deeply nested file would overflow the stack.
    const deep = nestingProblem(text);
    if (deep !== undefined) {
      throw new SpecError(file, [{ path: formatPath(deep.segments), message: deep.message, hint: deep.hint, line: deep.line, column: deep.column }]);
    }
    const syntax = jsonSyntaxError(text);
    if (syntax !== undefined) throw new SpecError(file, [{ path: '', ...syntax }]);
    const duplicates = duplicateKeys(text).map((d) => ({
      path: formatPath(d.segments),
      message: `is defined twice (first on line ${d.firstLine}); JSON keeps only the last one`,
      hint: 'Remove one of the two',
      line: d.line,
      column: d.column,
    }));
    if (duplicates.length > 0) throw new SpecError(file, duplicates);
    const locator = new JsonLocator(text);
    return this.validateObject(JSON.parse(text), file, (s) => locator.locate(s), (s) => locator.literal(s));
  }

  /**
   * Validate a parsed spec. Throws {@link SpecError} listing every problem. `literal` gives a
   * value's text as written in the file (to quote a number that overflowed to Infinity).
   */
  validateObject(
    input: unknown,
    file: string,
    locate?: (segments: PathSegment[]) => { line: number; column: number } | undefined,
    literal?: (segments: PathSegment[]) => string | undefined,
  ): ValidatedSpec {
    const { issues, add } = issueCollector(locate);
    const deep = nestingIssue(input);
    if (deep !== undefined) throw new SpecError(file, [toSpecIssue(deep, locate)]);
    // Infinity (a literal such as 1e309) would reach ajv, and messages, as null.
    const nonFinite = nonFiniteIssues(input, literal);
    nonFinite.forEach(add);
    const data = structuredClone(input);
    if (!this.check(data) || nonFinite.length > 0) {
      const reported = new Set(nonFinite.map((i) => formatPath(i.segments)));
      translateAjvErrors(this.validateFn.errors ?? [])
        .filter((raw) => !reported.has(formatPath(raw.segments)))
        .forEach(add);
      throw new SpecError(file, inFileOrder(issues));
    }
    const spec = data as Spec;

    const warnings = issueCollector(locate);
    const swept = this.sweepPoints(spec, add, warnings.add);
    if (issues.length > 0) throw new SpecError(file, inFileOrder(issues));
    const baseDir = path.dirname(path.resolve(file));
    for (const { spec: pointSpec } of swept) this.resolveFilePaths(pointSpec, baseDir);
    const points = swept.map((p) => p.point);
    const pointSpecs = swept.map((p) => p.spec);
    const hash = specHash(spec);
    return { file, spec, hash, points, pointSpecs, ...(warnings.issues.length > 0 ? { warnings: inFileOrder(warnings.issues) } : {}) };
  }

  /**
   * Make the file-path parameters of every plugin slot (string properties marked with
   * {@link FILE_PATH_KEYWORD} in the plugin's schema) absolute, relative to `baseDir` (the spec's
   * folder), so that checks, construction and worker threads all see the same file.
   */
  private resolveFilePaths(spec: Spec, baseDir: string): void {
    const resolve = (slot: SlotConfig | undefined, kind: PluginKind) => {
      if (slot === undefined) return;
      const schema = this.registry.find(kind, slot.plugin)?.plugin.params;
      if (schema === undefined) return;
      const mapped = mapFilePaths(schema, slot.params, (file) => (path.isAbsolute(file) ? file : path.resolve(baseDir, file))) as Record<string, unknown>;
      if (mapped !== slot.params) Object.assign(slot.params, mapped);
    };
    for (const slot of UPSTREAM_SLOTS) resolve(spec[slot], slot);
    for (const c of Object.values(spec.candidates)) {
      for (const slot of SLOTS) resolve(c[slot], slot);
    }
    for (const m of spec.metrics) resolve(m, 'metric');
  }

  /**
   * Validate a spec object in place (defaults filled); its schema issues, or when there are none
   * the plugin parameters float32 cannot hold. For sweep points and training overrides.
   */
  schemaIssues(spec: Spec): RawIssue[] {
    return this.check(spec) ? float32Issues(spec) : translateAjvErrors(this.validateFn.errors ?? []);
  }

  /**
   * Check the sweep's paths and values; return its points (one empty point without a sweep),
   * each with its spec (values substituted, defaults filled). Ranges are expanded in place
   * (`spec.sweep[key]` becomes the list), so the hash and everything downstream see the list.
   */
  private sweepPoints(spec: Spec, add: (i: RawIssue) => void, warn: (i: RawIssue) => void): { point: Assignment; spec: Spec }[] {
    let ok = true;
    // Ranges first: expanded in the spec when valid, else reported (and the key has no values).
    const rangeKeys = new Set<string>();
    const sweep: Record<string, unknown> = spec.sweep ?? {};
    const lists: Record<string, unknown[]> = {};
    for (const [key, values] of Object.entries(sweep)) {
      const paths = key.split(',').length;
      if (!isSweepRange(values)) lists[key] = values as unknown[];
      else {
        const problem = rangeProblem(values);
        if (problem !== undefined) {
          add({ segments: ['sweep', key, ...problem.segments], message: problem.message, hint: problem.hint });
          ok = false;
          lists[key] = [];
        } else {
          lists[key] = sweepValues(values, paths);
          rangeKeys.add(key);
        }
      }
    }
    if (spec.sweep !== undefined) for (const key of rangeKeys) spec.sweep[key] = lists[key];
    const axes = sweepAxes(lists);
    const sweptBy = new Map<string, string>();
    for (const axis of axes) {
      const at: PathSegment[] = ['sweep', axis.key];
      for (const path of axis.paths) {
        const root = path.split('.')[0];
        const forbidden = forbiddenSegment(path);
        if (forbidden !== undefined) {
          add({
            segments: at,
            message: `cannot sweep "${path}": "${forbidden}" names JavaScript's object machinery, not a key of the spec`,
            hint: 'Sweep paths go through the spec\'s own keys only ("__proto__", "constructor" and "prototype" are refused), e.g. "channel.params.snrDb"',
          });
          ok = false;
          continue;
        }
        const previous = sweptBy.get(path);
        if (previous !== undefined) {
          add({ segments: at, message: `path "${path}" is already swept by "${previous}"`, hint: 'Sweep each path once (put all its values in one list)' });
          ok = false;
          continue;
        }
        sweptBy.set(path, axis.key);
        if (RESERVED_SWEEP_ROOTS.has(root)) {
          add({ segments: at, message: `cannot sweep "${path}"`, hint: 'Sweep scenario sizes, plugin params, seed, candidates or montecarlo settings' });
          ok = false;
        } else if (getPath(spec, path) === undefined) {
          const near = nearestExisting(spec, path);
          const last = path.split('.').slice(near.prefix === '' ? 0 : near.prefix.split('.').length)[0];
          const where = near.prefix === '' ? 'at the top level' : `under "${near.prefix}"`;
          const hint = near.keys.length > 0 ? [suggestionFor(last, near.keys), `Keys ${where}: ${near.keys.join(', ')}.`].filter((h) => h !== '').join(' ') : undefined;
          add({ segments: at, message: `path "${path}" does not exist in the spec ("${last}" not found ${where})`, hint });
          ok = false;
        }
      }
      if (axis.paths.length > 1 && !rangeKeys.has(axis.key)) {
        axis.values.forEach((v, i) => {
          if (!Array.isArray(v) || v.length !== axis.paths.length) {
            add({
              segments: [...at, i],
              message: `must be a list of ${axis.paths.length} values, one per path of "${axis.key}" (got ${JSON.stringify(v)})`,
            });
            ok = false;
          }
        });
      }
    }
    if (!ok) return [];
    // Before expanding: a sweep of millions of points would take minutes to expand and check.
    const tooBig = sweepSizeIssue(axes, Object.keys(spec.candidates).length);
    if (tooBig !== undefined) {
      add(tooBig);
      return [];
    }
    const points = expandSweep(axes).map((point) => ({ point, spec: applyPoint(spec, point) }));
    // A top-level slot path must reach some candidate (at some point): one that does not
    // override the slot, or an override with the same plugin.
    const reaching = new Set<string>();
    for (const { point, spec: at } of points) {
      for (const path of Object.keys(point)) {
        const overrides = slotOverrides(at, path);
        if (overrides === undefined) continue;
        if (overrides.length < Object.keys(at.candidates).length || overrides.some((o) => o.reached)) reaching.add(path);
        else continue;
        const key = sweptBy.get(path) as string;
        for (const o of overrides) {
          if (o.reached || !o.has || Object.hasOwn(point, o.path)) continue;
          warn({
            segments: ['sweep', key],
            message:
              `"${path}" does not reach candidate "${o.candidate}": its own ${o.slot} runs "${o.plugin}", not "${String(getPath(at, `${o.slot}.plugin`))}", ` +
              `so its ${path.split('.').pop()} keeps the value its override gives it`,
            hint:
              `To sweep it too, couple its path with the key: "${[...(axes.find((a) => a.key === key)?.paths ?? [path]), o.path].join(', ')}" ` +
              '(a range gives each value to every path; a list needs one entry per path in each value)',
          });
        }
      }
    }
    for (const [path, key] of sweptBy) {
      const overrides = slotOverrides(spec, path);
      if (overrides === undefined || reaching.has(path)) continue;
      const slot = path.split('.')[0];
      const owners = overrides.map((o) => `"${o.candidate}": "${o.plugin}"`).join(', ');
      const isParam = /^[^.]+\.params\.[^.]/.test(path);
      const same = overrides.filter((o) => o.has);
      add({
        segments: ['sweep', key],
        message:
          `path "${path}" reaches no candidate: every candidate overrides ${slot} (${owners})` +
          (isParam ? `, none with the top-level plugin "${String(getPath(spec, `${slot}.plugin`))}"` : ''),
        hint:
          same.length > 0
            ? `Sweep the candidates' own parameter instead: "${same.map((o) => o.path).join(', ')}"`
            : `Sweep a parameter of the candidates' own ${slot}, or remove "${path}" from the sweep`,
      });
    }
    // Every point must itself be a valid spec: check the substituted values against the schema
    // (and, once it passes, that float32 can hold its plugin parameters). A range's failing
    // values are reported once per parameter: the first, and how many more.
    const rangeIssues = new Map<string, { issue: RawIssue; values: Set<string>; last: unknown }>();
    for (const { point, spec: candidate } of points) {
      // Where each swept value landed: its own paths, and the candidate overrides it reached
      // (`from`: the top-level path whose value it is).
      const landed: { path: string; axis: SweepAxis; from?: string }[] = [];
      for (const axis of axes) {
        for (const p of axis.paths) {
          const own = formatPath(pathSegments(p));
          landed.push({ path: own, axis });
          for (const o of slotOverrides(candidate, p) ?? []) {
            if (o.reached && !Object.hasOwn(point, o.path)) landed.push({ path: formatPath([...o.segments]), axis, from: own });
          }
        }
      }
      const where = (path: string) => landed.find((l) => path === l.path || path.startsWith(`${l.path}.`));
      const found = this.schemaIssues(candidate).map((raw) => ({ raw, path: formatPath(raw.segments), at: where(formatPath(raw.segments)) }));
      // A value set in an override too fails there as at the top level (same plugin): said once.
      const atTop = new Set(found.filter((f) => f.at !== undefined && f.at.from === undefined).map((f) => `${f.path}|${f.raw.message}`));
      for (const { raw, path, at } of found) {
        if (at?.from !== undefined && atTop.has(`${at.from}${path.slice(at.path.length)}|${raw.message}`)) continue;
        const axis = at?.axis;
        if (axis === undefined) add(raw);
        else if (rangeKeys.has(axis.key)) {
          const value = point[axis.paths[0]];
          const id = `${axis.key}|${path}`;
          const seen = rangeIssues.get(id);
          if (seen === undefined) {
            const issue = { segments: ['sweep', axis.key], message: `value ${JSON.stringify(value)} of the range for ${path} ${raw.message}`, hint: raw.hint };
            rangeIssues.set(id, { issue, values: new Set([JSON.stringify(value)]), last: value });
          } else if (!seen.values.has(JSON.stringify(value))) {
            seen.values.add(JSON.stringify(value));
            seen.last = value;
          }
        } else {
          const index = axis.values.findIndex((v) => JSON.stringify(v) === JSON.stringify(axisValue(axis.paths, point)));
          add({ segments: ['sweep', axis.key, Math.max(0, index)], message: `value for ${path} ${raw.message}`, hint: raw.hint });
        }
      }
    }
    for (const { issue, values, last } of rangeIssues.values()) {
      const more = values.size - 1;
      add(more === 0 ? issue : { ...issue, message: `${issue.message} (and so do ${more} more of its values, up to ${JSON.stringify(last)})` });
    }
    return points;
  }
}

function suggestionFor(name: string, keys: string[]): string {
  const near = nearest(name, keys);
  return near !== undefined ? `Did you mean "${near}"?` : '';
}

function axisValue(paths: readonly string[], point: Assignment): unknown {
  return paths.length === 1 ? point[paths[0]] : paths.map((p) => point[p]);
}

/** `text` without a leading UTF-8 byte order mark (which editors on Windows may write). */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * The spec with one sweep point substituted: its paths, and each top-level slot parameter in the
 * candidates' overrides of the slot that run the same plugin (see {@link substitutePoint}).
 */
export function applyPoint(spec: Spec, point: Assignment): Spec {
  return substitutePoint(spec, point);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/**
 * A copy of a schema without `default`s inside anyOf/oneOf branches: ajv ignores them (and its
 * strict mode rejects them); TypeBox applies them before ajv runs.
 */
function withoutUnionDefaults(schema: Record<string, unknown>): Record<string, unknown> {
  const strip = (node: unknown, inUnion: boolean): unknown => {
    if (Array.isArray(node)) return node.map((n) => strip(n, inUnion));
    if (!isObject(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === 'default' && inUnion) continue;
      out[k] = strip(v, inUnion || k === 'anyOf' || k === 'oneOf');
    }
    return out;
  };
  return strip(schema, false) as Record<string, unknown>;
}

/**
 * The spec's identity: sha256 of its canonical JSON without what only presents it (`$schema`,
 * `description`, candidates' `label`), so editing those keeps its stored results.
 */
export function specHash(spec: Spec): string {
  const { $schema: _ignored, description: _d, ...hashed } = spec;
  const candidates = Object.fromEntries(Object.entries(spec.candidates).map(([name, { label: _l, ...rest }]) => [name, rest]));
  return createHash('sha256').update(canonicalJson({ ...hashed, candidates })).digest('hex');
}
