import type { PlannedAction } from '../model/types.js';
import { planEnable } from '../flags/index.js';
import { flagStep } from './write-flag-changes.js';

type EnableFlags = Extract<PlannedAction, { kind: 'enable-flags' }>;

/** Turns back on exactly the flags the rollback turned off (its backup's manifest records them). */
export const enableFlags = flagStep<EnableFlags>(
  'enable-flags',
  (a) =>
    a.changes.length === 0
      ? `flags: nothing to turn back on in ${a.file}`
      : `flags: ${a.changes.map((c) => `${c.feature} ${c.to} -> ${c.from}`).join(', ')} in ${a.file}`,
  (doc, a) => planEnable(doc, a.changes),
);
