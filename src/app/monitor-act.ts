/**
 * What the monitor does about a decision that says act: the same planner, executor, journal, lock and report as
 * `rollback <story> --force`, with trigger `monitor` and the decision as the report's evidence.
 *
 * - `action: rollback`, and the story has no installed dependents (or `cascade: true`): a whole rollback.
 * - `action: rollback` with installed dependents and `cascade: false`: a mitigation that deletes nothing — the
 *   story's flag off with the flag cascade (its dependents' flags too) and its services stopped; files stay, and
 *   the report names the command that finishes the job.
 * - `action: flag-only`: the flags alone, the same way.
 */
import { InvalidInputError, messageOf } from '../model/errors.js';
import type { Plan, Trigger } from '../model/types.js';
import type { Decision } from '../monitor/decision-log.js';
import { isInstalled } from '../model/snapshot.js';
import { assemblePlan, dependentsOf } from '../engine/planner.js';
import { gatherSnapshot, loadProject, type Project } from '../project/project.js';
import { audit } from '../report/audit-log.js';
import type { RunReport } from '../report/run-report.js';
import { planAndApply } from './apply-plan.js';
import { newRunId, planRequest, rollbackNow, type RollbackRequest } from './rollback.js';

/** What acting did. */
export interface ActResult {
  story: string;
  /** `rollback`: the whole rollback; `mitigate`: flag(s) off and services stopped; `flag-only`: flag(s) off. */
  mode: 'rollback' | 'mitigate' | 'flag-only';
  /** The run, when one started. */
  runId?: string;
  status: string;
  exitCode: number;
  /** The run's report (JSON), relative to the root. */
  report?: string;
  /** Why nothing was done (the project lock was held, the plan was refused). */
  error?: string;
  /** What finishes the job after a mitigation. */
  next?: string;
}

/** Options of {@link actOn}. */
export interface ActOptions {
  /** The command that started the monitor, recorded in the report. */
  command: string[];
  signal?: AbortSignal;
  /** What to do for a decision that proposed (`action: propose`): its mitigation (flag-only) or its approval. */
  as?: 'rollback' | 'flag-only';
  /** Default `monitor`; `monitor-approved` for a proposal a person approved. */
  trigger?: Extract<Trigger, 'monitor' | 'monitor-approved'>;
  /** Who approved the proposal (OS user) and why: in the report's reason and the audit line. */
  approval?: { by: string; reason: string };
}

/** Carries out one decision whose `action` is rollback or flag-only (or a proposal, `as` one of them); never throws for a failed run. */
export async function actOn(root: string, d: Decision, opts: ActOptions): Promise<ActResult> {
  const story = d.story;
  const action = d.action === 'propose' ? opts.as : d.action;
  if (story === null || (action !== 'rollback' && action !== 'flag-only')) {
    throw new InvalidInputError(`decision ${d.id} does not ask to act on a story`, { code: 'E_MONITOR_ACT' });
  }
  let mode: ActResult['mode'] = action === 'flag-only' ? 'flag-only' : 'rollback';
  const approved = opts.approval === undefined ? '' : `, approved by ${opts.approval.by}${opts.approval.reason === '' ? '' : ` (${opts.approval.reason})`}`;
  try {
    const project = await loadProject(root);
    if (mode === 'rollback' && d.cascade !== true && (await installedDependents(project, story)).length > 0) mode = 'mitigate';
    const feature = project.registry.byId.get(story)?.feature;
    audit(project.root, 'automatic_rollback_triggered', {
      storyId: story,
      feature,
      reason: d.reason,
      rule: d.rule,
      threshold: d.threshold,
      value: d.samples.at(-1)?.value ?? null,
      decisionId: d.id,
      action: mode,
      ...(opts.approval !== undefined ? { trigger: opts.trigger ?? 'monitor', approvedBy: opts.approval.by, approvalReason: opts.approval.reason } : {}),
    }, 'warn');
    const req: RollbackRequest = {
      root: project.root,
      ids: story,
      cascade: mode === 'rollback' && d.cascade === true,
      reason: `monitor${approved}: ${d.reason}`,
      trigger: opts.trigger ?? 'monitor',
      continueOnError: false,
      command: opts.command,
      monitor: d,
      ...(opts.signal ? { signal: opts.signal } : {}),
    };
    const runId = newRunId();
    const { outcome, report } =
      mode === 'rollback' ? await rollbackNow(req) : await planAndApply(project.root, runId, () => mitigationPlan(req, mode, runId), req);
    const next = mode === 'rollback' ? undefined : `rollback-manager rollback ${story} --cascade --root ${project.root}`;
    return { story, mode, runId: report.runId, status: outcome.status, exitCode: outcome.exitCode, report: report.files.json, ...(next ? { next } : {}) };
  } catch (err) {
    return { story, mode, status: 'not-started', exitCode: 1, error: messageOf(err) };
  }
}

async function installedDependents(project: Project, story: string): Promise<string[]> {
  const snapshot = await gatherSnapshot(project, { quick: true });
  return dependentsOf(project.registry, project.flags, story).filter((id) => isInstalled(snapshot, id));
}

/**
 * The story's flag off with the flag cascade and (for a mitigation) its services stopped; nothing removed.
 * Planned with the dependents in the run so that their flags go off in the same write; of them only the flag
 * steps are kept.
 */
async function mitigationPlan(req: RollbackRequest, mode: ActResult['mode'], runId: string): Promise<{ project: Project; plan: Plan }> {
  const project = await loadProject(req.root);
  const snapshot = await gatherSnapshot(project, { quick: true });
  const now = new Date();
  // With the dependents in the run (cascade), so that their flags go off in the same write.
  const plan = assemblePlan(project.registry, project.flags, snapshot, planRequest({ ...req, cascade: true }, now, runId));
  const keep = (storyId: string, kind: string) => kind === 'disable-flag' || (mode === 'mitigate' && storyId === req.ids && kind === 'stop-services');
  const what = mode === 'mitigate' ? 'flag off and services stopped, nothing removed' : 'flag off only, nothing stopped or removed';
  return {
    project,
    plan: {
      ...plan,
      reason: `${req.reason} (${what})`,
      stories: plan.stories.map((s) => ({ ...s, actions: s.actions.filter((a) => keep(s.id, a.kind)) })),
      disk: { needed: 0, available: snapshot.diskAvailable },
    },
  };
}

/** The report's evidence for a run the monitor started. */
export type MonitorEvidence = NonNullable<RunReport['monitor']>;
