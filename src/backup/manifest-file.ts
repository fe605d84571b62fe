/**
 * Reading and writing manifest.json as a stream of lines, so no pass over a backup holds all of its
 * entries: the head (every field but the entries) is read first, then the entries one line at a time.
 * The layout is the one `serializeManifest` and ManifestWriter write; any other layout, even valid JSON,
 * is refused rather than read whole.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, readSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { BackupIntegrityError } from '../model/errors.js';
import { fsyncDir } from '../util/fsync.js';
import { writeAll } from '../util/write-all.js';
import { hashWholeFile } from './hash-pipeline.js';
import {
  EntryValidator,
  MANIFEST_FILE,
  type Manifest,
  type ManifestEntry,
  type ManifestHead,
  entryLine,
  headProblems,
  headText,
  tailText,
} from './manifest.js';

const CHUNK = 1 << 20;
/** The line that ends the head and opens the entries (`[]` when there are none). */
const ENTRIES_OPEN = '  "entries": [';
const ENTRIES_EMPTY = '  "entries": []';
/**
 * A manifest of at most this many entries is kept in memory after its first pass (its size at this
 * limit is in docs/performance.md), so a restore's later passes cost nothing; a bigger
 * one is streamed again on every pass. Memory stays bounded whatever the number of files; a story's
 * usual backup is far below this.
 */
const KEEP_ENTRIES = 65_536;
/** A head bigger than this is not one we wrote (meta is a flag snapshot and a few records). */
const MAX_HEAD_BYTES = 64 << 20;

/**
 * The lines of a file, read in 1 MiB pieces. `onChunk` sees each piece before any line that ends in it
 * is yielded (and may throw to stop there). `at.line` is the 1-based number of the line last yielded.
 */
function* lines(file: string, onChunk: (chunk: Buffer, index: number) => void, at: { line: number }): Generator<string> {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw new BackupIntegrityError(`cannot read ${file}`, [`manifest unreadable: ${(err as Error).message}`], { cause: err });
  }
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    const decoder = new StringDecoder('utf8');
    let rest = '';
    for (let index = 0; ; index++) {
      const got = readSync(fd, buf, 0, buf.length, null);
      if (got === 0) break;
      onChunk(buf.subarray(0, got), index);
      const text = rest + decoder.write(buf.subarray(0, got));
      let from = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
        at.line++;
        yield text.slice(from, nl);
        from = nl + 1;
      }
      rest = text.slice(from);
    }
    rest += decoder.end();
    if (rest !== '') {
      at.line++;
      yield rest;
    }
  } finally {
    closeSync(fd);
  }
}

const sha256Of = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** An entry line of a manifest already checked (or our own temp file): its JSON, without the comma. */
function parseEntryLine(line: string): ManifestEntry {
  const t = line.trimEnd();
  return JSON.parse(t.endsWith(',') ? t.slice(0, -1) : t) as ManifestEntry;
}
const ignore = (): void => undefined;

function invalid(file: string, problems: string[]): BackupIntegrityError {
  return new BackupIntegrityError(`${file} is invalid: ${problems.slice(0, 3).join('; ')}`, problems);
}

/**
 * A backup's manifest.json, opened: its head read and checked; its entries streamed from the file and
 * checked in full by the first call of `entries()`. Later calls give the entries that pass kept, for a
 * small manifest, or stream the file again, shown piece by piece to be the very bytes the first pass
 * checked (a manifest that changes between two passes of one restore fails it).
 */
export class ManifestFile {
  /** sha256 of each 1 MiB piece of the file, from the first pass that found it valid. */
  private checkedPieces: string[] | null = null;
  /** The entries of a small manifest (see KEEP_ENTRIES), from the first pass that found them valid. */
  private kept: ManifestEntry[] | null = null;

  private constructor(
    readonly file: string,
    readonly head: ManifestHead,
    private readonly headRaw: string,
    private readonly keepEntries: number,
  ) {}

