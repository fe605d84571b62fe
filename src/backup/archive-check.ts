/**
 * Reading an archive back and checking every entry against the manifest. Used by createBackup (the
 * re-read of what it wrote), verifyBackup, and extractBackup (which writes entries to staging as they
 * are checked, and throws the staging away if any problem turns up).
 *
 * Archive entries are untrusted: an entry is only handed to `onEntry` when its path is in normal form,
 * its type is file/dir/symlink, it is the manifest's next entry (both are in tree order, so the two are
 * walked side by side and neither is held whole) with the same type, size, mode, mtime and link
 * target, and no problem has been found so far.
 */
import { join } from 'node:path';
import { type HashPipeline, LocalHashPipeline, type StreamPlacement } from './hash-pipeline.js';
import { type ManifestEntry, type Manifest, MAX_PROBLEMS, compareTreePaths, pathProblem } from './manifest.js';
import { ArchiveReadError, readArchiveFile } from './archive-source.js';
import { TarFormatError } from './tar-format.js';
import { type ContentConsumer, SKIP_CONTENT, type TarEntry, TarParser } from './tar-reader.js';
import { LayoutHash } from './layout-hash.js';

/**
 * Which hash of the archive a check pass takes: `layout` (the bytes outside file content; see
 * layout-hash.ts), `file` (the whole archive file as stored: version 1 manifests), or `none`.
 */
export type ArchiveHashKind = 'layout' | 'file' | 'none';

/** Hooks for a caller that wants the content of checked entries (extraction). */
export interface CheckHooks {
  /**
   * A checked entry starts (`index`: its place in the manifest's entries; `dataOffset`: where its content
   * starts in the tar stream). Return a consumer to receive a file's content, or, with
   * `checksTakenContent` on an uncompressed archive whose file is not hashed whole, SKIP_CONTENT to read
   * that content from the archive file yourself: it is then not read here at all.
   */
  onEntry?(entry: ManifestEntry, index: number, dataOffset: number): ContentConsumer | typeof SKIP_CONTENT | undefined;
  /**
   * A checked entry's content has all passed. Its sha256 may only be compared later (the hashing runs
   * behind, in a worker), so a hook must keep what it wrote disposable until the check ends without
   * problems.
   */
  onEntryEnd?(entry: ManifestEntry, index: number): void;
  /**
   * True when the caller itself compares the content of every file it takes (a consumer returned by
   * `onEntry`) with the manifest's sha256: extraction reads each written file back from disk and hashes
   * that, which covers the archive's bytes too. Those files are then not hashed a second time as they
   * stream past; files the caller does not take still are.
   */
  checksTakenContent?: boolean;
}

/** Result of a check pass. */
export interface CheckResult {
  /** Empty when the archive matches the manifest. */
  problems: string[];
  /** File entries read and their content bytes. */
  files: number;
  bytes: number;
  /** Size of the archive file as stored. */
  archiveBytes: number;
  /** The archive hash of the kind the pass took (see ArchiveHashKind); '' for `none`. */
  archiveSha256: string;
}

/** Input of a check pass. */
export interface CheckInput {
  archivePath: string;
  compression: Manifest['archive']['compression'];
  /** The manifest's entries in order (streamed: see ManifestFile.entries). */
  entries: Iterator<ManifestEntry>;
  /**
   * The same entries once more, read only when some archive entries were not where the manifest has
   * them, to say for each whether it is listed elsewhere (duplicate or out of order) or not at all.
   */
  entriesAgain?: () => Iterable<ManifestEntry>;
  /**
   * The archive file's expected size and hash (of the kind `archiveHash` says); omitted right after
   * writing (then they are computed). The hash is not compared when the pass takes none.
   */
  expectedArchive?: { bytes: number; sha256: string };
  /** Which archive hash to take (default `layout`). See `ArchiveChecker`. */
  archiveHash?: ArchiveHashKind;
  /** Where hashing happens (a worker pipeline, normally). Default: in-thread, 4 MiB buffer. */
  hashes?: HashPipeline;
  /** Where per-file hashes run (see `ArchiveChecker`). */
  placement?: StreamPlacement;
}

function describeRefused(e: TarEntry): string | null {
  switch (e.type) {
    case 'file':
    case 'dir':
    case 'symlink':
      return null;
    case 'hardlink':
      return `hardlink entry (to "${e.linkTarget}") refused`;
    case 'char-device':
    case 'block-device':
      return `${e.type} entry refused`;
    case 'fifo':
      return 'fifo entry refused';
    case 'gnu-long-name':
    case 'gnu-long-link':
      return `GNU ${e.type} record refused (our archives use pax)`;
    default:
      return `entry of unknown type "${e.typeflag}" refused`;
  }
}

