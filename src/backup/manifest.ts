/**
 * manifest.json: what a backup holds, written next to the archive. It is the reference the archive is
 * checked against, so reading one validates everything a hostile or damaged file could get wrong.
 *
 * Entries are in tree order (see `compareTreePaths`), one per line, after every other field. That order
 * is what lets every pass over a backup — writing, re-reading, verifying, restoring — stream the entries
 * beside the archive instead of holding them all: memory does not grow with the number of files, and
 * duplicates or an entry below a file or symlink are caught with a stack as deep as the tree.
 * Reading and writing the file is in `manifest-file.ts`.
 */

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

/** The whole manifest (held in memory only by tests and small callers; see `ManifestFile`). */
export interface Manifest extends ManifestHead {
  /** In archive order, which is tree order. */
  entries: ManifestEntry[];
}

/** Every field of the manifest but its entries: small, read first. */
export interface ManifestHead {
  /** 2 since the layout hash; 1 (the whole archive file's sha256) is still read and verified. */
  version: ManifestVersion;
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
    /**
     * Version 2: hex sha256 of the tar stream's bytes outside regular files' content (headers, pax
     * records, padding, end marker; decompressed for gzip), in order. With each file's sha256 it covers
     * every byte of the tar stream. See layout-hash.ts.
     */
    layoutSha256?: string;
    /** Version 1 only: hex sha256 of the archive file as stored (compressed bytes for gzip). */
    sha256?: string;
  };
  totals: { files: number; dirs: number; symlinks: number; bytes: number };
  /** Opaque to this module: story id, feature, run id, flag snapshot… provided by the caller. */
  meta: Record<string, unknown>;
}

/** Manifest versions this code reads; it writes the last. */
export type ManifestVersion = 1 | 2;

/** The version createBackup writes. */
export const MANIFEST_VERSION = 2 as const;

/**
 * How a manifest fingerprints its archive: version 2 by the layout hash, version 1 by the sha256 of the
 * whole file (see ArchiveHashKind). Call on a head that passed `headProblems`.
 */
export function archiveFingerprint(head: Pick<ManifestHead, 'version' | 'archive'>): { kind: 'layout' | 'file'; sha256: string } {
  const { archive } = head;
  return head.version === 1 ? { kind: 'file', sha256: archive.sha256 ?? '' } : { kind: 'layout', sha256: archive.layoutSha256 ?? '' };
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
  if (path.charCodeAt(0) === 0x2f) return 'absolute path';
  // Component by component without splitting: this runs for every entry of every manifest and archive.
  for (let start = 0; ; ) {
    const end = path.indexOf('/', start);
    const len = (end < 0 ? path.length : end) - start;
    if (len === 0) return 'empty component (double or trailing slash)';
    if (len <= 2 && path.charCodeAt(start) === 0x2e) {
      if (len === 1) return '"." component';
      if (path.charCodeAt(start + 1) === 0x2e) return '".." component';
    }
    if (end < 0) return null;
    start = end + 1;
  }
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

/**
 * Tree order: the order of a depth-first walk that lists a directory before its content and siblings by
 * name (UTF-16 code units, as `readdir` names sort). It is plain string order with `/` below every other
 * character, so that `a/b` comes before `a-c` and a subtree is never split by a sibling. Returns < 0,
 * 0 or > 0.
 */
export function compareTreePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
    return x - y;
  }
  return a.length - b.length;
}

/** True when `ancestor` is a proper ancestor of `path` (both normalised). */
export function isBelow(path: string, ancestor: string): boolean {
  return path.length > ancestor.length && path.charCodeAt(ancestor.length) === 0x2f && path.startsWith(ancestor);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Cap on problems listed: a wholly wrong manifest must not produce a million-line report. */
export const MAX_PROBLEMS = 200;

/** Problems of every field but `entries` and `totals` (those need the entries: see EntryValidator). */
export function headProblems(value: unknown): string[] {
  const problems: string[] = [];
  if (!isRecord(value)) return ['manifest is not a JSON object'];
  const version = value.version;
  if (version !== 1 && version !== 2) problems.push(`unsupported manifest version ${JSON.stringify(version)}`);
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
    // Exactly the fingerprint of its version: a manifest must not leave the reader to pick the weaker one.
    const [wanted, other] = version === 1 ? (['sha256', 'layoutSha256'] as const) : (['layoutSha256', 'sha256'] as const);
    const digest = archive[wanted];
    if (typeof digest !== 'string' || !SHA256_HEX.test(digest)) problems.push(`archive.${wanted} is not a sha256`);
    // (Of an unknown version, the version is the one problem worth naming.)
    if (archive[other] !== undefined && (version === 1 || version === 2)) {
      problems.push(`archive.${other} does not belong in a version ${version} manifest`);
    }
  }
  if (!isRecord(value.totals)) problems.push('totals missing');
  return problems;
}

