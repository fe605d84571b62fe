import { closeSync, fsyncSync, ftruncateSync, fstatSync, mkdirSync, openSync, readSync, writeSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * One line of a run's journal. `intent` is written before a step, `done`/`failed`/`reverted` after;
 * `progress` is what a step records before it changes anything (what an undo of its partial work needs);
 * `recovery-start` opens a `resume` or `abort` of the same run, appended to the same journal; `plan` replaces
 * the plan of `run-start` when that was the kill switch's alone (see `Plan.upFrontOnly`).
 */
export interface JournalRecord {
  at: string;
  runId: string;
  event: 'run-start' | 'plan' | 'intent' | 'progress' | 'done' | 'failed' | 'reverted' | 'revert-failed' | 'recovery-start' | 'run-end';
  story?: string;
  kind?: string;
  /** The step's index in its story's actions (a story may hold two steps of one kind). */
  step?: number;
  detail?: unknown;
}

/**
 * An append-only, fsynced JSON-lines journal per run, so that a crash at any instant leaves a record of
 * what was intended and what was finished. Sync writes on purpose: the record must be on disk before the
 * step it announces begins.
 */
export class Journal {
  readonly file: string;
  private fd: number | null = null;

  constructor(stateDir: string, readonly runId: string) {
    this.file = path.join(stateDir, 'journal', `${runId}.jsonl`);
  }

  private written = 0;

  /**
   * Appends one record and fsyncs it. With `sync: false` the fsync is left to the next synced record,
   * which puts both on disk in order: for records written back to back before one change (the kill
   * switch's intents and checkpoints, one per story), where only the last must be on disk before it.
   */
  write(rec: Omit<JournalRecord, 'at' | 'runId'>, opts: { sync?: boolean } = {}): void {
    if (this.fd === null) {
      mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      this.fd = openSync(this.file, 'a+', 0o600);
      // A run killed mid-write leaves a torn last line; a recovery appends after it, so cut it first.
      dropTornTail(this.fd);
    }
    // A backup's manifest head (flag snapshot, shared-file records, the files of every Python package)
    // already sits, fsynced, in its backup folder: the journal names the backup instead of repeating it.
    const line = JSON.stringify({ at: new Date().toISOString(), runId: this.runId, ...rec }, (k, v: unknown) => (k === 'manifest' ? undefined : v));
    writeSync(this.fd, `${line}\n`);
    if (opts.sync !== false) fsyncSync(this.fd);
    this.written++;
    if (this.written === CRASH_AFTER) process.kill(process.pid, 'SIGKILL');
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * Fault injection for the crash tests: `ROLLBACK_MANAGER_CRASH_AFTER=n` kills the process (SIGKILL, as
 * `kill -9` would) right after its n-th journal record is on disk, i.e. at an exact step boundary.
 */
const CRASH_AFTER = Number(process.env.ROLLBACK_MANAGER_CRASH_AFTER ?? 0) || -1;

/** Truncates a file opened for appending to its last newline: what follows it is a torn record. */
function dropTornTail(fd: number): void {
  const size = fstatSync(fd).size;
  if (size === 0) return;
  const tail = Buffer.alloc(Math.min(size, 1 << 16));
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - tail.length);
    const n = readSync(fd, tail, 0, end - start, start);
    const nl = tail.subarray(0, n).lastIndexOf(0x0a);
    if (nl >= 0) {
      if (start + nl + 1 < size) ftruncateSync(fd, start + nl + 1);
      return;
    }
    end = start;
  }
  ftruncateSync(fd, 0);
}

/** Reads a journal back; a torn line (crash mid-write) is skipped. */
export function readJournal(file: string): JournalRecord[] {
  const out: JournalRecord[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as JournalRecord);
    } catch {
      continue;
    }
  }
  return out;
}

/** Runs whose journal has no `run-end`: a crash or kill interrupted them. */
export function interruptedRuns(stateDir: string): string[] {
  const dir = path.join(stateDir, 'journal');
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.jsonl'));
  } catch {
    return [];
  }
  return names
    .filter((n) => !readJournal(path.join(dir, n)).some((r) => r.event === 'run-end'))
    .map((n) => n.replace(/\.jsonl$/, ''))
    .sort();
}
