/**
 * Terminal progress: one self-rewriting line on stderr with the current job, a bar, trials and
 * an ETA for the whole run. Silent when stderr is not a terminal, in CI (`CI` set), or when
 * asked to be quiet.
 */
import type { ProgressEvent } from '../engine/events';
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

export function progressSink(options: { quiet: boolean; stream?: NodeJS.WriteStream; warn?: (m: string) => void }): ProgressSink {
  const stream = options.stream ?? process.stderr;
  const warn = options.warn ?? ((m: string) => stream.write(`warning: ${m}\n`));
  const interactive = !options.quiet && stream.isTTY === true && !process.env.CI;
  const start = Date.now();
  const fractions = new Map<number, number>(); // job index -> fraction done (jobs may run in parallel)
  let shown = false;
  /** With the bullmq executor: workers serving the run and batches in flight. */
  let cluster = '';
  const clear = () => {
    if (shown) stream.write('\r\x1b[2K');
    shown = false;
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
        return;
      }
      // A failed job is finished too (its failure is reported as a warning and in the summary).
      if (event.type === 'job-end' || event.type === 'job-failed') fractions.set(event.index, 1);
      if (!interactive || event.type !== 'batch') return;
      fractions.set(event.index, event.fraction);
      const overall = [...fractions.values()].reduce((a, b) => a + b, 0) / event.total;
      const finished = [...fractions.values()].filter((f) => f === 1).length;
      const elapsed = (Date.now() - start) / 1000;
      const eta = overall > 0 ? (elapsed * (1 - overall)) / overall : Infinity;
      const width = 20;
      const filled = Math.round(event.fraction * width);
      const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
      const label = `${event.job.candidate} ${pointLabel(event.job.point)}${event.job.montecarlo.repetitions > 1 ? ` rep ${event.job.repetition}` : ''}`;
      const columns = stream.columns ?? 100;
      const line = `${cluster}[${finished}/${event.total} done] ${bar} ${Math.round(overall * 100)}%  ${event.trials} trials  ETA ${clock(eta)}  ${label}`;
      stream.write(`\r\x1b[2K${line.slice(0, columns - 1)}`);
      shown = true;
    },
    done: clear,
  };
}
