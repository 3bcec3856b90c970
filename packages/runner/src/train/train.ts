/**
 * Training of a spec's candidates: the programmatic form of `gfra train`, and the step
 * `gfra run` takes before evaluating (train what is missing, reuse what is cached).
 *
 * For every (point, candidate) with a `train` block the runner builds the candidate's pipeline
 * with the training overrides, in the `train` random domain (per-trial draws distinct from the
 * validation set's and from the evaluation's; draws made once, like a pilot matrix or initial
 * weights, are the same as in evaluation), and runs the generic trainer of @gfra/core on it
 * (or the plugin's own `fit`). The trained weights are written as a tfjs artifact under
 *
 *   <artifacts>/<first 16 hex digits of the key>/   (default artifacts dir: .gfra/artifacts)
 *
 * where the key is the sha256 of everything that determines them ({@link trainingKey}): the
 * artifact format, seed, sweep point, the candidate's random-stream identity, the scenario, the
 * resolved training configuration of every slot (overrides applied, defaults filled; files named
 * by parameters replaced by the sha256 of their contents), the train block (except
 * `checkpointEvery`, which does not change the weights) and the versions of the packages whose
 * plugins the candidate uses (and of tfjs). A later run with the same inputs reuses the artifact;
 * `retrain` trains again. Evaluation always loads the weights from the artifact, so a fresh and a
 * cached training give the same numbers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  ARTIFACT_FORMAT,
  BUILTIN_LOSSES,
  directoryCheckpointStore,
  FILE_PATH_KEYWORD,
  fixNativeMmapThreshold,
  GfraUserError,
  readTrainedArtifact,
  sha256,
  standardPlugins,
  train,
  TrainingInterrupted,
  TrialDomain,
  TRAIN_FIELDS_NOT_HASHED,
  TRAINING_NOISE_DRAWS,
  writeTrainedArtifact,
  type LossFunction,
  type LossPoint,
  type PluginClass,
  type Registry,
  SLOTS,
  type Slot,
  type TrainingProblem,
  type TrainingProgress,
} from '@gfra/core';
import { channelPlugins } from '@gfra/plugins-channels';
import { detectorPlugins } from '@gfra/plugins-detectors';
import { encoderPlugins } from '@gfra/plugins-encoders';
import { container as rootContainer } from 'tsyringe';
import { mapFilePaths } from '../spec/file-paths';
import { Pipeline } from '../engine/pipeline';
import type { LoadedSpec } from '../plan/load';
import type { PlannedJob, PlannedSlot, PlannedTraining } from '../plan/plan';
import type { TrainingSummary } from '../results/format';
import { canonicalJson } from '../spec/canonical';

export const DEFAULT_ARTIFACTS_DIR = path.join('.gfra', 'artifacts');

export type TrainingEvent =
  | { readonly type: 'train-start'; readonly job: PlannedJob; readonly index: number; readonly total: number; readonly dir: string; readonly resumed: boolean }
  | { readonly type: 'train-progress'; readonly job: PlannedJob; readonly index: number; readonly total: number; readonly progress: TrainingProgress }
  | { readonly type: 'train-end'; readonly job: PlannedJob; readonly index: number; readonly total: number; readonly summary: TrainingSummary };

export interface TrainOptions {
  /** Artifact directory (default .gfra/artifacts, relative to the working directory). */
  readonly artifacts?: string;
  /** Train again even when an artifact exists (and discard checkpoints). */
  readonly retrain?: boolean;
  readonly onProgress?: (event: TrainingEvent) => void;
  /** Between steps: checkpoint and stop (TrainingInterrupted). */
  readonly signal?: AbortSignal;
  /** Tests: stop abruptly after this many steps, as a killed process would. */
  readonly killAfter?: number;
}

/** Which package each built-in plugin comes from (for the versions in the cache key). */
function builtinPackages(): Map<PluginClass, { name: string; version: string }> {
  const version = (pkg: string) => (require(`${pkg}/package.json`) as { version: string }).version;
  const out = new Map<PluginClass, { name: string; version: string }>();
  const lists: [string, readonly PluginClass[]][] = [
    ['@gfra/core', standardPlugins],
    ['@gfra/plugins-channels', channelPlugins],
    ['@gfra/plugins-encoders', encoderPlugins],
    ['@gfra/plugins-detectors', detectorPlugins],
  ];
  for (const [pkg, list] of lists) for (const cls of list) out.set(cls, { name: pkg, version: version(pkg) });
  return out;
}

