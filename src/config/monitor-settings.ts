/**
 * The monitor's settings, resolved once: the `monitor:` section laid over its defaults, each story's probes, log
 * matches and thresholds, and the files to watch with their formats. The monitor reads this object and nothing
 * else of the config, so every rule about what overrides what lives here.
 *
 * No zod at run time (only its types): a project loads this without the schema.
 */
import type { LineFormat, LogMatchSpec, ProbeSpec, StoryMonitorDefaults } from '../model/monitor-types.js';
import { DEFAULT_MONITOR, DEFAULT_PROPOSALS } from './config-defaults.js';
import { configError, type ConfigProblem } from './config-problems.js';
import type { MonitorSection } from './monitor-schema.js';
import type { PrometheusSettings, StoryQuery } from './prometheus-settings.js';
import type { NotifyTarget } from './notify-settings.js';
import type { Thresholds } from './monitor-units.js';

/** What the monitor watches of one story, and when it is breached. */
export interface StoryMonitorSettings {
  /** Its endpoints: the config's `probes` when it writes them, else the story's own. */
  probes: ProbeSpec[];
  /** How its lines are recognised: the config's `logs` when it writes them, else the story's own. */
  logs: LogMatchSpec[];
  /** The project's thresholds with the story's own `thresholds` laid over them. */
  thresholds: Thresholds;
  /** Its instant PromQL queries (sent to `prometheus`), one per rule; none unless the config writes them. */
  queries: StoryQuery[];
}

/** `monitor.alerts[]`: an Alertmanager alert named `alertname`, carrying every one of `labels`, is about `story`. */
export interface AlertRoute {
  alertname: string;
  labels: Record<string, string>;
  story: string;
}

/** Everything the monitor needs of the config, with every default, in canonical units. */
export interface MonitorSettings {
  intervalMs: number;
  windowMs: number;
  /** Breached samples in a row before acting. */
  consecutive: number;
  /** Healthy samples in a row before a breach clears. */
  recover: number;
  /** Requests an error rate needs in the window; fewer is no data. */
  minRequests: number;
  /** Per story, after an automatic rollback. */
  cooldownMs: number;
  /** Automatic rollbacks per story in 24 h; past it, alert only. */
  maxPerDay: number;
  action: 'rollback' | 'flag-only' | 'alert' | 'propose';
  /** May an automatic rollback take installed dependents with it? */
  cascade: boolean;
  /** Failures of one source in a row before the monitor alerts about itself. */
  sourceErrorsBeforeAlert: number;
  /** A story is blamed for host memory only when its processes hold this share (0..1) of the memory in use. */
  memoryShare: number;
  /** The project's thresholds: `rollback_triggers` (or the built-in ones) with `monitor.thresholds` laid over them. */
  thresholds: Thresholds;
  /**
   * Every file some story's logs name, in the order first named, with its format (the pack's unless `monitor.logs`
   * says). A format `monitor.logs` gives for a file no story reads is not watched: nothing would be attributed there.
   */
  logFiles: Array<{ file: string; format: LineFormat }>;
  /** Story id → what is watched of it: every story of the registry, in its order. */
  stories: Record<string, StoryMonitorSettings>;
  /** Where the stories' queries go (`monitor.prometheus`); null when the config names no server. */
  prometheus: PrometheusSettings | null;
  /** Alertmanager: which story an alert without a `rollback_story` label is about, first match first. */
  alerts: AlertRoute[];
  /** Alertmanager: firing samples in a row before acting (the alert's own `for:` debounced it already). */
  alertConsecutive: number;
  /** `monitor.notify`: where the automatic decisions are POSTed; none unless the config writes them. */
  notify: NotifyTarget[];
  /** Approval mode (`action: propose`): how long a proposal can be approved, and whether its flag goes off at once. */
  proposals: { ttlMs: number; mitigate: boolean };
  /**
   * The watch after a story comes back: how long (`monitor.watchTimeout`, also `restore --watch`'s default), and
   * whether a degradation during it rolls the story back again (`monitor.autoRollbackOnFailure`) or only alerts.
   */
  afterRestore: { watchMs: number; autoRollback: boolean };
}

/** A story as the monitor sees it: its id and its own defaults. */
export type MonitoredStory = { id: string; monitor?: StoryMonitorDefaults };

/**
 * The settings of `section` (the validated `monitor:`, or undefined when the file has none) for `stories` (the
 * registry's, built-in defaults included), over `base` (the thresholds of `rollback_triggers`, or the built-in
 * ones). A story's `probes` or `logs` in the config replace its defaults of that kind; its thresholds are laid over
 * the project's key by key.
 *
 * Throws a ConfigError (exit 2) for what {@link monitorProblems} finds; loadProject reports those with their lines
 * first, so from a loaded project this does not throw.
 */
