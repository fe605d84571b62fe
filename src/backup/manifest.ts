/**
 * manifest.json: what a backup holds, written next to the archive. It is the reference the archive is
 * checked against, so reading one validates everything a hostile or damaged file could get wrong.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, readFileSync, readSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BackupIntegrityError } from '../core/errors.js';
import { fsyncDir } from '../util/fsync.js';

/** How the archive is compressed. */
export type Compression = 'none' | 'gzip';

/** Kinds of entries a backup holds. Nothing else (hardlinks, devices, fifos, sockets) is ever stored. */
export type EntryType = 'file' | 'dir' | 'symlink';

/** One path in the backup. */
export interface ManifestEntry {
  /** Relative to the root, POSIX separators, normalised: no `.`/`..`/empty components, no trailing slash. */
  path: string;
  type: EntryType;
  /** Content bytes (0 for directories and symlinks). */
  size: number;
  /** Permission bits (`mode & 0o7777`). */
  mode: number;
  /** Modification time in milliseconds since the epoch, as `fs.Stats.mtimeMs` gave it. */
  mtimeMs: number;
  /** Hex sha256 of the content; files only. */
  sha256?: string;
  /** The link's target as stored in the link (never resolved); symlinks only. */
  linkTarget?: string;
}

/** The whole manifest. */
export interface Manifest {
  version: 1;
  backupId: string;
  /** ISO 8601. */
  createdAt: string;
  /** Absolute path of the root at backup time. */
  root: string;
  archive: {
    /** File name inside the backup directory: `archive.tar` or `archive.tar.gz`. */
    file: string;
    compression: Compression;
    /** Size of the archive file. */
    bytes: number;
    /** Hex sha256 of the archive file as stored (compressed bytes for gzip). */
    sha256: string;
  };
  /** In archive order. */
  entries: ManifestEntry[];
  totals: { files: number; dirs: number; symlinks: number; bytes: number };
  /** Opaque to this module: story id, feature, run id, flag snapshot… provided by the caller. */
  meta: Record<string, unknown>;
}

/** Name of the manifest file inside a backup directory. */
export const MANIFEST_FILE = 'manifest.json';

