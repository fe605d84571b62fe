/**
 * sha256 off the main thread. Hashing is the largest CPU cost of a verified backup (every byte is hashed
 * when stored and again when re-read; a version 1 backup's verify hashes the whole archive too), so on
 * a 2-core machine it runs in a worker thread while the main thread does the I/O and the tar parsing.
 *
 * Data never crosses threads by copy: the I/O buffers ("slots") live in one SharedArrayBuffer, and the
 * main thread publishes small records (stream, offset, length) in a shared ring. The worker hashes the
 * bytes in place. Before a slot is refilled, `acquire` waits until the worker has hashed everything
 * recorded in it. A stream is one hash: a file's content, or a whole archive file.
 *
 * The worker also does the writes of those bytes to their file (`write`): a write costs the main thread
 * as much as hashing them, and the worker has time to spare while the main thread reads, parses and
 * creates files. A slot is reused only once the worker is done with everything recorded in it, writes
 * included; `whenDone` tells the main thread when the writes so far are done.
 *
 * It can also copy a range of one open file to another through its own buffer (`copy`): a restore hands a
 * large file's content over straight from the archive file to a second pipeline's worker, and goes on.
 *
 * Digests come back the same way, never as strings held by the worker: when a stream ends, the worker
 * writes its 32 bytes into a shared digest area beside the record, and the main thread hands them to
 * the callback given to `end` as soon as it sees the worker has passed that record. So memory stays
 * bounded by the ring whatever the number of files (digests of 200 000 files used to pile up in the
 * worker, as strings, until the end, then be cloned into a Map on the main thread).
 *
 * The same interface has an in-thread implementation (no worker), used for small jobs and as a fallback.
 * The worker is hash-worker.mjs; it and this file share the memory layout, record codes and file loops of
 * hash-io.mjs (JavaScript, so that Node can run the worker untransformed from the sources too).
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync } from 'node:fs';
import { debuglog } from 'node:util';
import { Worker } from 'node:worker_threads';
import { StepFailedError } from '../model/errors.js';
import { writeAll } from '../util/write-all.js';
import { SINGLE_FILE } from '../util/single-file.js';
import { E_FILE_CHANGED, sizeChanged } from './file-changed-error.js';
import {
  BATCH,
  BATCH_BYTES,
  copyIn,
  copyRange,
  DIGEST_BYTES,
  E_SHORT_SOURCE,
  ERROR_BYTES,
  FAILED,
  type FileTimes,
  hashFile,
  HASH_KEEP_OPEN,
  HASH_SET_TIMES,
  hashRange,
  type HashWorkerData,
  HEAD,
  MAIN_POLL_MS,
  MOVED,
  OP_COPY,
  OP_COPY_IN,
  OP_END,
  OP_HASH_FILE,
  OP_HASH_RANGE,
  OP_UPDATE,
  OP_WRITE,
  RECORD_ARGS,
  RECORD_INTS,
  RECORDS,
  RING,
  SHORT_SOURCE_MESSAGE,
  SLOT_SIZE,
  SLOTS,
  SPIN,
  TAIL,
} from './hash-io.mjs';

export { E_SHORT_SOURCE, SLOT_SIZE, type FileTimes };

/**
 * Files of at least this many bytes are handed to a second pipeline's worker by default (`copy` in a
 * restore, `copyIn` in a backup): it saves the main thread the file's reads and writes, and lets the
 * large files' I/O overlap the small files'. Below a few MiB the hand-over and the worker's wake-up are
 * not worth it.
 */
export const PARALLEL_COPY_BYTES = 4 * 1024 * 1024;
/** Slot size of a copying pipeline: its worker reads through its own buffer, so its slots stay unused. */
export const COPY_SLOT_BYTES = 64 * 1024;

/**
 * Code of the error a worker pipeline fails with when its worker reads and writes nothing for the stall
 * limit: a StepFailedError (exit 1), so a backup fails before anything is deleted, a restore before
 * anything is moved into place.
 */
export const E_IO_STALLED = 'E_IO_STALLED';

/** Receives a stream's digest (lowercase hex). */
export type DigestCallback = (hex: string) => void;

