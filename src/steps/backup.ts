import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { defineStep, type BackupInputs, type RunContext, type SharedRemovals, type StepDefinition } from './step.js';
import { disableFlag } from './disable-flag.js';
import { count, fmtBytes } from '../util/format.js';
import { archiveFingerprint, createBackup, MANIFEST_FILE, readManifestHead, verifyBackup, type ManifestHead } from '../backup/index.js';
import { BackupIntegrityError } from '../model/errors.js';
import { parseFlags } from '../flags/index.js';
import { LAYOUT } from '../model/layout.js';
import { readTextOrNull } from '../util/paths.js';

/** Plan of the backup step: where the story's backup goes and about how much it holds. */
export type BackupAction = {
  kind: 'backup';
  /** Relative to the root: `rollback_backups/<feature>_<YYYYMMDD_HHMMSS>`. */
  destination: string;
  backupId: string;
  files: number;
  bytes: number;
};

export type { SharedRemovals } from './step.js';

/** The verified backup a later step may rely on. */
export interface BackupStepResult {
  dir: string;
  backupId: string;
  files: number;
  bytes: number;
  /** True only when the archive was re-read from disk and every file matched the manifest. */
  verified: boolean;
  /** The manifest's fingerprint of the archive (see archiveFingerprint). */
  archiveFingerprint: { kind: 'layout' | 'file'; sha256: string };
  /** Its head; the entries are read from the file when needed (ManifestFile). */
  manifest: ManifestHead;
  shared: SharedRemovals;
}

/**
 * Backs up everything the story's rollback removes (footprint, package folders, venv files) and the data it
 * keeps in place, and records what it will cut from shared files; then re-reads the archive and checks it file
 * by file.
 */
export const backup: StepDefinition<BackupAction, BackupStepResult> = defineStep({
  kind: 'backup',
  plan({ story, snap, packages: { footprint }, backupsDir, now, takenBackupIds }) {
    // Two runs in the same second (rollback, restore, rollback) would name the same folder: take the next free one.
    let backupId = backupIdFor(story.feature, now);
    for (let i = 2; takenBackupIds.has(backupId); i++) backupId = `${backupIdFor(story.feature, now)}_${i}`;
    takenBackupIds.add(backupId);
    // Everything the later steps remove: the footprint, and the package folders and venv files.
    const npm = footprint?.npm;
    const python = footprint?.python;
    const files = snap.paths.reduce((n, p) => n + p.files, 0) + (npm?.paths.length ?? 0) + (python?.dists.reduce((n, d) => n + d.files, 0) ?? 0);
    const bytes = snap.paths.reduce((n, p) => n + p.bytes, 0) + (npm?.bytes ?? 0) + (python?.bytes ?? 0);
    return [{ kind: 'backup', destination: `${backupsDir}/${backupId}`, backupId, files, bytes }];
  },
  // Each file costs a tar header and padding besides its bytes, and the archive its end blocks.
  diskNeeded: (a) => a.bytes + a.files * 1536 + 4096,
  describe(a) {
    return `backup: ${a.files} file(s), ${a.bytes} bytes -> ${a.destination}/`;
  },
  render: (a) => [`back up ${count(a.files, 'file')}, ${fmtBytes(a.bytes)} -> ${a.destination}/ (re-read and verified before any removal)`],
  backupOf: (a, r) => ({ id: a.backupId, path: a.destination, files: a.files, bytes: a.bytes, verified: r.verified === true }),
  fingerprint: (a) => ({ kind: a.kind, files: a.files, bytes: a.bytes }),
  async apply(ctx, story, a) {
    // Every later step says what it will remove; all of it goes into this backup first.
    const inputs = ctx.backupInputsOfLaterSteps();
    const shared = mergeShared(inputs);
    // Kept data goes into the backup too: a later --purge-data, or a person, may want it as it was.
    const kept = inputs.flatMap((x) => x.kept ?? []);
    const paths = [...inputs.flatMap((x) => x.paths ?? []), ...kept.map((k) => k.path)];
    const res = await createBackup({
      root: ctx.root,
      paths: outermost(paths),
      destDir: path.join(ctx.root, a.destination),
      backupId: a.backupId,
      compression: ctx.config.backups.compression,
      gzipLevel: ctx.config.backups.gzipLevel,
      meta: {
        runId: ctx.plan.runId,
        story: story.id,
        feature: story.feature,
        title: story.title,
        reason: ctx.plan.reason,
        trigger: ctx.plan.trigger,
        // What the flag step really changed (not what was planned): restore turns back on exactly these.
        flagChanges: ctx.results.of(disableFlag)?.applied ?? [],
        // Every flag as it was before this story's flag step, for a person reading the backup later.
        flags: flagSnapshot(ctx),
        shared,
        // What the rollback left in place: a restore finds it there, identical, and writes none of it.
        ...(kept.length > 0 ? { kept } : {}),
      },
    });
    ctx.log.info({ event: 'backup_verified', backupId: a.backupId, files: res.verify.files, bytes: res.verify.bytes }, `backup ${a.backupId} verified`);
    return {
      dir: a.destination,
      backupId: a.backupId,
      files: res.manifest.totals.files,
      bytes: res.manifest.totals.bytes,
      verified: res.verify.ok,
      archiveFingerprint: archiveFingerprint(res.manifest),
      manifest: res.manifest,
      shared,
    };
  },
  async revert(_ctx, _story, a) {
    // The backup is harmless and may be the only copy someone wants later: it is kept, and said so.
    return `backup kept at ${a.destination}/`;
  },
  async salvage(ctx, _story, a) {
    const dir = path.join(ctx.root, a.destination);
    // No manifest: the crash came before the backup was complete and checked, so it is no backup. The
    // folder is this run's own (its name was free when the run was planned): it goes.
    if (!existsSync(path.join(dir, MANIFEST_FILE))) {
      rmSync(dir, { recursive: true, force: true });
      return null;
    }
    return loadVerifiedBackup(ctx, a);
  },
  async resume(ctx, story, a, saved) {
    return (await backup.salvage?.(ctx, story, a, saved)) ?? backup.apply(ctx, story, a);
  },
  async rehydrate(ctx, _story, a) {
    // The journal names the backup; removals after a crash rely on it, so it is read and checked again.
    return loadVerifiedBackup(ctx, a);
  },
});

