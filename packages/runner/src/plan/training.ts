/**
 * Semantic checks of a candidate's `train` block (the schema has checked its form):
 *
 * - the candidate has at least one trainable plugin (descriptor `training`), at most one of which
 *   drives its own schedule (`fit`);
 * - the loss can be computed: "bce" / "mse" / "ce" need the detector to provide activityScore /
 *   channel / bitLLR; "plugin" needs a trainable plugin with its own loss;
 * - the length is given: `steps`, or `epochs` with `trainingSetSize`;
 * - every `overrides` path is a plugin parameter of a slot (`channel.params.snrDb`), and the
 *   overridden configuration is itself valid.
 *
 * It also resolves what the trainer needs: the candidate's slots with the overrides applied and
 * defaults filled ({@link TrainingSetup}).
 */
import { resolveScenario, SLOTS, type Capability, type Registry, type Slot, type TrainConfig, type TrainingCapabilities } from '@gfra/core';
import type { RawIssue } from '../spec/ajv-issues';
import type { PathSegment } from '../spec/json-location';
import type { SlotConfig, Spec } from '../spec/schema';
import { FORBIDDEN_SEGMENTS, forbiddenSegment, pathSegments } from '../spec/sweep';
import { probeRegistered, resolveSlot, type ResolvedSlot } from './descriptors';

/** What the trainer of one (point, candidate) needs, resolved at planning. */
export interface TrainingSetup {
  /** The train block, defaults applied. */
  readonly block: TrainConfig;
  /** The candidate's slots during training: overrides applied, defaults filled, descriptors asked. */
  readonly slots: Readonly<Record<Slot, ResolvedSlot>>;
  /** The loss after resolving "auto". */
  readonly loss: 'bce' | 'mse' | 'ce' | 'plugin';
}

/** The trainable slots of resolved slots, with what their plugins offer, in pipeline order. */
export function trainableSlots(slots: Readonly<Record<Slot, ResolvedSlot>>): { slot: Slot; capabilities: TrainingCapabilities }[] {
  return SLOTS.flatMap((slot) => (slots[slot].training === undefined ? [] : [{ slot, capabilities: slots[slot].training as TrainingCapabilities }]));
}

/** `encoder "learned-pilots", detector "mlp-activity"`: the registered trainable plugins. */
function trainablePluginList(registry: Registry): string {
  const names = probeRegistered(registry, SLOTS)
    .filter(({ slot }) => slot.training !== undefined)
    .map(({ kind, cls }) => `${kind} "${cls.plugin.name}"`);
  return names.length > 0 ? names.join(', ') : 'none is registered';
}

const LOSS_NEEDS: Readonly<Record<'bce' | 'mse' | 'ce', { field: Capability; what: string }>> = {
  bce: { field: 'activityScore', what: 'activity scores (activityScore)' },
  mse: { field: 'channel', what: 'channel estimates (channel)' },
  ce: { field: 'bitLLR', what: 'bit LLRs (bitLLR)' },
};

export interface TrainCheckInput {
  readonly registry: Registry;
  /** The spec at this sweep point, defaults applied. */
  readonly spec: Spec;
  readonly candidate: string;
  /** The candidate's resolved slots at this point (evaluation configuration). */
  readonly slots: Readonly<Record<Slot, ResolvedSlot>>;
  /** ` (at sweep point ...)` or empty. */
  readonly where: string;
  /** Validate a whole spec (defaults filled in place); returns its schema issues. */
  readonly validate: (spec: Spec) => RawIssue[];
}

