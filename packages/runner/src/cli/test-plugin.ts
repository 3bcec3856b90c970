/**
 * `gfra test-plugin FILE`: run the plugin contract suite of @gfra/core/testing on every plugin a
 * module registers — the checks the built-in plugins pass (descriptor and defaults, a tiny
 * forward pass with the declared shapes, no leaked tensors, determinism, trainability) — after
 * type-checking the file when it is TypeScript.
 */
import * as path from 'node:path';
import { applyDefaults, GfraUserError, Registry, SpecError, type PluginClass, type Scenario } from '@gfra/core';
import { describePluginContract } from '@gfra/core/testing';
import { resolveSlot } from '../plan/descriptors';
import { loadPluginModules } from '../spec/plugins';
import { typeCheckPlugins } from '../spec/plugin-types';

export interface TestPluginOutcome {
  /** Plugins the module registered, `kind:name`. */
  readonly plugins: readonly string[];
  readonly passed: number;
  readonly failed: number;
}

/** Load `file`'s plugins and run the contract suite on them with mocha; `write` receives the report. */
export async function testPluginFile(file: string, write: (text: string) => void): Promise<TestPluginOutcome> {
  const absolute = path.resolve(file);
  const registry = new Registry();
  try {
    loadPluginModules(registry, [absolute], absolute);
  } catch (err) {
    if (err instanceof SpecError) throw new GfraUserError(err.issues.map((i) => i.message + (i.hint === undefined ? '' : `. ${i.hint}`)).join('\n'));
    throw err;
  }
  const typeErrors = typeCheckPlugins([absolute]);
  if (typeErrors.length > 0) {
    throw new GfraUserError(
      [`${file}: ${typeErrors.length} type error${typeErrors.length === 1 ? '' : 's'}`, ...typeErrors.map((e) => `  ${path.relative(process.cwd(), e.file)}:${e.line}:${e.column}: ${e.message}`)].join('\n'),
    );
  }
  const plugins = registry.list();
  if (plugins.length === 0) throw new GfraUserError(`${file} registers no plugin`);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const Mocha = require('mocha') as typeof import('mocha');
  const mocha = new Mocha({ timeout: 120000, reporter: 'spec', color: process.stdout.isTTY === true });
  // The bdd interface (describe / it) for the suite that follows.
  mocha.suite.emit('pre-require', globalThis, absolute, mocha);
  for (const cls of plugins) describePluginContract(cls, { scenario: contractScenario(registry, cls) });
  const failed = await new Promise<number>((resolve) => {
    const runner = mocha.run((failures) => resolve(failures));
    runner.on('end', () => undefined);
  });
  const passed = mocha.suite.total() - failed;
  write(`${plugins.length} plugin${plugins.length === 1 ? '' : 's'}: ${plugins.map((c) => `${c.plugin.kind}:${c.plugin.name}`).join(', ')}`);
  return { plugins: plugins.map((c) => `${c.plugin.kind}:${c.plugin.name}`), passed, failed };
}

/** The contract's tiny scenarios: with one bit per device, then with one sequence per device. */
const SCENARIOS: readonly Scenario[] = [
  { numDevices: 6, numAntennas: 2, sequenceLength: 4, bitsPerDevice: 1 },
  { numDevices: 6, numAntennas: 2, sequenceLength: 4, bitsPerDevice: 0 },
];

/** The first tiny scenario the plugin's own `check` accepts with its default params. */
function contractScenario(registry: Registry, cls: PluginClass): Scenario {
  const { kind, name } = cls.plugin;
  const config = { plugin: name, params: applyDefaults(cls.plugin.params, {}) as Record<string, unknown> };
  return SCENARIOS.find((scenario) => resolveSlot(registry, kind, config, scenario, kind).problems.length === 0) ?? SCENARIOS[0];
}
