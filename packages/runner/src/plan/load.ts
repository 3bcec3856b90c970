/**
 * Read a spec file, load the plugin modules it lists, validate it and plan its jobs: the
 * programmatic form of `gfra validate`. Every problem is reported at once, as a SpecError.
 */
import * as fs from 'node:fs';
import { GfraUserError, SpecError, type Registry, type SpecIssue } from '@gfra/core';
import { JsonLocator, type PathSegment } from '../spec/json-location';
import { builtinRegistry, loadPluginModules, pluginList } from '../spec/plugins';
import { SpecValidator, withoutBom, type ValidatedSpec } from '../spec/validate';
import { planJobs, type PlannedJob } from './plan';

/** `plugins[0]` -> ['plugins', 0]. */
function pointerlessSegments(path: string): PathSegment[] {
  return path.split(/\.|\[|\]/).filter((s) => s !== '').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** A spec read, validated and planned. */
export interface LoadedSpec {
  readonly validated: ValidatedSpec;
  readonly registry: Registry;
  /** Every (point, candidate), point-major. */
  readonly jobs: readonly PlannedJob[];
  /** The third-party plugin modules the spec loaded, as absolute paths or package names. */
  readonly pluginModules: readonly string[];
}

/** Read a spec file, load the plugin modules it lists, validate and plan it. Throws user errors. */
export function loadSpec(file: string, registry: Registry = builtinRegistry()): LoadedSpec {
  let text: string;
  try {
    text = withoutBom(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new GfraUserError(code === 'ENOENT' ? `Spec file not found: ${file}` : `Cannot read spec file ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // Reported with its position by the validator below.
  }
  // Plugin modules first (the schema depends on what they register); their problems are
  // reported together with everything the validator finds.
  let pluginIssues: SpecIssue[] = [];
  let pluginModules: string[] = [];
  let locator: JsonLocator | undefined;
  const locate = (segments: PathSegment[]) => (locator ??= new JsonLocator(text)).locate(segments);
  if (data !== undefined) {
    try {
      pluginModules = loadPluginModules(registry, pluginList(data), file);
    } catch (err) {
      if (err instanceof SpecError) pluginIssues = [...err.issues];
      else if (err instanceof GfraUserError) pluginIssues = [{ path: 'plugins', message: err.message.replace(/^plugins: /, '') }];
      else throw err;
      pluginIssues = pluginIssues.map((i) => ({ ...i, ...locate(pointerlessSegments(i.path)) }));
    }
  }
  try {
    const validator = new SpecValidator(registry);
    const validated = validator.validateText(text, file);
    const jobs = planJobs(validated, registry, (spec) => validator.schemaIssues(spec), locate);
    if (pluginIssues.length > 0) throw new SpecError(file, pluginIssues);
    return { validated, registry, jobs, pluginModules };
  } catch (err) {
    if (!(err instanceof SpecError) || pluginIssues.length === 0) throw err;
    const seen = new Set(pluginIssues.map((i) => `${i.path}|${i.message}`));
    throw new SpecError(file, [...pluginIssues, ...err.issues.filter((i) => !seen.has(`${i.path}|${i.message}`))]);
  }
}

/**
 * Validate and plan a spec given as an object (no plugin modules loaded; `file` is used in
 * messages and to resolve relative file paths). Throws SpecError.
 */
export function planObject(data: unknown, file: string, registry: Registry = builtinRegistry()): LoadedSpec {
  const validator = new SpecValidator(registry);
  const validated = validator.validateObject(data, file);
  return { validated, registry, jobs: planJobs(validated, registry, (spec) => validator.schemaIssues(spec)), pluginModules: [] };
}
