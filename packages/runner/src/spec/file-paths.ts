/**
 * File-path parameters anywhere in a plugin's params: string properties whose schema carries
 * {@link FILE_PATH_KEYWORD}, at the top level or nested in objects, arrays and discriminated
 * unions (the branch whose literal properties match the value, e.g. `{ "source": "file", "path":
 * ... }`).
 */
import { FILE_PATH_KEYWORD } from '@gfra/core';

type Schema = Readonly<Record<string, unknown>>;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The branch of a union whose literal (`const`) properties all match `value`; undefined if none. */
function matchingBranch(branches: readonly Schema[], value: Record<string, unknown>): Schema | undefined {
  return branches.find((b) => {
    const props = (b.properties ?? {}) as Record<string, Schema>;
    return Object.entries(props).every(([k, s]) => !('const' in s) || value[k] === s.const);
  });
}

/**
 * `value` with every file-path string replaced by `map(path)` (a copy where something changed;
 * the same object otherwise).
 */
export function mapFilePaths(schema: Schema, value: unknown, map: (file: string) => string): unknown {
  if (schema[FILE_PATH_KEYWORD] === true && typeof value === 'string') return map(value);
  const union = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (union !== undefined && isPlainObject(value)) {
    const branch = matchingBranch(union, value);
    return branch === undefined ? value : mapFilePaths(branch, value, map);
  }
  if (Array.isArray(value) && isPlainObject(schema.items)) return value.map((v) => mapFilePaths(schema.items as Schema, v, map));
  if (isPlainObject(value) && isPlainObject(schema.properties)) {
    const props = schema.properties as Record<string, Schema>;
    let out: Record<string, unknown> | undefined;
    for (const [key, sub] of Object.entries(props)) {
      if (!(key in value)) continue;
      const mapped = mapFilePaths(sub, value[key], map);
      if (mapped !== value[key]) {
        out ??= { ...value };
        out[key] = mapped;
      }
    }
    return out ?? value;
  }
  return value;
}