/** Options of an ArchiveChecker. */
export interface CheckerOptions {
  /**
   * Where per-file hashes run (see `HashPipeline.open`). Default: when the pass takes an archive hash
   * (createBackup, verifyBackup), a large file is hashed on this thread and small ones wherever there is
   * CPU free: in createBackup the worker is already busy writing the archive and hashing the files as
   * read (handing it the large files' re-read hashes too measured slower). Without one (extractBackup),
   * wherever there is CPU free.
   */
  placement?: StreamPlacement;
  /**
   * Which archive hash to take (default `layout`): createBackup records it in the manifest, and
   * verifyBackup compares it (`file` for a version 1 manifest), as a fingerprint of the exact archive.
   * extractBackup takes none: see there.
   */
  archiveHash?: ArchiveHashKind;
}

/**
 * Checks an archive stream pushed to it in pieces against the manifest entries. The stream can be
 * pushed while it is still being written (createBackup re-reads each region right after writing it), so
 * the entry source may be one that grows, as long as an entry is in it before its bytes are pushed (a
 * source that says "done" is asked again later). Call `push` with the tar bytes and `hashStored` with
 * the file's stored bytes (the same ones unless compressed), then `finish`.
 *
 * Memory: nothing per entry. Archive and manifest are both in tree order, so they are merged like two
 * sorted lists: an archive entry before the manifest's next one is not in the manifest there; a
 * manifest entry passed over is missing from the archive.
 */
export class ArchiveChecker {
  readonly problems: string[] = [];
  private dropped = 0;
  /** The manifest entry after the last one matched or passed over (read ahead), and its index. */
  private next: ManifestEntry | undefined;
  private nextIndex = 0;
  /** The last archive path seen, to call a repeat a duplicate. */
  private lastArchivePath: string | null = null;
  /** Problems about archive entries not where the manifest has them: refined by `finish` when it can. */
  private readonly unplaced: Array<{ at: number; path: string }> = [];
  private missingCount = 0;
  private readonly parser: TarParser;
  /** Hash stream of the archive file's stored bytes (0: not hashed). */
  private readonly archiveStream: number;
  /** The layout hash, when that is the kind taken. */
  private readonly layoutHash: LayoutHash | null;
  /** File entries whose digest arrived before the manifest had one (createBackup: the write-side hash comes later). */
  private readonly deferred: Array<[ManifestEntry, string]> = [];
  private files = 0;
  private bytes = 0;
  private storedBytes = 0;
  private formatError: string | null = null;
  // State of the file entry whose content is passing.
  private stream = 0;
  private current: ManifestEntry | null = null;
  private currentIndex = -1;
  // An error thrown by a hook (disk full while extracting) is the caller's, not an archive problem.
  private hookError: { error: unknown } | null = null;
  private readonly placement: StreamPlacement | undefined;

  constructor(
    private readonly entries: Iterator<ManifestEntry>,
    private readonly hashes: HashPipeline,
    private readonly hooks: CheckHooks = {},
    options: CheckerOptions = {},
  ) {
    const kind = options.archiveHash ?? 'layout';
    this.archiveStream = kind === 'file' ? hashes.open('worker') : 0;
    this.placement = options.placement ?? (kind === 'none' ? 'auto' : undefined);
    const layoutHash = kind === 'layout' ? new LayoutHash() : null;
    this.layoutHash = layoutHash;
    this.parser = new TarParser({
      entry: (e) => this.onEntry(e),
      entryEnd: () => this.onEntryEnd(),
      layout: layoutHash ? (buf, off, len) => layoutHash.update(buf, off, len) : undefined,
    });
  }

  /** Bytes of the archive file as stored (compressed, for gzip): counted, and hashed for a whole-file hash. */
  hashStored(buf: Buffer, off: number, len: number): void {
    if (this.archiveStream !== 0) this.hashes.update(this.archiveStream, buf, off, len);
    this.storedBytes += len;
  }

  /**
   * The next piece of the tar stream. A malformed header is recorded as a problem and everything after
   * it ignored. An error thrown by a hook propagates.
   */
  push(chunk: Buffer): void {
    if (this.formatError !== null) return;
    try {
      this.parser.push(chunk);
    } catch (err) {
      if (this.hookError !== null) throw this.hookError.error;
      if (err instanceof TarFormatError) this.formatError = `archive: malformed tar (${err.message}); entries after it were not read`;
      else throw err;
    }
  }

  /** Content a hook reads itself (SKIP_CONTENT): bytes the reader jumps over, counted as stored. */
  takeSkip(): number {
    const n = this.formatError === null ? this.parser.takeSkip() : 0;
    this.storedBytes += n;
    return n;
  }

  /** The archive could not be read to the end (missing file, I/O or gzip error). */
  readFailed(message: string): void {
    this.formatError ??= message;
  }

