import { randomBytes } from 'node:crypto';
import { messageOf } from '../model/errors.js';
import { execOptions, planAndApply, refuseWithoutDisk, type RunRequest } from './apply-plan.js';
import { beginUpFront, executePlan, type ExecEvent, type RunOutcome } from '../engine/executor.js';
import type { RunReport } from '../report/run-report.js';
import { stepFor } from '../steps/registry.js';
import { previewCustomSteps } from '../steps/custom-step.js';
import type { FlagView } from '../model/types.js';
import { assemblePlan, packageDecisionsOf, selectStories, type PlanRequest } from '../engine/planner.js';
import { measurePackageRemovals } from '../project/package-removals.js';
import type { PlannedAction } from '../steps/registry.js';
import { gatherSnapshot, loadProject, type Project } from '../project/project.js';
import { LAYOUT } from '../model/layout.js';
import type { DataChoice, Plan } from '../model/types.js';
import { applyDataChoice } from './data-choice.js';

/** What a caller (CLI, script wrapper, monitor) asks for. */
export interface RollbackRequest extends RunRequest {
  root: string;
  ids: string;
  cascade: boolean;
  reason: string;
  /** `keep` every data path in place (`--keep-data`), or `purge` the kept ones too (`--purge-data`); default: each story's split. */
  data?: DataChoice;
}

