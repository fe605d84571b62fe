import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, watch } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { builtCli } from '../repo-root.js';
import { buildSandbox } from '../sandbox/build-sandbox.js';

/** When each flag of `rollback all --force` went off, measured from outside by watching the flags file. */
export interface KillSwitchRun {
  /** Size of each story's `analytics.db`. */
  dataBytes: number;
  /** Milliseconds from spawning the CLI to the first and to the last flag seen off. */
  firstFlagOffMs: number;
  lastFlagOffMs: number;
  /** The whole run, spawn to exit. */
  runMs: number;
  /** `node -e 0` (median of 5) just before this run, on the disk and CPU as they were then. */
  nodeMs: number;
  exitCode: number | null;
}

/** The kill-switch section: one run per data size, each beside `node -e 0` measured just before it. */
export interface KillSwitchResult {
  runs: KillSwitchRun[];
}

const CLI = builtCli();
const FLAGS = 'config/feature-flags.yaml';

/** `features.<name>.enabled` of every feature, or null while the file is mid-replace or unreadable. */
function readEnabled(root: string): Map<string, boolean> | null {
  try {
    const doc = parse(readFileSync(path.join(root, FLAGS), 'utf8')) as { features?: Record<string, { enabled?: boolean }> };
    return new Map(Object.entries(doc.features ?? {}).map(([name, f]) => [name, f.enabled === true]));
  } catch {
    return null;
  }
}

/**
 * Builds a sandbox with every story installed (services running, packages installed), then runs
 * `rollback all --force` on it while watching the flags file's folder: each change is read at once, and
 * the time at which each flag that was on is first seen off is kept. The flags are the kill switch, so what
 * counts is how soon the last one goes off, whatever the size of the data behind the stories.
 */
async function runOnce(dataBytes: number): Promise<KillSwitchRun> {
  const sb = await buildSandbox({ services: true, packages: true, dataBytes });
  // The data just written is still in the page cache, dirty: flush it, so the run's fsyncs wait for its own
  // writes only, as on a project whose data was written long before the incident.
  spawnSync('sync');
  // And let the sandbox's freshly started service processes finish booting: on two cores they would compete
  // with the run for the CPU, which a project whose services run since long does not.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  // After gigabytes written and deleted the disk stays busy for a while; node's own start-up, measured now,
  // shows it, and the ratio compares like with like.
  const nodeMs = nodeStartMs(5);
  try {
    const before = readEnabled(sb.root) ?? new Map<string, boolean>();
    const on = new Set([...before].filter(([, v]) => v).map(([k]) => k));
    const offAt = new Map<string, number>();
    const start = process.hrtime.bigint();
    const since = (): number => Number(process.hrtime.bigint() - start) / 1e6;
    const look = (): void => {
      const now = readEnabled(sb.root);
      if (now === null) return;
      const t = since();
      for (const name of on) if (!offAt.has(name) && now.get(name) === false) offAt.set(name, t);
    };
    const watcher = watch(path.join(sb.root, path.dirname(FLAGS)), look);
    const child = spawn(process.execPath, [CLI, '--root', sb.root, 'rollback', 'all', '--force', '--reason', 'bench: kill switch'], { stdio: 'ignore' });
    const exitCode = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const runMs = since();

    look();
    watcher.close();
    // Flags the run leaves on (features of the base project, not of a story) do not count.
    const after = readEnabled(sb.root) ?? new Map<string, boolean>();
    const turnedOff = [...on].filter((name) => after.get(name) === false);
    const times = turnedOff.map((name) => offAt.get(name) ?? Number.NaN).sort((a, b) => a - b);
    if (turnedOff.length === 0 || times.some(Number.isNaN)) throw new Error(`flags were not seen going off (exit ${exitCode})`);
    return { dataBytes, firstFlagOffMs: times[0] ?? 0, lastFlagOffMs: times.at(-1) ?? 0, runMs, nodeMs, exitCode };
  } finally {
    await sb.cleanup();
  }
}

function nodeStartMs(runs = 11): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

/** Runs the kill-switch section for each data size (bytes of each `analytics.db`). */
export async function runKillSwitchBench(sizes: readonly number[]): Promise<KillSwitchResult> {
  const runs: KillSwitchRun[] = [];
  for (const size of sizes) runs.push(await runOnce(size));
  return { runs };
}

export function formatKillSwitchBench(r: KillSwitchResult): string {
  const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(b < 10 * 1024 * 1024 ? 1 : 0)} MiB`;
  return [
    'kill switch: rollback all --force, all seven stories installed (aim: last flag off < 3x node -e 0, measured just before)',
    'data per analytics.db | first flag off | last flag off | node -e 0 | ratio | whole run | exit',
    ...r.runs.map(
      (x) =>
        `${mb(x.dataBytes).padStart(21)} | ${`${x.firstFlagOffMs.toFixed(0)} ms`.padStart(14)} | ${`${x.lastFlagOffMs.toFixed(0)} ms`.padStart(13)} | ` +
        `${`${x.nodeMs.toFixed(0)} ms`.padStart(9)} | ${`${(x.lastFlagOffMs / x.nodeMs).toFixed(2)}x`.padStart(5)} | ${`${x.runMs.toFixed(0)} ms`.padStart(9)} | ${x.exitCode}`,
    ),
  ].join('\n');
}
