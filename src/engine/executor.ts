import { ExitCode, messageOf, RevertFailedError, type ExitCodeValue } from '../model/errors.js';
import type { Journal } from './journal.js';
import { wasReverting, type StepState } from './run-state.js';
import type { Plan, PlannedStep, StoryPlan } from '../model/types.js';
import type { AnyStep, RunContext, RunEnvironment, StepAudit } from '../steps/step.js';
import { stepFor } from '../steps/registry.js';
import { StoryContext } from './story-context.js';

/** What happened to one step. */
export interface StepRecord {
  kind: string;
  /** Its index in the story's plan (reports before this field: find the step by kind). */
  step?: number;
  description: string;
  status: 'done' | 'failed' | 'reverted' | 'revert-failed' | 'skipped';
  startedAt: string;
  durationMs: number;
  result?: unknown;
  error?: string;
  /** What the undo did or could not do (e.g. services are not restarted). */
  revertNote?: string;
  /** Set when the step was finished before an interruption (resume), or by a recovery. */
  note?: string;
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
  /**
   * `reverted`: an interrupted run undone on request (`abort`). `interrupted`: stopped by a signal after a
   * step; the story in progress was reverted and the stories not reached left as they were.
   */
  status: 'rolled-back' | 'restored' | 'nothing-to-do' | 'failed' | 'revert-failed' | 'reverted' | 'interrupted';
  exitCode: ExitCodeValue;
  stories: StoryOutcome[];
  startedAt: string;
  finishedAt: string;
  /** The plan the run carried out, when it is not the one it began with (an up-front-only plan). */
  plan?: Plan;
}

/** Progress events, for the terminal renderer and the logs; the engine never prints. */
export type ExecEvent =
  | { type: 'story-start'; story: StoryPlan }
  | { type: 'step-start'; story: StoryPlan; kind: string; description: string }
  /** `audit`: what the step asks the run to record in the audit log (only when it ran in this process). */
  | { type: 'step-end'; story: StoryPlan; record: StepRecord; audit?: StepAudit[] }
  | { type: 'revert-start'; story: StoryPlan; error: string }
  | { type: 'story-end'; story: StoryPlan; outcome: StoryOutcome };

/** Options of one execution. */
export interface ExecOptions {
  continueOnError: boolean;
  journal: Journal;
  onEvent?: (e: ExecEvent) => void;
  /** The command as typed, kept in the journal so a resume knows how the run was asked for. */
  command?: string[];
  /** Resuming an interrupted run: each story's step states, from its journal. */
  resumeFrom?: Map<string, StepState[]>;
  /**
   * Aborted by the CLI on SIGINT/SIGTERM: the run stops at the next step boundary, reverts the story in
   * progress like a failed one, and leaves the stories it has not reached as they were.
   */
  signal?: AbortSignal;
  /** What a rollback was asked to take, kept in the journal so a resume can plan what the kill switch left. */
  rollback?: { ids: string; cascade: boolean };
  /**
   * The kill switch already ran ({@link beginUpFront}) with the journal's first, up-front-only plan: this
   * plan replaces it (a `plan` record) and the run goes on from there.
   */
  upFront?: UpFront;
  /** Journal this plan as a `plan` record: a resume that planned what an up-front-only plan left. */
  planRecord?: boolean;
  /** Why the run must not go on (the rest could not be planned): every story is put back as it was. */
  refuse?: string;
}

type Done = Array<{ step: AnyStep; index: number; action: PlannedStep; record: StepRecord; result: unknown }>;

/**
 * Applies a plan, story by story in plan order (dependents first). Each step is journaled before and after.
 * When a step fails, the story's finished steps are reverted in reverse order, and the run stops — unless
 * `continueOnError`, in which case the stories the failed one depends on are skipped (it still needs them)
 * and the others go on.
 */
