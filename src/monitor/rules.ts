/**
 * What a source hands the monitor (samples) and how one sample is judged against one rule. Pure and
 * JSON-serialisable: samples are kept in the monitor's state and copied into its decisions as evidence.
 */

/**
 * One measurement of one signal at one time, as a source produced it.
 * - `value` is a number when there was something to measure; `null` when there was not (too few requests, a
 *   service never up, an empty window), with `why` saying which: no data never counts as a breach.
 * - `sourceError` says the source itself failed (an unreadable log): that is the monitor's fault, never the
 *   story's, so it is kept apart from "no data" and alerts on its own.
 */
export interface Sample {
  /** When the sample was taken: ISO 8601 or epoch milliseconds. */
  at: string | number;
  /** The measured value in the rule's unit (fraction, ms, requests/s), or null for no data. */
  value: number | null;
  /** Why there is no value (required in spirit when `value` is null; shown in every record). */
  why?: string;
  /** Which source measured it, e.g. `log:logs/security.log` or `probe:http://127.0.0.1:3001/health`. */
  source: string;
  /** Set when the source could not be read; `value` is then null. The message says what failed. */
  sourceError?: string;
  /** The reference value for baseline-relative rules (p95 or throughput of the baseline window). */
  baseline?: number;
  /** Where the value came from, e.g. `{ file, from, to }` byte offsets in a log: kept as is. */
  evidence?: unknown;
  /** Events the source left out and why, e.g. `{ health: 12, options: 3, clientErrors: 4 }`. */
  excluded?: Record<string, number>;
}

/**
 * The rules the monitor knows. `probeFailure` is the share of a story's probes that failed in one round (refused,
 * timed out, 5xx): with threshold 0, any failed probe is a breached sample, and `consecutive` rounds act.
 * `alert` is an Alertmanager alert mapped to the story: 1 while one fires, 0 once all are resolved (threshold 0).
 */
export type RuleKind = 'errorRate' | 'memory' | 'latencyP95' | 'probeFailure' | 'latencyBaseline' | 'throughputBaseline' | 'alert';

/**
 * One rule and its threshold in canonical units: a fraction for errorRate and memory, milliseconds for latencyP95,
 * a signed change for the baseline rules (+0.1 = p95 up 10 %, -0.1 = throughput down 10 %).
 */
export interface Rule {
  kind: RuleKind;
  threshold: number;
  /**
   * A breach of this rule alerts and never acts. Throughput falling below its baseline is one: a quiet night and a
   * broken service look the same in a request count, and a rollback on the first is one nobody asked for.
   */
  alertOnly?: boolean;
  /**
   * `latencyBaseline` only: milliseconds p95 must also exceed the baseline by (`latencyMinDeltaMs` of the
   * thresholds), so that a fast endpoint's noise (2 ms → 2.3 ms) is no breach. None when absent.
   */
  minDeltaMs?: number;
  /**
   * Breached samples in a row this rule needs before acting, instead of the settings' `consecutive`: an
   * Alertmanager alert was debounced by its own `for:` already, so one sample of it may be enough.
   */
  consecutive?: number;
}

/** How one sample stands against one rule. */
export type Verdict = 'healthy' | 'breached' | 'no-data' | 'source-error';

/** A verdict and, for anything but healthy or breached, why. */
export interface Judgement {
  verdict: Verdict;
  why?: string;
}

/** The comparison a rule makes, in words short enough for a table cell. */
export function comparatorOf(rule: Rule): string {
  const pct = `${Math.round(Math.abs(rule.threshold) * 1000) / 10}%`;
  switch (rule.kind) {
    case 'latencyBaseline':
      return `> baseline + ${pct}${rule.minDeltaMs ? ` and + ${rule.minDeltaMs} ms` : ''}`;
    case 'throughputBaseline':
      return `< baseline - ${pct}`;
    case 'alert':
      return 'firing';
    default:
      return '>';
  }
}

/** Whether {@link comparatorOf} says the whole comparison, so that the threshold is not written after it. */
export function comparatorIsComplete(kind: RuleKind): boolean {
  return kind === 'latencyBaseline' || kind === 'throughputBaseline' || kind === 'alert';
}

/**
 * Judge one sample against one rule. Equal to the threshold is healthy: the pack's triggers say "over" 10 %.
 * A baseline rule without a usable baseline is no data, not healthy: we cannot tell, so we say so.
 */
export function judge(sample: Sample, rule: Rule): Judgement {
  if (sample.sourceError !== undefined) return { verdict: 'source-error', why: sample.sourceError };
  if (sample.value === null || !Number.isFinite(sample.value)) {
    return { verdict: 'no-data', why: sample.why ?? 'no value' };
  }
  const v = sample.value;
  switch (rule.kind) {
    case 'errorRate':
    case 'memory':
    case 'latencyP95':
    case 'probeFailure':
    case 'alert':
      return { verdict: v > rule.threshold ? 'breached' : 'healthy' };
    case 'latencyBaseline':
    case 'throughputBaseline': {
      const b = sample.baseline;
      if (b === undefined || !Number.isFinite(b) || b <= 0) return { verdict: 'no-data', why: 'no baseline yet' };
      const limit = b * (1 + rule.threshold);
      const breached = rule.kind === 'latencyBaseline' ? v > limit && v - b > (rule.minDeltaMs ?? 0) : v < limit;
      return { verdict: breached ? 'breached' : 'healthy' };
    }
  }
}

/** A sample's time in epoch milliseconds (ISO strings are parsed; a bad time is NaN and sorts nowhere). */
export function sampleTime(s: Sample): number {
  return typeof s.at === 'number' ? s.at : Date.parse(s.at);
}
