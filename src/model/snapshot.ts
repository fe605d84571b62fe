import type { FoundProcess, PlannedPath } from './types.js';

/** What is on disk now for one story: the planner's only view of the world. */
export interface StorySnapshot {
  id: string;
  paths: PlannedPath[];
  declared: number;
  processes: FoundProcess[];
  /** Services with no running process. */
  servicesNotFound: string[];
  npmPresent: string[];
  pythonPresent: string[];
  /** The story's variables in `.env` (by its prefixes), with their lines. */
  envEntries: Array<{ name: string; startLine: number; endLine: number }>;
  /** Declared containers: found ones, or why docker could not be asked. */
  containers: { found: Array<{ id: string; name: string; state: string }>; unavailable: string | null };
  /** The story's declared YAML keys that exist now, per file. */
  yamlKeys: Array<{ file: string; keys: string[][] }>;
}

/** Everything the planner needs, gathered once so that planning itself is pure. */
export interface Snapshot {
  root: string;
  stories: Map<string, StorySnapshot>;
  diskAvailable: number;
  /** True when the project's venv exists; Python packages are only ever looked for there. */
  venv: string | null;
  /** Files on disk that some story's shared edits name. */
  existing: Set<string>;
  /** Backup folder names already in `rollback_backups/`: a new backup never reuses one. */
  backupNames: Set<string>;
}

/**
 * What removing a story's packages takes along, measured by the read phase once the planner's package
 * decisions are known: the node_modules folders of its npm packages and the files of its Python
 * distributions in the project venv. The backup holds them all before any goes.
 */
export interface PackageFootprint {
  /** npm: the packages removed and the node_modules folders that go with them. */
  npm: { remove: string[]; paths: string[]; bytes: number } | null;
  /** Python: the project venv and each distribution removed from it with `pip uninstall`. */
  python: { venv: string; dists: Array<{ name: string; version: string; files: number }>; bytes: number } | null;
}

/**
 * True when anything of the story a rollback removes is on disk, or anything of it is running: data a rollback
 * keeps in place (see PlannedPath.kept) does not count, so a rolled-back story whose records stay is not
 * installed. Here, with the data it reads, rather than in the planner: `status` and `prune` ask it too, and
 * importing the planner would load every step module.
 */
export function isInstalled(snapshot: Snapshot, id: string): boolean {
  const s = snapshot.stories.get(id);
  return !!s && (s.paths.some((p) => p.kept === undefined) || s.processes.length > 0 || s.containers.found.length > 0);
}
