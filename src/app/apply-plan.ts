import { hostname, userInfo } from 'node:os';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ExitCode, InvalidInputError, LockedError } from '../model/errors.js';
import { readRunState, pickInterruptedRun, type RunState } from '../engine/run-state.js';
import { interruptedRuns } from '../engine/journal.js';
import { liveHolder } from '../engine/lock.js';
import { shellQuote } from '../util/format.js';
import { isAtomicWriteTemp } from '../util/atomic-write.js';
import { abortRun, executePlan, type ExecEvent, type RunOutcome } from '../engine/executor.js';
import type { RunContext } from '../steps/step.js';
import { Journal } from '../engine/journal.js';
import { acquireLock, type HeldLock } from '../engine/lock.js';
import type { Project } from '../project/project.js';
import type { Plan, Trigger } from '../model/types.js';
import { audit, type AuditEvent } from '../report/audit-log.js';
import type { RunReport } from '../report/run-report.js';
import { openRunLog } from '../report/run-logger.js';
import { reportFiles, writeReport } from '../report/write-report.js';

/** What every run records about how it was asked for. */
export interface RunRequest {
  continueOnError: boolean;
  /** The command as typed, recorded in the report. */
  command: string[];
  trigger: Trigger;
}

/**
 * Applies a prepared plan (rollback or restore) under the project lock, journaling every step, then writes
 * the report and the audit events. For a rollback the point of no return of each story is its first
 * removal, and only after its backup has been re-read and verified.
 */
export async function applyPlan(
  project: Project,
  plan: Plan,
  req: RunRequest,
  onEvent?: (e: ExecEvent) => void,
  recheck?: () => Promise<Plan>,
): Promise<{ outcome: RunOutcome; report: RunReport }> {
  const lock = acquireLock(project.stateDir, plan.runId);
  try {
    refuseOverInterrupted(project);
    if (recheck) {
      // The plan was made before the lock (and maybe before a person said yes): another run may have
      // changed the project since. Plan again under the lock; if anything differs, change nothing.
      const fresh = await recheck();
      const [was, now] = [fingerprint(plan), fingerprint(fresh)];
      if (was !== now) {
        throw new LockedError('the project changed since this plan was made (another run finished meanwhile?); nothing changed: look at status and plan again', {
          pid: 0,
          host: '',
          runId: '',
          startedAt: '',
        });
      }
    }
    return await runUnderLock(project, plan, req, lock, onEvent, (ctx, journal, emit) =>
      executePlan(ctx, plan, { continueOnError: req.continueOnError, journal, onEvent: emit, command: req.command }),
    );
  } finally {
    lock.release();
  }
}

/**
 * A run a crash cut short holds the project as surely as a live one: a new run on top of its half-done
 * steps would plan from a state nobody chose. It is finished or undone first.
 */
function refuseOverInterrupted(project: Project): void {
  const pending = interruptedRuns(project.stateDir);
  if (pending.length === 0) return;
  const id = pending[pending.length - 1] as string;
  throw new LockedError(
    `run ${id} was interrupted (${readRunStateSafe(project, id)}); nothing changed. Finish it with \`rollback-manager resume ${id}\` ` +
      `or undo it with \`rollback-manager abort ${id}\`${pending.length > 1 ? ` (interrupted runs: ${pending.join(', ')})` : ''}`,
    { pid: 0, host: '', runId: id, startedAt: '' },
  );
}

function readRunStateSafe(project: Project, runId: string): string {
  try {
    return `last journaled: ${readRunState(project.stateDir, runId).lastRecord}`;
  } catch {
    return 'its journal has no plan';
  }
}

/**
 * `resume` / `abort` of an interrupted run, from its journal, under the lock: the run's leftovers (staging
 * folders, temp files of atomic writes) are cleared first, then its steps are finished or undone, and the
 * run gets the report it never wrote.
 */
