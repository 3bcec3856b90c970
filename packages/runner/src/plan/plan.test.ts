import { expect } from 'chai';
import { RandomStreams } from '@gfra/core';
import { tinySpec } from '../testing';
import { planObject } from './load';
import type { PlannedJob } from './plan';

/** The first noise draw of a job's channel, from its planned stream keys (as the engine builds them). */
function firstNoiseDraws(job: PlannedJob): number[] {
  const streams = new RandomStreams(job.pipeline.streams.root).child(job.pipeline.streams.slots.channel);
  const g = streams.generator('noise', 0);
  return [g.normal(), g.normal(), g.normal()];
}

describe('plan: a swept seed', () => {
  it('is honoured: each point plans its own seed, records it, and draws differently', () => {
    const { jobs } = planObject(tinySpec({ seed: 7, sweep: { seed: [1, 2] } }), 'spec.json');
    expect(jobs.map((j) => j.seed)).to.deep.equal([1, 2]);
    // results.json records each result's point, whose seed is the swept one
    expect(jobs.map((j) => j.point)).to.deep.equal([{ seed: 1 }, { seed: 2 }]);
    expect(jobs.map((j) => j.pipeline.streams.root[0])).to.deep.equal([1, 2]);
    expect(firstNoiseDraws(jobs[0])).to.not.deep.equal(firstNoiseDraws(jobs[1]));
  });

  it('gives the same draws as the same seed planned again (the draws follow the seed)', () => {
    const a = planObject(tinySpec({ sweep: { seed: [1, 2] } }), 'spec.json').jobs;
    const b = planObject(tinySpec({ seed: 99, sweep: { seed: [1, 2] } }), 'spec.json').jobs;
    expect(firstNoiseDraws(a[1])).to.deep.equal(firstNoiseDraws(b[1]));
  });
});
