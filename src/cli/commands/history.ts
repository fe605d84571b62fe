import path from 'node:path';
import { readHistory, readInterrupted } from '../../report/history.js';
import { printJson, type GlobalOptions } from '../global-options.js';

/** `history [story]`: every run, oldest first, with its stories, trigger, reason, status and backups. */
export async function historyCommand(g: GlobalOptions, story: string | undefined): Promise<number> {
  const root = path.resolve(g.root);
  const runs = [...readHistory(root), ...readInterrupted(root)]
    .sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0))
    .filter((h) => !story || h.stories.some((s) => s.id === story));
  if (g.json) {
    printJson({ runs });
    return 0;
  }
  if (runs.length === 0) {
    process.stdout.write('No runs yet.\n');
    return 0;
  }
  const lines = runs.map(
    (h) =>
      `${h.runId}  ${h.operation.padEnd(8)} ${h.status.padEnd(12)} ${h.trigger.padEnd(7)} ${(h.durationMs / 1000).toFixed(1).padStart(6)} s  ` +
      `${h.stories.map((s) => `${s.id}:${s.status}${s.backup ? `[${s.backup}]` : ''}`).join(' ')}${h.reason ? `  "${h.reason}"` : ''}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
