/** What the monitor benches read of a monitor from outside (`/proc`, its decisions log), and how they wait for it. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Clock ticks per second: 100 on every Linux Node supports (USER_HZ). */
export const HZ = 100;

/** CPU time the process has used, in clock ticks (user + system). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, fields 14 and 15 of stat
}

/** Polls until `probe` returns something, or fails naming `what`. */
export async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The decisions in the project's `logs/monitor.jsonl` (not its other records), oldest first. */
export function decisionsOf<T extends { type?: string }>(root: string): T[] {
  const file = path.join(root, 'logs', 'monitor.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T)
    .filter((d) => d.type === undefined);
}
