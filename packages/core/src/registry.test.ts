import 'reflect-metadata';
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { container as rootContainer, inject, injectable } from 'tsyringe';
import { Registry, UnknownPluginError } from './registry';
import { definePlugin, TOKENS, type Detector, type Estimate, type Metric, type PluginClass, type StatisticInfo } from './plugin';
import { GfraUserError } from './errors';
import { RandomStreams } from './rng';
import type { Scenario } from './scenario';
import { registerStandardPlugins } from './standard';
import { BernoulliTraffic } from './traffic/bernoulli';

const GainParams = Type.Object(
  { gain: Type.Number({ default: 1, description: 'a test parameter' }) },
  { additionalProperties: false },
);
type GainParams = Static<typeof GainParams>;

/** A plain class dependency, resolved by constructor type (design:paramtypes), not by token. */
@injectable()
class Helper {
  readonly kind = 'helper';
}

@injectable()
class GainDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'gain-detector',
    summary: 'test detector',
    params: GainParams,
  });

  constructor(
    readonly helper: Helper,
    @inject(TOKENS.params) readonly params: GainParams,
    @inject(TOKENS.scenario) readonly scenario: Scenario,
  ) {}

  detect(): Estimate {
    return {};
  }
}

@injectable()
class OtherDetector implements Detector {
  static readonly plugin = definePlugin({ kind: 'detector', name: 'other', summary: 'test', params: Type.Object({}) });
  detect(): Estimate {
    return {};
  }
}

@injectable()
class GainMetric implements Metric {
  // same name as the detector, other kind: allowed
  static readonly plugin = definePlugin({
    kind: 'metric',
    name: 'gain-detector',
    summary: 'test',
    params: Type.Object({}),
    statistics: (): StatisticInfo[] => [{ name: 'x', kind: 'rate', description: 'test' }],
  });
  measure() {
    return {};
  }
}

/** A class with a descriptor overridden, for the validation errors. */
function withInfo(info: Record<string, unknown>): PluginClass {
  class Bad {
    static readonly plugin = { kind: 'detector', name: 'bad', summary: '', params: Type.Object({}), ...info };
  }
  return Bad as unknown as PluginClass;
}

const scenario: Scenario = { numDevices: 4, numAntennas: 2, sequenceLength: 3, bitsPerDevice: 1 };

