import { expect } from 'chai';
import { Type } from '@sinclair/typebox';
import { injectable } from 'tsyringe';
import { definePlugin, type Detector, type Estimate } from '@gfra/core';
import { builtinRegistry } from './plugins';
import { assembleSpecSchema, defaultsNotRequired } from './schema';
import { SpecValidator } from './validate';
import { tinySpec } from '../testing';

@injectable()
class NullDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'null-detector',
    summary: 'Declares nobody active (a test plugin)',
    params: Type.Object({ level: Type.Number({ minimum: 0, default: 1 }) }, { additionalProperties: false }),
    provides: () => ['activity'],
  });
  detect(): Estimate {
    return {};
  }
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * `where: name` for every property that has a `default` and is listed in `required`, anywhere in
 * `schema` (walked as plain JSON, not through the implementation's keyword tables).
 */
function defaultedRequired(schema: unknown, where = '#', propertyMap = false): string[] {
  if (Array.isArray(schema)) return schema.flatMap((s, i) => defaultedRequired(s, `${where}/${i}`));
  if (schema === null || typeof schema !== 'object') return [];
  const node = schema as Json;
  const found: string[] = [];
  if (!propertyMap && Array.isArray(node.required) && node.properties !== null && typeof node.properties === 'object') {
    for (const name of node.required) if (node.properties[name] !== undefined && 'default' in node.properties[name]) found.push(`${where}: ${name}`);
  }
  for (const [key, value] of Object.entries(node)) {
    // Under `properties` every key names a property (even one called "default"); elsewhere
    // default, const and enum hold data, not schemas.
    if (propertyMap || !['default', 'const', 'enum'].includes(key)) found.push(...defaultedRequired(value, `${where}/${key}`, !propertyMap && key === 'properties'));
  }
  return found;
}

describe('spec schema assembly', () => {
  it('lists the registered plugins of each kind and checks each one\'s params in an if/then branch', () => {
    const registry = builtinRegistry();
    const schema = assembleSpecSchema(registry) as Json;
    const channel = schema.properties.channel;
    expect(channel.properties.plugin.enum).to.deep.equal(registry.names('channel'));
    const branch = channel.allOf.find((b: Json) => b.if.properties.plugin.const === 'rayleigh');
    expect(Object.keys(branch.then.properties.params.properties)).to.include('snrDb');
    expect(schema.properties.candidates.additionalProperties.properties.detector.properties.plugin.enum).to.include('correlation-energy');
    expect(schema.properties.metrics.items.properties.plugin.enum).to.include.members(['activity', 'ser']);
  });

  it('a plugin registered later appears in the schema and its params are validated', () => {
    const registry = builtinRegistry().register(NullDetector);
    const schema = assembleSpecSchema(registry) as Json;
    expect(schema.properties.candidates.additionalProperties.properties.detector.properties.plugin.enum).to.include('null-detector');
    const validator = new SpecValidator(registry);
    const ok = validator.validateObject(tinySpec({ candidates: { n: { detector: { plugin: 'null-detector' } } } }), 't.json');
    expect(ok.spec.candidates.n.detector.params).to.deep.equal({ level: 1 });
    expect(() =>
      validator.validateObject(tinySpec({ candidates: { n: { detector: { plugin: 'null-detector', params: { level: -1 } } } } }), 't.json'),
    ).to.throw(/candidates\.n\.detector\.params\.level: must be >= 0 \(got -1\)/);
  });

  it('lists no property that has a default in any `required` (editors and standard validators fill no defaults)', () => {
    const registry = builtinRegistry();
    const schema = assembleSpecSchema(registry) as Json;
    expect(defaultedRequired(schema)).to.deep.equal([]);
    // What is still required without a default stays required, at every level.
    expect(schema.required).to.deep.equal(['name', 'seed', 'scenario', 'traffic', 'channel', 'encoder', 'candidates', 'metrics']);
    expect(schema.properties.scenario.required).to.deep.equal(['numDevices', 'sequenceLength']);
    expect(schema.properties.montecarlo.required).to.equal(undefined);
    const candidate = schema.properties.candidates.additionalProperties;
    expect(candidate.required).to.deep.equal(['detector']);
    const adam = candidate.properties.train.properties.optimizer.anyOf.find((b: Json) => b.properties.type.const === 'adam');
    expect(adam.required).to.deep.equal(['type']);
    const energy = candidate.properties.detector.allOf.find((b: Json) => b.if.properties.plugin.const === 'correlation-energy');
    const falseAlarm = energy.then.properties.params.properties.threshold.anyOf.find((b: Json) => b.properties.rule.const === 'false-alarm');
    expect(falseAlarm.required).to.deep.equal(['rule']);
    const fixed = energy.then.properties.params.properties.threshold.anyOf.find((b: Json) => b.properties.rule.const === 'fixed');
    expect(fixed.required).to.deep.equal(['rule', 'value']);
    // The registry's own TypeBox schemas are left as they are.
    expect(defaultedRequired(JSON.parse(JSON.stringify(registry.find('detector', 'correlation-energy')?.plugin.params)))).to.not.deep.equal([]);
  });

  it('defaultsNotRequired drops defaulted names from `required` at every depth, and leaves data alone', () => {
    const input = {
      type: 'object',
      required: ['a', 'b'],
      properties: {
        a: { type: 'number', default: 1 },
        b: { type: 'number' },
        default: { type: 'object', required: ['x'], properties: { x: { default: 0 } } },
        list: { type: 'array', items: { type: 'object', required: ['y'], properties: { y: { default: 'y' } } } },
        union: { anyOf: [{ type: 'object', required: ['tag', 'z'], properties: { tag: { const: 't' }, z: { default: 2 } } }] },
      },
      additionalProperties: { type: 'object', required: ['w'], properties: { w: { default: false } } },
      allOf: [{ if: { required: ['a'] }, then: { required: ['v'], properties: { v: { default: null } } } }],
      default: { required: ['k'], properties: { k: { default: 1 } } },
    };
    const before = JSON.stringify(input);
    const out = defaultsNotRequired(input) as Json;
    expect(JSON.stringify(input), 'the input is not modified').to.equal(before);
    expect(out.required).to.deep.equal(['b']);
    expect(out.properties.default).to.not.have.property('required');
    expect(out.properties.list.items).to.not.have.property('required');
    expect(out.properties.union.anyOf[0].required).to.deep.equal(['tag']);
    expect(out.additionalProperties).to.not.have.property('required');
    expect(out.allOf[0].if.required).to.deep.equal(['a']);
    expect(out.allOf[0].then).to.not.have.property('required');
    expect(out.default).to.deep.equal(input.default);
    expect(defaultedRequired(out)).to.deep.equal([]);
    expect(defaultedRequired(input)).to.have.length(6);
  });

  it('gfra still fills every default: montecarlo, plugin parameters, and inside unions (train.optimizer)', () => {
    const validator = new SpecValidator(builtinRegistry());
    const spec = tinySpec({
      scenario: { numDevices: 20, sequenceLength: 8 },
      montecarlo: {},
      candidates: {
        energy: {
          detector: { plugin: 'correlation-energy', params: { threshold: { rule: 'false-alarm' } } },
          train: { optimizer: { type: 'sgd' } },
        },
      },
    });
    const { spec: filled } = validator.validateObject(spec, 't.json');
    expect(filled.montecarlo).to.deep.equal({
      batchSize: 256,
      targetEvents: 100,
      maxTrials: 100000,
      maxSeconds: 600,
      confidence: 0.95,
      draws: 'shared',
      repetitions: 1,
    });
    expect(filled.candidates.energy.detector.params.threshold).to.deep.equal({ rule: 'false-alarm', falseAlarm: 0.01 });
    expect(filled.candidates.energy.train?.optimizer).to.deep.equal({ type: 'sgd', learningRate: 0.01, momentum: 0, nesterov: false });
    expect(filled.scenario).to.deep.equal({ numDevices: 20, numAntennas: 1, sequenceLength: 8, bitsPerDevice: 0 });
    expect(filled.encoder.params).to.have.property('normalize', false);
  });

  it('gives every registered plugin name its summary, on the constant of its if/then branch', () => {
    const registry = builtinRegistry().register(NullDetector);
    const schema = assembleSpecSchema(registry) as Json;
    const slots: [string, Json][] = [
      ['traffic', schema.properties.traffic],
      ['channel', schema.properties.channel],
      ['encoder', schema.properties.encoder],
      ['detector', schema.properties.candidates.additionalProperties.properties.detector],
      ['metric', schema.properties.metrics.items],
    ];
    for (const [kind, slot] of slots) {
      const names: string[] = slot.properties.plugin.enum;
      expect(names, kind).to.deep.equal(registry.names(kind as 'traffic'));
      for (const name of names) {
        const branches = slot.allOf.filter((b: Json) => b.if.properties.plugin.const === name);
        expect(branches, `${kind} ${name}`).to.have.length(1);
        const summary = registry.find(kind as 'traffic', name)?.plugin.summary;
        expect(summary, `${kind} ${name}`).to.be.a('string').and.not.equal('');
        expect(branches[0].if.properties.plugin.description, `${kind} ${name}`).to.equal(summary);
      }
    }
    const nullBranch = slots[3][1].allOf.find((b: Json) => b.if.properties.plugin.const === 'null-detector');
    expect(nullBranch.if.properties.plugin.description).to.equal('Declares nobody active (a test plugin)');
  });
});
