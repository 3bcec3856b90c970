/**
 * The one place where a plugin's descriptor callbacks (`check`, `requires`, `provides`,
 * `statistics`, `training`) are evaluated. Each is called once per (slot configuration, scenario)
 * and its answer is kept in a {@link ResolvedSlot}; a callback that throws becomes a problem
 * report against the plugin instead of a crash.
 */
import type { Capability, ParamProblem, PluginClass, PluginKind, Registry, Scenario, StatisticInfo, TrainingCapabilities } from '@gfra/core';
import type { SlotConfig } from '../spec/schema';

/** A plugin slot with everything its descriptor says about it at one scenario. */
export interface ResolvedSlot {
  readonly kind: PluginKind;
  readonly plugin: string;
  readonly params: Record<string, unknown>;
  /** Spec path of the slot, for messages (`candidates.amp.detector`, `metrics[0]`). */
  readonly path: string;
  /** Problems `check` found in the params (paths inside `params`). */
  readonly problems: readonly ParamProblem[];
  readonly requires: readonly Capability[];
  readonly provides: readonly Capability[];
  /** Metrics: the statistics it reports. */
  readonly statistics: readonly StatisticInfo[];
  /** Trainable plugins: what the instance offers a trainer; undefined when there is nothing to train. */
  readonly training: TrainingCapabilities | undefined;
}

/** Ask the descriptor of `kind:config.plugin` everything at `scenario`. */
/** `"per-device-bernoulli", "ser"`: the plugins of a kind that support bits per device, or "none yet". */
function perDeviceBitsPlugins(registry: Registry, kind: PluginKind): string {
  const names = registry.names(kind).filter((n) => registry.get(kind, n).plugin.perDeviceBits === true);
  return names.length > 0 ? names.map((n) => `"${n}"`).join(', ') : 'none is registered';
}

export function resolveSlot(registry: Registry, kind: PluginKind, config: SlotConfig, scenario: Scenario, path: string): ResolvedSlot {
  const info = registry.get(kind, config.plugin).plugin;
  const problems: ParamProblem[] = [];
  const ask = <T>(name: string, fn: (() => T) | undefined, fallback: T): T => {
    if (fn === undefined) return fallback;
    try {
      return fn();
    } catch (err) {
      problems.push({ path: '', message: `${kind} plugin "${config.plugin}": its descriptor's ${name}() failed: ${err instanceof Error ? err.message : String(err)}`, hint: 'Fix the plugin' });
      return fallback;
    }
  };
  const p = config.params;
  const checked = ask('check', info.check === undefined ? undefined : () => info.check?.(p, scenario) ?? [], [] as readonly ParamProblem[]);
  if (scenario.deviceBits !== undefined && info.perDeviceBits !== true) {
    problems.push({
      path: '',
      message: `${kind} "${config.plugin}" gives every device the same number of bits, but scenario.bitsPerDevice gives one per device ([${scenario.deviceBits.join(', ')}])`,
      hint: `Give scenario.bitsPerDevice as one number, or use ${kind} plugins that support bits per device (${perDeviceBitsPlugins(registry, kind)})`,
    });
  }
  return {
    kind,
    plugin: config.plugin,
    params: config.params,
    path,
    problems: [...checked, ...problems],
    requires: ask('requires', info.requires === undefined ? undefined : () => info.requires?.(p, scenario) ?? [], []),
    provides: ask('provides', info.provides === undefined ? undefined : () => info.provides?.(p, scenario) ?? [], []),
    statistics: ask('statistics', info.statistics === undefined ? undefined : () => info.statistics?.(p, scenario) ?? [], []),
    training: ask('training', info.training === undefined ? undefined : () => info.training?.(p, scenario), undefined),
  };
}

/** The small scenario on which registered plugins are probed with their default params, for hints. */
export const PROBE_SCENARIO: Scenario = { numDevices: 2, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 0 };

/** Defaults of a TypeBox object schema (top-level `default`s only). */
export function defaultParams(schema: { properties?: Record<string, { default?: unknown }> }): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(schema.properties ?? {})
      .filter(([, s]) => s.default !== undefined)
      .map(([k, s]) => [k, structuredClone(s.default)]),
  );
}

/**
 * Registered plugins of `kinds` probed with their default params on {@link PROBE_SCENARIO}, for
 * hints such as "channel rayleigh provides largeScaleFading with default parameters".
 */
export function probeRegistered(registry: Registry, kinds: readonly PluginKind[]): { kind: PluginKind; cls: PluginClass; slot: ResolvedSlot }[] {
  return kinds.flatMap((kind) =>
    registry.list(kind).map((cls) => ({
      kind,
      cls,
      slot: resolveSlot(registry, kind, { plugin: cls.plugin.name, params: defaultParams(cls.plugin.params) }, PROBE_SCENARIO, kind),
    })),
  );
}
