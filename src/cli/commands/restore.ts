import { InvalidInputError } from '../../model/errors.js';
import { prepareRestore, type RestoreRequest } from '../../app/restore.js';
import type { GlobalOptions } from '../global-options.js';
import { parseDuration } from '../../config/monitor-units.js';
import { runStarting } from '../interrupt.js';
import { runPlan, triggerFromEnv } from '../run-plan.js';

/** Options of `restore`, as commander parses them. */
export interface RestoreFlags {
  backup?: string;
  toVersion?: string;
  dryRun?: boolean;
  force?: boolean;
  reason?: string;
  run?: string;
  /** A duration, or true for `--watch` alone (monitor.watchTimeout). */
  watch?: string | true;
}

/**
 * `restore <story>`: the way back. The archive is verified before anything is written; a path that exists
 * again with other content is a conflict the plan lists, refused unless --force.
 */
export async function restoreCommand(g: GlobalOptions, story: string, opts: RestoreFlags, argv: string[]): Promise<number> {
  if ([opts.backup, opts.toVersion, opts.run].filter((o) => o !== undefined).length > 1) {
    throw new InvalidInputError('--backup, --to-version and --run each say what to restore from: give one', { code: 'E_USAGE' });
  }
  const toVersion = opts.toVersion === undefined ? undefined : Number(opts.toVersion);
  if (toVersion !== undefined && (!Number.isInteger(toVersion) || toVersion < 1)) {
    throw new InvalidInputError(`--to-version takes 1 (the newest backup), 2, …; not ${opts.toVersion}`, { code: 'E_USAGE' });
  }
  const req: RestoreRequest = {
    root: g.root,
    story,
    ...(opts.backup ? { backup: opts.backup } : {}),
    ...(toVersion !== undefined ? { toVersion } : {}),
    ...(opts.run !== undefined ? { run: opts.run } : {}),
    force: opts.force === true,
    reason: opts.reason ?? '',
    continueOnError: false,
    trigger: triggerFromEnv(),
    command: argv,
  };
  const watchMs = typeof opts.watch === 'string' ? parseDuration(opts.watch, '--watch') : undefined;
  if (watchMs !== undefined && !(watchMs > 0)) throw new InvalidInputError('--watch: must be more than 0', { code: 'E_USAGE' });
  const { project, plan } = await prepareRestore(req);
  const conflicts = plan.stories.flatMap((s) => s.actions.flatMap((a) => (a.kind === 'restore-files' ? a.conflicts : [])));
  if (conflicts.length > 0 && !opts.force && !opts.dryRun) {
    throw new InvalidInputError(
      `restore refused: ${conflicts.length} path(s) exist again: ${conflicts.slice(0, 10).join(', ')}${conflicts.length > 10 ? ', …' : ''}. ` +
        'Use --dry-run to see them all, or --force to replace them (they are backed up first).',
      { code: 'E_CONFLICT' },
    );
  }
  // No re-plan under the lock here: extraction itself refuses any path that appeared meanwhile, and planning
  // again would read and verify the whole archive a second time.
  const code = await runPlan(g, project, plan, req, { dryRun: opts.dryRun === true, force: opts.force === true });
  if (opts.watch === undefined || opts.dryRun === true || code !== 0) return code;
  // After the restore, the monitor's rounds on this story alone: exit 1 if it degrades (rolled back again, or only
  // alerted with monitor.autoRollbackOnFailure: false).
  const { watchAfterRestore } = await import('../../app/monitor-watch.js');
  const w = await watchAfterRestore({ root: project.root, story, ...(watchMs !== undefined ? { forMs: watchMs } : {}), command: argv, signal: runStarting(true) });
  // On stderr even with --json: stdout already holds the restore's one JSON document; logs/monitor.jsonl has the rest.
  process.stderr.write(`rollback-manager: ${w.message}\n`);
  return w.outcome === 'rolled-back' || w.outcome === 'degraded' ? 1 : 0;
}
