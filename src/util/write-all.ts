import { writeSync } from 'node:fs';

/**
 * Write `buf[off, off+len)` to `fd` at its current offset, or at `position` when given (positional:
 * the offset is left alone), however many calls it takes: `writeSync` may write less than asked (a
 * signal, a pipe, a nearly full disk).
 */
export function writeAll(fd: number, buf: Buffer, off = 0, len = buf.length - off, position?: number): void {
  let done = 0;
  while (done < len) done += writeSync(fd, buf, off + done, len - done, position === undefined ? null : position + done);
}
