// @ts-check
// JavaScript rather than TypeScript: the hash worker (src/backup/hash-worker.mjs) imports this loop, and
// Node runs a worker's file as it is, also from the sources under vitest.
import { writeSync } from 'node:fs';

/**
 * Write `buf[off, off+len)` to `fd` at its current offset, or at `position` when given (positional:
 * the offset is left alone), however many calls it takes: `writeSync` may write less than asked (a
 * signal, a pipe, a nearly full disk).
 *
 * @param {number} fd
 * @param {Buffer} buf
 * @param {number} [off]
 * @param {number} [len]
 * @param {number} [position]
 * @returns {void}
 */
export function writeAll(fd, buf, off = 0, len = buf.length - off, position) {
  let done = 0;
  while (done < len) done += writeSync(fd, buf, off + done, len - done, position === undefined ? null : position + done);
}
