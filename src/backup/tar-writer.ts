/**
 * Streaming tar writer. Large reusable buffers (the hash pipeline's slots): headers are encoded into
 * them and file content is read straight into them (readSync at the write position), hashed there (by
 * the hash worker, in place), and a buffer goes to the sink when full. So each byte is read once, hashed
 * once, copied zero times, and memory stays at a few buffers whatever the data size.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { ArchiveSink } from './archive-sink.js';
import { type DigestCallback, type HashPipeline, LocalHashPipeline } from './hash-pipeline.js';
import { FileChangedError, sizeChanged } from './file-changed-error.js';
import { BLOCK_SIZE, RECORD_SIZE, headerLength, paddingFor, writeHeader, type TarHeader } from './tar-format.js';

/** Default buffer when the writer hashes on its own thread: 1 GiB needs only 1024 writes. */
export const DEFAULT_BUFFER_SIZE = 1024 * 1024;

/** A file's header fields, known once it is open. */
export interface FileHeaderInfo {
  size: number;
  /** Permission bits. */
  mode: number;
  mtimeMs: number;
}

/** What was stored for a regular file. */
export interface StoredFile {
  size: number;
  /** Permission bits. */
  mode: number;
  mtimeMs: number;
}

export { FileChangedError };

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;
/** Sizes above this need a pax header (ustar's size field holds 11 octal digits). */
const MAX_USTAR_SIZE = 0o77777777777;

/** Options of a TarWriter. */
export interface TarWriterOptions {
  /**
   * Large files' content is left to `copy`: the writer reserves its place in the archive (the sink must
   * support `reserve`) and goes on with the next entries while `copy` fills it in.
   */
  largeFiles?: {
    /** Files of at least this many bytes. */
    minBytes: number;
    /**
     * Copy exactly `size` bytes of the open file `src` to `position` of the archive; `digest` gets their
     * sha256. `src` is the callee's from the call on: it closes it, also when it fails.
     */
    copy(src: number, position: number, size: number, name: string, digest: DigestCallback): void | Promise<void>;
  };
}

/** Writes a tar stream to a sink. Not re-entrant: await each call before the next. */
export class TarWriter {
  private buf: Buffer;
  private pos = 0;
  /** Bytes handed to the sink so far. */
  private flushed = 0;
  private readonly probe = Buffer.alloc(1);
  private finished = false;
  private readonly pipeline: HashPipeline;

  /**
   * @param pipeline hashes file content; its slots are the writer's buffers. Default: in-thread hashing
   * with one buffer of `DEFAULT_BUFFER_SIZE`.
   */
  constructor(
    private readonly sink: ArchiveSink,
    pipeline?: HashPipeline,
    private readonly options: TarWriterOptions = {},
  ) {
    this.pipeline = pipeline ?? new LocalHashPipeline(DEFAULT_BUFFER_SIZE);
    // Slots are a multiple of the block size, so an entry's padding always fits after its content.
    if (this.pipeline.slotSize % BLOCK_SIZE !== 0) throw new Error('buffer size must be a multiple of 512');
    this.buf = this.pipeline.acquire();
  }

  /** Bytes of tar stream written so far (before compression). */
  get bytesWritten(): number {
    return this.flushed + this.pos;
  }

