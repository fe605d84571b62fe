/**
 * The schema of `monitor:` in `config/rollback.yaml`, and of the pack's `rollback_triggers`. Every value with a
 * unit goes through the readers of monitor-units inside the schema, so that `interval: 5` or `errorRate: 10` is one
 * of the file's problems, with its line and key path, like any other (exit 2, nothing changed).
 *
 * The output is what the file says in canonical units (milliseconds, fractions, signed changes), nothing added:
 * resolveMonitorSettings lays it over the defaults and the stories' own.
 */
import path from 'node:path';
import * as z from 'zod';
import { PINO_FIELDS, type FieldPaths, type LineFormat, type LogMatchSpec, type ProbeSpec } from '../model/monitor-types.js';
import { messageOf } from '../model/errors.js';
import { DEFAULT_MONITOR, DEFAULT_PROBE_TIMEOUT_MS, DEFAULT_PROPOSALS } from './config-defaults.js';
import { DEFAULT_PROMETHEUS_TIMEOUT_MS, QUERY_RULES, type PrometheusSettings, type StoryQuery } from './prometheus-settings.js';
import { DEFAULT_NOTIFY, NOTIFY_FORMATS, NOTIFY_SEVERITIES, type NotifyTarget } from './notify-settings.js';
import {
  DURATION_EXPECTED,
  FRACTION_EXPECTED,
  MILLIS_EXPECTED,
  readDuration,
  readFraction,
  readRelative,
  relativeExpected,
  type Reading,
  type Thresholds,
} from './monitor-units.js';
import { pathValue, section, storyIdSchema } from './schema-parts.js';

/** `found 5`, `found "5"`: the value as the file wrote it, the way the other problems say it. */
function found(v: string | number): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** A string or number read by `read` into its canonical unit; refused with what was expected (and why). */
function unitValue(expected: string, read: (v: string | number) => Reading, description: string) {
  return z
    .union([z.string(), z.number()], { error: `must be ${expected}` })
    .transform((v, ctx) => {
      const r = read(v);
      if (r.ok) return r.value;
      ctx.addIssue({ code: 'custom', message: `must be ${r.expected}, found ${found(v)}${r.why === undefined ? '' : `: ${r.why}`}`, input: v });
      return z.NEVER;
    })
    .meta({ description });
}

/** A duration with a unit (`500ms`, `2m`), in milliseconds; `positive`: above 0. */
export const duration = (description: string, opts: { positive?: boolean } = {}) =>
  unitValue(
    DURATION_EXPECTED,
    (v) => {
      const r = readDuration(v);
      return r.ok && opts.positive === true && r.value === 0 ? { ok: false, expected: `${DURATION_EXPECTED} above 0` } : r;
    },
    description,
  );
const millis = (description: string) => unitValue(MILLIS_EXPECTED, (v) => readDuration(v, { plainMs: true }), description);
const fraction = (description: string) => unitValue(FRACTION_EXPECTED, readFraction, description);
const relative = (direction: 'up' | 'down', description: string) => unitValue(relativeExpected(direction), (v) => readRelative(v, direction), description);
const count = (min: number, description: string) =>
  z.int({ error: `must be a whole number of at least ${min}` }).min(min).meta({ description });

/** Only the keys that have a value: laid over defaults, an absent key must not replace one with `undefined`. */
function defined<T extends object>(o: T): Partial<{ [K in keyof T]: Exclude<T[K], undefined> }> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<{ [K in keyof T]: Exclude<T[K], undefined> }>;
}

/** `thresholds:` of the project or of one story: the keys it writes, in canonical units. */
export const thresholdsSchema = section(
  {
    errorRate: fraction('Server errors over requests in the window; breached above it: 0.1 or "10%".').optional(),
    memory: fraction('Host memory in use over total; breached above it: 0.9 or "90%".').optional(),
    latencyMs: millis('p95 latency; breached above it: milliseconds (5000) or a duration ("5s").').optional(),
    baseline: section(
      {
        latencyP95: relative('up', 'p95 latency up from the baseline window by more than this: "+10%".').optional(),
        throughput: relative('down', 'Throughput down from the baseline window by more than this: "-10%".').optional(),
        minLatencyDeltaMs: millis('A baseline latency breach also needs p95 this far above the baseline (default 100).').optional(),
      },
      'must be a mapping (latencyP95, throughput, minLatencyDeltaMs)',
    )
      .nullable()
      .optional(),
  },
  'must be a mapping of thresholds (errorRate, memory, latencyMs, baseline)',
).transform(
  (t): Partial<Thresholds> =>
    defined({
      errorRate: t.errorRate,
      memory: t.memory,
      latencyMs: t.latencyMs,
      latencyP95Change: t.baseline?.latencyP95,
      throughputChange: t.baseline?.throughput,
      latencyMinDeltaMs: t.baseline?.minLatencyDeltaMs,
    }),
);