/** Content fingerprint of the third-party plugin modules a spec loads. */
function pluginModules(specifiers: readonly string[] | undefined, specFile: string): Record<string, string> {
  const base = path.dirname(path.resolve(specFile));
  const out: Record<string, string> = {};
  for (const spec of specifiers ?? []) {
    try {
      const target = spec.startsWith('.') || path.isAbsolute(spec) ? path.resolve(base, spec) : spec;
      const file = require.resolve(target, { paths: [base] });
      out[spec] = `sha256:${sha256(fs.readFileSync(file))}`;
    } catch {
      out[spec] = 'unresolved';
    }
  }
  return out;
}

/** A slot's config with every file-path parameter replaced by the sha256 of the file. */
function hashedFiles(registry: Registry, slot: PlannedSlot): { plugin: string; params: Record<string, unknown> } {
  const params = mapFilePaths(registry.get(slot.kind, slot.plugin).plugin.params, slot.params, (file) => {
    try {
      return `sha256:${sha256(fs.readFileSync(file))}`;
    } catch {
      return `missing:${path.basename(file)}`;
    }
  }) as Record<string, unknown>;
  return { plugin: slot.plugin, params };
}

/** The training plan of a job; throws if it has none (callers check `job.training`). */
function trainingOf(job: PlannedJob): PlannedTraining {
  if (job.training === undefined) throw new Error(`candidate "${job.candidate}" has no train block`);
  return job.training;
}

/**
 * The cache key of a trained (point, candidate): sha256 of the canonical JSON of the inputs that
 * determine the weights (returned too, and recorded in meta.json).
 */
export function trainingKey(loaded: LoadedSpec, job: PlannedJob): { key: string; inputs: Record<string, unknown> } {
  const { registry, validated } = loaded;
  const setup = trainingOf(job);
  const slots = setup.pipeline.slots;
  const packages = builtinPackages();
  const versions: Record<string, string> = { '@tensorflow/tfjs': tf.version_core };
  let thirdParty = false;
  for (const slot of SLOTS) {
    const cls = registry.get(slots[slot].kind, slots[slot].plugin);
    const pkg = packages.get(cls);
    if (pkg === undefined) thirdParty = true;
    else versions[pkg.name] = pkg.version;
  }
  const block = Object.fromEntries(Object.entries(setup.block).filter(([k]) => !(TRAIN_FIELDS_NOT_HASHED as readonly string[]).includes(k)));
  const inputs: Record<string, unknown> = {
    artifact: ARTIFACT_FORMAT,
    seed: job.seed,
    point: setup.block.shareAcrossPoints === true ? null : job.point,
    // The training pipeline's stream keys: (seed, point, repetition unless shared, candidate with
    // independent draws) and the slots' (not the metrics', which training never draws from).
    // Candidates that train identically on shared draws share one artifact.
    streams: { root: setup.pipeline.streams.root, slots: setup.pipeline.streams.slots },
    scenario: setup.pipeline.scenario,
    slots: Object.fromEntries(SLOTS.map((s) => [s, hashedFiles(registry, slots[s])])),
    train: block,
    loss: setup.loss,
    versions,
    ...(thirdParty ? { pluginModules: pluginModules(validated.spec.plugins, validated.file) } : {}),
  };
  return { key: sha256(canonicalJson(inputs)), inputs };
}

/** The artifact directory of a key. */
export function artifactDir(artifacts: string, key: string): string {
  return path.join(artifacts, key.slice(0, 16));
}

function summaryFromMeta(meta: Record<string, unknown>, dir: string, reused: boolean): TrainingSummary {
  const t = (meta.training ?? {}) as Record<string, unknown>;
  return {
    artifact: String(meta.key),
    dir,
    reused,
    steps: Number(t.steps),
    seconds: Number(t.seconds),
    stop: String(t.stop),
    finalLoss: Number(t.finalLoss),
    ...(t.bestValidationLoss !== undefined ? { bestValidationLoss: Number(t.bestValidationLoss), bestStep: Number(t.bestStep) } : {}),
    lossHistory: (meta.lossHistory ?? []) as LossPoint[],
  };
}

/** The loss the trainer uses: built-in, or the trainable plugin's own (detector first). */
function lossOf(pipeline: Pipeline, setup: PlannedTraining): LossFunction {
  if (setup.loss !== 'plugin') return BUILTIN_LOSSES[setup.loss].fn;
  const owners = setup.pipeline.trainable.filter((t) => t.capabilities.loss === true).map((t) => t.slot);
  const slot = [...SLOTS].reverse().find((s: Slot) => owners.includes(s));
  const stage = pipeline.trainables().find((t) => t.slot === slot);
  const own = stage?.instance.loss;
  if (stage === undefined || own === undefined) throw new Error(`loss "plugin": no trainable plugin implements loss()`);
  return (batch) => own.call(stage.instance, batch);
}

