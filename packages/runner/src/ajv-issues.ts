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

function describeUnion(schema: Json): string {
  if (typeof schema.description === 'string') return schema.description;
  const branches = (schema.anyOf ?? schema.oneOf ?? []) as Json[];
  return branches.map((b) => (b.const !== undefined ? show(b.const) : String(b.type ?? 'value'))).join(' or ');
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
    const chosen = key === undefined ? -1 : branches.findIndex((b) => ((b.properties as Json)[key] as Json).const === tag);
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
    } else {
      issues.push({ segments, message: `must be ${describeUnion(schema)} (got ${show(u.data)})` });
    }
  }

  for (const e of errors) {
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf' || e.keyword === 'if' || isExcluded(e)) continue;
    const issue = translateOne(e);
    if (issue !== undefined) issues.push(issue);
  }
  return dedupe(issues);
}

function nearHint(value: string, valid: string[]): string | undefined {
  const n = nearest(value, valid);
  return n === undefined ? undefined : `Did you mean "${n}"?`;
}

function translateOne(e: ErrorObject): RawIssue | undefined {
  const segments = pointerSegments(e.instancePath);
  const p = e.params as Json;
  const schema = (e.parentSchema ?? {}) as Json;
  switch (e.keyword) {
    case 'required': {
      const prop = String(p.missingProperty);
      const propSchema = ((schema.properties as Json | undefined)?.[prop] ?? {}) as Json;
      const what = typeof propSchema.description === 'string' ? ` (${propSchema.description})` : '';
      return { segments: [...segments, prop], message: `is required${what}` };
    }
    case 'additionalProperties': {
      const prop = String(p.additionalProperty);
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
    case 'pattern':
      return { segments, message: `${show(e.data)} is not a valid name: use letters, digits, ".", "_" and "-", starting with a letter or digit` };
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

function rangeHint(schema: Json): string | undefined {
  return typeof schema.description === 'string' ? `This is ${schema.description}` : undefined;
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
