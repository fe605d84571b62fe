/**
 * What a restore would collide with, checked without writing anything, so a planner can list conflicts
 * in a dry run and extractBackup can refuse before it moves a single path.
 */
import { createHash } from 'node:crypto';
import { type Stats, closeSync, lstatSync, openSync, readSync, readlinkSync, realpathSync, statSync, constants } from 'node:fs';
import { isAbsolute, dirname, join, resolve } from 'node:path';
import { InvalidInputError } from '../core/errors.js';
import { isInside } from '../util/paths.js';
import { type Manifest, type ManifestEntry, ancestorsOf } from './manifest.js';

/** A path a restore cannot write as it stands. */
export interface Conflict {
  /** Relative to the root: the manifest path, or the ancestor that blocks it. */
  path: string;
  /**
   * `exists`: something is already there (a restore with `overwrite` replaces it).
   * `unsafe`: writing there would go through a symlink leading out of the root (always refused).
   */
  kind: 'exists' | 'unsafe';
  /** For people: what is there and why it is in the way. */
  reason: string;
}

/** The one containment rule of the tool (re-exported for the archive modules). */
export { isInside };

/**
 * The manifest entries a restore covers: all of them, or those equal to or below one of `only`.
 * @throws InvalidInputError when an `only` path is malformed or matches nothing in the manifest.
 */
export function selectEntries(manifest: Pick<Manifest, 'entries'>, only?: string[]): ManifestEntry[] {
  if (only === undefined) return manifest.entries;
  const wanted = only.map((p) => {
    const norm = p.split('/').filter((s) => s !== '' && s !== '.');
    if (isAbsolute(p) || norm.includes('..') || norm.length === 0) {
      throw new InvalidInputError(`restore path ${JSON.stringify(p)} must be relative to the root, without ".."`);
    }
    return norm.join('/');
  });
  const set = new Set(wanted);
  const selected = manifest.entries.filter((e) => set.has(e.path) || ancestorsOf(e.path).some((a) => set.has(a)));
  const matched = new Set<string>();
  for (const e of selected) {
    if (set.has(e.path)) matched.add(e.path);
    for (const a of ancestorsOf(e.path)) if (set.has(a)) matched.add(a);
  }
  const unknown = wanted.filter((p) => !matched.has(p));
  if (unknown.length > 0) {
    throw new InvalidInputError(`not in the backup: ${unknown.map((p) => JSON.stringify(p)).join(', ')}`, { code: 'E_NOT_IN_BACKUP' });
  }
  return selected;
}

function describe(st: Stats): string {
  if (st.isFile()) return 'a file';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symlink';
  return 'a special file';
}

/** Where a symlink entry's target points when restored under `root` (lexically), or null if inside. */
export function symlinkEscape(root: string, rootReal: string, e: ManifestEntry): string | null {
  const target = e.linkTarget ?? '';
  const resolved = isAbsolute(target) ? resolve(target) : resolve(root, dirname(e.path), target);
  if (isInside(root, resolved) || isInside(rootReal, resolved)) return null;
  return resolved;
}

/**
 * List what would be in the way of restoring `manifest` (or its `only` part) under `root`. Reads the
 * file system, writes nothing. Rules:
 * - nothing at the path: fine (missing parents are created);
 * - a directory where the backup has a directory: fine, merged (its children are checked one by one);
 * - anything else at the path: `exists`;
 * - a parent that is a file: `exists` (reported once, for the parent);
 * - a parent that is a symlink: fine when it resolves to a directory inside the root and the backup has
 *   no directory entry of its own there (written through), `exists` when it has one, `unsafe` when it
 *   leads outside the root.
 */
