/**
 * Stopping found services: SIGTERM, a bounded wait, SIGKILL. Every signal is preceded by a fresh read of
 * the target, so a pid that was reused since discovery is never signalled; a process group is
 * signalled as a whole only when the service leads it and every member is ours.
 */
import type { FoundProcess } from '../model/types.js';
import { ancestorsOf, listPids, readArgv, readStat, readUid } from './proc-info.js';

/** What happened to one process. */
export interface StopOutcome {
  pid: number;
  service: string;
  cmdline: string;
  /** The strongest signal sent; `none` when the process was already gone or could not be verified. */
  signal: 'SIGTERM' | 'SIGKILL' | 'none';
  /** ms from the SIGTERM until the process (and its group, when signalled as one) was gone; null if not. */
  exitedAfterMs: number | null;
  /** True when the process found at discovery no longer runs (a zombie counts as gone). */
  gone: boolean;
  /** For people: group signalled, pid reused, SIGTERM ignored, permission refused. */
  note?: string;
}

/** Options of {@link stopProcesses}. */
export interface StopOptions {
  /** Wait after SIGTERM before SIGKILL (ms). Default 10 000. */
  timeoutMs?: number;
  /** Per-service override of `timeoutMs`, keyed by service name (from `ServiceSpec.stopTimeoutMs`). */
  timeoutMsByService?: Record<string, number>;
  /** How often to look whether the process is gone (ms). Default 50. */
  pollMs?: number;
  /** Wait after SIGKILL before reporting a survivor (ms). Default 2000. */
  killWaitMs?: number;
}

/** One process as we expect to find it: pid plus the identity captured when it was found. */
interface Target {
  pid: number;
  startTime: number;
  argv: string[];
}

type Identity = 'same' | 'gone' | 'reused' | 'changed';

/**
 * Is `t` still the very process it was? `gone` also for a zombie (it has exited; only its parent's
 * wait is missing), `reused` when the pid now names another process, `changed` when it is the same
 * process but its argv differs (it exec'd or retitled itself): not what was verified, so not signalled.
 */
async function identify(t: Target, uid: number): Promise<Identity> {
  const stat = await readStat(t.pid);
  if (stat === null) return 'gone';
  if (stat.startTime !== t.startTime) return 'reused';
  if (stat.state === 'Z') return 'gone';
  const [argv, procUid] = await Promise.all([readArgv(t.pid), readUid(t.pid)]);
  if (argv === null || procUid === null) return 'gone';
  if (procUid !== uid) return 'changed';
  const again = await readStat(t.pid);
  if (again === null || again.state === 'Z') return 'gone';
  if (again.startTime !== t.startTime) return 'reused';
  return sameArgv(argv, t.argv) ? 'same' : 'changed';
}

