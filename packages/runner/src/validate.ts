/**
 * Spec validation: JSON syntax, then ajv against the schema assembled from the registry (all
 * errors at once, defaults filled in), then semantic checks — sweep paths and values, each
 * plugin's own `check`, and capabilities (what a detector needs from traffic, encoder and
 * channel; what a metric needs from the detector) for every sweep point and candidate.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import {
  applyDefaults,
  FILE_PATH_KEYWORD,
  nearest,
  SpecError,
  TrainSchema,
  type Capability,
  type PluginKind,
  type Registry,
  type Scenario,
  type SpecIssue,
} from '@gfra/core';
import { assembleSpecSchema, SLOT_KINDS, type MonteCarlo, type Slot, type SlotConfig, type Spec } from './spec-schema';
import { translateAjvErrors, toSpecIssue, type RawIssue } from './ajv-issues';
import { duplicateKeys, formatPath, JsonLocator, jsonSyntaxError, type PathSegment } from './json-location';
import { expandSweep, getPath, nearestExisting, pathSegments, pointLabel, setPath, sweepAxes, type Assignment } from './sweep';
import { checkTrain, type TrainingSetup } from './train-checks';

/** Everything one (sweep point, candidate) run needs. */
export interface JobConfig {
  readonly scenario: Scenario;
  readonly traffic: SlotConfig;
  readonly channel: SlotConfig;
  readonly encoder: SlotConfig;
  readonly detector: SlotConfig;
  readonly metrics: readonly SlotConfig[];
  readonly montecarlo: MonteCarlo;
  /** Spec path of each slot's configuration, for messages. */
  readonly paths: Readonly<Record<Slot, string>>;
  /** The candidate's training, when it has a `train` block (resolved, see train-checks.ts). */
  readonly training?: TrainingSetup;
  /** The candidate's thresholding module (trials resolved), when it has a `threshold` block. */
  readonly threshold?: { readonly trials: number; readonly batchSize: number };
}

export interface Job {
  readonly pointIndex: number;
  readonly point: Assignment;
  readonly candidate: string;
  readonly config: JobConfig;
}

export interface ValidatedSpec {
  readonly file: string;
  /** The spec with defaults applied (sweep values not substituted). */
  readonly spec: Spec;
  /** sha256 of the canonical resolved spec. */
  readonly hash: string;
  readonly points: readonly Assignment[];
  /** Every (point, candidate), point-major. */
  readonly jobs: readonly Job[];
}

