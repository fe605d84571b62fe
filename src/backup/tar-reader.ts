/**
 * A streaming tar parser with bounded memory. Bytes are pushed in chunks of any size (from a plain file
 * read loop or a gunzip stream); entries and their content are handed to a visitor as they pass. Content
 * is never accumulated: a visitor sees views into the pushed chunk, valid only during the call.
 *
 * The parser trusts nothing: it decodes every typeflag and reports hardlinks, devices, fifos and GNU
 * long-name records as what they are, so callers can refuse them. It does not judge paths; see
 * `archive-check.ts` for that.
 */
import {
  BLOCK_SIZE,
  MAX_PAX_BYTES,
  TarFormatError,
  decodeHeader,
  isZeroBlock,
  paddingFor,
  parsePaxRecords,
  type RawHeader,
  type TarHeader,
} from './tar-format.js';

/** An entry as the parser reports it: its header (pax records applied) and where it starts. */
export interface TarEntry extends TarHeader {
  /** The typeflag character as stored (`'0'`, `'5'`, `'1'`, `'L'`…). */
  typeflag: string;
  /** Offset of the entry's first header block (its pax header when it has one) in the tar stream. */
  offset: number;
  /** Offset of the entry's first content byte in the tar stream (right after its header). */
  dataOffset: number;
}

/** Receives the content of one entry, chunk by chunk. The chunk is a view: copy it to keep it. */
export type ContentConsumer = (chunk: Buffer) => void;

/**
 * Returned by a visitor's `entry` for content it reads from the archive file itself (at
 * `entry.dataOffset`): the parser passes over that content without handing it out, and lets the source
 * jump past the rest of it (`TarParser.takeSkip`) instead of reading it.
 */
export const SKIP_CONTENT: unique symbol = Symbol('skip content');

/** What the parser calls as it goes. */
export interface TarVisitor {
  /** A new entry. Return a consumer to receive its content, nothing to ignore it, or SKIP_CONTENT. */
  entry(entry: TarEntry): ContentConsumer | typeof SKIP_CONTENT | undefined | void;
  /** All of the entry's content has passed (called for every entry, also empty and skipped ones). */
  entryEnd?(entry: TarEntry): void;
  /**
   * Every byte of the stream that is not a regular file's content, in stream order, as views valid only
   * during the call: headers, pax records, padding, the content of other entries, the end-of-archive
   * marker and whatever follows it. With each file's content hash, these cover every byte of the
   * stream (the archive's layout hash, see `ArchiveChecker`).
   */
  layout?(buf: Buffer, off: number, len: number): void;
}

const enum State {
  Header,
  Content,
  Padding,
  PaxData,
  /** One zero block seen: a second one ends the archive. */
  Zero1,
  /** Two zero blocks seen: only zeros may follow. */
  Ended,
}

/** How the stream ended, for callers that want to refuse truncated or padded-with-garbage archives. */
export interface TarEndState {
  /** Two zero blocks were seen. */
  ended: boolean;
  /** The stream stopped in the middle of a header or an entry's content. */
  truncated: boolean;
  /** Non-zero bytes appeared after the end-of-archive marker. */
  trailingData: boolean;
}

/**
 * Push-style tar parser. Call `push` with each chunk, then `end()`.
 * Throws TarFormatError from `push` when a header is malformed (nothing after it can be trusted).
 */
export class TarParser {
  private state = State.Header;
  /** Bytes of the stream consumed so far. */
  private pos = 0;
  /** A header split across chunks is assembled here. */
  private readonly headerBuf = Buffer.alloc(BLOCK_SIZE);
  private headerFill = 0;
  private remaining = 0;
  private current: TarEntry | null = null;
  private consumer: ContentConsumer | undefined;
  /** The current entry's content is not wanted here: the source may jump over what is left of it. */
  private skipping = false;
  private entryStart = -1;
  /** Content of a pax header being read (bounded by MAX_PAX_BYTES). */
  private paxBuf: Buffer | null = null;
  private paxFill = 0;
  private paxGlobal = false;
  private paxLocal: Map<string, string> | null = null;
  private readonly paxGlobals = new Map<string, string>();
  private trailingData = false;
  /** Content of the current entry goes to `layout` (it is not a regular file's). */
  private contentIsLayout = false;
  private readonly layout: ((buf: Buffer, off: number, len: number) => void) | undefined;

