import type { ActionHandler } from './action.js';
import type { FlagChange, PlannedAction } from '../core/types.js';
import { applyFlagChanges, loadFlags, writeFlags } from '../flags/index.js';

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
    const doc = await loadFlags(ctx.flagsAbs, a.file);
    // Re-read at apply time: a flag someone already turned off needs no change (and no undo).
    const applied = a.changes.filter((c) => doc.features.get(c.feature)?.enabled === c.from);
    if (applied.length === 0) return { applied };
    await writeFlags(ctx.flagsAbs, applyFlagChanges(doc, applied, new Date()));
    for (const c of applied) {
      ctx.log.info({ event: 'feature_flag_changed', feature: c.feature, from: c.from, to: c.to, why: c.why }, `flag ${c.feature} -> ${c.to}`);
    }
    return { applied };
  },
  async revert(ctx, _story, a, r) {
    if (r.applied.length === 0) return undefined;
    const doc = await loadFlags(ctx.flagsAbs, a.file);
    const back = r.applied.map((c) => ({ ...c, from: c.to, to: c.from, why: 'revert' }));
    await writeFlags(ctx.flagsAbs, applyFlagChanges(doc, back, new Date()));
    for (const c of back) ctx.log.info({ event: 'feature_flag_changed', feature: c.feature, from: c.from, to: c.to, why: 'revert' }, `flag ${c.feature} -> ${c.to} (revert)`);
    return undefined;
  },
};
