/**
 * Where the tar writer's buffer goes: straight to the archive file, or through gzip first.
 *
 * Both sinks start the archive's write-back early (an asynchronous fdatasync every 64 MiB, on libuv's
 * thread pool) so that the final fsync does not have to push a whole gigabyte to the disk at once while
 * the CPU waits: the disk writes while we read and hash the next files.
 */
import { fdatasync, fsync } from 'node:fs';
import { createGzip, type Gzip } from 'node:zlib';
import type { HashPipeline } from './hash-pipeline.js';
import { writeAll } from '../util/write-all.js';

/** Receives the writer's filled buffer. */
export interface ArchiveSink {
  /** Take `buf[0, len)`. The caller may reuse `buf` once the returned promise (if any) resolves. */
  write(buf: Buffer, len: number): void | Promise<void>;
  /** Flush everything to the file (not yet fsynced). Returns the archive's size in bytes. */
  close(): Promise<number>;
  /**
   * Leave the next `n` bytes of the file to someone else (a copier writing a large file's content there
   * itself): later writes go after them. Returns where they start. Only sinks that write in place.
   */
  reserve?(n: number): number;
}

/** Bytes written between two early write-back requests. */
const EARLY_SYNC_BYTES = 64 * 1024 * 1024;

/** Starts fdatasync in the background every EARLY_SYNC_BYTES, never two at a time. */
class EarlyWriteback {
  private since = 0;
  private inFlight: Promise<void> | null = null;
  private error: unknown = null;

  constructor(private readonly fd: number) {}

  /** Account for written bytes; true when the caller should yield so a finished sync is noticed. */
  wrote(bytes: number): boolean {
    this.since += bytes;
    if (this.since < EARLY_SYNC_BYTES) return false;
    if (this.inFlight === null) {
      this.since = 0;
      this.inFlight = new Promise<void>((resolve) => {
        fdatasync(this.fd, (err) => {
          if (err) this.error = err;
          this.inFlight = null;
          resolve();
        });
      });
    }
    return true;
  }

  /** Wait for the background sync, rethrowing its error. */
  async settle(): Promise<void> {
    if (this.inFlight) await this.inFlight;
    if (this.error) throw this.error;
  }
}

/** One event-loop turn, so thread-pool callbacks (a finished fdatasync) run. */
function yieldToLoop<T>(value: T): Promise<T> {
  return new Promise((resolve) => setImmediate(resolve, value));
}

/**
 * Uncompressed: one synchronous write per filled buffer. No compression by default because backups go
 * to the local disk during an incident (speed first), and the biggest files, DuckDB databases, barely
 * compress anyway: even gzip level 1 is an order of magnitude slower on incompressible data than a
 * page-cache write (docs/performance.md).
 */
export class FileSink implements ArchiveSink {
  /** Bytes handed to write, and bytes known to be in the file. */
  private bytes = 0;
  private written = 0;
  private readonly writeback: EarlyWriteback;

  /**
   * @param onWritten called after each write with the file's size so far (createBackup re-reads it).
   * @param pipeline when given, the writes go through it (its worker writes the slot while this thread
   * reads the next files): `onWritten` then hears of each write once it is done, a little later.
   */
  constructor(
    private readonly fd: number,
    private readonly onWritten?: (bytes: number) => void,
    private readonly pipeline?: HashPipeline,
  ) {
    this.writeback = new EarlyWriteback(fd);
  }

  write(buf: Buffer, len: number): void | Promise<void> {
    const p = this.pipeline;
    // Positional writes: a reserved range (see reserve) may lie before this one.
    if (p) {
      p.write(this.fd, buf, 0, len, this.bytes);
      const upTo = (this.bytes += len);
      p.whenDone(() => {
        this.written = upTo;
      });
    } else {
      writeAll(this.fd, buf, 0, len, this.bytes);
      this.written = this.bytes += len;
    }
    this.onWritten?.(this.written);
    return this.writeback.wrote(len) ? yieldToLoop(undefined) : undefined;
  }

  reserve(n: number): number {
    // `written` (what may be re-read) moves past the range only with the next write after it: until
    // then the file may end before it.
    const at = this.bytes;
    this.bytes += n;
    return at;
  }

  async close(): Promise<number> {
    if (this.pipeline) {
      this.pipeline.settle();
      this.onWritten?.(this.written);
    }
    await this.writeback.settle();
    return this.bytes;
  }
}

/**
 * gzip through node's zlib stream: compression runs on the thread pool while the main thread reads the
 * next buffer. The sink copies each buffer into one of its own two (a memcpy is nothing next to
 * deflate) so the writer can refill its buffer at once, while zlib works on the copy. Memory stays at
 * two buffers plus zlib's window, whatever the data size. One gzip member, so every gzip reader
 * handles it.
 */
export class GzipSink implements ArchiveSink {
  private readonly gz: Gzip;
  private bytes = 0;
  private readonly own: [Buffer, Buffer];
  /** Per own buffer: resolves when zlib has consumed it. */
  private readonly pending: [Promise<void>, Promise<void>] = [Promise.resolve(), Promise.resolve()];
  private turn = 0;
  private failure: unknown = null;
  private readonly writeback: EarlyWriteback;
  private readonly done: Promise<void>;

  constructor(
    private readonly fd: number,
    level: number,
    bufferSize: number,
  ) {
    this.own = [Buffer.allocUnsafe(bufferSize), Buffer.allocUnsafe(bufferSize)];
    this.writeback = new EarlyWriteback(fd);
    this.gz = createGzip({ level, chunkSize: 256 * 1024 });
    this.gz.on('data', (out: Buffer) => {
      try {
        writeAll(this.fd, out);
        this.bytes += out.length;
        this.writeback.wrote(out.length);
      } catch (err) {
        this.failure = err;
        this.gz.destroy(err as Error);
      }
    });
    this.done = new Promise<void>((resolve, reject) => {
      this.gz.on('end', resolve);
      this.gz.on('error', (err) => {
        this.failure ??= err;
        reject(err);
      });
    });
    // Errors are surfaced by write()/close(); keep an unobserved rejection from crashing the process.
    this.done.catch(() => undefined);
  }

  async write(buf: Buffer, len: number): Promise<void> {
    const i = this.turn as 0 | 1;
    this.turn ^= 1;
    // Wait until zlib is done with this own buffer's previous content, then refill it.
    await this.pending[i];
    if (this.failure) throw this.failure;
    const own = this.own[i];
    if (len > own.length) throw new Error('gzip sink buffer too small');
    buf.copy(own, 0, 0, len);
    this.pending[i] = new Promise<void>((resolve) => {
      this.gz.write(own.subarray(0, len), () => resolve());
    });
  }

  async close(): Promise<number> {
    await Promise.all(this.pending);
    this.gz.end();
    await this.done;
    if (this.failure) throw this.failure;
    await this.writeback.settle();
    return this.bytes;
  }
}

/** fsync on the thread pool, so the caller can verify while the disk flushes. */
export function fsyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}