export async function executePlan(env: RunEnvironment, plan: Plan, opts: ExecOptions): Promise<RunOutcome> {
  const startedAt = new Date().toISOString();
  const emit = opts.onEvent ?? (() => undefined);
  const success = plan.operation === 'restore' ? 'restored' : 'rolled-back';
  const outcomes: StoryOutcome[] = [];
  const skip = new Map<string, string>();
  /** Why the run stops taking stories: set by a failure (without --continue-on-error) or the up-front phase. */
  let stopWhy: string | null = null;
  // The whole plan goes in the journal, so that an interrupted run can be understood (and finished or
  // undone) from the journal alone.
  if (opts.resumeFrom) opts.journal.write({ event: 'recovery-start', detail: { mode: 'resume', pid: process.pid } });
  else if (!opts.upFront) writeRunStart(plan, opts);
  if (opts.upFront || opts.planRecord) opts.journal.write({ event: 'plan', detail: { plan } });

  const first = opts.upFront ?? (await applyUpFront(env, plan, opts, emit));
  if (first.error !== null) stopWhy = first.error;
  if (opts.refuse !== undefined) stopWhy ??= opts.refuse;
  const interruption = (): string | null => (opts.signal?.aborted ? `interrupted by ${String(opts.signal.reason ?? 'a signal')}` : null);

  for (const story of plan.stories) {
    const base = { id: story.id, feature: story.feature, why: story.why, steps: [] as StepRecord[], warnings: [...story.warnings] };
    const ctx = new StoryContext(env, story, opts.journal);
    const prior = mergePrior(story, opts.resumeFrom?.get(story.id), first.states.get(story.id));
    if ([...(first.states.get(story.id)?.values() ?? [])].some((st) => st.status === 'failed')) {
      outcomes.push(await undoStory(ctx, story, { ...base, error: first.error ?? '' }, prior ?? [], opts.journal, 'failed-first'));
      continue;
    }
    const interrupted = interruption();
    if (stopWhy !== null || skip.has(story.id) || interrupted) {
      const why = stopWhy ?? interrupted ?? (skip.get(story.id) as string);
      // What the run did for it up front (its flags) goes back: a story the run does not finish is left as it was.
      outcomes.push(await undoStory(ctx, story, { ...base, error: why }, prior ?? [], opts.journal, 'skipped'));
      continue;
    }
    if (!story.installed) {
      outcomes.push({ ...base, status: 'not-installed' });
      continue;
    }
    emit({ type: 'story-start', story });
    const outcome = !prior
      ? await runStory(ctx, story, base, opts.journal, emit, success, undefined, undefined, interruption)
      : wasReverting(prior)
        ? // It was being reverted when the run stopped: finishing the run is finishing that.
          await undoStory(ctx, story, base, prior, opts.journal)
        : await runStory(ctx, story, base, opts.journal, emit, success, prior, doneFirst(first.states.get(story.id)), interruption);
    outcomes.push(outcome);
    emit({ type: 'story-end', story, outcome });
    if (outcome.status === success) continue;
    const byInterruption = interruption();
    if (byInterruption !== null && outcome.error === byInterruption) {
      stopWhy = byInterruption;
      continue;
    }
    if (!opts.continueOnError || outcome.status === 'revert-failed') {
      stopWhy = 'an earlier story failed';
      continue;
    }
    for (const dep of dependenciesInPlan(plan, story)) skip.set(dep, `${story.id} failed and still needs it`);
  }

  const revertFailed = outcomes.some((o) => o.status === 'revert-failed');
  const anyWork = outcomes.some((o) => o.status !== 'not-installed');
  const interrupted = interruption() !== null && outcomes.some((o) => o.status === 'reverted' || o.status === 'skipped');
  const status: RunOutcome['status'] = revertFailed
    ? 'revert-failed'
    : interrupted
      ? 'interrupted'
      : outcomes.some((o) => o.status === 'reverted' || o.status === 'skipped')
      ? 'failed'
      : anyWork
        ? success
        : 'nothing-to-do';
  const exitCode = revertFailed
    ? ExitCode.failedUnreverted
    : status === 'interrupted'
      ? ExitCode.interrupted
      : status === 'failed'
        ? ExitCode.failedReverted
        : ExitCode.ok;
  const finishedAt = new Date().toISOString();
  // No run-end here: the caller writes it once the report is on disk, so that a kill before the report
  // leaves a run that is still interrupted (and gets its report from resume), never one without a report.
  return { status, exitCode, stories: outcomes, startedAt, finishedAt };
}

function writeRunStart(plan: Plan, opts: ExecOptions, sync = true): void {
  const request = { continueOnError: opts.continueOnError, command: opts.command ?? [], ...(opts.rollback ? { rollback: opts.rollback } : {}) };
  opts.journal.write({ event: 'run-start', detail: { plan, request } }, { sync });
}

