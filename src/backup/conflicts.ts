/**
 * What a restore would collide with, checked without writing anything, so a planner can list conflicts
 * in a dry run and extractBackup can refuse before it moves a single path. Everything here walks the
 * manifest's entries once, in tree order, holding only the chain of entries above the current one and a
 * byte per entry (see RestoreScan.mark), never the entries themselves.
 */
import { type Stats, lstatSync, openSync, readlinkSync, realpathSync, statSync, constants } from 'node:fs';
import { isAbsolute, dirname, join, resolve } from 'node:path';
import { InvalidInputError } from '../model/errors.js';
import { isInside } from '../util/paths.js';
import { type ManifestEntry, isBelow } from './manifest.js';
import { hashWholeFile } from './hash-pipeline.js';

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

/** Bits of RestoreScan.mark. */
export const SELECTED = 1;
/** Selected, and already in place exactly as the manifest has it (with `skipIdentical`). */
export const IDENTICAL = 2;

/** What one read-only pass over the manifest found. */
export interface RestoreScan {
  /** Per manifest entry, by its index: SELECTED, IDENTICAL bits. */
  mark: Uint8Array;
  /** Entries to write (selected and not identical). */
  toRestore: number;
  /** Entries left be because they are in place already. */
  unchanged: number;
  /** Size of the largest file to write (0: none). */
  largestFile: number;
  conflicts: Conflict[];
  /** Symlink entries to write (a restore makes them last, as links, after every file and directory). */
  symlinks: number;
  /**
   * Those of them whose target lies outside the root, each as recorded: a restore recreates the link
   * itself and never follows it, but a person reading the plan should see every one.
   */
  outsideLinks: OutsideLink[];
  /** An entry to restore that lies inside one of `forbidden`, or null. */
  forbiddenHit: string | null;
}

/** A symlink entry whose target lies outside the root (`../../x` or `/home/u/.dbt/profiles.yml`). */
export interface OutsideLink {
  /** The link's own path, relative to the root (always inside it). */
  path: string;
  /** Its target exactly as the backup recorded it, and as the restore writes it. */
  target: string;
}

/** Options of scanRestore. */
export interface ScanOptions {
  /** Restore only these manifest paths and what is below them (default: everything). */
  only?: string[];
  /** Mark files and symlinks already in place, identical, so they are neither conflicts nor written. */
  skipIdentical?: boolean;
  /** Paths relative to the root that no restored entry may lie in (staging, the backup itself). */
  forbidden?: string[];
}

function normaliseOnly(only: string[]): string[] {
  return only.map((p) => {
    const norm = p.split('/').filter((s) => s !== '' && s !== '.');
    if (isAbsolute(p) || norm.includes('..') || norm.length === 0) {
      throw new InvalidInputError(`restore path ${JSON.stringify(p)} must be relative to the root, without ".."`);
    }
    return norm.join('/');
  });
}

/**
 * One pass over the manifest entries (which must be read to their end: that completes their checks):
 * which are selected, which are in place already, which would land somewhere forbidden or link out of
 * the root, and what is in the way of the rest.
 * @throws InvalidInputError when an `only` path is malformed or matches nothing in the manifest.
 */