  /**
   * Read and check the head of `<dir>/manifest.json` (not the entries: see `entries`). `keepEntries`:
   * the most entries kept in memory after the first pass (default KEEP_ENTRIES).
   * @throws BackupIntegrityError naming every problem (unreadable, not JSON, not our layout, invalid).
   */
  static open(dir: string, opts: { keepEntries?: number } = {}): ManifestFile {
    const file = join(dir, MANIFEST_FILE);
    const head: string[] = [];
    let bytes = 0;
    for (const line of lines(file, ignore, { line: 0 })) {
      if (line === ENTRIES_OPEN || line === ENTRIES_EMPTY) {
        const raw = head.join('\n');
        let value: unknown;
        try {
          // The head is the object's opening fields: close it after the last one's comma.
          value = JSON.parse(`${raw.replace(/,\s*$/, '')}\n}`);
        } catch (err) {
          throw new BackupIntegrityError(`${file} is not valid JSON`, [`manifest is not JSON: ${(err as Error).message}`], { cause: err });
        }
        const opened = new ManifestFile(file, value as ManifestHead, raw, opts.keepEntries ?? KEEP_ENTRIES);
        const problems = headProblems(value);
        if (problems.length > 0) {
          // Name every problem at once, the entries' too (they are not read otherwise).
          if (typeof value === 'object' && value !== null && !Array.isArray(value)) problems.push(...opened.entryProblems());
          throw invalid(file, problems);
        }
        return opened;
      }
      head.push(line);
      bytes += line.length + 1;
      if (bytes > MAX_HEAD_BYTES) break;
    }
    // No entries line: say whether it is JSON at all, or JSON in a layout we do not read.
    const text = head.join('\n');
    try {
      JSON.parse(text);
    } catch (err) {
      throw new BackupIntegrityError(`${file} is not valid JSON`, [`manifest is not JSON: ${(err as Error).message}`], { cause: err });
    }
    throw new BackupIntegrityError(`${file} is not laid out as rollback-manager writes it`, [
      `manifest layout not recognised: expected a line "${ENTRIES_OPEN}" followed by one entry per line`,
    ]);
  }

  /** How many entries the head's totals declare (the first pass over the entries holds it to that). */
  get entryCount(): number {
    const { files, dirs, symlinks } = this.head.totals;
    return files + dirs + symlinks;
  }

  /** The problems of a whole pass over the entries (empty when they are valid). */
  private entryProblems(): string[] {
    try {
      for (const e of this.entries()) void e;
    } catch (err) {
      if (err instanceof BackupIntegrityError) return err.problems;
      throw err;
    }
    return [];
  }