  /**
   * After the last push: waits for the hashing, compares what is left, lists the manifest entries the
   * archive did not reach (reading the entry source to its end, which also completes its own checks).
   * `entriesAgain` (see CheckInput) lets it say which archive entries out of place are listed elsewhere.
   */
  async finish(expectedArchive?: { bytes: number; sha256: string }, entriesAgain?: () => Iterable<ManifestEntry>): Promise<CheckResult> {
    let archiveSha256 = '';
    if (this.layoutHash) archiveSha256 = this.layoutHash.digest();
    if (this.archiveStream !== 0) {
      this.hashes.end(this.archiveStream, (hex) => {
        archiveSha256 = hex;
      });
    }
    await this.hashes.finish();
    for (const [m, got] of this.deferred) this.compareDigest(m, got);
    this.deferred.length = 0;
    const problems = this.problems;
    if (!this.formatError) {
      const end = this.parser.end();
      if (end.truncated) this.problem('archive: truncated (ends inside an entry)');
      else if (!end.ended) this.problem('archive: no end-of-archive marker');
      if (end.trailingData) this.problem('archive: data after the end-of-archive marker');
      if (expectedArchive) {
        if (this.storedBytes !== expectedArchive.bytes) {
          this.problem(`archive: ${this.storedBytes} bytes on disk, the manifest says ${expectedArchive.bytes}`);
        }
        if (archiveSha256 !== '' && archiveSha256 !== expectedArchive.sha256) {
          const what = this.layoutHash ? 'layout sha256 (headers, padding and end marker)' : 'sha256';
          this.problem(`archive: ${what} ${archiveSha256} does not match the manifest's ${expectedArchive.sha256}`);
        }
      }
    }
    for (let m = this.peek(); m !== undefined; m = this.peek()) this.passOver(m);
    if (this.unplaced.length > 0 && entriesAgain) this.refineUnplaced(entriesAgain());
    if (this.formatError) {
      problems.unshift(this.formatError);
      if (this.missingCount > 0) problems.push(`${this.missingCount} manifest entries were not reached in the archive`);
    }
    if (this.dropped > 0) problems.push(`… and ${this.dropped} more problems`);
    return { problems, files: this.files, bytes: this.bytes, archiveBytes: this.storedBytes, archiveSha256 };
  }

  /** The manifest's next entry, without taking it (undefined: none, or none yet). */
  private peek(): ManifestEntry | undefined {
    if (this.next === undefined) {
      const r = this.entries.next();
      if (!r.done) this.next = r.value;
    }
    return this.next;
  }

  private take(): number {
    this.next = undefined;
    return this.nextIndex++;
  }

  /** A manifest entry the archive went past (or ended before): missing. */
  private passOver(m: ManifestEntry): void {
    this.take();
    this.missingCount++;
    if (!this.formatError) this.problem(`${JSON.stringify(m.path)}: in the manifest but missing from the archive`);
  }

  /** Say, for each archive entry found out of place, whether the manifest lists it at all. */
  private refineUnplaced(all: Iterable<ManifestEntry>): void {
    const wanted = new Set(this.unplaced.map((u) => u.path));
    const listed = new Set<string>();
    for (const e of all) if (wanted.has(e.path)) listed.add(e.path);
    for (const u of this.unplaced) {
      const q = JSON.stringify(u.path);
      this.problems[u.at] = listed.has(u.path) ? `${q}: duplicate or out-of-order archive entry` : `${q}: archive entry not in the manifest`;
    }
  }

