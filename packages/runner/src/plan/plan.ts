/**
 * The plan: a validated spec turned into the list of jobs to run, one per (sweep point,
 * candidate), each carrying everything the engine, the trainer and a worker need as plain data —
 * resolved plugins and params, scenario, the side information granted to the detector, the
 * statistics its metrics report, training and threshold settings, and the keys of its random
 * streams. It is built once, after validation; nothing downstream asks a plugin descriptor again.
 *
 * Planning also runs the semantic checks (each plugin's `check`, what the detector needs from
 * upstream, what the metrics need from the detector, train blocks), so every problem is reported
 * before anything runs.
 */
import {
  ESTIMATE_FIELDS,
  ORACLE_KNOWLEDGE,
  resolveScenario,
  scenarioProblems,
  type Knowledge,
  SLOTS,
  SpecError,
  UPSTREAM_SLOTS,
  type Capability,
  type EstimateField,
  type PluginKind,
  type Registry,
  type Scenario,
  type Slot,
  type StatisticInfo,
  type TrainConfig,
  type TrainingCapabilities,
} from '@gfra/core';
import { inFileOrder, issueCollector, type RawIssue } from '../spec/ajv-issues';
import { canonicalJson } from '../spec/canonical';
import { formatPath, type PathSegment } from '../spec/json-location';
import type { MonteCarlo, SlotConfig, Spec } from '../spec/schema';
import { degenerateScenarioIssue, tensorSizeIssues, type BatchSource, type SweptParam } from '../spec/limits';
import { pathSegments, pointLabel, sweepAxes, type Assignment } from '../spec/sweep';
import type { ValidatedSpec } from '../spec/validate';
import { probeRegistered, resolveSlot, type ResolvedSlot } from './descriptors';
import { checkTrain } from './training';

/** A plugin slot of a planned pipeline: which plugin, its validated params, and where it is in the spec. */
export interface PlannedSlot {
  readonly kind: PluginKind;
  readonly plugin: string;
  readonly params: Record<string, unknown>;
  /** Spec path of the slot's configuration, for messages. */
  readonly path: string;
}

/**
 * The keys of a pipeline's random streams (see RandomStreams in @gfra/core). With shared draws
 * (the default) a draw is keyed by (seed, point, [repetition], slot, draw name, trial): neither the
 * candidate nor any plugin parameter enters it, so candidates that use the same traffic and
 * channel see identical activity, messages, fading and noise, and encoders that draw the same
 * named sequence (`pilots` of gaussian-pilots, whatever `normalize`; the initial draw of
 * learned-pilots) start from the same numbers. Independent draws add the candidate to the root.
 * Repetition 0 has no repetition part, so adding repetitions never changes the first one.
 */
export interface StreamKeys {
  /** (seed, point, [`repetition:r` for r > 0], [candidate with independent draws]). */
  readonly root: readonly (string | number)[];
  /** Under the root, per slot. */
  readonly slots: Readonly<Record<Slot, string>>;
  /** Under the root, per metric. */
  readonly metrics: readonly string[];
}

/** One pipeline (traffic -> encoder -> channel -> detector -> metrics), resolved. */
export interface PipelinePlan {
  readonly scenario: Scenario;
  readonly slots: Readonly<Record<Slot, PlannedSlot>>;
  readonly metrics: readonly PlannedSlot[];
  /** The side information the upstream plugins provide: the detector sees exactly these. */
  readonly granted: readonly Capability[];
  /** The oracle knowledge (ORACLE_KNOWLEDGE) the detector requires: its results are a bound. */
  readonly oracle?: readonly Capability[];
  /** The estimate fields the detector declares it returns (checked on every batch). */
  readonly outputs: readonly EstimateField[];
  /** The statistics the metrics report, in metric order. */
  readonly statistics: readonly StatisticInfo[];
  /** Slots whose plugins are trainable with these params, in pipeline order, with what they offer. */
  readonly trainable: readonly { readonly slot: Slot; readonly capabilities: TrainingCapabilities }[];
  readonly streams: StreamKeys;
}