  /**
   * Store a regular file, reading it once (`announce` is told its header fields before the header can
   * reach the sink): its content is hashed while it is copied into the archive, and `digest` gets the
   * content's sha256 (at the latest when the pipeline's `finish()` resolves).
   * Opened with O_NOFOLLOW: a path that is (or became) a symlink is refused, never followed. The header
   * is written from fstat of the open file, and a file that grows or shrinks meanwhile is refused.
   */
  async addFile(absPath: string, name: string, announce?: (file: FileHeaderInfo) => void, digest: DigestCallback = () => undefined): Promise<StoredFile> {
    const fd = openSync(absPath, OPEN_FLAGS);
    let handedOver = false;
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new FileChangedError(name, `${name} is no longer a regular file`);
      const size = st.size;
      const mode = st.mode & 0o7777;
      const header: TarHeader = {
        path: name,
        type: 'file',
        size,
        mode,
        mtime: Math.floor(st.mtimeMs / 1000),
        uid: st.uid,
        gid: st.gid,
        linkTarget: '',
      };
      // A name too long for the ustar name field may get a pax header: give it the exact mtime too.
      if (Buffer.byteLength(name) > 100 || size > MAX_USTAR_SIZE) header.mtimeNs = fstatSync(fd, { bigint: true }).mtimeNs;
      announce?.({ size, mode, mtimeMs: st.mtimeMs });
      await this.putHeader(header);
      const pipeline = this.pipeline;
      const large = this.options.largeFiles;
      if (large && this.sink.reserve && size >= large.minBytes) {
        await this.flush(); // the header goes before the reserved range
        const position = this.sink.reserve(size + paddingFor(size));
        this.flushed += size + paddingFor(size);
        handedOver = true;
        await large.copy(fd, position, size, name, digest);
        return { size, mode, mtimeMs: st.mtimeMs };
      }
      // A large file's hash goes to the worker (the main thread will hash it again when it re-reads the
      // archive, see ArchiveChecker); small ones go wherever there is CPU free.
      const stream = pipeline.open(size >= 2 * pipeline.slotSize ? 'worker' : 'auto');
      let remaining = size;
      let sawEof = false;
      while (remaining > 0 || !sawEof) {
        if (this.pos === this.buf.length) await this.flush();
        const space = this.buf.length - this.pos;
        if (remaining === 0) {
          // The last read filled exactly what was asked: one probe to be sure the file did not grow.
          if (readSync(fd, this.probe, 0, 1, null) !== 0) throw sizeChanged(name, 'grew');
          break;
        }
        // Ask one byte more than we need when it fits: a short read then proves end of file for free.
        const want = remaining < space ? remaining + 1 : space;
        const n = readSync(fd, this.buf, this.pos, want, null);
        if (n === 0) throw sizeChanged(name, 'shrank');
        if (n > remaining) throw sizeChanged(name, 'grew');
        pipeline.update(stream, this.buf, this.pos, n);
        this.pos += n;
        remaining -= n;
        if (remaining === 0 && n < want) sawEof = true;
      }
      pipeline.end(stream, digest);
      this.pad(size);
      return { size, mode, mtimeMs: st.mtimeMs };
    } finally {
      if (!handedOver) closeSync(fd);
    }
  }

  /** Store a directory entry (no content). `mtimeNs`: exact mtime, used when a pax header is written. */
  async addDirectory(name: string, meta: EntryMeta): Promise<void> {
    await this.putHeader({ path: name, type: 'dir', size: 0, linkTarget: '', ...headerMeta(meta) });
  }

  /** Store a symlink as a link (its target is text; the target is never read). */
  async addSymlink(name: string, target: string, meta: EntryMeta): Promise<void> {
    await this.putHeader({ path: name, type: 'symlink', size: 0, linkTarget: target, ...headerMeta(meta) });
  }

  /**
   * Store any header with in-memory content. Low level: it writes whatever it is given (a hardlink, a
   * `../` name), which is how tests craft hostile archives. `content.length` must equal `header.size`.
   */
  async addEntry(header: TarHeader, content: Buffer = Buffer.alloc(0)): Promise<void> {
    if (content.length !== header.size) throw new Error(`content is ${content.length} bytes, header says ${header.size}`);
    await this.putHeader(header);
    let off = 0;
    while (off < content.length) {
      if (this.pos === this.buf.length) await this.flush();
      const n = Math.min(content.length - off, this.buf.length - this.pos);
      content.copy(this.buf, this.pos, off, off + n);
      this.pos += n;
      off += n;
    }
    this.pad(content.length);
  }

  /** Write the end-of-archive marker (two zero blocks), pad to a whole record, flush, close the sink. */
  async finish(): Promise<number> {
    if (this.finished) throw new Error('tar writer already finished');
    this.finished = true;
    let zeros = 2 * BLOCK_SIZE;
    const total = this.bytesWritten + zeros;
    zeros += (RECORD_SIZE - (total % RECORD_SIZE)) % RECORD_SIZE;
    while (zeros > 0) {
      if (this.pos === this.buf.length) await this.flush();
      const n = Math.min(zeros, this.buf.length - this.pos);
      this.buf.fill(0, this.pos, this.pos + n);
      this.pos += n;
      zeros -= n;
    }
    await this.flush();
    return this.sink.close();
  }

  private async putHeader(h: TarHeader): Promise<void> {
    const need = headerLength(h);
    if (need > this.buf.length) throw new Error(`header for ${h.path} is too large (${need} bytes)`);
    if (this.buf.length - this.pos < need) await this.flush();
    this.pos += writeHeader(h, this.buf, this.pos);
  }

  /** Zero padding to the next block; always fits because the buffer is a multiple of the block size. */
  private pad(size: number): void {
    const pad = paddingFor(size);
    if (pad === 0) return;
    this.buf.fill(0, this.pos, this.pos + pad);
    this.pos += pad;
  }

  private async flush(): Promise<void> {
    if (this.pos === 0) return;
    const len = this.pos;
    const done = this.sink.write(this.buf, len);
    if (done) await done;
    this.flushed += len;
    this.pos = 0;
    // The next slot, once the hash worker is done with what was recorded in it.
    this.buf = this.pipeline.acquire();
  }
}

/** Metadata of a directory or symlink entry, from lstat. */
export interface EntryMeta {
  /** Permission bits. */
  mode: number;
  mtimeMs: number;
  /** Exact mtime, when known (written in a pax header when there is one). */
  mtimeNs?: bigint;
  uid?: number;
  gid?: number;
}

function headerMeta(m: EntryMeta): Pick<TarHeader, 'mode' | 'mtime' | 'mtimeNs' | 'uid' | 'gid'> {
  return { mode: m.mode, mtime: Math.floor(m.mtimeMs / 1000), mtimeNs: m.mtimeNs, uid: m.uid ?? 0, gid: m.gid ?? 0 };
}


