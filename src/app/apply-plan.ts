import { LockedError } from '../model/errors.js';
import type { Plan } from '../model/types.js';
import { readRunState } from '../engine/run-state.js';
import { interruptedRuns } from '../engine/journal.js';
import { executePlan, type ExecEvent, type RunOutcome } from '../engine/executor.js';
import { acquireLock } from '../engine/lock.js';
import { stepFor } from '../steps/registry.js';
import type { Project } from '../project/project.js';
import type { RunReport } from '../report/run-report.js';
import { runUnderLock, type RunRequest } from './run-under-lock.js';

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
