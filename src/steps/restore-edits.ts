import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { actionsOf, defineStep, type StepDefinition } from './step.js';
import type { SharedRemovals } from './backup.js';
import { NPM_RECORD_FILE } from './packages.js';
import type { RestoreFilesAction } from './restore-files.js';
import { readManifestHead } from '../backup/index.js';
import { restoreEnvFile, restoreYamlFile } from '../edits/index.js';
import { revertNpmRemoval, type NpmRemovalRecord } from '../packages/npm-index.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { dirOf, readTextOrNull } from '../util/paths.js';

/** What the restore of shared entries did: conflicts, and each file's text before it (null: absent). */
export interface RestoreEditsResult {
  conflicts: string[];
  before: Record<string, string | null>;
}

/** Plan of a restore's shared-file step: what the rollback cut from shared files, from its backup. */
export type RestoreEditsAction = { kind: 'restore-edits'; env: boolean; yaml: string[]; npm: boolean };

const what = (a: RestoreEditsAction): string[] =>
  [a.env ? '.env variables' : '', a.yaml.length ? `keys in ${a.yaml.join(', ')}` : '', a.npm ? 'npm entries' : ''].filter(Boolean);

/**
 * Puts back what a rollback cut from shared files, from its backup: `.env` variables and YAML keys at their
 * places, npm entries in package.json and the lockfile (the folders came back with the files). A variable
 * or key that exists again is not duplicated: it is reported.
 */
export const restoreEdits: StepDefinition<RestoreEditsAction, RestoreEditsResult> = defineStep({
  kind: 'restore-edits',
  describe(a) {
    return `shared files: put back ${what(a).join(', ')}`;
  },
  render: (a) => [`put back in shared files: ${[a.env ? '.env variables' : '', ...a.yaml, a.npm ? 'npm entries in package.json and the lockfile' : ''].filter(Boolean).join(', ')}`],
  writesIn: (a) => ['', ...a.yaml.map(dirOf)],
  async apply(ctx, story) {
    const files = actionsOf<RestoreFilesAction>(story, 'restore-files')[0];
    if (!files) return { conflicts: [], before: {} };
    const dir = path.join(ctx.root, files.backupDir);
    const shared = readManifestHead(dir).meta.shared as SharedRemovals | undefined;
    const npmRecord = path.join(dir, NPM_RECORD_FILE);
    const record = existsSync(npmRecord) ? (JSON.parse(readFileSync(npmRecord, 'utf8')) as NpmRemovalRecord) : null;
    // The files as they are before any edit, journaled first: the undo (also after a crash) writes them back.
    const touched = [
      ...(shared?.env && shared.env.removed.length > 0 ? ['.env'] : []),
      ...(shared?.yaml ?? []).map((y) => y.file),
      ...(record?.files ?? []).map((f) => f.file),
    ];
    const before = Object.fromEntries(touched.map((f) => [f, readTextOrNull(path.join(ctx.root, f))]));
    ctx.checkpoint({ before });
    const conflicts: string[] = [];
    if (shared?.env && shared.env.removed.length > 0) conflicts.push(...(await restoreEnvFile(path.join(ctx.root, '.env'), shared.env)).conflicts);
    for (const y of shared?.yaml ?? []) conflicts.push(...(await restoreYamlFile(path.join(ctx.root, y.file), y.file, y)).conflicts);
    if (record) await revertNpmRemoval(ctx.root, record);
    if (conflicts.length > 0) ctx.log.warn({ event: 'restore_conflicts', conflicts }, 'some entries exist again and were not put back');
    return { conflicts, before };
  },
  async revert(ctx, _story, _a, r) {
    // Nothing else writes these files while the lock is held: their earlier text is the state to go back to.
    for (const [file, text] of Object.entries(r.before)) {
      const abs = path.join(ctx.root, file);
      if (text === null) rmSync(abs, { force: true });
      else if (readTextOrNull(abs) !== text) await writeFileAtomic(abs, text);
    }
    const n = Object.keys(r.before).length;
    return n > 0 ? `${Object.keys(r.before).join(', ')} as before the restore` : undefined;
  },
  async salvage(_ctx, _story, _a, saved) {
    const first = saved[0] as { before?: Record<string, string | null> } | undefined;
    return first?.before ? { conflicts: [], before: first.before } : null;
  },
});