/**
 * Checks manifest entries one at a time, in order, holding only the chain of entries above the current
 * one: types, normal-form paths, tree order (which makes paths unique), that no entry sits below a file
 * or symlink entry (an archive must never make us write through a link it created), and at the end that
 * the totals agree with the entries.
 */
export class EntryValidator {
  readonly problems: string[] = [];
  /** Problems beyond MAX_PROBLEMS, counted only. */
  dropped = 0;
  readonly totals = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  private count = 0;
  private last: string | null = null;
  /** The entries above the last one, nearest last. */
  private readonly chain: Array<{ path: string; type: EntryType }> = [];

  /** Check the next entry; true when it is valid (then it may be used). */
  check(raw: unknown): raw is ManifestEntry {
    const where = `entries[${this.count++}]`;
    const before = this.problems.length + this.dropped;
    if (!isRecord(raw)) {
      this.problem(`${where} is not an object`);
      return false;
    }
    const path = raw.path;
    if (typeof path !== 'string') {
      this.problem(`${where}.path is not a string`);
      return false;
    }
    const label = `${where} "${path}"`;
    const bad = pathProblem(path);
    if (bad) this.problem(`${label}: ${bad}`);
    else if (this.last !== null && compareTreePaths(path, this.last) <= 0) {
      this.problem(path === this.last ? `${label}: duplicate path` : `${label}: out of order (after "${this.last}")`);
    }
    const type = raw.type;
    if (type !== 'file' && type !== 'dir' && type !== 'symlink') {
      this.problem(`${label}: type ${JSON.stringify(type)} is not file, dir or symlink`);
      return false;
    }
    if (!bad) {
      const chain = this.chain;
      while (chain.length > 0 && !isBelow(path, (chain[chain.length - 1] as { path: string }).path)) chain.pop();
      for (const a of chain) if (a.type !== 'dir') this.problem(`"${path}" is below "${a.path}", which is a ${a.type}`);
      chain.push({ path, type });
      this.last = path;
    }
    if (!isCount(raw.size)) this.problem(`${label}: size is not a byte count`);
    else if (type !== 'file' && raw.size !== 0) this.problem(`${label}: a ${type} must have size 0`);
    if (!isCount(raw.mode) || raw.mode > 0o7777) this.problem(`${label}: mode is not permission bits`);
    if (typeof raw.mtimeMs !== 'number' || !Number.isFinite(raw.mtimeMs)) this.problem(`${label}: mtimeMs is not a number`);
    const t = this.totals;
    if (type === 'file') {
      if (typeof raw.sha256 !== 'string' || !SHA256_HEX.test(raw.sha256)) this.problem(`${label}: sha256 missing or malformed`);
      t.files++;
      if (isCount(raw.size)) t.bytes += raw.size;
    } else if (raw.sha256 !== undefined) {
      this.problem(`${label}: only files have a sha256`);
    }
    if (type === 'symlink') {
      if (typeof raw.linkTarget !== 'string' || raw.linkTarget === '' || raw.linkTarget.includes('\0')) {
        this.problem(`${label}: linkTarget missing`);
      }
      t.symlinks++;
    } else if (raw.linkTarget !== undefined) {
      this.problem(`${label}: only symlinks have a linkTarget`);
    }
    if (type === 'dir') t.dirs++;
    return this.problems.length + this.dropped === before;
  }

  /** After the last entry: the declared totals against the entries'. */
  finish(declared: unknown): void {
    if (!isRecord(declared)) return; // reported by headProblems
    for (const key of ['files', 'dirs', 'symlinks', 'bytes'] as const) {
      if (declared[key] !== this.totals[key]) this.problem(`totals.${key} is ${JSON.stringify(declared[key])}, entries say ${this.totals[key]}`);
    }
  }

  /** Every problem, with a count of those left out. */
  all(): string[] {
    return this.dropped > 0 ? [...this.problems, `… and ${this.dropped} more problems`] : [...this.problems];
  }

  private problem(p: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(p);
    else this.dropped++;
  }
}

/** Opening of the manifest's text: every field but the entries, up to and including the entries' `[`. */
export function headText(head: ManifestHead): string {
  const { version, backupId, createdAt, root, archive, totals, meta } = head;
  const top = JSON.stringify({ version, backupId, createdAt, root, archive, totals, meta }, null, 2);
  return `${top.slice(0, -2)},\n  "entries": [`;
}

/** One entry's line, with the comma that separates it from the one before. */
export function entryLine(e: ManifestEntry, first: boolean): string {
  return `${first ? '' : ','}\n    ${JSON.stringify(e)}`;
}

/** The closing of the manifest's text after `count` entries. */
export function tailText(count: number): string {
  return count === 0 ? ']\n}\n' : '\n  ]\n}\n';
}

/** A whole in-memory manifest's text, in the layout ManifestFile reads (for tests and small callers). */
export function serializeManifest(m: Manifest): string {
  return headText(m) + m.entries.map((e, i) => entryLine(e, i === 0)).join('') + tailText(m.entries.length);
}
