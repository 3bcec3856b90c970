/**
 * `gfra export`: write the learned transmit-side object of a trained candidate (its encoder's
 * codebook / pilot matrix) as a plain JSON transmit object, loadable by the `codebook-file`
 * encoder in another spec; with `--format constellation`, a codebook as a constellation/v1 file
 * (one codeword table per user, with energies and minimum distances).
 *
 * The source is a trained artifact directory (it holds meta.json), or a run (its directory or
 * results.json) plus the candidate's name (and the sweep point's index when the run has several).
 * The candidate's pipeline is rebuilt from the configuration recorded in the artifact, the trained
 * weights are loaded, and the encoder's transmit object (`Trainable.transmitObject`, else the
 * codebook it gives the receiver) is written with its provenance.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  constellationFile,
  constellationJson,
  cx,
  deviceBits,
  GfraUserError,
  readTrainedArtifact,
  SLOTS,
  toTransmitObject,
  writeTransmitFile,
  type ConstellationFile,
  type Registry,
  type Scenario,
  type Slot,
  type TransmitObject,
} from '@gfra/core';
import { container as rootContainer } from 'tsyringe';
import { Pipeline } from '../engine/pipeline';
import { resolveSlot } from '../plan/descriptors';
import { planPipeline, type PipelinePlan } from '../plan/plan';
import { canonicalJson } from '../spec/canonical';
import type { JobResult } from '../results/format';
import type { SlotConfig } from '../spec/schema';
import { builtinRegistry, loadPluginModules } from '../spec/plugins';

/** The job record of an artifact's meta.json. */
interface ArtifactJob {
  readonly point: Readonly<Record<string, unknown>>;
  readonly candidate: string;
  /** Written since the plan existed. */
  readonly pipeline?: PipelinePlan;
  /** The pipeline during training (overrides applied), written since whole-slot overrides existed. */
  readonly trainingPipeline?: PipelinePlan;
  /** Written before: the candidate's resolved slots. */
  readonly config?: {
    readonly scenario: Scenario;
    readonly metrics: readonly SlotConfig[];
    readonly montecarlo: { readonly commonRandomNumbers: boolean };
    readonly paths: Readonly<Record<Slot, string>>;
  } & Readonly<Record<Slot, SlotConfig>>;
}

/** The evaluation pipeline of an artifact's job (planned again for artifacts written before plans were recorded). */
function artifactPipeline(registry: Registry, job: ArtifactJob, seed: number, dir: string): PipelinePlan {
  // The pipeline that was trained (it holds every trained weight; a slot replaced for training,
  // e.g. the receiver, differs from the evaluated one), else (older artifacts) the evaluated one.
  if (job.trainingPipeline !== undefined) return job.trainingPipeline;
  if (job.pipeline !== undefined) return job.pipeline;
  const c = job.config;
  if (c === undefined) throw new GfraUserError(`${dir}/meta.json records no pipeline; train again (gfra train SPEC --retrain)`);
  const slots = Object.fromEntries(SLOTS.map((s) => [s, resolveSlot(registry, s, c[s], c.scenario, c.paths[s])])) as Record<Slot, ReturnType<typeof resolveSlot>>;
  const metrics = c.metrics.map((m, i) => resolveSlot(registry, 'metric', m, c.scenario, `metrics[${i}]`));
  const plan = planPipeline({ seed, point: job.point, candidate: job.candidate, repetition: 0, draws: 'independent' }, c.scenario, slots, metrics);
  if (!c.montecarlo.commonRandomNumbers) return plan;
  // The stream keys of the retired `commonRandomNumbers: true`: keyed by slot configuration.
  const config = (s: { plugin: string; params: Record<string, unknown> }) => canonicalJson({ plugin: s.plugin, params: s.params });
  return {
    ...plan,
    streams: {
      root: [seed, canonicalJson(job.point), '*'],
      slots: Object.fromEntries(SLOTS.map((s) => [s, `${s}:${config(slots[s])}`])) as Record<Slot, string>,
      metrics: metrics.map((m) => `metric:${config(m)}`),
    },
  };
}

type TrainingSlots = Readonly<Record<string, { readonly plugin: string; readonly params: Record<string, unknown> }>>;

/**
 * A pipeline with the slots as they were during training (meta.training.slots): an artifact
 * written before `trainingPipeline` was recorded, of a candidate whose receiver was replaced for
 * training, holds that receiver's weights.
 */
