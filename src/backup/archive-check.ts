/**
 * Reading an archive back and checking every entry against the manifest. Used by createBackup (the
 * re-read of what it wrote), verifyBackup, and extractBackup (which writes entries to staging as they
 * are checked, and throws the staging away if any problem turns up).
 *
 * Archive entries are untrusted: an entry is only handed to `onEntry` when its path is in normal form,
 * its type is file/dir/symlink, it is listed in the manifest with the same type, size, mode, mtime and
 * link target, it was not seen before, and no problem has been found so far.
 */
import { join } from 'node:path';
import { type HashPipeline, LocalHashPipeline, type StreamPlacement } from './hash-pipeline.js';
import { type ManifestEntry, type Manifest, pathProblem } from './manifest.js';
import { ArchiveReadError, readArchiveFile } from './archive-source.js';
import { TarFormatError } from './tar-format.js';
import { type ContentConsumer, type TarEntry, TarParser } from './tar-reader.js';

/** Hooks for a caller that wants the content of checked entries (extraction). */
export interface CheckHooks {
  /** A checked entry starts (`index`: its place in the manifest's entries). Return a consumer to receive a file's content. */
  onEntry?(entry: ManifestEntry, index: number): ContentConsumer | undefined;
  /**
   * A checked entry's content has all passed. Its sha256 may only be compared later (the hashing runs
   * behind, in a worker), so a hook must keep what it wrote disposable until the check ends without
   * problems.
   */
  onEntryEnd?(entry: ManifestEntry, index: number): void;
}

/** Result of a check pass. */
export interface CheckResult {
  /** Empty when the archive matches the manifest. */
  problems: string[];
  /** File entries read and their content bytes. */
  files: number;
  bytes: number;
  /** Size and sha256 of the archive file as stored (sha256 '' when the pass did not hash the whole file). */
  archiveBytes: number;
  archiveSha256: string;
}

/** Input of a check pass. */
export interface CheckInput {
  archivePath: string;
  compression: Manifest['archive']['compression'];
  entries: ManifestEntry[];
  /**
   * The archive file's expected size and hash; omitted right after writing (then they are computed).
   * The hash is only compared when the pass hashes the whole file (`hashArchive`).
   */
  expectedArchive?: { bytes: number; sha256: string };
  /** Hash the whole archive file as stored (default true). See `ArchiveChecker`. */
  hashArchive?: boolean;
  /** Where hashing happens (a worker pipeline, normally). Default: in-thread, 4 MiB buffer. */
  hashes?: HashPipeline;
  /** Where per-file hashes run (see `ArchiveChecker`). */
  placement?: StreamPlacement;
}

/** Cap on problems listed: a wholly wrong archive must not produce a million-line report. */
const MAX_PROBLEMS = 200;

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
   * Where per-file hashes run (see `HashPipeline.open`). Default: a large file is hashed on this thread
   * when the worker also hashes the whole archive (it gets the same bytes), else wherever there is CPU free.
   */
  placement?: StreamPlacement;
  /**
   * Hash the whole archive file as stored (default true): createBackup needs it for the manifest, and
   * verifyBackup compares it, as a fingerprint of the exact file. extractBackup does not: see there.
   */
  hashArchive?: boolean;
}

/**
 * Checks an archive stream pushed to it in pieces against the manifest entries. The stream can be
 * pushed while it is still being written (createBackup re-reads each region right after writing it), so
 * `entries` may grow as long as an entry is in it before its bytes are pushed. Call `push` with the tar
 * bytes and `hashStored` with the file's stored bytes (the same ones unless compressed), then `finish`.
 *
 * Memory: nothing per entry beyond one byte (seen or not). Entries come in manifest order in any
 * archive we wrote, so each is looked up at a cursor; only an archive out of that order (a tampered
 * one) makes the checker index the manifest by path.
 */
