/**
 * The system sizes every plugin reads, declared once in a spec's `scenario` block.
 *
 * Symbols: N numDevices, M numAntennas, L sequenceLength (pilot length, or resource elements in
 * code-domain NOMA), J bitsPerDevice (Q = 2^J sequences or symbols per device).
 *
 * `bitsPerDevice` may also be a list, one J_n per device (heterogeneous rates, e.g. [1, 1, 1, 2,
 * 2, 2]): device n then has Q_n = 2^{J_n} messages. Plugins see the resolved {@link Scenario}:
 * `bitsPerDevice` is J = max_n J_n (messages are indices in [0, 2^J), device n's in [0, Q_n)), and
 * `deviceBits` lists the J_n. Only plugins whose descriptor declares `perDeviceBits` accept a
 * scenario with `deviceBits`; the runner refuses the others at validation.
 */
import { Type, type Static } from '@sinclair/typebox';

const Bits = Type.Integer({ minimum: 0, maximum: 16, description: 'J: bits an active device embeds per block (Q = 2^J sequences per device); 0 = activity only' });

export const ScenarioSchema = Type.Object(
  {
    numDevices: Type.Integer({ minimum: 1, description: 'N: number of devices (users)' }),
    numAntennas: Type.Integer({ minimum: 1, default: 1, description: 'M: receive antennas at the base station' }),
    sequenceLength: Type.Integer({
      minimum: 1,
      description: 'L: pilot / sequence length, or number of resource elements (NOMA)',
    }),
    bitsPerDevice: Type.Union([Bits, Type.Array(Bits, { minItems: 1 })], {
      default: 0,
      description:
        'J: bits an active device embeds per block (Q = 2^J sequences per device); 0 = activity only. A list gives each device its own J_n (one entry per device; plugins that support it only)',
    }),
  },
  { additionalProperties: false, description: 'System sizes, read by every plugin' },
);
/** The `scenario` block of a spec, as written. */
export type ScenarioSpec = Static<typeof ScenarioSchema>;

/** The scenario plugins receive (a spec's block, resolved by {@link resolveScenario}). */
export interface Scenario {
  readonly numDevices: number;
  readonly numAntennas: number;
  readonly sequenceLength: number;
  /** J = max_n J_n: messages are indices in [0, 2^J). */
  readonly bitsPerDevice: number;
  /** J_n of every device, when they differ or were given as a list (heterogeneous rates); absent otherwise. */
  readonly deviceBits?: readonly number[];
}

/**
 * The scenario plugins see: a list `bitsPerDevice` becomes its maximum plus `deviceBits`. A list
 * whose length is not N is left for the caller to report ({@link scenarioProblems}).
 */
export function resolveScenario(spec: ScenarioSpec): Scenario {
  const { numDevices, numAntennas, sequenceLength, bitsPerDevice } = spec;
  if (typeof bitsPerDevice === 'number') return { numDevices, numAntennas, sequenceLength, bitsPerDevice };
  return { numDevices, numAntennas, sequenceLength, bitsPerDevice: Math.max(...bitsPerDevice), deviceBits: [...bitsPerDevice] };
}

/** Problems of a scenario block beyond its schema: a `bitsPerDevice` list must have N entries. */
export function scenarioProblems(spec: ScenarioSpec): { path: string; message: string; hint: string }[] {
  const b = spec.bitsPerDevice;
  return typeof b !== 'number' && b.length !== spec.numDevices
    ? [{ path: 'bitsPerDevice', message: `has ${b.length} entries, but numDevices is ${spec.numDevices}`, hint: 'Give one number of bits per device, or a single number for all' }]
    : [];
}

/** Q = 2^J: sequences (or symbols) per device (the largest, with per-device bits). */
export function numSequences(s: Scenario): number {
  return 2 ** s.bitsPerDevice;
}

/** J_n of every device (all J without per-device bits). */
export function deviceBits(s: Scenario): number[] {
  return s.deviceBits !== undefined ? [...s.deviceBits] : new Array<number>(s.numDevices).fill(s.bitsPerDevice);
}

/** Q_n = 2^{J_n}: the messages of every device. */
export function deviceSequences(s: Scenario): number[] {
  return deviceBits(s).map((j) => 2 ** j);
}