/**
 * The kill switch of a `--force` rollback, before the rest is planned: journals the up-front-only plan
 * (`Plan.upFrontOnly`) and applies its steps for every story at once. The whole plan then goes to
 * {@link executePlan} with what this returns, and replaces this one in the journal.
 */
export async function beginUpFront(env: RunEnvironment, plan: Plan, opts: ExecOptions): Promise<UpFront> {
  // Synced with the switch's checkpoints, just before its one write: one fsync fewer before the flags go off.
  writeRunStart(plan, opts, false);
  return applyUpFront(env, plan, opts, opts.onEvent ?? (() => undefined));
}

/** What the up-front phase did: the state of each step it ran, by story id and step index, and why it failed. */
export interface UpFront {
  states: Map<string, Map<number, StepState>>;
  /** Set when the shared apply threw: its stories' steps are then `failed` in `states`. */
  error: string | null;
}

/**
 * Applies, before any story's turn, the steps that are made for the whole run at once (the kill switch:
 * every flag of the run off in one write). Each story's step is journaled as usual: intent before, result
 * after, its checkpoints under it. A step an earlier process left in progress (resume) is finished here
 * too, one story at a time. If the shared apply throws, whatever part of it happened is salvaged and
 * reverted story by story, and the run stops before any story's own work.
 */
async function applyUpFront(env: RunEnvironment, plan: Plan, opts: ExecOptions, emit: (e: ExecEvent) => void): Promise<UpFront> {
  const out: UpFront = { states: new Map(), error: null };
  if (opts.signal?.aborted) return out; // interrupted before anything changed: the stories see it and skip
  const byKind = new Map<AnyStep, Array<{ story: StoryPlan; index: number; action: PlannedStep; ctx: RunContext; saved: unknown[] }>>();
  for (const story of plan.stories) {
    if (!story.installed) continue;
    const prior = opts.resumeFrom?.get(story.id);
    if (prior && wasReverting(prior)) continue;
    for (const [index, action] of story.actions.entries()) {
      const step = stepFor(action);
      if (!step.applyFirst) continue;
      const state = prior?.[index] ?? { status: 'not-started' };
      if (state.status === 'done') continue;
      const journaled = new StoryContext(env, story, opts.journal).at(index, true);
      if (state.status === 'in-progress') {
        // A crash inside the shared write: the file tells which changes were made; finish per story.
        const result = await resumeStep(step, journaled, story, action, state.saved);
        opts.journal.write({ event: 'done', story: story.id, kind: action.kind, step: index, detail: result });
        setState(out, story.id, index, { status: 'done', result });
        continue;
      }
      // Its checkpoints are kept here too: if the shared apply throws, they say what to salvage.
      const saved: unknown[] = [];
      const ctx: RunContext = { ...journaled, checkpoint: (detail, o) => { saved.push(detail); journaled.checkpoint(detail, o); } };
      byKind.set(step, [...(byKind.get(step) ?? []), { story, index, action, ctx, saved }]);
    }
  }
  for (const [step, items] of byKind) {
    const startedAt = new Date();
    for (const it of items) {
      const description = step.describe(it.action);
      emit({ type: 'step-start', story: it.story, kind: it.action.kind, description });
      // Not fsynced one by one: the step's checkpoints, synced before its change, put these on disk first.
      opts.journal.write({ event: 'intent', story: it.story.id, kind: it.action.kind, step: it.index, detail: description }, { sync: false });
    }
    try {
      const results = await (step.applyFirst as NonNullable<AnyStep['applyFirst']>)(items);
      items.forEach((it, n) => {
        const result = results[n];
        opts.journal.write({ event: 'done', story: it.story.id, kind: it.action.kind, step: it.index, detail: result }, { sync: n === items.length - 1 });
        setState(out, it.story.id, it.index, { status: 'done', result });
        const record: StepRecord = { kind: it.action.kind, step: it.index, description: step.describe(it.action), status: 'done', startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), result, note: FIRST_NOTE };
        emit({ type: 'step-end', story: it.story, record, ...(step.audit ? { audit: step.audit(it.action, result) } : {}) });
      });
    } catch (err) {
      out.error = `${step.describe(items[0]?.action as PlannedStep)} failed: ${messageOf(err)}`;
      for (const it of items) {
        opts.journal.write({ event: 'failed', story: it.story.id, kind: it.action.kind, step: it.index, detail: messageOf(err) });
        setState(out, it.story.id, it.index, { status: 'failed', saved: it.saved, error: messageOf(err) });
      }
      break;
    }
  }
  return out;
}

