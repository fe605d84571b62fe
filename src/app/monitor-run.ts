/**
 * The monitor's loop: a round every interval until told to stop (a signal, `--for` elapsed, `--once`). Rounds
 * never overlap: the next starts an interval after the last one started, or at once when a round (a rollback)
 * took longer. A stop request ends the wait at once; a round in progress finishes, and a rollback in it stops at
 * its next step boundary, like Ctrl-C during `rollback`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { MonitorSession, type MonitorOptions, type RoundReport } from './monitor-session.js';

/** How long to watch, and who hears about each round. */
export interface RunMonitorOptions extends MonitorOptions {
  /** One round, then stop. */
  once?: boolean;
  /** Stop after this many milliseconds. */
  forMs?: number;
  /** Called after each round (the CLI prints it). */
  onRound?: (round: RoundReport, session: MonitorSession) => void;
  /**
   * Called once the session is open (the settings are known), before the first round: a listener starts here,
   * once the monitor's lock is held. A failure closes the session and is thrown.
   */
  onOpen?: (session: MonitorSession) => void | Promise<void>;
}

/** Why the loop ended. */
export type StopReason = 'once' | 'for-elapsed' | 'signal';

/** Runs rounds until stopped; returns how many ran and the last one. */
export async function runMonitor(opts: RunMonitorOptions): Promise<{ rounds: number; last: RoundReport | null; stopped: StopReason }> {
  const session = await MonitorSession.open(opts);
  let rounds = 0;
  let last: RoundReport | null = null;
  try {
    await opts.onOpen?.(session);
    const endAt = opts.forMs === undefined ? Infinity : Date.now() + opts.forMs;
    for (;;) {
      const started = Date.now();
      last = await session.round();
      rounds++;
      opts.onRound?.(last, session);
      if (opts.once === true) return { rounds, last, stopped: 'once' };
      if (aborted(opts.signal)) return { rounds, last, stopped: 'signal' };
      const next = started + session.settings.intervalMs;
      if (next >= endAt) {
        await wait(endAt - Date.now(), opts.signal);
        return { rounds, last, stopped: aborted(opts.signal) ? 'signal' : 'for-elapsed' };
      }
      await wait(next - Date.now(), opts.signal);
      if (aborted(opts.signal)) return { rounds, last, stopped: 'signal' };
    }
  } finally {
    await session.close();
  }
}

async function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0) return;
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
  } catch (err) {
    if ((err as { name?: string }).name !== 'AbortError') throw err;
  }
}

/** A function, not an inline test: TypeScript would keep `aborted` narrowed to false across the awaits. */
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
