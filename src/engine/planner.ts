import { InvalidInputError } from '../model/errors.js';
import type { FlagView, PackageDecision, Plan, Registry, Story, StoryPlan, Trigger } from '../model/types.js';
import { isInstalled, type PackageFootprint, type Snapshot } from '../model/snapshot.js';
import { ROLLBACK_ORDER, stepFor, type PlannedAction } from '../steps/registry.js';
import { customActions } from '../steps/custom-step.js';
import type { PlanInput } from '../steps/step.js';

export type { FlagView } from '../model/types.js';

/** What the user asked for. */
export interface PlanRequest {
  /** `all`, `1.3`, or `1.5,1.6,1.7`. */
  ids: string;
  cascade: boolean;
  reason: string;
  trigger: Trigger;
  runId: string;
  now: Date;
  /** Relative to the root. */
  flagsFile: string;
  backupsDir: string;
}

/** Story ids this story needs: declared ones plus those owning the features its flag depends on. */
export function storyDependencies(reg: Registry, flags: FlagView, story: Story): string[] {
  const deps = new Set(story.dependsOn);
  for (const feature of flags.features.get(story.feature)?.dependencies ?? []) {
    const owner = reg.byFeature.get(feature);
    if (owner && owner.id !== story.id) deps.add(owner.id);
  }
  return [...deps];
}

/** Dependencies before dependents, stable in registry order (never a string sort). */
export function topoOrder(reg: Registry, flags: FlagView): Story[] {
  const out: Story[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: Story, trail: string[]): void => {
    const st = state.get(s.id);
    if (st === 'done') return;
    if (st === 'visiting') {
      throw new InvalidInputError(`story dependency cycle: ${[...trail, s.id].join(' -> ')}`, { code: 'E_CYCLE' });
    }
    state.set(s.id, 'visiting');
    for (const dep of storyDependencies(reg, flags, s)) visit(reg.byId.get(dep) as Story, [...trail, s.id]);
    state.set(s.id, 'done');
    out.push(s);
  };
  for (const s of reg.stories) visit(s, []);
  return out;
}

/** Every story that depends on `id`, directly or through others. */
export function dependentsOf(reg: Registry, flags: FlagView, id: string): string[] {
  const out = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of reg.stories) {
      if (out.has(s.id) || s.id === id) continue;
      const deps = storyDependencies(reg, flags, s);
      if (deps.includes(id) || deps.some((d) => out.has(d))) {
        out.add(s.id);
        grew = true;
      }
    }
  }
  return reg.stories.filter((s) => out.has(s.id)).map((s) => s.id);
}

/** Every story `story` needs, directly or through others. */
export function transitiveDependencies(reg: Registry, flags: FlagView, story: Story): string[] {
  const out = new Set<string>();
  const queue = [story.id];
  while (queue.length > 0) {
    const s = reg.byId.get(queue.shift() as string) as Story;
    for (const dep of storyDependencies(reg, flags, s)) {
      if (!out.has(dep) && dep !== story.id) {
        out.add(dep);
        queue.push(dep);
      }
    }
  }
  return reg.stories.filter((s) => out.has(s.id)).map((s) => s.id);
}

export { isInstalled } from '../model/snapshot.js';

/** Parses `all`, `1.3` or `1.5,1.6,1.7` into known story ids; unknown ids are an input error. */
export function parseIds(reg: Registry, snapshot: Snapshot, ids: string): string[] {
  if (ids === 'all') return reg.stories.filter((s) => isInstalled(snapshot, s.id)).map((s) => s.id);
  if (ids.trim() === '') throw new InvalidInputError('no story given: use a story id such as 1.3, a list such as 1.5,1.6,1.7, or all');
  const list = ids.split(',');
  // A typo in a list of what to remove is not something to guess about: an empty entry or one with spaces
  // around it is refused, so `1.8,,1.7` or `" 1.8"` never runs as if it had been written right.
  const malformed = list.filter((x) => x === '' || x !== x.trim());
  if (malformed.length > 0) {
    throw new InvalidInputError(
      `"${ids}" is not a story list: ${malformed.includes('') ? 'it has an empty entry' : `${malformed.map((m) => JSON.stringify(m)).join(', ')} has spaces`}; write ids separated by commas only, such as 1.5,1.6,1.7`,
      { code: 'E_UNKNOWN_STORY' },
    );
  }
  const unknown = list.filter((x) => !reg.byId.has(x));
  if (unknown.length > 0) {
    throw new InvalidInputError(
      `unknown stor${unknown.length > 1 ? 'ies' : 'y'} ${unknown.join(', ')}; known: ${reg.stories.map((s) => s.id).join(', ')}`,
      { code: 'E_UNKNOWN_STORY' },
    );
  }
  return [...new Set(list)];
}

