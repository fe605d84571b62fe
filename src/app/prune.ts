import { rmSync } from 'node:fs';
import path from 'node:path';
import { acquireLock } from '../engine/lock.js';
import { isInstalled } from '../model/snapshot.js';
import { gatherSnapshot, type Project } from '../project/project.js';
import { LAYOUT } from '../model/layout.js';
import { audit } from '../report/audit-log.js';
import { backupsOf } from '../report/history.js';
import { measure } from '../project/inspect.js';

/** Which backups go and which stay, and why. */
export interface PrunePlan {
  keep: number;
  remove: Array<{ id: string; story: string; bytes: number }>;
  kept: Array<{ id: string; story: string; why: string }>;
}

/**
 * Keeps the newest `keep` backups of each story, and always the newest backup of a story that is rolled
 * back now (not installed): that is the one `restore` brings it back from. Read-only.
 */
export async function planPrune(project: Project, keep: number): Promise<PrunePlan> {
  const snapshot = await gatherSnapshot(project);
  const plan: PrunePlan = { keep, remove: [], kept: [] };
  for (const story of project.registry.stories) {
    const ids = backupsOf(project.root, story.feature).reverse(); // newest first
    const rolledBack = !isInstalled(snapshot, story.id);
    ids.forEach((id, i) => {
      if (i < keep) plan.kept.push({ id, story: story.id, why: `among the newest ${keep}` });
      else if (i === 0 && rolledBack) plan.kept.push({ id, story: story.id, why: `story ${story.id} is rolled back: restore needs it` });
      else plan.remove.push({ id, story: story.id, bytes: measure(path.join(project.root, LAYOUT.backups, id)).bytes });
    });
  }
  return plan;
}

/** Deletes the planned backups under the project lock, and records it in the audit log. */
export function applyPrune(project: Project, plan: PrunePlan, runId: string): void {
  const lock = acquireLock(project.stateDir, runId);
  try {
    for (const b of plan.remove) rmSync(path.join(project.root, LAYOUT.backups, b.id), { recursive: true, force: true });
    audit(project.root, 'backups_pruned', { runId, keep: plan.keep, removed: plan.remove.map((b) => b.id), kept: plan.kept.map((b) => b.id) });
  } finally {
    lock.release();
  }
}
