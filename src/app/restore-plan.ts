/**
 * The shape every restore plan has: one story, its actions, and the note that a restore starts no service. Shared
 * by a restore from a backup and by the undo of a run that removed nothing, so that both read the same.
 */
import type { Plan, Story, StoryPlan } from '../model/types.js';
import type { Project } from '../project/project.js';
import type { PlannedAction } from '../steps/registry.js';
import type { RestoreRequest } from './restore.js';
import { newRunId } from './rollback.js';

/**
 * A restore puts files, packages and flags back; it starts no process (a stopped service's state is gone anyway,
 * and starting the pack's servers is the team's call). Said under the story, with the pack's commands.
 */
export function servicesNote(story: Story): string[] {
  if (story.services.length === 0) return [];
  const how = story.services.map((s) => `${s.name}: ${s.start ?? s.argv?.join(' ') ?? s.pidFile ?? 'see the pack'}`).join('; ');
  return [`restore starts no service; start them again as the pack does: ${how}`];
}

/** A restore plan of one story. */
export function restorePlan(
  project: Project,
  story: Story,
  req: Pick<RestoreRequest, 'reason' | 'trigger'>,
  now: Date,
  part: Pick<StoryPlan<PlannedAction>, 'presence' | 'why' | 'actions'> & {
    /** Said under the story (its conflicts, its services). */
    storyWarnings: string[];
    /** Said of the whole run. */
    planWarnings: string[];
    disk: Plan['disk'];
  },
): Plan<PlannedAction> {
  return {
    version: 1,
    operation: 'restore',
    runId: newRunId(now),
    root: project.root,
    createdAt: now.toISOString(),
    reason: req.reason,
    trigger: req.trigger,
    stories: [
      {
        id: story.id,
        feature: story.feature,
        title: story.title,
        installed: true,
        presence: part.presence,
        why: part.why,
        dependencies: [],
        actions: part.actions,
        warnings: part.storyWarnings,
      },
    ],
    warnings: part.planWarnings,
    disk: part.disk,
  };
}
