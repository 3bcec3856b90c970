/**
 * Terminal progress: one self-rewriting line on stderr with the run's bar, percentage and ETA,
 * the current job and its trials; each finished (point, candidate) printed above it as one line
 * as it completes (the job, its trials, its first statistics with their intervals, its time), as
 * Sionna does per SNR point. Silent when stderr is not a terminal, in CI (`CI` set), or when asked
 * to be quiet; warnings are always printed.
 *
 * The ETA is weighted by expected work, not by the count of jobs done: a running job's remaining
 * time is its own elapsed time scaled by its remaining fraction; a job not started yet is expected
 * to take as long as the finished jobs of the same candidate did (else of any candidate, else as
 * long as the running jobs are projected to); the sum is divided by the number of jobs that run at
 * once. The bar and the percentage show the same thing: work done over work expected.
 */
import type { ProgressEvent } from '../engine/events';
import { formatNumber, type JobResult } from '../results/format';
import { pointLabel } from '../spec/sweep';

export interface ProgressSink {
  readonly onProgress: (event: ProgressEvent) => void;
  /** Clear the progress line. */
  readonly done: () => void;
}

/** `m:ss` or `h:mm:ss` for an ETA; `--:--` when unknown. */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return `${h > 0 ? `${h}:${String(m).padStart(2, '0')}` : m}:${String(r).padStart(2, '0')}`;
}

/** A point as `key=value, ...` (coupled keys once); '' without a sweep. */
function pointText(point: Readonly<Record<string, unknown>>): string {
  return Object.keys(point).length === 0 ? '' : pointLabel(point);
}

/** One line for a finished job: candidate, point, trials, up to three statistics, time, stop. */
export function finishedLine(result: JobResult, label: string): string {
  const point = pointText(result.point);
  const stats = Object.entries(result.metrics)
    .slice(0, 3)
    .map(([name, m]) => `${name} ${formatNumber(m.value)} [${formatNumber(m.low)}, ${formatNumber(m.high)}]`);
  const rep = result.repetition === undefined ? '' : ` rep ${result.repetition}`;
  return `  ${label}${point === '' ? '' : ` ${point}`}${rep}: ${result.trials} trials, ${stats.join(', ')} (${result.seconds.toFixed(1)} s, ${result.stop})`;
}

/** What the ETA knows of one job. */
interface JobState {
  readonly candidate: string;
  fraction: number;
  seconds: number;
  finished: boolean;
}

/**
 * Seconds of work done so far and still expected (see the module comment), from the jobs seen;
 * `total` jobs in all; a job not seen yet is expected like the finished jobs of its candidate
 * (`candidateOf`, when known), else of any.
 */
