import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { defineStep, type StepDefinition } from './step.js';
import { fmtBytes } from '../util/format.js';
import { createBackup, extractBackup, isBelow, MANIFEST_FILE, ManifestFile, type OutsideLink } from '../backup/index.js';
import { existsNoFollow } from '../util/paths.js';

/** Plan of a restore's file step: the backup to restore from, and what is in the way. */
export type RestoreFilesAction = {
  kind: 'restore-files';
  /** Relative to the root. */
  backupDir: string;
  backupId: string;
  files: number;
  bytes: number;
  /** Paths that exist again with other content; restored over only with --force, after a backup of them. */
  conflicts: string[];
  overwrite: boolean;
  /**
   * The backup's symlinks whose target lies outside the root (a dbt `profiles.yml` linked to `~/.dbt`):
   * each is recreated as the same link, after every file, and never followed. Listed so a reader knows.
   */
  outsideLinks: OutsideLink[];
  /** The data the rollback kept in place, and what became of it since; absent: it kept none. */
  kept?: KeptOnRestore[];
};

/**
 * Data a rollback left in place, as a restore finds it: `identical` to the backup (nothing to write, no
 * conflict), `changed` since (a conflict like any other), `gone` or `partly-gone` (written back from the backup).
 */
export interface KeptOnRestore {
  path: string;
  why: string;
  state: 'identical' | 'changed' | 'gone' | 'partly-gone';
}

/** What the plan says of each kept path, by its state. */
const KEPT_STATE: Record<KeptOnRestore['state'], string> = {
  identical: 'in place, identical to the backup: nothing to write, no conflict',
  changed: 'changed since the rollback: its changed files are conflicts (above)',
  gone: 'gone since the rollback: restored from the backup',
  'partly-gone': 'in place, some of it gone since: the missing files restored from the backup',
};

/** Outward links the plan shows one by one; the JSON plan lists them all. */
const LINKS_SHOWN = 20;

/** What a restore put in place, so that its undo removes exactly that and puts back what it replaced. */
export interface RestoreFilesResult {
  files: number;
  bytes: number;
  /** Topmost paths that did not exist before the restore: the undo removes these. */
  created: string[];
  /** With --force, the conflicting files as they were, backed up before being replaced. */
  preRestoreBackup: string | null;
}

/**
 * Puts a story's files back from its backup: the archive is verified against its manifest first, extracted
 * through a staging folder inside the root, moved into place, and every file re-hashed against the manifest.
 */
export const restoreFiles: StepDefinition<RestoreFilesAction, RestoreFilesResult> = defineStep({
  kind: 'restore-files',
  describe(a) {
    const c = a.conflicts.length > 0 ? `; ${a.conflicts.length} conflict(s) ${a.overwrite ? 'replaced after a backup of them' : 'refused'}` : '';
    const l = a.outsideLinks.length > 0 ? `; ${a.outsideLinks.length} symlink(s) pointing outside the project recreated as links` : '';
    return `restore: ${a.files} file(s), ${a.bytes} bytes from ${a.backupDir}/${c}${l}`;
  },
  render: (a) => [
    `restore ${a.files} files, ${fmtBytes(a.bytes)} from ${a.backupDir}/ (archive verified against its manifest; every file re-hashed after)`,
    ...a.conflicts.map((c) => `conflict: ${c} exists again — ${a.overwrite ? 'replaced after a backup of it' : 'refused without --force'}`),
    ...(a.kept ?? []).map((k) => `kept: ${k.path} — ${KEPT_STATE[k.state]}`),
    ...a.outsideLinks.slice(0, LINKS_SHOWN).map((l) => `recreate symlink ${l.path} -> ${l.target} (points outside the project)`),
    ...(a.outsideLinks.length > LINKS_SHOWN ? [`… and ${a.outsideLinks.length - LINKS_SHOWN} more symlink(s) pointing outside the project (--json lists them all)`] : []),
  ],
  backupOf: (a) => ({ id: a.backupId, path: a.backupDir, files: a.files, bytes: a.bytes, verified: true }),
  async apply(ctx, story, a) {
    const dir = path.join(ctx.root, a.backupDir);
    // The topmost paths missing now: removing those undoes the restore of everything below them. In tree
    // order, what lies below a missing path comes right after it, and is missing too.
    const created: string[] = [];
    for (const e of ManifestFile.open(dir).entries()) {
      const top = created[created.length - 1];
      if (top !== undefined && isBelow(e.path, top)) continue;
      if (!existsNoFollow(path.join(ctx.root, e.path))) created.push(e.path);
    }
    const preRestoreBackup = a.overwrite && a.conflicts.length > 0 ? freeName(ctx.root, `${a.backupDir}_pre-restore_${ctx.plan.runId}`) : null;
    // Before anything is written: after a crash, the undo removes exactly these and nothing that was there.
    ctx.checkpoint({ created, preRestoreBackup });
    if (preRestoreBackup) {
      // Replacing a file is deleting it: it goes into a verified backup first, like everything else.
      await createBackup({
        root: ctx.root,
        paths: a.conflicts,
        destDir: path.join(ctx.root, preRestoreBackup),
        backupId: path.basename(preRestoreBackup),
        meta: { runId: ctx.plan.runId, story: story.id, feature: story.feature, purpose: 'files replaced by a forced restore' },
      });
    }
    const res = await extractBackup({
      dir,
      root: ctx.root,
      overwrite: a.overwrite,
      skipIdentical: true,
      stagingDir: path.join(ctx.stateDir, 'staging', `${a.backupId}-${ctx.plan.runId}`),
    });
    ctx.log.info({ event: 'files_restored', backupId: a.backupId, files: res.files, bytes: res.bytes }, `restored ${res.files} files from ${a.backupId}`);
    return { files: res.files, bytes: res.bytes, created, preRestoreBackup };
  },
  async revert(ctx, _story, _a, r) {
    for (const p of r.created) rmSync(path.join(ctx.root, p), { recursive: true, force: true });
    if (r.preRestoreBackup) {
      await extractBackup({
        dir: path.join(ctx.root, r.preRestoreBackup),
        root: ctx.root,
        overwrite: true,
        skipIdentical: true,
        stagingDir: path.join(ctx.stateDir, 'staging', `${path.basename(r.preRestoreBackup)}-revert`),
      });
    }
    return `removed ${r.created.length} restored path(s)${r.preRestoreBackup ? `, put back the replaced files from ${r.preRestoreBackup}/` : ''}`;
  },
  async salvage(ctx, _story, _a, saved) {
    // The first checkpoint was written before anything changed: what was missing then is what came back.
    const first = saved[0] as { created: string[]; preRestoreBackup: string | null } | undefined;
    if (!first) return null;
    const pre = saved.map((s) => (s as { preRestoreBackup: string | null }).preRestoreBackup).filter((p): p is string => p !== null);
    let complete: string | null = null;
    for (const p of pre) {
      // A half-made backup of the files in the way: they were not replaced yet (that comes after it).
      if (existsSync(path.join(ctx.root, p, MANIFEST_FILE))) complete = p;
      else rmSync(path.join(ctx.root, p), { recursive: true, force: true });
    }
    return { files: 0, bytes: 0, created: first.created, preRestoreBackup: complete };
  },
});

/** `wanted`, or `wanted_2`, `_3`… when a folder of that name exists (a resumed restore makes its own). */
function freeName(root: string, wanted: string): string {
  let name = wanted;
  for (let n = 2; existsSync(path.join(root, name)); n++) name = `${wanted}_${n}`;
  return name;
}