/** Check a candidate's train block; returns the issues and, when there are none, the setup. */
export function checkTrain(input: TrainCheckInput): { issues: RawIssue[]; setup?: TrainingSetup } {
  const { registry, spec, candidate, slots, where } = input;
  const block = spec.candidates[candidate].train as TrainConfig;
  const at: PathSegment[] = ['candidates', candidate, 'train'];
  const issues: RawIssue[] = [];
  const scenario = resolveScenario(spec.scenario);

  // Overrides: paths <slot>.params.<name>..., applied on a copy validated like the spec itself.
  const copy = structuredClone(spec);
  const local = copy.candidates[candidate] as unknown as Record<string, unknown>;
  const okKeys: string[] = [];
  for (const [key, value] of Object.entries(block.overrides)) {
    const segments = pathSegments(key);
    const slot = segments[0] as Slot;
    const forbidden = forbiddenSegment(key);
    if (forbidden !== undefined) {
      issues.push({
        segments: [...at, 'overrides', key],
        message: `cannot override "${key}" for training: "${forbidden}" names JavaScript's object machinery, not a parameter`,
        hint: 'Override paths go through the spec\'s own keys only ("__proto__", "constructor" and "prototype" are refused), e.g. "channel.params.snrDb"',
      });
      continue;
    }
    if (SLOTS.includes(slot) && segments.length === 1) {
      // A whole slot for training, e.g. "detector": { "plugin": "sicnn" } to train an encoder
      // through a trainable receiver and evaluate it with another one.
      local[slot] = structuredClone(value);
      okKeys.push(key);
      continue;
    }
    if (!SLOTS.includes(slot) || segments[1] !== 'params' || segments.length < 3) {
      issues.push({
        segments: [...at, 'overrides', key],
        message: `cannot override "${key}" for training`,
        hint: 'Override a plugin parameter of traffic, channel, encoder or detector, e.g. "channel.params.snrDb", or a whole slot, e.g. "detector": { "plugin": "sicnn" }',
      });
      continue;
    }
    if (overridesWholeSlot(block.overrides, slot)) {
      issues.push({
        segments: [...at, 'overrides', key],
        message: `cannot override "${key}" together with the whole "${slot}" slot`,
        hint: `Put the parameter in the "${slot}" override's params`,
      });
      continue;
    }
    local[slot] ??= structuredClone({ plugin: slots[slot].plugin, params: slots[slot].params });
    setPathCreating(local, segments, structuredClone(value));
    okKeys.push(key);
  }
  if (okKeys.length > 0) {
    const prefix = `candidates.${candidate}.`;
    const keyFor = (path: string) =>
      okKeys.find((k) => path === `${prefix}${k}` || path.startsWith(`${prefix}${k}.`)) ??
      okKeys.find((k) => path.startsWith(`${prefix}${k.split('.')[0]}.`));
    for (const raw of input.validate(copy)) {
      const path = raw.segments.map(String).join('.');
      const key = keyFor(path);
      if (key === undefined) continue;
      issues.push({ segments: [...at, 'overrides', key], message: `value for ${path.slice(prefix.length)} ${raw.message}`, hint: raw.hint });
    }
  }
  const overridden = new Map(okKeys.map((k) => [k.split('.')[0] as Slot, k])); // each overridden slot once
  const trainingSlots = Object.fromEntries(
    SLOTS.map((s) => {
      const config = local[s] as SlotConfig | undefined;
      return [s, overridden.has(s) && config !== undefined && issues.length === 0 ? resolveSlot(registry, s, config, scenario, slots[s].path) : slots[s]];
    }),
  ) as Record<Slot, ResolvedSlot>;
  if (issues.length === 0) {
    for (const [slot, key] of overridden) {
      for (const problem of trainingSlots[slot].problems) {
        issues.push({ segments: [...at, 'overrides', key], message: `during training, ${slot}.params${problem.path === '' ? '' : `.${problem.path}`}: ${problem.message}${where}`, hint: problem.hint });
      }
    }
  }

  // Something to train, at most one own schedule.
  const trainable = issues.length === 0 ? trainableSlots(trainingSlots) : trainableSlots(slots);
  if (trainable.length === 0) {
    const have = SLOTS.map((s) => `${s} "${slots[s].plugin}"`).join(', ');
    issues.push({
      segments: at,
      message: `candidate "${candidate}" has a train block, but none of its plugins is trainable (${have})${where}`,
      hint: `Use a trainable plugin (${trainablePluginList(registry)}), or remove "train"`,
    });
  }
  const fits = trainable.filter((t) => t.capabilities.fit === true);
  if (fits.length > 1) {
    issues.push({
      segments: at,
      message: `candidate "${candidate}": ${fits.map((f) => `${f.slot} "${slots[f.slot].plugin}"`).join(' and ')} both drive their own training schedule${where}`,
      hint: 'Only one plugin of a candidate may have its own schedule (fit); freeze the other',
    });
  }

  // Loss.
  const owners = trainable.filter((t) => t.capabilities.loss === true);
  const loss = block.loss === 'auto' ? (owners.length > 0 ? 'plugin' : 'bce') : block.loss;
  if (loss === 'plugin' && owners.length === 0 && trainable.length > 0) {
    issues.push({
      segments: [...at, 'loss'],
      message: `is "plugin", but no trainable plugin of candidate "${candidate}" has its own loss (${trainable.map((t) => `${t.slot} "${slots[t.slot].plugin}"`).join(', ')})`,
      hint: 'Use "bce" (activity), "mse" (channel estimate) or "ce" (messages)',
    });
  } else if (loss !== 'plugin') {
    const detector = trainingSlots.detector;
    const provides = detector.provides;
    const need = LOSS_NEEDS[loss];
    if (!provides.includes(need.field)) {
      const which = (Object.keys(LOSS_NEEDS) as ('bce' | 'mse' | 'ce')[]).filter((l) => provides.includes(LOSS_NEEDS[l].field));
      issues.push({
        segments: [...at, 'loss'],
        message: `${block.loss === 'auto' ? '"auto" (bce)' : `"${loss}"`} needs ${need.what} from the detector, but detector "${detector.plugin}" of candidate "${candidate}" provides only ${provides.join(', ') || 'nothing'}`,
        hint: which.length > 0 ? `Use ${which.map((l) => `"${l}"`).join(' or ')}` : 'Use a detector that provides it',
      });
    }
  }

  // Length.
  if (block.steps === undefined && block.epochs === undefined) {
    issues.push({ segments: at, message: 'needs a length: "steps", or "epochs" with "trainingSetSize"', hint: 'E.g. "steps": 2000 (fresh samples every batch)' });
  } else if (block.steps !== undefined && block.epochs !== undefined) {
    issues.push({ segments: [...at, 'epochs'], message: 'cannot be given together with "steps"', hint: 'Give either "steps" or "epochs"' });
  } else if (block.epochs !== undefined && block.trainingSetSize === undefined) {
    issues.push({
      segments: [...at, 'epochs'],
      message: 'needs "trainingSetSize" (an epoch is one pass over a fixed training set)',
      hint: 'Add "trainingSetSize": <trials>, or give "steps" to draw fresh samples for every batch',
    });
  }
  if (issues.length > 0) return { issues };
  return { issues, setup: { block, slots: trainingSlots, loss } };
}