export function resolveMonitorSettings(section: MonitorSection | undefined, stories: readonly MonitoredStory[], base: Thresholds): MonitorSettings {
  const m = section ?? {};
  const error = configError(null, monitorProblems(m, stories));
  if (error) throw error;
  const thresholds: Thresholds = { ...base, ...m.thresholds };
  const watched: MonitorSettings['stories'] = {};
  for (const story of stories) {
    const own = m.stories?.[story.id];
    watched[story.id] = {
      probes: (own?.probes ?? story.monitor?.probes ?? []).map((p) => ({ ...p })),
      logs: (own?.logs ?? story.monitor?.logs ?? []).map((l) => ({ file: l.file, match: { ...l.match } })),
      thresholds: { ...thresholds, ...own?.thresholds },
      queries: (own?.queries ?? []).map((q) => ({ ...q })),
    };
  }
  const formats = new Map((m.logs ?? []).map((l) => [l.file, l.format]));
  const files = [...new Set(Object.values(watched).flatMap((s) => s.logs.map((l) => l.file)))];
  return {
    intervalMs: m.interval ?? DEFAULT_MONITOR.intervalMs,
    windowMs: m.window ?? DEFAULT_MONITOR.windowMs,
    consecutive: m.consecutive ?? DEFAULT_MONITOR.consecutive,
    recover: m.recover ?? DEFAULT_MONITOR.recover,
    minRequests: m.minRequests ?? DEFAULT_MONITOR.minRequests,
    cooldownMs: m.cooldown ?? DEFAULT_MONITOR.cooldownMs,
    maxPerDay: m.maxPerDay ?? DEFAULT_MONITOR.maxPerDay,
    action: m.action ?? DEFAULT_MONITOR.action,
    cascade: m.cascade ?? DEFAULT_MONITOR.cascade,
    sourceErrorsBeforeAlert: m.sourceErrorsBeforeAlert ?? DEFAULT_MONITOR.sourceErrorsBeforeAlert,
    memoryShare: m.memoryShare ?? DEFAULT_MONITOR.memoryShare,
    thresholds,
    logFiles: files.map((file) => ({ file, format: structuredClone(formats.get(file) ?? { kind: 'pack' }) })),
    stories: watched,
    prometheus: m.prometheus === undefined ? null : structuredClone(m.prometheus),
    alerts: (m.alerts ?? []).map((r) => ({ alertname: r.alertname, labels: { ...r.labels }, story: r.story })),
    alertConsecutive: m.alertConsecutive ?? DEFAULT_MONITOR.alertConsecutive,
    notify: (m.notify ?? []).map((t) => ({ ...t })),
    proposals: { ttlMs: m.proposalTtl ?? DEFAULT_PROPOSALS.ttlMs, mitigate: m.mitigate ?? DEFAULT_PROPOSALS.mitigate },
    afterRestore: { watchMs: m.watchTimeout ?? DEFAULT_MONITOR.watchTimeoutMs, autoRollback: m.autoRollbackOnFailure ?? DEFAULT_MONITOR.autoRollbackOnFailure },
  };
}

/**
/**
 * What `monitor:` says that the stories contradict, each at its key: a story in `monitor.stories` or in
 * `monitor.alerts` that is not in the registry (a typo would watch nothing while looking configured); a story's
 * queries with no (valid) `monitor.prometheus` to send them to.
 */
export function monitorProblems(section: MonitorSection | undefined, stories: readonly MonitoredStory[]): ConfigProblem[] {
  const known = new Set(stories.map((s) => s.id));
  const problems = Object.keys(section?.stories ?? {})
    .filter((id) => !known.has(id))
    .map((id): ConfigProblem => ({ path: ['monitor', 'stories', id], message: `names an unknown story "${id}"`, atKey: true }));
  (section?.alerts ?? []).forEach((r, i) => {
    if (!known.has(r.story)) problems.push({ path: ['monitor', 'alerts', i, 'story'], message: `names an unknown story "${r.story}"` });
  });
  return [...problems, ...queryProblems(section)];
}

/** Queries need a server: checked here rather than in the schema so that the file's other problems are still reported with it. */
function queryProblems(section: MonitorSection | undefined): ConfigProblem[] {
  if (section?.prometheus !== undefined) return [];
  return Object.entries(section?.stories ?? {})
    .filter(([, s]) => (s.queries?.length ?? 0) > 0)
    .map(([id]): ConfigProblem => ({ path: ['monitor', 'stories', id, 'queries'], message: 'need a valid monitor.prometheus: { url } to be sent to', atKey: true }));
}
