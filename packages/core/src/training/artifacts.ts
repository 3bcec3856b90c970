/**
 * Trained artifacts and checkpoints on disk.
 *
 * A trained artifact is a directory in the tfjs model-artifact format plus a meta file:
 *
 *   model.json   { format, generatedBy, modelTopology: { gfra: ... }, weightsManifest:
 *                  [{ paths: ["weights.bin"], weights: [{ name, shape, dtype }] }] }
 *   weights.bin  the weights, concatenated as tf.io.encodeWeights writes them
 *   meta.json    what was trained, the full resolved config, seed, loss history, versions, the
 *                sha256 of weights.bin, and `checksums`: the sha256 of model.json and of meta.json
 *                itself (without `checksums`), each as canonical JSON (sorted keys)
 *
 * Weights are named `<slot>/<variable>` (`encoder/pilotsRe`). A checkpoint is a directory with
 * checkpoint.json (trainer state, manifest, checksum) and checkpoint.bin (weights, optimizer
 * state, best weights so far). Both are written to a temporary directory and renamed into place,
 * so an interrupted write never leaves a torn artifact; reading verifies the JSON, the manifest
 * (names, shapes, dtypes), the byte count and the checksums, and reports any problem with the
 * file and how to fix it: an edited model.json (a weight's dtype) or meta.json (the fields
 * results.json copies) is refused, not used. Artifacts written before `checksums` existed are
 * read with the other checks.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { GfraUserError } from '../errors';

/** A trained artifact or checkpoint that cannot be used (corrupt, truncated, mismatched). */
export class ArtifactError extends GfraUserError {
  override readonly name = 'ArtifactError';
  constructor(
    readonly file: string,
    problem: string,
    readonly fix: string,
  ) {
    super(`${file}: ${problem}. ${fix}`);
  }
}

export const ARTIFACT_FORMAT = 'gfra-trained/1';
export const CHECKPOINT_FORMAT = 'gfra-checkpoint/1';
const WEIGHTS_FILE = 'weights.bin';
const CHECKPOINT_BIN = 'checkpoint.bin';

type Json = Record<string, unknown>;

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

const BYTES_PER: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** JSON with sorted keys and no white space: what the `checksums` of meta.json hash. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Json)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The `checksums` meta.json records: model.json's and its own (without this field). */
function checksumsOf(model: Json, meta: Json): Record<string, string> {
  const { checksums: _ignored, ...rest } = meta;
  return { 'model.json': sha256(canonicalJson(model)), 'meta.json': sha256(canonicalJson(rest)) };
}

function manifestBytes(specs: readonly tf.io.WeightsManifestEntry[]): number {
  return specs.reduce((sum, s) => sum + s.shape.reduce((p, d) => p * d, 1) * (BYTES_PER[s.dtype] ?? 4), 0);
}

/** Tensors as tf.io.encodeWeights bytes, in the given (deterministic) order. */
export async function encodeTensors(tensors: Readonly<Record<string, tf.Tensor>>): Promise<{ data: Uint8Array; specs: tf.io.WeightsManifestEntry[] }> {
  const named = Object.entries(tensors).map(([name, tensor]) => ({ name, tensor }));
  const { data, specs } = await tf.io.encodeWeights(named);
  return { data: new Uint8Array(data), specs };
}

function readJson(file: string, fix: string): Json {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new ArtifactError(file, code === 'ENOENT' ? 'is missing (the directory is incomplete)' : `cannot be read (${(err as Error).message})`, fix);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as Json;
  } catch {
    throw new ArtifactError(file, `is not valid JSON (${text.length} bytes; truncated or corrupt)`, fix);
  }
}

/** Read and verify a binary file against its manifest and checksum, then decode it. */
function readBinary(file: string, specs: tf.io.WeightsManifestEntry[], expectedSha: unknown, fix: string): tf.NamedTensorMap {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new ArtifactError(file, code === 'ENOENT' ? 'is missing (the directory is incomplete)' : `cannot be read (${(err as Error).message})`, fix);
  }
  const expected = manifestBytes(specs);
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'is truncated' : 'is longer than its manifest';
    throw new ArtifactError(file, `${what}: it has ${bytes.length} bytes, the manifest lists ${expected}`, fix);
  }
  const actual = sha256(bytes);
  if (actual !== expectedSha) {
    throw new ArtifactError(file, `checksum mismatch: sha256 ${actual.slice(0, 12)}..., recorded ${String(expectedSha).slice(0, 12)}... (the file was modified or corrupted)`, fix);
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  try {
    return tf.io.decodeWeights(buffer, specs);
  } catch (err) {
    throw new ArtifactError(file, `cannot be decoded with its manifest (${err instanceof Error ? err.message : String(err)})`, fix);
  }
}