function sameArgv(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Alive means: the same process (pid and start time), not a zombie. */
async function alive(t: Target): Promise<boolean> {
  const stat = await readStat(t.pid);
  return stat !== null && stat.startTime === t.startTime && stat.state !== 'Z';
}

async function allGone(targets: Target[]): Promise<boolean> {
  return (await Promise.all(targets.map(alive))).every((a) => !a);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll until every target is gone or `ms` passed; true when they are gone. */
async function waitGone(targets: Target[], ms: number, pollMs: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (await allGone(targets)) return true;
    if (performance.now() >= deadline) return false;
    await sleep(Math.min(pollMs, Math.max(1, deadline - performance.now())));
  }
}

type SendResult = 'sent' | 'gone' | 'refused';

function send(target: number, signal: 'SIGTERM' | 'SIGKILL'): SendResult {
  try {
    process.kill(target, signal);
    return 'sent';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return 'gone';
    if (code === 'EPERM') return 'refused';
    throw err;
  }
}

/**
 * The members of the group `leader` leads, when the whole group may be signalled: every member has
 * `uid`, and neither this process nor one of its ancestors is in it (a group signal must never reach
 * the tool itself). Null means: signal the leader alone.
 */
async function groupMembers(leader: number, uid: number, protectedPids: Set<number>): Promise<Target[] | null> {
  const members: Target[] = [];
  for (const pid of await listPids()) {
    const stat = await readStat(pid);
    if (stat === null || stat.pgid !== leader) continue;
    if (protectedPids.has(pid)) return null;
    const [memberUid, argv] = await Promise.all([readUid(pid), readArgv(pid)]);
    if (memberUid === null || argv === null) continue; // exited meanwhile
    if (memberUid !== uid) return null;
    members.push({ pid, startTime: stat.startTime, argv });
  }
  return members;
}

async function stopOne(
  p: FoundProcess,
  timeoutMs: number,
  pollMs: number,
  killWaitMs: number,
  protectedPids: Set<number>,
): Promise<StopOutcome> {
  const base = { pid: p.pid, service: p.service, cmdline: p.cmdline };
  const uid = p.uid;
  const none = (gone: boolean, note: string): StopOutcome => ({ ...base, signal: 'none', exitedAfterMs: null, gone, note });
  const self: Target = { pid: p.pid, startTime: p.startTime, argv: p.argv };
  if (protectedPids.has(p.pid)) return none(false, 'is this tool or one of its ancestors: not signalled');

  const first = await identify(self, uid);
  if (first === 'gone') return none(true, 'already exited');
  if (first === 'reused') return none(true, 'already exited; its pid now names another process: not signalled');
  if (first === 'changed') return none(false, 'argv or uid changed since discovery: not signalled');

  const stat = await readStat(p.pid);
  if (stat === null) return none(true, 'already exited');
  const members = stat.pgid === p.pid ? await groupMembers(p.pid, uid, protectedPids) : null;
  const notes: string[] = [];
  if (members !== null) notes.push(`signalled process group ${p.pid} (${members.length} processes)`);
  else if (stat.pgid === p.pid) notes.push('group has processes that are not ours: signalled the process alone');
  const targets = members ?? [self];
  const dest = members !== null ? -p.pid : p.pid;

  const termSentAt = performance.now();
  const term = send(dest, 'SIGTERM');
  if (term === 'gone') return none(true, 'exited before the signal');
  if (term === 'refused') return none(false, 'SIGTERM refused (EPERM)');
  if (await waitGone(targets, timeoutMs, pollMs)) {
    const exitedAfterMs = Math.round(performance.now() - termSentAt);
    const out: StopOutcome = { ...base, signal: 'SIGTERM', exitedAfterMs, gone: true };
    if (notes.length > 0) out.note = notes.join('; ');
    return out;
  }

  notes.push(`still running ${timeoutMs} ms after SIGTERM`);
  // Verify again: the leader may have exited (its pid then reused) while group members live on.
  const leader = await identify(self, uid);
  if (leader === 'same') {
    if (send(dest, 'SIGKILL') === 'refused') notes.push('SIGKILL refused (EPERM)');
  }
  if (members !== null) {
    for (const m of members) {
      if (m.pid === p.pid) continue; // the leader was handled above, through the group
      if ((await identify(m, uid)) === 'same') send(m.pid, 'SIGKILL');
    }
  }
  const gone = await waitGone(targets, killWaitMs, pollMs);
  if (!gone) notes.push(`still running ${killWaitMs} ms after SIGKILL`);
  return {
    ...base,
    signal: 'SIGKILL',
    exitedAfterMs: gone ? Math.round(performance.now() - termSentAt) : null,
    gone,
    note: notes.join('; '),
  };
}

/**
 * Stop processes concurrently, so the total time is bounded by the slowest one. Each gets SIGTERM
 * (to its group when it leads one whose members are all ours), up to its timeout, then SIGKILL; before
 * every signal it is re-read and must still have the start time and argv it was found with.
 * Never throws for a vanished or reused process: the outcome says what happened.
 */
export async function stopProcesses(procs: FoundProcess[], opts: StopOptions = {}): Promise<StopOutcome[]> {
  const pollMs = opts.pollMs ?? 50;
  const killWaitMs = opts.killWaitMs ?? 2000;
  const protectedPids = new Set<number>([process.pid, ...(await ancestorsOf(process.pid))]);
  return Promise.all(
    procs.map((p) =>
      stopOne(p, opts.timeoutMsByService?.[p.service] ?? opts.timeoutMs ?? 10_000, pollMs, killWaitMs, protectedPids),
    ),
  );
}

/** The processes that still run (same pid and start time, not a zombie): empty when all are gone. */
export async function verifyGone(procs: FoundProcess[]): Promise<FoundProcess[]> {
  const alives = await Promise.all(procs.map((p) => alive({ pid: p.pid, startTime: p.startTime, argv: p.argv })));
  return procs.filter((_, i) => alives[i]);
}
