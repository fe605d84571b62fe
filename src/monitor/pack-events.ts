/**
 * Turns parsed log lines into the monitor's events: requests, server and client errors, latencies, failed Python
 * runs, each attributed to one story or to none. What the pack's `logs/security.log` really holds decides the
 * rules (see the pack's monitoring notes): `api_request` is written before routing, with no status and no duration;
 * the ingestion service's `api_error` has no url and no service, and a body-parser failure logs one with no request.
 * So an event is attributed only on evidence in the line itself; anything else is project-level, never guessed.
 */
import { InvalidInputError } from '../model/errors.js';
import { PACK_FIELDS, type FieldPaths, type LineFormat } from '../model/monitor-types.js';
import type { Story } from '../model/types.js';
import { BUILTIN_STORIES } from '../stories/index.js';
import type { LineRef } from './log-reader.js';

export { PACK_FIELDS, PINO_FIELDS, type FieldPaths, type LineFormat } from '../model/monitor-types.js';

/**
 * What a log line means to the monitor. `excluded` is a logged request that is not traffic (a health check, an
 * OPTIONS): counted apart, so that a decision can say what it left out.
 */
export type LogEventKind = 'request' | 'server-error' | 'client-error' | 'latency' | 'python-error' | 'excluded';

/** One event, with the line it came from as evidence. */
export interface LogEvent {
  kind: LogEventKind;
  /** Milliseconds since the epoch, from the line's time field. */
  time: number;
  /** The story it belongs to, or `null`: project-level, which alerts but never rolls a story back on its own. */
  story: string | null;
  /** Milliseconds, for `latency`. */
  valueMs?: number;
  /** Why a request was left out, for `excluded`: `health` or `options`. */
  excluded?: string;
  source: LineRef;
}

/** How one story recognises its lines: every field path's regex must match (a story may have several matches). */
export interface LogMatch {
  story: string;
  /** Only lines of this watched file, as the config names it (`logs/security.log`); every file when absent. */
  file?: string;
  /**
   * Field → regex source, e.g. `{ url: "^/api/v1/data-sources" }`. A key naming a {@link FieldPaths} field (`url`,
   * `service`, `event`…) goes through the file's field paths, so one match reads the same on the pack's log and on
   * a pino log; any other key is a dotted path into the line (`req.headers.host`).
   */
  match: Record<string, string>;
}

/** The attribution table of `stories`' own log defaults (`Story.monitor.logs`), in the stories' order. */
export function storyLogMatches(stories: ReadonlyArray<Pick<Story, 'id' | 'monitor'>>): LogMatch[] {
  return stories.flatMap((s) => (s.monitor?.logs ?? []).map((l) => ({ story: s.id, file: l.file, match: { ...l.match } })));
}

/**
 * The built-in stories' attribution, from what their services really log (the stories declare it; this is their
 * table). Python runs are left out on purpose: the bridge serves both 1.2 and 1.6 and its lines do not say which.
 */
export const DEFAULT_LOG_MATCHES: readonly LogMatch[] = storyLogMatches(BUILTIN_STORIES);

/**
 * The attribution table: the defaults, with each story's configured `logs` replacing that story's defaults
 * (the config's rule: a story's `logs` replace its defaults of that kind).
 */
export function attributionTable(
  overrides: Record<string, ReadonlyArray<Omit<LogMatch, 'story'>>>,
  defaults: readonly LogMatch[] = DEFAULT_LOG_MATCHES,
): LogMatch[] {
  const replaced = new Set(Object.keys(overrides));
  const own = Object.entries(overrides).flatMap(([story, ms]) => ms.map((m) => ({ ...m, story })));
  return [...defaults.filter((m) => !replaced.has(m.story)), ...own];
}

/** A compiled classifier for one watched file. */
export interface LineClassifier {
  (value: Record<string, unknown>, source: LineRef): LogEvent[];
}

/** Health checks poll every service and say nothing about its traffic: they are not requests. */
const HEALTH = /^\/health(?:[/?]|$)/;

/**
 * A classifier for the lines of `file` (the watched path as configured, matched against `LogMatch.file`).
 * Throws {@link InvalidInputError} on a regex that does not compile, naming the story and field.
 */