/** Hashes byte ranges of its slot buffers into numbered streams. */
export interface HashPipeline {
  /** Size of each slot buffer. */
  readonly slotSize: number;
  /** The next slot to fill, once nothing recorded in it is still waiting to be hashed. */
  acquire(): Buffer;
  /**
   * Start a new hash stream; returns its id. `auto`: a worker pipeline hashes the stream on the calling
   * thread instead when the worker is already behind, so the two threads share the load. `worker` and
   * `local` force the choice (a long stream the caller knows how to balance).
   */
  open(where?: StreamPlacement): number;
  /**
   * Add `buf[off, off+len)` to a stream. `buf` should be (a view into) a slot from `acquire`; other
   * buffers are copied into a slot first.
   */
  update(stream: number, buf: Buffer, off: number, len: number): void;
  /**
   * The stream is complete: `done` gets its digest, on this thread, at the latest when `finish()`
   * resolves (streams hashed here: at once; by the worker: during a later call to the pipeline).
   * `done` must not call the pipeline.
   */
  end(stream: number, done: DigestCallback): void;
  /**
   * Write `buf[off, off+len)` to `fd` at its current offset, or at `position` when given, after the
   * writes to it given before (by the worker, when `buf` is in a slot). A failed write is thrown by a
   * later call (`settle`, `finish`, `acquire`…) with its errno `code`.
   */
  write(fd: number, buf: Buffer, off: number, len: number, position?: number): void;
  /**
   * Read the open file `fd` from its start to its end (positional reads: its offset is left alone), hash
   * it, then give it `times` (seconds) when asked, and close it unless `keepOpen` (the caller closes it,
   * in `done` at the earliest); `done` gets the digest as for `end`. In the worker pipeline the reading
   * is the worker's too, after every earlier write: a restore re-reads each file it wrote, and sets its
   * mtime once nothing writes to it any more, while it goes on creating the next ones.
   */
  hashFile(fd: number, done: DigestCallback, keepOpen?: boolean, times?: FileTimes): void;
  /**
   * Copy `length` bytes of the open file `src` from `srcOffset` (positional reads: its offset is left
   * alone) to `fd` at its current offset, after the writes to `fd` given before. In the worker pipeline
   * the worker reads and writes, through its own buffer: a restore hands it a large file's content
   * straight from the archive file and goes on with the next entries. A source shorter than that fails
   * like a failed write, with code E_SHORT_SOURCE.
   */
  copy(fd: number, src: number, srcOffset: number, length: number): void;
  /**
   * Copy exactly `length` bytes of the open file `src` (from its offset) into `fd` at `position`
   * (positional writes), hashing them, check that `src` ends there and close it; then read the range
   * back through `readFd` (the same file) and hash that: `done` gets the source's digest and the
   * read-back's. A backup hands a large file to a second pipeline this way and goes on with the next
   * ones. A source of another length fails with a FileChangedError naming `name` (in the worker
   * pipeline, thrown by a later call).
   */
  copyIn(fd: number, readFd: number, src: number, position: number, length: number, name: string, done: (source: string, readBack: string) => void): void;
  /** `done` runs on this thread once everything given so far is done (hashed, written). It must not call the pipeline. */
  whenDone(done: () => void): void;
  /** Block until everything given so far is done, running the callbacks due. Throws a failed write's error. */
  settle(): void;
  /**
   * Block until the oldest digest or `whenDone` still due has come back, running the callbacks due: to
   * cap what is in flight without draining the pipeline (settle would leave the worker idle).
   */
  settleOldest(): void;
  /** Wait for all hashing; every `done` has been called when it resolves. The pipeline can be used again after it. */
  finish(): Promise<void>;
  /**
   * Stop the worker (if any). Always call it, also after an error. After a stall (E_IO_STALLED) it does
   * not wait: the worker is stuck in a read or write that only the system can end; it stops when that
   * returns (the process cannot exit before, Node joins its threads), and the files given to it are
   * closed then.
   */
  close(): Promise<void>;
}

/** Which thread hashes a stream (see `HashPipeline.open`). */
export type StreamPlacement = 'auto' | 'worker' | 'local';

/** Hashing on the calling thread. One slot: every update is hashed before the caller can reuse it. */
export class LocalHashPipeline implements HashPipeline {
  private slot: Buffer | null = null;
  private readBuf: Buffer | null = null;
  private readonly hashes = new Map<number, Hash>();
  private nextStream = 1;

  constructor(readonly slotSize: number = SLOT_SIZE) {}

