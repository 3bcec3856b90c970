/**
 * Translate ajv errors into {@link SpecIssue}s: the JSON path, what was expected (with the value
 * that was found), and a fix ("did you mean ...").
 *
 * Discriminated unions (anyOf branches told apart by a constant property such as `rule`) report
 * only the errors of the branch the value selected; other unions report one line describing
 * what is accepted. The if/then wrappers of plugin slots add no lines of their own.
 */
import type { ErrorObject } from 'ajv';
import { nearest, suggestion, type SpecIssue } from '@gfra/core';
import { formatPath, pointerSegments, type PathSegment } from './json-location';

type Json = Record<string, unknown>;

function show(value: unknown): string {
  const s = JSON.stringify(value);
  if (s === undefined) return String(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** The constant-valued property that tells the branches of a union apart, if there is one. */
function discriminator(branches: Json[]): string | undefined {
  const first = branches[0]?.properties as Json | undefined;
  if (first === undefined) return undefined;
  for (const key of Object.keys(first)) {
    if (branches.every((b) => ((b.properties as Json | undefined)?.[key] as Json | undefined)?.const !== undefined)) return key;
  }
  return undefined;
}

function jsonType(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'array';
  if (typeof x === 'number') return Number.isInteger(x) ? 'integer' : 'number';
  return typeof x;
}

function branchAccepts(branch: Json, value: unknown): boolean {
  const t = branch.type;
  const vt = jsonType(value);
  const ok = (x: unknown) => x === vt || (x === 'number' && vt === 'integer');
  return t === undefined ? false : Array.isArray(t) ? t.some(ok) : ok(t);
}

/** "a number or an object" for a union of types. */
function describeTypes(branches: Json[]): string {
  return [...new Set(branches.map((b) => article(String(b.type ?? 'value'))))].join(' or ');
}

export interface RawIssue {
  segments: PathSegment[];
  message: string;
  hint?: string;
}

export function translateAjvErrors(errors: readonly ErrorObject[]): RawIssue[] {
  const issues: RawIssue[] = [];
  const excluded: string[] = [];
  const isExcluded = (e: ErrorObject) => excluded.some((p) => e.schemaPath.startsWith(p));

  // Resolve unions outermost first, so that branches not taken are dropped with everything inside.
  const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const u of unions) {
    if (isExcluded(u)) continue;
    const schema = u.parentSchema as Json;
    const branches = (schema[u.keyword] as Json[]) ?? [];
    const prefix = `${u.schemaPath}/`;
    const data = u.data as Json | undefined;
    const key = discriminator(branches);
    const tag = key !== undefined && data !== null && typeof data === 'object' ? data[key] : undefined;
    let chosen = key === undefined ? -1 : branches.findIndex((b) => ((b.properties as Json)[key] as Json).const === tag);
    if (key === undefined) {
      // Without a tag, a value that only one branch's type accepts selects that branch.
      const accepting = branches.map((b, i) => (branchAccepts(b, u.data) ? i : -1)).filter((i) => i >= 0);
      if (accepting.length === 1) chosen = accepting[0];
    }
    branches.forEach((_, i) => {
      if (i !== chosen) excluded.push(`${prefix}${i}/`);
    });
    const segments = pointerSegments(u.instancePath);
    if (chosen >= 0) continue;
    if (key !== undefined && data !== null && typeof data === 'object' && !Array.isArray(data)) {
      const allowed = branches.map((b) => String(((b.properties as Json)[key] as Json).const));
      if (tag === undefined) {
        issues.push({ segments: [...segments, key], message: `is required (one of ${allowed.map((a) => `"${a}"`).join(', ')})` });
      } else {
        issues.push({ segments: [...segments, key], message: `must be one of ${allowed.map((a) => `"${a}"`).join(', ')} (got ${show(tag)})`, hint: nearHint(String(tag), allowed) });
      }
    } else if (branches.every((b) => b.const !== undefined)) {
      const allowed = branches.map((b) => b.const);
      issues.push({
        segments,
        message: `must be one of ${allowed.map(show).join(', ')} (got ${show(u.data)})`,
        hint: nearHint(String(u.data), allowed.map(String)) ?? describe(schema),
      });
    } else {
      issues.push({ segments, message: `must be ${describeTypes(branches)} (got ${show(u.data)})`, hint: describe(schema) });
    }
  }

  for (const e of errors) {
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf' || e.keyword === 'if' || isExcluded(e)) continue;
    const issue = translateOne(e);
    if (issue !== undefined) issues.push(issue);
  }
  return dedupe(issues);
}

function describe(schema: Json): string | undefined {
  return typeof schema.description === 'string' ? `Expected: ${schema.description}` : undefined;
}

function nearHint(value: string, valid: string[]): string | undefined {
  const n = nearest(value, valid);
  return n === undefined ? undefined : `Did you mean "${n}"?`;
}

/** Properties a spec could have had once: what replaced them (by the object that held them). */
const RETIRED: Readonly<Record<string, { at: string; hint: string }>> = {
  commonRandomNumbers: {
    at: 'montecarlo',
    hint: 'Draws are now shared by default ("draws": "shared": every candidate sees the same traffic, channel, noise and base pilot draws); remove it, or set "draws": "independent" for a stream per candidate',
  },
};

function translateOne(e: ErrorObject): RawIssue | undefined {
  const segments = pointerSegments(e.instancePath);
  const p = e.params as Json;
  const schema = (e.parentSchema ?? {}) as Json;
  switch (e.keyword) {
    case 'required': {
      const prop = String(p.missingProperty);
      const propSchema = ((schema.properties as Json | undefined)?.[prop] ?? {}) as Json;
      const what = typeof propSchema.description === 'string' ? `: ${propSchema.description}` : '';
      return { segments: [...segments, prop], message: `is required${what}` };
    }
    case 'additionalProperties': {
      const prop = String(p.additionalProperty);
      const retired = RETIRED[prop];
      if (retired !== undefined && segments.join('.') === retired.at) return { segments: [...segments, prop], message: 'is no longer a property', hint: retired.hint };
      const allowed = Object.keys((schema.properties as Json | undefined) ?? {});
      const hint = allowed.length > 0 ? suggestion(prop, allowed).replace('Available:', 'Allowed properties:') : 'No properties are allowed here';
      return { segments: [...segments, prop], message: 'is not a known property', hint };
    }
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String);
      const kind = schema['x-kind'];
      if (typeof kind === 'string') {
        return {
          segments,
          message: `unknown ${kind} plugin ${show(e.data)}`,
          hint: `${suggestion(String(e.data), allowed)}. Run \`gfra list ${kind}\` for details`,
        };
      }
      return { segments, message: `must be one of ${allowed.map((a) => show(a)).join(', ')} (got ${show(e.data)})`, hint: nearHint(String(e.data), allowed) };
    }
    case 'const':
      return { segments, message: `must be ${show(p.allowedValue)} (got ${show(e.data)})` };
    case 'type':
      return { segments, message: `must be ${article(String(p.type))} (got ${show(e.data)})` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { segments, message: `must be ${String(p.comparison)} ${String(p.limit)} (got ${show(e.data)})`, hint: rangeHint(schema) };
    case 'minItems':
      return { segments, message: `must have at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}` };
    case 'maxItems':
      return { segments, message: `must have at most ${String(p.limit)} items` };
    case 'minProperties':
      return { segments, message: `must have at least ${String(p.limit)} entr${p.limit === 1 ? 'y' : 'ies'}` };
    case 'pattern': {
      // Under propertyNames, ajv reports the offending key in `propertyName`.
      const key = (e as ErrorObject & { propertyName?: string }).propertyName;
      return {
        segments: key === undefined ? segments : [...segments, key],
        message: `${show(e.data)} is not a valid name: use letters, digits, ".", "_" and "-", starting with a letter or digit`,
      };
    }
    case 'propertyNames':
      return undefined; // reported by the pattern error on the name itself
    default:
      return { segments, message: e.message ?? `fails ${e.keyword}` };
  }
}