export async function recoverRun(
  project: Project,
  mode: 'resume' | 'abort',
  runId: string | undefined,
  req: Omit<RunRequest, 'continueOnError'>,
  onEvent?: (e: ExecEvent) => void,
): Promise<{ outcome: RunOutcome; report: RunReport; state: RunState }> {
  const live = liveHolder(project.stateDir);
  const id = pickInterruptedRun(project.stateDir, runId, live?.runId ?? null);
  const lock = acquireLock(project.stateDir, id);
  try {
    // Under the lock: the run is not some other process's live one.
    pickInterruptedRun(project.stateDir, id, null);
    const state = readRunState(project.stateDir, id);
    if (mode === 'resume' && state.recovering === 'abort') {
      throw new InvalidInputError(`run ${id} is being aborted (an abort of it began and was cut short): finish that with \`rollback-manager abort ${id}\``, {
        code: 'E_ABORTING',
      });
    }
    const plan = state.plan;
    clearLeftovers(project, plan);
    const runReq: RunRequest = { ...req, continueOnError: state.continueOnError };
    const { outcome, report } = await runUnderLock(
      project,
      plan,
      runReq,
      lock,
      onEvent,
      (ctx, journal, emit) =>
        mode === 'resume'
          ? executePlan(ctx, plan, { continueOnError: state.continueOnError, journal, onEvent: emit, resumeFrom: state.steps })
          : abortRun(ctx, plan, state.steps, { continueOnError: false, journal, onEvent: emit }),
      { mode, interruptedAfter: state.lastRecord, originalCommand: state.command },
    );
    return { outcome, report, state };
  } finally {
    lock.release();
  }
}

/**
 * What a killed run leaves besides its steps' own work: staging folders (their content is in a backup) and
 * temp files of atomic writes beside the files the plan edits. Only ever run under the lock, so no live run
 * owns them.
 */
function clearLeftovers(project: Project, plan: Plan): void {
  rmSync(path.join(project.stateDir, 'staging'), { recursive: true, force: true });
  const dirs = new Set<string>(['', 'config']);
  for (const s of plan.stories) {
    for (const a of s.actions) {
      if ('file' in a && typeof a.file === 'string') dirs.add(path.posix.dirname(a.file));
      if (a.kind === 'packages') dirs.add('');
    }
  }
  for (const d of dirs) {
    const abs = path.join(project.root, d === '.' ? '' : d);
    let names: string[] = [];
    try {
      names = readdirSync(abs);
    } catch {
      continue;
    }
    for (const n of names) if (isAtomicWriteTemp(n)) rmSync(path.join(abs, n), { force: true });
  }
}

type Execute = (ctx: Omit<RunContext, 'results'>, journal: Journal, emit: (e: ExecEvent) => void) => Promise<RunOutcome>;

async function runUnderLock(
  project: Project,
  plan: Plan,
  req: RunRequest,
  lock: HeldLock,
  onEvent: ((e: ExecEvent) => void) | undefined,
  execute: Execute,
  recovery?: RunReport['recovery'],
): Promise<{ outcome: RunOutcome; report: RunReport }> {
  const log = await openRunLog(project.root, plan.runId);
  if (lock.tookOver) log.warn({ event: 'lock_taken_over', previous: lock.tookOver }, 'took over the lock of a run that is no longer alive');
  const journal = new Journal(project.stateDir, plan.runId);
  const started = Date.now();
  try {
    const op = plan.operation;
    const started_: AuditEvent = recovery ? `${op}_${recovery.mode === 'resume' ? 'resumed' : 'aborted'}` : `${op}_initiated`;
    log.info({ event: started_, stories: plan.stories.map((s) => s.id), reason: plan.reason }, `${op} ${recovery ? `${recovery.mode} of an interrupted run` : 'initiated'}`);
    audit(project.root, started_, { runId: plan.runId, stories: plan.stories.map((s) => s.id), reason: plan.reason, trigger: plan.trigger });
    const outcome = await execute(
      {
        root: project.root,
        plan,
        config: project.config,
        flagsAbs: project.flagsAbs,
        stateDir: project.stateDir,
        log,
        services: new Map(project.registry.stories.map((s) => [s.id, s.services])),
        checkpoint: () => undefined,
      },
      journal,
      (e) => {
        if (e.type === 'step-end' && e.record.kind === 'disable-flag' && e.record.status === 'done' && !e.record.note?.startsWith('done before')) {
          for (const c of (e.record.result as { applied: Array<{ feature: string; from: boolean; to: boolean; why: string }> }).applied) {
            audit(project.root, 'feature_flag_changed', { runId: plan.runId, story: e.story.id, feature: c.feature, from: c.from, to: c.to, why: c.why });
          }
        }
        onEvent?.(e);
      },
    );
    const report = buildReport(project, plan, req, outcome, started, recovery);
    await writeReport(project.root, report);
    const ok = outcome.exitCode === ExitCode.ok;
    audit(
      project.root,
      ok ? `${op}_completed` : `${op}_failed`,
      { runId: plan.runId, status: outcome.status, stories: outcome.stories.map((s) => ({ id: s.id, status: s.status })), report: report.files.json },
      ok ? 'info' : 'error',
    );
    log.info({ event: ok ? `${op}_completed` : `${op}_failed`, status: outcome.status }, `${op} ${outcome.status}`);
    journal.write({ event: 'run-end', detail: { status: outcome.status, ...(recovery ? { recovered: recovery.mode } : {}) } });
    return { outcome, report };
  } finally {
    journal.close();
    log.flush();
  }
}

