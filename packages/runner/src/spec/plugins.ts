/**
 * The registry a run uses: core's standard traffic and metrics, the built-in plugin packages,
 * and any third-party plugin packages or files a spec lists under `plugins`.
 *
 * A third-party module exports either `register(registry)` or a `plugins` array of plugin
 * classes (see examples/custom-plugin).
 */
import * as path from 'node:path';
import { Registry, registerStandardPlugins, SpecError, type PluginClass, type SpecIssue } from '@gfra/core';
import { registerChannels } from '@gfra/plugins-channels';
import { registerDetectors } from '@gfra/plugins-detectors';
import { registerEncoders } from '@gfra/plugins-encoders';

/** A registry holding every built-in plugin. */
export function builtinRegistry(): Registry {
  const registry = new Registry();
  registerStandardPlugins(registry);
  registerChannels(registry);
  registerEncoders(registry);
  registerDetectors(registry);
  return registry;
}

interface PluginModule {
  register?: (registry: Registry) => unknown;
  plugins?: readonly PluginClass[];
}

/**
 * Load the third-party plugin modules named in a spec (paths relative to the spec file, or
 * package names) into `registry`. Problems are reported as spec issues at `plugins[i]`. Returns
 * the resolved module files (for worker threads, which load the same modules).
 */
export function loadPluginModules(registry: Registry, specifiers: readonly unknown[], specFile: string): string[] {
  const issues: SpecIssue[] = [];
  const loaded: string[] = [];
  specifiers.forEach((spec, i) => {
    const at = `plugins[${i}]`;
    if (typeof spec !== 'string') {
      issues.push({ path: at, message: `must be a string (module path or package name), got ${JSON.stringify(spec)}` });
      return;
    }
    const base = path.dirname(path.resolve(specFile));
    const target = spec.startsWith('.') || path.isAbsolute(spec) ? path.resolve(base, spec) : spec;
    let resolved: string;
    try {
      resolved = require.resolve(target, { paths: [base] });
    } catch {
      issues.push({
        path: at,
        message: `cannot find module "${spec}" (looked from ${base})`,
        hint: 'Give a path relative to the spec file (e.g. "./my-plugin.ts") or an installed package name',
      });
      return;
    }
    let mod: PluginModule;
    try {
      useGfraPackagesAsFallback();
      mod = require(resolved) as PluginModule;
      loaded.push(resolved);
    } catch (err) {
      issues.push(loadFailure(at, spec, resolved, err));
      return;
    }
    try {
      if (typeof mod.register === 'function') mod.register(registry);
      else if (Array.isArray(mod.plugins)) registry.registerAll(mod.plugins);
      else {
        issues.push({ path: at, message: `module "${spec}" exports neither register(registry) nor a plugins array` });
      }
    } catch (err) {
      issues.push({ path: at, message: `registering plugins from "${spec}" failed: ${(err as Error).message}` });
    }
  });
  if (issues.length > 0) throw new SpecError(specFile, issues);
  return loaded;
}

/** The issue for a plugin module that resolved but failed to load: a missing import is named as such. */
function loadFailure(at: string, spec: string, file: string, err: unknown): SpecIssue {
  const message = err instanceof Error ? err.message : String(err);
  const missing = (err as { code?: string }).code === 'MODULE_NOT_FOUND' ? /Cannot find module '([^']+)'/.exec(message)?.[1] : undefined;
  if (missing !== undefined) {
    return {
      path: at,
      message: `plugin module "${spec}" needs "${missing}", which is installed neither beside ${file} nor with gfra`,
      hint: `Install "${missing}" in the plugin's folder (npm install ${missing}), or remove the import`,
    };
  }
  const syntax = err instanceof SyntaxError ? ' (a syntax error)' : '';
  return { path: at, message: `failed to load "${spec}"${syntax}: ${message.split('\n')[0]}`, hint: `Run \`gfra test-plugin ${file}\` to see the problem in detail` };
}

let fallbackInstalled = false;

/**
 * Let plugin modules outside this repository (a researcher's file in any folder, with no
 * package.json) import gfra's own packages — `@gfra/*`, `@tensorflow/tfjs`, `@sinclair/typebox`,
 * `tsyringe` — as gfra itself resolves them: a bare import that Node cannot resolve from the
 * plugin's folder is resolved from gfra's. The same module instances are shared, so classes and
 * tokens are the ones the runner uses. Installed once per thread, on the first plugin load.
 */
function useGfraPackagesAsFallback(): void {
  if (fallbackInstalled) return;
  fallbackInstalled = true;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const Module = require('node:module') as { _resolveFilename: (request: string, parent: unknown, ...rest: unknown[]) => string };
  const original = Module._resolveFilename;
  Module._resolveFilename = function (request: string, parent: unknown, ...rest: unknown[]): string {
    try {
      return original.call(this, request, parent, ...rest);
    } catch (err) {
      const bare = !request.startsWith('.') && !path.isAbsolute(request) && !request.startsWith('node:');
      if (!bare || (err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
      try {
        return require.resolve(request, { paths: [__dirname] });
      } catch {
        throw err;
      }
    }
  };
}

/**
 * The `plugins` list of a parsed spec, read before validation (the schema depends on what the
 * modules register). Anything but a list is left to the validator to report.
 */
export function pluginList(data: unknown): readonly unknown[] {
  if (data === null || typeof data !== 'object' || !('plugins' in data)) return [];
  const list = (data as { plugins: unknown }).plugins;
  return Array.isArray(list) ? list : [];
}
