/**
 * The monitor's config values, with their units said out loud. The pack's own files disagree on units
 * (`error_rate: 0.1 # Maximum error rate percentage`, memory as 90 or 0.9), so a value that could mean two things
 * is refused rather than guessed: a wrong guess is a rollback nobody asked for, or none at all.
 *
 * The readers return what is wrong instead of throwing, so that the config schema reports it as one of the file's
 * problems, with its line; the `parse…` forms throw it, for values that come from no file.
 */
import { InvalidInputError } from '../model/errors.js';

/** A value read in its canonical unit, or what was expected instead (and, when it helps, why it was refused). */
export type Reading = { ok: true; value: number } | { ok: false; expected: string; why?: string };

/** What a duration must look like. */
export const DURATION_EXPECTED = 'a duration with a unit (500ms, 1s, 5m, 1h)';
/** What a duration must look like where the key's name says milliseconds (`latencyMs`). */
export const MILLIS_EXPECTED = 'a number of milliseconds ≥ 0 or a duration with a unit (500ms, 1s, 5m, 1h)';
/** What a fraction must look like. */
export const FRACTION_EXPECTED = 'a fraction in 0..1 (0.1) or a percentage ("10%")';
/** What a change from a baseline must look like, for a rule that watches `direction`. */
export function relativeExpected(direction: 'up' | 'down'): string {
  return `a change from the baseline with its sign, such as "${direction === 'up' ? '+' : '-'}10%"`;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * A duration in milliseconds from `500ms`, `1.5s`, `5m` or `1h`. A bare number is refused unless `plainMs` says the
 * key's name carries the unit (only `latencyMs`, `minLatencyDeltaMs` and the pack's `response_time_threshold` do):
 * `interval: 5` could be seconds or milliseconds.
 */
export function readDuration(value: unknown, opts: { plainMs?: boolean } = {}): Reading {
  const plainMs = opts.plainMs === true;
  const expected = plainMs ? MILLIS_EXPECTED : DURATION_EXPECTED;
  if (typeof value === 'number') {
    if (!plainMs) return { ok: false, expected, why: 'a bare number could mean seconds or milliseconds' };
    return Number.isFinite(value) && value >= 0 ? { ok: true, value } : { ok: false, expected };
  }
  const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(value) : null;
  const unit = m?.[2] === undefined ? undefined : UNIT_MS[m[2]];
  if (m?.[1] === undefined || unit === undefined) return { ok: false, expected };
  return { ok: true, value: Number(m[1]) * unit };
}

/**
 * A fraction in 0..1 from `0.1` or `"10%"`. A number above 1 (`10`, `90`) is refused as ambiguous: it is the
 * percent the pack's monitoring config writes, and reading it as a fraction would never fire.
 */
export function readFraction(value: unknown): Reading {
  const expected = FRACTION_EXPECTED;
  const m = typeof value === 'number' ? null : typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(value) : null;
  const n = typeof value === 'number' ? value : m?.[1] === undefined ? NaN : Number(m[1]);
  if (!Number.isFinite(n) || n < 0) return { ok: false, expected };
  if (m?.[2] === '%') return n <= 100 ? { ok: true, value: n / 100 } : { ok: false, expected };
  if (n > 1) return { ok: false, expected, why: `a number above 1 is ambiguous: write ${n / 100} or "${n}%" for ${n} %` };
  return { ok: true, value: n };
}

/**
 * A change relative to a baseline, `"+10%"` or `"-10%"`, as a signed fraction (+0.1, -0.1). The sign is required
 * and must match `direction`: "latency up 10 %" and "throughput down 10 %" are different rules, and a rule with
 * the wrong sign would watch for an improvement.
 */
export function readRelative(value: unknown, direction: 'up' | 'down'): Reading {
  const sign = direction === 'up' ? '+' : '-';
  const expected = relativeExpected(direction);
  const m = typeof value === 'string' ? /^\s*([+-]?)\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value) : null;
  if (m?.[2] === undefined) return { ok: false, expected };
  const watches = direction === 'up' ? 'latency going up' : 'throughput going down';
  if (m[1] === '') return { ok: false, expected, why: `the sign is required: "${sign}${m[2]}%" watches for ${watches}` };
  if (m[1] !== sign) return { ok: false, expected, why: `this rule watches for ${watches}; "${m[1]}${m[2]}%" would watch for an improvement` };
  return { ok: true, value: (sign === '+' ? 1 : -1) * (Number(m[2]) / 100) };
}

/** {@link readDuration}, throwing InvalidInputError (exit 2) naming `keyPath`. */
export function parseDuration(value: unknown, keyPath: string, opts: { plainMs?: boolean } = {}): number {
  return valueOf(readDuration(value, opts), value, keyPath);
}

/** {@link readFraction}, throwing InvalidInputError (exit 2) naming `keyPath`. */
export function parseFraction(value: unknown, keyPath: string): number {
  return valueOf(readFraction(value), value, keyPath);
}

/** {@link readRelative}, throwing InvalidInputError (exit 2) naming `keyPath`. */
export function parseRelative(value: unknown, keyPath: string, direction: 'up' | 'down'): number {
  return valueOf(readRelative(value, direction), value, keyPath);
}

function valueOf(reading: Reading, value: unknown, keyPath: string): number {
  if (reading.ok) return reading.value;
  const why = reading.why === undefined ? '' : ` (${reading.why})`;
  throw new InvalidInputError(`${keyPath}: ${JSON.stringify(value) ?? String(value)} is not ${reading.expected}${why}`, {
    code: 'E_MONITOR_UNIT',
    keyPath,
  });
}

/** The thresholds of the rules, in canonical units: fractions, milliseconds, signed baseline changes. */
export interface Thresholds {
  /** Server errors over requests in the window; breached above it. */
  errorRate: number;
  /** Host memory in use (from MemAvailable) over total; breached above it. */
  memory: number;
  /** p95 latency in milliseconds; breached above it. */
  latencyMs: number;
  /** p95 latency change over the baseline (+0.1 = up 10 %); breached above it. */
  latencyP95Change: number;
  /**
   * Milliseconds p95 must also exceed the baseline by for a baseline latency breach: on a fast endpoint a relative
   * rule alone fires on noise (2 ms → 2.3 ms is +15 %).
   */
  latencyMinDeltaMs: number;
  /** Throughput change over the baseline (-0.1 = down 10 %); breached below it. */
  throughputChange: number;
}

/** The rollback guide's numbers and the sprint notes' baseline rule: what applies when nothing says otherwise. */
export const BUILT_IN_THRESHOLDS: Readonly<Thresholds> = Object.freeze({
  errorRate: 0.1,
  memory: 0.9,
  latencyMs: 5000,
  latencyP95Change: 0.1,
  latencyMinDeltaMs: 100,
  throughputChange: -0.1,
});