/**
 * The {@link TrainingProblem} of a prepared pipeline built for training (with `domain` as its
 * random streams' trial domain): its variables, its forward pass over the training or validation
 * set, the configured loss, and the plugin's own schedule if it has one. The forward pass sets the
 * trainer's pass over the training set on `domain`, so the components the domain redraws per pass
 * (`TRAINING_NOISE_DRAWS`, see {@link trainingDomain}) are drawn for that epoch.
 */
export function trainingProblem(pipeline: Pipeline, job: PlannedJob, domain: TrialDomain): TrainingProblem {
  const setup = trainingOf(job);
  const fitSlot = setup.pipeline.trainable.find((t) => t.capabilities.fit === true)?.slot;
  const fitter = pipeline.trainables().find((t) => t.slot === fitSlot);
  const fit = fitter?.instance.fit;
  return {
    variables: pipeline.variables(),
    forward: (trials, set, pass) => {
      domain.current = set;
      domain.pass = set === 'train' ? pass : undefined;
      try {
        return pipeline.forward(trials);
      } finally {
        domain.current = 'train';
        domain.pass = undefined;
      }
    },
    loss: lossOf(pipeline, setup),
    setTraining: (on) => pipeline.setTraining(on),
    afterStep: () => {
      for (const t of pipeline.trainables()) t.instance.afterStep?.();
    },
    lossTerms: () => {
      const terms = pipeline.trainables().map((t) => t.instance.lossTerms?.() ?? {});
      return Object.assign({}, ...terms) as Record<string, number>;
    },
    ...(fitter !== undefined && fit !== undefined ? { fit: { slot: fitter.slot, run: (ctx) => fit.call(fitter.instance, ctx) } } : {}),
  };
}

/**
 * The trial domain of a training pipeline: the `train` domain, whose channel noise
 * (`TRAINING_NOISE_DRAWS`) is drawn anew for every pass the trainer gives (`trainingNoise:
 * "redraw"` with a fixed training set).
 */
export function trainingDomain(): TrialDomain {
  return new TrialDomain('train', new Set(TRAINING_NOISE_DRAWS));
}

/**
 * Train one (point, candidate), or reuse its artifact. Resumes from the checkpoint of an
 * interrupted training of the same inputs.
 */
export async function trainJob(
  loaded: LoadedSpec,
  job: PlannedJob,
  options: TrainOptions & { readonly index?: number; readonly total?: number } = {},
): Promise<TrainingSummary> {
  fixNativeMmapThreshold();
  const setup = trainingOf(job);
  const artifacts = options.artifacts ?? DEFAULT_ARTIFACTS_DIR;
  const { key, inputs } = trainingKey(loaded, job);
  const dir = artifactDir(artifacts, key);
  const checkpoints = directoryCheckpointStore(`${dir}.checkpoint`);
  const index = options.index ?? 0;
  const total = options.total ?? 1;
  if (options.retrain === true) {
    fs.rmSync(dir, { recursive: true, force: true });
    checkpoints.clear();
  } else if (fs.existsSync(dir)) {
    const { meta, weights } = readTrainedArtifact(dir, { expectedKey: key });
    tf.dispose(Object.values(weights));
    const summary = summaryFromMeta(meta, dir, true);
    options.onProgress?.({ type: 'train-end', job, index, total, summary });
    return summary;
  }

  const { registry, validated } = loaded;
  const domain = trainingDomain();
  const pipeline = new Pipeline(registry, setup.pipeline, rootContainer, { domain });
  try {
    await pipeline.prepare();
    const trainables = pipeline.trainables();
    const variables = pipeline.variables();
    const problem = trainingProblem(pipeline, job, domain);
    const resumed = fs.existsSync(checkpoints.location);
    options.onProgress?.({ type: 'train-start', job, index, total, dir, resumed });
    const outcome = await train(problem, {
      config: setup.block,
      checkpoints,
      signal: options.signal,
      killAfter: options.killAfter,
      onProgress: (progress) => options.onProgress?.({ type: 'train-progress', job, index, total, progress }),
    });
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const gfra = (require('../../package.json') as { version: string }).version;
    const meta = {
      key,
      createdAt: new Date().toISOString(),
      spec: { name: validated.spec.name, file: validated.file },
      candidate: job.candidate,
      point: job.point,
      pointIndex: job.pointIndex,
      seed: job.seed,
      job: { pointIndex: job.pointIndex, point: job.point, candidate: job.candidate, pipeline: job.pipeline, trainingPipeline: setup.pipeline },
      training: {
        slots: plainSlots(setup.pipeline.slots),
        train: setup.block,
        loss: setup.loss,
        steps: outcome.steps,
        seconds: outcome.seconds,
        stop: outcome.stop,
        finalLoss: outcome.finalLoss,
        ...(outcome.bestValidationLoss !== undefined ? { bestValidationLoss: outcome.bestValidationLoss, bestStep: outcome.bestStep } : {}),
        phases: outcome.phases,
        ...(outcome.resumedFrom !== undefined ? { resumedFrom: outcome.resumedFrom } : {}),
      },
      trained: trainables.map((t) => ({
        slot: t.slot,
        plugin: t.key,
        variables: Object.fromEntries(Object.entries(t.instance.trainableVariables()).map(([n, v]) => [`${t.slot}/${n}`, v.shape])),
      })),
      lossHistory: outcome.lossHistory,
      keyInputs: inputs,
      versions: { gfra, ...(inputs.versions as Record<string, string>), node: process.version },
      backend: tf.getBackend(),
    };
    const plain = plainSlots(setup.pipeline.slots);
    const topology = { candidate: job.candidate, slots: Object.fromEntries(trainables.map((t) => [t.slot, plain[t.slot]])) };
    await writeTrainedArtifact(dir, variables, meta, topology, `gfra ${gfra} (tfjs ${tf.version_core})`);
    checkpoints.clear();
    const summary = summaryFromMeta(meta as unknown as Record<string, unknown>, dir, false);
    options.onProgress?.({ type: 'train-end', job, index, total, summary });
    return summary;
  } finally {
    pipeline.dispose();
  }
}

