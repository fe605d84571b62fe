/**
 * Create a verified backup: archive the given paths, make it durable, re-read it from disk and check
 * it entry by entry before anyone is allowed to delete the originals.
 */
import {
  chmodSync,
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
} from 'node:fs';
import type { Dirent, Stats } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { BackupIntegrityError, InvalidInputError, RollbackError, messageOf } from '../model/errors.js';
import { fsyncDir } from '../util/fsync.js';
import { ArchiveChecker, type CheckResult, checkArchive } from './archive-check.js';
import { isInside } from './conflicts.js';
import { realDirectory, removeEmptyParents } from '../util/paths.js';
import { type ArchiveSink, FileSink, GzipSink, fsyncAsync } from './archive-sink.js';
import {
  type Compression,
  type ManifestEntry,
  type ManifestHead,
  MANIFEST_FILE,
  MANIFEST_VERSION,
  ancestorsOf,
  archiveFileName,
  compareTreePaths,
} from './manifest.js';
import { ManifestWriter, sha256OfFile } from './manifest-file.js';
import { COPY_SLOT_BYTES, PARALLEL_COPY_BYTES, type HashPipeline, SLOT_SIZE, startHashPipeline } from './hash-pipeline.js';
import { type EntryMeta, FileChangedError, TarWriter, type TarWriterOptions } from './tar-writer.js';
import { SKIP_CONTENT } from './tar-reader.js';
import type { VerifyReport } from './verify-backup.js';

/** Options of createBackup. */
export interface CreateBackupOptions {
  /** Project root; every path is relative to it. */
  root: string;
  /**
   * Paths relative to the root. Files are stored, directories recursed (their directory entries
   * included), symlinks stored as links and never followed. Overlapping paths are stored once.
   */
  paths: string[];
  /** Absolute; must not exist. Created with mode 0700 (parents created as needed). */
  destDir: string;
  backupId: string;
  /** Default 'none': see FileSink for why. */
  compression?: Compression;
  /** gzip level 0-9, default 1 (higher levels cost several times the time for a few percent of space). */
  gzipLevel?: number;
  /** Stored as `meta` in the manifest, untouched: story id, feature, run id, flag snapshot… */
  meta?: Record<string, unknown>;
  /** I/O buffer size in bytes (default 1 MiB). For tests and benchmarks. */
  bufferSize?: number;
  /** Hash in a worker thread (default true; false hashes on the calling thread). For tests and benchmarks. */
  hashInWorker?: boolean;
  /** Let the hash worker also write the archive (default true; false writes on the calling thread). For tests and benchmarks. */
  writeInWorker?: boolean;
  /**
   * Files of at least this many bytes (default PARALLEL_COPY_BYTES, 4 MiB; 0: none) are copied into the
   * archive by a second worker, into a place the writer leaves for them, while this thread goes on with
   * the next files. Only uncompressed and with writeInWorker. For tests and benchmarks.
   */
  parallelCopyBytes?: number;
}

/** A created and verified backup. */
export interface BackupResult {
  /** The backup directory (destDir). */
  dir: string;
  /** The manifest without its entries (they are in the file, read with ManifestFile). */
  manifest: ManifestHead;
  /** The re-read of the archive from disk; always ok (a failed one throws). */
  verify: VerifyReport;
  durationMs: number;
}

type Kind = 'file' | 'dir' | 'symlink';

/** One path to store, in archive order (a directory before its content). */
interface Item {
  rel: string;
  kind: Kind;
}

/** Normalise a caller's relative path to manifest form, or throw InvalidInputError. */
function normaliseInput(p: unknown): string {
  if (typeof p !== 'string' || p.trim() === '') throw new InvalidInputError('backup path is empty', { code: 'E_PATH_OUTSIDE_ROOT' });
  if (p.includes('\0')) throw new InvalidInputError(`backup path ${JSON.stringify(p)} contains a NUL byte`);
  if (isAbsolute(p)) {
    throw new InvalidInputError(`backup path ${JSON.stringify(p)} is absolute; paths must be relative to the root`, {
      code: 'E_PATH_OUTSIDE_ROOT',
    });
  }
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) {
    throw new InvalidInputError(`backup path ${JSON.stringify(p)} has a ".." component`, { code: 'E_PATH_OUTSIDE_ROOT' });
  }
  if (parts.length === 0) throw new InvalidInputError(`backup path ${JSON.stringify(p)} names the root itself`);
  return parts.join('/');
}

