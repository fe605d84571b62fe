/**
 * The watch after a story comes back (seed 004's "automatic rollback on health-check failure", seed 001's
 * observation window): for a while after a restore or an enable, what the story's rules say is followed, and at
 * the end the watch says whether the story came back healthy. `restore --watch` and a running monitor both keep
 * one of these per story; this module only judges, the caller records.
 */
import { ALERT_ONLY_RULES } from './observe.js';
import type { RuleKind, Verdict } from './rules.js';

/** One story's watch after it came back. */
export interface RestoreWatch {
  /** Epoch ms when the story came back. */
  since: number;
  /** Epoch ms when the watch ends. */
  until: number;
  /** Something was measured healthy during the watch. */
  seenHealthy: boolean;
  /** At the last round, a rule was breached or its source unreadable. */
  breachedNow: boolean;
  /** A breach was sustained but only alerted (`monitor.autoRollbackOnFailure: false`). */
  degraded: boolean;
}

/** How a watch ended. */
export type RestoreWatchOutcome = 'healthy' | 'rolled-back' | 'degraded' | 'no-data';

/** A watch starting now, for `forMs`. */
export function startWatch(now: number, forMs: number): RestoreWatch {
  return { since: now, until: now + forMs, seenHealthy: false, breachedNow: false, degraded: false };
}

/**
 * The watch after a round in which the story's rules said `verdicts`, and `alerted` tells whether a sustained
 * breach of the story was held back to an alert. Rules that only alert say nothing of whether the story works.
 */
export function noteRound(w: RestoreWatch, verdicts: Partial<Record<RuleKind, { verdict: Verdict }>>, alerted: boolean): RestoreWatch {
  const judged = Object.entries(verdicts)
    .filter(([rule]) => !ALERT_ONLY_RULES.has(rule as RuleKind))
    .map(([, v]) => v?.verdict);
  return {
    ...w,
    seenHealthy: w.seenHealthy || judged.includes('healthy'),
    breachedNow: judged.includes('breached') || judged.includes('source-error'),
    degraded: w.degraded || alerted,
  };
}

/**
 * What the watch says at its end: `rolled-back` when the story was acted on, `degraded` when a sustained breach
 * was only alerted, `healthy` when something was measured healthy and nothing is breached or unreadable at the
 * end, `no-data` otherwise (not confirmed healthy). `acted` is the automatic run in words, when there was one.
 */
export function watchOutcome(story: string, w: RestoreWatch, acted: string | null): { outcome: RestoreWatchOutcome; message: string } {
  const secs = fmtWatch(w.until - w.since);
  if (acted !== null) return { outcome: 'rolled-back', message: `${story} degraded after the restore and was rolled back again: ${acted}` };
  if (w.degraded) {
    return {
      outcome: 'degraded',
      message: `${story} degraded after the restore; monitor.autoRollbackOnFailure is false, so it was left in place: rollback-manager rollback ${story} --force`,
    };
  }
  if (w.seenHealthy && !w.breachedNow) return { outcome: 'healthy', message: `restored and healthy after ${secs}` };
  return {
    outcome: 'no-data',
    message: w.breachedNow
      ? `restored; breached at the end of ${secs} but not for long enough to act: not confirmed healthy`
      : `restored; nothing to judge in ${secs} (is its service started?): not confirmed healthy`,
  };
}

/** `3 s`, `90 s`, `15 min`: as a person says a watch's length. */
function fmtWatch(ms: number): string {
  return ms >= 120_000 && ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 100) / 10} s`;
}
