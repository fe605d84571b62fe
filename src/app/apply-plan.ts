import { existsSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError, LockedError } from '../model/errors.js';
import { LAYOUT } from '../model/layout.js';
import { realDirectory } from '../util/paths.js';
import type { Plan } from '../model/types.js';
import { readRunState } from '../engine/run-state.js';
import { interruptedRuns } from '../engine/journal.js';
import { executePlan, type ExecEvent, type ExecOptions, type RunOutcome } from '../engine/executor.js';
import { acquireLock } from '../engine/lock.js';
import { stepFor } from '../steps/registry.js';
import type { Project } from '../project/project.js';
import type { RunReport } from '../report/run-report.js';
import { runUnderLock, type RunRequest } from './run-under-lock.js';
import type { Journal } from '../engine/journal.js';
import type { RunEnvironment } from '../steps/step.js';

export type { RunRequest } from './run-under-lock.js';

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
  const { outcome, report } = await planAndApply(
    project.root,
    plan.runId,
    async () => {
      if (recheck) {
        // The plan was made before the lock (and maybe before a person said yes): another run may have
        // changed the project since. Plan again under the lock; if anything differs, change nothing.
        const fresh = await recheck();
        if (fingerprint(plan) !== fingerprint(fresh)) {
          throw new LockedError('the project changed since this plan was made (another run finished meanwhile?); nothing changed: look at status and plan again', {
            pid: 0,
            host: '',
            runId: '',
            startedAt: '',
          });
        }
      }
      return { project, plan };
    },
    req,
    async () => onEvent,
  );
  return { outcome, report };
}

/** The options every new run gives the executor, from how it was asked for. */
export function execOptions(req: RunRequest, journal: Journal, emit: (e: ExecEvent) => void): ExecOptions {
  return { continueOnError: req.continueOnError, journal, onEvent: emit, command: req.command, ...(req.signal ? { signal: req.signal } : {}) };
}

/**
 * For a run nobody confirms (`--force`, a script, the monitor): takes the lock first, then plans under it
 * and applies at once. The plan is made once and cannot go stale between planning and the lock, so the
 * kill switch (every flag of the run off) comes as soon as the plan exists. `onPlanned` sees the plan
 * before anything changes (a terminal renderer needs the stories). A refused plan changes nothing: not
 * even the tool's state folder is left behind when the run created it.
 */
export async function planAndApply(
  rootArg: string,
  runId: string,
  makePlan: () => Promise<{ project: Project; plan: Plan }>,
  req: RunRequest,
  onPlanned?: (plan: Plan) => Promise<((e: ExecEvent) => void) | undefined>,
  /** How to carry the plan out; by default {@link executePlan}. Its outcome may name the plan it ended up with. */
  execute?: (project: Project, plan: Plan, env: RunEnvironment, journal: Journal, emit: (e: ExecEvent) => void) => Promise<RunOutcome>,
): Promise<{ project: Project; plan: Plan; outcome: RunOutcome; report: RunReport }> {
  const stateDir = path.join(realDirectory(rootArg, 'project root'), LAYOUT.state);
  const hadState = existsSync(stateDir);
  const lock = acquireLock(stateDir, runId);
  let started = false;
  try {
    refuseOverInterrupted(stateDir);
    const { project, plan } = await makePlan();
    refuseWithoutDisk(plan);
    const onEvent = await onPlanned?.(plan);
    started = true;
    const { outcome, report } = await runUnderLock(project, plan, req, lock, onEvent, (ctx, journal, emit) =>
      execute ? execute(project, plan, ctx, journal, emit) : executePlan(ctx, plan, execOptions(req, journal, emit)),
    );
    return { project, plan: outcome.plan ?? plan, outcome, report };
  } finally {
    lock.release();
    if (!started && !hadState) {
      try {
        rmdirSync(stateDir);
      } catch {
        // not empty (another run's files appeared): leave it
      }
    }
  }
}

/** The backups need room: a run that would fill the disk half-way through is refused before it starts. */
export function refuseWithoutDisk(plan: Plan): void {
  const work = plan.stories.some((s) => s.installed);
  if (work && plan.disk.needed > plan.disk.available) {
    throw new InvalidInputError(`not enough free disk: need ${plan.disk.needed} bytes, ${plan.disk.available} available; nothing changed`, { code: 'E_DISK' });
  }
}

/**
 * A run a crash cut short holds the project as surely as a live one: a new run on top of its half-done
 * steps would plan from a state nobody chose. It is finished or undone first.
 */
function refuseOverInterrupted(stateDir: string): void {
  const pending = interruptedRuns(stateDir);
  if (pending.length === 0) return;
  const id = pending[pending.length - 1] as string;
  throw new LockedError(
    `run ${id} was interrupted (${readRunStateSafe(stateDir, id)}); nothing changed. Finish it with \`rollback-manager resume ${id}\` ` +
      `or undo it with \`rollback-manager abort ${id}\`${pending.length > 1 ? ` (interrupted runs: ${pending.join(', ')})` : ''}`,
    { pid: 0, host: '', runId: id, startedAt: '' },
  );
}

function readRunStateSafe(stateDir: string, runId: string): string {
  try {
    return `last journaled: ${readRunState(stateDir, runId).lastRecord}`;
  } catch {
    return 'its journal has no plan';
  }
}

/**
 * What a plan would touch, without its run id and timestamps: two plans with the same print do the same
 * thing. Each step says what of its action counts (a backup's size, not its timestamped folder name).
 */
export function fingerprint(plan: Plan): string {
  return JSON.stringify(
    plan.stories.map((s) => ({
      id: s.id,
      installed: s.installed,
      actions: s.actions.map((a) => stepFor(a).fingerprint?.(a) ?? a),
    })),
  );
}
