import { prepareRollback, type RollbackRequest } from '../../app/rollback.js';
import type { GlobalOptions } from '../global-options.js';
import { runPlan, triggerFromEnv } from '../run-plan.js';

/** Options of `rollback`, as commander parses them. */
export interface RollbackFlags {
  dryRun?: boolean;
  force?: boolean;
  continueOnError?: boolean;
  reason?: string;
  cascade?: boolean;
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
  };
  const { project, plan } = await prepareRollback(req);
  const replan = async (): Promise<typeof plan> => (await prepareRollback(req)).plan;
  return runPlan(g, project, plan, req, { dryRun: opts.dryRun === true, force: opts.force === true, replan });
}
