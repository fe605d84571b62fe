import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { LAYOUT } from '../model/layout.js';
import type { RunReport } from './run-report.js';
import { renderMarkdown } from './markdown.js';
import { writeFileAtomic } from '../util/atomic-write.js';

/** Where reports live, relative to the root. */
export const REPORTS_DIR = LAYOUT.reports;

/** The report's file names for a run, relative to the root. */
export function reportFiles(runId: string): RunReport['files'] {
  return { json: `${REPORTS_DIR}/${runId}.json`, markdown: `${REPORTS_DIR}/${runId}.md` };
}

/**
 * Writes the Markdown and JSON reports atomically (a crash never leaves half a report). The JSON comes
 * last: whoever finds a run's JSON (history, a script polling the folder) finds its Markdown too.
 */
export async function writeReport(root: string, report: RunReport): Promise<void> {
  mkdirSync(path.join(root, REPORTS_DIR), { recursive: true });
  await writeFileAtomic(path.join(root, report.files.markdown), renderMarkdown(report));
  await writeFileAtomic(path.join(root, report.files.json), `${JSON.stringify(report, replacer, 2)}\n`);
}

/** Manifests are in the backup folder; repeating thousands of entries in the report helps nobody. */
function replacer(key: string, value: unknown): unknown {
  return key === 'manifest' ? undefined : value;
}
