import { existsSync } from 'node:fs';
import path from 'node:path';
import { isInstalled } from '../model/snapshot.js';
import type { PlannedPath } from '../model/types.js';
import { gatherSnapshot, loadProject } from '../project/project.js';
import { interruptedRuns } from '../engine/journal.js';
import { liveHolder, type LockHolder } from '../engine/lock.js';
import { effectiveStates } from '../flags/index.js';
import { backupsOf, readHistory } from '../report/history.js';
import { messageOf } from '../model/errors.js';
import { loadStore, runningMonitor } from './monitor-store.js';
import { openProposalCount } from './monitor-proposal-store.js';

/** One story as `status` shows it. */
export interface StoryStatus {
  id: string;
  feature: string;
  title: string;
  flag: { enabled: boolean | null; effective: boolean | null };
  installed: boolean;
  footprint: { present: number; declared: number; files: number; bytes: number };
  services: Array<{ pid: number; service: string; port: number | null; cmdline: string }>;
  lastRun: { runId: string; status: string; at: string } | null;
  backups: string[];
  /**
   * The story's data on disk that a rollback keeps in place (records and history), each with why: after a
   * rollback, what it left; before one, what it will leave. Not counted in `installed`.
   */
  keptData: Array<{ path: string; kind: PlannedPath['kind']; why: string; files: number; bytes: number }>;
}

/** What is installed and running per story, its flag, its last run and its backups; and any run in progress. */
export interface ProjectStatus {
  root: string;
  stories: StoryStatus[];
  /** The live holder of the project lock, if a run is in progress. */
  activeRun: LockHolder | null;
  /** Runs a crash cut short, awaiting resume or abort. */
  interruptedRuns: string[];
  /** The threshold monitor: whether one is running, its last round, and each story's last verdict per rule. */
  monitor: MonitorStatus;
}

/** What `status` says of the monitor. */
export interface MonitorStatus {
  running: LockHolder | null;
  lastRound: string | null;
  /** Story ► rule ► the last sample's verdict and value; `*` is the project-level signals. */
  verdicts: Record<string, Record<string, { verdict: string; value: number | null; at: string }>>;
  /** Set when the monitor's state could not be read. */
  error?: string;
  /** Approval mode: proposals still open (not past their expiry). */
  openProposals: number;
}

function monitorStatus(root: string): MonitorStatus {
  const running = runningMonitor(root);
  let openProposals = 0;
  try {
    openProposals = openProposalCount(root, Date.now());
  } catch {
    // an unreadable proposals folder: `proposals` says why; status stays up
  }
  try {
    const store = loadStore(root);
    const verdicts: MonitorStatus['verdicts'] = {};
    for (const [key, r] of Object.entries(store.decide.rules)) {
      const [story, rule] = key.split('|') as [string, string];
      if (r.last === null) continue;
      const at = typeof r.last.at === 'number' ? new Date(r.last.at).toISOString() : r.last.at;
      (verdicts[story] ??= {})[rule] = { verdict: r.last.verdict, value: r.last.value, at };
    }
    return { running, lastRound: store.lastRound?.at ?? null, verdicts, openProposals };
  } catch (err) {
    return { running, lastRound: null, verdicts: {}, error: messageOf(err), openProposals };
  }
}

/** Reads the project's status. Changes nothing. */
export async function projectStatus(root: string): Promise<ProjectStatus> {
  const project = await loadProject(root);
  const snapshot = await gatherSnapshot(project);
  const effective = effectiveStates(project.flags);
  const history = readHistory(project.root);
  const lockFile = path.join(project.stateDir, 'lock');
  const stories = project.registry.stories.map((s): StoryStatus => {
    const snap = snapshot.stories.get(s.id);
    const present = snap?.paths.length ?? 0;
    const declared = snap?.declared ?? 0;
    const last = [...history].reverse().find((h) => h.stories.some((x) => x.id === s.id));
    return {
      id: s.id,
      feature: s.feature,
      title: s.title,
      flag: { enabled: project.flags.features.get(s.feature)?.enabled ?? null, effective: effective.get(s.feature) ?? null },
      installed: isInstalled(snapshot, s.id),
      footprint: { present, declared, files: snap?.paths.reduce((n, p) => n + p.files, 0) ?? 0, bytes: snap?.paths.reduce((n, p) => n + p.bytes, 0) ?? 0 },
      services: (snap?.processes ?? []).map((p) => ({ pid: p.pid, service: p.service, port: p.port ?? null, cmdline: p.cmdline })),
      lastRun: last ? { runId: last.runId, status: last.stories.find((x) => x.id === s.id)?.status ?? last.status, at: last.startedAt } : null,
      backups: backupsOf(project.root, s.feature),
      keptData: (snap?.paths ?? []).flatMap((p) => (p.kept ? [{ path: p.path, kind: p.kind, why: p.kept.why, files: p.files, bytes: p.bytes }] : [])),
    };
  });
  const lock = existsSync(lockFile) ? liveHolder(project.stateDir) : null;
  return {
    root: project.root,
    stories,
    activeRun: lock,
    interruptedRuns: interruptedRuns(project.stateDir).filter((id) => id !== lock?.runId),
    monitor: monitorStatus(project.root),
  };
}