function overridesWholeSlot(overrides: Readonly<Record<string, unknown>>, slot: Slot): boolean {
  return Object.hasOwn(overrides, slot);
}

/**
 * The slots whose trained weights an evaluation loads: the trainable slots of the training
 * pipeline that run the same plugin at evaluation (a slot replaced for training, e.g. a trainable
 * receiver that teaches an encoder and is then swapped for a classical one, is left out).
 */
export function evaluatedTrainedSlots(training: Readonly<Record<Slot, { readonly plugin: string }>>, evaluation: Readonly<Record<Slot, { readonly plugin: string }>>): Slot[] {
  return SLOTS.filter((s) => training[s].plugin === evaluation[s].plugin);
}

/**
 * Set `segments` in `root` through own properties only, creating objects on the way (replacing
 * non-objects). A {@link FORBIDDEN_SEGMENTS} name throws (refused earlier with a message).
 */
function setPathCreating(root: Record<string, unknown>, segments: readonly PathSegment[], value: unknown): void {
  if (segments.some((s) => FORBIDDEN_SEGMENTS.has(String(s)))) throw new Error(`setPathCreating: "${segments.join('.')}" is not a path of own properties`);
  let node = root as Record<string | number, unknown>;
  for (const s of segments.slice(0, -1)) {
    const next = Object.hasOwn(node, s) ? node[s] : undefined;
    if (next === null || typeof next !== 'object') node[s] = {};
    node = node[s] as Record<string | number, unknown>;
  }
  node[segments[segments.length - 1]] = value;
}
