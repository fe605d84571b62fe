import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunReport } from './run-report.js';
import { LAYOUT } from '../model/layout.js';
import { interruptedRuns, readJournal } from '../engine/journal.js';
import type { Plan } from '../model/types.js';

/** One line of `history`. */
export interface HistoryEntry {
  runId: string;
  operation: RunReport['operation'];
  stories: Array<{ id: string; status: string; backup: string | null }>;
  trigger: RunReport['why']['trigger'];
  reason: string;
  status: RunReport['status'] | 'interrupted';
  startedAt: string;
  durationMs: number;
  report: string;
}

/** Every run report under `rollback_reports/`, oldest first (run ids sort by time). */
export function readHistory(root: string): HistoryEntry[] {
  let names: string[];
  try {
    names = readdirSync(path.join(root, LAYOUT.reports)).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const out: HistoryEntry[] = [];
  for (const name of names) {
    try {
      const r = JSON.parse(readFileSync(path.join(root, LAYOUT.reports, name), 'utf8')) as RunReport;
      out.push({
        runId: r.runId,
        operation: r.operation,
        stories: r.stories.map((s) => ({ id: s.id, status: s.status, backup: s.backup?.id ?? null })),
        trigger: r.why.trigger,
        reason: r.why.reason,
        status: r.status,
        startedAt: r.when.startedAt,
        durationMs: r.when.durationMs,
        report: `${LAYOUT.reports}/${name}`,
      });
    } catch {
      // A report someone edited by hand into invalid JSON is skipped rather than hiding all the others.
    }
  }
  return out;
}

/**
 * Runs a crash or kill interrupted: a journal with no end and no report. Their plan is in the journal's
 * first record, so history can still say what they were doing.
 */
export function readInterrupted(root: string): HistoryEntry[] {
  const stateDir = path.join(root, '.rollback-manager');
  const reported = new Set(readHistory(root).map((h) => h.runId));
  return interruptedRuns(stateDir)
    .filter((id) => !reported.has(id))
    .map((runId) => {
      const records = readJournal(path.join(stateDir, 'journal', `${runId}.jsonl`));
      const start = records.find((r) => r.event === 'run-start');
      const plan = (start?.detail as { plan?: Plan } | undefined)?.plan;
      const done = new Set(records.filter((r) => r.event === 'done').map((r) => `${r.story}:${r.kind}`));
      return {
        runId,
        operation: plan?.operation ?? 'rollback',
        stories: (plan?.stories ?? []).map((s) => ({ id: s.id, status: done.has(`${s.id}:validate`) ? 'rolled-back' : 'interrupted', backup: null })),
        trigger: plan?.trigger ?? 'manual',
        reason: plan?.reason ?? '',
        status: 'interrupted' as const,
        startedAt: start?.at ?? '',
        durationMs: records.length > 0 ? Date.parse(records.at(-1)?.at ?? '') - Date.parse(start?.at ?? '') || 0 : 0,
        report: `.rollback-manager/journal/${runId}.jsonl`,
      };
    });
}

/** Backup folders held for a feature: `rollback_backups/<feature>_<stamp>` with a manifest, newest last. */
export function backupsOf(root: string, feature: string): string[] {
  try {
    // Oldest first by stamp, then by the same-second suffix as a number (`_10` after `_2`).
    const key = (n: string): [string, number] => {
      const m = /_(\d{8}_\d{6})(?:_(\d+))?$/.exec(n);
      return [m?.[1] ?? '', Number(m?.[2] ?? 1)];
    };
    return readdirSync(path.join(root, 'rollback_backups'))
      .filter((n) => n.startsWith(`${feature}_`) && /_\d{8}_\d{6}(_\d+)?$/.test(n))
      .sort((a, b) => {
        const [sa, na] = key(a);
        const [sb, nb] = key(b);
        return sa < sb ? -1 : sa > sb ? 1 : na - nb;
      });
  } catch {
    return [];
  }
}