/** What the trainer of one job needs. */
export interface PlannedTraining {
  /** The train block, defaults applied. */
  readonly block: TrainConfig;
  /** The loss after resolving "auto". */
  readonly loss: 'bce' | 'mse' | 'ce' | 'plugin';
  /** The pipeline during training: the block's overrides applied. */
  readonly pipeline: PipelinePlan;
}

/** The thresholding module of a candidate, trials resolved. */
export interface PlannedThreshold {
  readonly trials: number;
  readonly batchSize: number;
}

/** One (point, candidate): plain data, safe to send to a worker thread. */
export interface PlannedJob {
  /** Position in the spec's job list (point-major, then candidates in spec order, then repetitions). */
  readonly index: number;
  readonly pointIndex: number;
  readonly point: Assignment;
  readonly candidate: string;
  /** 0 .. montecarlo.repetitions - 1: which independent run of this (point, candidate). */
  readonly repetition: number;
  readonly seed: number;
  readonly montecarlo: MonteCarlo;
  readonly pipeline: PipelinePlan;
  readonly training?: PlannedTraining;
  readonly threshold?: PlannedThreshold;
}

/** The resolved slots of one candidate at one point: its overrides on top of the spec's slots. */
export function candidateSlots(spec: Spec, candidate: string): Record<Slot, { config: SlotConfig; path: string }> {
  const c = spec.candidates[candidate];
  const pick = (slot: Slot) =>
    slot === 'detector'
      ? { config: c.detector, path: `candidates.${candidate}.detector` }
      : c[slot] !== undefined
        ? { config: c[slot] as SlotConfig, path: `candidates.${candidate}.${slot}` }
        : { config: spec[slot], path: slot };
  return Object.fromEntries(SLOTS.map((s) => [s, pick(s)])) as Record<Slot, { config: SlotConfig; path: string }>;
}

/** Where a pipeline sits in a run: what its random streams are keyed by. */
export interface PipelineIdentity {
  readonly seed: number;
  readonly point: Assignment;
  readonly candidate: string;
  readonly repetition: number;
  /** `montecarlo.draws`: shared by every candidate, or a stream per candidate. */
  readonly draws: MonteCarlo['draws'];
}

/** The root key of a pipeline's random streams (see {@link StreamKeys}). */
export function streamRoot(identity: PipelineIdentity): (string | number)[] {
  return [
    identity.seed,
    canonicalJson(identity.point),
    ...(identity.repetition > 0 ? [`repetition:${identity.repetition}`] : []),
    ...(identity.draws === 'independent' ? [identity.candidate] : []),
  ];
}

/** The plan of a pipeline from resolved slots (descriptors already asked). */
export function planPipeline(
  identity: PipelineIdentity,
  scenario: Scenario,
  slots: Readonly<Record<Slot, ResolvedSlot>>,
  metrics: readonly ResolvedSlot[],
): PipelinePlan {
  const planned = (s: ResolvedSlot): PlannedSlot => ({ kind: s.kind, plugin: s.plugin, params: s.params, path: s.path });
  return {
    scenario,
    slots: Object.fromEntries(SLOTS.map((s) => [s, planned(slots[s])])) as Record<Slot, PlannedSlot>,
    metrics: metrics.map(planned),
    granted: [...new Set([...UPSTREAM_SLOTS.flatMap((s) => slots[s].provides), ...ORACLE_KNOWLEDGE])],
    ...(slots.detector.requires.some((r) => ORACLE_KNOWLEDGE.includes(r as Knowledge))
      ? { oracle: slots.detector.requires.filter((r) => ORACLE_KNOWLEDGE.includes(r as Knowledge)) }
      : {}),
    outputs: ESTIMATE_FIELDS.filter((f) => slots.detector.provides.includes(f)),
    statistics: metrics.flatMap((m) => m.statistics),
    trainable: SLOTS.flatMap((slot) => (slots[slot].training === undefined ? [] : [{ slot, capabilities: slots[slot].training as TrainingCapabilities }])),
    streams: {
      root: streamRoot(identity),
      slots: Object.fromEntries(SLOTS.map((s) => [s, s])) as Record<Slot, string>,
      metrics: metrics.map((_, i) => `metric${i}`),
    },
  };
}

