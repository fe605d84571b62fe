/**
 * Restore a backup into the root, byte for byte: check and extract into a staging directory inside the
 * root, then move each entry into place with rename (same file system), make the backup's symlinks last,
 * then re-hash what was restored.
 */
import {
  type Dirent,
  type Stats,
  closeSync,
  constants,
  chmodSync,
  fchmodSync,
  fstatSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
} from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { BackupIntegrityError, InvalidInputError, messageOf } from '../model/errors.js';
import { archivePathOf, checkArchive } from './archive-check.js';
import { type Conflict, SELECTED, findConflicts, isInside, scanRestore } from './conflicts.js';
import { realDirectory, removeEmptyParents } from '../util/paths.js';
import { writeAll } from '../util/write-all.js';
import { type ManifestEntry, isBelow } from './manifest.js';
import { ManifestFile } from './manifest-file.js';
import { COPY_SLOT_BYTES, E_SHORT_SOURCE, PARALLEL_COPY_BYTES, type HashPipeline, startHashPipeline } from './hash-pipeline.js';
import { SKIP_CONTENT } from './tar-reader.js';

/** Options of extractBackup. */
export interface ExtractOptions {
  /** The backup directory (holds manifest.json and the archive). */
  dir: string;
  /** Where to restore: manifest paths are relative to it. */
  root: string;
  /** Restore only these manifest paths (and everything below them). Default: everything. */
  only?: string[];
  /** Replace what is in the way instead of refusing. Default false. Existing directories are merged either way. */
  overwrite?: boolean;
  /**
   * Leave files and symlinks that are already in place exactly as the manifest has them (same size, mode,
   * sha256 or link target) instead of calling them conflicts. Default false. For finishing or undoing an
   * interrupted removal or restore, and a restore over a partly restored tree.
   */
  skipIdentical?: boolean;
  /** Absolute, inside the root (same file system, so moves are renames), must not exist. Created and removed here. */
  stagingDir: string;
  /** I/O buffer size in bytes (default 1 MiB). For tests and benchmarks. */
  bufferSize?: number;
  /** Hash in a worker thread (default true; false hashes on the calling thread). For tests and benchmarks. */
  hashInWorker?: boolean;
  /**
   * Let the hash worker also write the content of the files this thread creates (default true). With
   * large files copied by a second worker (parallelCopyBytes), this thread is left with creating the
   * many small files, and handing their writes over too measured faster in the bench restore (see
   * docs/performance.md); without that second worker it measured no better. For tests and benchmarks.
   */
  writeInWorker?: boolean;
  /**
   * Files of at least this many bytes are copied straight from the archive file by a second worker
   * thread, while this thread goes on creating the next entries (default 4 MiB; 0: never). Only for
   * uncompressed archives. For tests and benchmarks.
   */
  parallelCopyBytes?: number;
}


/** The second worker of a restore, and the smallest file it copies. */
interface Copier {
  pipe: HashPipeline;
  minBytes: number;
}

/** What a restore put back (counts only: a backup may hold millions of paths). */
export interface ExtractResult {
  /** Regular files restored and their bytes. */
  files: number;
  bytes: number;
  /** Manifest entries restored (files, directories, symlinks). */
  restored: number;
  /** Files and symlinks left alone because they were already in place, identical (with `skipIdentical`). */
  unchanged: number;
}

/**
 * The process umask, read from /proc (setting it to read it back would change it process-wide for a
 * moment, under other threads' feet). Unknown: all bits, so every file gets an explicit fchmod.
 */
