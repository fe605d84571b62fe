/**
 * Ingests one pack log from its start in its own process, as the threshold monitor will: `readLogLines` call after
 * call until it says there is no more, every line classified, every event kept in a 60 s window of log time.
 * Its own process, so that its peak memory is its own. Usage: `node monitor-ingest-child.js <file>`.
 * Prints one JSON line ({@link IngestChildOutput}).
 */
import { readFileSync } from 'node:fs';
import { readLogLines } from '../../src/monitor/log-reader.js';
import type { LogPosition } from '../../src/monitor/log-position.js';
import { DEFAULT_LOG_MATCHES, lineClassifier, type LogEvent, type LogEventKind } from '../../src/monitor/pack-events.js';

/** What the child prints. */
export interface IngestChildOutput {
  bytes: number;
  lines: number;
  skipped: number;
  events: number;
  byKind: Partial<Record<LogEventKind, number>>;
  /** Most events the window held at once. */
  windowPeak: number;
  /** readLogLines calls made. */
  reads: number;
  /** The ingestion alone, without the child's start-up. */
  durationMs: number;
  /** CPU time (user + system) of the ingestion: steadier than the wall time on a shared machine. */
  cpuMs: number;
  /** Peak RSS, KiB: `process.resourceUsage().maxRSS`, and VmHWM from /proc when there is one. */
  maxRssKb: number;
  vmHwmKb: number | null;
}

/** The events of the last `spanMs` of log time, oldest first: what a monitor must hold to judge a window. */
class EventWindow {
  private items: LogEvent[] = [];
  private head = 0;
  private newest = -Infinity;
  peak = 0;

  constructor(private readonly spanMs: number) {}

  push(e: LogEvent): void {
    this.items.push(e);
    if (e.time > this.newest) this.newest = e.time;
    const cutoff = this.newest - this.spanMs;
    while (this.head < this.items.length && (this.items[this.head] as LogEvent).time < cutoff) this.head++;
    const size = this.items.length - this.head;
    if (size > this.peak) this.peak = size;
    // Drop the dead front now and then, not on every event: a slice per event would cost more than the reading.
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

function vmHwmKb(): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: monitor-ingest-child.js <file>');
  // Classified as the pack's logs/security.log, whatever the temp file is called.
  const classify = lineClassifier('logs/security.log', { kind: 'pack' }, DEFAULT_LOG_MATCHES);
  const window = new EventWindow(60_000);
  const byKind: Partial<Record<LogEventKind, number>> = {};
  let lines = 0;
  let skipped = 0;
  let events = 0;
  let reads = 0;
  let pos: LogPosition | undefined;
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (;;) {
    const r = await readLogLines(file, pos, { from: 'start' });
    reads++;
    if (!r.ok) throw new Error(r.error.message);
    lines += r.lines.length;
    skipped += r.skipped.length;
    for (const l of r.lines) {
      for (const e of classify(l.value, l)) {
        window.push(e);
        events++;
        byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
      }
    }
    pos = r.position;
    if (!r.more) break;
  }
  const durationMs = performance.now() - started;
  const cpuUsed = process.cpuUsage(cpu);
  const out: IngestChildOutput = {
    bytes: pos.offset,
    lines,
    skipped,
    events,
    byKind,
    windowPeak: window.peak,
    reads,
    durationMs,
    cpuMs: (cpuUsed.user + cpuUsed.system) / 1000,
    maxRssKb: process.resourceUsage().maxRSS,
    vmHwmKb: vmHwmKb(),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
