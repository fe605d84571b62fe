/**
 * Where a log reader stopped, as plain JSON the monitor keeps in its state folder, so that a monitor restarted
 * (even after `kill -9`) neither re-reads lines it already judged nor skips lines written while it was down.
 */

/**
 * A fingerprint of a file's first bytes. The inode alone cannot follow a file that was gzipped (gzip writes a new
 * file) and can be reused by a new file after the old one is deleted; the first bytes of a log (its first line,
 * with its timestamp) tell the same content apart from new content wherever it now lives.
 */
export interface HeadFingerprint {
  /** How many bytes were hashed: the file's first `length` bytes (uncompressed), at most {@link HEAD_BYTES}. */
  length: number;
  /** sha256 of those bytes, hex. */
  sha256: string;
}

/** The most bytes a {@link HeadFingerprint} covers; enough to include a pack log line's timestamp. */
export const HEAD_BYTES = 256;

/** The saved position of one watched log file. JSON-serialisable; the caller persists it between reads. */
export interface LogPosition {
  /** The watched path, as configured (rotated siblings are found beside it as `<file>.*`). */
  file: string;
  /** Device and inode of the file the offset belongs to (the current file, or a rotated one not yet finished). */
  dev: number;
  ino: number;
  /** Bytes already consumed (uncompressed, for a gzipped file): the start of the first line not yet returned. */
  offset: number;
  /** Fingerprint of that file's first bytes, to find it again after gzip and to notice a rewrite in place. */
  head: HeadFingerprint;
}

/** Parse a persisted position; `undefined` when the value is not one (the caller then starts afresh and says so). */
export function parseLogPosition(value: unknown): LogPosition | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const head = v['head'] as Record<string, unknown> | undefined;
  const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (typeof v['file'] !== 'string' || !isCount(v['dev']) || !isCount(v['ino']) || !isCount(v['offset'])) return undefined;
  if (typeof head !== 'object' || head === null || !isCount(head['length']) || typeof head['sha256'] !== 'string') {
    return undefined;
  }
  return {
    file: v['file'],
    dev: v['dev'],
    ino: v['ino'],
    offset: v['offset'],
    head: { length: head['length'], sha256: head['sha256'] },
  };
}

/** A file a position can point into: the watched file itself or one of its rotated siblings. */
export interface LogTarget {
  path: string;
  /** A `.gz` sibling is read through gunzip; its offsets count uncompressed bytes. */
  gz: boolean;
  dev: number;
  ino: number;
  /** Sort key among siblings: the name without `.gz`, so `x.<ISO time>` and `x.<ISO time>.gz` sort by time. */
  key: string;
}

/**
 * A rotated sibling's suffix begins with a date (`<name>.<ISO timestamp>`, as the pack's loggers rotate).
 * Only such siblings are read in full when they were rotated after ours: `<name>.bak` or `<name>.lock` are not logs.
 */
export const ROTATED_SUFFIX = /^\d{4}-\d{2}-\d{2}/;
