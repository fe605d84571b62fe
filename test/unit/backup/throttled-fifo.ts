/**
 * Named pipes with a child process at the other end that moves bytes at its own pace: a source that
 * delivers slowly (or stops) for the hash worker to read, and a sink that takes slowly (or stops) for it
 * to write to. A regular file cannot be made slow without FUSE or root; a pipe can, and the worker's
 * stream reads and plain writes take one as they take a file.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs';
import { promisify } from 'node:util';
import { execa, type ResultPromise } from 'execa';

/** The bytes `feed` writes: `pieces` pieces of `piece` bytes, piece i filled with i mod 256. */
export function fedBytes(piece: number, pieces: number): Buffer {
  const out = Buffer.alloc(piece * pieces);
  for (let i = 0; i < pieces; i++) out.fill(i & 0xff, i * piece, (i + 1) * piece);
  return out;
}

const FEED = `
const { closeSync, openSync, writeSync } = require('node:fs');
const [fifo, piece, pieces, everyMs, hold] = process.argv.slice(1);
const fd = openSync(fifo, 'w');
let i = 0;
const timer = setInterval(() => {
  writeSync(fd, Buffer.alloc(Number(piece), i & 0xff));
  if (++i < Number(pieces)) return;
  clearInterval(timer);
  // Holding: the pipe stays open and silent until this process is killed.
  if (hold === 'hold') setInterval(() => undefined, 1 << 30);
  else closeSync(fd);
}, Number(everyMs));
`;

/**
 * A child that opens `fifo` for writing and writes `fedBytes(piece, pieces)` into it, one piece every
 * `everyMs`; then closes it, or with `hold` keeps it open without writing until it is killed. Resolves
 * (killed too) with its result.
 */
export function feed(fifo: string, o: { piece: number; pieces: number; everyMs: number; hold?: boolean }): ResultPromise {
  return execa(process.execPath, ['-e', FEED, fifo, String(o.piece), String(o.pieces), String(o.everyMs), o.hold ? 'hold' : 'close'], { reject: false });
}

const DRAIN = `
const { createHash } = require('node:crypto');
const { openSync, readSync } = require('node:fs');
const [fifo, piece, everyMs, stopAfter] = process.argv.slice(1);
const fd = openSync(fifo, 'r');
const buf = Buffer.alloc(Number(piece));
const h = createHash('sha256');
let bytes = 0;
const timer = setInterval(() => {
  // Past stopAfter: the pipe stays open and unread until this process is killed.
  if (stopAfter !== '' && bytes >= Number(stopAfter)) return;
  const n = readSync(fd, buf, 0, buf.length, null);
  if (n > 0) {
    h.update(buf.subarray(0, n));
    bytes += n;
    return;
  }
  clearInterval(timer);
  process.stdout.write(JSON.stringify({ bytes, sha256: h.digest('hex') }));
}, Number(everyMs));
`;

/**
 * A child that opens `fifo` for reading and reads up to `piece` bytes every `everyMs` until the end,
 * then prints `{ bytes, sha256 }` of what it read; with `stopAfter`, it stops reading once it has that
 * many bytes and holds the pipe open until it is killed. Resolves (killed too) with its result.
 */
export function drain(fifo: string, o: { piece: number; everyMs: number; stopAfter?: number }): ResultPromise {
  return execa(process.execPath, ['-e', DRAIN, fifo, String(o.piece), String(o.everyMs), o.stopAfter === undefined ? '' : String(o.stopAfter)], {
    reject: false,
  });
}

/**
 * Open one end of a named pipe without blocking this thread (opening waits for the other end): a raw
 * descriptor, as the pipeline takes them.
 */
export const openFifo: (path: string, flags: 'r' | 'w') => Promise<number> = promisify(open);

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