export class ArchiveChecker {
  readonly problems: string[] = [];
  private dropped = 0;
  /** Per manifest entry: 1 once its archive entry was seen. */
  private seen = new Uint8Array(1024);
  /** Archive paths that are not in the manifest, seen so far (to call a repeat a duplicate). */
  private readonly strangers = new Set<string>();
  /** The manifest index where the next archive entry is expected. */
  private cursor = 0;
  /** Index by path, made only when an entry comes out of order, and how many entries it covers. */
  private byPath: Map<string, number> | null = null;
  private indexed = 0;
  private readonly parser: TarParser;
  /** Hash stream of the archive file's stored bytes (0: not hashed). */
  private readonly archiveStream: number;
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
    private readonly entries: readonly ManifestEntry[],
    private readonly hashes: HashPipeline,
    private readonly hooks: CheckHooks = {},
    options: CheckerOptions = {},
  ) {
    const hashArchive = options.hashArchive ?? true;
    this.archiveStream = hashArchive ? hashes.open('worker') : 0;
    this.placement = options.placement ?? (hashArchive ? undefined : 'auto');
    this.parser = new TarParser({ entry: (e) => this.onEntry(e), entryEnd: () => this.onEntryEnd() });
  }

  /** Bytes of the archive file as stored (compressed, for gzip): counted, and hashed for the archive's sha256. */
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

  /** The archive could not be read to the end (missing file, I/O or gzip error). */
  readFailed(message: string): void {
    this.formatError ??= message;
  }

  /**
   * After the last push: waits for the hashing, compares what is left, lists missing entries (the
   * manifest's `entries` as given to the constructor, complete by now).
   */
  async finish(expectedArchive?: { bytes: number; sha256: string }): Promise<CheckResult> {
    let archiveSha256 = '';
    if (this.archiveStream !== 0) {
      this.hashes.end(this.archiveStream, (hex) => {
        archiveSha256 = hex;
      });
    }
    await this.hashes.finish();
    for (const [m, got] of this.deferred) this.compareDigest(m, got);
    this.deferred.length = 0;
    const problems = this.problems;
    if (this.formatError) {
      problems.unshift(this.formatError);
    } else {
      const end = this.parser.end();
      if (end.truncated) this.problem('archive: truncated (ends inside an entry)');
      else if (!end.ended) this.problem('archive: no end-of-archive marker');
      if (end.trailingData) this.problem('archive: data after the end-of-archive marker');
      if (expectedArchive) {
        if (this.storedBytes !== expectedArchive.bytes) {
          this.problem(`archive: ${this.storedBytes} bytes on disk, the manifest says ${expectedArchive.bytes}`);
        }
        if (this.archiveStream !== 0 && archiveSha256 !== expectedArchive.sha256) {
          this.problem(`archive: sha256 ${archiveSha256} does not match the manifest's ${expectedArchive.sha256}`);
        }
      }
    }
    let missing = 0;
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) {
      if (this.seen[i] !== 1) {
        missing++;
        if (!this.formatError) this.problem(`${JSON.stringify((entries[i] as ManifestEntry).path)}: in the manifest but missing from the archive`);
      }
    }
    if (this.formatError && missing > 0) problems.push(`${missing} manifest entries were not reached in the archive`);
    if (this.dropped > 0) problems.push(`… and ${this.dropped} more problems`);
    return { problems, files: this.files, bytes: this.bytes, archiveBytes: this.storedBytes, archiveSha256 };
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

  /** The manifest index of `path` (-1: not in the manifest). Entries in manifest order need no lookup. */
  private indexOf(path: string): number {
    const entries = this.entries;
    const c = this.cursor;
    if (c < entries.length && (entries[c] as ManifestEntry).path === path) {
      this.cursor = c + 1;
      return c;
    }
    const map = (this.byPath ??= new Map());
    for (; this.indexed < entries.length; this.indexed++) map.set((entries[this.indexed] as ManifestEntry).path, this.indexed);
    const i = map.get(path);
    if (i === undefined) return -1;
    this.cursor = i + 1;
    return i;
  }

  private markSeen(i: number): boolean {
    if (i >= this.seen.length) {
      const bigger = new Uint8Array(Math.max(i + 1, this.seen.length * 2));
      bigger.set(this.seen);
      this.seen = bigger;
    }
    if (this.seen[i] === 1) return false;
    this.seen[i] = 1;
    return true;
  }

  private onEntry(e: TarEntry): ContentConsumer | undefined {
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
    const index = this.indexOf(path);
    if (index < 0) {
      if (this.strangers.has(path)) this.problem(`${q()}: duplicate archive entry`);
      else {
        this.strangers.add(path);
        this.problem(`${q()}: archive entry not in the manifest`);
      }
      return undefined;
    }
    if (!this.markSeen(index)) {
      this.problem(`${q()}: duplicate archive entry`);
      return undefined;
    }
    const m = this.entries[index] as ManifestEntry;
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
    let s = 0;
    if (e.type === 'file') {
      this.files++;
      this.bytes += e.size;
      s = hashes.open(this.placement ?? (e.size >= 2 * hashes.slotSize ? 'local' : 'auto'));
    }
    this.stream = s;
    this.current = m;
    this.currentIndex = index;
    const onEntry = this.hooks.onEntry;
    const c = this.problems.length === 0 && onEntry ? this.guard(() => onEntry(m, index)) : undefined;
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
  const checker = new ArchiveChecker(input.entries, hashes, hooks, { placement: input.placement, hashArchive: input.hashArchive });
  try {
    await readArchiveFile(input.archivePath, input.compression, checker, hashes);
  } catch (err) {
    // Hook errors (and bugs) propagate; reading errors are findings.
    if (!(err instanceof ArchiveReadError)) throw err;
    checker.readFailed(err.message);
  }
  return checker.finish(input.expectedArchive);
}

/** Path of a backup's archive file. */
export function archivePathOf(dir: string, manifest: Pick<Manifest, 'archive'>): string {
  return join(dir, manifest.archive.file);
}
