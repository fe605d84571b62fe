import { lstatSync } from 'node:fs';
import path from 'node:path';
import type { Project } from './project.js';
import type { Plan, PlannedAction } from '../model/types.js';
import { planNpmRemoval } from '../packages/npm-index.js';
import { findDistribution, findVenv } from '../packages/python-index.js';

type Packages = Extract<PlannedAction, { kind: 'packages' }>;

/**
 * Fills in, for each story's package decisions, the node_modules folders and venv files that go with the
 * packages it removes, and adds them to the backup's size. Read-only. Runs after the pure planner because
 * what a package drags along depends on which packages the run removes; the backup step computes it again
 * at apply time, so a run of several stories backs up what is really there by its turn.
 */
export function enrichPackagePlans(project: Project, plan: Plan): Plan {
  for (const story of plan.stories) {
    const pk = story.actions.find((a): a is Packages => a.kind === 'packages');
    if (!pk) continue;
    const npmNames = pk.decisions.filter((d) => d.manager === 'npm' && d.action === 'remove').map((d) => d.name);
    const pyNames = pk.decisions.filter((d) => d.manager === 'python' && d.action === 'remove').map((d) => d.name);
    if (npmNames.length > 0) {
      const p = planNpmRemoval(project.root, npmNames);
      pk.npm = { remove: p.remove, paths: p.paths, bytes: p.bytes };
    }
    if (pyNames.length > 0) {
      const venv = findVenv(project.root, project.config.venv);
      if (venv) {
        const dists = pyNames.flatMap((n) => {
          const d = findDistribution(venv, n);
          return d ? [d] : [];
        });
        const bytes = dists.reduce((sum, d) => sum + d.files.reduce((s, f) => s + sizeOf(path.join(project.root, f)), 0), 0);
        pk.python = { venv: venv.rel, dists: dists.map((d) => ({ name: d.name, version: d.version, files: d.files.length })), bytes };
      }
    }
    const backup = story.actions.find((a) => a.kind === 'backup');
    if (backup && backup.kind === 'backup') {
      backup.files += (pk.npm?.paths.length ?? 0) + (pk.python?.dists.reduce((n, d) => n + d.files, 0) ?? 0);
      backup.bytes += (pk.npm?.bytes ?? 0) + (pk.python?.bytes ?? 0);
    }
  }
  return plan;
}

function sizeOf(abs: string): number {
  try {
    const st = lstatSync(abs);
    return st.isFile() ? st.size : 0;
  } catch {
    return 0;
  }
}
