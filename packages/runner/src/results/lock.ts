/**
 * One run per output folder: DIR/.gfra.lock, created exclusively (O_EXCL) with the pid, the host
 * and the start time of the run that holds it, removed when the run ends (and on exit, Ctrl-C
 * included). A lock whose pid is dead on this host is stale and taken over; a second run into a
 * held folder refuses with a message naming the pid and the folder, or waits (`wait`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GfraUserError } from '@gfra/core';

export const LOCK_FILE = '.gfra.lock';

interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
}

/** Another run holds the output folder. */
export class FolderLocked extends GfraUserError {
  override readonly name = 'FolderLocked';
}

export interface FolderLock {
  readonly file: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

function readLock(file: string): LockInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
  } catch {
    return undefined; // missing, or being written: try again
  }
}

/**
 * Take the lock of `dir`. Without `wait`, a held lock throws {@link FolderLocked}; with it, poll
 * every `pollMs` until it is free (`onWait` is told once).
 */
export async function lockFolder(dir: string, options: { wait?: boolean; pollMs?: number; onWait?: (message: string) => void } = {}): Promise<FolderLock> {
  const file = path.join(dir, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
  let told = false;
  for (;;) {
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        fs.writeFileSync(fd, `${JSON.stringify(mine)}\n`);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
    }
    const held = readLock(file);
    if (held !== undefined && held.host === mine.host && !alive(held.pid)) {
      // Stale: its run died without removing it. Remove it unless another run did so first.
      const again = readLock(file);
      if (again?.pid === held.pid && again.started === held.started) fs.rmSync(file, { force: true });
      continue;
    }
    if (held === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    const who = `gfra run (pid ${held.pid}${held.host === mine.host ? '' : ` on ${held.host}`}, started ${held.started})`;
    if (options.wait !== true) {
      throw new FolderLocked(
        `Another ${who} is writing to ${dir}. Wait for it to end, run again with --wait to wait for it, or choose another --out` +
          (held.host === mine.host ? '' : ` (remove ${file} if that run is gone)`),
      );
    }
    if (!told) options.onWait?.(`waiting for the ${who} writing to ${dir} to end`);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    const held = readLock(file);
    if (held?.pid === mine.pid && held.started === mine.started) fs.rmSync(file, { force: true });
  };
  process.on('exit', release);
  return { file, release };
}
