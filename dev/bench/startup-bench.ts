import { spawnSync } from 'node:child_process';
import { builtCli } from '../repo-root.js';

/** Median wall time of `status` beside `node -e 0`, and their ratio. */
export interface StartupResult {
  runs: number;
  nodeMs: number;
  statusMs: number;
  helpMs: number;
  ratio: number;
}

const CLI = builtCli();

function median(args: string[], runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
    if (i >= 2) times.push(Number(process.hrtime.bigint() - t) / 1e6); // two warm-up runs fill the page cache
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

/**
 * `status` start-up beside a bare `node -e 0` on the same machine, interleaved run for run is not needed:
 * medians of many runs are stable enough here. `root` is a project to report on (the repo itself works).
 */
export function runStartupBench(root: string, runs = 21): StartupResult {
  const nodeMs = median(['-e', '0'], runs);
  const statusMs = median([CLI, '--root', root, 'status'], runs);
  const helpMs = median([CLI, '--help'], runs);
  return { runs, nodeMs, statusMs, helpMs, ratio: statusMs / nodeMs };
}
