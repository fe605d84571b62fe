import { closeSync, fsyncSync, mkdirSync, openSync, writeSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** One line of a run's journal. `intent` is written before a step, `done`/`failed`/`reverted` after. */
export interface JournalRecord {
  at: string;
  runId: string;
  event: 'run-start' | 'intent' | 'done' | 'failed' | 'reverted' | 'revert-failed' | 'run-end';
  story?: string;
  kind?: string;
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

  /** Appends one record and fsyncs it. */
  write(rec: Omit<JournalRecord, 'at' | 'runId'>): void {
    if (this.fd === null) {
      mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      this.fd = openSync(this.file, 'a', 0o600);
    }
    // A backup's manifest can hold tens of thousands of entries and already sits, fsynced, in its backup
    // folder: the journal names the backup instead of repeating it on every record.
    const line = JSON.stringify({ at: new Date().toISOString(), runId: this.runId, ...rec }, (k, v: unknown) => (k === 'manifest' ? undefined : v));
    writeSync(this.fd, `${line}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** Reads a journal back; a torn last line (crash mid-write) is ignored. */
export function readJournal(file: string): JournalRecord[] {
  const out: JournalRecord[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as JournalRecord);
    } catch {
      break;
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