  /**
   * The entries, streamed from the file in order. Only entries that pass every check are yielded; when
   * the pass ends, any problem throws BackupIntegrityError naming them all. A caller that acted on
   * yielded entries must keep that disposable until the pass has ended.
   *
   * The first pass that ends without a problem keeps the entries themselves when there are at most
   * `keepEntries`, and otherwise the sha256 of each 1 MiB piece it read (32 bytes a piece): every later
   * pass then checks each piece against those before it yields a line from it, so it reads the very bytes
   * that were checked, and does not check the entries again; a manifest that changed in between fails
   * there, before any of its new content is used.
   */
  *entries(): Generator<ManifestEntry, void, undefined> {
    if (this.kept !== null) {
      yield* this.kept;
      return;
    }
    const checked = this.checkedPieces;
    if (checked !== null) {
      yield* this.entriesAgain(checked);
      return;
    }
    // Decided from the head's totals (checked against the entries by the end of this pass): a big
    // manifest does not fill a list only to drop it.
    // (A head found invalid is read here too, to list every problem: its totals may be missing.)
    const t = this.head.totals as Partial<ManifestHead['totals']> | undefined;
    const declared = Number(t?.files) + Number(t?.dirs) + Number(t?.symlinks);
    let keep: ManifestEntry[] | null = declared <= this.keepEntries ? [] : null;
    const pieces: string[] = [];
    const v = new EntryValidator();
    const syntax: string[] = [];
    const at = { line: 0 };
    let headLines: string[] | null = [];
    let state: 'head' | 'entries' | 'closing' | 'end' | 'broken' = 'head';
    let pendingComma = false;
    let sawEntry = false;
    for (const line of lines(this.file, (chunk) => pieces.push(sha256Of(chunk)), at)) {
      const n = at.line;
      if (state === 'head') {
        if (line === ENTRIES_OPEN || line === ENTRIES_EMPTY) {
          if ((headLines as string[]).join('\n') !== this.headRaw) syntax.push('manifest changed while it was being read');
          headLines = null;
          state = line === ENTRIES_EMPTY ? 'closing' : 'entries';
        } else (headLines as string[]).push(line);
        continue;
      }
      if (state === 'broken') continue; // read to the end all the same
      if (state === 'entries') {
        if (line === '  ]') {
          if (pendingComma) syntax.push(`line ${n - 1}: a comma after the last entry`);
          state = 'closing';
          continue;
        }
        const trimmed = line.trimEnd();
        if (!trimmed.startsWith('    {') || !(trimmed.endsWith('}') || trimmed.endsWith('},'))) {
          // Past a line that is not one whole entry, nothing can be trusted to line up: stop there.
          syntax.push(`manifest layout not recognised: line ${n} is not one whole entry (rollback-manager writes one per line)`);
          state = 'broken';
          continue;
        }
        if (sawEntry && !pendingComma) syntax.push(`line ${n - 1}: no comma after the entry`);
        sawEntry = true;
        const comma = trimmed.endsWith(',');
        let raw: unknown;
        try {
          raw = JSON.parse(comma ? trimmed.slice(0, -1) : trimmed);
        } catch (err) {
          syntax.push(`manifest is not JSON: line ${n}: ${(err as Error).message}`);
          state = 'broken';
          continue;
        }
        pendingComma = comma;
        if (v.check(raw)) {
          if (keep !== null) keep = keep.length < this.keepEntries ? (keep.push(raw), keep) : null;
          yield raw;
        }
        continue;
      }
      if (state === 'closing') {
        if (line === '}') state = 'end';
        else syntax.push(`line ${n}: expected the closing "}"`);
        continue;
      }
      if (line.trim() !== '') syntax.push(`line ${n}: data after the end of the manifest`);
    }
    if (state === 'head' || state === 'entries' || state === 'closing') syntax.push('manifest is not JSON: it ends before its closing "}"');
    if (state !== 'broken') v.finish(this.head.totals);
    const problems = [...syntax.slice(0, 20), ...v.all()];
    if (problems.length > 0) throw invalid(this.file, problems);
    this.checkedPieces = pieces;
    this.kept = keep;
  }

  /** A pass over a manifest a first pass found valid: the same bytes, piece by piece, so the same entries. */
  private *entriesAgain(checked: readonly string[]): Generator<ManifestEntry, void, undefined> {
    const changed = (): BackupIntegrityError => invalid(this.file, ['manifest changed while it was being read']);
    let pieces = 0;
    const same = (chunk: Buffer, index: number): void => {
      if (sha256Of(chunk) !== checked[index]) throw changed();
      pieces = index + 1;
    };
    let inEntries = false;
    for (const line of lines(this.file, same, { line: 0 })) {
      if (!inEntries) {
        inEntries = line === ENTRIES_OPEN;
        continue;
      }
      if (line === '  ]' || line === '}' || line === '') continue; // the closing lines: read to the end
      yield parseEntryLine(line);
    }
    // Drained to the end, so a file that grew or shrank is seen too.
    if (pieces !== checked.length) throw changed();
  }
}

/**
 * Read and validate the whole of `<dir>/manifest.json` into memory. For tests and callers that need the
 * head and know the backup is small; every pass over a backup's files streams instead (ManifestFile).
 * @throws BackupIntegrityError naming every problem.
 */