/** Validate a spec object against the schema in place; its schema issues (for training overrides). */
export type SchemaCheck = (spec: Spec) => RawIssue[];

/**
 * Plan every (point, candidate) of a validated spec. Throws {@link SpecError} listing every
 * semantic problem (in file order, with positions when `locate` is given).
 */
export function planJobs(
  validated: ValidatedSpec,
  registry: Registry,
  schemaCheck: SchemaCheck,
  locate?: (segments: PathSegment[]) => { line: number; column: number } | undefined,
): PlannedJob[] {
  const { issues, add } = issueCollector(locate);
  // Tensor sizes: per spec path, the largest tensor over every job (reported once).
  const sizes = new Map<string, { issue: RawIssue; elements: number }>();
  const jobs: PlannedJob[] = [];
  validated.pointSpecs.forEach((pointSpec, pointIndex) => {
    const point = validated.points[pointIndex];
    const where = Object.keys(point).length > 0 ? ` (at sweep point ${pointLabel(point)})` : '';
    const swept = sweptParam(validated.spec.sweep, point);
    for (const problem of scenarioProblems(pointSpec.scenario)) add({ segments: ['scenario', problem.path], message: `${problem.message}${where}`, hint: problem.hint });
    const scenario = resolveScenario(pointSpec.scenario);
    const metrics = pointSpec.metrics.map((m, i) => resolveSlot(registry, 'metric', m, scenario, `metrics[${i}]`));
    checkMetrics(metrics, add);
    for (const candidate of Object.keys(pointSpec.candidates)) {
      const picked = candidateSlots(pointSpec, candidate);
      const slots = Object.fromEntries(SLOTS.map((s) => [s, resolveSlot(registry, s, picked[s].config, scenario, picked[s].path)])) as Record<Slot, ResolvedSlot>;
      const c = pointSpec.candidates[candidate];
      const repetitions = pointSpec.montecarlo.repetitions;
      const identity = (repetition: number): PipelineIdentity => ({ seed: pointSpec.seed, point, candidate, repetition, draws: pointSpec.montecarlo.draws });
      const threshold =
        c.threshold === undefined
          ? undefined
          : { trials: c.threshold.trials ?? c.train?.trainingSetSize ?? 2000, batchSize: c.threshold.batchSize ?? pointSpec.montecarlo.batchSize };
      checkCandidate(registry, candidate, slots, metrics, threshold !== undefined, where, add);
      const degenerate = degenerateScenarioIssue(scenario, UPSTREAM_SLOTS.flatMap((s) => slots[s].provides), swept);
      if (degenerate !== undefined) add(degenerate);
      for (const batch of batchSources(pointSpec, candidate, threshold)) {
        const shapes = {
          perResourceChannel: slots.channel.plugin === 'per-resource-rayleigh',
          perTrialCodebook: slots.encoder.params.redraw === 'per-trial',
        };
        for (const size of tensorSizeIssues(scenario, batch, swept, shapes)) {
          const key = formatPath(size.issue.segments);
          if ((sizes.get(key)?.elements ?? 0) < size.elements) sizes.set(key, size);
        }
      }
      let training: ((repetition: number) => PlannedTraining) | undefined;
      if (c.train !== undefined) {
        const { issues: trainIssues, setup } = checkTrain({
          registry,
          spec: pointSpec,
          candidate,
          slots,
          where,
          validate: schemaCheck,
        });
        trainIssues.forEach(add);
        if (setup !== undefined) {
          // One training per repetition (its own initialisation and training data), or the
          // first repetition's model for all of them.
          // With shareAcrossPoints the training draws are keyed without the sweep point, so
          // points whose training configuration is the same share one model.
          const shared = setup.block.shareAcrossRepetitions === true;
          const acrossPoints = setup.block.shareAcrossPoints === true;
          training = (repetition) => ({
            block: setup.block,
            loss: setup.loss,
            pipeline: planPipeline({ ...identity(shared ? 0 : repetition), ...(acrossPoints ? { point: {} } : {}) }, scenario, setup.slots, metrics),
          });
        }
      }
      for (let repetition = 0; repetition < repetitions; repetition++) {
        jobs.push({
          index: jobs.length,
          pointIndex,
          point,
          candidate,
          repetition,
          seed: pointSpec.seed,
          montecarlo: pointSpec.montecarlo,
          pipeline: planPipeline(identity(repetition), scenario, slots, metrics),
          ...(training === undefined ? {} : { training: training(repetition) }),
          ...(threshold === undefined ? {} : { threshold }),
        });
      }
    }
  });
  for (const { issue } of sizes.values()) add(issue);
  if (issues.length > 0) throw new SpecError(validated.file, inFileOrder(issues));
  return jobs;
}

