import type { FlagChange, FlagView } from '../model/types.js';
import { isEffective, loadFlags } from '../flags/index.js';
import { flagStep, type FlagStepResult } from './write-flag-changes.js';
import { count } from '../util/format.js';

/** Plan of the flag step of a rollback: the story's flag off, and the enabled flags that depend on it. */
export type DisableFlagAction = { kind: 'disable-flag'; changes: FlagChange[]; file: string };

/** What the flag step changed, so its undo turns back on exactly those flags and no others. */
export type DisableFlagResult = FlagStepResult;

/**
 * Turns the story's flag off, cascading to enabled dependents: the kill switch. Every story's flag of a run
 * goes off first, in one write, before any story is backed up or removed: in an incident the flags are the
 * first minute, and a large backup must not hold a flag on behind it.
 */
export const disableFlag = flagStep<DisableFlagAction>({
  kind: 'disable-flag',
  first: true,
  plan: ({ story, flags, enabled, flagsFile }) => [{ kind: 'disable-flag', changes: cascadeOff(flags, enabled, story.feature), file: flagsFile }],
  describe: (a) =>
    a.changes.length === 0
      ? `flags: nothing to change in ${a.file}`
      : `flags: ${a.changes.map((c) => `${c.feature} ${c.from} -> ${c.to}`).join(', ')} in ${a.file}`,
  render: (a) => [
    `flags in ${a.file}: ${a.changes.length === 0 ? 'already off' : `turn off ${count(a.changes.length, 'flag')}`}`,
    ...a.changes.map((c) => `${c.feature}: ${c.from} -> ${c.to}  (${c.why})`),
  ],
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

/**
 * The story's flag off, and every enabled flag that depends on it (transitively), as the pack's manager
 * does. `enabled` is the run's view of the flags when this story's turn comes: the changes are made in it,
 * so a later story of the run does not turn off a flag again.
 */
function cascadeOff(flags: FlagView, enabled: Map<string, boolean>, feature: string): FlagChange[] {
  const changes: FlagChange[] = [];
  if (!enabled.get(feature)) return changes;
  changes.push({ feature, from: true, to: false, why: 'rolled back' });
  enabled.set(feature, false);
  const queue = [feature];
  while (queue.length > 0) {
    const off = queue.shift() as string;
    for (const [name, f] of flags.features) {
      if (enabled.get(name) && f.dependencies.includes(off)) {
        changes.push({ feature: name, from: true, to: false, why: `depends on ${off}` });
        enabled.set(name, false);
        queue.push(name);
      }
    }
  }
  return changes;
}