/**
 * Which stories the run takes and why, dependents first. Pure. Installed dependents of a requested story
 * are refused unless `cascade`, since removing what they need would break them.
 */
export function selectStories(reg: Registry, flags: FlagView, snapshot: Snapshot, req: Pick<PlanRequest, 'ids' | 'cascade'>): Array<{ story: Story; why: string }> {
  const requested = parseIds(reg, snapshot, req.ids);
  const selected = new Map<string, string>(requested.map((id) => [id, 'requested']));
  const blockers: string[] = [];
  for (const id of requested) {
    for (const dep of dependentsOf(reg, flags, id)) {
      if (selected.has(dep) || !isInstalled(snapshot, dep)) continue;
      if (req.cascade) selected.set(dep, `cascade: depends on ${id}`);
      else blockers.push(`${dep} depends on ${id}`);
    }
  }
  if (blockers.length > 0) {
    throw new InvalidInputError(
      `refusing: installed stories depend on what you asked to roll back (${blockers.join('; ')}). ` +
        'Roll them back too with --cascade, or name them in the list.',
      { code: 'E_DEPENDENTS' },
    );
  }
  return topoOrder(reg, flags)
    .reverse()
    .filter((s) => selected.has(s.id))
    .map((story) => ({ story, why: selected.get(story.id) as string }));
}

/**
 * Each selected story's package decisions: what it removes, keeps (another installed story outside the
 * run uses it) or does not have. Pure; the read phase measures what the removals take along.
 */
export function packageDecisionsOf(reg: Registry, snapshot: Snapshot, selection: ReadonlyArray<{ story: Story }>): Map<string, PackageDecision[]> {
  const inRun = new Set(selection.map((s) => s.story.id));
  return new Map(selection.map(({ story }) => [story.id, packageDecisions(reg, snapshot, story, inRun)]));
}

/**
 * Computes the plan: which stories, in which order, and exactly what each step will touch. Pure: it reads
 * only the registry, the flags, the snapshot and what the package removals take along (measured by the
 * read phase from {@link packageDecisionsOf}), so the plan it returns is final, and a dry run and a real
 * run plan the same thing.
 */
export function assemblePlan(
  reg: Registry,
  flags: FlagView,
  snapshot: Snapshot,
  req: PlanRequest,
  packageFootprints: ReadonlyMap<string, PackageFootprint> = new Map(),
): Plan<PlannedAction> {
  const selection = selectStories(reg, flags, snapshot, req);
  const decisions = packageDecisionsOf(reg, snapshot, selection);
  const enabled = new Map([...flags.features].map(([f, v]) => [f, v.enabled]));
  const run: PlanningState = { inRun: new Set(selection.map((s) => s.story.id)), enabled, takenBackupIds: new Set(snapshot.backupNames) };
  const stories = selection.map(({ story, why }) =>
    planStory(reg, flags, snapshot, req, story, why, run, decisions.get(story.id) ?? [], packageFootprints.get(story.id)),
  );
  const needed = stories.reduce((sum, s) => sum + s.actions.reduce((n, a) => n + (stepFor(a).diskNeeded?.(a) ?? 0), 0), 0);
  const warnings = stories.flatMap((s) => s.warnings.map((w) => `${s.id}: ${w}`));
  if (needed > snapshot.diskAvailable) {
    warnings.unshift(`not enough disk for the backups: ${needed} bytes needed, ${snapshot.diskAvailable} available`);
  }
  return {
    version: 1,
    operation: 'rollback',
    runId: req.runId,
    root: snapshot.root,
    createdAt: req.now.toISOString(),
    reason: req.reason,
    trigger: req.trigger,
    stories,
    warnings,
    disk: { needed, available: snapshot.diskAvailable },
  };
}

/** What planning one story needs to know of the stories planned before it. */
interface PlanningState {
  inRun: Set<string>;
  /** Flag values as they will be when this story's turn comes (earlier stories' changes applied). */
  enabled: Map<string, boolean>;
  /** Backup folder names on disk or planned by earlier stories. */
  takenBackupIds: Set<string>;
}