function withTrainingSlots(registry: Registry, plan: PipelinePlan, training: TrainingSlots | undefined): PipelinePlan {
  if (training === undefined) return plan;
  const slots = Object.fromEntries(
    SLOTS.map((s) => {
      const t = training[s];
      const same = t === undefined || (t.plugin === plan.slots[s].plugin && canonicalJson(t.params) === canonicalJson(plan.slots[s].params));
      return [s, same ? plan.slots[s] : { ...plan.slots[s], plugin: t.plugin, params: t.params }];
    }),
  ) as PipelinePlan['slots'];
  const trainable = SLOTS.flatMap((slot) => {
    const capabilities = registry.get(slots[slot].kind, slots[slot].plugin).plugin.training?.(slots[slot].params, plan.scenario);
    return capabilities === undefined ? [] : [{ slot, capabilities }];
  });
  return { ...plan, slots, trainable };
}

export interface ExportOptions {
  /** Candidate name (needed for a run). */
  readonly candidate?: string;
  /** Index of the sweep point (0-based, in the run's order), when the run has several. */
  readonly point?: number;
  /** The repetition (0-based), when the run has several (`montecarlo.repetitions`). */
  readonly repetition?: number;
}

/** The artifact directory that `target` (artifact dir, run dir or results.json) designates. */
export function resolveArtifact(target: string, options: ExportOptions = {}): string {
  if (fs.existsSync(path.join(target, 'meta.json'))) return target;
  const file = target.endsWith('.json') ? target : path.join(target, 'results.json');
  if (!fs.existsSync(file)) {
    throw new GfraUserError(`${target} is neither a trained artifact (no meta.json) nor a run (no results.json). Give a run directory, its results.json, or an artifact directory under .gfra/artifacts`);
  }
  let results: JobResult[];
  try {
    results = (JSON.parse(fs.readFileSync(file, 'utf8')) as { results: JobResult[] }).results;
  } catch {
    throw new GfraUserError(`${file} is not a valid results.json`);
  }
  const trained = results.filter((r) => r.training !== undefined);
  if (trained.length === 0) throw new GfraUserError(`${file}: no candidate of this run was trained (none has a train block)`);
  const names = [...new Set(trained.map((r) => r.candidate))];
  const candidate = options.candidate ?? (names.length === 1 ? names[0] : undefined);
  if (candidate === undefined) throw new GfraUserError(`${file}: several trained candidates (${names.join(', ')}); choose one with --candidate`);
  let mine = trained.filter((r) => r.candidate === candidate);
  const repetitions = [...new Set(mine.flatMap((r) => (r.repetition === undefined ? [] : [r.repetition])))].sort((a, b) => a - b);
  if (repetitions.length > 0) {
    if (options.repetition === undefined) {
      throw new GfraUserError(`${file}: candidate "${candidate}" was trained once per repetition (${repetitions.join(', ')}); choose one with --repetition`);
    }
    if (!repetitions.includes(options.repetition)) {
      throw new GfraUserError(`--repetition must be one of ${repetitions.join(', ')} (got ${options.repetition})`);
    }
    mine = mine.filter((r) => r.repetition === options.repetition);
  } else if (options.repetition !== undefined && options.repetition !== 0) {
    throw new GfraUserError(`${file}: the run has no repetitions; leave out --repetition (or give 0)`);
  }
  if (mine.length === 0) {
    const all = [...new Set(results.map((r) => r.candidate))];
    throw new GfraUserError(
      all.includes(candidate)
        ? `${file}: candidate "${candidate}" was not trained (no train block). Trained: ${names.join(', ')}`
        : `${file}: no candidate "${candidate}". Trained candidates: ${names.join(', ')}`,
    );
  }
  // Points that share one model (train.shareAcrossPoints) need no --point.
  if (new Set(mine.map((r) => r.training?.dir)).size === 1 && options.point === undefined) mine = mine.slice(0, 1);
  if (mine.length > 1 && options.point === undefined) {
    const list = mine.map((r, i) => `${i}: ${JSON.stringify(r.point)}`).join('; ');
    throw new GfraUserError(`${file}: candidate "${candidate}" was trained at ${mine.length} sweep points; choose one with --point (${list})`);
  }
  const index = options.point ?? 0;
  if (!Number.isInteger(index) || index < 0 || index >= mine.length) {
    throw new GfraUserError(`--point must be an integer in [0, ${mine.length - 1}] (got ${options.point})`);
  }
  return (mine[index].training as NonNullable<JobResult['training']>).dir;
}

