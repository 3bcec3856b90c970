/**
 * `gfra validate` on a spec with TypeScript plugin modules: their type errors, reported against
 * the spec's `plugins[i]` entry, each with the plugin's file:line:column.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SpecError, type SpecIssue } from '@gfra/core';
import { JsonLocator } from '../spec/json-location';
import { typeCheckPlugins } from '../spec/plugin-types';

/**
 * Type-check `modules` (the resolved files of the spec's `plugins`, in order); throws a
 * {@link SpecError} listing every type error.
 */
export function pluginTypeIssues(specFile: string, specifiers: readonly string[], modules: readonly string[]): void {
  const errors = typeCheckPlugins(modules);
  if (errors.length === 0) return;
  const locator = new JsonLocator(fs.readFileSync(specFile, 'utf8'));
  const issues: SpecIssue[] = errors.map((e) => {
    const index = Math.max(0, modules.findIndex((m) => path.resolve(m) === path.resolve(e.file)));
    const at = locator.locate(['plugins', index]);
    return {
      path: `plugins[${index}]`,
      message: `type error in "${specifiers[index] ?? e.file}" at ${path.relative(process.cwd(), e.file) || e.file}:${e.line}:${e.column}: ${e.message}`,
      hint: 'gfra runs plugin files without type-checking them; fix the error (or run `gfra test-plugin FILE`)',
      line: at?.line,
      column: at?.column,
    };
  });
  throw new SpecError(specFile, issues);
}