const FIRST_NOTE = 'done first, for every story of the run at once';

function setState(out: UpFront, story: string, index: number, state: StepState): void {
  const m = out.states.get(story) ?? new Map<number, StepState>();
  m.set(index, state);
  out.states.set(story, m);
}

/**
 * A story's step states as its turn sees them: those of an interrupted run (resume), overlaid with the
 * steps the up-front phase ran. Undefined when neither applies (a fresh story, nothing done yet).
 */
function mergePrior(story: StoryPlan, prior: StepState[] | undefined, first: Map<number, StepState> | undefined): StepState[] | undefined {
  if (!first || first.size === 0) return prior;
  return story.actions.map((_a, i): StepState => first.get(i) ?? prior?.[i] ?? { status: 'not-started' });
}

/** The indices of the steps the up-front phase finished for a story in this process. */
function doneFirst(first: Map<number, StepState> | undefined): Set<number> {
  return new Set([...(first ?? [])].filter(([, st]) => st.status === 'done').map(([i]) => i));
}

/** Stories later in the plan that this story depends on (the plan lists dependents first). */
function dependenciesInPlan(plan: Plan, story: StoryPlan): string[] {
  const idx = plan.stories.indexOf(story);
  return plan.stories.slice(idx + 1).filter((later) => story.dependencies.includes(later.id)).map((s) => s.id);
}

async function runStory(
  ctx: StoryContext,
  story: StoryPlan,
  base: Omit<StoryOutcome, 'status'>,
  journal: Journal,
  emit: (e: ExecEvent) => void,
  success: 'rolled-back' | 'restored',
  prior?: StepState[],
  firstHere?: Set<number>,
  interruption: () => string | null = () => null,
): Promise<StoryOutcome> {
  const done: Done = [];
  const steps = base.steps;
  /**
   * The story stops at step `from` (a failure, or a signal before it): the finished steps are reverted in
   * reverse order, the steps from `from` on are recorded as skipped, and the outcome says why.
   */
  const giveUp = async (from: number, error: string, ownRevertFailed = false): Promise<StoryOutcome> => {
    emit({ type: 'revert-start', story, error });
    const revertError = (await revertAll(ctx, story, done, journal)) ?? (ownRevertFailed ? error : null);
    for (const [j, later] of story.actions.entries()) {
      if (j < from) continue;
      steps.push({ kind: later.kind, step: j, description: stepFor(later).describe(later), status: 'skipped', startedAt: new Date().toISOString(), durationMs: 0 });
    }
    const backup = backupOf(done);
    return {
      ...base,
      status: revertError ? 'revert-failed' : 'reverted',
      error: revertError ? `${error}; revert failed: ${revertError}` : error,
      ...(backup ? { backup } : {}),
    };
  };
  for (const [i, action] of story.actions.entries()) {
    const step = stepFor(action);
    const description = step.describe(action);
    const before = prior?.[i] ?? { status: 'not-started' };
    // A signal stops the story at a step boundary, and it is reverted like a failed one: a story is either
    // rolled back whole or left as it was. Steps already done (up front or before a crash) are not work.
    const interrupted = before.status === 'done' ? null : interruption();
    if (interrupted) return giveUp(i, interrupted);
    const startedAt = new Date();
    const stepCtx = ctx.at(i, true);
    // Done up front in this process: the up-front phase already told the renderers and the audit log.
    const wasFirst = firstHere?.has(i) === true;
    if (!wasFirst) emit({ type: 'step-start', story, kind: action.kind, description });
    if (before.status !== 'done') journal.write({ event: 'intent', story: story.id, kind: action.kind, step: i, detail: description });
    try {
      const result =
        before.status === 'done'
          ? step.rehydrate
            ? await step.rehydrate(ctx.at(i, false), story, action, before.result)
            : before.result
          : before.status === 'in-progress'
            ? await resumeStep(step, stepCtx, story, action, before.saved)
            : await step.apply(stepCtx, story, action);
      ctx.record(i, result);
      const record: StepRecord = { kind: action.kind, step: i, description, status: 'done', startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), result };
      if (wasFirst) record.note = FIRST_NOTE;
      else if (before.status === 'done') record.note = 'done before the interruption';
      else if (before.status === 'in-progress') record.note = 'interrupted, finished by resume';
      if (before.status !== 'done') journal.write({ event: 'done', story: story.id, kind: action.kind, step: i, detail: result });
      steps.push(record);
      done.push({ step, index: i, action, record, result });
      if (!wasFirst) emit({ type: 'step-end', story, record, ...(before.status !== 'done' && step.audit ? { audit: step.audit(action, result) } : {}) });
    } catch (err) {
      const error = messageOf(err);
      const record: StepRecord = { kind: action.kind, step: i, description, status: 'failed', startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), error };
      journal.write({ event: 'failed', story: story.id, kind: action.kind, step: i, detail: error });
      steps.push(record);
      emit({ type: 'step-end', story, record });
      // A step that could not undo its own partial work says so with RevertFailedError: nothing else can fix it.
      const ownRevertFailed = err instanceof RevertFailedError;
      if (ownRevertFailed) record.status = 'revert-failed';
      return giveUp(i + 1, error, ownRevertFailed);
    }
  }
  const backup = backupOf(done);
  return { ...base, status: success, ...(backup ? { backup } : {}) };
}

