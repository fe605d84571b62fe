import type { ActionHandler } from './action.js';
import type { FlagChange, PlannedAction } from '../core/types.js';
import { applyFlagChanges, loadFlags, planEnable, writeFlags } from '../flags/index.js';

type EnableFlags = Extract<PlannedAction, { kind: 'enable-flags' }>;

/** Turns back on exactly the flags the rollback turned off (its backup's manifest records them). */
export const enableFlags: ActionHandler<EnableFlags, { applied: FlagChange[] }> = {
  kind: 'enable-flags',
  describe(a) {
    if (a.changes.length === 0) return `flags: nothing to turn back on in ${a.file}`;
    return `flags: ${a.changes.map((c) => `${c.feature} ${c.to} -> ${c.from}`).join(', ')} in ${a.file}`;
  },
  async apply(ctx, _story, a) {
    const doc = await loadFlags(ctx.flagsAbs, a.file);
    const applied = planEnable(doc, a.changes);
    if (applied.length === 0) return { applied };
    await writeFlags(ctx.flagsAbs, applyFlagChanges(doc, applied, new Date()));
    for (const c of applied) ctx.log.info({ event: 'feature_flag_changed', feature: c.feature, from: c.from, to: c.to, why: c.why }, `flag ${c.feature} -> ${c.to}`);
    return { applied };
  },
  async revert(ctx, _story, a, r) {
    if (r.applied.length === 0) return undefined;
    const doc = await loadFlags(ctx.flagsAbs, a.file);
    const back = r.applied.map((c) => ({ ...c, from: c.to, to: c.from, why: 'revert' }));
    await writeFlags(ctx.flagsAbs, applyFlagChanges(doc, back, new Date()));
    return undefined;
  },
};
