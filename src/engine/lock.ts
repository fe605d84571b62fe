import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync, fsyncSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { LockedError } from '../model/errors.js';

/** Who holds the project's lock. */
export interface LockHolder {
  pid: number;
  host: string;
  runId: string;
  startedAt: string;
}

/** True when a process with this pid exists (EPERM means it exists but is not ours). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A held lock: release it when the run ends; `tookOver` names the dead run whose lock was taken, to be logged. */
export interface HeldLock {
  release(): void;
  tookOver: LockHolder | 'torn lock file' | null;
}

/**
 * One run at a time per project root: an O_EXCL lock file holding pid, host, run id and start time.
 * A lock whose process is dead (same host) is taken over, and the caller logs it, so a crash never leaves
 * the project stuck "in progress". Taken before anything else is written, so a refused run writes nothing.
 */
export function acquireLock(stateDir: string, runId: string): HeldLock {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, 'lock');
  const me: LockHolder = { pid: process.pid, host: hostname(), runId, startedAt: new Date().toISOString() };
  let tookOver: HeldLock['tookOver'] = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(me));
      fsyncSync(fd);
      closeSync(fd);
      return { release: () => rmSync(file, { force: true }), tookOver };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readHolder(file);
    // An unreadable lock older than a few seconds is a crash between create and write, not a live holder.
    const torn = holder === null && Date.now() - mtimeOf(file) > 5000;
    if (torn || (holder && holder.host === me.host && !alive(holder.pid))) {
      tookOver = holder ?? 'torn lock file';
      rmSync(file, { force: true });
      continue;
    }
    const h = holder ?? { pid: 0, host: '?', runId: '?', startedAt: '?' };
    throw new LockedError(
      `another run holds the lock: run ${h.runId}, pid ${h.pid} on ${h.host}, since ${h.startedAt} (${path.relative(process.cwd(), file) || file})`,
      h,
    );
  }
  throw new LockedError('could not take the lock', { pid: 0, host: '?', runId: '?', startedAt: '?' });
}

function mtimeOf(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/** Reads the lock file; a torn or empty file (crash during write) reads as null and counts as stale. */
export function readHolder(file: string): LockHolder | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    return null;
  }
}

/**
 * The run holding the lock right now, or null: a lock left by a dead process (same host) holds nothing,
 * its run is interrupted.
 */
export function liveHolder(stateDir: string): LockHolder | null {
  const h = readHolder(path.join(stateDir, 'lock'));
  if (h === null) return null;
  return h.host !== hostname() || alive(h.pid) ? h : null;
}