/** The learned codebook of the trained candidate in artifact `dir`, with its provenance. */
export async function exportTransmit(dir: string): Promise<TransmitObject> {
  const fix = `Delete ${dir} and train again (gfra train SPEC --retrain)`;
  const { meta, weights } = readTrainedArtifact(dir, { fix });
  try {
    const job = meta.job as ArtifactJob;
    const registry = builtinRegistry();
    const keyInputs = meta.keyInputs as { pluginModules?: Record<string, string> } | undefined;
    const spec = meta.spec as { name: string; file: string };
    if (keyInputs?.pluginModules !== undefined) loadPluginModules(registry, Object.keys(keyInputs.pluginModules), spec.file);
    const plan = withTrainingSlots(registry, artifactPipeline(registry, job, meta.seed as number, dir), (meta.training as { slots?: TrainingSlots } | undefined)?.slots);
    const pipeline = new Pipeline(registry, plan, rootContainer);
    try {
      await pipeline.prepare({ tensors: weights, file: dir, fix });
      // The encoder's own transmit object if it defines one, else the codebook the receiver gets.
      const own = pipeline.trainables().find((t) => t.slot === 'encoder')?.instance.transmitObject?.();
      const kind = own?.kind ?? 'codebook';
      const value = own?.value ?? pipeline.sideInformation().codebook;
      if (value === undefined) {
        throw new GfraUserError(`${dir}: the encoder "${plan.slots.encoder.plugin}" of candidate "${job.candidate}" provides no codebook to export`);
      }
      const training = meta.training as Record<string, unknown>;
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const gfra = (require('../../package.json') as { version: string }).version;
      const provenance = {
        exportedBy: `gfra ${gfra}`,
        exportedAt: new Date().toISOString(),
        artifact: meta.key,
        spec: spec.name,
        candidate: job.candidate,
        point: job.point,
        seed: meta.seed,
        scenario: plan.scenario,
        encoder: { plugin: plan.slots.encoder.plugin, params: plan.slots.encoder.params },
        trainedWith: {
          detector: { plugin: plan.slots.detector.plugin, params: plan.slots.detector.params },
          channel: (training.slots as Record<string, unknown>).channel,
          traffic: (training.slots as Record<string, unknown>).traffic,
          train: training.train,
          loss: training.loss,
          steps: training.steps,
          bestValidationLoss: training.bestValidationLoss,
        },
      };
      const obj = toTransmitObject(kind, value, provenance);
      if (own !== undefined) cx.dispose(own.value);
      return obj;
    } finally {
      pipeline.dispose();
    }
  } finally {
    tf.dispose(Object.values(weights));
  }
}

/** What `gfra export` writes. */
export type ExportFormat = 'transmit' | 'constellation';

/**
 * A learned codebook as a constellation/v1 file: one table of 2^{bits_n} codewords per user, with
 * its energies and minimum distances (the values as sent: gfra's unit-energy convention).
 */
export function transmitToConstellation(obj: TransmitObject): ConstellationFile {
  const provenance = (obj.provenance ?? {}) as { scenario?: Scenario; candidate?: string; seed?: number; trainedWith?: Record<string, unknown> };
  if (obj.kind !== 'codebook' || provenance.scenario === undefined) {
    throw new GfraUserError(`the encoder exports a ${obj.kind}; --format constellation needs a codebook with one codeword per message (e.g. mulvae-encoder, scma-codebook)`);
  }
  const trained = provenance.trainedWith ?? {};
  return constellationFile({ re: obj.re, im: obj.im, K: obj.shape[0] }, deviceBits(provenance.scenario), {
    source: provenance.candidate ?? 'gfra',
    energyConvention: 'E||x_n||^2 = 1 (gfra: per-RE SNR, sigma^2 = 10^(-SNR/10) / K; the same as E||x_n||^2 = K with SNR = 1/sigma^2)',
    training: { channel: trained.channel, seed: provenance.seed, steps: trained.steps, train: trained.train },
    provenance: obj.provenance,
  });
}

/** `gfra export`: resolve the source, export, write `out`. Returns the object written. */
export async function exportToFile(target: string, out: string, options: ExportOptions & { readonly format?: ExportFormat } = {}): Promise<TransmitObject | ConstellationFile> {
  const obj = await exportTransmit(resolveArtifact(target, options));
  const written = options.format === 'constellation' ? transmitToConstellation(obj) : obj;
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  if (written === obj) writeTransmitFile(out, obj);
  else fs.writeFileSync(out, constellationJson(written as ConstellationFile));
  return written;
}