function kindOf(st: Stats): Kind | null {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return null;
}

function describeStat(st: Stats): string {
  if (st.isSocket()) return 'a socket';
  if (st.isFIFO()) return 'a fifo';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a file, directory or symlink';
}

/**
 * Resolve and check every input path, and return the ones to store, in tree order (a path below another
 * input directory is stored by that one's walk). Throws InvalidInputError (before anything is written)
 * for a path that escapes the root, is missing, or sits below a symlink leading out of the root.
 */
function planInputs(root: string, rootReal: string, inputs: string[], destDir: string): Item[] {
  const paths = [...new Set(inputs.map(normaliseInput))].sort(compareTreePaths);
  const lstatCache = new Map<string, Stats | null>();
  const lst = (rel: string): Stats | null => {
    let st = lstatCache.get(rel);
    if (st === undefined) {
      try {
        st = lstatSync(join(root, rel));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw err;
        st = null;
      }
      lstatCache.set(rel, st);
    }
    return st;
  };
  const kinds = new Map<string, Kind>();
  for (const p of paths) {
    // Parents: each must be a directory, or a symlink that resolves to a directory inside the root.
    for (const parent of ancestorsOf(p).reverse()) {
      const st = lst(parent);
      if (st === null) throw new InvalidInputError(`backup path ${JSON.stringify(p)} does not exist (no "${parent}")`);
      if (st.isSymbolicLink()) {
        let real: string;
        try {
          real = realpathSync(join(root, parent));
        } catch {
          throw new InvalidInputError(`backup path ${JSON.stringify(p)} is below "${parent}", a broken symlink`);
        }
        if (!isInside(rootReal, real)) {
          throw new InvalidInputError(
            `backup path ${JSON.stringify(p)} escapes the root: "${parent}" is a symlink to ${real}, outside ${rootReal}`,
            { code: 'E_PATH_OUTSIDE_ROOT' },
          );
        }
      } else if (!st.isDirectory()) {
        throw new InvalidInputError(`backup path ${JSON.stringify(p)} does not exist ("${parent}" is not a directory)`);
      }
    }
    const st = lst(p);
    if (st === null) throw new InvalidInputError(`backup path ${JSON.stringify(p)} does not exist`);
    const kind = kindOf(st);
    if (kind === null) throw new InvalidInputError(`backup path ${JSON.stringify(p)} is ${describeStat(st)}: it cannot be backed up`);
    kinds.set(p, kind);
    for (const base of [resolve(root, p), join(rootReal, p)]) {
      if (kind === 'dir' && isInside(base, destDir)) {
        throw new InvalidInputError(`the backup destination ${destDir} is inside backed-up path ${JSON.stringify(p)}`);
      }
    }
  }

  const tops: Item[] = [];
  for (const p of paths) {
    const kind = kinds.get(p) as Kind;
    let covered = false;
    for (const a of ancestorsOf(p)) {
      const k = kinds.get(a);
      if (k === 'dir') covered = true;
      if (k === 'symlink' || k === 'file') {
        throw new InvalidInputError(`backup path ${JSON.stringify(p)} is below ${JSON.stringify(a)}, which is stored as a ${k}`);
      }
    }
    if (!covered) tops.push({ rel: p, kind });
  }
  return tops;
}

/** Siblings in tree order (a name has no '/', so that is code-unit order). */
const byName = (a: Dirent, b: Dirent): number => compareTreePaths(a.name, b.name);

/**
 * Everything to store, in tree order (a directory before its content, siblings by name: the manifest's
 * order), listed as it is stored: only the directories on the way down are held, never the whole list.
 * Uses dirent types, no stat per file. Throws InvalidInputError at something that cannot be stored
 * faithfully (socket, fifo, device); the half-made backup is then removed.
 */
function* walkItems(root: string, tops: Item[]): Generator<Item> {
  for (const top of tops) {
    yield top;
    if (top.kind === 'dir') yield* walkDir(join(root, top.rel), top.rel);
  }
}

