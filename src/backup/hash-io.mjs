// @ts-check
/**
 * What the hash pipeline (hash-pipeline.ts) and its worker thread (hash-worker.mjs) share: the layout of
 * their shared memory, the record codes, and the file loops both threads run. JavaScript rather than
 * TypeScript because Node runs a worker's file as it is (also from the sources under vitest, which does
 * not transform worker threads); `// @ts-check` and the JSDoc types keep it type-checked by tsc.
 */
/** @import { Hash } from 'node:crypto' */
import { createHash } from 'node:crypto';
import { closeSync, futimesSync, readSync } from 'node:fs';
import { writeAll } from '../util/write-all.mjs';

/** Code of every FileChangedError (the worker reports its copies' failures by it). */
export const E_FILE_CHANGED = 'E_FILE_CHANGED';
/** Code of the error a copy fails with when its source ends before the bytes it was to copy. */
export const E_SHORT_SOURCE = 'E_SHORT_SOURCE';
/** Message of that error; the worker reports only the code, the main thread puts the message back. */
export const SHORT_SOURCE_MESSAGE = 'the source file ends before the bytes to copy (it changed while being read?)';

/**
 * Default slot size and count: 8 × 1 MiB lets the worker lag a few MiB behind without stalling the
 * main thread, keeps each slot small enough to still be in the CPU cache when it is hashed, and keeps
 * the shared memory at 8 MiB. The worker reads files through a buffer of SLOT_SIZE too.
 */
export const SLOT_SIZE = 1024 * 1024;
/** See SLOT_SIZE. */
export const SLOTS = 8;

// Control block (Int32 indexes) shared with the worker. Each word the two threads write sits in its own
// 64-byte cache line: sharing one line made every record a cache-line ping-pong between the cores.
/** Records published by the main thread. */
export const HEAD = 0;
/** Records handled by the worker. */
export const TAIL = 16;
/** Set to 1 by the worker when it hits an error (its JSON in the error area). */
export const FAILED = 32;
/**
 * Bytes the worker has read or written, counted as they move (a file copied or read back is one record
 * however large, so records done say nothing while it lasts): the main thread's stall watch looks at its
 * changes only, so it may wrap.
 */
export const MOVED = 48;
/** First record. */
export const RECORDS = 128;
/** Int32s per record: [op, stream, offset, length]. */
export const RECORD_INTS = 4;
/** Records in the ring. */
export const RING = 16384;
/**
 * Arguments too wide for a record's Int32s, two doubles per ring record: a copy's source offset and
 * length (they may pass 2^31), or the times hashFile sets.
 */
export const RECORD_ARGS = 2;
/** Bytes of a digest in the digest area, one place per ring record. */
export const DIGEST_BYTES = 32;
/** Size of the area the worker writes its error to. */
export const ERROR_BYTES = 1024;

/** [op, stream, offset, length]: hash those bytes of the data area into the stream. */
export const OP_UPDATE = 1;
/** [op, stream, 0, 0]: digest into the digest area at the record's ring index. */
export const OP_END = 2;
/** [op, fd, offset, length] + [position (-1: the fd's offset)]: write those bytes of the data area to the fd. */
export const OP_WRITE = 3;
/**
 * [op, fd, flags, 0] (+ times in the args area): read the fd from 0 to its end, hash, set times, close
 * unless HASH_KEEP_OPEN; digest as for OP_END.
 */
export const OP_HASH_FILE = 4;
/** OP_HASH_FILE flag: leave the fd open. */
export const HASH_KEEP_OPEN = 1;
/** OP_HASH_FILE flag: set the times in the args area. */
export const HASH_SET_TIMES = 2;
/** [op, fd, src, 0] + [srcOffset, length]: copy that range of src to fd. */
export const OP_COPY = 5;
/**
 * [op, fd, src, 0] + [position, length]: copy src (from its offset, exactly length bytes) into fd at
 * position, close src; digest of the source as for OP_END.
 */
export const OP_COPY_IN = 6;
/** [op, fd, 0, 0] + [position, length]: hash that range of fd; digest as for OP_END. */
export const OP_HASH_RANGE = 7;

/**
 * The main thread publishes HEAD every this many records or bytes, when it moves to another slot, and
 * whenever it waits; the worker publishes TAIL every BATCH records and when it catches up.
 */
export const BATCH = 32;
/** See BATCH. */
export const BATCH_BYTES = 256 * 1024;
/**
 * Neither thread ever wakes the other: waking a sleeping thread (Atomics.notify) costs the waker a futex
 * call and, on a VM, an inter-processor interrupt to a halted vCPU. Busy polling is worse: a spinning
 * thread takes the second vCPU from the kernel's own work (page cache, write-back). Instead each thread
 * sleeps with a short timeout and looks again: the worker every WORKER_POLL_MS (the main thread has
 * several slots of slack), the main thread every MAIN_POLL_MS when it must wait for a slot.
 */
