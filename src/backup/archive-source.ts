/**
 * Reads an archive file from disk into a checker: the stored bytes are hashed (the manifest's archive
 * sha256 is over the file as stored, compressed or not) and the tar bytes parsed. Memory: the hash
 * pipeline's slots, or a gunzip stream with bounded chunks.
 */
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { pipeline as streamPipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { HashPipeline } from './hash-pipeline.js';
import type { Compression } from './manifest.js';

/** The archive file could not be read (it is missing, unreadable, or not valid gzip). */
export class ArchiveReadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArchiveReadError';
  }
}

/** Where the bytes go. */
export interface ArchiveConsumer {
  /** The file's stored bytes, for its sha256. */
  hashStored(buf: Buffer, off: number, len: number): void;
  /** The uncompressed tar bytes (a view, valid during the call). */
  push(chunk: Buffer): void;
  /**
   * After each push: stored bytes to jump over instead of reading them (content the consumer reads from
   * the file itself, see TarParser.takeSkip), already counted as consumed. Only for uncompressed files.
   */
  takeSkip?(): number;
}

function readError(file: string, err: unknown): ArchiveReadError {
  const code = (err as NodeJS.ErrnoException).code;
  const message = code === 'ENOENT' ? `archive: ${file} is missing` : `archive: cannot be read: ${(err as Error).message}`;
  return new ArchiveReadError(message, { cause: err });
}

/**
 * Stream the archive at `file` into `to`. Reading and decompression errors throw ArchiveReadError;
 * errors thrown by `to` propagate unchanged. Returns the file's size.
 */
export async function readArchiveFile(file: string, compression: Compression, to: ArchiveConsumer, hashes?: HashPipeline): Promise<number> {
  return compression === 'gzip' ? readGzip(file, to) : readPlain(file, to, hashes);
}

/**
 * Read straight into the pipeline's slots (when given), so the worker hashes the slot in place while
 * the parser reads it; otherwise through one buffer. Positional reads, so the consumer can have whole
 * regions jumped over (`takeSkip`).
 */
function readPlain(file: string, to: ArchiveConsumer, hashes: HashPipeline | undefined): number {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw readError(file, err);
  }
  let bytes = 0;
  const own = hashes ? null : Buffer.allocUnsafe(4 * 1024 * 1024);
  try {
    for (;;) {
      const buf = own ?? (hashes as HashPipeline).acquire();
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, bytes);
      } catch (err) {
        throw readError(file, err);
      }
      if (n === 0) break;
      bytes += n;
      to.hashStored(buf, 0, n);
      to.push(buf.subarray(0, n));
      const skip = to.takeSkip?.() ?? 0;
      if (skip > 0) {
        bytes += skip;
        // The consumer only asks for what the file held when it looked; a file that shrank since is cut short.
        if (bytes > fstatSync(fd).size) throw new ArchiveReadError('archive: truncated (ends inside an entry)');
      }
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

async function readGzip(file: string, to: ArchiveConsumer): Promise<number> {
  let bytes = 0;
  const input = createReadStream(file, { highWaterMark: 1024 * 1024 });
  input.on('data', (chunk) => {
    const b = chunk as Buffer;
    to.hashStored(b, 0, b.length);
    bytes += b.length;
  });
  // Decompression runs on the thread pool; the parser on this thread.
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  const out = streamPipeline(input, gunzip, () => undefined);
  const it = out[Symbol.asyncIterator]();
  try {
    for (;;) {
      let r: IteratorResult<Buffer>;
      try {
        r = (await it.next()) as IteratorResult<Buffer>;
      } catch (err) {
        throw readError(file, err);
      }
      if (r.done) break;
      to.push(r.value);
    }
  } finally {
    out.destroy();
    input.destroy();
  }
  return bytes;
}