function* walkDir(absDir: string, relDir: string): Generator<Item> {
  const dirents = readdirSync(absDir, { withFileTypes: true }).sort(byName);
  for (const d of dirents) {
    const rel = `${relDir}/${d.name}`;
    const abs = `${absDir}/${d.name}`;
    let kind: Kind | null = d.isFile() ? 'file' : d.isDirectory() ? 'dir' : d.isSymbolicLink() ? 'symlink' : null;
    if (kind === null) {
      // Some file systems do not report types in readdir: ask lstat.
      const st = lstatSync(abs);
      kind = kindOf(st);
      if (kind === null) throw new InvalidInputError(`cannot back up ${rel}: it is ${describeStat(st)}, not a file, directory or symlink`);
    }
    yield { rel, kind };
    if (kind === 'dir') yield* walkDir(abs, rel);
  }
}

function validateOptions(opts: CreateBackupOptions): { compression: Compression; gzipLevel: number; bufferSize: number } {
  if (typeof opts.root !== 'string' || opts.root === '') throw new InvalidInputError('backup root is empty');
  if (typeof opts.destDir !== 'string' || !isAbsolute(opts.destDir)) {
    throw new InvalidInputError(`backup destination ${JSON.stringify(opts.destDir)} must be an absolute path`);
  }
  if (typeof opts.backupId !== 'string' || opts.backupId === '') throw new InvalidInputError('backupId is empty');
  if (!Array.isArray(opts.paths) || opts.paths.length === 0) throw new InvalidInputError('nothing to back up: paths is empty');
  const compression = opts.compression ?? 'none';
  if (compression !== 'none' && compression !== 'gzip') {
    throw new InvalidInputError(`compression ${JSON.stringify(compression)} is not "none" or "gzip"`);
  }
  const gzipLevel = opts.gzipLevel ?? 1;
  if (!Number.isInteger(gzipLevel) || gzipLevel < 0 || gzipLevel > 9) {
    throw new InvalidInputError(`gzip level ${gzipLevel} is not an integer from 0 to 9`);
  }
  if (opts.parallelCopyBytes !== undefined && (!Number.isSafeInteger(opts.parallelCopyBytes) || opts.parallelCopyBytes < 0)) {
    throw new InvalidInputError(`parallelCopyBytes ${opts.parallelCopyBytes} is not a byte count`);
  }
  const bufferSize = opts.bufferSize ?? SLOT_SIZE;
  if (!Number.isInteger(bufferSize) || bufferSize < 1) throw new InvalidInputError(`buffer size ${bufferSize} is invalid`);
  return { compression, gzipLevel, bufferSize };
}

/**
 * Back up `paths` (relative to `root`) into `destDir`: `archive.tar[.gz]` + `manifest.json`.
 *
 * Order of work:
 * 1. Check every input path (nothing escapes the root) – InvalidInputError, nothing created.
 * 2. Walk the tree in tree order (the manifest's order) and write the archive, hashing each file while
 *    it is read (single read per file; the hashing itself runs in a worker thread, on the same buffers;
 *    files of 4 MiB or more are read, hashed, written and read back by a second worker, see
 *    parallelCopyBytes). Manifest entries go to a temp file as their hashes arrive: nothing per file is
 *    held but those waiting behind a large file's copy (at most MAX_ENTRIES_WAITING). Something that
 *    cannot be stored (a socket, a fifo) is an InvalidInputError found on the way.
 * 3. Read the archive back from the file and check every entry against what was stored (path set,
 *    type, size, mode, mtime, content sha256), taking the archive's layout hash as read (every byte
 *    outside file content: with the content hashes, that covers the whole tar stream; see
 *    layout-hash.ts). Uncompressed, each region is read back right after it is written (the archive is only ever appended to, so what was
 *    checked is what stays; this overlaps writing, re-reading and hashing on two cores); gzip archives
 *    are read back once complete.
 * 4. fsync the archive (written back in the background since the start, see FileSink).
 * 5. Only when 3 and 4 succeeded: write manifest.json durably (with the layout hash of the archive
 *    bytes that were read back and checked), fsync the backup directory and its parent, read the
 *    manifest back (same bytes as written). A backup directory without manifest.json is never a valid backup.
 *
 * Re-reading goes through the page cache, as any read right after a write does: it proves what the
 * kernel holds for the file (our writer's output, truncation, interference), not the platters; fsync
 * is what makes those bytes durable.
 *
 * Any failure after step 1 removes the half-made destDir (and the parents made for it) and throws
 * BackupIntegrityError listing the problems (InvalidInputError for an unstorable file): the caller must
 * then delete nothing.
 */