export const WORKER_POLL_MS = 1;
/** See WORKER_POLL_MS. */
export const MAIN_POLL_MS = 0.2;
/** Polls of a shared word before sleeping on it (a few microseconds). */
export const SPIN = 2000;
/** Records the worker handles before it lets its event loop run (see hash-worker.mjs). */
export const YIELD_RECORDS = 4096;

/**
 * The worker's `workerData`: one pipeline's shared memory.
 * @typedef {object} HashWorkerData
 * @property {SharedArrayBuffer} ctlSab Control block and ring: (RECORDS + RING * RECORD_INTS) Int32s.
 * @property {SharedArrayBuffer} dataSab The slots.
 * @property {SharedArrayBuffer} digestSab Digests, DIGEST_BYTES per ring record.
 * @property {SharedArrayBuffer} errorSab The worker's error, ERROR_BYTES of JSON.
 * @property {SharedArrayBuffer} argsSab RECORD_ARGS Float64s per ring record.
 */

/**
 * Access and modification times to set on a file, in seconds (as futimes takes them).
 * @typedef {object} FileTimes
 * @property {number} atime
 * @property {number} mtime
 */

/**
 * Count `n` bytes moved in the control block's MOVED word, when there is one (the worker's loops).
 *
 * @param {Int32Array | undefined} progress
 * @param {number} n
 */
function moved(progress, n) {
  if (progress !== undefined) Atomics.add(progress, MOVED, n);
}

/**
 * sha256 of the open file `fd` from its start (positional reads), through `buf`; then `times` set, and
 * `fd` closed unless `keepOpen`, also when it fails.
 *
 * @param {number} fd
 * @param {Buffer} buf
 * @param {boolean} keepOpen
 * @param {FileTimes} [times]
 * @param {Int32Array} [progress] the worker's control block, whose MOVED word counts the bytes read
 * @returns {Hash} not yet digested: the worker writes the raw digest to shared memory, the main thread wants hex
 */
export function hashFile(fd, buf, keepOpen, times, progress) {
  const h = createHash('sha256');
  try {
    let pos = 0;
    for (let n = readSync(fd, buf, 0, buf.length, 0); n > 0; n = readSync(fd, buf, 0, buf.length, pos)) {
      moved(progress, n);
      h.update(buf.subarray(0, n));
      pos += n;
    }
    if (times) futimesSync(fd, times.atime, times.mtime);
  } finally {
    if (!keepOpen) closeSync(fd);
  }
  return h;
}

/**
 * sha256 of `fd[position, position+length)` (positional reads), through `buf`; a file shorter than that
 * is hashed up to its end.
 *
 * @param {number} fd
 * @param {number} position
 * @param {number} length
 * @param {Buffer} buf
 * @param {Int32Array} [progress] as for hashFile
 * @returns {Hash}
 */
export function hashRange(fd, position, length, buf, progress) {
  const h = createHash('sha256');
  for (let at = 0; at < length; ) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, length - at), position + at);
    if (n === 0) break;
    moved(progress, n);
    h.update(buf.subarray(0, n));
    at += n;
  }
  return h;
}

/**
 * Copy `src[at, at+length)` (positional reads) to `fd` at its current offset, through `buf`.
 * Throws an E_SHORT_SOURCE error when `src` ends before.
 *
 * @param {number} fd
 * @param {number} src
 * @param {number} at
 * @param {number} length
 * @param {Buffer} buf
 * @param {Int32Array} [progress] as for hashFile (bytes read, then written)
 * @returns {void}
 */
export function copyRange(fd, src, at, length, buf, progress) {
  let left = length;
  while (left > 0) {
    const n = readSync(src, buf, 0, Math.min(buf.length, left), at);
    if (n === 0) throw Object.assign(new Error(SHORT_SOURCE_MESSAGE), { code: E_SHORT_SOURCE });
    moved(progress, n);
    writeAll(fd, buf, 0, n);
    moved(progress, n);
    at += n;
    left -= n;
  }
}

/**
 * Copy exactly `length` bytes of `src` (from its offset) into `fd` at `position` (positional writes),
 * through `buf`, hashing them; check that `src` ends there, and close it, also when it fails.
 *
 * @param {number} fd
 * @param {number} src
 * @param {number} position
 * @param {number} length
 * @param {Buffer} buf
 * @param {(how: 'grew' | 'shrank') => Error} changed the error to throw for a source of another length
 * (each thread reports it its own way)
 * @param {Int32Array} [progress] as for copyRange
 * @returns {Hash} the hash of the bytes copied
 */
export function copyIn(fd, src, position, length, buf, changed, progress) {
  const h = createHash('sha256');
  try {
    for (let at = 0; at < length; ) {
      const n = readSync(src, buf, 0, Math.min(buf.length, length - at), null);
      if (n === 0) throw changed('shrank');
      moved(progress, n);
      h.update(buf.subarray(0, n));
      writeAll(fd, buf, 0, n, position + at);
      moved(progress, n);
      at += n;
    }
    if (readSync(src, buf, 0, 1, null) !== 0) throw changed('grew');
  } finally {
    closeSync(src);
  }
  return h;
}