function currentUmask(): number {
  try {
    const m = /^Umask:\s+([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return parseInt(m[1] as string, 8);
  } catch {
    // not Linux, or no /proc
  }
  return 0o777;
}

function conflictList(conflicts: Conflict[]): string {
  const shown = conflicts.slice(0, 20).map((c) => `${c.path} ${c.reason}`);
  if (conflicts.length > shown.length) shown.push(`… and ${conflicts.length - shown.length} more`);
  return shown.join('; ');
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

/**
 * Restore the backup in `opts.dir` under `opts.root`.
 *
 * 1. One read-only pass over the manifest (which completes its own checks): what is selected, what is in
 *    place already (`skipIdentical`), conflicts — refused with InvalidInputError, nothing written. Entries
 *    are streamed in tree order, never held (see manifest.ts). A symlink leading out of the root is not
 *    refused: the restore makes the link, as it was, and never writes where it points.
 * 2. One pass over the archive: every entry is checked against the manifest (see verifyBackup) and the
 *    selected files and directories are written into the staging directory as they pass (a symlink entry
 *    is checked, type and target, like any other, but made only in step 3). Any problem (changed byte,
 *    extra, missing or unsafe entry, archive size) → the staging directory is deleted and
 *    BackupIntegrityError is thrown: nothing outside staging was touched. The archive is read once, not twice.
 *    Each file written is read back from disk through the descriptor that wrote it and hashed by the
 *    worker while this thread writes the next ones; a file that does not read back as its manifest sha256
 *    fails the restore before anything leaves staging. That read-back is the content check of the files
 *    restored: it covers the archive's bytes and the disk's, so those files are not hashed a second time as
 *    they stream past (files not selected still are). Files of 4 MiB and more (parallelCopyBytes) are not
 *    read by this thread at all: once their header has been checked, a second worker copies their content
 *    from the archive file and reads it back, while the reader jumps over it and this thread goes on
 *    creating the next entries.
 *    The archive's own hash (its layout hash, or for an old backup the whole file's sha256) is not
 *    recomputed here (verifyBackup does compare it): it protects nothing a restore writes. Every byte
 *    that reaches a restored file is file content, covered by that file's sha256; every header field a restore uses (path, type, size, mode, mtime, link target)
 *    is compared with the manifest, and the manifest's values are what is written; an entry not in the
 *    manifest, a duplicate, a missing one, a truncated archive or anything after the end marker is
 *    refused; the archive's size is still compared. What the archive hash alone would see (uid/gid/uname
 *    fields, padding bytes) is never written anywhere.
 * 3. Conflicts are checked again (time has passed), then each top-level staged entry is renamed into
 *    place; existing directories are merged, their children moved one by one. Then the symlinks are made
 *    in place, after every file and directory (see makeLinks).
 * 4. Every restored path is compared with the manifest (type, size, mode, link target), and each file is
 *    shown to be the very inode that was read back and hashed (a rename moves a file, it does not touch
 *    its content); in the same pass directory modes and mtimes are set, each after its content.
 *
 * The staging directory (and the parents created for it) is removed at the end, also on failure.
 * @throws InvalidInputError for unusable options, conflicts or unsafe entries; BackupIntegrityError for
 * a backup that does not match its manifest or a restore that does not read back as the manifest says.
 * File-system errors (disk full) propagate as they are.
 */
export async function extractBackup(opts: ExtractOptions): Promise<ExtractResult> {
  if (typeof opts.stagingDir !== 'string' || !isAbsolute(opts.stagingDir)) {
    throw new InvalidInputError(`staging directory ${JSON.stringify(opts.stagingDir)} must be an absolute path`);
  }
  const root = resolve(opts.root);
  const rootReal = realDirectory(root, 'restore root');
  const staging = resolve(opts.stagingDir);
  if (!isInside(root, staging) || staging === root) {
    throw new InvalidInputError(`staging directory ${staging} must be inside the root ${root}`);
  }
  if (lstatOrNull(staging) !== null) throw new InvalidInputError(`staging directory ${staging} already exists`);
  const backupDir = resolve(opts.dir);
  const manifest = ManifestFile.open(backupDir);
  const count = manifest.entryCount;
  const overwrite = opts.overwrite ?? false;

  // Pass 1, reads only (it also completes the manifest's own checks before anything is written).
  // Entries that would land in the staging area or in the backup itself: never.
  const forbidden = [relative(root, staging)];
  if (isInside(root, backupDir) && backupDir !== root) forbidden.push(relative(root, backupDir));
  const scan = scanRestore(manifest.entries(), count, root, { only: opts.only, skipIdentical: opts.skipIdentical, forbidden });
  if (scan.forbiddenHit !== null) {
    throw new InvalidInputError(`refusing to restore ${scan.forbiddenHit}: it lies inside the staging or backup directory`, {
      code: 'E_RESTORE_UNSAFE',
    });
  }
  checkConflicts(scan.conflicts, overwrite);
  const mark = scan.mark;

  const inWorker = opts.hashInWorker ?? true;
  const copyBytes = opts.parallelCopyBytes ?? PARALLEL_COPY_BYTES;
  const copying = inWorker && copyBytes > 0 && manifest.head.archive.compression === 'none' && scan.largestFile >= copyBytes;
  // Both workers start at once (each takes some tens of milliseconds to come up).
  const [hashes, copyPipe] = await Promise.all([
    startHashPipeline(inWorker, opts.bufferSize),
    copying ? startHashPipeline(true, COPY_SLOT_BYTES) : Promise.resolve(null),
  ]);
  const copier = copyPipe === null ? null : { pipe: copyPipe, minBytes: copyBytes };
  let firstCreated: string | undefined;
  try {
    firstCreated = mkdirSync(dirname(staging), { recursive: true });
    mkdirSync(staging, { mode: 0o700 });
  } catch (err) {
    await hashes.close();
    await copyPipe?.close();
    throw err;
  }
  try {
    if (statSync(staging).dev !== statSync(rootReal).dev) {
      throw new InvalidInputError(`staging directory ${staging} is not on the root's file system: moves would not be renames`);
    }
    // Inode per manifest entry (by index): a typed array, not a Map keyed by path.
    const reread: Reread = { problems: [], inodes: new Float64Array(count) };
    const staged = await extractToStaging(backupDir, manifest, mark, staging, hashes, opts.writeInWorker ?? true, reread, copier);
    await hashes.finish();
    if (reread.problems.length > 0) {
      throw new BackupIntegrityError(`restored files do not read back as the manifest says; nothing was moved into place`, reread.problems);
    }
    checkConflicts(findConflicts(manifest.entries(), root, mark), overwrite);
    const placed = placeAll(staging, root, rootReal, staged.dirs, overwrite);
    if (scan.symlinks > 0) makeLinks(manifest.entries(), mark, root, rootReal, staging, overwrite);
    const problems = recheckPlaced(root, manifest.entries(), mark, placed, staged.dirs, reread.inodes);
    if (problems.length > 0) {
      throw new BackupIntegrityError(`restored files under ${root} do not match the manifest`, problems);
    }
    return { files: staged.files, bytes: staged.bytes, restored: scan.toRestore, unchanged: scan.unchanged };
  } finally {
    await hashes.close();
    await copyPipe?.close();
    rmSync(staging, { recursive: true, force: true });
    removeEmptyParents(dirname(staging), firstCreated);
  }
}

function checkConflicts(conflicts: Conflict[], overwrite: boolean): void {
  const unsafe = conflicts.filter((c) => c.kind === 'unsafe');
  if (unsafe.length > 0) {
    throw new InvalidInputError(`restore refused: ${conflictList(unsafe)}`, { code: 'E_RESTORE_UNSAFE' });
  }
  if (!overwrite && conflicts.length > 0) {
    throw new InvalidInputError(`restore refused, ${conflicts.length} path(s) in the way: ${conflictList(conflicts)}`, {
      code: 'E_RESTORE_CONFLICT',
    });
  }
}

/**
 * Pass 2: check the whole archive and write the selected entries into staging. With a copier, files of
 * at least `copier.minBytes` are not read here: a second worker copies their content from the archive file
 * and reads each back, while this thread goes on with the next entries (a tree of a few big database
 * files and many small ones keeps both cores busy creating files, instead of one).
 */
async function extractToStaging(
  backupDir: string,
  manifest: ManifestFile,
  mark: Uint8Array,
  staging: string,
  hashes: HashPipeline,
  writeInWorker: boolean,
  reread: Reread,
  copier: Copier | null,
): Promise<{ files: number; bytes: number; dirs: StagedDirs }> {
  const archive = manifest.head.archive;
  const archivePath = archivePathOf(backupDir, { archive });
  // Directories present in staging, and whether each is one of the manifest's (those get their recorded
  // mode once in place; the others are only parents, made 0755). One per directory, none per file.
  const made: StagedDirs = new Map();
  // The manifest's directories above the current entry, nearest last (entries come in tree order).
  const above: string[] = [];
  const atime = Date.now() / 1000;
  const umaskBits = currentUmask();
  let fd = -1;
  // The pipeline that writes and reads back the current file.
  let fdPipe: HashPipeline = hashes;
  // Files a worker is still writing or reading back: closed (after their mode and mtime are set) once
  // it is done with them. Capped per pipeline, so a tree of small files does not run out of descriptors.
  const open = new Set<number>();
  const MAX_OPEN = 256;
  const copyOpen = new Set<number>();
  const MAX_COPY_OPEN = 64;
  let files = 0;
  let bytes = 0;
  // The copier's own descriptor of the archive (it reads while this thread reads on).
  let archiveFd = -1;
  let archiveSize = 0;

  const ensureDir = (rel: string): void => {
    if (made.has(rel)) return;
    const cut = rel.lastIndexOf('/');
    if (cut > 0) ensureDir(rel.slice(0, cut));
    // Created 0700 here; manifest directories get their own mode once everything is in place.
    const own = above.includes(rel);
    mkdirSync(join(staging, rel), { mode: own ? 0o700 : 0o755 });
    made.set(rel, own);
  };

  try {
    if (copier !== null) {
      archiveFd = openSync(archivePath, 'r');
      archiveSize = fstatSync(archiveFd).size;
    }
    const result = await checkArchive(
      {
        archivePath,
        compression: archive.compression,
        entries: manifest.entries(),
        entriesAgain: () => manifest.entries(),
        expectedArchive: { bytes: archive.bytes, sha256: '' },
        // Not the whole file's sha256: see extractBackup, step 2.
        archiveHash: 'none',
        hashes,
        // This thread is busy creating files: hashes go to the worker unless it falls behind.
        placement: 'auto',
      },
      {
        // Each file written is read back and hashed (onEntryEnd): that is its content check.
        checksTakenContent: true,
        onEntry(m, i, dataOffset) {
          while (above.length > 0 && !isBelow(m.path, above[above.length - 1] as string)) above.pop();
          if (m.type === 'dir') above.push(m.path);
          if (mark[i] !== SELECTED) return undefined;
          const cut = m.path.lastIndexOf('/');
          if (cut > 0) ensureDir(m.path.slice(0, cut));
          const abs = join(staging, m.path);
          if (m.type === 'dir') {
            ensureDir(m.path);
            return undefined;
          }
          // A link is made last, in place (makeLinks): only its folder is staged.
          if (m.type === 'symlink') return undefined;
          // Only content the file holds: a truncated archive is read here, and found short as it streams.
          const copy = copier !== null && m.size >= copier.minBytes && dataOffset + m.size <= archiveSize ? copier.pipe : null;
          fdPipe = copy ?? hashes;
          const fds = copy ? copyOpen : open;
          while (fds.size >= (copy ? MAX_COPY_OPEN : MAX_OPEN)) fdPipe.settleOldest();
          // O_EXCL + O_NOFOLLOW: never write through something already there. Created with its final
          // mode (a new file is readable and writable through this descriptor whatever its mode says).
          // Read and write: the same descriptor reads the file back once it is written.
          fd = openSync(abs, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, m.mode & 0o777);
          fds.add(fd);
          const out = fd;
          if (copy) {
            copy.copy(out, archiveFd, dataOffset, m.size);
            return SKIP_CONTENT;
          }
          // Written by the hash worker, from the slot the archive was read into (see HashPipeline.write).
          return writeInWorker ? (chunk: Buffer) => hashes.write(out, chunk, 0, chunk.length) : (chunk: Buffer) => writeAll(out, chunk);
        },
        onEntryEnd(m, i) {
          if (mark[i] !== SELECTED) return;
          const mtime = m.mtimeMs / 1000;
          if (m.type === 'file') {
            const out = fd;
            fd = -1;
            // Read the file back from disk and hash it, in the worker (after its writes), while this
            // thread writes the next ones: the check that every restored file's sha256 equals the
            // manifest. The inode is kept so that after the move into place the file there is shown to be
            // this very one (a rename does not touch content). Mode and mtime are set once it is read (a
            // write after futimes would change the mtime again), then it is closed.
            reread.inodes[i] = fstatSync(out).ino;
            const fds = fdPipe === hashes ? open : copyOpen;
            // The worker sets the times right after the read (off this thread's path); a mode change
            // after that leaves the mtime as it is.
            fdPipe.hashFile(
              out,
              (got) => {
                if (got !== m.sha256) reread.problems.push(`${JSON.stringify(m.path)}: content read back differs from the manifest`);
                // Only when open() could not set it: bits taken by the umask, setuid/setgid/sticky.
                if ((m.mode & umaskBits) !== 0 || m.mode > 0o777) fchmodSync(out, m.mode);
                fds.delete(out);
                closeSync(out);
              },
              true,
              { atime, mtime },
            );
            files++;
            bytes += m.size;
          }
        },
      },
    );
    // Every copy read back (its callbacks run) before the archive's verdict is given.
    if (copier !== null) {
      try {
        await copier.pipe.finish();
      } catch (err) {
        // The archive held those bytes when the copy was handed over: it changed under the restore.
        if ((err as NodeJS.ErrnoException).code !== E_SHORT_SOURCE) throw err;
        throw new BackupIntegrityError(`backup ${backupDir} changed while it was read; nothing was restored`, [...result.problems, `archive: ${messageOf(err)}`]);
      }
    }
    if (result.problems.length > 0) {
      throw new BackupIntegrityError(`backup ${backupDir} does not match its manifest; nothing was restored`, result.problems);
    }
  } finally {
    // After a failure: the workers may still hold writes for these; the staging directory goes anyway.
    for (const p of copier === null ? [hashes] : [hashes, copier.pipe]) {
      try {
        p.settle();
      } catch {
        // the failure is already on its way up
      }
    }
    for (const f of open) closeSync(f);
    for (const f of copyOpen) closeSync(f);
    if (archiveFd >= 0) closeSync(archiveFd);
  }
  return { files, bytes, dirs: made };
}

/** Directories made in staging: true for the manifest's own, false for parents only implied by a path. */
type StagedDirs = Map<string, boolean>;

/** Pass 3: rename staged entries into place. Returns the paths renamed (each the top of a moved subtree). */
function placeAll(staging: string, root: string, rootReal: string, stagedDirs: StagedDirs, overwrite: boolean): Set<string> {
  const moved = new Set<string>();
  const mergeable = (rel: string, dst: string, st: Stats): boolean => {
    if (st.isDirectory()) return true;
    // A symlink to a directory inside the root, where the backup has no entry of its own: write through it.
    if (!st.isSymbolicLink() || stagedDirs.get(rel) === true) return false;
    try {
      const real = realpathSync(dst);
      return isInside(rootReal, real) && statSync(real).isDirectory();
    } catch {
      return false;
    }
  };
  const placeChildren = (rel: string): void => {
    const dirents: Dirent[] = readdirSync(rel === '' ? staging : join(staging, rel), { withFileTypes: true });
    for (const d of dirents) {
      const child = rel === '' ? d.name : `${rel}/${d.name}`;
      const src = join(staging, child);
      const dst = join(root, child);
      const st = lstatOrNull(dst);
      if (st === null) {
        renameSync(src, dst);
        moved.add(child);
        continue;
      }
      if (d.isDirectory() && mergeable(child, dst, st)) {
        placeChildren(child);
        continue;
      }
      if (!overwrite) {
        // Checked twice before; only a concurrent writer gets here.
        throw new InvalidInputError(`restore stopped: ${child} appeared during the restore (paths restored so far: ${[...moved].join(', ')})`, {
          code: 'E_RESTORE_CONFLICT',
        });
      }
      if (st.isDirectory()) rmSync(dst, { recursive: true });
      else if (d.isDirectory()) unlinkSync(dst);
      // file over file or link: rename replaces atomically
      renameSync(src, dst);
      moved.add(child);
    }
  };
  placeChildren('');
  return moved;
}

/**
 * Pass 3b: the backup's symlinks, made once every file and directory is in place, each as the same link
 * (its target exactly as recorded, wherever it points: inside the root, outside it, or nowhere). A link is
 * never followed: it is made in its folder found by real path, which must be a directory inside the root
 * (checked again here, right before, since the conflict check ran a while ago), and `symlink` itself
 * never writes through its last component. Made last, no link of this restore is on the way of anything
 * it writes, whatever an archive holds. Something at the link's path is replaced only with `overwrite`
 * (a conflict already backed up by the caller); otherwise it is a concurrent writer and stops the restore.
 */
function makeLinks(entries: Iterable<ManifestEntry>, mark: Uint8Array, root: string, rootReal: string, staging: string, overwrite: boolean): void {
  const atime = Date.now() / 1000;
  // Where a link is made before it is renamed over what it replaces: a folder of its own, new, so that no
  // name of the staged tree left there by a merge can be in the way.
  let spare: string | null = null;
  let i = -1;
  for (const e of entries) {
    i++;
    if (mark[i] !== SELECTED || e.type !== 'symlink') continue;
    const cut = e.path.lastIndexOf('/');
    const folder = cut > 0 ? e.path.slice(0, cut) : '';
    let real: string;
    try {
      real = realpathSync(join(root, folder));
    } catch (err) {
      throw new InvalidInputError(`restore stopped: the folder of ${e.path} is gone (${messageOf(err)})`, { code: 'E_RESTORE_CONFLICT', cause: err });
    }
    if (!isInside(rootReal, real) || !statSync(real).isDirectory()) {
      throw new InvalidInputError(`restore stopped: the folder of ${e.path} now leads to ${real}, not a directory inside the root: nothing is written through it`, {
        code: 'E_RESTORE_UNSAFE',
      });
    }
    const dst = join(real, e.path.slice(cut + 1));
    const target = e.linkTarget as string;
    const st = lstatOrNull(dst);
    if (st === null) {
      // Fails with EEXIST rather than replace anything that appeared since.
      symlinkSync(target, dst);
    } else if (!overwrite) {
      throw new InvalidInputError(`restore stopped: ${e.path} appeared during the restore`, { code: 'E_RESTORE_CONFLICT' });
    } else {
      if (st.isDirectory()) rmSync(dst, { recursive: true });
      spare ??= mkdtempSync(join(staging, 'link-'));
      const made = join(spare, 'link');
      symlinkSync(target, made);
      // A file or link in the way is replaced in one step; rename never follows the name it replaces.
      renameSync(made, dst);
    }
    lutimesSync(dst, atime, e.mtimeMs / 1000);
  }
}

function wasPlaced(path: string, placed: Set<string>): boolean {
  if (placed.has(path)) return true;
  for (let cut = path.indexOf('/'); cut > 0; cut = path.indexOf('/', cut + 1)) if (placed.has(path.slice(0, cut))) return true;
  return false;
}

/** What the re-read of restored files found, and the inode of each file it read. */
interface Reread {
  problems: string[];
  /** Per manifest entry index: the inode of the file read back (0: none). */
  inodes: Float64Array;
}

/**
 * Pass 4: every restored path is where it should be, as the manifest says: type, link target, size and
 * mode, and for a file the very inode whose content was read back and hashed during the extraction. The
 * same pass gives the directories this restore created their recorded mode and mtime, each once
 * everything below it has been checked (see DirMetadata).
 */
function recheckPlaced(
  root: string,
  entries: Iterable<ManifestEntry>,
  mark: Uint8Array,
  placed: Set<string>,
  stagedDirs: StagedDirs,
  inodes: Float64Array,
): string[] {
  const problems: string[] = [];
  const dirs = new DirMetadata(root, placed, stagedDirs);
  let i = -1;
  for (const e of entries) {
    i++;
    dirs.next(e);
    if (mark[i] !== SELECTED) continue;
    const abs = join(root, e.path);
    const name = JSON.stringify(e.path);
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (st === undefined) {
      problems.push(`${name}: missing after the restore`);
      continue;
    }
    if (e.type === 'dir') {
      if (!st.isDirectory()) problems.push(`${name}: is not a directory after the restore`);
      continue; // a directory's mode is set last, after this check
    }
    if (e.type === 'symlink') {
      if (!st.isSymbolicLink()) problems.push(`${name}: is not a symlink after the restore`);
      else if (readlinkSync(abs) !== e.linkTarget) problems.push(`${name}: link target differs after the restore`);
      continue;
    }
    if (!wasPlaced(e.path, placed)) problems.push(`${name}: was not moved into place`);
    if (!st.isFile()) {
      problems.push(`${name}: is not a regular file after the restore`);
      continue;
    }
    if (st.ino !== inodes[i]) problems.push(`${name}: is not the file that was written and read back`);
    const mode = st.mode & 0o7777;
    if (mode !== e.mode) problems.push(`${name}: mode ${mode.toString(8)} after the restore, ${e.mode.toString(8)} in the manifest`);
    if (st.size !== e.size) problems.push(`${name}: ${st.size} bytes after the restore, ${e.size} in the manifest`);
  }
  dirs.end();
  return problems;
}

/**
 * Directory modes and mtimes last, each after everything below it (adding children changes a
 * directory's mtime, and a read-only mode would stop the check of what is inside): in tree order a
 * directory's subtree is over at the first entry not below it, so a stack of open directories gives that
 * order without sorting them all. Every manifest directory this restore created gets its recorded
 * metadata, also the unselected parents of a selected path; directories that already existed are left
 * as they are.
 */
class DirMetadata {
  private readonly atime = Date.now() / 1000;
  private readonly open: ManifestEntry[] = [];

  constructor(
    private readonly root: string,
    private readonly placed: Set<string>,
    private readonly stagedDirs: StagedDirs,
  ) {}

  /** The next manifest entry: closes the directories whose subtree it leaves. */
  next(e: ManifestEntry): void {
    const open = this.open;
    while (open.length > 0 && !isBelow(e.path, (open[open.length - 1] as ManifestEntry).path)) this.close(open.pop() as ManifestEntry);
    // Made in staging and moved into place: not one below a moved directory that was never selected.
    if (e.type === 'dir' && this.stagedDirs.has(e.path) && wasPlaced(e.path, this.placed)) open.push(e);
  }

  /** After the last entry. */
  end(): void {
    while (this.open.length > 0) this.close(this.open.pop() as ManifestEntry);
  }

  private close(d: ManifestEntry): void {
    const abs = join(this.root, d.path);
    chmodSync(abs, d.mode);
    utimesSync(abs, this.atime, d.mtimeMs / 1000);
  }
}
