/** `gfra list`: plugins with summaries, references, parameters and notes. */
import { PLUGIN_KINDS, type PluginClass, type PluginKind, type Registry } from '@gfra/core';
import { plainSchema } from '../spec/schema';

type Json = Record<string, unknown>;

function describeType(s: Json): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  const union = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (union !== undefined) return union.map(describeType).join(' | ');
  if (s.type === 'object' && s.properties !== undefined) {
    return `{ ${Object.entries(s.properties as Json).map(([k, v]) => `${k}: ${describeType(v as Json)}`).join(', ')} }`;
  }
  const bounds: string[] = [];
  if (s.minimum !== undefined) bounds.push(`>= ${String(s.minimum)}`);
  if (s.exclusiveMinimum !== undefined) bounds.push(`> ${String(s.exclusiveMinimum)}`);
  if (s.maximum !== undefined) bounds.push(`<= ${String(s.maximum)}`);
  if (s.exclusiveMaximum !== undefined) bounds.push(`< ${String(s.exclusiveMaximum)}`);
  return `${String(s.type ?? 'any')}${bounds.length > 0 ? ` (${bounds.join(', ')})` : ''}`;
}

export function describePlugin(cls: PluginClass): string {
  const info = cls.plugin;
  const lines = [`  ${info.name} — ${info.summary}`];
  if (info.reference) lines.push(`      reference: ${info.reference}`);
  if (info.training !== undefined) lines.push('      training: trainable; give its candidate a `train` block (see README, Training)');
  if (info.perDeviceBits === true) lines.push('      bits per device: supported (scenario.bitsPerDevice may be a list, one J_n per device)');
  const schema = plainSchema(info.params);
  const props = Object.entries((schema.properties ?? {}) as Json);
  const required = new Set((schema.required ?? []) as string[]);
  if (props.length === 0) lines.push('      params: none');
  for (const [name, raw] of props) {
    const p = raw as Json;
    const dflt = p.default !== undefined ? ` = ${JSON.stringify(p.default)}` : required.has(name) ? ' (required)' : '';
    lines.push(`      ${name}: ${describeType(p)}${dflt}`);
    if (typeof p.description === 'string') lines.push(`          ${p.description}`);
  }
  for (const [name, what] of Object.entries(info.draws ?? {})) lines.push(`      draw ${name}: ${what}`);
  for (const note of info.notes ?? []) lines.push(`      note: ${note}`);
  return lines.join('\n');
}

export function listPlugins(registry: Registry, kind?: PluginKind): string {
  const kinds = kind === undefined ? PLUGIN_KINDS : [kind];
  return kinds
    .map((k) => {
      const classes = registry.list(k);
      return [`${k} (${classes.length})`, ...classes.map(describePlugin)].join('\n');
    })
    .join('\n\n');
}
