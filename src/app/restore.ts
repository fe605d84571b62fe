import { existsSync } from 'node:fs';
import path from 'node:path';
import type { RunRequest } from './apply-plan.js';
import { BackupIntegrityError, InvalidInputError } from '../model/errors.js';
import { diskAvailable, inspectPaths } from '../project/inspect.js';
import { transitiveDependencies } from '../engine/planner.js';
import { loadProject, type Project } from '../project/project.js';
import { LAYOUT } from '../model/layout.js';
import { newRunId, withPlugins } from './rollback.js';
import { customActions, previewCustomSteps } from '../steps/custom-step.js';
import { planFlagsBack } from './restore-flags.js';
import { restorePlan, servicesNote } from './restore-plan.js';
import type { FlagChange, Plan, Story } from '../model/types.js';
import { isBelow, ManifestFile, scanRestore, SELECTED, verifyBackup, type ManifestHead, type RestoreScan } from '../backup/index.js';
import { existsNoFollow } from '../util/paths.js';
import { backupsOf } from '../report/history.js';
import type { SharedRemovals } from '../steps/backup.js';
import { NPM_RECORD_FILE } from '../steps/packages.js';
import type { RestoreEditsAction } from '../steps/restore-edits.js';
import type { KeptOnRestore } from '../steps/restore-files.js';
import type { PlannedAction } from '../steps/registry.js';

/** What `restore` is asked for. */
export interface RestoreRequest extends RunRequest {
  root: string;
  story: string;
  /** A backup id (`duckdb_analytics_20261122_030405`); default: the newest good one of the story. */
  backup?: string;
  /** The n-th most recent backup of the story (1 = newest), as `--to-version` in the seeds. */
  toVersion?: number;
  /** Replace files that exist again with other content (after backing them up). */
  force: boolean;
  reason: string;
  /** A rollback run that removed nothing of the story (a mitigation): turn back on the flags it turned off. */
  run?: string;
}

/**
 * Plans a restore: picks the backup (the newest that verifies, unless one is named), checks the archive
 * against its manifest, lists conflicts, and reads from the manifest which flags the rollback turned off.
 * Changes nothing.
 */
export async function prepareRestore(req: RestoreRequest, now = new Date()): Promise<{ project: Project; plan: Plan<PlannedAction> }> {
  const project = await loadProject(req.root);
  if (req.run !== undefined) return { project, plan: planFlagsBack(project, { ...req, run: req.run }, now) };
  const story = project.registry.byId.get(req.story);
  if (!story) {
    throw new InvalidInputError(`unknown story ${req.story}; known: ${project.registry.stories.map((s) => s.id).join(', ')}`, { code: 'E_UNKNOWN_STORY' });
  }
  const warnings: string[] = [];
  const named = req.toVersion !== undefined ? nthBackup(project, story, req.toVersion) : req.backup;
  const { id: backupId, file } = await chooseBackup(project, story, named, warnings);
  const manifest = file.head;
  const count = file.entryCount;
  // A file already back exactly as backed up (a restore interrupted, or restored by hand) is not in the way.
  const scan = scanRestore(file.entries(), count, project.root, { skipIdentical: true });
  const { conflicts, outsideLinks } = scan;
  const unsafe = conflicts.filter((c) => c.kind === 'unsafe');
  if (unsafe.length > 0) {
    throw new InvalidInputError(`restore of ${story.id} refused: ${unsafe.map((c) => `${c.path} ${c.reason}`).join('; ')}`, { code: 'E_PATH_ESCAPE' });
  }
  const onDisk = inspectPaths(project.root, story);
  const flagChanges = Array.isArray(manifest.meta.flagChanges) ? (manifest.meta.flagChanges as FlagChange[]) : [];
  const missingDeps = transitiveDependencies(project.registry, project.flags, story).filter(
    // Data a rollback kept in place is not the story installed.
    (dep) => inspectPaths(project.root, project.registry.byId.get(dep) as Story).paths.every((p) => p.kept !== undefined),
  );
  if (missingDeps.length > 0) {
    warnings.push(`${story.id} needs ${missingDeps.join(', ')}, not installed now: its flag stays effectively off until ${missingDeps.length > 1 ? 'they are' : 'it is'} restored too`);
  }
  const services = servicesNote(story);
  warnings.push(...services.map((w) => `${story.id}: ${w}`));
  const backupDir = `${LAYOUT.backups}/${backupId}`;
  const plan = restorePlan(project, story, req, now, {
    // As status counts it: the story's declared paths, and how many of them are on disk now.
    presence: { present: onDisk.paths.length, declared: onDisk.declared },
    why: `restore from ${backupId}`,
    actions: [
      ...customActions(story, 'before-restore'),
      {
        kind: 'restore-files',
        backupDir,
        backupId,
        files: manifest.totals.files,
        bytes: manifest.totals.bytes,
        conflicts: conflicts.map((c) => c.path),
        overwrite: req.force,
        outsideLinks,
        ...keptField(keptOnRestore(project.root, file, scan)),
      },
      ...sharedEdits(project, manifest, backupDir),
      { kind: 'enable-flags', changes: flagChanges, file: LAYOUT.flags },
      ...customActions(story, 'after-restore'),
    ],
    storyWarnings: [...conflicts.map((c) => `conflict: ${c.path} ${c.reason}${req.force ? ' — replaced, after a backup of it' : ''}`), ...services],
    planWarnings: warnings,
    disk: { needed: manifest.totals.bytes, available: diskAvailable(project.root) },
  });
  const withFiles = withPlugins(project, plan);
  await previewCustomSteps(withFiles.stories, project.plugins.modules, { root: project.root, runId: withFiles.runId, reason: withFiles.reason, trigger: withFiles.trigger });
  return { project, plan: withFiles };
}