export async function createBackup(opts: CreateBackupOptions): Promise<BackupResult> {
  const started = performance.now();
  const { compression, gzipLevel, bufferSize } = validateOptions(opts);
  const root = resolve(opts.root);
  const destDir = resolve(opts.destDir);
  const rootReal = realDirectory(root, 'backup root');
  let destExists = true;
  try {
    lstatSync(destDir);
  } catch {
    destExists = false;
  }
  if (destExists) throw new InvalidInputError(`backup destination ${destDir} already exists`);
  // The hash worker starts while the inputs are checked.
  const hashesStarting = startHashPipeline(opts.hashInWorker ?? true, bufferSize);
  let tops: Item[];
  try {
    tops = planInputs(root, rootReal, opts.paths, destDir);
  } catch (err) {
    await (await hashesStarting).close();
    throw err;
  }

  const hashes = await hashesStarting;
  let created = false;
  let parentsMade: string | undefined;
  let manifest: ManifestWriter | null = null;
  try {
    parentsMade = mkdirSync(dirname(destDir), { recursive: true });
    mkdirSync(destDir, { mode: 0o700 });
    created = true;
    chmodSync(destDir, 0o700); // in case the umask took bits the owner needs
    const archiveFile = archiveFileName(compression);
    const archivePath = join(destDir, archiveFile);
    manifest = new ManifestWriter(destDir);
    const { archive, checked } = await writeArchive(root, archivePath, walkItems(root, tops), {
      compression,
      gzipLevel,
      hashes,
      writeInWorker: opts.writeInWorker ?? true,
      parallelCopyBytes: opts.parallelCopyBytes ?? PARALLEL_COPY_BYTES,
      manifest,
    });
    const head = {
      version: MANIFEST_VERSION,
      backupId: opts.backupId,
      createdAt: new Date().toISOString(),
      root,
      archive: { file: archiveFile, compression, bytes: archive.bytes, layoutSha256: archive.layoutSha256 },
      meta: opts.meta ?? {},
    };
    const written = manifest.finish(head);
    fsyncDir(dirname(destDir)); // the backup directory's own name
    if (sha256OfFile(join(destDir, MANIFEST_FILE)) !== written.sha256) {
      throw new BackupIntegrityError(`manifest of ${destDir} reads back differently`, [`${MANIFEST_FILE}: reads back differently than written`]);
    }
    return {
      dir: destDir,
      manifest: { ...head, totals: written.totals },
      verify: { ok: true, backupId: opts.backupId, files: checked.files, bytes: checked.bytes, problems: [] },
      durationMs: performance.now() - started,
    };
  } catch (err) {
    manifest?.close();
    if (created) rmSync(destDir, { recursive: true, force: true });
    removeEmptyParents(dirname(destDir), parentsMade);
    if (err instanceof RollbackError) throw err;
    throw new BackupIntegrityError(`backup into ${destDir} failed: ${messageOf(err)}`, [messageOf(err)], { cause: err });
  } finally {
    await hashes.close();
  }
}

interface Written {
  /** The archive file as re-read and checked: its size and layout hash (see layout-hash.ts). */
  archive: { bytes: number; layoutSha256: string };
  /** File entries and bytes checked in the re-read. */
  checked: { files: number; bytes: number };
}

/**
 * Manifest entries between the archive writer and their two readers: the re-read check (which lags a
 * little behind the writer) and the manifest file (an entry goes there once its sha256, taken in the
 * worker while the file was read, has arrived). An entry is dropped once both are past it, so this holds
 * only the entries in flight, never the whole list.
 */
class EntriesInFlight implements Iterator<ManifestEntry> {
  private queue: ManifestEntry[] = [];
  /** Absolute index of queue[0]. */
  private base = 0;
  /** Absolute index of the next entry for the check, and for the manifest file. */
  private checked = 0;
  private written = 0;

  /** `checking`: false when no check reads alongside (a gzip archive is re-read once complete). */
  constructor(
    private readonly manifest: ManifestWriter,
    private readonly checking: boolean,
  ) {}

  push(e: ManifestEntry): void {
    this.queue.push(e);
  }

  /** The check's next entry; "done" only means none yet (the check asks again). */
  next(): IteratorResult<ManifestEntry> {
    const e = this.queue[this.checked - this.base];
    if (e === undefined) return { done: true, value: undefined };
    this.checked++;
    this.drop();
    return { done: false, value: e };
  }

  /** Write the leading entries that are complete to the manifest file. */
  flush(): void {
    const q = this.queue;
    for (let e = q[this.written - this.base]; e !== undefined && (e.type !== 'file' || e.sha256 !== ''); e = q[this.written - this.base]) {
      this.manifest.add(e);
      this.written++;
    }
    this.drop();
  }

