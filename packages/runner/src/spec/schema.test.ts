import { expect } from 'chai';
import { Type } from '@sinclair/typebox';
import { injectable } from 'tsyringe';
import { definePlugin, type Detector, type Estimate } from '@gfra/core';
import { builtinRegistry } from './plugins';
import { assembleSpecSchema } from './schema';
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
});