/** Finishes a step a crash cut short: its own way, or by undoing what it did and doing it again. */
async function resumeStep(step: AnyStep, ctx: RunContext, story: StoryPlan, action: PlannedStep, saved: unknown[]): Promise<unknown> {
  if (step.resume) return step.resume(ctx, story, action, saved);
  const partial = step.salvage ? await step.salvage(ctx, story, action, saved) : null;
  if (partial !== null) await step.revert(ctx, story, action, partial);
  return step.apply(ctx, story, action);
}

/**
 * Undoes a story of an interrupted run from its journal: finished steps are reverted with their results
 * (read again where the journal keeps only a name), and the step the crash (or a failure) cut short is
 * salvaged, so that whatever part of it happened is undone too. Steps already reverted are left be.
 */
async function undoStory(
  ctx: StoryContext,
  story: StoryPlan,
  base: Omit<StoryOutcome, 'status'>,
  states: StepState[],
  journal: Journal,
  /**
   * `recovery`: undoing a story of an interrupted run (resume, abort). `skipped`/`failed-first`: in the run
   * itself, undoing what the up-front phase did for a story the run then did not finish, or whose up-front
   * step failed.
   */
  why: 'recovery' | 'skipped' | 'failed-first' = 'recovery',
): Promise<StoryOutcome> {
  const inRun = why !== 'recovery';
  const records: Array<StepRecord | null> = story.actions.map(() => null);
  const results: unknown[] = story.actions.map(() => null);
  let firstError: string | null = null;
  const fail = (i: number, kind: string, message: string): void => {
    journal.write({ event: 'revert-failed', story: story.id, kind, step: i, detail: message });
    firstError ??= message;
  };
  // Forward: every result later undos may need, in order (the backup before the removals that rely on it).
  for (const [i, action] of story.actions.entries()) {
    const st = states[i] ?? { status: 'not-started' };
    const step = stepFor(action);
    const startedAt = new Date().toISOString();
    const rec = (status: StepRecord['status'], note: string): StepRecord => ({ kind: action.kind, step: i, description: step.describe(action), status, startedAt, durationMs: 0, note });
    try {
      if (st.status === 'done' || st.status === 'revert-failed' || st.status === 'reverted') {
        results[i] = step.rehydrate ? await step.rehydrate(ctx.at(i, false), story, action, st.result) : st.result;
        records[i] = rec(
          st.status === 'reverted' ? 'reverted' : 'done',
          inRun ? `${FIRST_NOTE}; turned back: the run did not finish this story` : `${st.status === 'reverted' ? 'reverted' : 'done'} before the interruption`,
        );
      } else if (st.status === 'in-progress' || st.status === 'failed') {
        results[i] = step.salvage ? await step.salvage(ctx.at(i, false), story, action, st.saved) : null;
        records[i] = rec('failed', st.status === 'failed' ? `failed${inRun ? '' : ' before the interruption'}: ${st.error}` : 'cut short by the interruption');
      }
      if (results[i] !== null) ctx.record(i, results[i]);
    } catch (err) {
      records[i] = rec('revert-failed', `cannot be undone: ${messageOf(err)}`);
      fail(i, action.kind, `${action.kind}: ${messageOf(err)}`);
    }
  }
  // Backward: undo.
  for (let i = story.actions.length - 1; i >= 0; i--) {
    const action = story.actions[i] as PlannedStep;
    const st = states[i] ?? { status: 'not-started' };
    const record = records[i];
    if (!record || st.status === 'reverted' || record.status === 'revert-failed' || results[i] === null) continue;
    try {
      const note = await stepFor(action).revert(ctx.at(i, false), story, action, results[i]);
      record.status = 'reverted';
      if (note) record.revertNote = note;
      journal.write({ event: 'reverted', story: story.id, kind: action.kind, step: i, detail: note ?? null });
    } catch (err) {
      record.status = 'revert-failed';
      record.revertNote = `revert of ${action.kind} failed: ${messageOf(err)}`;
      fail(i, action.kind, record.revertNote);
    }
  }
  base.steps.push(...records.filter((r): r is StepRecord => r !== null));
  const backupIdx = story.actions.findIndex((a) => stepFor(a).backupOf !== undefined);
  const backup = backupIdx >= 0 && results[backupIdx] ? backupOf([{ action: story.actions[backupIdx] as PlannedStep, result: results[backupIdx] }]) : undefined;
  return {
    ...base,
    status: firstError ? 'revert-failed' : why === 'skipped' ? 'skipped' : 'reverted',
    ...(firstError ? { error: `undo incomplete: ${firstError}` } : {}),
    ...(backup ? { backup } : {}),
  };
}

