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
      // Paths compiled once here, not on every line: attribution runs for each event of a large log.
      tests: Object.entries(m.match).map(([k, re]) => ({ get: getter(fieldPath(fields, k)), re: compile(re, m.story, k) })),
    }));
  const attribute = (value: Record<string, unknown>): string | null => {
    let found: string | null = null;
    for (const r of rules) {
      if (r.story === found) continue;
      let hit = true;
      for (const t of r.tests) {
        const v = t.get(value);
        if (v === undefined || !t.re.test(typeof v === 'string' ? v : String(v))) {
          hit = false;
          break;
        }
      }
      // Two stories claiming one line is a configuration overlap: do not pick one.
      if (hit && found !== null) return null;
      if (hit) found = r.story;
    }
    return found;
  };
  const time = getter(fields.time);
  const millis = timeParser();
  if (format.kind === 'pack') {
    // A pack line has at most one kind, and most lines' kind is known from one field: look at it first.
    return (value, source) => {
      const kind = packKind(value);
      if (kind === undefined) return [];
      const t = millis(time(value));
      if (t === undefined) return [];
      return [event(kind, t, attribute(value), source)];
    };
  }
  const paths = genericPaths(fields);
  return (value, source) => {
    const t = millis(time(value));
    if (t === undefined) return [];
    const kinds = genericKinds(value, paths);
    if (kinds.length === 0) return [];
    const story = attribute(value);
    return kinds.map((k) => event(k, t, story, source));
  };
}

type Kind = { kind: LogEventKind; valueMs?: number; excluded?: string };

const REQUEST: Kind = { kind: 'request' };
const SERVER_ERROR: Kind = { kind: 'server-error' };
const CLIENT_ERROR: Kind = { kind: 'client-error' };
const PYTHON_ERROR: Kind = { kind: 'python-error' };
const OPTIONS: Kind = { kind: 'excluded', excluded: 'options' };
const HEALTH_CHECK: Kind = { kind: 'excluded', excluded: 'health' };

/** The event of one kind; a kind's optional fields only when it has them, as the events always had. */
function event(k: Kind, time: number, story: string | null, source: LineRef): LogEvent {
  if (k.valueMs !== undefined) return { kind: k.kind, valueMs: k.valueMs, time, story, source };
  if (k.excluded !== undefined) return { kind: k.kind, excluded: k.excluded, time, story, source };
  return { kind: k.kind, time, story, source };
}

function packKind(v: Record<string, unknown>): Kind | undefined {
  switch (v['event']) {
    case 'api_request':
      return notTraffic(v['url'], v['method']) ?? REQUEST;
    case 'api_error':
      return SERVER_ERROR;
    case 'auth_failure':
    case 'permission_denied':
      return CLIENT_ERROR;
    case 'analytics_query': {
      const ms = v['execution_time'];
      return typeof ms === 'number' && Number.isFinite(ms) ? { kind: 'latency', valueMs: ms } : undefined;
    }
    case 'python_execution':
      // Logged at INFO even when the script failed: the status says it, not the level.
      return v['status'] === 'error' || v['status'] === 'spawn_error' ? PYTHON_ERROR : undefined;
    default:
      return undefined;
  }
}

type Get = (v: Record<string, unknown>) => unknown;

/** A generic format's field readers, compiled once. */
function genericPaths(f: FieldPaths): { url?: Get; method?: Get; status?: Get; duration?: Get } {
  return {
    ...(f.url === undefined ? {} : { url: getter(f.url) }),
    ...(f.method === undefined ? {} : { method: getter(f.method) }),
    ...(f.status === undefined ? {} : { status: getter(f.status) }),
    ...(f.duration === undefined ? {} : { duration: getter(f.duration) }),
  };
}

function genericKinds(v: Record<string, unknown>, f: ReturnType<typeof genericPaths>): Kind[] {
  const left = notTraffic(f.url?.(v), f.method?.(v));
  if (left !== undefined) return [left];
  const status = f.status === undefined ? undefined : Number(f.status(v));
  const ms = f.duration?.(v);
  const out: Kind[] = [];
  if (status !== undefined && Number.isInteger(status) && status >= 100) {
    out.push(REQUEST);
    if (status >= 500) out.push(SERVER_ERROR);
    else if (status >= 400) out.push(CLIENT_ERROR);
  }
  if (typeof ms === 'number' && Number.isFinite(ms)) out.push({ kind: 'latency', valueMs: ms });
  return out;
}

function notTraffic(url: unknown, method: unknown): Kind | undefined {
  if (method === 'OPTIONS') return OPTIONS;
  if (typeof url === 'string' && HEALTH.test(url)) return HEALTH_CHECK;
  return undefined;
}

/** A reader of one dotted field path, split once; a one-part path (the usual case) is a plain property read. */
function getter(fieldPath: string): Get {
  const parts = fieldPath.split('.');
  const [only] = parts;
  if (parts.length === 1 && only !== undefined) return (v) => v[only];
  return (v) => at(v, parts);
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

/**
 * Milliseconds from a time field: a number as is, a string through Date.parse. Log lines come in time order, so
 * consecutive ISO timestamps (`YYYY-MM-DDTHH:MM:SS.sssZ`) share their minute: that part is parsed by Date.parse
 * once per minute, and the seconds and milliseconds added to it, which is what Date.parse itself computes.
 */
function timeParser(): (v: unknown) => number | undefined {
  let minute = '';
  let minuteMs = Number.NaN;
  return (v) => {
    if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
    if (typeof v !== 'string') return undefined;
    if (isoShape(v)) {
      if (minute === '' || !v.startsWith(minute)) {
        minute = v.slice(0, 17);
        minuteMs = Date.parse(`${minute}00.000Z`);
      }
      const s = digit(v, 17) * 10 + digit(v, 18);
      if (Number.isFinite(minuteMs) && s < 60) return minuteMs + s * 1000 + digit(v, 20) * 100 + digit(v, 21) * 10 + digit(v, 22);
    }
    const ms = Date.parse(v);
    return Number.isFinite(ms) ? ms : undefined;
  };
}

/**
 * `dddd-dd-ddThh:mm:ss.sssZ` with an hour below 24 and seconds below 60 (Date.parse takes `24:00:00` as the next
 * day's midnight, but no other second of that hour): the shape whose value is its minute's plus its seconds.
 */
function isoShape(v: string): boolean {
  if (v.length !== ISO_TEMPLATE.length) return false;
  for (let i = 0; i < ISO_TEMPLATE.length; i++) {
    const c = v.charCodeAt(i);
    const want = ISO_TEMPLATE.charCodeAt(i);
    if (want === 48 ? c < 48 || c > 57 : c !== want) return false;
  }
  return digit(v, 11) * 10 + digit(v, 12) < 24;
}

/** An ISO timestamp's shape: `0` where a digit goes, every other character as it must be. */
const ISO_TEMPLATE = '0000-00-00T00:00:00.000Z';

function digit(v: string, i: number): number {
  return v.charCodeAt(i) - 48;
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
