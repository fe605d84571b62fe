import path from 'node:path';
import type { ActionHandler } from './step.js';
import { StepFailedError } from '../model/errors.js';
import type { PlannedAction } from '../model/types.js';
import { isEffective, loadFlags } from '../flags/index.js';
import { verifyGone } from '../services/index.js';
import { existsNoFollow, readTextOrNull } from '../util/paths.js';
import { planEnvRemoval } from '../edits/index.js';
import { npmPresent } from '../project/inspect.js';
import { findDistribution, findVenv } from '../packages/python-index.js';


type Validate = Extract<PlannedAction, { kind: 'validate' }>;

/** One validation check and what was observed. */
export interface Check {
  check: string;
  ok: boolean;
  detail: string;
}

/** Checks the end state on evidence (flag, paths, processes); only then is the story rolled back. */
export const validate: ActionHandler<Validate, { checks: Check[] }> = {
  kind: 'validate',
  describe(a) {
    return `validate: ${a.checks.join(', ')}`;
  },
  async apply(ctx, story) {
    const checks: Check[] = [];
    const flagAction = story.actions.find((a) => a.kind === 'disable-flag');
    const file = flagAction && flagAction.kind === 'disable-flag' ? flagAction.file : 'config/feature-flags.yaml';
    const doc = await loadFlags(ctx.flagsAbs, file);
    if (doc.features.has(story.feature)) {
      const on = isEffective(doc, story.feature);
      checks.push({ check: `flag ${story.feature} effectively off`, ok: !on, detail: `enabled: ${doc.features.get(story.feature)?.enabled}, effective: ${on}` });
    }
    const remove = story.actions.find((a) => a.kind === 'remove-paths');
    const left = (remove && remove.kind === 'remove-paths' ? remove.paths : []).filter((p) => existsNoFollow(path.join(ctx.root, p.path)));
    checks.push({ check: 'paths gone', ok: left.length === 0, detail: left.length === 0 ? 'all removed' : `still present: ${left.map((p) => p.path).join(', ')}` });
    const stop = story.actions.find((a) => a.kind === 'stop-services');
    if (stop && stop.kind === 'stop-services' && stop.processes.length > 0) {
      const survivors = await verifyGone(stop.processes);
      checks.push({
        check: 'processes gone',
        ok: survivors.length === 0,
        detail: survivors.length === 0 ? `${stop.processes.length} gone` : `still running: ${survivors.map((p) => `pid ${p.pid} (${p.cmdline})`).join(', ')}`,
      });
    }
    const env = story.actions.find((a) => a.kind === 'edit-env');
    if (env && env.kind === 'edit-env') {
      const left = planEnvRemoval(readTextOrNull(path.join(ctx.root, env.file)) ?? '', env.prefixes).lines.map((l) => l.name);
      checks.push({ check: '.env variables gone', ok: left.length === 0, detail: left.length === 0 ? `${env.entries.length} removed` : `still there: ${left.join(', ')}` });
    }
    const pk = story.actions.find((a) => a.kind === 'packages');
    if (pk && pk.kind === 'packages') {
      const npmGone = pk.decisions.filter((d) => d.manager === 'npm' && d.action === 'remove').map((d) => d.name);
      const stillListed = npmPresent(ctx.root, npmGone);
      if (npmGone.length > 0) checks.push({ check: 'npm packages gone', ok: stillListed.length === 0, detail: stillListed.length === 0 ? npmGone.join(', ') : `still in package.json: ${stillListed.join(', ')}` });
      const pyGone = pk.decisions.filter((d) => d.manager === 'python' && d.action === 'remove').map((d) => d.name);
      const venv = pyGone.length > 0 ? findVenv(ctx.root, ctx.config.venv) : null;
      if (venv) {
        const still = pyGone.filter((n) => findDistribution(venv, n) !== null);
        checks.push({ check: 'python packages gone', ok: still.length === 0, detail: still.length === 0 ? pyGone.join(', ') : `still in ${venv.rel}: ${still.join(', ')}` });
      }
    }
    const failed = checks.filter((c) => !c.ok);
    if (failed.length > 0) throw new StepFailedError(`validation failed: ${failed.map((c) => `${c.check}: ${c.detail}`).join('; ')}`, { code: 'E_VALIDATION' });
    return { checks };
  },
  async revert() {
    return undefined;
  },
};
