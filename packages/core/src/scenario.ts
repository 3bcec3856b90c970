/**
 * The system sizes every plugin reads, declared once in a spec's `scenario` block.
 *
 * Symbols: N numDevices, M numAntennas, L sequenceLength (pilot length, or resource elements in
 * code-domain NOMA), J bitsPerDevice (Q = 2^J sequences or symbols per device).
 */
import { Type, type Static } from '@sinclair/typebox';

export const ScenarioSchema = Type.Object(
  {
    numDevices: Type.Integer({ minimum: 1, description: 'N: number of devices (users)' }),
    numAntennas: Type.Integer({ minimum: 1, default: 1, description: 'M: receive antennas at the base station' }),
    sequenceLength: Type.Integer({
      minimum: 1,
      description: 'L: pilot / sequence length, or number of resource elements (NOMA)',
    }),
    bitsPerDevice: Type.Integer({
      minimum: 0,
      maximum: 16,
      default: 0,
      description: 'J: bits an active device embeds per block (Q = 2^J sequences per device); 0 = activity only',
    }),
  },
  { additionalProperties: false, description: 'System sizes, read by every plugin' },
);
export type Scenario = Static<typeof ScenarioSchema>;

/** Q = 2^J: sequences (or symbols) per device. */
export function numSequences(s: Scenario): number {
  return 2 ** s.bitsPerDevice;
}