  constructor(private readonly visitor: TarVisitor) {
    this.layout = visitor.layout?.bind(visitor);
  }

  /** Feed the next chunk of the (uncompressed) tar stream. */
  push(chunk: Buffer): void {
    let i = 0;
    const len = chunk.length;
    while (i < len) {
      switch (this.state) {
        case State.Header:
        case State.Zero1: {
          if (this.headerFill === 0 && len - i >= BLOCK_SIZE) {
            this.layout?.(chunk, i, BLOCK_SIZE);
            this.onBlock(chunk, i);
            i += BLOCK_SIZE;
          } else {
            const n = Math.min(BLOCK_SIZE - this.headerFill, len - i);
            this.layout?.(chunk, i, n);
            chunk.copy(this.headerBuf, this.headerFill, i, i + n);
            this.headerFill += n;
            i += n;
            if (this.headerFill === BLOCK_SIZE) {
              this.headerFill = 0;
              this.onBlock(this.headerBuf, 0);
            }
          }
          break;
        }
        case State.Content: {
          const n = Math.min(this.remaining, len - i);
          if (this.contentIsLayout) this.layout?.(chunk, i, n);
          if (this.consumer) this.consumer(chunk.subarray(i, i + n));
          this.remaining -= n;
          i += n;
          this.pos += n;
          if (this.remaining === 0) this.finishContent();
          break;
        }
        case State.PaxData: {
          const buf = this.paxBuf as Buffer;
          const n = Math.min(this.remaining, len - i);
          this.layout?.(chunk, i, n);
          chunk.copy(buf, this.paxFill, i, i + n);
          this.paxFill += n;
          this.remaining -= n;
          i += n;
          this.pos += n;
          if (this.remaining === 0) this.finishPax();
          break;
        }
        case State.Padding: {
          const n = Math.min(this.remaining, len - i);
          this.layout?.(chunk, i, n);
          this.remaining -= n;
          i += n;
          this.pos += n;
          if (this.remaining === 0) this.state = State.Header;
          break;
        }
        case State.Ended: {
          this.layout?.(chunk, i, len - i);
          // Only zeros may follow the end-of-archive marker (GNU tar pads to a 10 KiB record).
          if (!this.trailingData) {
            for (let k = i; k < len; k++) {
              if (chunk[k] !== 0) {
                this.trailingData = true;
                break;
              }
            }
          }
          this.pos += len - i;
          i = len;
          break;
        }
      }
    }
  }

  /** Call after the last chunk: how the stream ended. */
  end(): TarEndState {
    const ended = this.state === State.Ended;
    return {
      ended,
      truncated: !ended && (this.state !== State.Header || this.headerFill !== 0 || this.current !== null),
      trailingData: this.trailingData,
    };
  }

  /** Bytes of the tar stream consumed so far. */
  get offset(): number {
    return this.pos;
  }

  /**
   * Content bytes the source should jump over before its next push (the rest of an entry whose visitor
   * returned SKIP_CONTENT), taken as consumed: 0 when there are none. The caller must not jump past the
   * end of the file (a truncated archive would otherwise look complete up to there).
   */
  takeSkip(): number {
    if (!this.skipping || this.state !== State.Content) return 0;
    const n = this.remaining;
    this.pos += n;
    this.remaining = 0;
    this.finishContent();
    return n;
  }

