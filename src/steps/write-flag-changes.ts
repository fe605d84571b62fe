import { defineStep, type RunContext, type StepDefinition } from './step.js';
import type { FlagChange } from '../model/types.js';
import { dirOf } from '../util/paths.js';
import { applyFlagChanges, loadFlags, writeFlags } from '../flags/index.js';

/** Which changes to make, given the flags file as it is now. */
type PickChanges = (doc: Awaited<ReturnType<typeof loadFlags>>) => FlagChange[];

/**
 * Re-reads the flags file, applies the changes as a minimal splice, writes it atomically and logs each
 * change. Shared by the flag steps of rollback and restore and by their undos, so every flag write goes
 * through one place.
 */
export async function writeFlagChanges(ctx: RunContext, file: string, pick: PickChanges): Promise<FlagChange[]> {
  return (await writeFlagChangesTogether([{ ctx, file, pick }]))[0] ?? [];
}

/**
 * {@link writeFlagChanges} for several steps at once: one read, each step's own changes picked and
 * checkpointed under its own step, then one atomic write of them all, so every flag of a run goes off at
 * the same instant and a crash leaves either all of them changed or none.
 */
export async function writeFlagChangesTogether(items: ReadonlyArray<{ ctx: RunContext; file: string; pick: PickChanges }>): Promise<FlagChange[][]> {
  const first = items[0];
  if (!first) return [];
  const files = new Set(items.map((i) => i.file));
  if (files.size > 1) throw new Error(`flag steps of one run name different flags files: ${[...files].join(', ')}`);
  const doc = await loadFlags(first.ctx.flagsAbs, first.file);
  const picked = items.map((i) => i.pick(doc));
  const all = picked.flat();
  if (all.length === 0) return picked;
  // Before the write: after a crash, these are the flags each step may have changed. One fsync for them
  // all, with the last, so each checkpoint is on disk before the one write.
  const announcing = items.flatMap((i, n) => ((picked[n] ?? []).length > 0 ? [{ ctx: i.ctx, changes: picked[n] }] : []));
  announcing.forEach((a, n) => a.ctx.checkpoint({ flagChanges: a.changes }, { sync: n === announcing.length - 1 }));
  await writeFlags(first.ctx.flagsAbs, applyFlagChanges(doc, all, new Date()));
  for (const c of all) {
    first.ctx.log.info({ event: 'feature_flag_changed', feature: c.feature, from: c.from, to: c.to, why: c.why }, `flag ${c.feature} -> ${c.to}`);
  }
  return picked;
}

/** The inverse of applied changes, for an undo. */
export function inverse(changes: readonly FlagChange[]): FlagChange[] {
  return changes.map((c) => ({ ...c, from: c.to, to: c.from, why: 'revert' }));
}

/**
 * After a crash: the changes a flag step announced (its checkpoints) that the file now shows made, which
 * are the ones its undo must turn back. Several checkpoints (a resume that crashed again) are merged.
 */
export async function flagChangesMade(ctx: RunContext, file: string, saved: readonly unknown[]): Promise<FlagChange[]> {
  const doc = await loadFlags(ctx.flagsAbs, file);
  const seen = new Map<string, FlagChange>();
  for (const s of saved) {
    for (const c of (s as { flagChanges?: FlagChange[] } | null)?.flagChanges ?? []) {
      if (!seen.has(c.feature) && doc.features.get(c.feature)?.enabled === c.to) seen.set(c.feature, c);
    }
  }
  return [...seen.values()];
}

/** The result of a flag step: the changes it made, which its undo turns back and no others. */
export interface FlagStepResult {
  applied: FlagChange[];
}

/** What differs between the two flag steps; the rest of a {@link StepDefinition} is the same for both. */
export type FlagStepSpecifics<A extends FlagAction> = Pick<StepDefinition<A, FlagStepResult>, 'kind' | 'plan' | 'describe' | 'render' | 'checks' | 'verify' | 'report' | 'audit'> & {
  /** Which changes to make, given the flags file as it is now. */
  pick(doc: Parameters<PickChanges>[0], a: A): FlagChange[];
  /** Made for every story of the run at once, before anything else (see {@link StepDefinition.applyFirst}). */
  first?: boolean;
};

/** The shape both flag steps' actions share. */
export type FlagAction = { kind: string; file: string; changes: FlagChange[] };

/**
 * A flag step (rollback's disable, restore's enable) from what differs between them. The write goes
 * through {@link writeFlagChanges}; the undo turns back exactly the changes made; after a crash the file
 * tells which of the announced changes were made (the write is atomic), and a resume keeps those and makes
 * the rest.
 */
export function flagStep<A extends FlagAction>({ pick, first, ...own }: FlagStepSpecifics<A>): StepDefinition<A, FlagStepResult> {
  const apply = async (ctx: RunContext, a: A): Promise<FlagStepResult> => ({ applied: await writeFlagChanges(ctx, a.file, (doc) => pick(doc, a)) });
  return defineStep<A, FlagStepResult>({
    ...own,
    apply: (ctx, _story, a) => apply(ctx, a),
    ...(first
      ? {
          applyFirst: async (items) =>
            (await writeFlagChangesTogether(items.map(({ ctx, action }) => ({ ctx, file: action.file, pick: (doc) => pick(doc, action) })))).map((applied) => ({ applied })),
        }
      : {}),
    async revert(ctx, _story, a, r) {
      await writeFlagChanges(ctx, a.file, () => inverse(r.applied));
      return undefined;
    },
    async salvage(ctx, _story, a, saved) {
      const applied = await flagChangesMade(ctx, a.file, saved);
      return applied.length > 0 ? { applied } : null;
    },
    async resume(ctx, _story, a, saved) {
      const before = await flagChangesMade(ctx, a.file, saved);
      const now = await apply(ctx, a);
      return { applied: [...before, ...now.applied] };
    },
    writesIn: (a) => [dirOf(a.file)],
  });
}
