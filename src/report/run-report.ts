import type { KeptMark, Plan } from '../model/types.js';
import type { RunOutcome } from '../engine/executor.js';
import type { Decision } from '../monitor/decision-log.js';

/** Schema of `rollback_reports/<run-id>.json`. Stable: other tools read it. */
export interface RunReport {
  version: 1;
  runId: string;
  /** What kind of run this was. */
  operation: 'rollback' | 'restore';
  status: RunOutcome['status'];
  exitCode: number;
  who: { user: string; host: string; pid: number };
  when: { startedAt: string; finishedAt: string; durationMs: number };
  why: { reason: string; trigger: Plan['trigger'] };
  /** The command line as typed (argv after the program), for the record. */
  command: string[];
  root: string;
  plan: Plan;
  stories: RunOutcome['stories'];
  warnings: string[];
  /** The exact commands that undo this run, one per story that changed. */
  undo: Array<{ story: string; command: string }>;
  /** Paths of this report, relative to the root. */
  files: { json: string; markdown: string };
  /** Set when this run was interrupted and then finished (`resume`) or undone (`abort`). */
  recovery?: {
    mode: 'resume' | 'abort';
    /** The last thing the journal recorded before the interruption. */
    interruptedAfter: string;
    /** The interrupted run's own command line. */
    originalCommand: string[];
    /** Plugins the run loaded that changed since (`--force` went on with them as they are now): was, now (null: gone). */
    pluginsChanged?: Array<{ file: string; was: string; now: string | null }>;
  };
  /** Set when the monitor started this run: its decision, with the rule, threshold and samples that counted. */
  monitor?: Decision;
  /**
   * A rollback's data left in place by the stories it rolled back: backed up (in `backup`, relative to the root)
   * and not removed, each with why and what kept it (`story`: the story keeps it, `--purge-data` removes it;
   * `keep-data`: the run's `--keep-data`). Absent: nothing kept.
   */
  keptData?: KeptDataRecord[];
}

/** One path a rollback left in place: see RunReport.keptData. */
export interface KeptDataRecord {
  story: string;
  path: string;
  why: string;
  by: KeptMark['by'];
  files: number;
  bytes: number;
  backup: string | null;
}
