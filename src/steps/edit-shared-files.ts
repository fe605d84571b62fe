import path from 'node:path';
import { defineStep, type StepDefinition } from './step.js';
import { verifiedBackup } from './remove-paths.js';
import { backup as backupStep } from './backup.js';
import { StepFailedError } from '../model/errors.js';
import { planEnvRemoval, removeEnvEntries, removeYamlKeys, restoreEnvEntries, restoreYamlKeys } from '../edits/index.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { dirOf, readTextOrNull } from '../util/paths.js';

/** A shared file as text; a missing one reads as empty (nothing to remove, everything to put back). */
const read = (root: string, rel: string): string => readTextOrNull(path.join(root, rel)) ?? '';

/** Plan of the `.env` step: the story's variables (by its prefixes) and their lines. */
export type EditEnvAction = {
  kind: 'edit-env';
  /** Relative to the root: `.env`. */
  file: string;
  prefixes: string[];
  entries: Array<{ name: string; startLine: number; endLine: number }>;
};

/** Plan of a YAML step: the story's keys in one file another story owns. */
export type EditYamlAction = { kind: 'edit-yaml'; file: string; keys: string[][] };

const lineSpan = (e: { startLine: number; endLine: number }): string => `line ${e.startLine}${e.endLine > e.startLine ? `-${e.endLine}` : ''}`;

/** Strips the story's variables from `.env`: exactly the lines its backup recorded, nothing else. */
export const editEnv: StepDefinition<EditEnvAction, { removed: string[] }> = defineStep({
  kind: 'edit-env',
  plan: ({ snap, story }) => (snap.envEntries.length > 0 ? [{ kind: 'edit-env', file: '.env', prefixes: story.envPrefixes, entries: snap.envEntries }] : []),
  describe(a) {
    return `.env: remove ${a.entries.map((e) => e.name).join(', ')}`;
  },
  render: (a) => [`${a.file}: remove ${a.entries.map((e) => `${e.name} (${lineSpan(e)})`).join(', ')}`],
  backupInputs: (ctx, a) => ({ shared: { env: removeEnvEntries(read(ctx.root, a.file), a.prefixes).record } }),
  checks: (a) => [`${a.entries.length} .env variable(s) gone`],
  async verify(ctx, _story, a) {
    const left = planEnvRemoval(readTextOrNull(path.join(ctx.root, a.file)) ?? '', a.prefixes).lines.map((l) => l.name);
    return [{ check: '.env variables gone', ok: left.length === 0, detail: left.length === 0 ? `${a.entries.length} removed` : `still there: ${left.join(', ')}` }];
  },
  report: (a) => [`Removed from \`${a.file}\` (the lines are in the backup's manifest):`, ...a.entries.map((e) => `- \`${e.name}\` (${lineSpan(e)})`), ''],
  writesIn: (a) => [dirOf(a.file)],
  async apply(ctx, _story, a) {
    const recorded = verifiedBackup(ctx).shared.env;
    const { text, record } = removeEnvEntries(read(ctx.root, a.file), a.prefixes);
    // The backup holds the lines as they were at backup time; anything else would be lost on restore.
    if (!recorded || JSON.stringify(record.removed) !== JSON.stringify(recorded.removed)) {
      throw new StepFailedError(`${a.file} changed since the backup; nothing removed from it`, { code: 'E_CHANGED_SINCE_BACKUP' });
    }
    if (record.removed.length > 0) await writeFileAtomic(path.join(ctx.root, a.file), text);
    ctx.log.info({ event: 'env_lines_removed', names: record.removed.map((r) => r.name) }, `${a.file}: removed ${record.removed.length} variable(s)`);
    return { removed: record.removed.map((r) => r.name) };
  },
  async revert(ctx, _story, a) {
    const recorded = verifiedBackup(ctx).shared.env;
    if (!recorded) return undefined;
    const { text, conflicts } = restoreEnvEntries(read(ctx.root, a.file), recorded);
    await writeFileAtomic(path.join(ctx.root, a.file), text);
    return conflicts.length > 0 ? `${a.file}: not put back (exist again): ${conflicts.join('; ')}` : undefined;
  },
  async salvage(ctx, _story, a) {
    // One atomic write: the lines are either all still there (nothing to undo) or all gone.
    const recorded = ctx.results.of(backupStep)?.shared.env;
    if (!recorded || recorded.removed.length === 0) return null;
    const still = removeEnvEntries(read(ctx.root, a.file), a.prefixes).record.removed;
    return JSON.stringify(still) === JSON.stringify(recorded.removed) ? null : { removed: recorded.removed.map((r) => r.name) };
  },
  async resume(ctx, story, a, saved) {
    return (await editEnv.salvage?.(ctx, story, a, saved)) ?? editEnv.apply(ctx, story, a);
  },
});

