/**
 * Every example spec validates against the schema `gfra schema` writes, read by a standard JSON
 * Schema validator as an editor reads it: ajv as it comes (no defaults filled, no gfra keywords),
 * the draft the schema's `$schema` names. A spec that lists plugin modules is checked against the
 * schema assembled after loading them, as `gfra schema --plugin <module>` writes it and as gfra
 * validates that spec (loadPluginModules into a fresh built-in registry).
 *
 * Files are read as gfra reads a spec: a leading byte order mark dropped, then strict JSON.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import { builtinRegistry, loadPluginModules, pluginList } from './plugins';
import { assembleSpecSchema } from './schema';
import { withoutBom } from './validate';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const EXAMPLES = path.join(ROOT, 'examples');

/** Every `*.json` under `dir`, sorted, skipping node_modules and hidden folders. */
function jsonFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name.startsWith('.') ? [] : jsonFiles(full);
      return entry.isFile() && entry.name.endsWith('.json') ? [full] : [];
    });
}

/** A gfra spec: a JSON object with `candidates` (constellation, Vega-Lite and package files have none). */
function isSpec(data: unknown): data is Record<string, unknown> {
  return data !== null && typeof data === 'object' && !Array.isArray(data) && 'candidates' in data;
}

/** A standard validator for `schema`, of the draft its `$schema` names. */
function standardValidator(schema: Record<string, unknown>): ValidateFunction {
  const options = { strict: false, allErrors: true };
  switch (schema.$schema) {
    case 'http://json-schema.org/draft-07/schema#':
      return new Ajv(options).compile(schema);
    case 'https://json-schema.org/draft/2020-12/schema':
      return new Ajv2020(options).compile(schema);
    default:
      throw new Error(`the emitted schema names an unexpected draft: ${String(schema.$schema)}`);
  }
}

function describeErrors(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 10)
    .map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`)
    .join('\n');
}

const files = jsonFiles(EXAMPLES);
const specs = files
  .map((file) => ({ file, data: JSON.parse(withoutBom(fs.readFileSync(file, 'utf8'))) as unknown }))
  .filter((f): f is { file: string; data: Record<string, unknown> } => isSpec(f.data));

describe('the example specs against the emitted schema (a standard validator, no defaults)', function () {
  this.timeout(30000);
  let builtin: ValidateFunction;

  before(() => {
    builtin = standardValidator(assembleSpecSchema(builtinRegistry()));
  });

  it('finds the example specs, the custom-plugin one among them', () => {
    expect(specs.length).to.be.greaterThan(50);
    const custom = specs.find((s) => s.file === path.join(EXAMPLES, 'custom-plugin', 'spec.json'));
    expect(custom?.data.plugins).to.deep.equal(['./top-k-energy.ts']);
    // The built-in schema alone refuses it: its detector comes from the plugin module.
    expect(builtin(custom?.data)).to.equal(false);
    expect(describeErrors(builtin.errors)).to.match(/\/candidates\/top-k\/detector\/plugin must be equal to one of the allowed values/);
  });

  for (const { file, data } of specs) {
    const name = path.relative(EXAMPLES, file);
    it(`${name} is valid`, () => {
      const plugins = pluginList(data);
      let validate = builtin;
      if (plugins.length > 0) {
        const registry = builtinRegistry();
        loadPluginModules(registry, plugins, file);
        validate = standardValidator(assembleSpecSchema(registry));
      }
      const valid = validate(data);
      expect(valid, `${name}:\n${describeErrors(validate.errors)}`).to.equal(true);
    });
  }

  it('still refuses a spec that leaves out what has no default, or names no plugin it knows', () => {
    const quickstart = specs.find((s) => s.file === path.join(EXAMPLES, 'quickstart.json'));
    expect(quickstart).to.not.equal(undefined);
    const { seed: _seed, ...noSeed } = quickstart?.data ?? {};
    expect(builtin(noSeed)).to.equal(false);
    expect(describeErrors(builtin.errors)).to.match(/must have required property 'seed'/);
    const scenario = { ...(quickstart?.data.scenario as Record<string, unknown>) };
    delete scenario.numDevices;
    expect(builtin({ ...quickstart?.data, scenario })).to.equal(false);
    expect(describeErrors(builtin.errors)).to.match(/\/scenario must have required property 'numDevices'/);
    expect(builtin({ ...quickstart?.data, channel: { plugin: 'raleigh' } })).to.equal(false);
    expect(builtin({ ...quickstart?.data, channel: { plugin: 'rayleigh', params: { snrDb: 'ten' } } })).to.equal(false);
    expect(describeErrors(builtin.errors)).to.match(/\/channel\/params\/snrDb/);
  });
});