  acquire(): Buffer {
    this.slot ??= Buffer.allocUnsafe(this.slotSize);
    return this.slot;
  }

  open(): number {
    return this.nextStream++;
  }

  update(stream: number, buf: Buffer, off: number, len: number): void {
    let h = this.hashes.get(stream);
    if (!h) {
      h = createHash('sha256');
      this.hashes.set(stream, h);
    }
    h.update(buf.subarray(off, off + len));
  }

  end(stream: number, done: DigestCallback): void {
    const h = this.hashes.get(stream) ?? createHash('sha256');
    this.hashes.delete(stream);
    done(h.digest('hex'));
  }

  write(fd: number, buf: Buffer, off: number, len: number, position?: number): void {
    writeAll(fd, buf, off, len, position);
  }

  copyIn(fd: number, readFd: number, src: number, position: number, length: number, name: string, done: (source: string, readBack: string) => void): void {
    this.readBuf ??= Buffer.allocUnsafe(this.slotSize);
    const source = copyIn(fd, src, position, length, this.readBuf, (how) => sizeChanged(name, how)).digest('hex');
    done(source, hashRange(readFd, position, length, this.readBuf).digest('hex'));
  }

  hashFile(fd: number, done: DigestCallback, keepOpen = false, times?: FileTimes): void {
    // Not the slot: the caller may be holding data in it.
    this.readBuf ??= Buffer.allocUnsafe(this.slotSize);
    done(hashWholeFile(fd, this.readBuf, keepOpen, times));
  }

  copy(fd: number, src: number, srcOffset: number, length: number): void {
    this.readBuf ??= Buffer.allocUnsafe(this.slotSize);
    copyRange(fd, src, srcOffset, length, this.readBuf);
  }

  whenDone(done: () => void): void {
    done();
  }

  settle(): void {
    // Everything was done as it came.
  }

  settleOldest(): void {
    // Everything was done as it came.
  }

  async finish(): Promise<void> {
    // Everything was hashed as it came.
  }

  async close(): Promise<void> {
    this.hashes.clear();
  }
}

/** Slots that may hold unhashed bytes before the worker counts as behind (see `behind`). */
const SLACK_SLOTS = 2;
/** The worker's module: a file beside this one, in `src/` (vitest), `dist/` (tsc) and `dist/bundle/` (build-cli.mjs). */
const WORKER_FILE = './hash-worker.mjs';
/** `NODE_DEBUG=hash-pipeline` reports whether the worker started, and why not: a fallback is silent otherwise. */
const debug = debuglog('hash-pipeline');
/** Default of `WorkerPipelineOptions.stallMs`. */
export const STALL_MS = 60_000;

/** Options of `WorkerHashPipeline.start`. */
export interface WorkerPipelineOptions {
  /**
   * How long the main thread waits on a worker that moves no byte and finishes no record before it fails
   * with E_IO_STALLED (default STALL_MS). A slow worker that keeps moving bytes is waited for however long
   * it takes. Tests lower it.
   */
  stallMs?: number;
}

/** Hashing in a worker thread over shared slots. Create with `WorkerHashPipeline.start()`. */
export class WorkerHashPipeline implements HashPipeline {
  private readonly ctl: Int32Array;
  private readonly slots: Buffer[];
  private readonly data: Buffer;
  /** Per slot: records published up to the last one that reads it. */
  private readonly slotLast: number[];
  private head = 0;
  /** The HEAD value the worker can see (records are published in batches), and bytes recorded since. */
  private publishedHead = 0;
  private unpublishedBytes = 0;
  private nextSlot = 0;
  private nextStream = 1;
  /** Slot used to copy buffers that are not slots, and how much of it is used. */
  private copySlot: Buffer | null = null;
  private copyPos = 0;
  private workerError: unknown = null;
  /** Set when the worker stalled: every later wait throws it at once (the worker is being stopped). */
  private stalled: StepFailedError | null = null;
  /** Streams hashed on this thread (the worker was behind when they were opened). */
  private readonly local = new Map<number, Hash>();
  /** Digests written by the worker, one per ring record. */
  private readonly digestArea: Buffer;
  /** The worker's error (JSON), when FAILED is set. */
  private readonly errorArea: Buffer;
  /** Copy arguments or file times, RECORD_ARGS per ring record. */
  private readonly recordArgs: Float64Array;
  /** Record number of the last write given to the worker (-1: none). */
  private lastWrite = -1;
  /**
   * Ends the worker has not yet been seen to pass, oldest first: their record numbers and callbacks
   * (at most RING of them: a record is harvested before its ring place is reused).
   */
  private endRecords: number[] = [];
  /** Files given to hashFile whose digest has not come back: closed by close() if the worker never got to them. */
  private readonly openFds = new Set<number>();
  private endCallbacks: Array<(digestAt: number) => void> = [];
  /** The names of the files given to copyIn, by record, until their copy is done (for the error). */
  private readonly copyNames = new Map<number, string>();
  private endFirst = 0;