/** Removes the story's keys from a YAML file others own, by source range, comments and layout kept. */
export const editYaml: StepDefinition<EditYamlAction, { removed: string[] }> = defineStep({
  kind: 'edit-yaml',
  plan: ({ snap }) => snap.yamlKeys.map((y) => ({ kind: 'edit-yaml', file: y.file, keys: y.keys })),
  describe(a) {
    return `${a.file}: remove ${a.keys.map((k) => k.join('.')).join(', ')}`;
  },
  render: (a) => [`${a.file}: remove keys ${a.keys.map((k) => k.join('.')).join(', ')}`],
  backupInputs: (ctx, a) => ({ shared: { yaml: [removeYamlKeys(read(ctx.root, a.file), a.file, a.keys).record] } }),
  report: (a) => [`Removed from \`${a.file}\` (the text is in the backup's manifest):`, ...a.keys.map((k) => `- \`${k.join('.')}\``), ''],
  writesIn: (a) => [dirOf(a.file)],
  async apply(ctx, _story, a) {
    const recorded = verifiedBackup(ctx).shared.yaml.find((r) => r.file === a.file);
    const { text, record } = removeYamlKeys(read(ctx.root, a.file), a.file, a.keys);
    if (!recorded || JSON.stringify(record.keys) !== JSON.stringify(recorded.keys)) {
      throw new StepFailedError(`${a.file} changed since the backup; nothing removed from it`, { code: 'E_CHANGED_SINCE_BACKUP' });
    }
    await writeFileAtomic(path.join(ctx.root, a.file), text);
    const removed = record.keys.filter((k) => k.status === 'removed').map((k) => k.keyPath.join('.'));
    ctx.log.info({ event: 'yaml_keys_removed', file: a.file, keys: removed }, `${a.file}: removed ${removed.join(', ')}`);
    return { removed };
  },
  async revert(ctx, _story, a) {
    const recorded = verifiedBackup(ctx).shared.yaml.find((r) => r.file === a.file);
    if (!recorded) return undefined;
    const { text, conflicts } = restoreYamlKeys(read(ctx.root, a.file), a.file, recorded);
    await writeFileAtomic(path.join(ctx.root, a.file), text);
    return conflicts.length > 0 ? `${a.file}: not put back (exist again): ${conflicts.join('; ')}` : undefined;
  },
  async salvage(ctx, _story, a) {
    const recorded = ctx.results.of(backupStep)?.shared.yaml.find((r) => r.file === a.file);
    if (!recorded) return null;
    const still = removeYamlKeys(read(ctx.root, a.file), a.file, a.keys).record.keys;
    if (JSON.stringify(still) === JSON.stringify(recorded.keys)) return null;
    return { removed: recorded.keys.filter((k) => k.status === 'removed').map((k) => k.keyPath.join('.')) };
  },
  async resume(ctx, story, a, saved) {
    return (await editYaml.salvage?.(ctx, story, a, saved)) ?? editYaml.apply(ctx, story, a);
  },
});

