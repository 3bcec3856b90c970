import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Type } from '@sinclair/typebox';
import { definePlugin, SpecError, type Encoder, type TrafficSample } from '@gfra/core';
import { builtinRegistry } from '../spec/plugins';
import { planObject } from './load';

/** An encoder that declares bits per device (a stand-in: the built-in spreading encoders do not). */
class PerDeviceBitsEncoder implements Encoder {
  static readonly plugin = definePlugin({
    kind: 'encoder',
    name: 'test-per-device-bits',
    summary: 'test encoder that accepts bits per device',
    params: Type.Object({}, { additionalProperties: false }),
    perDeviceBits: true,
    provides: () => ['codebook'],
  });
  encode(traffic: TrafficSample) {
    const [B, N] = traffic.activity.shape;
    return { re: tf.zeros([B, N, 4]), im: tf.zeros([B, N, 4]) };
  }
}

function spec(encoder: Record<string, unknown>, bitsPerDevice: number | number[] = [1, 1, 1, 2, 2, 2], traffic = 'per-device-bernoulli'): Record<string, unknown> {
  return {
    name: 'device-bits',
    seed: 1,
    scenario: { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice },
    traffic: { plugin: traffic, ...(traffic === 'per-device-bernoulli' ? { params: { activationProbabilities: [1, 1, 1, 1, 1, 1] } } : {}) },
    channel: { plugin: 'noma-rayleigh', params: { snrDb: 2 } },
    encoder,
    candidates: { a: { detector: { plugin: 'exhaustive-ml', params: { model: 'coherent', criterion: 'ml', activity: 'all-active' } } }, b: { detector: { plugin: 'sicnn' } } },
    metrics: [{ plugin: 'ser' }],
  };
}

function issues(s: Record<string, unknown>): { path: string; message: string }[] {
  const registry = builtinRegistry().register(PerDeviceBitsEncoder);
  try {
    planObject(s, 'spec.json', registry);
    return [];
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    return err.issues.map(({ path, message }) => ({ path, message }));
  }
}

describe('plan: bits per device (scenario.bitsPerDevice as a list)', () => {
  it('plugins see J = max J_n and deviceBits; a plugin that does not declare perDeviceBits is refused where it is named', () => {
    const found = issues(spec({ plugin: 'test-per-device-bits' }));
    // sicnn (QPSK for every device) does not support bits per device: refused where it is
    // named; exhaustive-ml and everything else are accepted
    const refused = found.filter((i) => i.message.includes('same number of bits'));
    expect(refused.map((i) => i.path)).to.deep.equal(['candidates.b.detector.params']);
    expect(refused[0].message).to.match(/^detector "sicnn" gives every device the same number of bits, but scenario.bitsPerDevice gives one per device \(\[1, 1, 1, 2, 2, 2\]\)/);
    expect(found.filter((i) => i.path.startsWith('candidates.a'))).to.deep.equal([]);
    const withSpreading = issues(spec({ plugin: 'gaussian-pilots' }));
    expect(withSpreading.map((i) => i.path)).to.include('encoder.params');
    const withBernoulli = issues(spec({ plugin: 'test-per-device-bits' }, [1, 1, 1, 2, 2, 2], 'bernoulli'));
    expect(withBernoulli.map((i) => i.path)).to.include('traffic.params');
  });

  it('a list needs one entry per device; a single number is planned as before', () => {
    expect(issues(spec({ plugin: 'test-per-device-bits' }, [1, 2]))).to.deep.include({ path: 'scenario.bitsPerDevice', message: 'has 2 entries, but numDevices is 6' });
    const registry = builtinRegistry().register(PerDeviceBitsEncoder);
    const single = planObject(spec({ plugin: 'qpsk-spreading' }, 2), 'spec.json', registry);
    expect(single.jobs[0].pipeline.scenario).to.deep.equal({ numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 });
  });
});