function planStory(
  reg: Registry,
  flags: FlagView,
  snapshot: Snapshot,
  req: PlanRequest,
  story: Story,
  why: string,
  run: PlanningState,
  decisions: PackageDecision[],
  footprint: PackageFootprint | undefined,
): StoryPlan<PlannedAction> {
  const snap = snapshot.stories.get(story.id);
  const installed = isInstalled(snapshot, story.id);
  const base: StoryPlan<PlannedAction> = {
    id: story.id,
    feature: story.feature,
    title: story.title,
    installed,
    presence: { present: snap?.paths.length ?? 0, declared: snap?.declared ?? 0 },
    why,
    dependencies: transitiveDependencies(reg, flags, story),
    actions: [],
    warnings: [],
  };
  if (!snap || !installed) {
    if (run.enabled.get(story.feature)) base.warnings.push(`flag ${story.feature} is on although nothing of the story is installed`);
    return base;
  }
  const warnings = base.warnings;
  if (snap.containers.unavailable !== null) {
    const names = (story.containers ?? []).map((c) => c.name ?? `label ${c.label}`).join(', ');
    warnings.push(`docker: ${snap.containers.unavailable}; containers ${names} were not checked or stopped`);
  }
  if (!flags.features.has(story.feature)) warnings.push(`${story.feature} is not in ${req.flagsFile}; no flag to turn off`);

  // Each registered step plans itself, in the registry's order; validation, last, names the others' checks.
  const input: Omit<PlanInput, 'checksSoFar'> = {
    story,
    snap,
    flags,
    flagsFile: req.flagsFile,
    backupsDir: req.backupsDir,
    now: req.now,
    enabled: run.enabled,
    takenBackupIds: run.takenBackupIds,
    packages: { decisions, footprint: footprint ?? null },
  };
  const actions: PlannedAction[] = [];
  const checksSoFar = (): string[] => actions.flatMap((a) => stepFor(a).checks?.(a, story) ?? []);
  for (const at of ROLLBACK_ORDER) {
    // The story's own steps come in at their phase; each built-in step plans itself.
    actions.push(...((typeof at === 'string' ? customActions(story, at) : (at.plan?.({ ...input, checksSoFar }) as PlannedAction[] | undefined)) ?? []));
  }
  for (const edit of story.sharedEdits) {
    if (!snapshot.existing.has(edit.file)) continue;
    warnings.push(`edited ${edit.file}${edit.owner ? ` (owned by ${edit.owner})` : ''}; that edit is not undone: ${edit.what}`);
  }
  const removed = new Set(snap.paths.map((p) => p.path));
  for (const other of reg.stories) {
    if (other.id === story.id || run.inRun.has(other.id) || !isInstalled(snapshot, other.id)) continue;
    for (const edit of other.sharedEdits) {
      if (edit.owner === story.id && removed.has(edit.file)) {
        warnings.push(`${other.id} edited ${edit.file}, which this rollback removes; ${other.id} stays installed and may break`);
      }
    }
  }
  return { ...base, actions };
}

/** A package another installed story lists is kept; the decision says who still uses it. */
function packageDecisions(reg: Registry, snapshot: Snapshot, story: Story, inRun: Set<string>): PackageDecision[] {
  const snap = snapshot.stories.get(story.id);
  const users = (manager: 'npm' | 'python', name: string): string[] =>
    reg.stories
      .filter((o) => o.id !== story.id && !inRun.has(o.id) && isInstalled(snapshot, o.id))
      .filter((o) => o[manager].includes(name) || (manager === 'npm' ? o.npmUses : o.pythonUses)?.includes(name))
      .map((o) => o.id);
  const decide = (manager: 'npm' | 'python', name: string, present: string[]): PackageDecision => {
    if (!present.includes(name)) {
      return {
        manager,
        name,
        action: 'absent',
        reason: manager === 'npm' ? 'not in package.json' : snapshot.venv ? `not installed in ${snapshot.venv}` : 'no project venv',
      };
    }
    const others = users(manager, name);
    if (others.length > 0) return { manager, name, action: 'keep', reason: `${others.join(' and ')} use${others.length === 1 ? 's' : ''} it` };
    return { manager, name, action: 'remove' };
  };
  return [
    ...story.npm.map((n) => decide('npm', n, snap?.npmPresent ?? [])),
    ...story.python.map((n) => decide('python', n, snap?.pythonPresent ?? [])),
  ];
}
