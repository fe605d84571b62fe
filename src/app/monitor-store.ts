/**
 * What the monitor keeps between rounds and across restarts — the decision core's state (streaks, episodes,
 * cooldowns, the daily cap), log offsets, baselines, what it knows of each story's watch — and where it writes
 * its decisions (`logs/monitor.jsonl`, one JSON line each). The state is written atomically after each round
 * and before any action, so a monitor killed with `kill -9` mid-rollback restarts with the rollback counted.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../model/errors.js';
import { LAYOUT } from '../model/layout.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { liveHolder, type LockHolder } from '../engine/lock.js';
import { initialState, type MonitorState } from '../monitor/decide.js';
import type { Decision } from '../monitor/decision-log.js';
import { parseLogPosition, type LogPosition } from '../monitor/log-position.js';
import type { Baseline } from '../monitor/observe.js';
import type { RestoreWatch } from '../monitor/restore-watch.js';

/** The decisions log, relative to the root: beside the pack's own logs, where a team looks first. */
export const DECISIONS_LOG = 'logs/monitor.jsonl';

/** What the monitor knows of one story between rounds. */
export interface StoryWatchState {
  /** Its flag was effectively on at the last round. */
  enabled: boolean;
  /** Epoch ms when this life of the story began (watch started, or the story enabled or restored). */
  since: number;
  /** A probe has answered since `since`: before that, a failed probe is "never up", no data. */
  answered: boolean;
  /** Latencies of its answered probes in the last window. */
  probeLatencies: Array<{ at: number; ms: number }>;
  /** Its watch after it came back (restored or enabled while watched), until that ends. */
  afterRestore?: RestoreWatch;
}

/** The monitor's persisted state: `.rollback-manager/monitor/state.json`. */
export interface MonitorStore {
  version: 1;
  decide: MonitorState;
  positions: Record<string, LogPosition>;
  baselines: Record<string, Baseline>;
  stories: Record<string, StoryWatchState>;
  /** Last round: time and pid of the monitor that ran it, for `status`. */
  lastRound: { at: string; pid: number } | null;
}

/** The folder of the monitor's own files inside the state folder (its lock and its state). */
export function monitorDir(root: string): string {
  return path.join(root, LAYOUT.state, 'monitor');
}

function stateFile(root: string): string {
  return path.join(monitorDir(root), 'state.json');
}

/** The running monitor's lock holder, or null. Here, not in the session, so that `status` loads no step code. */
export function runningMonitor(root: string): LockHolder | null {
  return liveHolder(monitorDir(root));
}

/** A store with nothing seen yet. */
export function emptyStore(): MonitorStore {
  return { version: 1, decide: initialState(), positions: {}, baselines: {}, stories: {}, lastRound: null };
}

/**
 * The saved state, or an empty one when there is none. A state file that is not ours is refused rather than
 * replaced: starting afresh would forget the daily cap, which is what stops a rollback loop.
 */
export function loadStore(root: string): MonitorStore {
  const file = stateFile(root);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyStore();
    throw new InvalidInputError(`${path.relative(root, file)}: cannot be read`, { file: path.relative(root, file), cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new InvalidInputError(`${path.relative(root, file)}: is not JSON; move it away to start the monitor afresh (its caps and cooldowns are then forgotten)`, {
      file: path.relative(root, file),
      code: 'E_MONITOR_STATE',
      cause,
    });
  }
  const v = raw as Partial<MonitorStore>;
  if (v.version !== 1 || typeof v.decide !== 'object' || v.decide === null) {
    throw new InvalidInputError(`${path.relative(root, file)}: is not a monitor state of this version`, { file: path.relative(root, file), code: 'E_MONITOR_STATE' });
  }
  const positions: Record<string, LogPosition> = {};
  for (const [f, p] of Object.entries(v.positions ?? {})) {
    const pos = parseLogPosition(p);
    if (pos !== undefined) positions[f] = pos;
  }
  return { version: 1, decide: v.decide, positions, baselines: v.baselines ?? {}, stories: v.stories ?? {}, lastRound: v.lastRound ?? null };
}

/** Writes the state atomically (a crash leaves the old or the new one, never half). */
export function saveStore(root: string, store: MonitorStore): void {
  mkdirSync(monitorDir(root), { recursive: true, mode: 0o700 });
  writeFileAtomicSync(stateFile(root), `${JSON.stringify(store)}\n`);
}

/** Appends decisions to `logs/monitor.jsonl`, one line each, before anything is done about them. */
export function appendDecisions(root: string, decisions: readonly Decision[]): void {
  if (decisions.length === 0) return;
  const file = path.join(root, DECISIONS_LOG);
  mkdirSync(path.dirname(file), { recursive: true });
  appendFileSync(file, decisions.map((d) => `${JSON.stringify(d)}\n`).join(''));
}

/**
 * Appends what acting on a decision did (`type: "action"`): the run, its status and report, or why it could not
 * start. Beside the decisions, so that the log alone tells what the monitor did and how it ended.
 */
export function appendActionRecord(root: string, d: Decision, result: object): void {
  appendRecord(root, { type: 'action', decision: d.id, ...result });
}

/**
 * Appends a record of another kind to `logs/monitor.jsonl` — `type` first, then `at` (now unless given), then the
 * rest: the one writer of every line that is not a decision (actions, rejected notifications, failed deliveries,
 * expired proposals, the end of a watch).
 */
export function appendRecord(root: string, record: { type: string; at?: string } & Record<string, unknown>): void {
  const file = path.join(root, DECISIONS_LOG);
  mkdirSync(path.dirname(file), { recursive: true });
  const { type, at, ...rest } = record;
  appendFileSync(file, `${JSON.stringify({ type, at: at ?? new Date().toISOString(), ...rest })}\n`);
}

/** Finds one decision in the log by id (or by a unique prefix of it). */
export function findDecision(root: string, id: string): Decision {
  const file = path.join(root, DECISIONS_LOG);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new InvalidInputError(`${DECISIONS_LOG}: cannot be read; has a monitor run in this project?`, { file: DECISIONS_LOG, code: 'E_NO_DECISION', cause });
  }
  const hits: Decision[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes(id)) continue;
    try {
      const d = JSON.parse(line) as Decision;
      if (typeof d.id === 'string' && d.id.startsWith(id)) hits.push(d);
    } catch {
      // a torn last line (a monitor killed mid-write) is not a decision
    }
  }
  if (hits.length === 1) return hits[0] as Decision;
  throw new InvalidInputError(
    hits.length === 0 ? `no decision ${id} in ${DECISIONS_LOG}` : `${hits.length} decisions start with ${id} in ${DECISIONS_LOG}; give more of the id`,
    { file: DECISIONS_LOG, code: 'E_NO_DECISION' },
  );
}
