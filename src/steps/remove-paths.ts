import { lstatSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { defineStep, type RunContext, type StepDefinition } from './step.js';
import { backup as backupStep, type BackupStepResult } from './backup.js';
import { messageOf, RevertFailedError, StepFailedError } from '../model/errors.js';
import type { PlannedPath } from '../model/types.js';
import { count, fmtBytes } from '../util/format.js';
import { compareTreePaths, extractBackup, ManifestFile, type ManifestEntry } from '../backup/index.js';
import { existsNoFollow, resolveInsideRoot } from '../util/paths.js';

/**
 * Plan of the removal step: the story's footprint as found, each path resolved inside the root; `kept`: its data
 * left in place (each with its KeptMark), in the backup all the same. A plan without `kept` keeps nothing.
 */
export type RemovePathsAction = { kind: 'remove-paths'; paths: PlannedPath[]; files: number; bytes: number; kept?: PlannedPath[] };

/** Removes the story's footprint, and only what the verified backup holds exactly as it is on disk now. */
export const removePaths: StepDefinition<RemovePathsAction, { removed: string[] }> = defineStep({
  kind: 'remove-paths',
  plan: ({ snap }) => {
    // The plan carries the decision: a resume removes what it says, whatever the story or the flags say by then.
    const paths = snap.paths.filter((p) => p.kept === undefined);
    const kept = snap.paths.filter((p) => p.kept !== undefined);
    return [{ kind: 'remove-paths', paths, files: sum(paths, 'files'), bytes: sum(paths, 'bytes'), ...(kept.length > 0 ? { kept } : {}) }];
  },
  describe(a) {
    const kept = a.kept?.length ? `; ${a.kept.length} data path(s) kept in place` : '';
    return `remove: ${a.paths.length} path(s), ${a.files} file(s), ${a.bytes} bytes${kept}`;
  },
  render: (a, { verbose }) => [
    `remove ${count(a.paths.length, 'path')}, ${count(a.files, 'file')}, ${fmtBytes(a.bytes)}:`,
    ...(verbose ? a.paths : a.paths.slice(0, 12)).map((p) => `${p.path}${p.kind === 'dir' ? '/' : ''}  (${p.category}, ${count(p.files, 'file')}, ${fmtBytes(p.bytes)})`),
    ...(!verbose && a.paths.length > 12 ? [`… and ${a.paths.length - 12} more (--verbose lists all)`] : []),
    // Every kept path, always: what stays is what a person most needs to see before saying yes.
    ...(a.kept ?? []).map((p) => `kept: ${keptLine(p)}`),
  ],
  backupInputs: (_ctx, a) => ({ paths: a.paths.map((p) => p.path), kept: (a.kept ?? []).map((p) => ({ path: p.path, why: p.kept?.why ?? '' })) }),
  checks: (a) => [`${a.paths.length} path(s) gone`],
  async verify(ctx, _story, a) {
    const left = a.paths.filter((p) => existsNoFollow(path.join(ctx.root, p.path)));
    return [{ check: 'paths gone', ok: left.length === 0, detail: left.length === 0 ? 'all removed' : `still present: ${left.map((p) => p.path).join(', ')}` }];
  },
  report: (a) => [
    ...(a.paths.length === 0
      ? []
      : [`Paths removed (${a.files} files, ${fmtBytes(a.bytes)}):`, ...a.paths.map((p) => `- \`${p.path}\` (${p.category}, ${p.kind}, ${p.files} files, ${fmtBytes(p.bytes)})`), '']),
    ...(a.kept?.length
      ? ['Data kept in place (in the backup all the same, not removed):', ...a.kept.map((p) => `- \`${p.path}\` — ${keptLine(p, false)}`), '']
      : []),
  ],
  async apply(ctx, story, a) {
    return { removed: await removeBackedUp(ctx, a.paths.map((p) => p.path), `stories.${story.id}`) };
  },
  async revert(ctx, _story, _a, r) {
    const backup = verifiedBackup(ctx);
    await restoreFrom(ctx, backup, r.removed);
    return `restored ${r.removed.length} path(s) from ${backup.dir}/`;
  },
  async salvage(ctx, _story, a) {
    // No verified backup: the step refused before deleting anything.
    const backup = ctx.results.of(backupStep);
    if (!backup?.verified) return null;
    // Any of the paths the backup holds may be gone, or half gone; the undo restores what is missing.
    return { removed: heldPaths(ctx.root, backup, a.paths.map((p) => p.path)) };
  },
  async resume(ctx, story, a) {
    // What is already gone is skipped; what is left (even half a directory) is checked against the
    // backup again before it goes.
    await removePaths.apply(ctx, story, a);
    return { removed: heldPaths(ctx.root, verifiedBackup(ctx), a.paths.map((p) => p.path)) };
  },
});

function sum(paths: readonly PlannedPath[], field: 'files' | 'bytes'): number {
  return paths.reduce((n, p) => n + p[field], 0);
}

/**
 * A kept path for people: where, how much, why, and what would remove it (`--purge-data` for a path its story
 * keeps; a rollback without `--keep-data` for one kept only because the run was asked to).
 */
export function keptLine(p: PlannedPath, withPath = true): string {
  const what = `${count(p.files, 'file')}, ${fmtBytes(p.bytes)}`;
  const how = p.kept?.by === 'keep-data' ? 'kept by --keep-data' : '--purge-data removes it';
  return `${withPath ? `${p.path}${p.kind === 'dir' ? '/' : ''}  (${what}) — ` : `${what}; `}${p.kept?.why ?? 'kept'} (${how})`;
}

/** The paths among `rels` that the backup holds (the others did not exist when it was made). */
function heldPaths(root: string, backup: Pick<BackupStepResult, 'dir'>, rels: string[]): string[] {
  const wanted = new Set(rels);
  const held = new Set<string>();
  for (const e of ManifestFile.open(path.join(root, backup.dir)).entries()) if (wanted.has(e.path)) held.add(e.path);
  return rels.filter((p) => held.has(p));
}

/** The story's verified backup; every removal depends on it. */
export function verifiedBackup(ctx: RunContext): BackupStepResult {
  const backup = ctx.results.of(backupStep);
  if (!backup?.verified) throw new StepFailedError('refusing to remove anything: no verified backup for this story', { code: 'E_NO_BACKUP' });
  return backup;
}

/**
 * Deletes paths (relative to the root) after checking each is in the verified backup exactly as it is on
 * disk now; on failure half-way, puts back what it deleted, or raises RevertFailedError when it cannot.
 * Shared by every step that deletes: footprint, package folders.
 */
export async function removeBackedUp(ctx: RunContext, rels: string[], where: string): Promise<string[]> {
  const backup = verifiedBackup(ctx);
  // Check everything first, then delete: a file that changed since the backup would be lost.
  const present: Array<{ abs: string; rel: string }> = [];
  for (const rel of rels) {
    const resolved = resolveInsideRoot(ctx.root, rel, where);
    if (resolved.kind !== null) present.push({ abs: resolved.abs, rel });
  }
  assertBackedUp(path.join(ctx.root, backup.dir), present);
  const removed: string[] = [];
  try {
    for (const rel of rels) {
      const resolved = resolveInsideRoot(ctx.root, rel, where);
      if (resolved.kind === null) continue;
      // rmSync never follows a symlink: a link is unlinked, its target untouched.
      rmSync(resolved.abs, { recursive: resolved.kind === 'dir', force: false });
      removed.push(rel);
      ctx.log.info({ event: 'path_removed', path: rel }, `removed ${rel}`);
    }
  } catch (err) {
    // Undo our own partial work here: the executor only reverts steps that finished.
    try {
      await restoreFrom(ctx, backup, rels);
    } catch (restoreErr) {
      throw new RevertFailedError(
        `removal failed (${messageOf(err)}) and putting back ${removed.length} removed path(s) failed too (${messageOf(restoreErr)}); ` +
          `every removed file is in the verified backup ${backup.dir}/`,
        { cause: restoreErr },
      );
    }
    throw err;
  }
  return removed;
}

/**
 * Puts removed paths back from the verified backup (through a staging folder inside the root). What is
 * still in place exactly as backed up is left be, so this also mends a directory removed half-way.
 * Paths the backup does not hold (absent when it was made) are skipped.
 */
export async function restoreFrom(ctx: RunContext, backup: Pick<BackupStepResult, 'dir' | 'backupId'>, paths: string[]): Promise<void> {
  const only = heldPaths(ctx.root, backup, paths);
  if (only.length === 0) return;
  await extractBackup({
    dir: path.join(ctx.root, backup.dir),
    root: ctx.root,
    only,
    overwrite: false,
    skipIdentical: true,
    stagingDir: path.join(ctx.stateDir, 'staging', `${backup.backupId}-${process.pid}-${Date.now()}`),
  });
}

/**
 * Every file, link and directory at or below each target must be in the backup's manifest with the same
 * type, and a file with the same size and mtime. The disk is walked in tree order beside one pass over the
 * manifest (also in tree order), so neither is held whole.
 */
function assertBackedUp(backupDir: string, targets: Array<{ abs: string; rel: string }>): void {
  const sorted = [...targets].sort((a, b) => compareTreePaths(a.rel, b.rel));
  const entries = ManifestFile.open(backupDir).entries();
  let cur = entries.next();
  const entryAt = (rel: string): ManifestEntry | undefined => {
    while (!cur.done && compareTreePaths(cur.value.path, rel) < 0) cur = entries.next();
    return !cur.done && cur.value.path === rel ? cur.value : undefined;
  };
  const check = (abs: string, rel: string): void => {
    const st = lstatSync(abs);
    const entry = entryAt(rel);
    const type = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : 'file';
    if (!entry || entry.type !== type || (type === 'file' && entry.size !== st.size) || (type === 'file' && Math.trunc(entry.mtimeMs / 1000) !== Math.trunc(st.mtimeMs / 1000))) {
      throw new StepFailedError(`refusing to remove ${rel}: it changed since the backup or is not in it`, { code: 'E_CHANGED_SINCE_BACKUP' });
    }
    // Siblings in the manifest's order (a name has no '/', so tree order is code-unit order here).
    if (type === 'dir') for (const name of readdirSync(abs).sort(compareTreePaths)) check(path.join(abs, name), `${rel}/${name}`);
  };
  let last: string | null = null;
  for (const t of sorted) {
    if (last !== null && (t.rel === last || t.rel.startsWith(`${last}/`))) continue; // checked with the path above it
    check(t.abs, t.rel);
    last = t.rel;
  }
  // To the end: that completes the manifest's own checks.
  while (!cur.done) cur = entries.next();
}
