/**
 * `init --restore [backup-id]`: puts back what an init replaced (the pack's original `tools/rollback/`
 * files), from init's verified backup. The backup is re-read and checked first; the files come back
 * through a staging folder, over init's own, and are read back against the manifest (extractBackup).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { BackupIntegrityError, InvalidInputError } from '../model/errors.js';
import { LAYOUT } from '../model/layout.js';
import { realDirectory } from '../util/paths.js';
import { extractBackup, ManifestFile, verifyBackup } from '../backup/index.js';
import { backupsOf } from '../report/history.js';
import { INIT_BACKUP } from './init.js';

/** What `init --restore` puts back, or did. */
export interface InitRestore {
  root: string;
  backupId: string;
  /** The paths the backup holds, relative to the root. */
  paths: string[];
  /** True once they are back. */
  restored: boolean;
}

/**
 * Restores init's backup `id` (default: the newest). With `dryRun`, checks the backup and says what it would
 * put back, changing nothing. @throws InvalidInputError for no such backup (exit 2), BackupIntegrityError
 * for one that does not match its manifest (exit 1, nothing changed).
 */
export async function restoreInitBackup(rootArg: string, id: string | undefined, dryRun: boolean): Promise<InitRestore> {
  const root = realDirectory(rootArg, 'project root');
  const all = backupsOf(root, INIT_BACKUP);
  const backupId = id ?? all.at(-1);
  if (backupId === undefined) throw new InvalidInputError(`no backup of init in ${LAYOUT.backups}/ (init made none: it replaced nothing)`, { code: 'E_NO_BACKUP' });
  if (!all.includes(backupId) || !existsSync(path.join(root, LAYOUT.backups, backupId, 'manifest.json'))) {
    throw new InvalidInputError(`no backup ${backupId} of init in ${LAYOUT.backups}/ (init's are named ${INIT_BACKUP}_YYYYMMDD_HHMMSS)${all.length > 0 ? `; there are: ${all.join(', ')}` : ''}`, {
      code: 'E_NO_BACKUP',
    });
  }
  const dir = path.join(root, LAYOUT.backups, backupId);
  const manifest = ManifestFile.open(dir);
  if (manifest.head.meta.kind !== 'init') throw new InvalidInputError(`backup ${backupId} was not made by init`, { code: 'E_WRONG_BACKUP' });
  const report = await verifyBackup(dir, { manifest });
  if (!report.ok) throw new BackupIntegrityError(`backup ${backupId} does not match its manifest: ${report.problems.slice(0, 5).join('; ')}`, report.problems);
  const paths = [...manifest.entries()].map((e) => e.path);
  if (dryRun) return { root, backupId, paths, restored: false };
  await extractBackup({
    dir,
    root,
    overwrite: true,
    skipIdentical: true,
    stagingDir: path.join(root, LAYOUT.state, `init-restore-${randomBytes(4).toString('hex')}`),
  });
  return { root, backupId, paths, restored: true };
}
