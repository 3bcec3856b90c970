/**
 * Fill `default`s of a JSON Schema into a value, including inside discriminated unions.
 *
 * ajv's `useDefaults` skips anyOf/oneOf branches, and TypeBox's Value.Default may apply a
 * branch that the value does not select, so gfra applies parameter defaults itself:
 * - a missing value takes the schema's `default` (then its own nested defaults);
 * - objects get defaults for each declared property;
 * - in a union, the branch is the one whose constant-valued property (e.g. `rule`) matches the
 *   value, else the first branch whose JSON type matches the value;
 * - arrays apply `items` to each element.
 * The input is not modified; values that do not fit the schema are left for the validator.
 */
type Json = Record<string, unknown>;

function isObject(x: unknown): x is Json {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

function jsonType(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'array';
  if (typeof x === 'number') return Number.isInteger(x) ? 'integer' : 'number';
  return typeof x;
}

function typeMatches(schema: Json, value: unknown): boolean {
  const t = schema.type;
  const vt = jsonType(value);
  const ok = (s: unknown) => s === vt || (s === 'number' && vt === 'integer');
  if (t === undefined) return schema.const === undefined || schema.const === value;
  return Array.isArray(t) ? t.some(ok) : ok(t);
}

function chooseBranch(branches: Json[], value: unknown): Json | undefined {
  if (isObject(value)) {
    for (const b of branches) {
      const props = b.properties;
      if (!isObject(props)) continue;
      const tags = Object.entries(props).filter(([, s]) => isObject(s) && s.const !== undefined);
      if (tags.length > 0 && tags.every(([k, s]) => (s as Json).const === value[k])) return b;
    }
  }
  return branches.find((b) => typeMatches(b, value));
}

export function applyDefaults(schema: unknown, value: unknown): unknown {
  if (!isObject(schema)) return value;
  let v = value;
  if (v === undefined && schema.default !== undefined) v = structuredClone(schema.default);
  if (v === undefined) return undefined;
  const union = (schema.anyOf ?? schema.oneOf) as Json[] | undefined;
  if (Array.isArray(union)) {
    const branch = chooseBranch(union, v);
    return branch === undefined ? v : applyDefaults(branch, v);
  }
  if (isObject(v) && isObject(schema.properties)) {
    const out: Json = { ...v };
    for (const [k, s] of Object.entries(schema.properties)) {
      const filled = applyDefaults(s, out[k]);
      if (filled !== undefined) out[k] = filled;
    }
    return out;
  }
  if (Array.isArray(v) && isObject(schema.items)) return v.map((x) => applyDefaults(schema.items, x));
  return v;
}