  /** Entries registered but not yet in the manifest file (0 once all hashes are in and flushed). */
  get unwritten(): number {
    return this.base + this.queue.length - this.written;
  }

  private drop(): void {
    const past = (this.checking ? Math.min(this.checked, this.written) : this.written) - this.base;
    // Shift in batches: one splice per few thousand entries, not one per entry.
    if (past >= 4096 || (past > 0 && past === this.queue.length)) {
      this.queue = this.queue.slice(past);
      this.base += past;
    }
  }
}

/** Manifest entries that may wait for a large file's copy before the main thread waits too: bounds the memory they hold. */
const MAX_ENTRIES_WAITING = 65_536;

/** How writeArchive writes (see CreateBackupOptions). */
interface ArchiveSettings {
  compression: Compression;
  gzipLevel: number;
  hashes: HashPipeline;
  writeInWorker: boolean;
  parallelCopyBytes: number;
  manifest: ManifestWriter;
}

/**
 * Steps 2 and 3. Uncompressed, each region of the archive is read back from the file right after it is
 * written, while it is still in the page cache, and checked as it comes (the hash worker takes the
 * hashing, so writing, re-reading and hashing overlap on two cores); gzip archives are read back once
 * written, against the entries read back from the manifest's temp file. Then the archive is fsynced
 * (most of it was already flushed in the background) and the re-read content hashes are compared with
 * those taken while the files were read. Uncompressed with the writes in the worker, files of
 * parallelCopyBytes or more go to a second worker (TarWriterOptions.largeFiles): it copies each into
 * the place the writer left for it and reads it back, and the re-read jumps over that place; every copy
 * is done before the fsync. Throws BackupIntegrityError on any mismatch.
 */
