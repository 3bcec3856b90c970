import type { BatchRecord } from '../results/store';

/**
 * A job's batch commits, one in flight at a time, overlapped with the next batch's computation.
 *
 * `onBatch` (given to the Monte Carlo loop) waits only for the previous batch's commit, starts
 * this batch's and returns; a failed commit therefore fails the job at its next batch, or at
 * `flush`. `flush` waits for the last commit (and throws its error): a job's result is reported
 * only after every one of its batches is in the store. `settled` waits without throwing, for a
 * job that failed anyway.
 */
export class CommitPipeline {
  private previous: Promise<void> = Promise.resolve();

  constructor(private readonly commit: (record: BatchRecord) => Promise<void>) {}

  readonly onBatch = async (record: BatchRecord): Promise<void> => {
    await this.previous;
    this.previous = this.commit(record);
    this.previous.catch(() => undefined); // observed by the next batch, or by flush / settled
  };

  flush(): Promise<void> {
    return this.previous;
  }

  settled(): Promise<void> {
    return this.previous.catch(() => undefined);
  }
}
