import { lstatSync } from 'node:fs';
import path from 'node:path';
import type { Project } from './project.js';
import type { PackageDecision } from '../model/types.js';
import type { PackageFootprint } from '../model/snapshot.js';
import { planNpmRemoval } from '../packages/npm-index.js';
import { findDistribution, findVenv, type DistInfo, type VenvInfo } from '../packages/python-index.js';

/**
 * The read phase's second look, once the planner's package decisions are known: for each story, the
 * node_modules folders and venv files that go with the packages it removes, measured on disk. What a
 * package drags along depends on which packages the run removes, hence after the decisions; the planner
 * then takes these as input and stays pure. The backup step computes them again at apply time, so a run
 * of several stories backs up what is really there by its turn.
 */
export function measurePackageRemovals(project: Project, decisions: ReadonlyMap<string, PackageDecision[]>): Map<string, PackageFootprint> {
  const out = new Map<string, PackageFootprint>();
  for (const [storyId, list] of decisions) {
    const footprint: PackageFootprint = { npm: null, python: null };
    const npmNames = removedPackages(list, 'npm');
    if (npmNames.length > 0) {
      const p = planNpmRemoval(project.root, npmNames);
      footprint.npm = { remove: p.remove, paths: p.paths, bytes: p.bytes };
    }
    const py = distributionsToRemove(project.root, project.config.venv, removedPackages(list, 'python'));
    if (py) {
      const bytes = py.dists.reduce((sum, d) => sum + d.files.reduce((s, f) => s + sizeOf(path.join(project.root, f)), 0), 0);
      footprint.python = { venv: py.venv.rel, dists: py.dists.map((d) => ({ name: d.name, version: d.version, files: d.files.length })), bytes };
    }
    out.set(storyId, footprint);
  }
  return out;
}

/** The names of one manager's packages that the decisions remove. */
export function removedPackages(decisions: readonly PackageDecision[], manager: PackageDecision['manager']): string[] {
  return decisions.filter((d) => d.manager === manager && d.action === 'remove').map((d) => d.name);
}

/**
 * The project venv and those of `names` installed in it, as the read phase measures them and the package
 * step backs them up; null when there is nothing to remove or no venv.
 */
export function distributionsToRemove(root: string, venvRel: string, names: readonly string[]): { venv: VenvInfo; dists: DistInfo[] } | null {
  const venv = names.length > 0 ? findVenv(root, venvRel) : null;
  if (!venv) return null;
  return { venv, dists: names.flatMap((n) => findDistribution(venv, n) ?? []) };
}

function sizeOf(abs: string): number {
  try {
    const st = lstatSync(abs);
    return st.isFile() ? st.size : 0;
  } catch {
    return 0;
  }
}
