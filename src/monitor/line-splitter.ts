/**
 * Cutting a log's bytes into JSON lines, chunk by chunk, holding at most one partial line: the part of the reader
 * that keeps its memory flat whatever the size of the log.
 */

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

  constructor(
    private readonly file: string,
    start: number,
    private readonly maxLine: number,
    private readonly out: LineSink,
  ) {
    this.consumed = start;
  }

  push(chunk: Buffer): void {
    let from = 0;
    for (let nl = chunk.indexOf(10, from); nl !== -1; nl = chunk.indexOf(10, from)) {
      this.take(chunk.subarray(from, nl), nl + 1 - from);
      from = nl + 1;
    }
    const rest = chunk.subarray(from);
    if (rest.length === 0) return;
    if (this.oversized || this.pendingBytes + rest.length > this.maxLine) {
      this.oversized = true;
      this.pending = [];
    } else {
      this.pending.push(Buffer.from(rest));
    }
    this.pendingBytes += rest.length;
  }

  /** At the end of a complete (rotated) file: its last line has no newline and never will. */
  flush(): void {
    if (this.pendingBytes > 0) this.take(Buffer.alloc(0), 0);
  }

  private take(tail: Buffer, tailBytes: number): void {
    const start = this.consumed;
    const end = start + this.pendingBytes + tailBytes;
    const ref = { file: this.file, start, end };
    const oversized = this.oversized || this.pendingBytes + tail.length > this.maxLine;
    const bytes = oversized ? undefined : this.pending.length === 0 ? tail : Buffer.concat([...this.pending, tail]);
    this.pending = [];
    this.pendingBytes = 0;
    this.oversized = false;
    this.consumed = end;
    this.out.budget -= end - start;
    if (bytes === undefined) {
      this.out.skipped.push({ ...ref, reason: `line longer than ${this.maxLine} bytes` });
      return;
    }
    const text = bytes.toString('utf8').trim();
    if (text === '') return; // a blank line carries nothing to judge or to count
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.out.skipped.push({ ...ref, reason: 'not JSON' });
      return;
    }
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      this.out.lines.push({ ...ref, value: value as Record<string, unknown> });
    } else {
      this.out.skipped.push({ ...ref, reason: 'not a JSON object' });
    }
  }
}