function keptField(kept: KeptOnRestore[]): { kept?: KeptOnRestore[] } {
  return kept.length > 0 ? { kept } : {};
}

/**
 * What became of the data the rollback kept in place (its manifest's `meta.kept`): identical to the backup
 * (nothing to write, no conflict), changed since (a conflict, as any changed path), or gone, whole or in part
 * (written back like a removed path). A second pass over the entries, beside the scan's marks.
 */
function keptOnRestore(root: string, file: ManifestFile, scan: RestoreScan): KeptOnRestore[] {
  const meta = file.head.meta.kept;
  const kept = Array.isArray(meta)
    ? meta.filter((k): k is { path: string; why: string } => typeof k === 'object' && k !== null && typeof k.path === 'string' && typeof k.why === 'string')
    : [];
  if (kept.length === 0) return [];
  const toWrite = new Map(kept.map((k) => [k.path, 0]));
  let i = 0;
  for (const e of file.entries()) {
    const mark = scan.mark[i++];
    // Directories are always "written" (made when missing); only files and links tell what is in place.
    if (e.type === 'dir' || mark !== SELECTED) continue;
    const k = kept.find((x) => e.path === x.path || isBelow(e.path, x.path));
    if (k) toWrite.set(k.path, (toWrite.get(k.path) ?? 0) + 1);
  }
  return kept.map((k) => {
    const conflict = scan.conflicts.some((c) => c.path === k.path || isBelow(c.path, k.path) || isBelow(k.path, c.path));
    const state: KeptOnRestore['state'] = conflict
      ? 'changed'
      : !existsNoFollow(path.join(root, k.path))
        ? 'gone'
        : (toWrite.get(k.path) ?? 0) > 0
          ? 'partly-gone'
          : 'identical';
    return { path: k.path, why: k.why, state };
  });
}

/** A restore-edits step when the rollback cut anything from shared files (recorded in its backup). */
function sharedEdits(project: Project, manifest: ManifestHead, backupDir: string): RestoreEditsAction[] {
  const shared = manifest.meta.shared as SharedRemovals | undefined;
  const env = (shared?.env?.removed.length ?? 0) > 0;
  const yaml = (shared?.yaml ?? []).filter((y) => y.keys.some((k) => k.status === 'removed')).map((y) => y.file);
  const npm = existsSync(path.join(project.root, backupDir, NPM_RECORD_FILE));
  return env || yaml.length > 0 || npm ? [{ kind: 'restore-edits', env, yaml, npm }] : [];
}

/** The n-th most recent backup id of a story, or an input error saying how many there are. */
function nthBackup(project: Project, story: Story, n: number): string {
  const newestFirst = backupsOf(project.root, story.feature).reverse();
  const id = newestFirst[n - 1];
  if (id === undefined) {
    throw new InvalidInputError(`story ${story.id} has ${newestFirst.length} backup(s); --to-version ${n} names none`, { code: 'E_NO_BACKUP' });
  }
  return id;
}

async function chooseBackup(project: Project, story: Story, named: string | undefined, warnings: string[]): Promise<{ id: string; file: ManifestFile }> {
  if (named !== undefined) {
    if (!/^[\w.-]+$/.test(named) || !existsSync(path.join(project.root, LAYOUT.backups, named, 'manifest.json'))) {
      throw new InvalidInputError(`no backup ${named} in ${LAYOUT.backups}/ (a backup id looks like ${story.feature}_YYYYMMDD_HHMMSS)`, { code: 'E_NO_BACKUP' });
    }
    const file = await checked(project, named);
    if (file.head.meta.story !== story.id) {
      throw new InvalidInputError(`backup ${named} belongs to story ${String(file.head.meta.story)}, not ${story.id}`, { code: 'E_WRONG_BACKUP' });
    }
    return { id: named, file };
  }
  const candidates = backupsOf(project.root, story.feature).reverse();
  if (candidates.length === 0) throw new InvalidInputError(`no backup of story ${story.id} (${story.feature}) in ${LAYOUT.backups}/`, { code: 'E_NO_BACKUP' });
  for (const id of candidates) {
    try {
      return { id, file: await checked(project, id) };
    } catch (err) {
      if (!(err instanceof BackupIntegrityError)) throw err;
      // "The latest good one": a damaged backup is passed over, and said so.
      warnings.push(`backup ${id} skipped: ${err.problems.slice(0, 3).join('; ')}`);
    }
  }
  throw new BackupIntegrityError(`no backup of story ${story.id} verifies against its manifest`, warnings);
}

/** Reads a backup's manifest and checks the whole archive against it before anything is planned. */
async function checked(project: Project, id: string): Promise<ManifestFile> {
  const dir = path.join(project.root, LAYOUT.backups, id);
  const manifest = ManifestFile.open(dir);
  // The verify's pass over the entries is this file's first: the plan's pass after it reuses its checks.
  const report = await verifyBackup(dir, { manifest });
  if (!report.ok) throw new BackupIntegrityError(`backup ${id} does not match its manifest: ${report.problems.slice(0, 5).join('; ')}`, report.problems);
  return manifest;
}
