/**
 * The one slot order of a pipeline, in signal order: traffic -> encoder -> channel -> detector,
 * then the metrics. Every list of slots in gfra derives from {@link SLOTS}; a slot's name is also
 * the kind of plugin it holds.
 */
import type { PluginKind } from './plugin';

/** The pipeline slots a candidate may configure, in signal order. */
export const SLOTS = ['traffic', 'encoder', 'channel', 'detector'] as const;
export type Slot = (typeof SLOTS)[number];

/** The slots upstream of the detector, which provide its side information. */
export const UPSTREAM_SLOTS = ['traffic', 'encoder', 'channel'] as const satisfies readonly Slot[];
export type UpstreamSlot = (typeof UPSTREAM_SLOTS)[number];

/** The kind of plugin a slot holds (the slot's own name). */
export function slotKind(slot: Slot): PluginKind {
  return slot;
}