/**
 * `abort`: undoes everything an interrupted run did, story by story in the reverse of its order, including
 * what the up-front phase did for stories whose turn had not come (their flags go back on). Stories the run
 * had not touched at all are left be.
 */
export async function abortRun(env: RunEnvironment, plan: Plan, states: Map<string, StepState[]>, opts: ExecOptions): Promise<RunOutcome> {
  const startedAt = new Date().toISOString();
  const emit = opts.onEvent ?? (() => undefined);
  opts.journal.write({ event: 'recovery-start', detail: { mode: 'abort', pid: process.pid } });
  const outcomes: StoryOutcome[] = [];
  for (const story of [...plan.stories].reverse()) {
    const base = { id: story.id, feature: story.feature, why: story.why, steps: [] as StepRecord[], warnings: [...story.warnings] };
    const st = states.get(story.id) ?? [];
    if (!st.some((x) => x.status !== 'not-started')) {
      outcomes.push({ ...base, status: story.installed ? 'skipped' : 'not-installed', error: 'not reached before the interruption: nothing to undo' });
      continue;
    }
    emit({ type: 'story-start', story });
    const outcome = await undoStory(new StoryContext(env, story, opts.journal), story, base, st, opts.journal);
    outcomes.push(outcome);
    emit({ type: 'story-end', story, outcome });
  }
  const failed = outcomes.some((o) => o.status === 'revert-failed');
  const status: RunOutcome['status'] = failed ? 'revert-failed' : 'reverted';
  return { status, exitCode: failed ? ExitCode.failedUnreverted : ExitCode.ok, stories: outcomes, startedAt, finishedAt: new Date().toISOString() };
}

async function revertAll(ctx: StoryContext, story: StoryPlan, done: Done, journal: Journal): Promise<string | null> {
  let firstError: string | null = null;
  for (const d of [...done].reverse()) {
    try {
      const note = await d.step.revert(ctx.at(d.index, false), story, d.action, d.result);
      d.record.status = 'reverted';
      if (note) d.record.revertNote = note;
      journal.write({ event: 'reverted', story: story.id, kind: d.action.kind, step: d.index, detail: note ?? null });
    } catch (err) {
      // Keep going: undo as much as possible, then report loudly what is left.
      const e = new RevertFailedError(`revert of ${d.action.kind} failed: ${messageOf(err)}`, { cause: err });
      d.record.status = 'revert-failed';
      d.record.revertNote = e.message;
      journal.write({ event: 'revert-failed', story: story.id, kind: d.action.kind, step: d.index, detail: e.message });
      firstError ??= e.message;
    }
  }
  return firstError;
}

/** The backup a story's run wrote (rollback) or read (restore), for the report and the undo command: its step says. */
function backupOf(done: Array<{ action: PlannedStep; result: unknown }>): StoryOutcome['backup'] | undefined {
  for (const d of done) {
    const summary = stepFor(d.action).backupOf?.(d.action, d.result);
    if (summary) return summary;
  }
  return undefined;
}
