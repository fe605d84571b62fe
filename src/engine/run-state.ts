import path from 'node:path';
import { InvalidInputError } from '../model/errors.js';
import { interruptedRuns, readJournal, type JournalRecord } from './journal.js';
import type { Plan } from '../model/types.js';

/** Where one step of an interrupted run stands, by the last journal record about it. */
export type StepState =
  | { status: 'not-started' }
  /** Intent written, no result: the crash came while it ran. */
  | { status: 'in-progress'; saved: unknown[] }
  | { status: 'done'; result: unknown }
  /** It threw; its own undo may have been cut short too. */
  | { status: 'failed'; saved: unknown[]; error: string }
  | { status: 'reverted'; result: unknown }
  | { status: 'revert-failed'; result: unknown; error: string };

/**
 * True when a story's steps show it was being reverted (a step failed, or undo had begun) when the run
 * stopped: finishing such a story is finishing its revert, whether by resume or by abort.
 */
export function wasReverting(states: readonly StepState[]): boolean {
  return states.some((st) => st.status === 'failed' || st.status === 'reverted' || st.status === 'revert-failed');
}

/** An interrupted run as its journal tells it: the plan, how it was asked for, and every step's state. */
export interface RunState {
  runId: string;
  file: string;
  plan: Plan;
  continueOnError: boolean;
  command: string[];
  /** What a rollback was asked to take (`all`, `1.3`, …) and whether with `--cascade`; absent in older journals. */
  rollback?: { ids: string; cascade: boolean };
  /** Set when a recovery already began: `abort` cannot be turned into `resume` half-way. */
  recovering: 'resume' | 'abort' | null;
  /** Per story id, one state per action of the plan's story, in order. */
  steps: Map<string, StepState[]>;
  /** For people: the last thing the journal says happened. */
  lastRecord: string;
}

/** The request as `run-start` records it (older journals lack it). */
interface StartDetail {
  plan?: Plan;
  request?: { continueOnError?: boolean; command?: string[]; rollback?: { ids: string; cascade: boolean } };
}

/**
 * Folds a run's journal into the state of each step. The last record about a step wins, except that a
 * step's result is kept after it is reverted (a later undo of other steps may need it).
 */
export function readRunState(stateDir: string, runId: string): RunState {
  const file = path.join(stateDir, 'journal', `${runId}.jsonl`);
  let records: JournalRecord[];
  try {
    records = readJournal(file);
  } catch (err) {
    throw new InvalidInputError(`no journal for run ${runId} (${file})`, { code: 'E_NO_RUN', cause: err });
  }
  const start = records.find((r) => r.event === 'run-start')?.detail as StartDetail | undefined;
  // The last plan journaled: the whole plan replaces the kill switch's once the disk was measured.
  const planned = records.filter((r) => r.event === 'plan').at(-1)?.detail as { plan?: Plan } | undefined;
  const plan = planned?.plan ?? start?.plan;
  if (!plan || !Array.isArray(plan.stories)) {
    throw new InvalidInputError(`${file}: the journal has no plan (run-start record); nothing of run ${runId} can be finished or undone`, {
      file,
      code: 'E_JOURNAL',
    });
  }
  const steps = new Map(plan.stories.map((s) => [s.id, s.actions.map((): StepState => ({ status: 'not-started' }))]));
  // Every checkpoint of a step, across the run and its recoveries: the first says what the step found
  // before it changed anything, later ones what a resume added.
  const saved = new Map<string, unknown[]>();
  const results = new Map<string, unknown>();
  let recovering: RunState['recovering'] = null;
  for (const r of records) {
    if (r.event === 'recovery-start') {
      const mode = (r.detail as { mode?: string } | undefined)?.mode;
      // Once an abort began, the run can only be aborted; a resume may still turn into an abort.
      if (mode === 'abort' || (mode === 'resume' && recovering === null)) recovering = mode;
      continue;
    }
    if (r.story === undefined) continue;
    const list = steps.get(r.story);
    const story = plan.stories.find((s) => s.id === r.story);
    if (!list || !story) continue;
    // Journals written before steps were numbered: the first action of that kind.
    const idx = typeof r.step === 'number' ? r.step : story.actions.findIndex((a) => a.kind === r.kind);
    if (idx < 0 || idx >= list.length) continue;
    const key = `${r.story}#${idx}`;
    switch (r.event) {
      case 'intent':
        list[idx] = { status: 'in-progress', saved: saved.get(key) ?? [] };
        break;
      case 'progress': {
        const all = [...(saved.get(key) ?? []), r.detail];
        saved.set(key, all);
        list[idx] = { status: 'in-progress', saved: all };
        break;
      }
      case 'done':
        results.set(key, r.detail);
        list[idx] = { status: 'done', result: r.detail };
        break;
      case 'failed':
        list[idx] = { status: 'failed', saved: saved.get(key) ?? [], error: String(r.detail ?? '') };
        break;
      case 'reverted':
        list[idx] = { status: 'reverted', result: results.get(key) };
        break;
      case 'revert-failed':
        list[idx] = { status: 'revert-failed', result: results.get(key), error: String(r.detail ?? '') };
        break;
      default:
        break;
    }
  }
  const last = records.at(-1);
  return {
    runId,
    file,
    plan,
    continueOnError: start?.request?.continueOnError === true,
    command: start?.request?.command ?? [],
    ...(start?.request?.rollback ? { rollback: start.request.rollback } : {}),
    recovering,
    steps,
    lastRecord: last ? `${last.event}${last.story ? ` ${last.story}` : ''}${last.kind ? ` ${last.kind}` : ''} at ${last.at}` : 'nothing',
  };
}

/**
 * The interrupted run to recover: the one named, or the only one. Several and none named is a usage
 * error that lists them (which one to finish first is the user's call).
 */
export function pickInterruptedRun(stateDir: string, runId: string | undefined, holder: string | null): string {
  const runs = interruptedRuns(stateDir).filter((id) => id !== holder);
  if (runId !== undefined) {
    if (!runs.includes(runId)) {
      throw new InvalidInputError(`run ${runId} is not an interrupted run${runs.length > 0 ? `; interrupted: ${runs.join(', ')}` : ' (none is)'}`, {
        code: 'E_NO_RUN',
      });
    }
    return runId;
  }
  if (runs.length === 0) throw new InvalidInputError('no interrupted run: nothing to resume or abort', { code: 'E_NO_RUN' });
  if (runs.length > 1) throw new InvalidInputError(`several interrupted runs (${runs.join(', ')}): name one`, { code: 'E_NO_RUN' });
  return runs[0] as string;
}
