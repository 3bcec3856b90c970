import { expect } from 'chai';
import { SpecError } from '@gfra/core';
import { planObject } from '../plan/load';
import { tinySpec } from '../testing';
import { expandSweep, getPath, nearestExisting, setPath, sweepAxes } from './sweep';

describe('sweep', () => {
  it('expands the cartesian product, last key fastest', () => {
    const points = expandSweep(sweepAxes({ 'a.x': [1, 2], 'b.y': ['u', 'v', 'w'] }));
    expect(points).to.have.length(6);
    expect(points[0]).to.deep.equal({ 'a.x': 1, 'b.y': 'u' });
    expect(points[1]).to.deep.equal({ 'a.x': 1, 'b.y': 'v' });
    expect(points[5]).to.deep.equal({ 'a.x': 2, 'b.y': 'w' });
  });

  it('moves coupled keys together', () => {
    const points = expandSweep(sweepAxes({ 'n, k': [[100, 10], [200, 20]], snr: [0, 5] }));
    expect(points).to.deep.equal([
      { n: 100, k: 10, snr: 0 },
      { n: 100, k: 10, snr: 5 },
      { n: 200, k: 20, snr: 0 },
      { n: 200, k: 20, snr: 5 },
    ]);
  });

  it('gives one empty point without a sweep', () => {
    expect(expandSweep(sweepAxes(undefined))).to.deep.equal([{}]);
  });

  it('reads and writes dotted paths, with numeric parts indexing arrays', () => {
    const o = { metrics: [{ params: { x: 1 } }], s: { a: 2 } };
    expect(getPath(o, 'metrics.0.params.x')).to.equal(1);
    expect(getPath(o, 's.b')).to.equal(undefined);
    setPath(o, 's.a', 5);
    expect(o.s.a).to.equal(5);
  });

  it('resolves own properties only: never the prototype chain', () => {
    const o = { s: { a: 2 } };
    expect(getPath(o, 's.toString')).to.equal(undefined);
    expect(getPath(o, '__proto__')).to.equal(undefined);
    expect(getPath(o, 's.constructor.name')).to.equal(undefined);
    expect(nearestExisting(o, 's.constructor.name')).to.deep.equal({ prefix: 's', keys: ['a'] });
    expect(() => setPath(o, '__proto__.polluted', 1)).to.throw();
    expect(() => setPath(o, 's.__proto__', {})).to.throw();
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });

  it('refuses sweep paths through __proto__, constructor or prototype, leaving Object.prototype alone', () => {
    const toString = Object.prototype.toString;
    for (const key of ['__proto__.toString', 'scenario.__proto__.polluted', 'constructor.prototype.polluted', 'channel.params.prototype']) {
      expect(() => planObject(tinySpec({ sweep: { [key]: [1] } }), 'spec.json'), key).to.throw(SpecError, `cannot sweep "${key}"`);
    }
    expect(Object.prototype.toString).to.equal(toString);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });
});