function buildReport(project: Project, plan: Plan, req: RunRequest, outcome: RunOutcome, started: number, recovery?: RunReport['recovery']): RunReport {
  // The undo of a rollback is a restore from the backup it made; the undo of a restore is a rollback. Listed
  // in the order to run them: a rollback ran dependents first, so its restores go dependencies first.
  const changed = plan.operation === 'rollback' ? [...outcome.stories].reverse() : outcome.stories;
  // A story whose revert failed still has every removed byte in its verified backup: restoring it is the fix.
  const undo = changed
    .filter((s) => (s.status === 'rolled-back' || s.status === 'restored' || (s.status === 'revert-failed' && plan.operation === 'rollback')) && s.backup)
    .map((s) => ({
      story: s.id,
      command:
        s.status === 'rolled-back'
          ? `npx rollback-manager restore ${s.id} --backup ${s.backup?.id} --root ${shellQuote(project.root)}`
          : s.status === 'revert-failed'
            ? `npx rollback-manager restore ${s.id} --backup ${s.backup?.id} --force --root ${shellQuote(project.root)}`
          : `npx rollback-manager rollback ${s.id} --root ${shellQuote(project.root)}`,
    }));
  if (recovery?.mode === 'abort' && outcome.status === 'reverted' && recovery.originalCommand.length > 0) {
    // Undoing an abort is running the interrupted command again (planned afresh).
    const orig = recovery.originalCommand;
    const withRoot = orig.includes('--root') ? orig : [...orig, '--root', project.root];
    undo.push({ story: plan.stories.map((s) => s.id).join(','), command: `npx rollback-manager ${withRoot.map(shellQuote).join(' ')}` });
  }
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): keep "unknown"
  }
  return {
    version: 1,
    runId: plan.runId,
    operation: plan.operation,
    status: outcome.status,
    exitCode: outcome.exitCode,
    who: { user, host: hostname(), pid: process.pid },
    when: { startedAt: outcome.startedAt, finishedAt: outcome.finishedAt, durationMs: Date.now() - started },
    why: { reason: plan.reason, trigger: plan.trigger },
    command: req.command,
    root: project.root,
    plan,
    stories: outcome.stories,
    warnings: [...plan.warnings, ...outcome.stories.flatMap((s) => s.steps.filter((st) => st.revertNote).map((st) => `${s.id}: ${st.revertNote}`))],
    undo,
    files: reportFiles(plan.runId),
    ...(recovery ? { recovery } : {}),
  };
}

/** What a plan would touch, without its run id and timestamps: two plans with the same print do the same thing. */
export function fingerprint(plan: Plan): string {
  return JSON.stringify(
    plan.stories.map((s) => ({
      id: s.id,
      installed: s.installed,
      actions: s.actions.map((a) => {
        if (a.kind === 'backup') return { kind: a.kind, files: a.files, bytes: a.bytes };
        if (a.kind === 'stop-services') return { kind: a.kind, pids: a.processes.map((p) => `${p.pid}:${p.startTime}`) };
        return a;
      }),
    })),
  );
}
