/**
 * The non-finite rule of a job: trials whose detector output holds NaN or infinity are left out of
 * every statistic and counted, up to {@link MAX_NON_FINITE_FRACTION} of the trials simulated so
 * far; past it the job fails, naming the detector. The pipeline counts each batch; the Monte Carlo
 * loop applies the rule in batch order (whichever thread or machine ran the batch), so a job fails
 * at the same batch with the same message under every executor.
 */
import { PipelineError, type Scenario } from '@gfra/core';

/**
 * The largest fraction of a job's trials whose detector output may hold a non-finite value (NaN
 * or infinity) before the job fails. Below it such trials are left out of every statistic and
 * counted (`skipped.nonFinite` per statistic); above it the results would no longer describe the
 * detector. Rationale: leaving out a fraction f of the trials, which need not be a random subset
 * (a detector tends to break on the hardest or easiest trials), can move a statistic by up to
 * about f of its range; at 1 % that stays within the Monte Carlo interval of a typical run (a
 * rate from 100 events is known to about +-20 %), so an occasional numerical accident does not
 * cost a long job, while a detector that breaks down at an operating point (e.g. NaN in most
 * trials at a very high SNR) fails at once, with its name. A single such trial is always
 * tolerated, so that one accident in an early, small batch does not fail the job.
 */
export const MAX_NON_FINITE_FRACTION = 0.01;

/** One batch's trials with a non-finite value in a declared detector output, in all and by output. */
export interface NonFiniteCount {
  readonly trials: number;
  readonly outputs: Readonly<Record<string, number>>;
}

/** The running count of one job (see the module comment). */
export class NonFiniteBudget {
  private trials = 0;
  private of = 0;
  private readonly outputs: Record<string, number> = {};

  /**
   * @param detector the detector's plugin key (`detector:<name>`) and spec path, for the message
   */
  constructor(
    private readonly detector: { readonly key: string; readonly path: string },
    private readonly scenario: Pick<Scenario, 'numDevices' | 'sequenceLength' | 'numAntennas'>,
  ) {}

  /**
   * Count the trials of a resumed job's stored batches (`of` simulated, `trials` of them with a
   * non-finite output), so that a resumed job fails where the uninterrupted one would.
   */
  addStored(trials: number, of: number): void {
    this.trials += trials;
    this.of += of;
    if (trials > 0) this.outputs['stored batches'] = (this.outputs['stored batches'] ?? 0) + trials;
  }

  /** Count one batch of `of` simulated trials; throws a {@link PipelineError} once they are too many. */
  add(of: number, count: NonFiniteCount): void {
    this.of += of;
    this.trials += count.trials;
    for (const [field, k] of Object.entries(count.outputs)) this.outputs[field] = (this.outputs[field] ?? 0) + k;
    if (this.trials > Math.max(1, MAX_NON_FINITE_FRACTION * this.of)) {
      const { numDevices: N, sequenceLength: L, numAntennas: M } = this.scenario;
      const which = Object.entries(this.outputs)
        .map(([field, k]) => `${field} in ${k}`)
        .join(', ');
      throw new PipelineError(
        this.detector.key,
        this.detector.path,
        `returned non-finite values (NaN or infinite) in ${this.trials} of ${this.of} trials (${which}; N=${N}, L=${L}, M=${M}), more than ${100 * MAX_NON_FINITE_FRACTION} % of the trials that may be left out of the statistics; check the detector's numerics at this operating point (e.g. a very high SNR)`,
      );
    }
  }
}
