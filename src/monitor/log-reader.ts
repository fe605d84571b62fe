/**
 * Reads a JSON-lines log incrementally from a saved {@link LogPosition}, in fixed-size chunks, following the pack's
 * rotation (rename, rename + gzip) and truncation. Never throws for a bad source: a file that cannot be read is a
 * typed result, because a monitor must report a broken source, not die of it.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { LogPosition, LogTarget } from './log-position.js';
import { LineSplitter, type LogLine, type SkippedLine } from './line-splitter.js';
import { fingerprint, findRotated, listSiblings, rotatedAfter, sameHead } from './log-siblings.js';

export type { LineRef, LogLine, SkippedLine } from './line-splitter.js';

/** Something the caller should know about the read: not an error, but never silent. */
export interface LogReadNote {
  kind: 'started' | 'truncated' | 'rotated' | 'rotated-lost';
  message: string;
}

/** Why a log could not be read: a source error of the monitor, never a breach of a story. */
export interface LogSourceError {
  /** `missing`: no such file (and no rotated file of ours); `unreadable`: any other failure to open or read it. */
  kind: 'missing' | 'unreadable';
  /** The file that failed: the watched one, or the rotated sibling being finished. */
  file: string;
  message: string;
  /** The system error code (`EACCES`, `EISDIR`…) when there is one. */
  code?: string;
}

/** What one call read. `position` is where the next call starts; persist it only after handling `lines`. */
export type LogReadResult =
  | { ok: true; lines: LogLine[]; skipped: SkippedLine[]; notes: LogReadNote[]; position: LogPosition; more: boolean }
  | {
      ok: false;
      error: LogSourceError;
      /** Lines read before the failure (from a rotated file): handle them, and keep the position returned. */
      lines: LogLine[];
      skipped: SkippedLine[];
      notes: LogReadNote[];
      position: LogPosition | undefined;
    };

/** Tuning of a read. The defaults suit a monitor sampling every few seconds. */
export interface LogReadOptions {
  /** Bytes read at a time. */
  chunkBytes?: number;
  /** Stop after about this many bytes (at a line's end) and say `more`: bounds the memory a call's result takes. */
  maxBytes?: number;
  /** A longer line is skipped rather than held: bounds the memory a runaway line takes. */
  maxLineBytes?: number;
  /**
   * With no saved position: read the file from its start (replay) or from its current end (a new monitor, which
   * must not judge old lines; a line being written at that instant is then read as a fragment and skipped).
   */
  from?: 'start' | 'end';
}

const DEFAULTS = { chunkBytes: 64 * 1024, maxBytes: 4 * 1024 * 1024, maxLineBytes: 1024 * 1024 };

/** Read the lines appended to `file` since `position` (or from `options.from` when there is none). */
export async function readLogLines(
  file: string,
  position: LogPosition | undefined,
  options: LogReadOptions = {},
): Promise<LogReadResult> {
  const opts = { ...DEFAULTS, ...options };
  const out: Collected = { lines: [], skipped: [], notes: [], budget: opts.maxBytes, kept: { lines: 0, skipped: 0 } };
  let pos = position;
  let reading = file; // the file a failure is in: a rotated sibling's own path when it is that one
  try {
    const cur = await statTarget(file);
    if (pos === undefined) {
      if (cur === undefined) return failed(out, pos, { kind: 'missing', file, message: `${file} does not exist` });
      const start = options.from === 'end' ? cur.size : 0;
      out.notes.push({ kind: 'started', message: `reading ${file} from byte ${start}` });
      pos = await positionOf(file, cur, start);
    } else if (cur !== undefined && cur.dev === pos.dev && cur.ino === pos.ino && (await sameHead(cur, pos.head))) {
      if (cur.size < pos.offset) pos = await restart(file, cur, pos, out);
    } else {
      // Rotated (or gone): finish the file our offset belongs to, then any rotated after it, then the new file.
      // Same inode but other first bytes is a rotation too when our bytes are in a sibling: the new file got
      // the inode the gzipped one freed.
      const siblings = await listSiblings(file);
      const ours = await findRotated(siblings, pos);
      if (ours === undefined && cur !== undefined && cur.dev === pos.dev && cur.ino === pos.ino) {
        pos = await restart(file, cur, pos, out);
      } else if (ours === undefined) {
        out.notes.push({
          kind: 'rotated-lost',
          message: `${file} was rotated and the rotated file is gone: lines after byte ${pos.offset} of it may be missed`,
        });
      } else {
        out.notes.push({ kind: 'rotated', message: `${file} was rotated to ${ours.path}: finishing it from byte ${pos.offset}` });
        const queue = [{ t: ours, offset: pos.offset }, ...rotatedAfter(siblings, ours, file).map((t) => ({ t, offset: 0 }))];
        for (const { t, offset } of queue) {
          reading = t.path;
          const end = await readTarget(t, offset, true, opts, out);
          pos = { file, dev: t.dev, ino: t.ino, offset: end, head: await fingerprint(t) };
          out.kept = { lines: out.lines.length, skipped: out.skipped.length };
          if (out.budget <= 0) return { ok: true, ...lists(out), position: pos, more: true };
        }
      }
      if (cur === undefined) {
        if (ours === undefined) return failed(out, position, { kind: 'missing', file, message: `${file} does not exist` });
        return { ok: true, ...lists(out), position: pos, more: false };
      }
      if (pos.dev !== cur.dev || pos.ino !== cur.ino || ours !== undefined) pos = await positionOf(file, cur, 0);
    }
    reading = file;
    const end = await readTarget(cur, pos.offset, false, opts, out);
    return { ok: true, ...lists(out), position: { ...pos, offset: end, head: await fingerprint(cur) }, more: out.budget <= 0 };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const error = { kind: 'unreadable' as const, file: reading, message: `cannot read ${reading}: ${e.message}` };
    return failed(out, pos, { ...error, ...(e.code ? { code: e.code } : {}) });
  }
}