describe('registry', () => {
  it('register / find / get / list / names', () => {
    const r = new Registry();
    expect(r.register(GainDetector)).to.equal(r);
    r.registerAll([OtherDetector, GainMetric]);
    expect(r.get('detector', 'gain-detector')).to.equal(GainDetector);
    expect(r.get('metric', 'gain-detector')).to.equal(GainMetric);
    expect(r.find('detector', 'nope')).to.equal(undefined);
    expect(r.find('traffic', 'gain-detector')).to.equal(undefined);
    expect(r.list('detector')).to.deep.equal([GainDetector, OtherDetector]);
    expect(r.list('traffic')).to.deep.equal([]);
    expect(r.list()).to.deep.equal([GainDetector, OtherDetector, GainMetric]);
    expect(r.names('detector')).to.deep.equal(['gain-detector', 'other']);
    expect(r.names('metric')).to.deep.equal(['gain-detector']);
  });

  it('registries are independent of each other and of the root container', () => {
    const a = new Registry().register(GainDetector);
    const b = new Registry();
    expect(b.names('detector')).to.deep.equal([]);
    expect(a.names('detector')).to.deep.equal(['gain-detector']);
    expect(rootContainer.isRegistered(TOKENS.params, true)).to.equal(false);
  });

  it('registering the same kind and name twice throws', () => {
    const r = new Registry().register(GainDetector);
    @injectable()
    class Impostor {
      static readonly plugin = GainDetector.plugin;
    }
    expect(() => r.register(Impostor)).to.throw(
      /Plugin detector:gain-detector is already registered \(by GainDetector\); plugin names must be unique per kind/,
    );
    expect(() => r.register(GainDetector)).to.throw(/already registered/);
    expect(r.list('detector')).to.deep.equal([GainDetector]);
  });

  it('a name that is not kebab-case throws', () => {
    const r = new Registry();
    for (const name of ['Gain', 'gain_detector', 'gainDetector', '1gain', 'gain--detector', '-gain', 'gain-', '']) {
      expect(() => r.register(withInfo({ name })), name).to.throw(new RegExp(`plugin name "${name}" must be kebab-case \\(e.g. "mmv-amp"\\)`));
    }
    for (const name of ['a', 'mmv-amp', 'omp2', 'l2-norm-x']) expect(() => new Registry().register(withInfo({ name })), name).to.not.throw();
  });

  it('a class without a descriptor, an unknown kind, non-object params, or a metric without statistics throws', () => {
    const r = new Registry();
    class Plain {}
    expect(() => r.register(Plain as unknown as PluginClass)).to.throw(/Cannot register Plain: it has no static "plugin" descriptor/);
    expect(() => r.register(withInfo({ kind: 'decoder' }))).to.throw(
      /unknown kind "decoder" \(use one of traffic, channel, encoder, detector, metric\)/,
    );
    expect(() => r.register(withInfo({ params: Type.Number() }))).to.throw(
      /Cannot register detector:bad: params must be a TypeBox object schema/,
    );
    expect(() => r.register(withInfo({ kind: 'metric' }))).to.throw(/Cannot register metric:bad: a metric must declare its statistics/);
    expect(r.list()).to.deep.equal([]);
  });

  it('an unknown name throws UnknownPluginError suggesting the nearest name', () => {
    const r = new Registry().registerAll([GainDetector, OtherDetector]);
    let err: unknown;
    try {
      r.get('detector', 'gain-detectr');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(UnknownPluginError);
    expect(err).to.be.instanceOf(GfraUserError);
    const u = err as UnknownPluginError;
    expect(u.name).to.equal('UnknownPluginError');
    expect(u.kind).to.equal('detector');
    expect(u.pluginName).to.equal('gain-detectr');
    expect(u.available).to.deep.equal(['gain-detector', 'other']);
    expect(u.message).to.equal('Unknown detector plugin "gain-detectr". Did you mean "gain-detector"? Available: gain-detector, other');
    // case and separators
    expect(() => r.get('detector', 'Gain_Detector')).to.throw(UnknownPluginError, /Did you mean "gain-detector"\?/);
    // nothing close: only the list
    expect(() => r.get('detector', 'covariance-ml')).to.throw('Unknown detector plugin "covariance-ml". Available: gain-detector, other');
    // nothing registered of that kind
    expect(() => r.get('channel', 'awgn')).to.throw('Unknown channel plugin "awgn". None are available');
  });

  it('create() injects params (and further values) through a child container', () => {
    const r = new Registry().register(GainDetector);
    const parent = rootContainer.createChildContainer();
    const values = new Map<symbol, unknown>([[TOKENS.scenario, scenario]]);
    const a = r.create('detector', 'gain-detector', { gain: 2 }, parent, values) as GainDetector;
    const b = r.create('detector', 'gain-detector', { gain: 3 }, parent, values) as GainDetector;
    expect(a).to.be.instanceOf(GainDetector);
    expect(a.params).to.deep.equal({ gain: 2 });
    expect(b.params).to.deep.equal({ gain: 3 });
    expect(a.scenario).to.equal(scenario);
    // a class dependency resolved from its constructor type
    expect(a.helper).to.be.instanceOf(Helper);
    expect(a).to.not.equal(b);
    // the parent is untouched
    expect(parent.isRegistered(TOKENS.params, true)).to.equal(false);
    expect(parent.isRegistered(TOKENS.scenario, true)).to.equal(false);
    // unknown names go through get()
    expect(() => r.create('detector', 'gain', {}, parent)).to.throw(UnknownPluginError, /Did you mean "gain-detector"/);
  });

  it('create() without a value the constructor needs fails', () => {
    const r = new Registry().register(GainDetector);
    expect(() => r.create('detector', 'gain-detector', { gain: 1 }, rootContainer.createChildContainer())).to.throw();
  });

  it('decorator metadata is emitted (design:paramtypes)', () => {
    const types = Reflect.getMetadata('design:paramtypes', GainDetector) as unknown[];
    expect(types).to.not.equal(undefined);
    expect(types).to.have.length(3);
    expect(types[0]).to.equal(Helper);
    const bernoulli = Reflect.getMetadata('design:paramtypes', BernoulliTraffic) as unknown[];
    expect(bernoulli).to.not.equal(undefined);
    expect(bernoulli).to.have.length(3);
  });

  it('the standard plugins register and a real plugin is created with its injected params, scenario and streams', () => {
    const r = registerStandardPlugins(new Registry());
    expect(r.names('traffic')).to.deep.equal(['bernoulli', 'fixed-count', 'two-class', 'per-device-bernoulli', 'group-activity']);
    expect(r.names('metric')).to.deep.equal(['activity', 'ser', 'ber', 'bler', 'nmse', 'mmv-mse', 'symbol-mse']);
    const values = new Map<symbol, unknown>([
      [TOKENS.scenario, scenario],
      [TOKENS.random, new RandomStreams(['registry.test'])],
    ]);
    const traffic = r.create('traffic', 'fixed-count', { numActive: 2 }, rootContainer.createChildContainer(), values);
    const s = traffic.sample({ first: 0, count: 3 });
    expect(s.activity.shape).to.deep.equal([3, 4]);
    expect(tf.tidy(() => Array.from(tf.sum(s.activity, 1).dataSync()))).to.deep.equal([2, 2, 2]);
    tf.dispose([s.activity, s.message]);
  });
});