export function expectedWork(jobs: ReadonlyMap<number, JobState>, total: number, candidateOf: (index: number) => string | undefined): { done: number; remaining: number } {
  const finished = [...jobs.values()].filter((j) => j.finished);
  const running = [...jobs.values()].filter((j) => !j.finished);
  const projected = (j: JobState) => (j.fraction > 0 ? j.seconds / j.fraction : Number.NaN);
  const mean = (xs: number[]) => (xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
  const byCandidate = (c: string | undefined) => mean(finished.filter((j) => j.candidate === c).map((j) => j.seconds));
  const anyFinished = mean(finished.map((j) => j.seconds));
  const anyRunning = mean(running.map(projected).filter(Number.isFinite));
  let done = 0;
  let remaining = 0;
  for (const j of jobs.values()) {
    done += j.seconds;
    if (!j.finished) {
      const p = projected(j);
      remaining += Number.isFinite(p) ? p - j.seconds : Number.isFinite(byCandidate(j.candidate)) ? byCandidate(j.candidate) : Number.isFinite(anyFinished) ? anyFinished : 0;
    }
  }
  for (let i = 0; i < total; i++) {
    if (jobs.has(i)) continue;
    const c = byCandidate(candidateOf(i));
    const guess = Number.isFinite(c) ? c : Number.isFinite(anyFinished) ? anyFinished : anyRunning;
    remaining += Number.isFinite(guess) ? guess : Number.NaN;
  }
  return { done, remaining };
}

export function progressSink(options: {
  quiet: boolean;
  stream?: NodeJS.WriteStream;
  warn?: (m: string) => void;
  /** Display labels of candidates (a spec's `label`s). */
  labels?: Readonly<Record<string, string>>;
  /** Override: draw the line and the finished-job lines (default: stderr is a terminal, not CI, not quiet). */
  interactive?: boolean;
}): ProgressSink {
  const stream = options.stream ?? process.stderr;
  const warn = options.warn ?? ((m: string) => stream.write(`warning: ${m}\n`));
  const interactive = options.interactive ?? (!options.quiet && stream.isTTY === true && !process.env.CI);
  const label = (c: string) => options.labels?.[c] ?? c;
  const jobs = new Map<number, JobState>();
  const running = new Set<number>();
  let maxParallel = 1;
  let cluster = '';
  let clusterWorkers = 0;
  let shown = false;
  let lastJob: { candidate: string; point: Readonly<Record<string, unknown>>; repetition?: number; trials: number } | undefined;
  const clear = () => {
    if (shown) stream.write('\r\x1b[2K');
    shown = false;
  };
  const state = (index: number, candidate: string): JobState => {
    let j = jobs.get(index);
    if (j === undefined) {
      j = { candidate, fraction: 0, seconds: 0, finished: false };
      jobs.set(index, j);
    }
    return j;
  };
  const draw = (total: number) => {
    const { done, remaining } = expectedWork(jobs, total, (i) => jobs.get(i)?.candidate);
    const overall = Number.isFinite(remaining) && done + remaining > 0 ? done / (done + remaining) : [...jobs.values()].filter((j) => j.finished).length / total;
    // Jobs that run at once (pool), or workers sharing the batches (bullmq).
    const eta = Number.isFinite(remaining) ? remaining / Math.max(1, maxParallel, clusterWorkers) : Infinity;
    const finished = [...jobs.values()].filter((j) => j.finished).length;
    const width = 20;
    const filled = Math.round(Math.min(1, overall) * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    const current =
      lastJob === undefined ? '' : `  ${label(lastJob.candidate)} ${pointText(lastJob.point)}${lastJob.repetition === undefined ? '' : ` rep ${lastJob.repetition}`}: ${lastJob.trials} trials`;
    const columns = stream.columns ?? 100;
    const line = `${cluster}[${finished}/${total} done] ${bar} ${Math.round(Math.min(1, overall) * 100)}%  ETA ${clock(eta)}${current}`;
    stream.write(`\r\x1b[2K${line.slice(0, columns - 1)}`);
    shown = true;
  };
  return {
    onProgress(event) {
      if (event.type === 'warning') {
        clear();
        warn(event.message);
        return;
      }
      if (event.type === 'cluster') {
        cluster = `${event.workers} worker${event.workers === 1 ? '' : 's'}, ${event.inFlight} in flight  `;
        clusterWorkers = event.workers;
        return;
      }
      if (event.type === 'note') return;
      const j = state(event.index, event.job.candidate);
      // A started job counts from its first batch (under bullmq every job starts at once).
      if (event.type === 'job-start') return;
      if (event.type === 'batch') {
        j.fraction = event.fraction;
        j.seconds = event.seconds;
        running.add(event.index);
        maxParallel = Math.max(maxParallel, running.size);
        lastJob = { candidate: event.job.candidate, point: event.job.point, ...(event.job.montecarlo.repetitions > 1 ? { repetition: event.job.repetition } : {}), trials: event.trials };
      } else {
        // A failed job is finished too (its failure is reported as a warning and in the summary).
        j.finished = true;
        j.fraction = 1;
        if (event.type === 'job-end') j.seconds = Math.max(j.seconds, event.result.seconds);
        running.delete(event.index);
        if (interactive && event.type === 'job-end' && event.result.stop !== 'interrupted') {
          clear();
          stream.write(`${finishedLine(event.result, label(event.result.candidate))}\n`);
        }
      }
      if (interactive) draw(event.total);
    },
    done: clear,
  };
}