export function scanRestore(entries: Iterable<ManifestEntry>, count: number, root: string, opts: ScanOptions = {}): RestoreScan {
  const rootAbs = resolve(root);
  const rootReal = realpathSync(rootAbs);
  const only = opts.only === undefined ? null : normaliseOnly(opts.only);
  const matched = new Set<string>();
  const forbidden = opts.forbidden ?? [];
  const mark = new Uint8Array(count);
  // One memo for both checks: they ask about the same paths.
  const memo = new LstatMemo(rootAbs);
  const finder = new ConflictFinder(rootAbs, rootReal, memo);
  const same = opts.skipIdentical ? new IdenticalCheck(rootAbs, memo) : null;
  const scan: RestoreScan = { mark, toRestore: 0, unchanged: 0, largestFile: 0, conflicts: finder.conflicts, symlinks: 0, outsideLinks: [], forbiddenHit: null };
  let i = 0;
  for (const e of entries) {
    const index = i++;
    if (index >= count) continue; // more entries than the totals say: the pass ends in an error
    let selected = true;
    if (only !== null) {
      const hit = only.find((p) => e.path === p || isBelow(e.path, p));
      selected = hit !== undefined;
      if (hit !== undefined) matched.add(hit);
    }
    if (!selected) {
      finder.visit(e, false);
      continue;
    }
    if (same?.matches(e)) {
      mark[index] = SELECTED | IDENTICAL;
      scan.unchanged++;
      finder.visit(e, false);
      continue;
    }
    mark[index] = SELECTED;
    scan.toRestore++;
    if (e.type === 'file' && e.size > scan.largestFile) scan.largestFile = e.size;
    if (scan.forbiddenHit === null && forbidden.some((f) => e.path === f || isBelow(e.path, f))) scan.forbiddenHit = e.path;
    if (e.type === 'symlink') {
      scan.symlinks++;
      if (leadsOutside(rootAbs, rootReal, e)) scan.outsideLinks.push({ path: e.path, target: e.linkTarget ?? '' });
    }
    finder.visit(e, true);
  }
  const unknown = only?.filter((p) => !matched.has(p)) ?? [];
  if (unknown.length > 0) {
    throw new InvalidInputError(`not in the backup: ${unknown.map((p) => JSON.stringify(p)).join(', ')}`, { code: 'E_NOT_IN_BACKUP' });
  }
  return scan;
}

/**
 * What is in the way of restoring the entries `mark` selects (and did not find identical): the check
 * extractBackup repeats right before it moves anything, since time has passed since the scan.
 */
export function findConflicts(entries: Iterable<ManifestEntry>, root: string, mark: Uint8Array): Conflict[] {
  const rootAbs = resolve(root);
  const finder = new ConflictFinder(rootAbs, realpathSync(rootAbs), new LstatMemo(rootAbs));
  let i = 0;
  for (const e of entries) {
    const m = mark[i++] ?? 0;
    finder.visit(e, m === SELECTED);
  }
  return finder.conflicts;
}

function describe(st: Stats): string {
  if (st.isFile()) return 'a file';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symlink';
  return 'a special file';
}

/**
 * Whether a symlink entry's target, read lexically from where the link goes under `root`, lies outside
 * it. Lexically: the link is never followed, and what its target is on this machine (or whether it
 * exists) does not change what the restore writes.
 */
function leadsOutside(root: string, rootReal: string, e: ManifestEntry): boolean {
  const target = e.linkTarget ?? '';
  const resolved = isAbsolute(target) ? resolve(target) : resolve(root, dirname(e.path), target);
  return !isInside(root, resolved) && !isInside(rootReal, resolved);
}

/**
 * lstat of paths under the root, remembered for a while: entries come in tree order, so the same
 * ancestors are asked about again and again, but never after their subtree is done (the memo is dropped
 * when it grows, it only saves calls). It also remembers the last path found missing: everything below
 * it is missing too, and in tree order that subtree comes next, whole, so a fresh restore asks about its
 * every entry without a single call.
 */
class LstatMemo {
  private readonly cache = new Map<string, Stats | null>();
  private missing: string | null = null;
  constructor(private readonly rootAbs: string) {}

  /** True when `rel` lies below the last path found missing. */
  belowMissing(rel: string): boolean {
    return this.missing !== null && isBelow(rel, this.missing);
  }

  get(rel: string): Stats | null {
    let st = this.cache.get(rel);
    if (st === undefined) {
      try {
        st = lstatSync(join(this.rootAbs, rel), { throwIfNoEntry: false }) ?? null;
      } catch {
        st = null; // ENOTDIR and the like: nothing there either
      }
      if (this.cache.size >= 4096) this.cache.clear();
      this.cache.set(rel, st);
    }
    if (st === null) this.missing = rel;
    return st;
  }
}

/**
 * The conflict rules, applied entry by entry in tree order:
 * - nothing at the path: fine (missing parents are created);
 * - a directory where the backup has a directory: fine, merged (its children are checked one by one);
 * - anything else at the path: `exists`;
 * - a parent that is a file: `exists` (reported once, for the parent);
 * - a parent that is a symlink: fine when it resolves to a directory inside the root and the backup has
 *   no directory entry of its own there (written through), `exists` when it has one, `unsafe` when it
 *   leads outside the root.
 */
