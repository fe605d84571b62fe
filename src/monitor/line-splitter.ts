/**
 * Cutting a log's bytes into JSON lines, chunk by chunk, holding at most one partial line: the part of the reader
 * that keeps its memory flat whatever the size of the log.
 */
import { isAscii } from 'node:buffer';

/** Where a line sits, for a decision's evidence: the file it was read from and its bytes `[start, end)`. */
export interface LineRef {
  /** The file the bytes are in (a rotated sibling's own path when read there). */
  file: string;
  /** First byte of the line. */
  start: number;
  /** One past the line's last byte, its newline included: the next line's start. Uncompressed, for a `.gz`. */
  end: number;
}

/** One parsed line: a JSON object. */
export interface LogLine extends LineRef {
  value: Record<string, unknown>;
}

/** A line that was not a JSON object (or was too long to hold): counted, never thrown. */
export interface SkippedLine extends LineRef {
  reason: string;
}

/** Where a {@link LineSplitter} puts what it cuts. */
export interface LineSink {
  lines: LogLine[];
  skipped: SkippedLine[];
  /** Bytes the caller may still consume; the splitter counts down every byte it hands out. */
  budget: number;
}

/** Cuts a byte stream into lines, holding at most one partial line (and at most `maxLine` bytes of it). */
export class LineSplitter {
  /** Offset just past the last whole line handed out: what a position may safely record. */
  consumed: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private oversized = false;
  /** Set once the sink's budget ran out: the rest of the chunk is left for the next read. */
  private stopped = false;

  constructor(
    private readonly file: string,
    start: number,
    private readonly maxLine: number,
    private readonly out: LineSink,
  ) {
    this.consumed = start;
  }

  push(chunk: Buffer): void {
    if (this.stopped) return;
    let from = 0;
    if (this.pendingBytes > 0) {
      const nl = chunk.indexOf(10);
      if (nl === -1) return this.hold(chunk);
      this.take(chunk.subarray(0, nl), nl + 1);
      from = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    // The pending line may have spent the budget; with none pending, at least one line is taken (see takeWhole).
    if (last >= from && (from === 0 || this.out.budget > 0)) from = this.takeWhole(chunk, from, last + 1);
    if (this.out.budget <= 0) {
      // Spent: the caller stops here, and what follows is read again by its next call, so none of it is held.
      this.stopped = true;
      return;
    }
    if (from < chunk.length) this.hold(chunk.subarray(from));
  }

  /** At the end of a complete (rotated) file: its last line has no newline and never will. */
  flush(): void {
    if (this.pendingBytes > 0 && !this.stopped) this.take(Buffer.alloc(0), 0);
  }

  /** Keep the start of a line whose newline is not here yet (a copy: the caller reuses its buffer). */
  private hold(rest: Buffer): void {
    if (this.oversized || this.pendingBytes + rest.length > this.maxLine) {
      this.oversized = true;
      this.pending = [];
    } else {
      this.pending.push(Buffer.from(rest));
    }
    this.pendingBytes += rest.length;
  }

  /** The line made of what is pending and `tail`; `tailBytes` counts its newline too. */
  private take(tail: Buffer, tailBytes: number): void {
    const start = this.consumed;
    const end = start + this.pendingBytes + tailBytes;
    const oversized = this.oversized || this.pendingBytes + tail.length > this.maxLine;
    const bytes = oversized ? undefined : this.pending.length === 0 ? tail : Buffer.concat([...this.pending, tail]);
    this.pending = [];
    this.pendingBytes = 0;
    this.oversized = false;
    this.consumed = end;
    this.out.budget -= end - start;
    if (bytes === undefined) this.tooLong(start, end);
    else this.parse(bytes.toString('utf8'), start, end);
  }

  /**
   * Whole lines `chunk[from, to)` (`to` just past a newline), with nothing pending before them. Returns where it
   * stopped: `to`, or earlier when the budget ran out. One decode for the lot when it is ASCII (string indices are
   * then byte offsets), which a JSON log nearly always is; a line at a time through UTF-8 when it is not.
   */
  private takeWhole(chunk: Buffer, from: number, to: number): number {
    const out = this.out;
    const base = this.consumed - from;
    if (isAscii(chunk.subarray(from, to))) {
      const text = chunk.toString('latin1', from, to);
      let at = 0;
      const stop = to - from;
      // At least one line, even on a spent budget: a caller asking for too little still moves on.
      do {
        const nl = text.indexOf('\n', at);
        const start = base + from + at;
        const end = base + from + nl + 1;
        out.budget -= end - start;
        if (nl - at > this.maxLine) this.tooLong(start, end);
        else this.parse(text.slice(at, nl), start, end);
        at = nl + 1;
      } while (at < stop && out.budget > 0);
      this.consumed = base + from + at;
      return from + at;
    }
    let at = from;
    do {
      const nl = chunk.indexOf(10, at);
      const start = base + at;
      const end = base + nl + 1;
      out.budget -= end - start;
      if (nl - at > this.maxLine) this.tooLong(start, end);
      else this.parse(chunk.toString('utf8', at, nl), start, end);
      at = nl + 1;
    } while (at < to && out.budget > 0);
    this.consumed = base + at;
    return at;
  }

  private tooLong(start: number, end: number): void {
    this.out.skipped.push({ file: this.file, start, end, reason: `line longer than ${this.maxLine} bytes` });
  }

  /** One line's text (without its newline) into the sink: a JSON object, a skip, or nothing for a blank line. */
  private parse(text: string, start: number, end: number): void {
    let value: unknown;
    try {
      // Valid JSON needs no trim (JSON.parse allows the whitespace around a value); only a failure is tried again
      // trimmed, for the blank line and for the spaces trim knows and JSON does not (a BOM, a no-break space).
      value = JSON.parse(text);
    } catch {
      const trimmed = text.trim();
      if (trimmed === '') return; // a blank line carries nothing to judge or to count
      try {
        value = JSON.parse(trimmed);
      } catch {
        this.out.skipped.push({ file: this.file, start, end, reason: 'not JSON' });
        return;
      }
    }
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      this.out.lines.push({ file: this.file, start, end, value: value as Record<string, unknown> });
    } else {
      this.out.skipped.push({ file: this.file, start, end, reason: 'not a JSON object' });
    }
  }
}
