import type { FlagChange } from '../model/types.js';
import { planEnable } from '../flags/index.js';
import { flagStep } from './write-flag-changes.js';
import { count } from '../util/format.js';

/** Plan of the flag step of a restore: the flags the rollback turned off, from its backup's manifest. */
export type EnableFlagsAction = { kind: 'enable-flags'; changes: FlagChange[]; file: string };

/** Turns back on exactly the flags the rollback turned off (its backup's manifest records them). */
export const enableFlags = flagStep<EnableFlagsAction>({
  kind: 'enable-flags',
  describe: (a) =>
    a.changes.length === 0
      ? `flags: nothing to turn back on in ${a.file}`
      : `flags: ${a.changes.map((c) => `${c.feature} ${c.to} -> ${c.from}`).join(', ')} in ${a.file}`,
  render: (a) => [
    `flags in ${a.file}: ${a.changes.length === 0 ? 'none to turn back on' : `turn back on ${count(a.changes.length, 'flag')}`}`,
    ...a.changes.map((c) => `${c.feature}: ${c.to} -> ${c.from}  (the rollback turned it off: ${c.why})`),
  ],
  pick: (doc, a) => planEnable(doc, a.changes),
});