/**
 * The sweep entry (`sweep[key][index]`) that sets a dotted path at `point`, or undefined when the
 * path is not swept.
 */
function sweptParam(sweep: Spec['sweep'], point: Assignment): SweptParam {
  const axes = sweepAxes(sweep);
  return (path) => {
    if (!Object.hasOwn(point, path)) return undefined;
    const axis = axes.find((a) => a.paths.includes(path));
    if (axis === undefined) return undefined;
    const value = axis.paths.length === 1 ? point[path] : axis.paths.map((p) => point[p]);
    const index = axis.values.findIndex((v) => JSON.stringify(v) === JSON.stringify(value));
    return ['sweep', axis.key, Math.max(0, index)];
  };
}

/**
 * The batch sizes a job runs its pipeline with: evaluation (capped by maxTrials), the threshold
 * fit (capped by its trials) and training (capped by a fixed training set), largest first.
 */
function batchSources(spec: Spec, candidate: string, threshold: PlannedThreshold | undefined): BatchSource[] {
  const mc = spec.montecarlo;
  const c = spec.candidates[candidate];
  const out: BatchSource[] = [{ size: Math.min(mc.batchSize, mc.maxTrials), segments: ['montecarlo', 'batchSize'], value: mc.batchSize, context: '' }];
  if (threshold !== undefined) {
    const own = c.threshold?.batchSize !== undefined;
    out.push({
      size: Math.min(threshold.batchSize, threshold.trials),
      segments: own ? ['candidates', candidate, 'threshold', 'batchSize'] : ['montecarlo', 'batchSize'],
      value: threshold.batchSize,
      context: ` while fitting the threshold of candidate "${candidate}"`,
    });
  }
  if (c.train !== undefined) {
    out.push({
      size: Math.min(c.train.batchSize, c.train.trainingSetSize ?? Infinity),
      segments: ['candidates', candidate, 'train', 'batchSize'],
      value: c.train.batchSize,
      context: ` during training of candidate "${candidate}"`,
    });
  }
  return out.sort((a, b) => b.size - a.size);
}

/** Two metrics must not report a statistic of the same name. */
function checkMetrics(metrics: readonly ResolvedSlot[], add: (i: RawIssue) => void): void {
  const owners = new Map<string, number>();
  metrics.forEach((m, i) => {
    const clashes = new Map<number, string[]>();
    for (const { name } of m.statistics) {
      const prev = owners.get(name);
      if (prev !== undefined) clashes.set(prev, [...(clashes.get(prev) ?? []), name]);
      else owners.set(name, i);
    }
    for (const [prev, names] of clashes) {
      add({ segments: ['metrics', i], message: `produces ${names.map((n) => `"${n}"`).join(', ')}, already produced by metrics[${prev}]`, hint: 'List each metric once' });
    }
  });
}

