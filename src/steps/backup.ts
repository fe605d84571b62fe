import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { actionsOf, defineStep, type RunContext, type StepDefinition } from './step.js';
import { disableFlag } from './disable-flag.js';
import type { EditEnvAction, EditYamlAction } from './edit-shared-files.js';
import type { PackagesAction } from './packages.js';
import type { RemovePathsAction } from './remove-paths.js';
import type { StoryPlan } from '../model/types.js';
import { fmtBytes } from '../util/format.js';
import { archiveFingerprint, createBackup, MANIFEST_FILE, readManifestHead, verifyBackup, type ManifestHead } from '../backup/index.js';
import { BackupIntegrityError } from '../model/errors.js';
import { removeEnvEntries, removeYamlKeys, type EnvRemovalRecord, type YamlRemovalRecord } from '../edits/index.js';
import { planNpmRemoval, type NpmRemovalPlan } from '../packages/npm-index.js';
import { findDistribution, findVenv } from '../packages/python-index.js';
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
type Backup = BackupAction;

/**
 * What a story's rollback removes from files it shares with others, recorded in the backup's manifest
 * before any of it is edited, so that the backup alone can put it back.
 */
export interface SharedRemovals {
  env: EnvRemovalRecord | null;
  yaml: YamlRemovalRecord[];
  /** The npm removal planned against the files as they are now, and those files' text before the edit. */
  npm: { plan: NpmRemovalPlan; packageJson: string | null; lockfile: string | null } | null;
  /** Distributions to uninstall from the project's venv, and their files (all in the archive). */
  python: { venv: string; dists: Array<{ name: string; version: string; files: string[] }> } | null;
}

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
 * Backs up everything the story's rollback removes (footprint, package folders, venv files) and records
 * what it will cut from shared files; then re-reads the archive and checks it file by file.
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
  render: (a) => [`back up ${a.files} files, ${fmtBytes(a.bytes)} -> ${a.destination}/ (re-read and verified before any removal)`],
  backupOf: (a, r) => ({ id: a.backupId, path: a.destination, files: a.files, bytes: a.bytes, verified: r.verified === true }),
  fingerprint: (a) => ({ kind: a.kind, files: a.files, bytes: a.bytes }),
  async apply(ctx, story, a) {
    const shared = sharedRemovals(ctx, story);
    const paths = [
      ...actionsOf<RemovePathsAction>(story, 'remove-paths').flatMap((r) => r.paths.map((p) => p.path)),
      ...(shared.npm?.plan.paths ?? []),
      ...(shared.python?.dists.flatMap((d) => d.files) ?? []),
    ];
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
async function loadVerifiedBackup(ctx: RunContext, a: Backup): Promise<BackupStepResult> {
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

/** Computed from the files as they are at this story's turn (earlier stories in the run may have changed them). */
function sharedRemovals(ctx: RunContext, story: StoryPlan): SharedRemovals {
  const out: SharedRemovals = { env: null, yaml: [], npm: null, python: null };
  for (const a of actionsOf<EditEnvAction>(story, 'edit-env')) out.env = removeEnvEntries(readTextOrNull(path.join(ctx.root, a.file)) ?? '', a.prefixes).record;
  for (const a of actionsOf<EditYamlAction>(story, 'edit-yaml')) out.yaml.push(removeYamlKeys(readTextOrNull(path.join(ctx.root, a.file)) ?? '', a.file, a.keys).record);
  for (const a of actionsOf<PackagesAction>(story, 'packages')) {
    const npmNames = a.decisions.filter((d) => d.manager === 'npm' && d.action === 'remove').map((d) => d.name);
    if (npmNames.length > 0) {
      const plan = planNpmRemoval(ctx.root, npmNames);
      if (plan.remove.length > 0) {
        out.npm = { plan, packageJson: readTextOrNull(path.join(ctx.root, 'package.json')), lockfile: plan.sources.lockfile ? readTextOrNull(path.join(ctx.root, plan.sources.lockfile)) : null };
      }
    }
    const pyNames = a.decisions.filter((d) => d.manager === 'python' && d.action === 'remove').map((d) => d.name);
    const venv = pyNames.length > 0 ? findVenv(ctx.root, ctx.config.venv) : null;
    if (venv) {
      const dists = pyNames.flatMap((n) => {
        const d = findDistribution(venv, n);
        return d ? [{ name: d.name, version: d.version, files: d.files }] : [];
      });
      if (dists.length > 0) out.python = { venv: venv.rel, dists };
    }
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