/** An http(s) URL, checked here so that a typo is a problem at its line rather than a probe that always fails. */
const httpUrl = z.string({ error: 'must be an http:// or https:// URL' }).superRefine((u, ctx) => {
  let url: URL | null = null;
  try {
    url = new URL(u);
  } catch {
    url = null;
  }
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    ctx.addIssue({ code: 'custom', message: `must be an http:// or https:// URL, found ${found(u)}`, input: u });
  }
});

/** An endpoint probed once per interval. */
const probeSchema = section(
  {
    url: httpUrl.meta({ description: 'http://127.0.0.1:3001/health' }),
    timeout: duration(`Before the probe counts as failed (default ${DEFAULT_PROBE_TIMEOUT_MS / 1000}s).`, { positive: true }).optional(),
  },
  'must be a mapping { url, timeout }',
).transform((p): ProbeSpec => ({ url: p.url, timeoutMs: p.timeout ?? DEFAULT_PROBE_TIMEOUT_MS }));

// ── Prometheus: `monitor.prometheus` and `monitor.stories.<id>.queries` ──

/** The name of an environment variable: the config names where a secret is, never the secret. */
const envName = z
  .string({ error: 'must be the name of an environment variable' })
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be the name of an environment variable (letters, digits, _), not its value' });

/** Where the stories' queries go, and the environment variables holding its credentials. */
const prometheusSchema = section(
  {
    url: httpUrl
      .superRefine((u, ctx) => {
        const url = URL.canParse(u) ? new URL(u) : null;
        if (url !== null && (url.username !== '' || url.password !== '')) {
          ctx.addIssue({ code: 'custom', message: 'must not hold credentials: name their environment variables in bearerTokenEnv or basicAuthEnv', input: u });
        }
        if (url !== null && (url.search !== '' || url.hash !== '')) ctx.addIssue({ code: 'custom', message: `must be the server's base URL, without ?query or #fragment, found ${found(u)}`, input: u });
      })
      .meta({ description: "The server's base URL: http://127.0.0.1:9090." }),
    timeout: duration(`One query's deadline (default ${DEFAULT_PROMETHEUS_TIMEOUT_MS / 1000}s).`, { positive: true }).optional(),
    bearerTokenEnv: envName.optional().meta({ description: 'The environment variable holding a bearer token.' }),
    basicAuthEnv: section({ user: envName, password: envName }, 'must be a mapping { user, password } of environment variable names')
      .optional()
      .meta({ description: 'The environment variables holding a basic-auth user and password.' }),
  },
  'must be a mapping { url, timeout, bearerTokenEnv or basicAuthEnv }',
)
  .superRefine((p, ctx) => {
    if (p.bearerTokenEnv !== undefined && p.basicAuthEnv !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'is set beside bearerTokenEnv: choose one way to authenticate', path: ['basicAuthEnv'], input: p.basicAuthEnv });
    }
  })
  .transform(
    (p): PrometheusSettings => ({
      url: p.url.replace(/\/+$/, ''),
      timeoutMs: p.timeout ?? DEFAULT_PROMETHEUS_TIMEOUT_MS,
      auth:
        p.bearerTokenEnv !== undefined
          ? { kind: 'bearer', tokenEnv: p.bearerTokenEnv }
          : p.basicAuthEnv !== undefined
            ? { kind: 'basic', userEnv: p.basicAuthEnv.user, passwordEnv: p.basicAuthEnv.password }
            : null,
    }),
  );

/** A story's instant queries, one per rule: two samples of one rule in a round would break each other's rows. */
const queriesSchema = z
  .array(
    section(
      {
        rule: z
          .enum(QUERY_RULES, { error: `must be ${QUERY_RULES.join(', ')} (a rule judged on one number against a threshold)` })
          .meta({ description: "The rule whose threshold the value is judged against: errorRate and memory as fractions, latencyP95 in ms." }),
        query: z
          .string({ error: 'must be a PromQL expression' })
          .trim()
          .min(1, { error: 'must be a PromQL expression' })
          .meta({ description: 'An instant PromQL expression; with several series, the largest value counts.' }),
      },
      'must be a mapping { rule, query }',
    ).transform((q): StoryQuery => ({ rule: q.rule, query: q.query })),
    { error: 'must be a list of { rule, query }' },
  )
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((q, i) => {
      if (seen.has(q.rule)) ctx.addIssue({ code: 'custom', message: `is a second query for ${q.rule}: one query per rule and story`, path: [i, 'rule'], input: q.rule });
      seen.add(q.rule);
    });
  });