  private constructor(
    private readonly worker: Worker,
    ctlSab: SharedArrayBuffer,
    dataSab: SharedArrayBuffer,
    digestSab: SharedArrayBuffer,
    errorSab: SharedArrayBuffer,
    argsSab: SharedArrayBuffer,
    readonly slotSize: number,
    slotCount: number,
    private readonly stallMs: number,
  ) {
    this.ctl = new Int32Array(ctlSab);
    this.recordArgs = new Float64Array(argsSab);
    this.data = Buffer.from(dataSab);
    this.digestArea = Buffer.from(digestSab);
    this.errorArea = Buffer.from(errorSab);
    this.slots = Array.from({ length: slotCount }, (_, i) => Buffer.from(dataSab, i * slotSize, slotSize));
    this.slotLast = new Array<number>(slotCount).fill(0);
    worker.on('error', (err) => {
      this.workerError = err;
    });
  }

  /** Start the worker. Rejects when worker threads are unavailable (callers fall back to local hashing). */
  static async start(slotSize: number = SLOT_SIZE, slotCount: number = SLOTS, options: WorkerPipelineOptions = {}): Promise<WorkerHashPipeline> {
    const ctlSab = new SharedArrayBuffer((RECORDS + RING * RECORD_INTS) * 4);
    const dataSab = new SharedArrayBuffer(slotSize * slotCount);
    const digestSab = new SharedArrayBuffer(RING * DIGEST_BYTES);
    const errorSab = new SharedArrayBuffer(ERROR_BYTES);
    const argsSab = new SharedArrayBuffer(RING * RECORD_ARGS * 8);
    const workerData: HashWorkerData = { ctlSab, dataSab, digestSab, errorSab, argsSab };
    // The single-file build has no worker file beside it: it carries the worker's code and runs it as a script.
    const inline = SINGLE_FILE?.hashWorker;
    const url = inline === undefined ? new URL(WORKER_FILE, import.meta.url) : null;
    // Referenced (it keeps the process alive) until close(): callers always close in a finally.
    const worker = new Worker(inline ?? (url as URL), {
      eval: inline !== undefined,
      workerData,
      // The worker only holds hash states and digests: a small heap keeps the process's peak memory low.
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 },
      // The files it reads back (hashFile) are opened by the main thread and closed here: not the
      // worker's own descriptors to track (Node warns about each one otherwise).
      trackUnmanagedFds: false,
      // Node refuses --input-type for a worker started from a file (ERR_INPUT_TYPE_NOT_ALLOWED): a parent
      // run with `node --input-type=module -e …` must not pass it on.
      execArgv: process.execArgv.filter((arg) => !arg.startsWith('--input-type')),
    });
    // 'ready' is the worker's own last line of set-up: a worker that fails before it is reported here,
    // not found out later as a worker that never moves (the main thread waits for it synchronously, so
    // an 'error' event could not reach it then).
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`hash worker exited with code ${code} before it was ready`)));
    });
    debug('worker ready: %s', url?.href ?? 'inline (single-file build)');
    return new WorkerHashPipeline(worker, ctlSab, dataSab, digestSab, errorSab, argsSab, slotSize, slotCount, options.stallMs ?? STALL_MS);
  }

  acquire(): Buffer {
    // The caller is done filling its previous slot: let the worker see everything recorded in it.
    this.flushHead();
    const i = this.nextSlot;
    this.nextSlot = (i + 1) % this.slots.length;
    this.waitTail(this.slotLast[i] as number);
    this.harvest();
    if (this.copySlot === this.slots[i]) this.copySlot = null;
    return this.slots[i] as Buffer;
  }

  open(where: StreamPlacement = 'auto'): number {
    const stream = this.nextStream++;
    if (where === 'local' || (where === 'auto' && this.behind())) this.local.set(stream, createHash('sha256'));
    return stream;
  }

  /** True when more than SLACK_SLOTS slots hold bytes the worker has not hashed yet. */
  private behind(): boolean {
    const tail = Atomics.load(this.ctl, TAIL);
    let pending = 0;
    for (const last of this.slotLast) if (last > tail) pending++;
    return pending > SLACK_SLOTS;
  }

  update(stream: number, buf: Buffer, off: number, len: number): void {
    if (len === 0) return;
    const h = this.local.get(stream);
    if (h !== undefined) {
      h.update(buf.subarray(off, off + len));
      return;
    }
    if (buf.buffer !== this.data.buffer) {
      this.updateByCopy(stream, buf, off, len);
      return;
    }
    const abs = buf.byteOffset + off;
    this.publish(OP_UPDATE, stream, abs, len);
    // Mark every slot the range touches (a range never spans slots in practice, but be exact).
    const first = Math.floor(abs / this.slotSize);
    const last = Math.floor((abs + len - 1) / this.slotSize);
    for (let s = first; s <= last; s++) this.slotLast[s] = this.head;
  }

  end(stream: number, done: DigestCallback): void {
    const h = this.local.get(stream);
    if (h !== undefined) {
      this.local.delete(stream);
      done(h.digest('hex'));
      return;
    }
    const record = this.head;
    this.publish(OP_END, stream, 0, 0);
    this.endRecords.push(record);
    this.endCallbacks.push((at) => done(this.digestArea.toString('hex', at, at + DIGEST_BYTES)));
  }

  write(fd: number, buf: Buffer, off: number, len: number, position?: number): void {
    if (len === 0) return;
    if (buf.buffer !== this.data.buffer) {
      // Not a slot (gunzip output): written here, after the worker's writes so far.
      if (this.lastWrite >= 0) this.settle();
      writeAll(fd, buf, off, len, position);
      return;
    }
    const abs = buf.byteOffset + off;
    this.lastWrite = this.head;
    const a = (this.head % RING) * RECORD_ARGS;
    this.publish(OP_WRITE, fd, abs, len, () => {
      this.recordArgs[a] = position ?? -1;
    });
    const first = Math.floor(abs / this.slotSize);
    const last = Math.floor((abs + len - 1) / this.slotSize);
    for (let s = first; s <= last; s++) this.slotLast[s] = this.head;
  }

  hashFile(fd: number, done: DigestCallback, keepOpen = false, times?: FileTimes): void {
    const record = this.head;
    if (!keepOpen) this.openFds.add(fd);
    const a = (record % RING) * RECORD_ARGS;
    // No bytes of a slot: nothing to mark. Published at once, so the worker reads while we write on.
    this.publish(OP_HASH_FILE, fd, (keepOpen ? HASH_KEEP_OPEN : 0) | (times ? HASH_SET_TIMES : 0), 0, () => {
      if (!times) return;
      this.recordArgs[a] = times.atime;
      this.recordArgs[a + 1] = times.mtime;
    });
    this.flushHead();
    this.endRecords.push(record);
    this.endCallbacks.push((at) => {
      this.openFds.delete(fd);
      done(this.digestArea.toString('hex', at, at + DIGEST_BYTES));
    });
  }

  copyIn(fd: number, readFd: number, src: number, position: number, length: number, name: string, done: (source: string, readBack: string) => void): void {
    const first = this.head;
    this.openFds.add(src);
    this.copyNames.set(first, name);
    const a = (first % RING) * RECORD_ARGS;
    this.publish(OP_COPY_IN, fd, src, 0, () => {
      this.recordArgs[a] = position;
      this.recordArgs[a + 1] = length;
    });
    const second = this.head;
    const b = (second % RING) * RECORD_ARGS;
    this.publish(OP_HASH_RANGE, readFd, 0, 0, () => {
      this.recordArgs[b] = position;
      this.recordArgs[b + 1] = length;
    });
    this.flushHead();
    let source = '';
    this.endRecords.push(first, second);
    this.endCallbacks.push(
      (at) => {
        this.openFds.delete(src);
        this.copyNames.delete(first);
        source = this.digestArea.toString('hex', at, at + DIGEST_BYTES);
      },
      (at) => done(source, this.digestArea.toString('hex', at, at + DIGEST_BYTES)),
    );
  }

  copy(fd: number, src: number, srcOffset: number, length: number): void {
    if (length === 0) return;
    const a = (this.head % RING) * RECORD_ARGS;
    // Written before the record is published (flushHead's Atomics.store orders them for the worker).
    this.publish(OP_COPY, fd, src, 0, () => {
      this.recordArgs[a] = srcOffset;
      this.recordArgs[a + 1] = length;
    });
    this.lastWrite = this.head - 1;
    // No slot bytes to mark; published at once so the worker starts while we go on.
    this.flushHead();
  }

  whenDone(done: () => void): void {
    const record = this.head - 1;
    if (record < 0 || (this.endFirst === this.endRecords.length && Atomics.load(this.ctl, TAIL) > record)) {
      done();
      return;
    }
    this.flushHead();
    this.endRecords.push(record);
    this.endCallbacks.push(() => done());
  }

  settle(): void {
    this.waitTail(this.head);
    this.harvest();
    this.lastWrite = -1;
  }

  settleOldest(): void {
    this.harvest();
    const oldest = this.endRecords[this.endFirst];
    if (oldest === undefined) return;
    this.waitTail(oldest + 1);
    this.harvest();
  }

  async finish(): Promise<void> {
    this.settle();
    this.endRecords = [];
    this.endCallbacks = [];
    this.endFirst = 0;
  }

  /** Hand the digests of every end the worker has passed to their callbacks. */
  private harvest(): void {
    const records = this.endRecords;
    const n = records.length;
    let i = this.endFirst;
    if (i === n) return;
    const tail = Atomics.load(this.ctl, TAIL);
    const callbacks = this.endCallbacks;
    while (i < n && (records[i] as number) < tail) {
      const at = ((records[i] as number) % RING) * DIGEST_BYTES;
      const done = callbacks[i] as (digestAt: number) => void;
      callbacks[i] = noop;
      i++;
      this.endFirst = i;
      done(at);
    }
    // Drop the harvested prefix now and then (both arrays stay at most ~2 × RING long).
    if (i > RING) {
      this.endRecords = records.slice(i);
      this.endCallbacks = callbacks.slice(i);
      this.endFirst = 0;
    }
  }

  async close(): Promise<void> {
    // After a stall the worker was asked to stop already, and waiting for it could be waiting forever.
    if (this.stalled !== null) return;
    await this.worker.terminate();
    this.closeOpenFds();
  }

  private closeOpenFds(): void {
    for (const fd of this.openFds) {
      try {
        closeSync(fd);
      } catch {
        // closed by the worker just before it stopped
      }
    }
    this.openFds.clear();
  }

  private updateByCopy(stream: number, buf: Buffer, off: number, len: number): void {
    let done = 0;
    while (done < len) {
      if (this.copySlot === null || this.copyPos === this.slotSize) {
        this.copySlot = this.acquire();
        this.copyPos = 0;
      }
      const n = Math.min(len - done, this.slotSize - this.copyPos);
      buf.copy(this.copySlot, this.copyPos, off + done, off + done + n);
      this.update(stream, this.copySlot, this.copyPos, n);
      this.copyPos += n;
      done += n;
    }
  }

  private publish(op: number, stream: number, offset: number, length: number, fill?: () => void): void {
    // Ring full: wait for the worker to make room, and take the digest from the place about to be reused.
    if (this.head >= RING) {
      this.waitTail(this.head - RING + 1);
      const first = this.endRecords[this.endFirst];
      if (first !== undefined && first <= this.head - RING) this.harvest();
    }
    // The record's place is free now: extra arguments go beside it.
    fill?.();
    const r = RECORDS + (this.head % RING) * RECORD_INTS;
    const ctl = this.ctl;
    ctl[r] = op;
    ctl[r + 1] = stream;
    ctl[r + 2] = offset;
    ctl[r + 3] = length;
    this.head++;
    this.unpublishedBytes += length;
    if (this.head - this.publishedHead >= BATCH || this.unpublishedBytes >= BATCH_BYTES) this.flushHead();
  }

  /** Let the worker see every record written so far (it looks at least every WORKER_POLL_MS). */
  private flushHead(): void {
    if (this.publishedHead === this.head) return;
    this.publishedHead = this.head;
    this.unpublishedBytes = 0;
    Atomics.store(this.ctl, HEAD, this.head);
  }

  /** The worker's error: a failed write keeps its errno code (ENOSPC…). */
  private failure(): Error {
    const text = this.errorArea.toString('utf8').replace(/\0+$/, '');
    let info: { code?: string; message?: string; record?: number } = {};
    try {
      info = text === '' ? {} : (JSON.parse(text) as typeof info);
    } catch {
      info = {};
    }
    if (info.code === E_FILE_CHANGED && typeof info.record === 'number') {
      return sizeChanged(this.copyNames.get(info.record) ?? 'a file', info.message === 'grew' ? 'grew' : 'shrank');
    }
    if (info.code === E_SHORT_SOURCE) return Object.assign(new Error(`copy failed in the hash worker: ${SHORT_SOURCE_MESSAGE}`), { code: info.code });
    if (info.code) return Object.assign(new Error(`write failed in the hash worker: ${info.message ?? info.code}`), { code: info.code });
    return new Error(`hash worker failed${info.message ? `: ${info.message}` : ''}`);
  }

  /**
   * Block until the worker has processed `count` records. Throws if the worker failed, or if for the
   * stall limit it finished no record and moved no byte: a large file copied or read back is a single
   * record, so the bytes it moves are what tell a slow disk or source from one that stopped.
   */
  private waitTail(count: number): void {
    if (this.stalled !== null) throw this.stalled;
    const ctl = this.ctl;
    let tail = Atomics.load(ctl, TAIL);
    if (tail >= count) return;
    this.flushHead(); // the worker must see what we wait for
    for (let i = 0; i < SPIN && tail < count; i++) tail = Atomics.load(ctl, TAIL);
    let moved = Atomics.load(ctl, MOVED);
    let stalledSince = performance.now();
    while (tail < count) {
      if (Atomics.load(ctl, FAILED) !== 0 || this.workerError) throw this.failure();
      Atomics.wait(ctl, TAIL, tail, MAIN_POLL_MS);
      const now = Atomics.load(ctl, TAIL);
      const movedNow = Atomics.load(ctl, MOVED);
      if (now !== tail || movedNow !== moved) stalledSince = performance.now();
      else if (performance.now() - stalledSince > this.stallMs) throw this.stall();
      tail = now;
      moved = movedNow;
    }
  }

  /**
   * The worker moved nothing for the limit: fail, now and at every later wait, and stop it. It is asked
   * to stop before the caller, handling the error, closes the files it may be stuck on: once its read or
   * write returns, it runs no further (and writes nothing to a descriptor number reused meanwhile).
   */
  private stall(): StepFailedError {
    const seconds = this.stallMs / 1000;
    this.stalled = new StepFailedError(
      `no byte read or written for ${seconds} s by the hash worker: the disk, or a file it was copying or reading back, stopped responding`,
      { code: E_IO_STALLED },
    );
    debug('worker stalled: no record done and no byte moved for %d ms; stopping it', this.stallMs);
    const stopped = (): void => {
      this.closeOpenFds();
      debug('worker stopped after the stall');
    };
    void this.worker.terminate().then(stopped, stopped);
    // Nothing waits for it any more: it must not keep the process alive either.
    this.worker.unref();
    return this.stalled;
  }
}

const noop = (): void => undefined;

/**
 * sha256 of an open file from its start (positional reads), through `buf`; then `times` set, and closed
 * unless `keepOpen`. The one whole-file hash of the backup code.
 */
export function hashWholeFile(fd: number, buf: Buffer, keepOpen: boolean, times?: FileTimes): string {
  return hashFile(fd, buf, keepOpen, times).digest('hex');
}

/** Worker pipeline, or the in-thread one when `worker` is false or worker threads fail to start. */
export async function startHashPipeline(worker: boolean, slotSize: number = SLOT_SIZE): Promise<HashPipeline> {
  // Slots hold tar blocks: a multiple of 512 bytes, at least 64 KiB.
  slotSize = Math.max(64 * 1024, Math.ceil(slotSize / 512) * 512);
  if (!worker) return new LocalHashPipeline(slotSize);
  try {
    return await WorkerHashPipeline.start(slotSize);
  } catch (err) {
    debug('worker failed to start, hashing in-thread: %s', err);
    return new LocalHashPipeline(slotSize);
  }
}
