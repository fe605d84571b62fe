import type { FlagChange } from '../model/types.js';
import { isEffective, loadFlags } from '../flags/index.js';
import { flagStep, type FlagStepResult } from './write-flag-changes.js';

/** Plan of the flag step of a rollback: the story's flag off, and the enabled flags that depend on it. */
export type DisableFlagAction = { kind: 'disable-flag'; changes: FlagChange[]; file: string };

/** What the flag step changed, so its undo turns back on exactly those flags and no others. */
export type DisableFlagResult = FlagStepResult;

/** Turns the story's flag off, cascading to enabled dependents: the kill switch, first because it is instant. */
export const disableFlag = flagStep<DisableFlagAction>({
  kind: 'disable-flag',
  describe: (a) =>
    a.changes.length === 0
      ? `flags: nothing to change in ${a.file}`
      : `flags: ${a.changes.map((c) => `${c.feature} ${c.from} -> ${c.to}`).join(', ')} in ${a.file}`,
  render: (a) => [`flags in ${a.file}: ${a.changes.length === 0 ? 'already off' : ''}`, ...a.changes.map((c) => `${c.feature}: ${c.from} -> ${c.to}  (${c.why})`)],
  // Re-read at apply time: a flag someone already turned off needs no change (and no undo).
  pick: (doc, a) => a.changes.filter((c) => doc.features.get(c.feature)?.enabled === c.from),
  checks: (_a, story) => [`flag ${story.feature} effectively off`],
  async verify(ctx, story, a) {
    const doc = await loadFlags(ctx.flagsAbs, a.file);
    if (!doc.features.has(story.feature)) return [];
    const on = isEffective(doc, story.feature);
    return [{ check: `flag ${story.feature} effectively off`, ok: !on, detail: `enabled: ${doc.features.get(story.feature)?.enabled}, effective: ${on}` }];
  },
  report: (a) => (a.changes.length === 0 ? [] : [`Flags changed in \`${a.file}\`:`, ...a.changes.map((c) => `- \`${c.feature}\`: ${c.from} → ${c.to} (${c.why})`), '']),
  audit: (_a, r) => r.applied.map((c) => ({ event: 'feature_flag_changed', detail: { feature: c.feature, from: c.from, to: c.to, why: c.why } })),
});