// ── end Prometheus ──

/** A regular expression, compiled here so that a bad one names its story, field and line. */
const regexSource = z.string({ error: 'must be a regular expression (a string)' }).superRefine((re, ctx) => {
  try {
    new RegExp(re);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `is not a valid regular expression: ${messageOf(err)}`, input: re });
  }
});

/** How one story recognises its lines in one watched file. */
const storyLogSchema = section(
  {
    file: pathValue('a log file relative to the root').meta({ description: 'The watched file, relative to the root.' }),
    match: z
      .record(z.string().min(1), regexSource, { error: 'must be a mapping of field to regular expression' })
      .refine((m) => Object.keys(m).length > 0, { message: 'must name at least one field (a match of nothing would claim every line)' })
      .meta({ description: 'Field (url, service, event, or a dotted path into the line) to a regex; every one must match.' }),
  },
  'must be a mapping { file, match }',
).transform((l): LogMatchSpec => ({ file: normalPath(l.file), match: l.match }));

/** `logs/app.log` and `./logs/app.log` are one file: stories' matches and formats are joined on this form. */
function normalPath(p: string): string {
  return path.posix.normalize(p).replace(/\/+$/, '');
}

/** A JSON-lines format by its field paths (`time` is required: a line without a time cannot be placed in a window). */
const fieldPathsSchema = section(
  {
    time: z.string({ error: 'must be a field path' }).min(1).meta({ description: 'Epoch milliseconds or an ISO date.' }),
    status: z.string({ error: 'must be a field path' }).min(1).optional().meta({ description: 'HTTP status: ≥ 500 is a server error.' }),
    duration: z.string({ error: 'must be a field path' }).min(1).optional().meta({ description: 'Milliseconds the request took.' }),
    url: z.string({ error: 'must be a field path' }).min(1).optional(),
    method: z.string({ error: 'must be a field path' }).min(1).optional(),
    service: z.string({ error: 'must be a field path' }).min(1).optional(),
    event: z.string({ error: 'must be a field path' }).min(1).optional(),
  },
  'must be a mapping of field paths (time, status, duration, url, method, service, event)',
);

const formatSchema = z
  .union([z.enum(['pack', 'pino']), fieldPathsSchema], { error: 'must be pack, pino or a mapping of field paths (time, status, duration, …)' })
  .transform((f): LineFormat => (f === 'pack' ? { kind: 'pack' } : f === 'pino' ? { kind: 'generic', fields: { ...PINO_FIELDS } } : { kind: 'generic', fields: defined(f) as FieldPaths }))
  .meta({ description: "pack (the pack's security.log), pino (pino-http), or the field paths of a JSON-lines format." });

/** The format of one watched file. */
const logFormatSchema = section(
  {
    file: pathValue('a log file relative to the root').meta({ description: 'A file some story\'s logs name.' }),
    format: formatSchema,
  },
  'must be a mapping { file, format }',
).transform((l) => ({ file: normalPath(l.file), format: l.format }));

/** What the monitor watches of one story: `probes` or `logs` written here replace the story's own of that kind. */
export const storyMonitorSchema = section(
  {
    probes: z.array(probeSchema, { error: 'must be a list of { url, timeout }' }).optional().meta({ description: "Replace the story's default probes." }),
    logs: z.array(storyLogSchema, { error: 'must be a list of { file, match }' }).optional().meta({ description: "Replace the story's default log matches." }),
    thresholds: thresholdsSchema
      .nullable()
      .transform((t) => t ?? {})
      .optional()
      .meta({ description: "Laid over the project's thresholds." }),
    queries: queriesSchema.optional().meta({ description: 'Instant PromQL queries sent to monitor.prometheus: { rule, query }.' }),
  },
  'must be a mapping (probes, logs, thresholds, queries)',
);

// --- Alertmanager (`monitor --listen`): which story an alert is about, when it carries no `rollback_story` label.

/** A label name as Prometheus allows it. */
const labelName = z.string({ error: 'must be a label name' }).regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { error: 'is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)' });

