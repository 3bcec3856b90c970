/**
 * Terminal progress of training: one self-rewriting line on stderr with the candidate, step,
 * training loss, validation loss (and the best so far), rate and ETA, refreshed at most ten
 * times a second; a line per candidate when it is trained or reused. Silent in CI (`CI` set) or
 * when asked to be quiet; without a terminal only the per-candidate lines are written.
 */
import { clock } from './progress';
import { formatNumber } from '../results/format';
import { pointLabel } from '../spec/sweep';
import type { TrainingEvent } from '../train/train';

export interface TrainingSink {
  readonly onTraining: (event: TrainingEvent) => void;
  /** Clear the progress line. */
  readonly done: () => void;
}

export function trainingSink(options: { quiet: boolean; stream?: NodeJS.WriteStream }): TrainingSink {
  const stream = options.stream ?? process.stderr;
  const silent = options.quiet || Boolean(process.env.CI);
  const interactive = !silent && stream.isTTY === true;
  let shown = false;
  let last = 0;
  const clear = () => {
    if (shown) stream.write('\r\x1b[2K');
    shown = false;
  };
  const label = (e: { job: TrainingEvent['job']; index: number; total: number }) => {
    const point = Object.keys(e.job.point).length > 0 ? ` ${pointLabel(e.job.point)}` : '';
    const rep = e.job.montecarlo.repetitions > 1 ? ` repetition ${e.job.repetition}` : '';
    return `${e.total > 1 ? `[${e.index + 1}/${e.total}] ` : ''}${e.job.candidate}${point}${rep}`;
  };
  return {
    onTraining(event) {
      if (silent) return;
      if (event.type === 'train-start') {
        clear();
        stream.write(`training ${label(event)}${event.resumed ? ' (resuming from its checkpoint)' : ''} -> ${event.dir}\n`);
        return;
      }
      if (event.type === 'train-end') {
        clear();
        const s = event.summary;
        const val = s.bestValidationLoss !== undefined ? `, best validation loss ${formatNumber(s.bestValidationLoss)} at step ${s.bestStep}` : '';
        const how = s.reused ? 'using trained' : `trained in ${s.seconds.toFixed(1)} s:`;
        stream.write(`${how} ${label(event)}${s.reused ? ` (${s.dir})` : ''}${s.reused ? '' : ` ${s.steps} steps, loss ${formatNumber(s.finalLoss)}${val}${s.stop === 'early-stopping' ? ' (early stopping)' : ''}`}\n`);
        return;
      }
      if (!interactive) return;
      const now = Date.now();
      const p = event.progress;
      if (now - last < 100 && p.step < p.totalSteps) return;
      last = now;
      const val = p.validationLoss !== undefined ? `  val ${formatNumber(p.validationLoss)} (best ${formatNumber(p.bestValidationLoss ?? null)})` : '';
      const phase = p.phase === 'main' ? '' : ` ${p.phase}`;
      const line = `training ${label(event)}${phase}  step ${p.step}/${p.totalSteps}  loss ${formatNumber(p.loss)}${val}  ${p.stepsPerSecond.toFixed(1)} steps/s  ETA ${clock(p.etaSeconds)}`;
      stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 120) - 1)}`);
      shown = true;
    },
    done: clear,
  };
}
