import type { ActionHandler } from './action.js';
import type { FlagChange, PlannedAction } from '../core/types.js';
import { flagChangesMade, inverse, writeFlagChanges } from './write-flag-changes.js';

type DisableFlag = Extract<PlannedAction, { kind: 'disable-flag' }>;

/** What the flag step changed, so its undo turns back on exactly those flags and no others. */
export interface DisableFlagResult {
  applied: FlagChange[];
}

/** Turns the story's flag off, cascading to enabled dependents: the kill switch, first because it is instant. */
export const disableFlag: ActionHandler<DisableFlag, DisableFlagResult> = {
  kind: 'disable-flag',
  describe(a) {
    if (a.changes.length === 0) return `flags: nothing to change in ${a.file}`;
    return `flags: ${a.changes.map((c) => `${c.feature} ${c.from} -> ${c.to}`).join(', ')} in ${a.file}`;
  },
  async apply(ctx, _story, a) {
    // Re-read at apply time: a flag someone already turned off needs no change (and no undo).
    const applied = await writeFlagChanges(ctx, a.file, (doc) => a.changes.filter((c) => doc.features.get(c.feature)?.enabled === c.from));
    return { applied };
  },
  async revert(ctx, _story, a, r) {
    await writeFlagChanges(ctx, a.file, () => inverse(r.applied));
    return undefined;
  },
  async salvage(ctx, _story, a, saved) {
    // The write is atomic: each announced flag is either changed or not; the file says which.
    const applied = await flagChangesMade(ctx, a.file, saved);
    return applied.length > 0 ? { applied } : null;
  },
  async resume(ctx, story, a, saved) {
    const before = await flagChangesMade(ctx, a.file, saved);
    const now = await disableFlag.apply(ctx, story, a);
    return { applied: [...before, ...now.applied] };
  },
};
