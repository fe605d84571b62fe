import { hostname, userInfo } from 'node:os';
import { ExitCode, LockedError } from './errors.js';
import { shellQuote } from '../util/format.js';
import { executePlan, type ExecEvent, type RunOutcome } from './executor.js';
import { Journal } from './journal.js';
import { acquireLock, type HeldLock } from './lock.js';
import type { Project } from './project.js';
import type { Plan, Trigger } from './types.js';
import { audit } from '../report/audit-log.js';
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
    return await runUnderLock(project, plan, req, lock, onEvent);
  } finally {
    lock.release();
  }
}

async function runUnderLock(
  project: Project,
  plan: Plan,
  req: RunRequest,
  lock: HeldLock,
  onEvent?: (e: ExecEvent) => void,
): Promise<{ outcome: RunOutcome; report: RunReport }> {
  const log = await openRunLog(project.root, plan.runId);
  if (lock.tookOver) log.warn({ event: 'lock_taken_over', previous: lock.tookOver }, 'took over the lock of a run that is no longer alive');
  const journal = new Journal(project.stateDir, plan.runId);
  const started = Date.now();
  try {
    const op = plan.operation;
    log.info({ event: `${op}_initiated`, stories: plan.stories.map((s) => s.id), reason: plan.reason }, `${op} initiated`);
    audit(project.root, `${op}_initiated`, { runId: plan.runId, stories: plan.stories.map((s) => s.id), reason: plan.reason, trigger: plan.trigger });
    const outcome = await executePlan(
      {
        root: project.root,
        plan,
        config: project.config,
        flagsAbs: project.flagsAbs,
        stateDir: project.stateDir,
        log,
        services: new Map(project.registry.stories.map((s) => [s.id, s.services])),
      },
      plan,
      {
        continueOnError: req.continueOnError,
        journal,
        onEvent: (e) => {
          if (e.type === 'step-end' && e.record.kind === 'disable-flag' && e.record.status === 'done') {
            for (const c of (e.record.result as { applied: Array<{ feature: string; from: boolean; to: boolean; why: string }> }).applied) {
              audit(project.root, 'feature_flag_changed', { runId: plan.runId, story: e.story.id, feature: c.feature, from: c.from, to: c.to, why: c.why });
            }
          }
          onEvent?.(e);
        },
      },
    );
    const report = buildReport(project, plan, req, outcome, started);
    await writeReport(project.root, report);
    const ok = outcome.exitCode === ExitCode.ok;
    audit(
      project.root,
      ok ? `${op}_completed` : `${op}_failed`,
      { runId: plan.runId, status: outcome.status, stories: outcome.stories.map((s) => ({ id: s.id, status: s.status })), report: report.files.json },
      ok ? 'info' : 'error',
    );
    log.info({ event: ok ? `${op}_completed` : `${op}_failed`, status: outcome.status }, `${op} ${outcome.status}`);
    return { outcome, report };
  } finally {
    journal.close();
    log.flush();
  }
}

function buildReport(project: Project, plan: Plan, req: RunRequest, outcome: RunOutcome, started: number): RunReport {
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
