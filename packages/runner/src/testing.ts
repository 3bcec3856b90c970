/** Helpers for runner tests: a small valid spec to start from, and the issues a spec raises. */
import { SpecError, type SpecIssue } from '@gfra/core';
import { planObject } from './plan/load';
import { builtinRegistry } from './spec/plugins';

/** A small, fast, valid spec (as a plain object, before defaults). */
export function tinySpec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    name: 'tiny',
    seed: 7,
    scenario: { numDevices: 20, numAntennas: 4, sequenceLength: 8, bitsPerDevice: 0 },
    traffic: { plugin: 'bernoulli', params: { activityProb: 0.2 } },
    channel: { plugin: 'rayleigh', params: { snrDb: 5 } },
    encoder: { plugin: 'gaussian-pilots', params: {} },
    candidates: {
      energy: { detector: { plugin: 'correlation-energy', params: { threshold: { rule: 'false-alarm', falseAlarm: 0.05 } } } },
    },
    metrics: [{ plugin: 'activity', params: {} }],
    montecarlo: { batchSize: 16, targetEvents: 40, maxTrials: 400, maxSeconds: 60 },
  };
  return { ...base, ...overrides };
}

/** The issues validating and planning `spec` raises (path, message, hint; no positions), or none. */
export function planIssues(spec: unknown): Omit<SpecIssue, 'line' | 'column'>[] {
  try {
    planObject(spec, 'spec.json', builtinRegistry());
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    return err.issues.map(({ path, message, hint }) => ({ path, message, ...(hint !== undefined ? { hint } : {}) }));
  }
  return [];
}