class ConflictFinder {
  readonly conflicts: Conflict[] = [];
  /** Paths reported: nothing below them is looked at (they stay above the current entry while it matters). */
  private readonly blocked: string[] = [];
  /** Manifest directories above the current entry, nearest last. */
  private readonly dirs: string[] = [];
  constructor(
    private readonly rootAbs: string,
    private readonly rootReal: string,
    private readonly lst: LstatMemo,
  ) {}

  /** The next manifest entry; `check`: whether it is to be written (else it only shapes the tree). */
  visit(e: ManifestEntry, check: boolean): void {
    const dirs = this.dirs;
    while (dirs.length > 0 && !isBelow(e.path, dirs[dirs.length - 1] as string)) dirs.pop();
    const blocked = this.blocked;
    while (blocked.length > 0 && !isBelow(e.path, blocked[blocked.length - 1] as string)) blocked.pop();
    if (check && blocked.length === 0) this.check(e);
    if (e.type === 'dir') dirs.push(e.path);
  }

  private block(c: Conflict): void {
    this.conflicts.push(c);
    this.blocked.push(c.path);
  }

  private check(e: ManifestEntry): void {
    const { lst, rootAbs, rootReal } = this;
    const path = e.path;
    // Below a missing path: created by the restore, and so is everything below; nothing in the way.
    if (lst.belowMissing(path)) return;
    // Ancestors top-down.
    for (let cut = path.indexOf('/'); cut > 0; cut = path.indexOf('/', cut + 1)) {
      const a = path.slice(0, cut);
      const st = lst.get(a);
      if (st === null) return;
      if (st.isDirectory()) continue;
      if (st.isSymbolicLink()) {
        if (this.dirs.includes(a)) {
          // The backup has this directory itself: the link is in its way (the restore never merges a
          // directory of the backup into a link).
          this.block({ path: a, kind: 'exists', reason: 'is a symlink, where the backup has a directory' });
          return;
        }
        let real: string | null = null;
        try {
          real = realpathSync(join(rootAbs, a));
        } catch {
          real = null;
        }
        if (real !== null && isInside(rootReal, real) && statSync(real).isDirectory()) continue;
        this.block({
          path: a,
          kind: 'unsafe',
          reason: real === null ? 'is a broken symlink' : `is a symlink to ${real}, outside the root: nothing is written through it`,
        });
      } else {
        this.block({ path: a, kind: 'exists', reason: `is ${describe(st)}, where the backup needs a directory` });
      }
      return;
    }
    const st = lst.get(path);
    if (st === null) return;
    if (e.type === 'dir' && st.isDirectory()) return;
    this.block({ path: e.path, kind: 'exists', reason: `already exists (${describe(st)}; the backup has a ${e.type})` });
  }
}

/**
 * Files and symlinks already under the root exactly as the manifest has them (a regular file of the same
 * size, mode and sha256; a symlink with the same target), reached through real directories only. A
 * restore leaves these be instead of calling them conflicts: after a crash half-way through a removal or
 * a restore, what is still (or already) in place is not in the way of putting back the rest.
 */
class IdenticalCheck {
  private readonly buf = Buffer.allocUnsafe(1 << 20);

  constructor(
    private readonly rootAbs: string,
    private readonly lst: LstatMemo,
  ) {}

  matches(e: ManifestEntry): boolean {
    const path = e.path;
    // Below a missing path (a fresh restore: all of it), nothing is in place.
    if (e.type === 'dir' || this.lst.belowMissing(path)) return false;
    // A symlinked ancestor would make "the same file" somewhere else: only real directories count.
    for (let cut = path.indexOf('/'); cut > 0; cut = path.indexOf('/', cut + 1)) {
      if (!this.lst.get(path.slice(0, cut))?.isDirectory()) return false;
    }
    const st = this.lst.get(path);
    if (st === null) return false;
    const abs = join(this.rootAbs, path);
    if (e.type === 'symlink') return st.isSymbolicLink() && readlinkSync(abs) === e.linkTarget;
    if (!st.isFile() || st.size !== e.size || (st.mode & 0o7777) !== e.mode) return false;
    return sha256Of(abs, this.buf) === e.sha256;
  }
}

function sha256Of(abs: string, buf: Buffer): string {
  return hashWholeFile(openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW), buf, false);
}
