import { expect } from 'chai';
import { planObject } from '../plan/load';
import { builtinRegistry } from '../spec/plugins';
import { tinySpec } from '../testing';
import { pointLabel } from '../spec/sweep';
import { candidateLabels, formatTable, shownPointKeys, type JobResult } from './format';

describe('results table: labels and coupled sweep keys', () => {
  const result = (candidate: string, ebN0Db: number, extra: Record<string, unknown> = {}): JobResult => ({
    candidate,
    point: { 'channel.params.ebN0Db': ebN0Db, 'candidates.b.channel.params.ebN0Db': ebN0Db, ...extra },
    trials: 100,
    seconds: 1,
    stop: 'max-trials',
    metrics: { ber: { value: 0.01, low: 0.005, high: 0.02, events: 10, samples: 1000 } },
  });

  it('names coupled keys once: a key equal, point by point, to an earlier one with the same last segment', () => {
    const points = [result('a', 0).point, result('a', 2).point];
    expect(shownPointKeys(points)).to.deep.equal(['channel.params.ebN0Db']);
    // Same last segment but other values: both are shown.
    const differ = [
      { 'channel.params.snrDb': 0, 'candidates.b.channel.params.snrDb': 5 },
      { 'channel.params.snrDb': 2, 'candidates.b.channel.params.snrDb': 5 },
    ];
    expect(shownPointKeys(differ)).to.deep.equal(['channel.params.snrDb', 'candidates.b.channel.params.snrDb']);
    const table = formatTable([result('a', 0), result('b', 0)]);
    expect(table.split('\n')[0].match(/ebN0Db/g)).to.have.length(1);
    // And in point labels (gfra compare, progress, warnings).
    expect(pointLabel(result('a', 4).point)).to.equal('ebN0Db=4');
    expect(pointLabel({ 'channel.params.snrDb': 0, 'candidates.b.channel.params.snrDb': 5 })).to.equal('snrDb=0, snrDb=5');
  });

  it('shows candidates under their labels', () => {
    const table = formatTable([result('a', 0), result('b', 0)], [], [], { labels: { b: 'Max-log MPA (AWGN)' } });
    const rows = table.split('\n').slice(2);
    expect(rows[0].startsWith('a ')).to.equal(true);
    expect(rows[1].startsWith('Max-log MPA (AWGN) ')).to.equal(true);
    expect(candidateLabels({ candidates: { a: {}, b: { label: 'B' } } })).to.deep.equal({ b: 'B' });
  });

  it('a label is presentation: it is validated but leaves the spec hash unchanged', () => {
    const plain = planObject(tinySpec(), 'spec.json', builtinRegistry());
    const spec = tinySpec();
    const candidates = spec.candidates as Record<string, Record<string, unknown>>;
    const labelled = planObject({ ...spec, candidates: { energy: { ...candidates.energy, label: 'Energy (5 % FA)' } } }, 'spec.json', builtinRegistry());
    expect(labelled.validated.hash).to.equal(plain.validated.hash);
    expect(labelled.validated.spec.candidates.energy.label).to.equal('Energy (5 % FA)');
    expect(() => planObject({ ...spec, candidates: { energy: { ...candidates.energy, label: '' } } }, 'spec.json', builtinRegistry())).to.throw(/label/);
  });
});
