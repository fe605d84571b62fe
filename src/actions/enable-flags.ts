import type { ActionHandler } from './action.js';
import type { FlagChange, PlannedAction } from '../core/types.js';
import { planEnable } from '../flags/index.js';
import { flagChangesMade, inverse, writeFlagChanges } from './write-flag-changes.js';

type EnableFlags = Extract<PlannedAction, { kind: 'enable-flags' }>;

/** Turns back on exactly the flags the rollback turned off (its backup's manifest records them). */
export const enableFlags: ActionHandler<EnableFlags, { applied: FlagChange[] }> = {
  kind: 'enable-flags',
  describe(a) {
    if (a.changes.length === 0) return `flags: nothing to turn back on in ${a.file}`;
    return `flags: ${a.changes.map((c) => `${c.feature} ${c.to} -> ${c.from}`).join(', ')} in ${a.file}`;
  },
  async apply(ctx, _story, a) {
    return { applied: await writeFlagChanges(ctx, a.file, (doc) => planEnable(doc, a.changes)) };
  },
  async revert(ctx, _story, a, r) {
    await writeFlagChanges(ctx, a.file, () => inverse(r.applied));
    return undefined;
  },
  async salvage(ctx, _story, a, saved) {
    const applied = await flagChangesMade(ctx, a.file, saved);
    return applied.length > 0 ? { applied } : null;
  },
  async resume(ctx, story, a, saved) {
    const before = await flagChangesMade(ctx, a.file, saved);
    const now = await enableFlags.apply(ctx, story, a);
    return { applied: [...before, ...now.applied] };
  },
};
