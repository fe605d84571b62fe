import path from 'node:path';
import { readHistory, readInterrupted } from '../../report/history.js';
import { loadProject } from '../../project/project.js';
import { InvalidInputError } from '../../model/errors.js';
import { printJson, type GlobalOptions } from '../global-options.js';

/** `history [story]`: every run, oldest first, with its stories, trigger, reason, status and backups. */
export async function historyCommand(g: GlobalOptions, story: string | undefined): Promise<number> {
  const root = path.resolve(g.root);
  if (story !== undefined) {
    // An id no story has would list nothing and look like a story never rolled back.
    const { registry } = await loadProject(root);
    if (!registry.byId.has(story)) {
      throw new InvalidInputError(`unknown story ${story}; known: ${registry.stories.map((s) => s.id).join(', ')}`, { code: 'E_UNKNOWN_STORY' });
    }
  }
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
      `${h.stories.map((s) => `${s.id}:${s.status}${s.backup ? `[${s.backup}]` : ''}`).join(' ')}${h.reason ? `  ${JSON.stringify(h.reason)}` : ''}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