function article(type: string): string {
  const t = type.replace(/,/g, ' or ');
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

/** "Use a value in (0, 1] (what it is)" from the schema's bounds and description. */
function rangeHint(schema: Json): string | undefined {
  const num = (k: string) => (typeof schema[k] === 'number' ? (schema[k] as number) : undefined);
  const lo = num('minimum') ?? num('exclusiveMinimum');
  const hi = num('maximum') ?? num('exclusiveMaximum');
  const open = num('exclusiveMinimum') !== undefined ? '(' : '[';
  const close = num('exclusiveMaximum') !== undefined ? ')' : ']';
  const kind = schema.type === 'integer' ? 'an integer' : 'a value';
  let range: string;
  if (lo !== undefined && hi !== undefined) range = `Use ${kind} in ${open}${lo}, ${hi}${close}`;
  else if (lo !== undefined) range = `Use ${kind} ${open === '(' ? '>' : '>='} ${lo}`;
  else if (hi !== undefined) range = `Use ${kind} ${close === ')' ? '<' : '<='} ${hi}`;
  else return undefined;
  return typeof schema.description === 'string' ? `${range} (${schema.description})` : range;
}

function dedupe(issues: RawIssue[]): RawIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${formatPath(i.segments)}|${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function toSpecIssue(raw: RawIssue, locate?: (s: PathSegment[]) => { line: number; column: number } | undefined): SpecIssue {
  const at = locate?.(raw.segments);
  return { path: formatPath(raw.segments), message: raw.message, hint: raw.hint, line: at?.line, column: at?.column };
}

/** Issues sorted by their position in the file (those without one last, in their order). */
export function inFileOrder(issues: SpecIssue[]): SpecIssue[] {
  const key = (i: SpecIssue) => (i.line ?? Number.MAX_SAFE_INTEGER) * 1e6 + (i.column ?? 0);
  return issues.map((issue, index) => ({ issue, index })).sort((a, b) => key(a.issue) - key(b.issue) || a.index - b.index).map((x) => x.issue);
}

/**
 * Issues collected once each (the same path and message from several sweep points or candidates
 * is reported once), positioned with `locate`.
 */
export function issueCollector(locate?: (s: PathSegment[]) => { line: number; column: number } | undefined): {
  readonly issues: SpecIssue[];
  readonly add: (raw: RawIssue) => void;
} {
  const issues: SpecIssue[] = [];
  const seen = new Set<string>();
  const add = (raw: RawIssue) => {
    const key = `${formatPath(raw.segments)}|${raw.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    issues.push(toSpecIssue(raw, locate));
  };
  return { issues, add };
}
