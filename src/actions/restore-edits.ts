import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ActionHandler } from './action.js';
import type { SharedRemovals } from './backup.js';
import { NPM_RECORD_FILE } from './packages.js';
import type { PlannedAction } from '../core/types.js';
import { readManifest } from '../backup/index.js';
import { restoreEnvFile, restoreYamlFile } from '../edits/index.js';
import { revertNpmRemoval, type NpmRemovalRecord } from '../packages/npm-index.js';

type RestoreEdits = Extract<PlannedAction, { kind: 'restore-edits' }>;

/**
 * Puts back what a rollback cut from shared files, from its backup: `.env` variables and YAML keys at their
 * places, npm entries in package.json and the lockfile (the folders came back with the files). A variable
 * or key that exists again is not duplicated: it is reported.
 */
export const restoreEdits: ActionHandler<RestoreEdits, { conflicts: string[] }> = {
  kind: 'restore-edits',
  describe(a) {
    return `shared files: put back ${[a.env ? '.env variables' : '', a.yaml.length ? `keys in ${a.yaml.join(', ')}` : '', a.npm ? 'npm entries' : ''].filter(Boolean).join(', ')}`;
  },
  async apply(ctx, story) {
    const files = story.actions.find((x) => x.kind === 'restore-files');
    if (!files || files.kind !== 'restore-files') return { conflicts: [] };
    const dir = path.join(ctx.root, files.backupDir);
    const shared = readManifest(dir).meta.shared as SharedRemovals | undefined;
    const conflicts: string[] = [];
    if (shared?.env && shared.env.removed.length > 0) conflicts.push(...(await restoreEnvFile(path.join(ctx.root, '.env'), shared.env)).conflicts);
    for (const y of shared?.yaml ?? []) conflicts.push(...(await restoreYamlFile(path.join(ctx.root, y.file), y.file, y)).conflicts);
    const npmRecord = path.join(dir, NPM_RECORD_FILE);
    if (existsSync(npmRecord)) await revertNpmRemoval(ctx.root, JSON.parse(readFileSync(npmRecord, 'utf8')) as NpmRemovalRecord);
    if (conflicts.length > 0) ctx.log.warn({ event: 'restore_conflicts', conflicts }, 'some entries exist again and were not put back');
    return { conflicts };
  },
  async revert() {
    // The restored files are removed by restore-files' own undo; entries put back in shared files stay, and
    // the report says so (a later rollback removes them again).
    return 'entries put back in shared files stay';
  },
};
