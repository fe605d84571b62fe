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
  /** A checked entry starts. Return a consumer to receive a file's content. */
  onEntry?(entry: ManifestEntry): ContentConsumer | undefined;
  /**
   * A checked entry's content has all passed. Its sha256 is only compared once the whole archive is
   * read (the hashing runs behind, in a worker), so a hook must keep what it wrote disposable until the
   * check ends without problems.
   */
  onEntryEnd?(entry: ManifestEntry): void;
}

/** Result of a check pass. */
export interface CheckResult {
  /** Empty when the archive matches the manifest. */
  problems: string[];
  /** File entries read and their content bytes. */
  files: number;
  bytes: number;
  /** Size and sha256 of the archive file as stored. */
  archiveBytes: number;
  archiveSha256: string;
}

/** Input of a check pass. */
export interface CheckInput {
  archivePath: string;
  compression: Manifest['archive']['compression'];
  entries: ManifestEntry[];
  /** The archive file's expected size and hash; omitted right after writing (then they are computed). */
  expectedArchive?: { bytes: number; sha256: string };
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

/**
 * Checks an archive stream pushed to it in pieces against manifest entries looked up by path. The
 * stream can be pushed while it is still being written (createBackup re-reads each region right after
 * writing it), so the lookup map may grow as long as an entry is in it before its bytes are pushed.
 * Call `push` with the tar bytes and `hashStored` with the file's stored bytes (the same ones unless
 * compressed), then `finish`.
 */
export class ArchiveChecker {
  readonly problems: string[] = [];
  private dropped = 0;
  private readonly seen = new Set<string>();
  private readonly parser: TarParser;
  /** Hash stream of the archive file's stored bytes. */
  readonly archiveStream: number;
  /** Per file entry read: its hash stream and the manifest entry it must match. */
  private readonly fileStreams: Array<[number, ManifestEntry]> = [];
  private files = 0;
  private bytes = 0;
  private storedBytes = 0;
  private formatError: string | null = null;
  // State of the file entry whose content is passing.
  private stream = 0;
  private current: ManifestEntry | null = null;
  // An error thrown by a hook (disk full while extracting) is the caller's, not an archive problem.
  private hookError: { error: unknown } | null = null;

  /**
   * @param placement where per-file hashes run (see `HashPipeline.open`); by default a large file is
   * hashed on this thread while the worker hashes the same bytes for the archive's sha256, and small ones
   * go wherever there is CPU free.
   */
  constructor(
    private readonly byPath: ReadonlyMap<string, ManifestEntry>,
    private readonly hashes: HashPipeline,
    private readonly hooks: CheckHooks = {},
    private readonly placement?: StreamPlacement,
  ) {
    this.archiveStream = hashes.open('worker');
    this.parser = new TarParser({ entry: (e) => this.onEntry(e), entryEnd: () => this.onEntryEnd() });
  }

  /** Bytes of the archive file as stored (compressed, for gzip): hashed for the archive's sha256. */
  hashStored(buf: Buffer, off: number, len: number): void {
    this.hashes.update(this.archiveStream, buf, off, len);
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
   * After the last push: ends the hashing, compares content hashes, lists missing entries.
   * `entries` is the full manifest list (to find what the archive lacks).
   */
  async finish(entries: ManifestEntry[], expectedArchive?: { bytes: number; sha256: string }): Promise<CheckResult> {
    this.endStored();
    const digests = await this.hashes.finish();
    return this.finishWith(digests, entries, expectedArchive);
  }

  /** No more stored bytes: close the archive's hash stream (before collecting digests yourself). */
  endStored(): void {
    this.hashes.end(this.archiveStream);
  }

  /**
   * Like `finish`, when the caller collects the pipeline's digests itself (after `endStored`), because
   * it needs others from the same pipeline first.
   */
  finishWith(digests: Map<number, string>, entries: ManifestEntry[], expectedArchive?: { bytes: number; sha256: string }): CheckResult {
    const archiveSha256 = digests.get(this.archiveStream) ?? '';
    for (const [s, m] of this.fileStreams) {
      const got = digests.get(s);
      // A file cut short by a format error was never ended: it is reported with that error.
      if (got !== undefined && got !== m.sha256) {
        this.problem(`${JSON.stringify(m.path)}: content sha256 ${got} does not match the manifest's ${m.sha256}`);
      }
    }
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
        if (archiveSha256 !== expectedArchive.sha256) {
          this.problem(`archive: sha256 ${archiveSha256} does not match the manifest's ${expectedArchive.sha256}`);
        }
      }
    }
    let missing = 0;
    for (const e of entries) {
      if (!this.seen.has(e.path)) {
        missing++;
        if (!this.formatError) this.problem(`${JSON.stringify(e.path)}: in the manifest but missing from the archive`);
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
    if (this.seen.has(path)) {
      this.problem(`${q()}: duplicate archive entry`);
      return undefined;
    }
    this.seen.add(path);
    const m = this.byPath.get(path);
    if (!m) {
      this.problem(`${q()}: archive entry not in the manifest`);
      return undefined;
    }
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
      this.fileStreams.push([s, m]);
    }
    this.stream = s;
    this.current = m;
    const onEntry = this.hooks.onEntry;
    const c = this.problems.length === 0 && onEntry ? this.guard(() => onEntry(m)) : undefined;
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
    if (this.stream !== 0) this.hashes.end(this.stream);
    const onEntryEnd = this.hooks.onEntryEnd;
    if (this.problems.length === 0 && onEntryEnd) this.guard(() => onEntryEnd(m));
    this.current = null;
    this.stream = 0;
  }
}

/** Read the archive file once and compare it with the manifest entries. Never throws for archive content. */
export async function checkArchive(input: CheckInput, hooks: CheckHooks = {}): Promise<CheckResult> {
  const hashes = input.hashes ?? new LocalHashPipeline();
  const byPath = new Map<string, ManifestEntry>();
  for (const e of input.entries) byPath.set(e.path, e);
  const checker = new ArchiveChecker(byPath, hashes, hooks, input.placement);
  try {
    await readArchiveFile(input.archivePath, input.compression, checker, hashes);
  } catch (err) {
    // Hook errors (and bugs) propagate; reading errors are findings.
    if (!(err instanceof ArchiveReadError)) throw err;
    checker.readFailed(err.message);
  }
  return checker.finish(input.entries, input.expectedArchive);
}

/** Path of a backup's archive file. */
export function archivePathOf(dir: string, manifest: Pick<Manifest, 'archive'>): string {
  return join(dir, manifest.archive.file);
}
