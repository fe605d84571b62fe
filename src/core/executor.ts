import { ExitCode, messageOf, RevertFailedError, type ExitCodeValue } from './errors.js';
import type { Journal } from './journal.js';
import type { Plan, PlannedAction, StoryPlan } from './types.js';
import type { ActionHandler, RunContext } from '../actions/action.js';
import { handlerFor } from '../actions/index.js';

/** What happened to one step. */
export interface StepRecord {
  kind: PlannedAction['kind'];
  description: string;
  status: 'done' | 'failed' | 'reverted' | 'revert-failed' | 'skipped';
  startedAt: string;
  durationMs: number;
  result?: unknown;
  error?: string;
  /** What the undo did or could not do (e.g. services are not restarted). */
  revertNote?: string;
}

/** What happened to one story. */
export interface StoryOutcome {
  id: string;
  feature: string;
  status: 'rolled-back' | 'restored' | 'not-installed' | 'reverted' | 'revert-failed' | 'skipped';
  why: string;
  steps: StepRecord[];
  error?: string;
  backup?: { id: string; path: string; files: number; bytes: number; verified: boolean };
  warnings: string[];
}

/** The outcome of a run; `exitCode` is what the CLI exits with. */
export interface RunOutcome {
  status: 'rolled-back' | 'restored' | 'nothing-to-do' | 'failed' | 'revert-failed';
  exitCode: ExitCodeValue;
  stories: StoryOutcome[];
  startedAt: string;
  finishedAt: string;
}

/** Progress events, for the terminal renderer and the logs; the engine never prints. */
export type ExecEvent =
  | { type: 'story-start'; story: StoryPlan }
  | { type: 'step-start'; story: StoryPlan; kind: string; description: string }
  | { type: 'step-end'; story: StoryPlan; record: StepRecord }
  | { type: 'revert-start'; story: StoryPlan; error: string }
  | { type: 'story-end'; story: StoryPlan; outcome: StoryOutcome };

/** Options of one execution. */
export interface ExecOptions {
  continueOnError: boolean;
  journal: Journal;
  onEvent?: (e: ExecEvent) => void;
}

/**
 * Applies a plan, story by story in plan order (dependents first). Each step is journaled before and after.
 * When a step fails, the story's finished steps are reverted in reverse order, and the run stops — unless
 * `continueOnError`, in which case the stories the failed one depends on are skipped (it still needs them)
 * and the others go on.
 */
export async function executePlan(baseCtx: Omit<RunContext, 'results'>, plan: Plan, opts: ExecOptions): Promise<RunOutcome> {
  const startedAt = new Date().toISOString();
  const emit = opts.onEvent ?? (() => undefined);
  const success = plan.operation === 'restore' ? 'restored' : 'rolled-back';
  const outcomes: StoryOutcome[] = [];
  const skip = new Map<string, string>();
  let stop = false;
  // The whole plan goes in the journal, so that an interrupted run can be understood (and finished or
  // undone) from the journal alone.
  opts.journal.write({ event: 'run-start', detail: { plan } });

  for (const story of plan.stories) {
    const base = { id: story.id, feature: story.feature, why: story.why, steps: [] as StepRecord[], warnings: [...story.warnings] };
    if (stop || skip.has(story.id)) {
      const why = stop ? 'an earlier story failed' : (skip.get(story.id) as string);
      outcomes.push({ ...base, status: 'skipped', error: why });
      continue;
    }
    if (!story.installed) {
      outcomes.push({ ...base, status: 'not-installed' });
      continue;
    }
    emit({ type: 'story-start', story });
    const ctx: RunContext = { ...baseCtx, results: new Map() };
    const outcome = await runStory(ctx, story, base, opts.journal, emit, success);
    outcomes.push(outcome);
    emit({ type: 'story-end', story, outcome });
    if (outcome.status === success) continue;
    if (!opts.continueOnError || outcome.status === 'revert-failed') {
      stop = true;
      continue;
    }
    for (const dep of dependenciesInPlan(plan, story)) skip.set(dep, `${story.id} failed and still needs it`);
  }

  const revertFailed = outcomes.some((o) => o.status === 'revert-failed');
  const anyWork = outcomes.some((o) => o.status !== 'not-installed');
  const status: RunOutcome['status'] = revertFailed
    ? 'revert-failed'
    : outcomes.some((o) => o.status === 'reverted' || o.status === 'skipped')
      ? 'failed'
      : anyWork
        ? success
        : 'nothing-to-do';
  const exitCode = revertFailed ? ExitCode.failedUnreverted : status === 'failed' ? ExitCode.failedReverted : ExitCode.ok;
  const finishedAt = new Date().toISOString();
  opts.journal.write({ event: 'run-end', detail: { status } });
  return { status, exitCode, stories: outcomes, startedAt, finishedAt };
}

