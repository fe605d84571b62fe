import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError, messageOf } from '../model/errors.js';
import { LAYOUT } from '../model/layout.js';
import { PATH_CATEGORIES, type Story } from '../model/types.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { count, mdInline } from '../util/format.js';
import { dependentsOf, storyDependencies } from '../engine/planner.js';
import { loadProject, type Project } from '../project/project.js';
import { packStatusOf, storyScript, TOOLS_DIR } from './pack-status.js';

/** The command the document shows: the vendored file, which works in the project with or without npm. */
const RM = `node ${TOOLS_DIR}/rollback-manager.js`;

/**
 * The pack's rollback procedures document (what its `generateRollbackDocs` wrote), from the project's
 * registry and flags: the quick-reference table, the commands, what each rollback takes away, restore.
 * The same project gives the same text (no date in it), so a committed copy only changes with the project.
 */
export function renderRollbackDocs(project: Project): string {
  const { registry, flags } = project;
  const status = packStatusOf(project);
  const stories = registry.stories;
  const first = stories[0]?.id ?? '1.2';
  // Examples name the project's own stories: one with dependents for --cascade, when there is one.
  const withDependents = stories.find((s) => dependentsOf(registry, flags, s.id).length > 0)?.id ?? first;
  const several = stories.slice(-3).map((s) => s.id).join(',') || first;
  const out = [
    '# Rollback Procedures',
    '',
    'How to roll back each story of this project, and to bring one back. Written from the project\'s stories and',
    `\`${LAYOUT.flags}\` by \`${RM} docs --output <file>\`; run it again after a change.`,
    '',
    '## Quick Reference',
    '',
    '| Story | Feature | Title | Script | Flag | Depends on |',
    '|-------|---------|-------|--------|------|------------|',
    ...stories.map((s) => {
      const st = status[s.id];
      const deps = storyDependencies(registry, flags, s);
      const script = st?.scriptExists ? `✓ \`${storyScript(s.id)}\`` : '✗ (run `rollback-manager init`)';
      const flag = flags.features.has(s.feature) ? (st?.featureEnabled ? 'Enabled' : 'Disabled') : 'no flag';
      return `| ${s.id} | \`${s.feature}\` | ${mdInline(s.title)} | ${script} | ${flag} | ${deps.length > 0 ? deps.join(', ') : '—'} |`;
    }),
    '',
    '## Rollback Commands',
    '',
    'Every rollback turns the flags off first, stops the services, backs up and verifies everything it removes,',
    'then removes it, validates, and writes a report with the command that undoes it. Without a terminal a',
    'rollback needs `--force`; `--dry-run` shows the plan and changes nothing.',
    '',
    '```bash',
    '# The plan of a rollback: changes nothing',
    `ROLLBACK_DRY_RUN=1 ./${storyScript(first)}`,
    `${RM} rollback ${first} --dry-run`,
    '',
    '# Roll back one story (asks in a terminal; --force in scripts and CI)',
    `ROLLBACK_REASON="why" ./${storyScript(first)} --force`,
    `${RM} rollback ${first} --force --reason "why" --verbose`,
    '',
    '# Several stories: dependents first',
    `${RM} rollback ${several} --force`,
    '',
    '# A story and every installed story that depends on it',
    `${RM} rollback ${withDependents} --cascade --force`,
    '',
    '# What is installed, running and rolled back; the last report; every run',
    `${RM} status`,
    `${RM} report`,
    `${RM} history`,
    '```',
    '',
    '## What Each Rollback Takes Away',
    '',
    ...stories.flatMap((s) => storySection(project, s)),
    '## Restore',
    '',
    `A rollback keeps what it removed in \`${LAYOUT.backups}/<feature>_<date>/\` (an archive and a manifest with each`,
    `file's sha256), and its report in \`${LAYOUT.reports}/\` names the command that undoes it:`,
    '',
    '```bash',
    '# The plan: the backup it takes, the flags it turns back on',
    `${RM} restore ${first} --dry-run`,
    '# From the newest backup that verifies; or a given one (--to-version 2: the one before)',
    `${RM} restore ${first} --force`,
    `${RM} restore ${first} --backup <id> --force`,
    '# Re-read every backup against its manifest',
    `${RM} verify`,
    '```',
    '',
    'A restore starts no service: the report gives the commands that start them again.',
  ];
  return `${out.join('\n')}\n`;
}

function storySection(project: Project, s: Story): string[] {
  const { registry, flags } = project;
  const paths = PATH_CATEGORIES.flatMap((c) => s[c]);
  const dependents = dependentsOf(registry, flags, s.id);
  const lines = [
    `- ${count(paths.length, 'declared path')} (${PATH_CATEGORIES.filter((c) => s[c].length > 0).map((c) => `${c} ${s[c].length}`).join(', ') || 'none'})`,
  ];
  const data = [...s.data, ...s.caches];
  if (data.length > 0) lines.push(`- data and caches: ${data.map((p) => `\`${p}\``).join(', ')}`);
  if (s.services.length > 0) lines.push(`- services stopped: ${s.services.map((v) => mdInline(v.name)).join(', ')}`);
  if (s.npm.length + s.python.length > 0) lines.push(`- packages removed: ${[...s.npm, ...s.python].map((p) => `\`${p}\``).join(', ')}`);
  if (s.envPrefixes.length > 0) lines.push(`- \`.env\` variables: ${s.envPrefixes.map((p) => `\`${p}…\``).join(', ')}`);
  if (dependents.length > 0) lines.push(`- installed dependents need \`--cascade\`: ${dependents.join(', ')}`);
  return [`### ${s.id} \`${s.feature}\` — ${mdInline(s.title)}`, '', ...lines, ''];
}

/**
 * Writes the document to `output` (relative to the working directory, as a command line names files).
 * @throws InvalidInputError naming the file when it cannot be written.
 */
export async function writeRollbackDocs(root: string, output: string): Promise<{ file: string; markdown: string }> {
  const markdown = renderRollbackDocs(await loadProject(root));
  const file = path.resolve(output);
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, markdown);
  } catch (err) {
    throw new InvalidInputError(`${output}: cannot be written: ${messageOf(err)}`, { code: 'E_OUTPUT', file: output, cause: err });
  }
  return { file, markdown };
}
