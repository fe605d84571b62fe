/**
 * What the events of one time window say, per story and project-wide. Pure: the same events and window always give
 * the same figures, so a replay over old logs judges exactly as the live monitor did.
 */
import type { LogEvent } from './pack-events.js';

/** Latencies seen in the window. `p95` and `max` are `null` when there were none (no data, not zero). */
export interface LatencyStats {
  count: number;
  p95: number | null;
  max: number | null;
}

/** Counts of one story (or of the unattributed events) in a window. */
export interface EventCounts {
  requests: number;
  serverErrors: number;
  /** 4xx and auth failures: the callers' mistakes, never the story's errors. */
  clientErrors: number;
  pythonErrors: number;
  /** Logged requests that are not traffic, by why (`health`, `options`): a decision says what it left out. */
  excluded: Record<string, number>;
  latency: LatencyStats;
  /** Requests per second over the whole window. */
  throughput: number;
}

/** One story's figures. */
export interface StoryWindowStats extends EventCounts {
  story: string;
  /** Server errors over requests; `null` when there are too few requests to say (see `errorRateReason`). */
  errorRate: number | null;
  /** Why `errorRate` is `null`, in words for the decision's record. */
  errorRateReason?: string;
}

/** A window's figures: per story, and the events no story could be given (a project-level signal). */
export interface WindowStats {
  /** Milliseconds since the epoch; the window is `[from, to)`. */
  from: number;
  to: number;
  stories: Record<string, StoryWindowStats>;
  unattributed: EventCounts;
}

/** Parameters of {@link windowStats}. */
export interface WindowOptions {
  from: number;
  to: number;
  /** An error rate needs at least this many requests in the window. */
  minRequests: number;
  /** Stories always reported, even with no event in the window (so "no data" is said, not left out). */
  stories?: readonly string[];
}

/** The figures of the events in `[from, to)`. */
export function windowStats(events: Iterable<LogEvent>, opts: WindowOptions): WindowStats {
  const seconds = Math.max(opts.to - opts.from, 0) / 1000;
  const acc = new Map<string | null, { counts: Omit<EventCounts, 'latency' | 'throughput'>; ms: number[] }>();
  const bucket = (story: string | null) => {
    let b = acc.get(story);
    if (b === undefined) {
      b = { counts: { requests: 0, serverErrors: 0, clientErrors: 0, pythonErrors: 0, excluded: {} }, ms: [] };
      acc.set(story, b);
    }
    return b;
  };
  bucket(null);
  for (const s of opts.stories ?? []) bucket(s);
  for (const e of events) {
    if (e.time < opts.from || e.time >= opts.to) continue;
    const b = bucket(e.story);
    if (e.kind === 'request') b.counts.requests++;
    else if (e.kind === 'server-error') b.counts.serverErrors++;
    else if (e.kind === 'client-error') b.counts.clientErrors++;
    else if (e.kind === 'python-error') b.counts.pythonErrors++;
    else if (e.kind === 'excluded') {
      const why = e.excluded ?? 'other';
      b.counts.excluded[why] = (b.counts.excluded[why] ?? 0) + 1;
    }
    else if (e.valueMs !== undefined) b.ms.push(e.valueMs);
  }
  const finish = (b: { counts: Omit<EventCounts, 'latency' | 'throughput'>; ms: number[] }): EventCounts => ({
    ...b.counts,
    latency: { count: b.ms.length, p95: percentile(b.ms, 0.95), max: maxOf(b.ms) },
    throughput: seconds === 0 ? 0 : b.counts.requests / seconds,
  });
  const stories: Record<string, StoryWindowStats> = {};
  let unattributed: EventCounts | undefined;
  for (const [story, b] of acc) {
    const counts = finish(b);
    if (story === null) {
      unattributed = counts;
      continue;
    }
    const enough = counts.requests >= opts.minRequests && counts.requests > 0;
    stories[story] = enough
      ? { story, ...counts, errorRate: counts.serverErrors / counts.requests }
      : {
          story,
          ...counts,
          errorRate: null,
          errorRateReason: `too few requests (${counts.requests} < minRequests ${Math.max(opts.minRequests, 1)})`,
        };
  }
  return { from: opts.from, to: opts.to, stories, unattributed: unattributed ?? finish(bucket(null)) };
}

/**
 * The nearest-rank percentile (`p` in (0, 1]): the smallest value with at least `p` of the values at or below it.
 * Always one of the observed values, never an interpolation, so the evidence can point at the line it came from.
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] ?? null;
}

/** The largest value, or `null`; a loop, because spreading a long window's latencies into Math.max overflows the stack. */
function maxOf(values: readonly number[]): number | null {
  let max: number | null = null;
  for (const v of values) if (max === null || v > max) max = v;
  return max;
}
