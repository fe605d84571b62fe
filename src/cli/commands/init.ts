import { applyInit, prepareInit, type InitEntry, type InitPlan, type InitResult } from '../../app/init.js';
import { restoreInitBackup } from '../../app/init-restore.js';
import { ExitCode, InvalidInputError } from '../../model/errors.js';
import { printJson, type GlobalOptions } from '../global-options.js';
import { toolsSourceFolder } from '../running-copy.js';

/** Options of `init`, as commander parses them. */
export interface InitFlags {
  dryRun?: boolean;
  force?: boolean;
  /** `--restore [backup-id]`: true without an id. */
  restore?: string | boolean;
}

const WRITES = new Set<InitEntry['action']>(['create', 'replace', 'append']);

/** `init`: vendor the tool into the project (or, with --restore, put back what an init replaced). */
export async function initCommand(g: GlobalOptions, opts: InitFlags): Promise<number> {
  if (opts.restore !== undefined && opts.restore !== false) return restoreCommand(g, opts.restore === true ? undefined : opts.restore, opts.dryRun === true);
  const prepared = await prepareInit({ root: g.root, force: opts.force === true, toolsSource: toolsSourceFolder() });
  const { plan } = prepared;
  if (opts.dryRun === true) {
    // A refusal with --json stays the one document on stdout (as a refused rollback's dry run).
    if (!g.json) process.stdout.write(renderInit(plan, null, true));
    else if (plan.refused.length === 0) printJson({ ...plan, dryRun: true });
    if (plan.refused.length > 0) {
      throw new InvalidInputError(`${plan.refused.join(', ')}: changed since init wrote ${plan.refused.length > 1 ? 'them' : 'it'}; init would refuse without --force`, {
        code: 'E_INIT_CHANGED',
        file: plan.refused[0],
      });
    }
    return ExitCode.ok;
  }
  const result = await applyInit(prepared);
  if (g.json) printJson({ ...result.plan, backup: result.backup ?? null, written: result.written });
  else process.stdout.write(renderInit(plan, result, false));
  return ExitCode.ok;
}

function renderInit(plan: InitPlan, result: InitResult | null, dryRun: boolean): string {
  const writes = plan.entries.filter((e) => WRITES.has(e.action));
  const out = [
    `${dryRun ? 'DRY RUN — nothing will be written. ' : ''}init of ${plan.root}${plan.version !== null ? ` with rollback-manager ${plan.version}` : ''}`,
  ];
  const width = Math.max(...plan.entries.map((e) => e.action.length));
  for (const e of plan.entries) out.push(`  ${e.action.padEnd(width)}  ${e.path} — ${e.why}`);
  if (plan.backup !== null) {
    const b = result?.backup;
    out.push(
      b
        ? `Backed up first, verified: ${b.dir}/ (${b.files} files). Put them back with: rollback-manager init --restore ${b.id}`
        : `${dryRun ? 'Would back up' : 'Backs up'} first: ${plan.backup.paths.join(', ')} to ${plan.backup.dir}/`,
    );
  }
  if (writes.length === 0 && plan.refused.length === 0) out.push('Nothing to do: the project is set up.');
  else if (!dryRun) out.push(`Wrote ${result?.written.length ?? 0} files. Try: node tools/rollback/rollback-manager.js status`);
  return `${out.join('\n')}\n`;
}

async function restoreCommand(g: GlobalOptions, id: string | undefined, dryRun: boolean): Promise<number> {
  const r = await restoreInitBackup(g.root, id, dryRun);
  if (g.json) printJson({ ...r, dryRun });
  else {
    const head = dryRun ? `DRY RUN — nothing will be written. Would put back from ${r.backupId}:` : `Put back from ${r.backupId} (verified first, read back after):`;
    const tail = dryRun ? [] : ['The other files init wrote stay; run init again to replace these once more.'];
    process.stdout.write(`${[head, ...r.paths.map((p) => `  ${p}`), ...tail].join('\n')}\n`);
  }
  return ExitCode.ok;
}