/** A finished backup read back from its folder and checked against its manifest, file by file. */
async function loadVerifiedBackup(ctx: RunContext, a: BackupAction): Promise<BackupStepResult> {
  const dir = path.join(ctx.root, a.destination);
  const manifest = readManifestHead(dir);
  const report = await verifyBackup(dir);
  if (!report.ok) throw new BackupIntegrityError(`backup ${a.destination}/ no longer matches its manifest`, report.problems);
  return {
    dir: a.destination,
    backupId: a.backupId,
    files: manifest.totals.files,
    bytes: manifest.totals.bytes,
    verified: true,
    archiveFingerprint: archiveFingerprint(manifest),
    manifest,
    shared: manifest.meta.shared as SharedRemovals,
  };
}

/** The later steps' records of what they cut from shared files, as the manifest keeps them. */
function mergeShared(inputs: readonly BackupInputs[]): SharedRemovals {
  const out: SharedRemovals = { env: null, yaml: [], npm: null, python: null };
  for (const { shared } of inputs) {
    if (!shared) continue;
    if (shared.env !== undefined) out.env = shared.env;
    if (shared.yaml) out.yaml.push(...shared.yaml);
    if (shared.npm !== undefined) out.npm = shared.npm;
    if (shared.python !== undefined) out.python = shared.python;
  }
  return out;
}

/** `enabled` of every feature before this story's flag step (its changes undone on paper). */
function flagSnapshot(ctx: RunContext): Record<string, boolean> {
  const flags = parseFlags(readTextOrNull(path.join(ctx.root, LAYOUT.flags)) ?? '', LAYOUT.flags);
  const out = Object.fromEntries([...flags.features].map(([name, f]) => [name, f.enabled]));
  for (const c of ctx.results.of(disableFlag)?.applied ?? []) out[c.feature] = c.from;
  return out;
}


/** Drops paths that lie inside another listed path: the archive holds each entry once. */
export function outermost(paths: string[]): string[] {
  const all = new Set(paths);
  const hasListedAncestor = (p: string): boolean => {
    for (let d = path.posix.dirname(p); d !== '.' && d !== '/'; d = path.posix.dirname(d)) if (all.has(d)) return true;
    return false;
  };
  return [...all].filter((p) => !hasListedAncestor(p)).sort();
}

/** `<feature>_<YYYYMMDD_HHMMSS>` in UTC, the layout the pack documents for `rollback_backups/`. */
export function backupIdFor(feature: string, now: Date): string {
  const iso = now.toISOString();
  return `${feature}_${iso.slice(0, 10).replace(/-/g, '')}_${iso.slice(11, 19).replace(/:/g, '')}`;
}
