import { ExitCode, InvalidInputError } from '../../model/errors.js';
import { applyPrune, planPrune } from '../../app/prune.js';
import { loadProject } from '../../project/project.js';
import { newRunId } from '../../app/rollback.js';
import { canAsk, confirm } from '../confirm.js';
import { printJson, type GlobalOptions } from '../global-options.js';
import { fmtBytes } from '../../util/format.js';

/** Options of `prune`, as commander parses them. */
export interface PruneFlags {
  keep?: string;
  dryRun?: boolean;
  force?: boolean;
}

/** `prune [--keep N] [--dry-run] [--force]`: old backups go; the newest N per story and any still needed stay. */
export async function pruneCommand(g: GlobalOptions, opts: PruneFlags): Promise<number> {
  const project = await loadProject(g.root);
  const keep = opts.keep === undefined ? project.config.backups.keep : Number(opts.keep);
  if (!Number.isInteger(keep) || keep < 0) throw new InvalidInputError(`--keep takes a whole number of 0 or more, not ${opts.keep}`, { code: 'E_USAGE' });
  const plan = await planPrune(project, keep);
  const text = [
    `${opts.dryRun ? 'DRY RUN — nothing will be deleted. ' : ''}Keep ${keep} backup(s) per story.`,
    ...plan.remove.map((b) => `  delete ${b.id} (${b.story}, ${fmtBytes(b.bytes)})`),
    ...plan.kept.map((b) => `  keep   ${b.id} (${b.why})`),
  ].join('\n');
  if (opts.dryRun || plan.remove.length === 0) {
    if (g.json) printJson({ dryRun: opts.dryRun === true, ...plan });
    else process.stdout.write(`${text}\n${plan.remove.length === 0 ? 'Nothing to delete.\n' : ''}`);
    return ExitCode.ok;
  }
  if (!opts.force) {
    if (!canAsk()) throw new InvalidInputError('refusing to delete backups without --force when not in a terminal (use --dry-run to see which)', { code: 'E_NEEDS_FORCE' });
    process.stderr.write(`${text}\n`);
    const answer = await confirm(`Delete ${plan.remove.length} backup(s)?`);
    if (answer === 'interrupted') return ExitCode.interrupted;
    if (!answer) return ExitCode.ok;
  }
  applyPrune(project, plan, newRunId());
  if (g.json) printJson({ dryRun: false, ...plan });
  else process.stdout.write(`${text}\nDeleted ${plan.remove.length} backup(s).\n`);
  return ExitCode.ok;
}
