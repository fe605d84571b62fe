import { prepareRollback, rollbackNow, type RollbackRequest } from '../../app/rollback.js';
import type { GlobalOptions } from '../global-options.js';
import { InvalidInputError } from '../../model/errors.js';
import { renderPlan } from '../render-plan.js';
import { runPlan, runWithProgress, triggerFromEnv } from '../run-plan.js';

/** Options of `rollback`, as commander parses them. */
export interface RollbackFlags {
  dryRun?: boolean;
  force?: boolean;
  continueOnError?: boolean;
  reason?: string;
  cascade?: boolean;
  keepData?: boolean;
  purgeData?: boolean;
}

/** `rollback <ids>`: plan, show, ask (or require --force), apply, report. Returns the exit code. */
export async function rollbackCommand(g: GlobalOptions, ids: string, opts: RollbackFlags, argv: string[]): Promise<number> {
  const req: RollbackRequest = {
    root: g.root,
    ids,
    cascade: opts.cascade === true,
    continueOnError: opts.continueOnError === true,
    reason: opts.reason ?? '',
    trigger: triggerFromEnv(),
    command: argv,
    ...(opts.keepData === true ? { data: 'keep' as const } : opts.purgeData === true ? { data: 'purge' as const } : {}),
  };
  if (opts.force === true && opts.dryRun !== true) return runWithProgress(g, (signal, onPlanned) => rollbackNow({ ...req, signal }, onPlanned));
  const { project, plan } = await prepareRollback(req).catch(async (err: unknown) => {
    // A dry run refused for installed dependents still shows what --cascade would do, then the refusal
    // (exit 2): the person asked to see a plan. With --json the refusal alone stays the one document.
    if (opts.dryRun === true && !g.json && err instanceof InvalidInputError && err.code === 'E_DEPENDENTS') {
      const withCascade = await prepareRollback({ ...req, cascade: true });
      process.stdout.write(`Refused as asked: ${err.message}\nWith --cascade the plan would be:\n\n`);
      process.stdout.write(renderPlan(withCascade.plan, { verbose: g.verbose, dryRun: true }));
    }
    throw err;
  });
  const replan = async (): Promise<typeof plan> => (await prepareRollback(req)).plan;
  return runPlan(g, project, plan, req, { dryRun: opts.dryRun === true, force: opts.force === true, replan });
}
