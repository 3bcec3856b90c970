/**
 * The plugin registry, on a tsyringe container.
 *
 * Plugin classes are registered under one token per kind (`useValue`); the container is the one
 * source of truth, and lookups (`find`, `list`) read it with `resolveAll`. Instances are made
 * through a child container that holds the plugin's validated parameters, so a plugin's
 * constructor simply asks for `@inject(TOKENS.params)`.
 *
 * A registry is an object, not a process-wide singleton: tests and runs make their own.
 */
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { GfraUserError, suggestion } from './errors';
import {
  KIND_TOKENS,
  PLUGIN_KINDS,
  TOKENS,
  pluginKey,
  type KindInstance,
  type PluginClass,
  type PluginKind,
} from './plugin';

const NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** A plugin name that is not registered. */
export class UnknownPluginError extends GfraUserError {
  override readonly name = 'UnknownPluginError';
  constructor(
    readonly kind: PluginKind,
    readonly pluginName: string,
    readonly available: readonly string[],
  ) {
    super(`Unknown ${kind} plugin "${pluginName}". ${suggestion(pluginName, available)}`);
  }
}

export class Registry {
  constructor(readonly container: DependencyContainer = rootContainer.createChildContainer()) {}

  /** Register one plugin class. Registering the same kind and name twice is an error. */
  register(cls: PluginClass): this {
    const info = cls.plugin;
    if (info === undefined) {
      throw new Error(`Cannot register ${cls.name}: it has no static "plugin" descriptor`);
    }
    if (!PLUGIN_KINDS.includes(info.kind)) {
      throw new Error(`Cannot register ${cls.name}: unknown kind "${info.kind}" (use one of ${PLUGIN_KINDS.join(', ')})`);
    }
    if (!NAME_PATTERN.test(info.name)) {
      throw new Error(`Cannot register ${cls.name}: plugin name "${info.name}" must be kebab-case (e.g. "mmv-amp")`);
    }
    if (info.params?.type !== 'object') {
      throw new Error(`Cannot register ${pluginKey(info)}: params must be a TypeBox object schema`);
    }
    if (info.kind === 'metric' && info.statistics === undefined) {
      throw new Error(`Cannot register ${pluginKey(info)}: a metric must declare its statistics`);
    }
    const existing = this.find(info.kind, info.name);
    if (existing !== undefined) {
      throw new Error(`Plugin ${pluginKey(info)} is already registered (by ${existing.name}); plugin names must be unique per kind`);
    }
    this.container.register(KIND_TOKENS[info.kind], { useValue: cls });
    return this;
  }

  /** Register a list of plugin classes. */
  registerAll(classes: readonly PluginClass[]): this {
    for (const cls of classes) this.register(cls);
    return this;
  }

  /** The plugin class for kind and name, or undefined. */
  find(kind: PluginKind, name: string): PluginClass | undefined {
    return this.list(kind).find((cls) => cls.plugin.name === name);
  }

  /** The plugin class for kind and name; throws {@link UnknownPluginError} with a suggestion. */
  get(kind: PluginKind, name: string): PluginClass {
    const cls = this.find(kind, name);
    if (cls === undefined) throw new UnknownPluginError(kind, name, this.names(kind));
    return cls;
  }

  /** All plugin classes of a kind (or of every kind), in registration order. */
  list(kind?: PluginKind): PluginClass[] {
    const kinds = kind === undefined ? PLUGIN_KINDS : [kind];
    return kinds.flatMap((k) =>
      this.container.isRegistered(KIND_TOKENS[k], true) ? this.container.resolveAll<PluginClass>(KIND_TOKENS[k]) : [],
    );
  }

  names(kind: PluginKind): string[] {
    return this.list(kind).map((c) => c.plugin.name);
  }

  /**
   * Instantiate a plugin through a child of `parent` holding its validated `params`, plus any
   * further `values` (token -> value) the caller registers for it.
   */
  create<K extends PluginKind>(
    kind: K,
    name: string,
    params: unknown,
    parent: DependencyContainer,
    values: ReadonlyMap<symbol, unknown> = new Map(),
  ): KindInstance[K] {
    const cls = this.get(kind, name);
    const child = parent.createChildContainer();
    child.register(TOKENS.params, { useValue: params });
    for (const [token, value] of values) child.register(token, { useValue: value });
    return child.resolve(cls as unknown as new (...args: unknown[]) => KindInstance[K]);
  }
}

/**
 * The plugin classes among a module's exports — values with a static `plugin` descriptor — in
 * export order. A plugin package lists its plugins as one `export * from './<plugin>'` line each
 * in a barrel module and registers `pluginClassesIn(barrel)`, so adding a plugin is one line.
 */
export function pluginClassesIn(exports: object): PluginClass[] {
  const out: PluginClass[] = [];
  for (const value of Object.values(exports)) {
    if (typeof value !== 'function' || out.includes(value as PluginClass)) continue;
    const info = (value as { plugin?: unknown }).plugin;
    if (info !== null && typeof info === 'object' && 'kind' in info && 'name' in info) out.push(value as PluginClass);
  }
  return out;
}
