/**
 * The monitor's config values, with their units said out loud. The pack's own files disagree on units
 * (`error_rate: 0.1 # Maximum error rate percentage`, memory as 90 or 0.9), so a value that could mean two things
 * is refused with its key path rather than guessed: a wrong guess is a rollback nobody asked for, or none at all.
 */
import { InvalidInputError } from '../model/errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

function bad(keyPath: string, value: unknown, expected: string): InvalidInputError {
  return new InvalidInputError(`${keyPath}: ${JSON.stringify(value) ?? String(value)} is not ${expected}`, {
    code: 'E_MONITOR_UNIT',
    keyPath,
  });
}

/**
 * A duration in milliseconds from `500ms`, `1.5s`, `5m` or `1h`. A bare number is refused unless `plainMs` says the
 * key's name carries the unit (only `latencyMs` and the pack's `response_time_threshold` do): `interval: 5` could
 * be seconds or milliseconds.
 */
export function parseDuration(value: unknown, keyPath: string, opts: { plainMs?: boolean } = {}): number {
  if (typeof value === 'number') {
    if (opts.plainMs === true && Number.isFinite(value) && value >= 0) return value;
    throw bad(keyPath, value, opts.plainMs === true ? 'a duration (milliseconds ≥ 0)' : 'a duration with a unit (500ms, 1s, 5m, 1h)');
  }
  const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(value) : null;
  const unit = m?.[2] === undefined ? undefined : UNIT_MS[m[2]];
  if (m?.[1] === undefined || unit === undefined) throw bad(keyPath, value, 'a duration with a unit (500ms, 1s, 5m, 1h)');
  return Number(m[1]) * unit;
}

/**
 * A fraction in 0..1 from `0.1` or `"10%"`. A number above 1 (`10`, `90`) is refused as ambiguous: it is the
 * percent the pack's monitoring config writes, and reading it as a fraction would never fire.
 */
export function parseFraction(value: unknown, keyPath: string): number {
  const expected = 'a fraction in 0..1 (0.1) or a percentage ("10%")';
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0 && value <= 1) return value;
    throw bad(keyPath, value, expected);
  }
  const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(value) : null;
  if (m?.[1] === undefined) throw bad(keyPath, value, expected);
  const n = Number(m[1]);
  const f = m[2] === '%' ? n / 100 : n;
  if (f > 1) throw bad(keyPath, value, expected);
  return f;
}

/**
 * A change relative to a baseline, `"+10%"` or `"-10%"`, as a signed fraction (+0.1, -0.1). The sign is required
 * and must match `direction`: "latency up 10 %" and "throughput down 10 %" are different rules, and a rule with
 * the wrong sign would watch for an improvement.
 */
export function parseRelative(value: unknown, keyPath: string, direction: 'up' | 'down'): number {
  const sign = direction === 'up' ? '+' : '-';
  const m = typeof value === 'string' ? /^\s*([+-])\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value) : null;
  if (m?.[2] === undefined || m[1] !== sign) throw bad(keyPath, value, `a change from the baseline such as "${sign}10%"`);
  return (sign === '+' ? 1 : -1) * (Number(m[2]) / 100);
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
  /** Throughput change over the baseline (-0.1 = down 10 %); breached below it. */
  throughputChange: number;
}

/** The rollback guide's numbers and the sprint notes' baseline rule: what applies when nothing says otherwise. */
export const BUILT_IN_THRESHOLDS: Readonly<Thresholds> = Object.freeze({
  errorRate: 0.1,
  memory: 0.9,
  latencyMs: 5000,
  latencyP95Change: 0.1,
  throughputChange: -0.1,
});

/**
 * Default thresholds from the pack's `rollback_triggers` (config/feature-flags.yaml) in its real shape, a list of
 * single-key maps. Keys we do not know are left alone (the pack may add triggers we do not measure); a known key
 * with a bad value, or an entry that is not a single-key map, is an error at its index.
 */
export function thresholdsFromRollbackTriggers(list: unknown, keyPath = 'rollback_triggers'): Thresholds {
  const out: Thresholds = { ...BUILT_IN_THRESHOLDS };
  if (list === undefined || list === null) return out;
  if (!Array.isArray(list)) throw bad(keyPath, list, 'a list of single-key maps');
  list.forEach((entry: unknown, i) => {
    const at = `${keyPath}[${i}]`;
    const keys = entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? Object.keys(entry) : [];
    if (keys.length !== 1) throw bad(at, entry, 'a map with one key');
    const key = keys[0] as string;
    const v = (entry as Record<string, unknown>)[key];
    if (key === 'error_rate_threshold') out.errorRate = parseFraction(v, `${at}.${key}`);
    else if (key === 'memory_usage_threshold') out.memory = parseFraction(v, `${at}.${key}`);
    else if (key === 'response_time_threshold') out.latencyMs = parseDuration(v, `${at}.${key}`, { plainMs: true });
  });
  return out;
}

/**
 * `monitor.thresholds` (or a story's `thresholds`) laid over `base`: only the keys present replace. `keyPath` is
 * where the map sits, e.g. `monitor.stories.1.2.thresholds`, so that an error names the exact key.
 */
export function parseThresholds(value: unknown, keyPath: string, base: Thresholds): Thresholds {
  if (value === undefined || value === null) return { ...base };
  if (typeof value !== 'object' || Array.isArray(value)) throw bad(keyPath, value, 'a map of thresholds');
  const v = value as Record<string, unknown>;
  const out: Thresholds = { ...base };
  if (v.errorRate !== undefined) out.errorRate = parseFraction(v.errorRate, `${keyPath}.errorRate`);
  if (v.memory !== undefined) out.memory = parseFraction(v.memory, `${keyPath}.memory`);
  if (v.latencyMs !== undefined) out.latencyMs = parseDuration(v.latencyMs, `${keyPath}.latencyMs`, { plainMs: true });
  const b = v.baseline;
  if (b !== undefined) {
    if (b === null || typeof b !== 'object' || Array.isArray(b)) throw bad(`${keyPath}.baseline`, b, 'a map');
    const bl = b as Record<string, unknown>;
    if (bl.latencyP95 !== undefined) out.latencyP95Change = parseRelative(bl.latencyP95, `${keyPath}.baseline.latencyP95`, 'up');
    if (bl.throughput !== undefined) out.throughputChange = parseRelative(bl.throughput, `${keyPath}.baseline.throughput`, 'down');
  }
  return out;
}
