import type { PlannedAction } from '../model/types.js';
import { flagStep, type FlagStepResult } from './write-flag-changes.js';

type DisableFlag = Extract<PlannedAction, { kind: 'disable-flag' }>;

/** What the flag step changed, so its undo turns back on exactly those flags and no others. */
export type DisableFlagResult = FlagStepResult;

/** Turns the story's flag off, cascading to enabled dependents: the kill switch, first because it is instant. */
export const disableFlag = flagStep<DisableFlag>(
  'disable-flag',
  (a) =>
    a.changes.length === 0
      ? `flags: nothing to change in ${a.file}`
      : `flags: ${a.changes.map((c) => `${c.feature} ${c.from} -> ${c.to}`).join(', ')} in ${a.file}`,
  // Re-read at apply time: a flag someone already turned off needs no change (and no undo).
  (doc, a) => a.changes.filter((c) => doc.features.get(c.feature)?.enabled === c.from),
);