/** The archive file name for a compression. */
export function archiveFileName(compression: Compression): string {
  return compression === 'gzip' ? 'archive.tar.gz' : 'archive.tar';
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Why a relative path is not in normal form, or null when it is. Normal form is what createBackup
 * writes and the only form an archive entry may have: relative, `/`-separated, no `.`, `..` or empty
 * components, no NUL.
 */
export function pathProblem(path: string): string | null {
  if (path.length === 0) return 'empty path';
  if (path.includes('\0')) return 'NUL byte in path';
  if (path.startsWith('/')) return 'absolute path';
  for (const part of path.split('/')) {
    if (part === '..') return '".." component';
    if (part === '.') return '"." component';
    if (part === '') return 'empty component (double or trailing slash)';
  }
  return null;
}

/** The ancestors of a normalised path, nearest first: `a/b/c` → `a/b`, `a`. */
export function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  let cut = path.lastIndexOf('/');
  while (cut > 0) {
    out.push(path.slice(0, cut));
    cut = path.lastIndexOf('/', cut - 1);
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Check a parsed manifest. Returns the problems found (empty when valid). Checks types, normal-form
 * unique paths, that no entry sits below a file or symlink entry (an archive must never make us write
 * through a link it created), archive file name, and that the totals agree with the entries.
 */
export function manifestProblems(value: unknown): string[] {
  const problems: string[] = [];
  if (!isRecord(value)) return ['manifest is not a JSON object'];
  if (value.version !== 1) problems.push(`unsupported manifest version ${JSON.stringify(value.version)}`);
  if (typeof value.backupId !== 'string' || value.backupId === '') problems.push('backupId missing');
  if (typeof value.createdAt !== 'string' || Number.isNaN(Date.parse(value.createdAt))) problems.push('createdAt is not a date');
  if (typeof value.root !== 'string' || !value.root.startsWith('/')) problems.push('root is not an absolute path');
  if (!isRecord(value.meta)) problems.push('meta is not an object');
  const archive = value.archive;
  if (!isRecord(archive)) {
    problems.push('archive missing');
  } else {
    if (archive.compression !== 'none' && archive.compression !== 'gzip') {
      problems.push(`archive.compression ${JSON.stringify(archive.compression)} is not "none" or "gzip"`);
    } else if (archive.file !== archiveFileName(archive.compression)) {
      // Only the expected name: a manifest must not point the reader at another file.
      problems.push(`archive.file ${JSON.stringify(archive.file)} should be ${archiveFileName(archive.compression)}`);
    }
    if (!isCount(archive.bytes)) problems.push('archive.bytes is not a byte count');
    if (typeof archive.sha256 !== 'string' || !SHA256_HEX.test(archive.sha256)) problems.push('archive.sha256 is not a sha256');
  }
  if (!Array.isArray(value.entries)) {
    problems.push('entries is not an array');
    return problems;
  }
  const types = new Map<string, EntryType>();
  const totals = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  value.entries.forEach((raw: unknown, i: number) => {
    const where = `entries[${i}]`;
    if (!isRecord(raw)) {
      problems.push(`${where} is not an object`);
      return;
    }
    const path = raw.path;
    if (typeof path !== 'string') {
      problems.push(`${where}.path is not a string`);
      return;
    }
    const label = `${where} "${path}"`;
    const bad = pathProblem(path);
    if (bad) problems.push(`${label}: ${bad}`);
    if (types.has(path)) problems.push(`${label}: duplicate path`);
    const type = raw.type;
    if (type !== 'file' && type !== 'dir' && type !== 'symlink') {
      problems.push(`${label}: type ${JSON.stringify(type)} is not file, dir or symlink`);
      return;
    }
    types.set(path, type);
    if (!isCount(raw.size)) problems.push(`${label}: size is not a byte count`);
    else if (type !== 'file' && raw.size !== 0) problems.push(`${label}: a ${type} must have size 0`);
    if (!isCount(raw.mode) || raw.mode > 0o7777) problems.push(`${label}: mode is not permission bits`);
    if (typeof raw.mtimeMs !== 'number' || !Number.isFinite(raw.mtimeMs)) problems.push(`${label}: mtimeMs is not a number`);
    if (type === 'file') {
      if (typeof raw.sha256 !== 'string' || !SHA256_HEX.test(raw.sha256)) problems.push(`${label}: sha256 missing or malformed`);
      totals.files++;
      if (isCount(raw.size)) totals.bytes += raw.size;
    } else if (raw.sha256 !== undefined) {
      problems.push(`${label}: only files have a sha256`);
    }
    if (type === 'symlink') {
      if (typeof raw.linkTarget !== 'string' || raw.linkTarget === '' || raw.linkTarget.includes('\0')) {
        problems.push(`${label}: linkTarget missing`);
      }
      totals.symlinks++;
    } else if (raw.linkTarget !== undefined) {
      problems.push(`${label}: only symlinks have a linkTarget`);
    }
    if (type === 'dir') totals.dirs++;
  });
  for (const [path] of types) {
    for (const parent of ancestorsOf(path)) {
      const t = types.get(parent);
      if (t !== undefined && t !== 'dir') problems.push(`"${path}" is below "${parent}", which is a ${t}`);
    }
  }
  const t = value.totals;
  if (!isRecord(t)) {
    problems.push('totals missing');
  } else {
    for (const key of ['files', 'dirs', 'symlinks', 'bytes'] as const) {
      if (t[key] !== totals[key]) problems.push(`totals.${key} is ${JSON.stringify(t[key])}, entries say ${totals[key]}`);
    }
  }
  return problems;
}

/**
 * Read and validate `<dir>/manifest.json`.
 * @throws BackupIntegrityError naming every problem (unreadable, not JSON, or invalid).
 */
export function readManifest(dir: string): Manifest {
  const file = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BackupIntegrityError(`cannot read ${file}`, [`manifest unreadable: ${(err as Error).message}`], { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BackupIntegrityError(`${file} is not valid JSON`, [`manifest is not JSON: ${(err as Error).message}`], {
      cause: err,
    });
  }
  const problems = manifestProblems(value);
  if (problems.length > 0) {
    throw new BackupIntegrityError(`${file} is invalid: ${problems.slice(0, 3).join('; ')}`, problems);
  }
  return value as Manifest;
}

/**
 * The manifest's JSON text in pieces: readable at the top, one line per entry, so 50 000 entries stay a
 * few MB instead of tens of MB of indentation, and are never all in one string while writing.
 */
export function* manifestChunks(m: Manifest): Generator<string> {
  const { entries, ...head } = m;
  const top = JSON.stringify(head, null, 2);
  // Entries go last, after the head's fields.
  yield `${top.slice(0, -2)},\n  "entries": [`;
  const batch: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    batch.push(`${i === 0 ? '' : ','}\n    ${JSON.stringify(entries[i])}`);
    if (batch.length === 1000) {
      yield batch.join('');
      batch.length = 0;
    }
  }
  if (batch.length > 0) yield batch.join('');
  yield entries.length === 0 ? ']\n}\n' : '\n  ]\n}\n';
}

/** The manifest's whole JSON text (see `manifestChunks`). */
export function serializeManifest(m: Manifest): string {
  return [...manifestChunks(m)].join('');
}

/**
 * Write `<dir>/manifest.json` atomically and durably (temp file, fsync, rename, fsync of the directory),
 * in chunks. Returns the sha256 of the bytes written, so the caller can read the file back and compare.
 */
export function writeManifestFile(dir: string, m: Manifest): string {
  const file = join(dir, MANIFEST_FILE);
  const tmp = join(dir, `.${MANIFEST_FILE}.tmp`);
  const hash = createHash('sha256');
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    for (const chunk of manifestChunks(m)) {
      const b = Buffer.from(chunk, 'utf8');
      hash.update(b);
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  fsyncDir(dir);
  return hash.digest('hex');
}

/** sha256 of a file, read in 1 MiB pieces. */
export function sha256OfFile(file: string): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  const fd = openSync(file, 'r');
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