async function writeArchive(root: string, archivePath: string, items: Iterable<Item>, settings: ArchiveSettings): Promise<Written> {
  const { compression, gzipLevel, hashes, writeInWorker, parallelCopyBytes, manifest } = settings;
  const fd = openSync(archivePath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  const fds = [fd];
  // The second worker for large files (see parallelCopyBytes), once there is one, and its copies not yet done.
  const copier: { pipe: HashPipeline | null; inFlight: number } = { pipe: null, inFlight: 0 };
  try {
    // Entries are registered before their header can reach the disk, so the re-read can check them.
    const inFlight = new EntriesInFlight(manifest, compression !== 'gzip');
    let checker: ArchiveChecker | null = null;
    let sink: ArchiveSink;
    let writerOptions: TarWriterOptions = {};
    const copyProblems: string[] = [];
    if (compression === 'gzip') {
      sink = new GzipSink(fd, gzipLevel, hashes.slotSize);
    } else {
      const rfd = openSync(archivePath, 'r');
      fds.push(rfd);
      if (writeInWorker && parallelCopyBytes > 0) {
        writerOptions = {
          largeFiles: {
            minBytes: parallelCopyBytes,
            async copy(src, position, size, name, digest) {
              let cp: HashPipeline;
              try {
                // Started at the first large file: most backups of a story have none.
                cp = copier.pipe ??= await startHashPipeline(true, COPY_SLOT_BYTES);
              } catch (err) {
                closeSync(src);
                throw err;
              }
              copier.inFlight++;
              cp.copyIn(fd, rfd, src, position, size, name, (source, readBack) => {
                copier.inFlight--;
                digest(source);
                if (readBack !== source) copyProblems.push(`${JSON.stringify(name)}: reads back from the archive as sha256 ${readBack}, was ${source}`);
              });
            },
          },
        };
      }
      const large = writerOptions.largeFiles;
      const c = new ArchiveChecker(inFlight, hashes, large ? { checksTakenContent: true, onEntry: (m) => (m.type === 'file' && m.size >= large.minBytes ? SKIP_CONTENT : undefined) } : {});
      checker = c;
      let reread = 0;
      sink = new FileSink(fd, (written) => {
        while (reread < written) {
          const buf = hashes.acquire();
          const n = readSync(rfd, buf, 0, Math.min(buf.length, written - reread), reread);
          if (n === 0) throw new BackupIntegrityError('archive reads back short', [`archive: ${written} bytes written, only ${reread} read back`]);
          c.hashStored(buf, 0, n);
          c.push(buf.subarray(0, n));
          reread += n + c.takeSkip();
        }
      }, writeInWorker ? hashes : undefined);
    }
    const writer = new TarWriter(sink, hashes, writerOptions);
    for (const item of items) {
      await storeItem(writer, root, item, (e) => inFlight.push(e));
      inFlight.flush();
      // Entries reach the manifest in order, so behind a large file being copied the next ones wait for
      // its sha256: past a bound, wait for the copier instead, so memory stays bounded whatever follows.
      while (inFlight.unwritten > MAX_ENTRIES_WAITING && copier.inFlight > 0) {
        copier.pipe?.settleOldest();
        inFlight.flush();
      }
    }
    const written = await writer.finish();
    // Every large file copied and read back (their sha256 come in), before the fsync covers them.
    await copier.pipe?.finish();
    // Most of the data is on disk already (early write-back); the rest flushes while we compare.
    const synced = fsyncAsync(fd);
    synced.catch(() => undefined);

    let check: CheckResult;
    if (checker) {
      // Also waits for the last content hashes taken while the files were read (they fill in sha256).
      check = await checker.finish();
      inFlight.flush();
    } else {
      await hashes.finish(); // every sha256 filled in
      inFlight.flush();
      check = await checkArchive({ archivePath, compression, entries: manifest.readBack()[Symbol.iterator](), hashes });
    }
    await synced;
    const problems = [...check.problems, ...copyProblems];
    if (inFlight.unwritten !== 0) problems.push(`manifest: ${inFlight.unwritten} entries never got their content hash`);
    if (check.archiveBytes !== written) problems.push(`archive: ${written} bytes written, ${check.archiveBytes} read back`);
    if (problems.length > 0) {
      throw new BackupIntegrityError(`backup archive ${archivePath} does not read back as written`, problems);
    }
    return {
      archive: { bytes: check.archiveBytes, layoutSha256: check.archiveSha256 },
      checked: { files: check.files, bytes: check.bytes },
    };
  } finally {
    await copier.pipe?.close();
    for (const f of fds) closeSync(f);
  }
}

/**
 * Store one item. `register` gets its manifest entry before its header is written; a file's sha256 is
 * filled in when the hash of the content as read is ready (at the latest when the pipeline finishes).
 */
async function storeItem(writer: TarWriter, root: string, item: Item, register: (e: ManifestEntry) => void): Promise<void> {
  const abs = join(root, item.rel);
  try {
    if (item.kind === 'file') {
      let entry: ManifestEntry | null = null;
      await writer.addFile(
        abs,
        item.rel,
        (h) => {
          entry = { path: item.rel, type: 'file', size: h.size, mode: h.mode, mtimeMs: h.mtimeMs, sha256: '' };
          register(entry);
        },
        (hex) => {
          (entry as unknown as ManifestEntry).sha256 = hex;
        },
      );
      return;
    }
    const st = lstatSync(abs);
    if (kindOf(st) !== item.kind) throw new FileChangedError(item.rel, `${item.rel} changed type during the backup`);
    const mode = st.mode & 0o7777;
    const meta: EntryMeta = { mode, mtimeMs: st.mtimeMs, uid: st.uid, gid: st.gid };
    // Long names may get a pax header, which then carries the exact mtime.
    if (Buffer.byteLength(item.rel) > 99) meta.mtimeNs = lstatSync(abs, { bigint: true }).mtimeNs;
    if (item.kind === 'dir') {
      const entry: ManifestEntry = { path: item.rel, type: 'dir', size: 0, mode, mtimeMs: st.mtimeMs };
      register(entry);
      await writer.addDirectory(item.rel, meta);
      return;
    }
    const target = readlinkSync(abs);
    const entry: ManifestEntry = { path: item.rel, type: 'symlink', size: 0, mode, mtimeMs: st.mtimeMs, linkTarget: target };
    register(entry);
    await writer.addSymlink(item.rel, target, meta);
  } catch (err) {
    if (err instanceof RollbackError) throw err;
    // (A large file the copier found changed is reported on a later call: its message names that file.)
    if (err instanceof FileChangedError) throw new BackupIntegrityError(err.message, [err.message], { cause: err });
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? `${item.rel} vanished during the backup`
        : code === 'ELOOP'
          ? `${item.rel} became a symlink during the backup`
          : `${item.rel}: ${messageOf(err)}`;
    throw new BackupIntegrityError(why, [why], { cause: err });
  }
}
