import { closeSync, fstatSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { LockedError } from '../model/errors.js';
import { writeFileSynced } from '../util/atomic-write.js';

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
  for (let attempt = 0; attempt < 3; attempt++) {
    if (create(file, JSON.stringify(me))) return { release: () => rmSync(file, { force: true }), tookOver };
    const seen = observe(file);
    if (seen === null) continue; // released meanwhile: try to create it again
    const { holder, text, ino, mtimeMs } = seen;
    // An unreadable lock older than a few seconds is a crash between create and write, not a live holder.
    const torn = holder === null && Date.now() - mtimeMs > 5000;
    if (torn || (holder && holder.host === me.host && !alive(holder.pid))) {
      const taken = takeOver(file, { ino, text });
      if (taken === 'took') tookOver = holder ?? 'torn lock file';
      if (taken !== 'busy') continue;
      const h = holder ?? { pid: 0, host: '?', runId: '?', startedAt: '?' };
      throw new LockedError(`another run is taking over the lock of run ${h.runId} (pid ${h.pid}, no longer alive); try again`, h);
    }
    const h = holder ?? { pid: 0, host: '?', runId: '?', startedAt: '?' };
    throw new LockedError(
      `another run holds the lock: run ${h.runId}, pid ${h.pid} on ${h.host}, since ${h.startedAt} (${path.relative(process.cwd(), file) || file})`,
      h,
    );
  }
  throw new LockedError('could not take the lock', { pid: 0, host: '?', runId: '?', startedAt: '?' });
}

/** How long a take-over token may stand before it counts as left by a process that died taking over. */
const TAKEOVER_STALE_MS = 10_000;

/**
 * Creates the lock file with its whole content, or returns false when it exists. The content is written
 * to a file of this process's own and hard-linked into place (link() fails on an existing name), so a
 * lock file is never seen empty: a take-over can then tell a fresh lock from the dead one by its text.
 */
function create(file: string, text: string): boolean {
  const own = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSynced(own, text, 'wx');
  try {
    linkSync(own, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    rmSync(own, { force: true });
  }
}

/** The lock file's holder, text, inode and mtime, read through one descriptor so that all are of the same file. */
function observe(file: string): { holder: LockHolder | null; text: string; ino: number; mtimeMs: number } | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const { ino, mtimeMs } = fstatSync(fd);
    const text = readFileSync(fd, 'utf8');
    return { holder: parseHolder(text), text, ino, mtimeMs };
  } finally {
    closeSync(fd);
  }
}

/**
 * Removes a dead run's lock file so that exactly one of the processes that found it dead may take the
 * lock. Deleting and re-creating is not enough: two processes that both saw the dead holder would each
 * delete the other's fresh lock and both proceed. So the remover first makes a hard link of the lock file
 * (`lock.takeover`): link() is exclusive, so one process wins it, and the link's inode tells whether what
 * it linked is still the dead run's file (and not a live run's fresh lock). The inode alone cannot tell:
 * a file system reuses a freed inode number at once (ext4 does), so the fresh lock of a process that took
 * over a moment ago may carry the dead file's number; its text (pid, run id, start time) differs. Only then is the lock file
 * unlinked; the winner then creates its lock like anyone else, and if another process was quicker, it
 * holds the lock and the winner is refused. A token left by a process that died taking over is removed
 * once it is older than TAKEOVER_STALE_MS (link() stamps the inode's ctime).
 */
function takeOver(file: string, dead: { ino: number; text: string }): 'took' | 'busy' | 'changed' {
  const token = `${file}.takeover`;
  try {
    linkSync(file, token);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'changed';
    if (code !== 'EEXIST') throw err;
    // Only a token that is there and old: one that just went may already be another process's new one.
    const ctime = ctimeOf(token);
    if (ctime !== null && Date.now() - ctime > TAKEOVER_STALE_MS) rmSync(token, { force: true });
    return 'busy';
  }
  try {
    if (statSync(token).ino !== dead.ino || readFileSync(token, 'utf8') !== dead.text) return 'changed';
    unlinkSync(file);
    return 'took';
  } finally {
    rmSync(token, { force: true });
  }
}

function ctimeOf(file: string): number | null {
  try {
    return statSync(file).ctimeMs;
  } catch {
    return null;
  }
}

/** Reads the lock file; a torn or empty file (crash during write) reads as null and counts as stale. */
export function readHolder(file: string): LockHolder | null {
  try {
    return parseHolder(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** A lock file's text as its holder; a torn or empty one (crash during write) is null. */
function parseHolder(text: string): LockHolder | null {
  try {
    return JSON.parse(text) as LockHolder;
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
