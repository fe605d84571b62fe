/**
 * What the threshold monitor watches of a story, as a story or the config declares it: the probes of its
 * endpoints and how its lines are recognised in the project's logs. Plain data, like the rest of a story.
 */

/** An HTTP endpoint probed once per interval. Refused, timed out or 5xx is a failed measurement of the story. */
export interface ProbeSpec {
  /** `http://127.0.0.1:3001/health` */
  url: string;
  /** Milliseconds before the probe counts as timed out. */
  timeoutMs: number;
}

/** How one story recognises its lines in one watched log: every field's regex must match. */
export interface LogMatchSpec {
  /** The watched file, relative to the root (`logs/security.log`). */
  file: string;
  /**
   * Field → regex source, e.g. `{ url: "^/api/v1/data-sources" }`. A key naming a {@link FieldPaths} field goes
   * through the file's field paths; any other key is a dotted path into the line (`req.headers.host`).
   */
  match: Record<string, string>;
}

/** Field paths of a JSON-lines format. */
export interface FieldPaths {
  time: string;
  event?: string;
  /** An HTTP status: ≥ 500 is a server error, 4xx a client error (generic formats only; the pack logs none). */
  status?: string;
  /** Milliseconds a request took. */
  duration?: string;
  url?: string;
  method?: string;
  service?: string;
}

/** The pack's `security.log` (its events are read by their names, not by a status). */
export const PACK_FIELDS: Readonly<FieldPaths> = Object.freeze({ time: 'timestamp', event: 'event', url: 'url', method: 'method', service: 'service' });

/** pino-http's request log lines: `format: pino` in the config. */
export const PINO_FIELDS: Readonly<FieldPaths> = Object.freeze({
  time: 'time',
  status: 'res.statusCode',
  duration: 'responseTime',
  url: 'req.url',
  method: 'req.method',
});

/** How a watched file is read: the pack's events, or a generic format by its field paths. */
export type LineFormat = { kind: 'pack' } | { kind: 'generic'; fields: FieldPaths };

/** A story's monitoring defaults (built-in stories carry them; the config's `probes` or `logs` replace them). */
export interface StoryMonitorDefaults {
  probes?: ProbeSpec[];
  logs?: LogMatchSpec[];
}