/** Stories later in the plan that this story depends on (the plan lists dependents first). */
function dependenciesInPlan(plan: Plan, story: StoryPlan): string[] {
  const idx = plan.stories.indexOf(story);
  return plan.stories.slice(idx + 1).filter((later) => story.dependencies.includes(later.id)).map((s) => s.id);
}

async function runStory(
  ctx: RunContext,
  story: StoryPlan,
  base: Omit<StoryOutcome, 'status'>,
  journal: Journal,
  emit: (e: ExecEvent) => void,
  success: 'rolled-back' | 'restored',
): Promise<StoryOutcome> {
  const done: Array<{ handler: ActionHandler; action: PlannedAction; record: StepRecord; result: unknown }> = [];
  const steps = base.steps;
  for (const action of story.actions) {
    const handler = handlerFor(action.kind);
    const description = handler.describe(action);
    const startedAt = new Date();
    emit({ type: 'step-start', story, kind: action.kind, description });
    journal.write({ event: 'intent', story: story.id, kind: action.kind, detail: description });
    try {
      const result = await handler.apply(ctx, story, action);
      ctx.results.set(action.kind, result);
      const record: StepRecord = { kind: action.kind, description, status: 'done', startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), result };
      journal.write({ event: 'done', story: story.id, kind: action.kind, detail: result });
      steps.push(record);
      done.push({ handler, action, record, result });
      emit({ type: 'step-end', story, record });
    } catch (err) {
      const error = messageOf(err);
      const record: StepRecord = { kind: action.kind, description, status: 'failed', startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), error };
      journal.write({ event: 'failed', story: story.id, kind: action.kind, detail: error });
      steps.push(record);
      emit({ type: 'step-end', story, record });
      emit({ type: 'revert-start', story, error });
      // A step that could not undo its own partial work says so with RevertFailedError: nothing else can fix it.
      const ownRevertFailed = err instanceof RevertFailedError;
      if (ownRevertFailed) record.status = 'revert-failed';
      const revertError = (await revertAll(ctx, story, done, journal)) ?? (ownRevertFailed ? error : null);
      for (const action2 of story.actions.slice(story.actions.indexOf(action) + 1)) {
        const h = handlerFor(action2.kind);
        steps.push({ kind: action2.kind, description: h.describe(action2), status: 'skipped', startedAt: new Date().toISOString(), durationMs: 0 });
      }
      const backup = backupOf(done);
      return {
        ...base,
        status: revertError ? 'revert-failed' : 'reverted',
        error: revertError ? `${error}; revert failed: ${revertError}` : error,
        ...(backup ? { backup } : {}),
      };
    }
  }
  const backup = backupOf(done);
  return { ...base, status: success, ...(backup ? { backup } : {}) };
}

async function revertAll(
  ctx: RunContext,
  story: StoryPlan,
  done: Array<{ handler: ActionHandler; action: PlannedAction; record: StepRecord; result: unknown }>,
  journal: Journal,
): Promise<string | null> {
  let firstError: string | null = null;
  for (const step of [...done].reverse()) {
    try {
      const note = await step.handler.revert(ctx, story, step.action, step.result);
      step.record.status = 'reverted';
      if (note) step.record.revertNote = note;
      journal.write({ event: 'reverted', story: story.id, kind: step.action.kind, detail: note ?? null });
    } catch (err) {
      // Keep going: undo as much as possible, then report loudly what is left.
      const e = new RevertFailedError(`revert of ${step.action.kind} failed: ${messageOf(err)}`, { cause: err });
      step.record.status = 'revert-failed';
      step.record.revertNote = e.message;
      journal.write({ event: 'revert-failed', story: story.id, kind: step.action.kind, detail: e.message });
      firstError ??= e.message;
    }
  }
  return firstError;
}

/** The backup a story's run wrote (rollback) or read (restore), for the report and the undo command. */
function backupOf(done: Array<{ action: PlannedAction; result: unknown }>): StoryOutcome['backup'] | undefined {
  for (const d of done) {
    if (d.action.kind === 'backup') {
      const r = d.result as { verified?: boolean };
      return { id: d.action.backupId, path: d.action.destination, files: d.action.files, bytes: d.action.bytes, verified: r.verified === true };
    }
    if (d.action.kind === 'restore-files') {
      return { id: d.action.backupId, path: d.action.backupDir, files: d.action.files, bytes: d.action.bytes, verified: true };
    }
  }
  return undefined;
}