function manifestOf(json: Json, file: string, binName: string, fix: string): tf.io.WeightsManifestEntry[] {
  const groups = json.weightsManifest;
  const ok =
    Array.isArray(groups) &&
    groups.length === 1 &&
    Array.isArray((groups[0] as Json).paths) &&
    ((groups[0] as Json).paths as unknown[]).length === 1 &&
    ((groups[0] as Json).paths as unknown[])[0] === binName &&
    Array.isArray((groups[0] as Json).weights) &&
    ((groups[0] as Json).weights as Json[]).every((w) => typeof w?.name === 'string' && Array.isArray(w.shape) && typeof w.dtype === 'string');
  if (!ok) throw new ArtifactError(file, `has no valid weightsManifest (one group with paths ["${binName}"] and named weights)`, fix);
  const weights = (groups as Json[])[0].weights as tf.io.WeightsManifestEntry[];
  for (const w of weights) {
    if (!(w.dtype in BYTES_PER)) {
      throw new ArtifactError(file, `lists weight "${w.name}" with dtype ${JSON.stringify(w.dtype)}; weights are ${Object.keys(BYTES_PER).join(', ')}`, fix);
    }
    if (!w.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new ArtifactError(file, `lists weight "${w.name}" with shape ${JSON.stringify(w.shape)}; a shape is a list of non-negative integers`, fix);
    }
  }
  return weights;
}

/** Write `files` (name -> contents) as directory `dir`, atomically (temporary directory, rename). */
function writeDirAtomically(dir: string, files: Readonly<Record<string, Uint8Array | string>>): void {
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  fs.mkdirSync(tmp);
  for (const [name, contents] of Object.entries(files)) fs.writeFileSync(path.join(tmp, name), contents);
  const old = `${dir}.old-${process.pid}-${Date.now()}`;
  const existed = fs.existsSync(dir);
  if (existed) fs.renameSync(dir, old);
  fs.renameSync(tmp, dir);
  if (existed) fs.rmSync(old, { recursive: true, force: true });
}

export interface TrainedArtifact {
  /** meta.json, as written. */
  readonly meta: Json;
  /** The weights by name (`encoder/pilotsRe`); the caller disposes them. */
  readonly weights: tf.NamedTensorMap;
}

/**
 * Write a trained artifact: model.json (tfjs format, `modelTopology.gfra` = `topology`),
 * weights.bin and meta.json (with the weights' checksum added as `weights`).
 */
export async function writeTrainedArtifact(
  dir: string,
  weights: Readonly<Record<string, tf.Tensor>>,
  meta: Json,
  topology: Json,
  generatedBy: string,
): Promise<void> {
  const { data, specs } = await encodeTensors(weights);
  const model = {
    format: ARTIFACT_FORMAT,
    generatedBy,
    convertedBy: null,
    modelTopology: { gfra: topology },
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: specs }],
  };
  const checked = { ...meta, format: ARTIFACT_FORMAT, weights: { file: WEIGHTS_FILE, bytes: data.length, sha256: sha256(data) } };
  // Round-trip through JSON so that the checksums hash what a reader parses.
  const fullMeta = { ...checked, checksums: checksumsOf(JSON.parse(JSON.stringify(model)) as Json, JSON.parse(JSON.stringify(checked)) as Json) };
  writeDirAtomically(dir, {
    'model.json': `${JSON.stringify(model, null, 2)}\n`,
    [WEIGHTS_FILE]: data,
    'meta.json': `${JSON.stringify(fullMeta, null, 2)}\n`,
  });
}

/** Whether `dir` holds something that looks like a trained artifact (meta.json present). */
export function hasTrainedArtifact(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'meta.json'));
}

/**
 * Read and verify a trained artifact. `expectedKey`, when given, must equal meta.key. Throws
 * {@link ArtifactError} naming the file, what is wrong and `fix`.
 */
export function readTrainedArtifact(dir: string, options: { expectedKey?: string; fix?: string } = {}): TrainedArtifact {
  const fix = options.fix ?? `Delete ${dir} to train again (or run with --retrain)`;
  const metaFile = path.join(dir, 'meta.json');
  const meta = readJson(metaFile, fix);
  if (meta.format !== ARTIFACT_FORMAT) {
    throw new ArtifactError(metaFile, `has format ${JSON.stringify(meta.format)}; this gfra reads "${ARTIFACT_FORMAT}"`, fix);
  }
  const modelFile = path.join(dir, 'model.json');
  const model = readJson(modelFile, fix);
  if (meta.checksums !== undefined) {
    // Written with checksums: meta.json and model.json must be as written (none before them: older artifacts).
    const recorded = meta.checksums as Json | null;
    const actual = checksumsOf(model, meta);
    const modified = (file: string) => `was modified after training (its checksum ${actual[path.basename(file)].slice(0, 12)}... differs from the ${String(recorded?.[path.basename(file)]).slice(0, 12)}... recorded in meta.json)`;
    if (recorded === null || typeof recorded !== 'object' || recorded['meta.json'] !== actual['meta.json']) throw new ArtifactError(metaFile, modified(metaFile), fix);
    if (recorded['model.json'] !== actual['model.json']) throw new ArtifactError(modelFile, modified(modelFile), fix);
  }
  if (options.expectedKey !== undefined && meta.key !== options.expectedKey) {
    throw new ArtifactError(metaFile, `was trained for other inputs (key ${String(meta.key).slice(0, 16)}..., expected ${options.expectedKey.slice(0, 16)}...)`, fix);
  }
  const specs = manifestOf(model, modelFile, WEIGHTS_FILE, fix);
  const recorded = meta.weights as Json | undefined;
  const weights = readBinary(path.join(dir, WEIGHTS_FILE), specs, recorded?.sha256, fix);
  return { meta, weights };
}