/**
 * Train (or reuse) every job of `jobs` that has a train block, one after another. Returns the
 * summary per position in `jobs`.
 */
export async function ensureTrained(
  loaded: LoadedSpec,
  jobs: readonly PlannedJob[],
  options: TrainOptions & {
    /**
     * A training that throws (but is not interrupted) is handed here, with its position in `jobs`,
     * and the others still train; without it, the first error ends ensureTrained.
     */
    readonly onFailure?: (position: number, error: unknown) => void;
  } = {},
): Promise<Map<number, TrainingSummary>> {
  const out = new Map<number, TrainingSummary>();
  const trained = jobs.map((job, position) => ({ job, position })).filter(({ job }) => job.training !== undefined);
  if (trained.length > 0) checkArtifactsFolder(options.artifacts ?? DEFAULT_ARTIFACTS_DIR);
  for (const [index, { job, position }] of trained.entries()) {
    try {
      out.set(position, await trainJob(loaded, job, { ...options, index, total: trained.length }));
    } catch (err) {
      if (options.onFailure === undefined || err instanceof TrainingInterrupted || options.signal?.aborted === true) throw err;
      options.onFailure(position, err);
    }
  }
  return out;
}

/** The artifacts folder, when it exists, must be a folder (checked once, before any training). */
function checkArtifactsFolder(dir: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    return; // created by the first artifact written
  }
  if (!stat.isDirectory()) {
    throw new GfraUserError(`--artifacts ${dir} is a file, not a folder: trained artifacts are folders inside it. Remove the file, or name another folder with --artifacts`);
  }
}

/**
 * Warnings for candidates that have trainable plugins but no train block (they are evaluated with
 * their initial weights).
 */
export function untrainedWarnings(jobs: readonly PlannedJob[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const job of jobs) {
    if (job.training !== undefined || seen.has(job.candidate)) continue;
    const first = job.pipeline.trainable[0];
    if (first === undefined) continue;
    seen.add(job.candidate);
    out.push(`candidate "${job.candidate}" has a trainable ${first.slot} ("${job.pipeline.slots[first.slot].plugin}") but no train block: it is evaluated with its initial weights`);
  }
  return out;
}

/** Slots as a spec writes them, `{ plugin, params }` (what meta.json and model.json record). */
function plainSlots(slots: Readonly<Record<Slot, PlannedSlot>>): Record<Slot, { plugin: string; params: Record<string, unknown> }> {
  return Object.fromEntries(SLOTS.map((s) => [s, { plugin: slots[s].plugin, params: slots[s].params }])) as Record<Slot, { plugin: string; params: Record<string, unknown> }>;
}
