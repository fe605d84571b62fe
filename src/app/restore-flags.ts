/**
 * The way back from a rollback that removed nothing — the monitor's mitigation (flags off, services stopped) or
 * its `flag-only` action: there is no backup to restore, so `restore <story> --run <run-id>` turns back on exactly
 * the flags that run turned off for the story, read from its report. The same enable-flags step as a restore
 * from a backup, so it is journaled, reported and undone the same way.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../model/errors.js';
import { LAYOUT } from '../model/layout.js';
import type { FlagChange, Plan } from '../model/types.js';
import { restorePlan, servicesNote } from './restore-plan.js';
import type { Project } from '../project/project.js';
import type { RunReport } from '../report/run-report.js';
import type { PlannedAction } from '../steps/registry.js';
import type { RestoreRequest } from './restore.js';

/** The restore plan of a run that removed nothing of `storyId`: its flags back on, nothing else. */
export function planFlagsBack(project: Project, req: RestoreRequest & { run: string }, now: Date): Plan<PlannedAction> {
  const story = project.registry.byId.get(req.story);
  if (!story) throw new InvalidInputError(`unknown story ${req.story}`, { code: 'E_UNKNOWN_STORY' });
  if (!/^[\w.-]+$/.test(req.run)) throw new InvalidInputError(`--run ${req.run} is not a run id`, { code: 'E_USAGE' });
  const file = path.join(project.root, LAYOUT.reports, `${req.run}.json`);
  let report: RunReport;
  try {
    report = JSON.parse(readFileSync(file, 'utf8')) as RunReport;
  } catch (cause) {
    throw new InvalidInputError(`no report for run ${req.run} in ${LAYOUT.reports}/`, { code: 'E_NO_REPORT', cause });
  }
  const outcome = report.stories.find((s) => s.id === story.id);
  if (report.operation !== 'rollback' || outcome === undefined) {
    throw new InvalidInputError(`run ${req.run} did not roll back story ${story.id}`, { code: 'E_WRONG_RUN' });
  }
  if (outcome.backup) {
    throw new InvalidInputError(`run ${req.run} removed files of ${story.id} and backed them up: restore them with --backup ${outcome.backup.id}`, { code: 'E_WRONG_RUN' });
  }
  const changes: FlagChange[] = report.plan.stories
    .filter((s) => s.id === story.id)
    .flatMap((s) => s.actions)
    .flatMap((a) => (a.kind === 'disable-flag' ? ((a as unknown as { changes: FlagChange[] }).changes ?? []) : []));
  return restorePlan(project, story, req, now, {
    presence: { present: 0, declared: 0 },
    why: `undo run ${req.run}, which removed nothing: its flags back on`,
    actions: [{ kind: 'enable-flags', changes, file: LAYOUT.flags }],
    storyWarnings: servicesNote(story),
    planWarnings: [],
    disk: { needed: 0, available: 0 },
  });
}
