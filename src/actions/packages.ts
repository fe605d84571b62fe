import type { ActionHandler } from './action.js';
import type { PackageDecision, PlannedAction } from '../core/types.js';

type Packages = Extract<PlannedAction, { kind: 'packages' }>;

/**
 * Package decisions. This version records them and leaves every package installed: removing npm and venv
 * packages (with their trees in the backup, restorable offline) is its own capability. The report says
 * plainly which packages were left, so nobody believes they are gone.
 */
export const packages: ActionHandler<Packages, { left: PackageDecision[]; kept: PackageDecision[] }> = {
  kind: 'packages',
  describe(a) {
    const remove = a.decisions.filter((d) => d.action === 'remove').map((d) => d.name);
    const keep = a.decisions.filter((d) => d.action === 'keep').map((d) => `${d.name} (${d.reason})`);
    if (remove.length === 0 && keep.length === 0) return 'packages: none installed';
    return `packages: ${[remove.length ? `left installed: ${remove.join(', ')}` : '', keep.length ? `kept: ${keep.join(', ')}` : ''].filter(Boolean).join('; ')}`;
  },
  async apply(_ctx, _story, a) {
    return { left: a.decisions.filter((d) => d.action === 'remove'), kept: a.decisions.filter((d) => d.action === 'keep') };
  },
  async revert() {
    return undefined;
  },
};