/** JSON with object keys sorted: a canonical text for hashing. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

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
    for (const slot of ['traffic', 'channel', 'encoder'] as const) fill(data[slot], slot);
    if (isObject(data.candidates)) {
      for (const c of Object.values(data.candidates)) {
        if (!isObject(c)) continue;
        for (const slot of ['traffic', 'channel', 'encoder', 'detector'] as const) fill(c[slot], slot);
        if (isObject(c.train)) c.train = applyDefaults(TrainSchema, c.train);
      }
    }
    if (Array.isArray(data.metrics)) for (const m of data.metrics) fill(m, 'metric');
  }

  /** Parse and validate spec text; `file` is used in messages. Throws {@link SpecError}. */
  validateText(text: string, file: string): ValidatedSpec {
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
    return this.validateObject(JSON.parse(text), file, (s) => locator.locate(s));
  }

  /** Validate a parsed spec. Throws {@link SpecError} listing every problem. */
  validateObject(
    input: unknown,
    file: string,
    locate?: (segments: PathSegment[]) => { line: number; column: number } | undefined,
  ): ValidatedSpec {
    const issues: SpecIssue[] = [];
    const add = (raw: RawIssue) => issues.push(toSpecIssue(raw, locate));
    const data = structuredClone(input);
    if (!this.check(data)) {
      translateAjvErrors(this.validateFn.errors ?? []).forEach(add);
      throw new SpecError(file, inFileOrder(issues));
    }
    const spec = data as Spec;

    const points = this.sweepPoints(spec, add);
    const jobs: Job[] = [];
    if (issues.length === 0) {
      const seen = new Set<string>();
      const addOnce = (raw: RawIssue) => {
        const key = `${formatPath(raw.segments)}|${raw.message}`;
        if (!seen.has(key)) {
          seen.add(key);
          add(raw);
        }
      };
      points.forEach((point, pointIndex) => {
        const pointSpec = applyPoint(spec, point);
        this.check(pointSpec);
        this.resolveFilePaths(pointSpec, path.dirname(path.resolve(file)));
        const where = Object.keys(point).length > 0 ? ` (at sweep point ${pointLabel(point)})` : '';
        this.checkMetrics(pointSpec, addOnce);
        for (const candidate of Object.keys(pointSpec.candidates)) {
          const config = jobConfig(pointSpec, candidate);
          this.checkJob(config, candidate, where, addOnce);
          const training = pointSpec.candidates[candidate].train === undefined ? undefined : this.checkTraining(pointSpec, candidate, config, where, addOnce);
          jobs.push({ pointIndex, point, candidate, config: training === undefined ? config : { ...config, training } });
        }
      });
    }
    if (issues.length > 0) throw new SpecError(file, inFileOrder(issues));
    const { $schema: _ignored, description: _d, ...hashed } = spec;
    const hash = createHash('sha256').update(canonicalJson(hashed)).digest('hex');
    return { file, spec, hash, points, jobs };
  }

  /**
   * Make the file-path parameters of every plugin slot (string properties marked with
   * {@link FILE_PATH_KEYWORD} in the plugin's schema) absolute, relative to `baseDir` (the spec's
   * folder), so that checks, construction and worker threads all see the same file.
   */
  private resolveFilePaths(spec: Spec, baseDir: string): void {
    const resolve = (slot: SlotConfig | undefined, kind: PluginKind) => {
      if (slot === undefined) return;
      const props = (this.registry.find(kind, slot.plugin)?.plugin.params.properties ?? {}) as Record<string, Record<string, unknown>>;
      for (const [key, schema] of Object.entries(props)) {
        const value = slot.params[key];
        if (schema[FILE_PATH_KEYWORD] === true && typeof value === 'string' && !path.isAbsolute(value)) {
          slot.params[key] = path.resolve(baseDir, value);
        }
      }
    };
    for (const slot of ['traffic', 'channel', 'encoder'] as const) resolve(spec[slot], slot);
    for (const c of Object.values(spec.candidates)) {
      for (const slot of ['traffic', 'channel', 'encoder', 'detector'] as const) resolve(c[slot], slot);
    }
    for (const m of spec.metrics) resolve(m, 'metric');
  }

  /** Check a candidate's `train` block (train-checks.ts); the resolved training setup when valid. */
  private checkTraining(spec: Spec, candidate: string, config: JobConfig, where: string, add: (i: RawIssue) => void): TrainingSetup | undefined {
    const validate = (s: Spec) => (this.check(s) ? [] : translateAjvErrors(this.validateFn.errors ?? []));
    const { issues, setup } = checkTrain({ registry: this.registry, spec, candidate, slots: config, where, validate });
    issues.forEach(add);
    return setup;
  }

  /** Check the sweep's paths and values; return its points (one empty point without a sweep). */
  private sweepPoints(spec: Spec, add: (i: RawIssue) => void): Assignment[] {
    const axes = sweepAxes(spec.sweep);
    let ok = true;
    const sweptBy = new Map<string, string>();
    for (const axis of axes) {
      const at: PathSegment[] = ['sweep', axis.key];
      for (const path of axis.paths) {
        const root = path.split('.')[0];
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
      if (axis.paths.length > 1) {
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
    const points = expandSweep(axes);
    // Every point must itself be a valid spec: check the substituted values against the schema.
    for (const point of points) {
      const candidate = applyPoint(spec, point);
      if (this.check(candidate)) continue;
      for (const raw of translateAjvErrors(this.validateFn.errors ?? [])) {
        const path = formatPath(raw.segments);
        const axis = axes.find((a) => a.paths.some((p) => path === formatPath(pathSegments(p)) || path.startsWith(`${formatPath(pathSegments(p))}.`)));
        if (axis === undefined) add(raw);
        else {
          const index = axis.values.findIndex((v) => JSON.stringify(v) === JSON.stringify(axisValue(axis.paths, point)));
          add({ segments: ['sweep', axis.key, Math.max(0, index)], message: `value for ${path} ${raw.message}`, hint: raw.hint });
        }
      }
    }
    return points;
  }

  private checkMetrics(spec: Spec, add: (i: RawIssue) => void): void {
    const owners = new Map<string, number>();
    spec.metrics.forEach((m, i) => {
      const info = this.registry.get('metric', m.plugin).plugin;
      const clashes = new Map<number, string[]>();
      for (const { name } of info.statistics?.(m.params, spec.scenario) ?? []) {
        const prev = owners.get(name);
        if (prev !== undefined) clashes.set(prev, [...(clashes.get(prev) ?? []), name]);
        else owners.set(name, i);
      }
      for (const [prev, names] of clashes) {
        add({ segments: ['metrics', i], message: `produces ${names.map((n) => `"${n}"`).join(', ')}, already produced by metrics[${prev}]`, hint: 'List each metric once' });
      }
    });
  }

  private checkJob(config: JobConfig, candidate: string, where: string, add: (i: RawIssue) => void): void {
    const slots: Slot[] = ['traffic', 'encoder', 'channel', 'detector'];
    const provided = new Map<Slot, readonly Capability[]>();
    for (const slot of slots) {
      const slotConfig = config[slot];
      const info = this.registry.get(SLOT_KINDS[slot] as PluginKind, slotConfig.plugin).plugin;
      const at = [...pathSegments(config.paths[slot]), 'params'];
      for (const problem of info.check?.(slotConfig.params, config.scenario) ?? []) {
        add({ segments: [...at, ...(problem.path === '' ? [] : pathSegments(problem.path))], message: `${problem.message}${where}`, hint: problem.hint });
      }
      provided.set(slot, info.provides?.(slotConfig.params, config.scenario) ?? []);
    }
    const detectorInfo = this.registry.get('detector', config.detector.plugin).plugin;
    const upstream: Slot[] = ['traffic', 'encoder', 'channel'];
    const available = new Set(upstream.flatMap((s) => provided.get(s) ?? []));
    const needs = detectorInfo.requires?.(config.detector.params, config.scenario) ?? [];
    const missing = needs.filter((n) => !available.has(n));
    if (missing.length > 0) {
      const have = upstream
        .map((s) => {
          const where = config.paths[s] === s ? '' : ` (${config.paths[s]})`;
          return `${s} "${config[s].plugin}"${where}: ${(provided.get(s) ?? []).join(', ') || 'nothing'}`;
        })
        .join('; ');
      add({
        segments: pathSegments(config.paths.detector),
        message: `candidate "${candidate}": detector "${config.detector.plugin}" needs ${missing.join(', ')}, which nothing upstream provides (${have})${where}`,
        hint: `Configure the traffic, encoder or channel to provide it (${this.providersOf(missing)}), or give "${config.detector.plugin}" parameters that do not need it`,
      });
    }
    const estimate = new Set(provided.get('detector') ?? []);
    if (config.threshold !== undefined) {
      if (!estimate.has('activityScore')) {
        add({
          segments: [...pathSegments(config.paths.detector).slice(0, -1), 'threshold'],
          message: `candidate "${candidate}": the threshold block needs an activityScore from the detector, but "${config.detector.plugin}" provides only ${[...estimate].join(', ') || 'nothing'}${where}`,
          hint: 'Remove the threshold block or use a detector that outputs a soft activity score',
        });
      }
      estimate.add('activity');
    }
    config.metrics.forEach((m, i) => {
      const info = this.registry.get('metric', m.plugin).plugin;
      for (const problem of info.check?.(m.params, config.scenario) ?? []) {
        add({ segments: ['metrics', i, 'params', ...(problem.path === '' ? [] : pathSegments(problem.path))], message: `${problem.message}${where}`, hint: problem.hint });
      }
      const lacking = (info.requires?.(m.params, config.scenario) ?? []).filter((n) => !estimate.has(n));
      if (lacking.length > 0) {
        add({
          segments: ['metrics', i],
          message: `metric "${m.plugin}" needs ${lacking.join(', ')} from the detector, but candidate "${candidate}"'s detector "${config.detector.plugin}" provides only ${[...estimate].join(', ') || 'nothing'}${where}`,
          hint: 'Remove the metric or use a detector that estimates it',
        });
      }
    });
  }

  /** "channel rayleigh provides largeScaleFading" hints, from each plugin's default params. */
  private providersOf(missing: readonly Capability[]): string {
    const lines: string[] = [];
    for (const kind of ['traffic', 'encoder', 'channel'] as const) {
      for (const cls of this.registry.list(kind)) {
        const defaults = defaultParams(cls.plugin.params);
        let provides: readonly Capability[] = [];
        try {
          provides = cls.plugin.provides?.(defaults, { numDevices: 1, numAntennas: 1, sequenceLength: 1, bitsPerDevice: 0 }) ?? [];
        } catch {
          provides = [];
        }
        const hits = missing.filter((m) => provides.includes(m));
        if (hits.length > 0) lines.push(`${kind} "${cls.plugin.name}" provides ${hits.join(', ')} with default parameters`);
      }
    }
    return lines.length > 0 ? lines.join('; ') : 'no registered plugin provides it';
  }
}

function suggestionFor(name: string, keys: string[]): string {
  const near = nearest(name, keys);
  return near !== undefined ? `Did you mean "${near}"?` : '';
}

function axisValue(paths: readonly string[], point: Assignment): unknown {
  return paths.length === 1 ? point[paths[0]] : paths.map((p) => point[p]);
}

/** The spec with one sweep point substituted. */
export function applyPoint(spec: Spec, point: Assignment): Spec {
  const out = structuredClone(spec);
  for (const [path, value] of Object.entries(point)) setPath(out, path, structuredClone(value));
  return out;
}

/** The resolved configuration of one candidate: its overrides on top of the spec's slots. */
export function jobConfig(spec: Spec, candidate: string): JobConfig {
  const c = spec.candidates[candidate];
  const pick = (slot: 'traffic' | 'channel' | 'encoder') =>
    c[slot] !== undefined
      ? { config: c[slot] as SlotConfig, path: `candidates.${candidate}.${slot}` }
      : { config: spec[slot], path: slot };
  const traffic = pick('traffic');
  const channel = pick('channel');
  const encoder = pick('encoder');
  return {
    scenario: spec.scenario,
    traffic: traffic.config,
    channel: channel.config,
    encoder: encoder.config,
    detector: c.detector,
    metrics: spec.metrics,
    montecarlo: spec.montecarlo,
    ...(c.threshold === undefined
      ? {}
      : { threshold: { trials: c.threshold.trials ?? c.train?.trainingSetSize ?? 2000, batchSize: c.threshold.batchSize ?? spec.montecarlo.batchSize } }),
    paths: { traffic: traffic.path, channel: channel.path, encoder: encoder.path, detector: `candidates.${candidate}.detector` },
  };
}

/** Defaults of a TypeBox object schema (top-level `default`s only). */
export function defaultParams(schema: { properties?: Record<string, { default?: unknown }> }): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(schema.properties ?? {})
      .filter(([, s]) => s.default !== undefined)
      .map(([k, s]) => [k, structuredClone(s.default)]),
  );
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

/** Issues sorted by their position in the file (those without one last, in their order). */
function inFileOrder(issues: SpecIssue[]): SpecIssue[] {
  const key = (i: SpecIssue) => (i.line ?? Number.MAX_SAFE_INTEGER) * 1e6 + (i.column ?? 0);
  return issues.map((issue, index) => ({ issue, index })).sort((a, b) => key(a.issue) - key(b.issue) || a.index - b.index).map((x) => x.issue);
}
