import { expect } from 'chai';
import type { BatchRecord } from '../results/store';
import { CommitPipeline } from './commits';

const record = (batch: number): BatchRecord => ({ batch, first: batch, count: 1, values: new Map(), seconds: 0, detector: { seconds: 0, trials: 0 } });

/** A commit the test settles by hand. */
function manual() {
  const started: number[] = [];
  const settle = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  const commit = (r: BatchRecord) =>
    new Promise<void>((resolve, reject) => {
      started.push(r.batch);
      settle.set(r.batch, { resolve, reject });
    });
  return { started, settle, commit };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('CommitPipeline: one batch commit in flight, overlapped with the next batch', () => {
  it('returns before its commit settles, and the next batch waits for the commit before it', async () => {
    const m = manual();
    const pipe = new CommitPipeline(m.commit);
    await pipe.onBatch(record(0)); // returns with commit 0 still in flight
    expect(m.started).to.deep.equal([0]);
    let second = false;
    const next = pipe.onBatch(record(1)).then(() => (second = true));
    await tick();
    expect(second, 'batch 1 must wait for commit 0').to.equal(false);
    expect(m.started).to.deep.equal([0]);
    m.settle.get(0)?.resolve();
    await next;
    expect(m.started).to.deep.equal([0, 1]);
    let flushed = false;
    const flush = pipe.flush().then(() => (flushed = true));
    await tick();
    expect(flushed, 'flush must wait for the last commit').to.equal(false);
    m.settle.get(1)?.resolve();
    await flush;
  });

  it('a failed commit fails the next batch (which is not committed), or the flush; settled does not throw', async () => {
    const m = manual();
    const pipe = new CommitPipeline(m.commit);
    await pipe.onBatch(record(0));
    m.settle.get(0)?.reject(new Error('disk full'));
    let error: unknown;
    await pipe.onBatch(record(1)).catch((e: unknown) => (error = e));
    expect(String(error)).to.contain('disk full');
    expect(m.started).to.deep.equal([0]);

    const last = manual();
    const tail = new CommitPipeline(last.commit);
    await tail.onBatch(record(0));
    last.settle.get(0)?.reject(new Error('read-only'));
    await tail.settled();
    let flushError: unknown;
    await tail.flush().catch((e: unknown) => (flushError = e));
    expect(String(flushError)).to.contain('read-only');
  });
});
