import { randomBytes } from 'node:crypto';
import type { RunRequest } from './apply-plan.js';
import { assemblePlan, packageDecisionsOf, selectStories, type PlanRequest } from '../engine/planner.js';
import { measurePackageRemovals } from '../project/package-removals.js';
import type { PlannedAction } from '../steps/registry.js';
import { gatherSnapshot, loadProject, type Project } from '../project/project.js';
import { LAYOUT } from '../model/layout.js';
import type { Plan } from '../model/types.js';

/** What a caller (CLI, script wrapper, monitor) asks for. */
export interface RollbackRequest extends RunRequest {
  root: string;
  ids: string;
  cascade: boolean;
  reason: string;
}

/** A run id that sorts by time: `YYYYMMDD-HHMMSS-xxxx` (UTC). */
export function newRunId(now = new Date()): string {
  const iso = now.toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${randomBytes(2).toString('hex')}`;
}

/** Loads the project and plans the run. Changes nothing: a dry run stops here. */
export async function prepareRollback(req: RollbackRequest, now = new Date(), runId = newRunId(now)): Promise<{ project: Project; plan: Plan<PlannedAction> }> {
  const project = await loadProject(req.root);
  const snapshot = await gatherSnapshot(project);
  const planReq: PlanRequest = {
    ids: req.ids,
    cascade: req.cascade,
    reason: req.reason,
    trigger: req.trigger,
    runId,
    now,
    flagsFile: LAYOUT.flags,
    backupsDir: LAYOUT.backups,
  };
  // The read phase ends with what the package removals take along, so the pure planner's plan is final.
  const selection = selectStories(project.registry, project.flags, snapshot, planReq);
  const footprints = measurePackageRemovals(project, packageDecisionsOf(project.registry, snapshot, selection));
  return { project, plan: assemblePlan(project.registry, project.flags, snapshot, planReq, footprints) };
}