/**
 * Each plugin's own checks; the detector's requirements against what traffic, encoder and
 * channel provide; the metrics' requirements against what the detector estimates.
 */
function checkCandidate(
  registry: Registry,
  candidate: string,
  slots: Readonly<Record<Slot, ResolvedSlot>>,
  metrics: readonly ResolvedSlot[],
  hasThreshold: boolean,
  where: string,
  add: (i: RawIssue) => void,
): void {
  for (const slot of SLOTS) {
    const at = [...pathSegments(slots[slot].path), 'params'];
    for (const problem of slots[slot].problems) {
      add({ segments: [...at, ...(problem.path === '' ? [] : pathSegments(problem.path))], message: `${problem.message}${where}`, hint: problem.hint });
    }
  }
  const detector = slots.detector;
  const available = new Set([...UPSTREAM_SLOTS.flatMap((s) => slots[s].provides), ...ORACLE_KNOWLEDGE]);
  const missing = detector.requires.filter((n) => !available.has(n));
  if (missing.length > 0) {
    const have = UPSTREAM_SLOTS.map((s) => {
      const at = slots[s].path === s ? '' : ` (${slots[s].path})`;
      return `${s} "${slots[s].plugin}"${at}: ${slots[s].provides.join(', ') || 'nothing'}`;
    }).join('; ');
    add({
      segments: pathSegments(detector.path),
      message: `candidate "${candidate}": detector "${detector.plugin}" needs ${missing.join(', ')}, which nothing upstream provides (${have})${where}`,
      hint: `Configure the traffic, encoder or channel to provide it (${providersOf(registry, missing)}), or give "${detector.plugin}" parameters that do not need it`,
    });
  }
  const estimate = new Set(detector.provides);
  if (hasThreshold) {
    if (!estimate.has('activityScore')) {
      add({
        segments: [...pathSegments(detector.path).slice(0, -1), 'threshold'],
        message: `candidate "${candidate}": the threshold block needs an activityScore from the detector, but "${detector.plugin}" provides only ${[...estimate].join(', ') || 'nothing'}${where}`,
        hint: 'Remove the threshold block or use a detector that outputs a soft activity score',
      });
    }
    estimate.add('activity');
  }
  metrics.forEach((m, i) => {
    for (const problem of m.problems) {
      add({ segments: ['metrics', i, 'params', ...(problem.path === '' ? [] : pathSegments(problem.path))], message: `${problem.message}${where}`, hint: problem.hint });
    }
    const lacking = m.requires.filter((n) => !estimate.has(n));
    if (lacking.length > 0) {
      add({
        segments: ['metrics', i],
        message: `metric "${m.plugin}" needs ${lacking.join(', ')} from the detector, but candidate "${candidate}"'s detector "${detector.plugin}" provides only ${[...estimate].join(', ') || 'nothing'}${where}`,
        hint: 'Remove the metric or use a detector that estimates it',
      });
    }
  });
}

/** "channel rayleigh provides largeScaleFading with default parameters" hints. */
function providersOf(registry: Registry, missing: readonly Capability[]): string {
  const lines = probeRegistered(registry, UPSTREAM_SLOTS)
    .map(({ kind, cls, slot }) => ({ kind, name: cls.plugin.name, hits: missing.filter((m) => slot.provides.includes(m)) }))
    .filter((p) => p.hits.length > 0)
    .map((p) => `${p.kind} "${p.name}" provides ${p.hits.join(', ')} with default parameters`);
  return lines.length > 0 ? lines.join('; ') : 'no registered plugin provides it';
}