  private problem(p: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(p);
    else this.dropped++;
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      this.hookError = { error: err };
      throw err;
    }
  }

  /** A file's content digest as read, against the manifest's (later, if the manifest has none yet). */
  private compareDigest(m: ManifestEntry, got: string): void {
    const want = m.sha256;
    if (want === undefined || want === '') {
      // createBackup: the write-side digest of this file is still in the worker's queue.
      this.deferred.push([m, got]);
      return;
    }
    if (got !== want) this.problem(`${JSON.stringify(m.path)}: content sha256 ${got} does not match the manifest's ${want}`);
  }

  /**
   * The manifest entry for archive path `path`, and its index: the manifest's next entry when the paths
   * are equal; entries the archive passed over are missing. Null when the manifest has no entry there.
   */
  private match(path: string): ManifestEntry | null {
    for (let m = this.peek(); m !== undefined; m = this.peek()) {
      const c = compareTreePaths(path, m.path);
      if (c === 0) {
        this.currentIndex = this.take();
        return m;
      }
      if (c < 0) return null;
      this.passOver(m);
    }
    return null;
  }

  private onEntry(e: TarEntry): ContentConsumer | typeof SKIP_CONTENT | undefined {
    this.stream = 0;
    this.current = null;
    const path = e.path;
    // Names are quoted only when there is something to say (this runs for every entry).
    const q = (): string => JSON.stringify(path);
    const refused = describeRefused(e);
    if (refused) {
      this.problem(`${q()}: ${refused}`);
      return undefined;
    }
    const bad = pathProblem(path);
    if (bad) {
      this.problem(`${q()}: unsafe archive path (${bad})`);
      return undefined;
    }
    const previous = this.lastArchivePath;
    this.lastArchivePath = path;
    const m = this.match(path);
    if (m === null) {
      if (previous === path) this.problem(`${q()}: duplicate archive entry`);
      else {
        if (this.problems.length < MAX_PROBLEMS) this.unplaced.push({ at: this.problems.length, path });
        this.problem(`${q()}: archive entry not in the manifest here (extra, duplicate or out of order)`);
      }
      return undefined;
    }
    const index = this.currentIndex;
    if (m.type !== e.type) {
      this.problem(`${q()}: is a ${e.type} in the archive, a ${m.type} in the manifest`);
      return undefined;
    }
    if (e.type === 'file' && e.size !== m.size) {
      this.problem(`${q()}: size ${e.size} in the archive, ${m.size} in the manifest`);
      return undefined;
    }
    if (e.type === 'symlink' && e.linkTarget !== m.linkTarget) {
      this.problem(`${q()}: links to ${JSON.stringify(e.linkTarget)} in the archive, ${JSON.stringify(m.linkTarget)} in the manifest`);
    }
    if (e.mode !== m.mode) this.problem(`${q()}: mode ${e.mode.toString(8)} in the archive, ${m.mode.toString(8)} in the manifest`);
    if (Math.floor(e.mtime) !== Math.floor(m.mtimeMs / 1000)) {
      this.problem(`${q()}: mtime ${e.mtime} in the archive, ${m.mtimeMs / 1000} in the manifest`);
    }
    const hashes = this.hashes;
    this.current = m;
    const onEntry = this.hooks.onEntry;
    const c = this.problems.length === 0 && onEntry ? this.guard(() => onEntry(m, index, e.dataOffset)) : undefined;
    if (c === SKIP_CONTENT) {
      // The hook checks this content itself (checksTakenContent); the whole-file hash would miss it
      // (the layout hash does not take file content).
      if (e.type !== 'file' || !this.hooks.checksTakenContent || this.archiveStream !== 0) {
        throw new Error(`${q()}: SKIP_CONTENT needs a file entry, checksTakenContent and no whole-archive hash`);
      }
      this.files++;
      this.bytes += e.size;
      this.stream = 0;
      return SKIP_CONTENT;
    }
    let s = 0;
    if (e.type === 'file') {
      this.files++;
      this.bytes += e.size;
      if (!(c && this.hooks.checksTakenContent)) s = hashes.open(this.placement ?? (e.size >= 2 * hashes.slotSize ? 'local' : 'auto'));
    }
    this.stream = s;
    if (s === 0) return c;
    return c
      ? (chunk: Buffer) => {
          hashes.update(s, chunk, 0, chunk.length);
          if (this.problems.length === 0) this.guard(() => c(chunk));
        }
      : (chunk: Buffer) => hashes.update(s, chunk, 0, chunk.length);
  }

  private onEntryEnd(): void {
    const m = this.current;
    if (m === null) return;
    if (this.stream !== 0) this.hashes.end(this.stream, (got) => this.compareDigest(m, got));
    const onEntryEnd = this.hooks.onEntryEnd;
    if (this.problems.length === 0 && onEntryEnd) this.guard(() => onEntryEnd(m, this.currentIndex));
    this.current = null;
    this.stream = 0;
  }
}

/**
 * Read the archive file once and compare it with the manifest entries. Never throws for archive content
 * (an error thrown by a hook propagates).
 */
export async function checkArchive(input: CheckInput, hooks: CheckHooks = {}): Promise<CheckResult> {
  const hashes = input.hashes ?? new LocalHashPipeline();
  const checker = new ArchiveChecker(input.entries, hashes, hooks, { placement: input.placement, archiveHash: input.archiveHash });
  try {
    await readArchiveFile(input.archivePath, input.compression, checker, hashes);
  } catch (err) {
    // Hook errors (and bugs) propagate; reading errors are findings.
    if (!(err instanceof ArchiveReadError)) throw err;
    checker.readFailed(err.message);
  }
  return checker.finish(input.expectedArchive, input.entriesAgain);
}

/** Path of a backup's archive file. */
export function archivePathOf(dir: string, manifest: Pick<Manifest, 'archive'>): string {
  return join(dir, manifest.archive.file);
}