  private onBlock(buf: Buffer, at: number): void {
    const blockOffset = this.pos;
    this.pos += BLOCK_SIZE;
    if (this.state === State.Zero1) {
      // A zero block followed by anything but a second one: GNU tar stops at a lone zero block too, so
      // whatever follows would be hidden from it. Report it as data after the end.
      if (isZeroBlock(buf, at)) this.state = State.Ended;
      else {
        this.trailingData = true;
        this.state = State.Ended;
      }
      return;
    }
    const raw = decodeHeader(buf, at, blockOffset);
    if (raw === null) {
      if (this.paxLocal) throw new TarFormatError(`pax header not followed by an entry at offset ${blockOffset}`, blockOffset);
      this.state = State.Zero1;
      return;
    }
    if (this.entryStart < 0) this.entryStart = blockOffset;
    if (raw.typeflag === 'x' || raw.typeflag === 'g') {
      if (raw.size > MAX_PAX_BYTES) {
        throw new TarFormatError(`pax header of ${raw.size} bytes at offset ${blockOffset} is too large`, blockOffset);
      }
      this.paxGlobal = raw.typeflag === 'g';
      this.paxBuf = Buffer.alloc(raw.size);
      this.paxFill = 0;
      this.remaining = raw.size;
      if (raw.size === 0) this.finishPax();
      else this.state = State.PaxData;
      return;
    }
    const entry = this.applyPax(raw, blockOffset);
    entry.dataOffset = this.pos;
    this.current = entry;
    const taken = this.visitor.entry(entry) ?? undefined;
    this.skipping = taken === SKIP_CONTENT;
    if (this.skipping && entry.type !== 'file') throw new Error(`SKIP_CONTENT for a ${entry.type} entry at offset ${blockOffset}: only a file's content may be skipped`);
    this.contentIsLayout = entry.type !== 'file';
    this.consumer = taken === SKIP_CONTENT ? undefined : taken;
    this.remaining = entry.size;
    if (entry.size === 0) this.finishContent();
    else this.state = State.Content;
  }

  private applyPax(raw: RawHeader, blockOffset: number): TarEntry {
    // `raw` is a fresh object: it becomes the entry (no copy per entry).
    const entry = raw as TarEntry;
    entry.offset = this.entryStart;
    this.entryStart = -1;
    const local = this.paxLocal;
    this.paxLocal = null;
    for (const records of local === null ? [this.paxGlobals] : [this.paxGlobals, local]) {
      if (records.size === 0) continue;
      const path = records.get('path');
      if (path !== undefined) entry.path = path;
      const link = records.get('linkpath');
      if (link !== undefined) entry.linkTarget = link;
      const size = records.get('size');
      if (size !== undefined) {
        const n = Number(size);
        if (!/^\d+$/.test(size) || !Number.isSafeInteger(n)) {
          throw new TarFormatError(`bad pax size "${size}" at offset ${blockOffset}`, blockOffset);
        }
        entry.size = n;
      }
      const mtime = records.get('mtime');
      if (mtime !== undefined && Number.isFinite(Number(mtime))) entry.mtime = Number(mtime);
      const uid = records.get('uid');
      if (uid !== undefined && Number.isSafeInteger(Number(uid))) entry.uid = Number(uid);
      const gid = records.get('gid');
      if (gid !== undefined && Number.isSafeInteger(Number(gid))) entry.gid = Number(gid);
    }
    // Directories are stored as "name/"; report them without the slash.
    if (entry.type === 'dir' && entry.path.length > 1 && entry.path.endsWith('/')) entry.path = entry.path.slice(0, -1);
    return entry;
  }

  private finishPax(): void {
    let records: Map<string, string>;
    try {
      records = parsePaxRecords(this.paxBuf as Buffer);
    } catch (err) {
      throw new TarFormatError(`malformed pax header before offset ${this.pos}: ${(err as Error).message}`, this.pos);
    }
    if (this.paxGlobal) {
      for (const [k, v] of records) this.paxGlobals.set(k, v);
      this.entryStart = -1;
    } else {
      this.paxLocal = records;
    }
    this.paxBuf = null;
    this.toPadding(this.paxFill);
  }

  private finishContent(): void {
    const entry = this.current as TarEntry;
    this.current = null;
    this.consumer = undefined;
    this.skipping = false;
    this.visitor.entryEnd?.(entry);
    this.toPadding(entry.size);
  }

  private toPadding(size: number): void {
    const pad = paddingFor(size);
    this.remaining = pad;
    this.state = pad === 0 ? State.Header : State.Padding;
  }
}
