/**
 * `restore <story> --watch 60s`: after a restore, the story is watched for a while by the monitor's own rounds (its
 * rules, its saved baseline and caps), and rolled back again if it degrades; otherwise the watch says the story is
 * healthy. With `monitor.autoRollbackOnFailure: false` a degradation only alerts, and the watch says so. With a
 * monitor already running for the project there is nothing to add: it watches the restored story for
 * `monitor.watchTimeout` as one that came back, and the watch says so instead of running a second monitor.
 */
import { appendRecord, runningMonitor } from './monitor-store.js';
import { runMonitor } from './monitor-run.js';
import type { ActResult } from './monitor-act.js';
import { actedInWords } from './monitor-session.js';
import { loadProject } from '../project/project.js';
import { monitorSettingsOf } from '../project/monitor-settings-of.js';
import { startWatch, watchOutcome, type RestoreWatch, type RestoreWatchOutcome } from '../monitor/restore-watch.js';

/** How the watch after a restore ended. */
export interface WatchResult {
  story: string;
  forMs: number;
  /**
   * `healthy`: judged healthy at the end; `rolled-back`: it degraded and was acted on; `degraded`: it degraded and
   * `monitor.autoRollbackOnFailure` is false; `no-data`: not confirmed healthy; `running-monitor`: a monitor watches it.
   */
  outcome: RestoreWatchOutcome | 'running-monitor';
  /** The automatic run, when it degraded. */
  acted?: ActResult;
  /** The running monitor's pid, when one watches instead. */
  monitorPid?: number;
  /** In words, for the terminal. */
  message: string;
}

/** Watches `story` for `forMs` (default: `monitor.watchTimeout`) after its restore. */
export async function watchAfterRestore(opts: { root: string; story: string; forMs?: number; command: string[]; signal?: AbortSignal }): Promise<WatchResult> {
  const forMs = opts.forMs ?? monitorSettingsOf(await loadProject(opts.root)).afterRestore.watchMs;
  const running = runningMonitor(opts.root);
  if (running !== null) {
    return {
      story: opts.story,
      forMs,
      outcome: 'running-monitor',
      monitorPid: running.pid,
      message: `the monitor running for this project (pid ${running.pid}) watches ${opts.story} from now, as a story that came back`,
    };
  }
  let acted: ActResult | undefined;
  let watch: RestoreWatch | undefined;
  await runMonitor({
    root: opts.root,
    dryRun: false,
    command: opts.command,
    forMs,
    only: [opts.story],
    afterRestoreMs: forMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
    onRound: (r, session) => {
      acted ??= r.acted.find((a) => a.story === opts.story);
      watch = session.restoreWatch(opts.story) ?? watch;
    },
  });
  const end = watchOutcome(opts.story, watch ?? startWatch(Date.now() - forMs, forMs), acted === undefined ? null : actedInWords(acted));
  const result: WatchResult = { story: opts.story, forMs, ...end, ...(acted !== undefined ? { acted } : {}) };
  appendRecord(opts.root, { ...result, type: 'watch-end' });
  return result;
}