interface Collected {
  lines: LogLine[];
  skipped: SkippedLine[];
  notes: LogReadNote[];
  /** Bytes this call may still consume. */
  budget: number;
  /** How many lines and skips came from files whose position was recorded: a failure drops the rest. */
  kept: { lines: number; skipped: number };
}

type Current = LogTarget & { size: number };

function lists(out: Collected): Pick<Collected, 'lines' | 'skipped' | 'notes'> {
  return { lines: out.lines, skipped: out.skipped, notes: out.notes };
}

function failed(out: Collected, position: LogPosition | undefined, error: LogSourceError): LogReadResult {
  // Lines past the returned position would come again on the next call: hand out only those it covers.
  out.lines.length = out.kept.lines;
  out.skipped.length = out.kept.skipped;
  return { ok: false, error, ...lists(out), position };
}

async function statTarget(file: string): Promise<Current | undefined> {
  const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (st === undefined) return undefined;
  if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: st.isDirectory() ? 'EISDIR' : 'EINVAL' });
  return { path: file, gz: false, dev: st.dev, ino: st.ino, key: file, size: st.size };
}

/** Truncated, or rewritten in place (other first bytes, no sibling holds ours): all of it is new. */
async function restart(file: string, cur: Current, pos: LogPosition, out: Collected): Promise<LogPosition> {
  out.notes.push({
    kind: 'truncated',
    message: `${file} was truncated or rewritten (now ${cur.size} bytes, we were at ${pos.offset}): reading it again from 0`,
  });
  return positionOf(file, cur, 0);
}

async function positionOf(file: string, t: LogTarget, offset: number): Promise<LogPosition> {
  return { file, dev: t.dev, ino: t.ino, offset, head: await fingerprint(t) };
}

/**
 * Read `t` from `offset` into `out`; returns the new offset. A rotated file (`final`) is complete: its last line is
 * taken even without a newline. The live file's partial last line waits for its newline.
 */
async function readTarget(t: LogTarget, offset: number, final: boolean, opts: typeof DEFAULTS, out: Collected): Promise<number> {
  const splitter = new LineSplitter(t.path, offset, opts.maxLineBytes, out);
  if (t.gz) {
    const stream = createReadStream(t.path).pipe(createGunzip());
    let seen = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        const skip = Math.max(0, Math.min(chunk.length, offset - seen));
        seen += chunk.length;
        if (skip < chunk.length) splitter.push(chunk.subarray(skip));
        if (out.budget <= 0) return splitter.consumed;
      }
    } finally {
      stream.destroy();
    }
  } else {
    const fh = await open(t.path, 'r');
    try {
      const buf = Buffer.alloc(opts.chunkBytes);
      let at = offset;
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, at);
        if (bytesRead === 0) break;
        at += bytesRead;
        // push copies what it keeps, so the buffer can be reused for the next chunk.
        splitter.push(buf.subarray(0, bytesRead));
        if (out.budget <= 0) return splitter.consumed;
      }
    } finally {
      await fh.close();
    }
  }
  if (final) splitter.flush();
  return splitter.consumed;
}