/** One mapping of `monitor.alerts`: an alert of this name, with these labels among its own, is about this story. */
const alertRouteSchema = section(
  {
    alertname: z.string({ error: 'must be an alert name' }).min(1, { error: 'must be an alert name' }).meta({ description: 'The alert\'s alertname label.' }),
    labels: z
      .record(labelName, z.string({ error: 'must be a label value (a string)' }), { error: 'must be a mapping of label to value' })
      .optional()
      .meta({ description: 'Labels the alert must also carry, with these values.' }),
    story: storyIdSchema.meta({ description: 'The story the alert is a breach of.' }),
  },
  'must be a mapping { alertname, labels, story }',
).transform((r) => ({ alertname: r.alertname, labels: r.labels ?? {}, story: r.story }));

// ── Notifications: `monitor.notify` ──

/** One receiver of the monitor's automatic decisions. */
const notifyTargetSchema = section(
  {
    url: httpUrl.meta({ description: 'Where each decision is POSTed: http(s)://…; user:password in it is sent as basic auth.' }),
    severity: z
      .enum(NOTIFY_SEVERITIES, { error: 'must be info, warning or critical' })
      .optional()
      .meta({ description: `The least severity sent: info (everything), warning (alerts, would-act and above), critical (rollbacks, caps) (default ${DEFAULT_NOTIFY.severity}).` }),
    format: z
      .enum(NOTIFY_FORMATS, { error: `must be ${NOTIFY_FORMATS.join(' or ')}` })
      .optional()
      .meta({ description: `json (the decision document) or slack ({ text, blocks }) (default ${DEFAULT_NOTIFY.format}).` }),
    timeout: duration(`One attempt's deadline (default ${DEFAULT_NOTIFY.timeoutMs / 1000}s).`, { positive: true }).optional(),
    retries: z
      .int({ error: 'must be a whole number of at least 0' })
      .min(0)
      .optional()
      .meta({ description: `Attempts after the first, with exponential back-off (default ${DEFAULT_NOTIFY.retries}).` }),
  },
  'must be a mapping { url, severity, format, timeout, retries }',
).transform(
  (t): NotifyTarget => ({
    url: t.url,
    severity: t.severity ?? DEFAULT_NOTIFY.severity,
    format: t.format ?? DEFAULT_NOTIFY.format,
    timeoutMs: t.timeout ?? DEFAULT_NOTIFY.timeoutMs,
    retries: t.retries ?? DEFAULT_NOTIFY.retries,
  }),
);

// ── end Notifications ──

/** A default as the file would write it: `5s`, `60s`, `10m`. */
const ms = (n: number): string => (n >= 120_000 ? `${n / 60_000}m` : `${n / 1000}s`);
const D = DEFAULT_MONITOR;

