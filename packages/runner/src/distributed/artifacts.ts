/**
 * Trained artifacts shared through Redis: the coordinator trains (or finds) each artifact once and
 * uploads its files under their content hash (`gfra:artifact:<sha256>`, a hash of file name ->
 * bytes); a worker downloads an artifact the first time a batch needs it, into its cache folder
 * (`<cache>/<sha256>/`), checks the hash, and keeps it for later runs. No shared folder is needed.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import { KEY_PREFIX } from './protocol';

export const artifactKey = (hash: string) => `${KEY_PREFIX}:artifact:${hash}`;

/** The default cache folder of a worker: $XDG_CACHE_HOME/gfra/artifacts, else ~/.cache/gfra/artifacts. */
export function defaultArtifactCache(): string {
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'gfra', 'artifacts');
}

/** The regular files of an artifact folder (an artifact is flat: meta.json, model.json, weights). */
function artifactFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
}

/** sha256 over the names and bytes of an artifact folder's files. */
export function hashFiles(files: ReadonlyMap<string, Buffer>): string {
  const hash = createHash('sha256');
  for (const name of [...files.keys()].sort()) {
    const bytes = files.get(name) as Buffer;
    hash.update(`${name}\u0000${bytes.byteLength}\u0000`).update(bytes);
  }
  return hash.digest('hex');
}

/** Read an artifact folder: its files and their content hash. */
export function readArtifactFolder(dir: string): { hash: string; files: Map<string, Buffer> } {
  const files = new Map(artifactFiles(dir).map((name) => [name, fs.readFileSync(path.join(dir, name))]));
  return { hash: hashFiles(files), files };
}

/** Upload an artifact folder unless Redis has it; returns its content hash. */
export async function uploadArtifact(redis: Redis, dir: string): Promise<string> {
  const { hash, files } = readArtifactFolder(dir);
  const key = artifactKey(hash);
  if ((await redis.exists(key)) === 0) {
    const fields: (string | Buffer)[] = [];
    for (const [name, bytes] of files) fields.push(name, bytes);
    await redis.hset(key, ...fields);
  }
  return hash;
}

/**
 * The local folder of artifact `hash`: the cached one, or downloaded from Redis into the cache
 * (written to a temporary folder, checked, then renamed, so that a killed worker never leaves a
 * half-written artifact). Throws when Redis does not have it or its content does not match.
 */
export async function fetchArtifact(redis: Redis, hash: string, cache: string): Promise<string> {
  const dir = path.join(cache, hash);
  if (fs.existsSync(dir)) return dir;
  const raw = await redis.hgetallBuffer(artifactKey(hash));
  const files = new Map(Object.entries(raw));
  if (files.size === 0) throw new Error(`trained artifact ${hash.slice(0, 12)} is not in Redis (${artifactKey(hash)}): the coordinator uploads it when the run starts; was Redis flushed?`);
  const actual = hashFiles(files);
  if (actual !== hash) throw new Error(`trained artifact ${hash.slice(0, 12)} from Redis has content hash ${actual.slice(0, 12)}: it was modified in Redis`);
  fs.mkdirSync(cache, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(cache, `.${hash.slice(0, 12)}-`));
  for (const [name, bytes] of files) {
    if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw new Error(`trained artifact ${hash.slice(0, 12)} names a file ${JSON.stringify(name)}`);
    fs.writeFileSync(path.join(tmp, name), bytes);
  }
  try {
    fs.renameSync(tmp, dir);
  } catch (err) {
    // Another worker on this machine renamed its copy first: use it.
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(dir)) throw err;
  }
  return dir;
}
