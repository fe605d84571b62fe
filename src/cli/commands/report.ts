import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../../model/errors.js';
import { readHistory } from '../../report/history.js';
import type { GlobalOptions } from '../global-options.js';

/** `report [run-id]`: the Markdown report (the JSON with --json) of a run, the latest by default. */
export async function reportCommand(g: GlobalOptions, runId: string | undefined): Promise<number> {
  const root = path.resolve(g.root);
  const history = readHistory(root);
  const entry = runId ? history.find((h) => h.runId === runId) : history.at(-1);
  if (!entry) {
    throw new InvalidInputError(runId ? `no report for run ${runId} in rollback_reports/` : 'no reports yet in rollback_reports/', { code: 'E_NO_REPORT' });
  }
  const file = g.json ? entry.report : entry.report.replace(/\.json$/, '.md');
  process.stdout.write(readFileSync(path.join(root, file), 'utf8'));
  return 0;
}
