/**
 * Learned transmit-side objects (pilot matrices, codebooks, constellations, signatures) as plain
 * JSON, so that one spec can train them and another can load them (encoder `codebook-file`):
 *
 *   { "format": "gfra-transmit/1", "kind": "codebook", "shape": [L, N*Q],
 *     "re": [...], "im": [...],            row-major, length L*N*Q each
 *     "provenance": { ... } }               where it came from (artifact, candidate, config, ...)
 *
 * Kinds: `codebook` ([L, N*Q], column n*Q + q = sequence q of device n, the layout of
 * SideInformation.codebook), `pilots` ([L, N], Q = 1), `constellation` ([Q] points),
 * `signatures` ([L, N] spreading signatures).
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { ComplexTensor } from '../complex';

export const TRANSMIT_FORMAT = 'gfra-transmit/1';
export const TRANSMIT_KINDS = ['codebook', 'pilots', 'constellation', 'signatures'] as const;
export type TransmitKind = (typeof TRANSMIT_KINDS)[number];

export interface TransmitObject {
  readonly format: typeof TRANSMIT_FORMAT;
  readonly kind: TransmitKind;
  readonly shape: readonly number[];
  readonly re: readonly number[];
  readonly im: readonly number[];
  readonly provenance?: Readonly<Record<string, unknown>>;
}

/** A complex tensor as a {@link TransmitObject} (synchronous download; small objects). */
export function toTransmitObject(kind: TransmitKind, value: ComplexTensor, provenance?: Record<string, unknown>): TransmitObject {
  return {
    format: TRANSMIT_FORMAT,
    kind,
    shape: value.re.shape.slice(),
    re: Array.from(value.re.dataSync()),
    im: Array.from(value.im.dataSync()),
    ...(provenance !== undefined ? { provenance } : {}),
  };
}

/** The complex tensor of a {@link TransmitObject} (the caller disposes it). */
export function fromTransmitObject(obj: TransmitObject): ComplexTensor {
  return { re: tf.tensor(obj.re as number[], obj.shape as number[], 'float32'), im: tf.tensor(obj.im as number[], obj.shape as number[], 'float32') };
}

/** Check a parsed value; returns the problems (empty when it is a valid TransmitObject). */
export function transmitObjectProblems(value: unknown): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return ['is not a JSON object'];
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  if (v.format !== TRANSMIT_FORMAT) problems.push(`"format" must be "${TRANSMIT_FORMAT}" (got ${JSON.stringify(v.format)})`);
  if (!TRANSMIT_KINDS.includes(v.kind as TransmitKind)) problems.push(`"kind" must be one of ${TRANSMIT_KINDS.map((k) => `"${k}"`).join(', ')} (got ${JSON.stringify(v.kind)})`);
  const shape = v.shape;
  const shapeOk = Array.isArray(shape) && shape.length > 0 && shape.every((d) => Number.isInteger(d) && d > 0);
  if (!shapeOk) problems.push(`"shape" must be a list of positive integers (got ${JSON.stringify(shape)})`);
  const size = shapeOk ? (shape as number[]).reduce((p, d) => p * d, 1) : undefined;
  for (const part of ['re', 'im'] as const) {
    const arr = v[part];
    if (!Array.isArray(arr) || !arr.every((x) => typeof x === 'number' && Number.isFinite(x))) problems.push(`"${part}" must be a list of finite numbers`);
    else if (size !== undefined && arr.length !== size) problems.push(`"${part}" has ${arr.length} values; shape [${(shape as number[]).join(', ')}] needs ${size}`);
  }
  return problems;
}

/** Read and check a transmit-object file; throws an Error naming the file and every problem. */
export function readTransmitFile(file: string): TransmitObject {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new Error(code === 'ENOENT' ? `file not found: ${file}` : `cannot read ${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON (truncated or corrupt?); export it again with \`gfra export\``);
  }
  const problems = transmitObjectProblems(value);
  if (problems.length > 0) throw new Error(`${file} is not a gfra transmit object: ${problems.join('; ')}`);
  return value as TransmitObject;
}

/** Write a transmit object as JSON. */
export function writeTransmitFile(file: string, obj: TransmitObject): void {
  fs.writeFileSync(file, `${JSON.stringify(obj)}\n`);
}
