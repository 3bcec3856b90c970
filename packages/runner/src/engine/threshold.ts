/**
 * The thresholding module of a candidate's `threshold` block: fit gamma* on training-domain
 * trials, then make it the pipeline's activity decision.
 */
import { fitThreshold, type TrialDomain } from '@gfra/core';
import type { PlannedThreshold } from '../plan/plan';
import type { ThresholdSummary } from '../results/format';
import type { Pipeline } from './pipeline';

/**
 * The thresholding module (Cui, Li, Zhang [Cui2021], Sec. IV-C): gamma* minimising misses + false alarms of
 * `activityScore >= gamma` over trials 0 .. trials - 1 of the training domain (for a trained
 * candidate, its training set: the same traffic, channel and noise draws), then set on the
 * pipeline for the evaluation.
 */
export function fitActivityThreshold(pipeline: Pipeline, domain: TrialDomain, config: PlannedThreshold): ThresholdSummary {
  domain.current = 'train';
  try {
    const scores: Float32Array[] = [];
    const active: Float32Array[] = [];
    for (let first = 0; first < config.trials; first += config.batchSize) {
      const batch = pipeline.activityScores({ first, count: Math.min(config.batchSize, config.trials - first) });
      scores.push(batch.scores);
      active.push(batch.active);
    }
    const concat = (parts: Float32Array[]): Float32Array => {
      const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    };
    const fit = fitThreshold(concat(scores), concat(active));
    pipeline.setActivityThreshold(fit.gamma);
    return { gamma: fit.gamma, trials: config.trials, fittedErrorRate: fit.errors / fit.samples };
  } finally {
    domain.current = undefined;
  }
}