/** `monitor:` as the file writes it. */
export const monitorSchema = section(
  {
    interval: duration(`How often the monitor samples (default ${ms(D.intervalMs)}).`, { positive: true }).optional(),
    window: duration(`The window a sample is measured over (default ${ms(D.windowMs)}).`, { positive: true }).optional(),
    consecutive: count(1, `Breached samples in a row before acting (default ${D.consecutive}).`).optional(),
    recover: count(1, `Healthy samples in a row before a breach clears (default ${D.recover}).`).optional(),
    minRequests: count(1, `Requests an error rate needs in the window; fewer is no data (default ${D.minRequests}).`).optional(),
    cooldown: duration(`Per story, after an automatic rollback (default ${ms(D.cooldownMs)}).`).optional(),
    maxPerDay: count(0, `Automatic rollbacks per story in 24 h; past it, alert only (default ${D.maxPerDay}).`).optional(),
    action: z
      .enum(['rollback', 'flag-only', 'alert', 'propose'], { error: 'must be rollback, flag-only, alert or propose' })
      .optional()
      .meta({ description: `rollback | flag-only | alert | propose (a proposal a person approves; default ${D.action}).` }),
    // Approval mode (action: propose).
    mitigate: z.boolean({ error: 'must be true or false' }).optional().meta({ description: 'With action: propose, turn the story\'s flag off at once while the proposal waits (default false).' }),
    proposalTtl: duration(`With action: propose, how long a proposal can be approved (default ${ms(DEFAULT_PROPOSALS.ttlMs)}).`, { positive: true }).optional(),
    cascade: z.boolean({ error: 'must be true or false' }).optional().meta({ description: 'May an automatic rollback take installed dependents with it (default false).' }),
    // The watch after a story comes back (restore --watch, or a running monitor seeing it restored or enabled).
    watchTimeout: duration(`How long a story that came back is watched, and restore --watch's default (default ${ms(D.watchTimeoutMs)}).`, { positive: true }).optional(),
    autoRollbackOnFailure: z
      .boolean({ error: 'must be true or false' })
      .optional()
      .meta({ description: `Roll a story back again when it degrades during its watch after coming back; false: alert only (default ${D.autoRollbackOnFailure}).` }),
    sourceErrorsBeforeAlert: count(1, `Failures of one source in a row before the monitor alerts about itself (default ${D.sourceErrorsBeforeAlert}).`).optional(),
    memoryShare: fraction(`A story is blamed for host memory only when its processes hold this share of used memory (default ${D.memoryShare}).`).optional(),
    thresholds: thresholdsSchema
      .nullable()
      .transform((t) => t ?? {})
      .optional()
      .meta({ description: "Laid over the pack's rollback_triggers." }),
    alerts: z
      .array(alertRouteSchema, { error: 'must be a list of { alertname, labels, story }' })
      .optional()
      .meta({ description: 'Alertmanager alerts without a rollback_story label: which story each is about (first match wins).' }),
    alertConsecutive: count(1, `Firing samples in a row of an Alertmanager alert before acting; it was debounced by its for: already (default ${D.alertConsecutive}).`).optional(),
    logs: z
      .array(logFormatSchema, { error: 'must be a list of { file, format }' })
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((l, i) => {
          if (seen.has(l.file)) ctx.addIssue({ code: 'custom', message: `names "${l.file}" a second time`, path: [i, 'file'], input: l.file });
          seen.add(l.file);
        });
      })
      .optional()
      .meta({ description: "The format of a watched file (default: the pack's)." }),
    stories: z
      .record(
        storyIdSchema,
        storyMonitorSchema.nullable().transform((s): StoryMonitorSection => s ?? {}),
        { error: 'must be a mapping of story id to what to watch' },
      )
      .nullable()
      .transform((s) => s ?? {})
      .optional()
      .meta({ description: 'Story id: its probes, log matches, thresholds and queries.' }),
    prometheus: prometheusSchema.optional().meta({ description: 'The Prometheus server the stories\' queries are sent to.' }),
    notify: z
      .array(notifyTargetSchema, { error: 'must be a list of { url, severity, format, timeout, retries }' })
      .optional()
      .meta({ description: 'Where the automatic decisions are POSTed (rollbacks, caps, alerts, would-act, held back), each target by its severity.' }),
  },
  'must be a mapping of monitor settings',
);

/** `monitor:` as validated: what the file writes, in canonical units (milliseconds, fractions). */
export type MonitorSection = z.output<typeof monitorSchema>;
/** One story's entry of `monitor.stories`, as validated. */
export type StoryMonitorSection = z.output<typeof storyMonitorSchema>;

/**
 * The pack's `rollback_triggers` (config/feature-flags.yaml) in its real shape, a list of single-key maps, as a
 * thresholds overlay. Keys we do not know are left alone (the pack may add triggers we do not measure); a known key
 * with a bad value, or an entry that is not a single-key map, is a problem at its line.
 */
const triggerEntrySchema = z
  .looseObject(
    {
      error_rate_threshold: fraction('Error rate: 0.1 or "10%".').optional(),
      memory_usage_threshold: fraction('Memory use: 0.9 or "90%".').optional(),
      response_time_threshold: millis('Milliseconds, or a duration.').optional(),
    },
    { error: 'must be a mapping with one key (- error_rate_threshold: 0.1)' },
  )
  .superRefine((entry, ctx) => {
    if (Object.keys(entry).length !== 1) ctx.addIssue({ code: 'custom', message: 'must be a mapping with one key (- error_rate_threshold: 0.1)', input: entry });
  });

/** The part of config/feature-flags.yaml that gives the monitor its default thresholds. */
export const rollbackTriggersSchema = z.looseObject({
  rollback_triggers: z
    .array(triggerEntrySchema, { error: 'must be a list of single-key mappings (- error_rate_threshold: 0.1)' })
    .nullable()
    .optional()
    .transform((list): Partial<Thresholds> => {
      const all = Object.assign({}, ...(list ?? []).map((entry) => defined(entry))) as z.output<typeof triggerEntrySchema>;
      return defined({ errorRate: all.error_rate_threshold, memory: all.memory_usage_threshold, latencyMs: all.response_time_threshold });
    }),
});
