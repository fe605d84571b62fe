import path from 'node:path';
import type { ActionHandler } from './action.js';
import type { PlannedAction } from '../core/types.js';
import { createBackup, type Manifest } from '../backup/index.js';
import type { DisableFlagResult } from './disable-flag.js';

type Backup = Extract<PlannedAction, { kind: 'backup' }>;

/** The verified backup a later step may rely on. */
export interface BackupStepResult {
  dir: string;
  backupId: string;
  files: number;
  bytes: number;
  /** True only when the archive was re-read from disk and every file matched the manifest. */
  verified: boolean;
  archiveSha256: string;
  manifest: Manifest;
}

/** Backs up everything the plan removes, then re-reads the archive and checks it file by file. */
export const backup: ActionHandler<Backup, BackupStepResult> = {
  kind: 'backup',
  describe(a) {
    return `backup: ${a.files} file(s), ${a.bytes} bytes -> ${a.destination}/`;
  },
  async apply(ctx, story, a) {
    const remove = story.actions.find((x) => x.kind === 'remove-paths');
    const paths = remove && remove.kind === 'remove-paths' ? remove.paths.map((p) => p.path) : [];
    const res = await createBackup({
      root: ctx.root,
      paths,
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
        flagChanges: (ctx.results.get('disable-flag') as DisableFlagResult | undefined)?.applied ?? [],
      },
    });
    ctx.log.info({ event: 'backup_verified', backupId: a.backupId, files: res.verify.files, bytes: res.verify.bytes }, `backup ${a.backupId} verified`);
    // Keep the manifest out of the journal/report (it can hold thousands of entries); the file has it.
    return {
      dir: a.destination,
      backupId: a.backupId,
      files: res.manifest.totals.files,
      bytes: res.manifest.totals.bytes,
      verified: res.verify.ok,
      archiveSha256: res.manifest.archive.sha256,
      manifest: res.manifest,
    };
  },
  async revert(_ctx, _story, a) {
    // The backup is harmless and may be the only copy someone wants later: it is kept, and said so.
    return `backup kept at ${a.destination}/`;
  },
};