/** A run id that sorts by time: `YYYYMMDD-HHMMSS-xxxx` (UTC). */
export function newRunId(now = new Date()): string {
  const iso = now.toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${randomBytes(2).toString('hex')}`;
}

/**
 * Loads the project and plans the run. Changes nothing: a dry run stops here. `project` reuses one already
 * loaded; `flags` plans against the flags as they were before the run's kill switch turned them off.
 */
export async function prepareRollback(
  req: RollbackRequest,
  now = new Date(),
  runId = newRunId(now),
  given: { project?: Project; flags?: FlagView } = {},
): Promise<{ project: Project; plan: Plan<PlannedAction> }> {
  const project = given.project ?? (await loadProject(req.root));
  const flags = given.flags ?? project.flags;
  const snapshot = applyDataChoice(await gatherSnapshot(project), req.data);
  const planReq = planRequest(req, now, runId);
  // The read phase ends with what the package removals take along, so the pure planner's plan is final.
  const selection = selectStories(project.registry, flags, snapshot, planReq);
  const footprints = measurePackageRemovals(project, packageDecisionsOf(project.registry, snapshot, selection));
  const plan = withPlugins(project, withChoice(assemblePlan(project.registry, flags, snapshot, planReq, footprints), req.data));
  await previewCustomSteps(plan.stories, project.plugins.modules, { root: project.root, runId: plan.runId, reason: plan.reason, trigger: plan.trigger });
  return { project, plan };
}

/** The plan with the project's plugin files (path, sha256) it was made with; none: unchanged. */
export function withPlugins<P extends Plan>(project: Project, plan: P): P {
  return project.plugins.files.length === 0 ? plan : { ...plan, plugins: project.plugins.files.map((f) => ({ ...f })) };
}

/** The planner's request of a rollback request, at `now`, for run `runId`. */
export function planRequest(req: RollbackRequest, now: Date, runId: string): PlanRequest {
  return { ids: req.ids, cascade: req.cascade, reason: req.reason, trigger: req.trigger, runId, now, flagsFile: LAYOUT.flags, backupsDir: LAYOUT.backups };
}

/** The plan with the data choice it was made with: the journal's first record holds it for a resume. */
function withChoice(plan: Plan<PlannedAction>, choice: DataChoice | undefined): Plan<PlannedAction> {
  return choice === undefined ? plan : { ...plan, data: choice };
}

/**
 * The kill switch's plan: the stories and, of each, only the steps made for every story at once (its flags),
 * from a quick look at what is installed: no sizes, no packages, so it comes as fast whatever the data.
 * The same planner as the whole plan's, so its flag changes are the ones the whole plan would make.
 */
export async function prepareKillSwitch(project: Project, req: RollbackRequest, now: Date, runId: string): Promise<Plan<PlannedAction>> {
  const snapshot = applyDataChoice(await gatherSnapshot(project, { quick: true }), req.data);
  const plan = withPlugins(project, withChoice(assemblePlan(project.registry, project.flags, snapshot, planRequest(req, now, runId)), req.data));
  return {
    ...plan,
    upFrontOnly: true,
    stories: plan.stories.map((s) => ({ ...s, actions: s.actions.filter((a) => stepFor(a).applyFirst !== undefined) })),
    warnings: [],
    disk: { needed: 0, available: snapshot.diskAvailable },
  };
}

/**
 * The whole plan that carries on from the kill switch's `first` (same run id and time), made against
 * `flags` as they were before the switch. When it cannot carry on — it cannot be planned, the project
 * changed meanwhile, not enough disk — `refuse` says why and the whole plan is the switch's own, so that
 * the run puts every story back as it was. Shared by the run itself and by a resume between the two.
 */
export async function planTheRest(
  project: Project,
  first: Plan,
  req: RollbackRequest,
  flags: FlagView = project.flags,
): Promise<{ whole: Plan; refuse?: string }> {
  try {
    const { plan } = await prepareRollback(req, new Date(first.createdAt), first.runId, { project, flags });
    const refuse = divergence(first, plan);
    if (refuse !== null) return { whole: first, refuse };
    refuseWithoutDisk(plan);
    return { whole: plan };
  } catch (err) {
    return { whole: first, refuse: `the rest of the run could not be planned: ${messageOf(err)}; every story is put back as it was` };
  }
}

/**
 * Why the whole plan cannot carry on from the kill switch's, or null when it can: the same stories with the
 * same up-front steps, which lead each story's steps (so the journal's step numbers mean the same in both).
 */
function divergence(upFront: Plan, whole: Plan): string | null {
  const key = (p: Plan, all: boolean): string =>
    JSON.stringify(p.stories.map((s) => ({ id: s.id, installed: s.installed, first: all ? s.actions.slice(0, upFrontCount(s)) : s.actions })));
  const upFrontCount = (s: Plan['stories'][number]): number => upFront.stories.find((u) => u.id === s.id)?.actions.length ?? 0;
  return key(upFront, false) === key(whole, true) ? null : 'the project changed while the run planned (a story was installed or removed meanwhile); every story is put back as it was';
}

/**
 * `rollback --force` (and every run nobody confirms): under the lock, the kill switch first — every flag of
 * the run off in one journaled write, planned from a quick look — then the whole plan, made with the flags as
 * they were, journaled, and carried out. If the rest cannot be planned (a package the venv holds twice, the
 * project changed meanwhile, not enough disk), every story is put back as it was and the report says why.
 */
export async function rollbackNow(
  req: RollbackRequest,
  onPlanned?: (plan: Plan) => Promise<((e: ExecEvent) => void) | undefined>,
): Promise<{ project: Project; plan: Plan; outcome: RunOutcome; report: RunReport }> {
  const now = new Date();
  const runId = newRunId(now);
  return planAndApply(
    req.root,
    runId,
    async () => {
      const project = await loadProject(req.root);
      return { project, plan: await prepareKillSwitch(project, req, now, runId) };
    },
    req,
    onPlanned,
    async (project, first, env, journal, emit) => {
      const opts = { ...execOptions(req, journal, emit), rollback: { ids: req.ids, cascade: req.cascade } };
      const upFront = await beginUpFront(env, first, opts);
      const { whole, refuse } = await planTheRest(project, first, req);
      const outcome = await executePlan({ ...env, plan: whole }, whole, { ...opts, upFront, ...(refuse !== undefined ? { refuse } : {}) });
      return { ...outcome, plan: whole };
    },
  );
}