export function lineClassifier(file: string, format: LineFormat, table: readonly LogMatch[]): LineClassifier {
  const fields = format.kind === 'pack' ? PACK_FIELDS : format.fields;
  const rules = table
    .filter((m) => m.file === undefined || m.file === file)
    .map((m) => ({
      story: m.story,
      // Paths split once here, not on every line: attribution runs for each event of a large log.
      tests: Object.entries(m.match).map(([k, re]) => [fieldPath(fields, k).split('.'), compile(re, m.story, k)] as const),
    }));
  const attribute = (value: Record<string, unknown>): string | null => {
    let found: string | null = null;
    for (const r of rules) {
      if (r.story === found) continue;
      const hit = r.tests.every(([p, re]) => {
        const v = at(value, p);
        return v !== undefined && re.test(String(v));
      });
      // Two stories claiming one line is a configuration overlap: do not pick one.
      if (hit && found !== null) return null;
      if (hit) found = r.story;
    }
    return found;
  };
  return (value, source) => {
    const time = toMillis(at(value, fields.time));
    if (time === undefined) return [];
    const kinds = format.kind === 'pack' ? packKinds(value) : genericKinds(value, fields);
    if (kinds.length === 0) return [];
    const story = attribute(value);
    return kinds.map((k) => ({ ...k, time, story, source }));
  };
}

type Kinds = Array<{ kind: LogEventKind; valueMs?: number; excluded?: string }>;

function packKinds(v: Record<string, unknown>): Kinds {
  switch (v['event']) {
    case 'api_request':
      return [notTraffic(v['url'], v['method']) ?? { kind: 'request' }];
    case 'api_error':
      return [{ kind: 'server-error' }];
    case 'auth_failure':
    case 'permission_denied':
      return [{ kind: 'client-error' }];
    case 'analytics_query': {
      const ms = v['execution_time'];
      return typeof ms === 'number' && Number.isFinite(ms) ? [{ kind: 'latency', valueMs: ms }] : [];
    }
    case 'python_execution':
      // Logged at INFO even when the script failed: the status says it, not the level.
      return v['status'] === 'error' || v['status'] === 'spawn_error' ? [{ kind: 'python-error' }] : [];
    default:
      return [];
  }
}

function genericKinds(v: Record<string, unknown>, f: FieldPaths): Kinds {
  const left = notTraffic(f.url === undefined ? undefined : at(v, f.url), f.method === undefined ? undefined : at(v, f.method));
  if (left !== undefined) return [left];
  const status = f.status === undefined ? undefined : Number(at(v, f.status));
  const ms = f.duration === undefined ? undefined : at(v, f.duration);
  const out: Kinds = [];
  if (status !== undefined && Number.isInteger(status) && status >= 100) {
    out.push({ kind: 'request' });
    if (status >= 500) out.push({ kind: 'server-error' });
    else if (status >= 400) out.push({ kind: 'client-error' });
  }
  if (typeof ms === 'number' && Number.isFinite(ms)) out.push({ kind: 'latency', valueMs: ms });
  return out;
}

function notTraffic(url: unknown, method: unknown): Kinds[number] | undefined {
  if (method === 'OPTIONS') return { kind: 'excluded', excluded: 'options' };
  if (typeof url === 'string' && HEALTH.test(url)) return { kind: 'excluded', excluded: 'health' };
  return undefined;
}

function fieldPath(fields: FieldPaths, key: string): string {
  return Object.hasOwn(fields, key) ? (fields[key as keyof FieldPaths] ?? key) : key;
}

/** The value at a dotted field path (or its parts), or `undefined`. */
export function at(value: unknown, fieldPath: string | readonly string[]): unknown {
  let v = value;
  for (const k of typeof fieldPath === 'string' ? fieldPath.split('.') : fieldPath) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function toMillis(v: unknown): number | undefined {
  const ms = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

function compile(source: string, story: string, fieldPath: string): RegExp {
  try {
    return new RegExp(source);
  } catch (cause) {
    throw new InvalidInputError(`monitor: story ${story}'s log match on ${fieldPath} is not a valid regex: ${source}`, {
      keyPath: `monitor.stories.${story}.logs.match.${fieldPath}`,
      cause,
    });
  }
}