/** Check loaded weights against the variables they are for: same names, same shapes. */
export function checkWeightsMatch(file: string, weights: tf.NamedTensorMap, expected: Readonly<Record<string, readonly number[]>>, fix: string): void {
  const problems: string[] = [];
  for (const [name, shape] of Object.entries(expected)) {
    const w = weights[name];
    if (w === undefined) problems.push(`has no weight "${name}"`);
    else if (w.dtype !== 'float32') problems.push(`holds "${name}" as ${w.dtype}, but trainable variables are float32`);
    else if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      problems.push(`holds "${name}" with shape [${w.shape}], but the plugin's variable has shape [${shape}]`);
    }
  }
  for (const name of Object.keys(weights)) if (!(name in expected)) problems.push(`holds "${name}", which no plugin of this candidate has`);
  if (problems.length > 0) throw new ArtifactError(file, problems.join('; '), fix);
}

/** Assign loaded weights to variables (after {@link checkWeightsMatch}). */
export function assignWeights(variables: Readonly<Record<string, tf.Variable>>, weights: tf.NamedTensorMap): void {
  for (const [name, v] of Object.entries(variables)) v.assign(weights[name]);
}

/** A saved training state: JSON state plus named tensors. */
export interface Checkpoint {
  readonly state: Json;
  readonly tensors: Readonly<Record<string, tf.Tensor>>;
}

/** Where a training run keeps its checkpoint (one, overwritten every `checkpointEvery` steps). */
export interface CheckpointStore {
  /** The last checkpoint, verified, or undefined if there is none. Tensors belong to the caller. */
  load(): Checkpoint | undefined;
  save(checkpoint: Checkpoint): Promise<void>;
  clear(): void;
  /** For messages. */
  readonly location: string;
}

/** A {@link CheckpointStore} in directory `dir` (checkpoint.json + checkpoint.bin). */
export function directoryCheckpointStore(dir: string): CheckpointStore {
  const fix = `Delete ${dir} to restart this training from scratch (or run with --retrain)`;
  return {
    location: dir,
    load() {
      const file = path.join(dir, 'checkpoint.json');
      if (!fs.existsSync(dir)) return undefined;
      const json = readJson(file, fix);
      if (json.format !== CHECKPOINT_FORMAT) throw new ArtifactError(file, `has format ${JSON.stringify(json.format)}; this gfra reads "${CHECKPOINT_FORMAT}"`, fix);
      const specs = manifestOf(json, file, CHECKPOINT_BIN, fix);
      const tensors = readBinary(path.join(dir, CHECKPOINT_BIN), specs, json.sha256, fix);
      return { state: json.state as Json, tensors };
    },
    async save(checkpoint) {
      const { data, specs } = await encodeTensors(checkpoint.tensors);
      const json = { format: CHECKPOINT_FORMAT, state: checkpoint.state, sha256: sha256(data), weightsManifest: [{ paths: [CHECKPOINT_BIN], weights: specs }] };
      writeDirAtomically(dir, { 'checkpoint.json': `${JSON.stringify(json)}\n`, [CHECKPOINT_BIN]: data });
    },
    clear() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A {@link CheckpointStore} in memory (tests, programmatic use). */
export function memoryCheckpointStore(): CheckpointStore & { saves: number } {
  let saved: { state: Json; data: Uint8Array; specs: tf.io.WeightsManifestEntry[] } | undefined;
  const store = {
    location: '(memory)',
    saves: 0,
    load(): Checkpoint | undefined {
      if (saved === undefined) return undefined;
      const buffer = saved.data.slice().buffer as ArrayBuffer;
      return { state: structuredClone(saved.state), tensors: tf.io.decodeWeights(buffer, saved.specs) };
    },
    async save(checkpoint: Checkpoint) {
      const { data, specs } = await encodeTensors(checkpoint.tensors);
      saved = { state: structuredClone(checkpoint.state), data, specs };
      store.saves += 1;
    },
    clear() {
      saved = undefined;
    },
  };
  return store;
}
