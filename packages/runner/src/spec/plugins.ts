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
    let mod: PluginModule;
    try {
      const resolved = require.resolve(target, { paths: [base] });
      mod = require(resolved) as PluginModule;
      loaded.push(resolved);
    } catch (err) {
      const code = (err as { code?: string }).code;
      const message = code === 'MODULE_NOT_FOUND' ? `cannot find module "${spec}" (looked from ${base})` : `failed to load "${spec}": ${(err as Error).message}`;
      issues.push({ path: at, message, hint: 'Give a path relative to the spec file (e.g. "./my-plugin.ts") or an installed package name' });
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

/**
 * The `plugins` list of a parsed spec, read before validation (the schema depends on what the
 * modules register). Anything but a list is left to the validator to report.
 */
export function pluginList(data: unknown): readonly unknown[] {
  if (data === null || typeof data !== 'object' || !('plugins' in data)) return [];
  const list = (data as { plugins: unknown }).plugins;
  return Array.isArray(list) ? list : [];
}
