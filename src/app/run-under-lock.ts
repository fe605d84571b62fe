import { hostname, userInfo } from 'node:os';
import { ExitCode } from '../model/errors.js';
import type { Plan, Trigger } from '../model/types.js';
import { shellQuote } from '../util/format.js';
import type { ExecEvent, RunOutcome } from '../engine/executor.js';
import { Journal } from '../engine/journal.js';
import type { HeldLock } from '../engine/lock.js';
import type { RunEnvironment } from '../steps/step.js';
import type { Project } from '../project/project.js';
import { audit, type AuditEvent } from '../report/audit-log.js';
import type { KeptDataRecord, RunReport } from '../report/run-report.js';
import { actionsOf } from '../steps/step.js';
import type { RemovePathsAction } from '../steps/remove-paths.js';
import type { Decision } from '../monitor/decision-log.js';
import { openRunLog } from '../report/run-logger.js';
import { reportFiles, writeReport } from '../report/write-report.js';

/** What every run records about how it was asked for. */
export interface RunRequest {
  continueOnError: boolean;
  /** The command as typed, recorded in the report. */
  command: string[];
  trigger: Trigger;
  /** Aborted on SIGINT/SIGTERM: the run stops at its next step boundary (see ExecOptions.signal). */
  signal?: AbortSignal;
  /** For a run the monitor started: the decision, with the samples that counted, for the report's Why. */
  monitor?: Decision;
}

/** Runs the plan's steps (a new run, a resume or an abort) with the run's environment and journal. */
export type Execute = (env: RunEnvironment, journal: Journal, emit: (e: ExecEvent) => void) => Promise<RunOutcome>;

/**
 * Everything a run does around its steps, whoever started it: the run log, the audit events, the journal's
 * run-end once the report is on disk, and the report itself.
 */
export async function runUnderLock(
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
        plugins: project.plugins.modules,
      },
      journal,
      (e) => {
        // Steps ask for their audit events (the flag step for each flag changed) when they ran in this process.
        if (e.type === 'step-end') for (const a of e.audit ?? []) audit(project.root, a.event, { runId: plan.runId, story: e.story.id, ...a.detail });
        onEvent?.(e);
      },
    );
    const report = buildReport(project, outcome.plan ?? plan, req, outcome, started, recovery);
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
  // A story a rollback changed without removing anything (the monitor's mitigation: flags off, services stopped)
  // has no backup: its undo turns the flags back on from this run's report.
  const flagsOnly = changed
    .filter((s) => plan.operation === 'rollback' && s.status === 'rolled-back' && !s.backup)
    .map((s) => ({ story: s.id, command: `npx rollback-manager restore ${s.id} --run ${plan.runId} --root ${shellQuote(project.root)}` }));
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
  undo.push(...flagsOnly);
  if (recovery?.mode === 'abort' && outcome.status === 'reverted' && recovery.originalCommand.length > 0) {
    // Undoing an abort is running the interrupted command again (planned afresh).
    const orig = recovery.originalCommand;
    const withRoot = orig.includes('--root') ? orig : [...orig, '--root', project.root];
    undo.push({ story: plan.stories.map((s) => s.id).join(','), command: `npx rollback-manager ${withRoot.map(shellQuote).join(' ')}` });
  }
  const keptData = keptDataOf(plan, outcome);
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
    ...(req.monitor ? { monitor: req.monitor } : {}),
    ...(keptData.length > 0 ? { keptData } : {}),
  };
}

/** What the stories a rollback rolled back left in place, from their plans: a reverted story kept everything. */
function keptDataOf(plan: Plan, outcome: RunOutcome): KeptDataRecord[] {
  if (plan.operation !== 'rollback') return [];
  return outcome.stories
    .filter((s) => s.status === 'rolled-back')
    .flatMap((s) => {
      const story = plan.stories.find((p) => p.id === s.id);
      const kept = story ? actionsOf<RemovePathsAction>(story, 'remove-paths').flatMap((a) => a.kept ?? []) : [];
      return kept.map((k) => ({ story: s.id, path: k.path, why: k.kept?.why ?? '', by: k.kept?.by ?? 'story', files: k.files, bytes: k.bytes, backup: s.backup?.path ?? null }));
    });
}