export function readManifest(dir: string): Manifest {
  const m = ManifestFile.open(dir);
  return { ...m.head, entries: [...m.entries()] };
}

/** Only the head of `<dir>/manifest.json`, checked (the entries are not read). */
export function readManifestHead(dir: string): ManifestHead {
  return ManifestFile.open(dir).head;
}

/**
 * Writes a manifest whose entries come one at a time (createBackup's, as files are archived): they go to
 * a temp file in the backup directory as they come, checked like a reader checks them; `finish` then
 * writes manifest.json atomically and durably, head first, and removes the temp file.
 */
export class ManifestWriter {
  private readonly entriesFile: string;
  private fd: number;
  private readonly validator = new EntryValidator();
  private pending: string[] = [];
  private pendingBytes = 0;
  private count = 0;

  constructor(private readonly dir: string) {
    this.entriesFile = join(dir, '.manifest.entries.tmp');
    this.fd = openSync(this.entriesFile, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
  }

  /** Entries added so far, and their totals. */
  get totals(): ManifestHead['totals'] {
    return { ...this.validator.totals };
  }

  /**
   * The next entry, in tree order, complete (a file with its sha256).
   * @throws BackupIntegrityError when it would make the manifest invalid (a bug of ours: a backup that a
   * reader refuses is no backup).
   */
  add(e: ManifestEntry): void {
    if (!this.validator.check(e)) {
      throw new BackupIntegrityError(`the manifest for ${this.dir} would be invalid`, this.validator.all());
    }
    const line = entryLine(e, this.count++ === 0);
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= 256 * 1024) this.flush();
  }

  /** The entries added so far, read back from the temp file (a gzip backup's check runs after writing). */
  *readBack(): Generator<ManifestEntry> {
    this.flush();
    let first = true;
    for (const line of lines(this.entriesFile, ignore, { line: 0 })) {
      if (first && line === '') {
        first = false;
        continue; // the newline that opens the first entry
      }
      first = false;
      yield parseEntryLine(line);
    }
  }

  /**
   * Write `<dir>/manifest.json`: temp file, fsync, rename, fsync of the directory. Returns the sha256 of
   * the bytes written (the caller reads the file back and compares) and the totals.
   */
  finish(head: Omit<ManifestHead, 'totals'>): { sha256: string; totals: ManifestHead['totals'] } {
    this.flush();
    const totals = this.totals;
    const file = join(this.dir, MANIFEST_FILE);
    const tmp = join(this.dir, `.${MANIFEST_FILE}.tmp`);
    const hash = createHash('sha256');
    const out = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    const put = (b: Buffer): void => {
      hash.update(b);
      writeAll(out, b);
    };
    try {
      put(Buffer.from(headText({ ...head, totals }), 'utf8'));
      const buf = Buffer.allocUnsafe(CHUNK);
      for (let pos = 0; ; ) {
        const n = readSync(this.fd, buf, 0, buf.length, pos);
        if (n === 0) break;
        put(buf.subarray(0, n));
        pos += n;
      }
      put(Buffer.from(tailText(this.count), 'utf8'));
      fsyncSync(out);
    } finally {
      closeSync(out);
    }
    this.close();
    // The temp entries go before the rename: a crash in between leaves a folder without manifest.json,
    // which is no backup (and is cleared), never a backup with a stray file.
    unlinkSync(this.entriesFile);
    renameSync(tmp, file);
    fsyncDir(this.dir);
    return { sha256: hash.digest('hex'), totals };
  }

  /** Close the temp file (on failure the caller removes the whole backup directory). */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    writeAll(this.fd, Buffer.from(this.pending.join(''), 'utf8'));
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/** sha256 of a file (not followed when a symlink, as the manifest is read), read in 1 MiB pieces. */
export function sha256OfFile(file: string): string {
  return hashWholeFile(openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW), Buffer.allocUnsafe(CHUNK), false);
}