export function findConflicts(manifest: Pick<Manifest, 'entries'>, root: string, only?: string[], identical?: ReadonlySet<string>): Conflict[] {
  const rootAbs = resolve(root);
  const rootReal = realpathSync(rootAbs);
  const selected = selectEntries(manifest, only).filter((e) => !identical?.has(e.path));
  const dirs = new Set(manifest.entries.filter((e) => e.type === 'dir').map((e) => e.path));
  const conflicts: Conflict[] = [];
  const blocked = new Set<string>();
  const cache = new Map<string, Stats | null>();
  const lst = (rel: string): Stats | null => {
    let st = cache.get(rel);
    if (st === undefined) {
      try {
        st = lstatSync(join(rootAbs, rel), { throwIfNoEntry: false }) ?? null;
      } catch {
        st = null; // ENOTDIR and the like: nothing there either
      }
      cache.set(rel, st);
    }
    return st;
  };
  for (const e of selected) {
    const ancestors = ancestorsOf(e.path).reverse(); // top-down
    if (ancestors.some((a) => blocked.has(a)) || blocked.has(e.path)) continue;
    let stop = false;
    for (const a of ancestors) {
      const st = lst(a);
      if (st === null) {
        stop = true; // created by the restore, and so is everything below: nothing in the way
        break;
      }
      if (st.isDirectory()) continue;
      if (st.isSymbolicLink()) {
        if (dirs.has(a)) {
          // The backup has this directory itself: the link is in its way (the restore never merges a
          // directory of the backup into a link).
          conflicts.push({ path: a, kind: 'exists', reason: 'is a symlink, where the backup has a directory' });
          blocked.add(a);
          stop = true;
          break;
        }
        let real: string | null = null;
        try {
          real = realpathSync(join(rootAbs, a));
        } catch {
          real = null;
        }
        if (real !== null && isInside(rootReal, real) && statSync(real).isDirectory()) continue;
        conflicts.push({
          path: a,
          kind: 'unsafe',
          reason: real === null ? 'is a broken symlink' : `is a symlink to ${real}, outside the root: nothing is written through it`,
        });
      } else {
        conflicts.push({ path: a, kind: 'exists', reason: `is ${describe(st)}, where the backup needs a directory` });
      }
      blocked.add(a);
      stop = true;
      break;
    }
    if (stop) continue;
    const st = lst(e.path);
    if (st === null) continue;
    if (e.type === 'dir' && st.isDirectory()) continue;
    conflicts.push({ path: e.path, kind: 'exists', reason: `already exists (${describe(st)}; the backup has a ${e.type})` });
    blocked.add(e.path);
  }
  return conflicts;
}

/**
 * Selected files and symlinks already under `root` exactly as the manifest has them (a regular file of the
 * same size, mode and sha256; a symlink with the same target), reached through real directories only.
 * A restore leaves these be instead of calling them conflicts: after a crash half-way through a removal
 * or a restore, what is still (or already) in place is not in the way of putting back the rest.
 */
export function identicalEntries(manifest: Pick<Manifest, 'entries'>, root: string, only?: string[]): Set<string> {
  const rootAbs = resolve(root);
  const out = new Set<string>();
  const buf = Buffer.allocUnsafe(1 << 20);
  for (const e of selectEntries(manifest, only)) {
    if (e.type === 'dir') continue;
    // A symlinked ancestor would make "the same file" somewhere else: only real directories count.
    if (ancestorsOf(e.path).some((a) => !lstatSync(join(rootAbs, a), { throwIfNoEntry: false })?.isDirectory())) continue;
    const abs = join(rootAbs, e.path);
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (e.type === 'symlink') {
      if (st.isSymbolicLink() && readlinkSync(abs) === e.linkTarget) out.add(e.path);
      continue;
    }
    if (!st.isFile() || st.size !== e.size || (st.mode & 0o7777) !== e.mode) continue;
    if (sha256Of(abs, buf) === e.sha256) out.add(e.path);
  }
  return out;
}

function sha256Of(abs: string, buf: Buffer): string {
  const fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const h = createHash('sha256');
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) h.update(buf.subarray(0, n));
    return h.digest('hex');
  } finally {
    closeSync(fd);
  }
}
