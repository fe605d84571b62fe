/**
 * `restore <story> --watch 60s`: after a restore, the story is watched for a while by the monitor's own rounds (its
 * rules, its saved baseline and caps), and rolled back again if it degrades; otherwise the watch says the story is
 * healthy. With a monitor already running for the project there is nothing to add: it watches the restored story
 * as a new life, and the watch says so instead of running a second monitor.
 */
import { appendRecord, runningMonitor } from './monitor-store.js';
import { runMonitor } from './monitor-run.js';
import type { ActResult } from './monitor-act.js';
import { ALERT_ONLY_RULES } from '../monitor/observe.js';
import type { RuleKind } from '../monitor/rules.js';

/** How the watch after a restore ended. */
export interface WatchResult {
  story: string;
  forMs: number;
  /** `healthy`: judged healthy at the end; `rolled-back`: it degraded and was acted on; `no-data`: nothing to judge. */
  outcome: 'healthy' | 'rolled-back' | 'no-data' | 'running-monitor';
  /** The automatic run, when it degraded. */
  acted?: ActResult;
  /** The running monitor's pid, when one watches instead. */
  monitorPid?: number;
  /** In words, for the terminal. */
  message: string;
}

/** Watches `story` for `forMs` after its restore. */
export async function watchAfterRestore(opts: { root: string; story: string; forMs: number; command: string[]; signal?: AbortSignal }): Promise<WatchResult> {
  const secs = `${opts.forMs / 1000} s`;
  const running = runningMonitor(opts.root);
  if (running !== null) {
    return {
      story: opts.story,
      forMs: opts.forMs,
      outcome: 'running-monitor',
      monitorPid: running.pid,
      message: `the monitor running for this project (pid ${running.pid}) watches ${opts.story} from now, as a story that came back`,
    };
  }
  let acted: ActResult | undefined;
  let seenHealthy = false;
  let breachedNow = false;
  await runMonitor({
    root: opts.root,
    dryRun: false,
    command: opts.command,
    forMs: opts.forMs,
    only: [opts.story],
    ...(opts.signal ? { signal: opts.signal } : {}),
    onRound: (r) => {
      acted ??= r.acted.find((a) => a.story === opts.story);
      // Rules that only alert say nothing of whether the story works.
      const verdicts = Object.entries(r.stories[opts.story]?.rules ?? {})
        .filter(([rule]) => !ALERT_ONLY_RULES.has(rule as RuleKind))
        .map(([, v]) => v?.verdict);
      // Healthy: something was measured healthy during the watch, and nothing is breached or unreadable at its end.
      seenHealthy ||= verdicts.includes('healthy');
      breachedNow = verdicts.includes('breached') || verdicts.includes('source-error');
    },
  });
  const result: WatchResult =
    acted !== undefined
      ? { story: opts.story, forMs: opts.forMs, outcome: 'rolled-back', acted, message: `${opts.story} degraded after the restore and was rolled back again: ${acted.status}${acted.runId ? ` (run ${acted.runId}, report ${acted.report})` : ''}${acted.error ? ` (${acted.error})` : ''}` }
      : seenHealthy && !breachedNow
        ? { story: opts.story, forMs: opts.forMs, outcome: 'healthy', message: `restored and healthy after ${secs}` }
        : {
            story: opts.story,
            forMs: opts.forMs,
            outcome: 'no-data',
            message: breachedNow
              ? `restored; breached at the end of ${secs} but not for long enough to act: not confirmed healthy`
              : `restored; nothing to judge in ${secs} (is its service started?): not confirmed healthy`,
          };
  appendRecord(opts.root, { ...result, type: 'watch-end' });
  return result;
}
