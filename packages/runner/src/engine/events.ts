/** What the engine reports while it runs: typed events, not printed output (the CLI draws them). */
import type { PlannedJob } from '../plan/plan';
import type { JobFailure, JobResult } from '../results/format';

export type ProgressEvent =
  | { readonly type: 'job-start'; readonly job: PlannedJob; readonly index: number; readonly total: number }
  | {
      readonly type: 'batch';
      readonly job: PlannedJob;
      readonly index: number;
      readonly total: number;
      readonly trials: number;
      /** Estimated fraction of this job done, in [0, 1]. */
      readonly fraction: number;
      readonly seconds: number;
    }
  | { readonly type: 'job-end'; readonly job: PlannedJob; readonly index: number; readonly total: number; readonly result: JobResult }
  /** The job threw: it has no result, and the run goes on with the next one. */
  | { readonly type: 'job-failed'; readonly job: PlannedJob; readonly index: number; readonly total: number; readonly failure: JobFailure }
  | { readonly type: 'warning'; readonly message: string }
  /** The bullmq executor: workers serving the run, and batches queued without a reply yet. */
  | { readonly type: 'cluster'; readonly workers: number; readonly inFlight: number }
  /** Information about the run as a whole (resuming, waiting for another run's lock). */
  | { readonly type: 'note'; readonly message: string };

