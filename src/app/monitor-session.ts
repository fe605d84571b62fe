/**
 * One monitor on one project: each round reads what the sources say (new log lines from saved offsets, the
 * stories' probes, host memory), turns it into samples, lets the decision core judge them, writes every decision
 * to `logs/monitor.jsonl`, saves its state, and only then acts. `monitor`, `monitor --once` and `--for` are loops
 * of rounds of this one object.
 *
 * Which stories are watched follows their flags: a story whose flag is effectively off is not watched (its 503s
 * and refused connections are the rollback working); when its flag comes back (a restore, an enable) a new life
 * begins — no old line or probe counts, a service that has not answered since is "no data", and its counts start
 * over (its cooldown and daily cap do not).
 */
import path from 'node:path';
import { LAYOUT } from '../model/layout.js';
import { LockedError, messageOf } from '../model/errors.js';
import type { MonitorSettings } from '../config/monitor-settings.js';
import { effectiveStates, loadFlags } from '../flags/index.js';
import { discoverServices } from '../services/index.js';
import { acquireLock, liveHolder, type HeldLock, type LockHolder } from '../engine/lock.js';
import { loadProject, type Project } from '../project/project.js';
import { monitorSettingsOf } from '../project/monitor-settings-of.js';
import { step, type DecideSettings, type MonitorEvent } from '../monitor/decide.js';
import type { Decision } from '../monitor/decision-log.js';
import { probeAll } from '../monitor/http-probe.js';
import { readLogLines, type LogReadNote } from '../monitor/log-reader.js';
import { attributionTable, lineClassifier, type LineClassifier, type LogEvent } from '../monitor/pack-events.js';
import { attributeMemory, readHostMemory, residentBytes, withDescendants } from '../monitor/proc-memory.js';
import { ALERT_ONLY_RULES, nextBaselines, observeRound, type MemoryRound, type ProbeOutcome, type StoryWatch } from '../monitor/observe.js';
import { noteRound, startWatch, watchOutcome, type RestoreWatch } from '../monitor/restore-watch.js';
import type { RuleKind, Verdict } from '../monitor/rules.js';
import { actOn, type ActResult } from './monitor-act.js';
import { Notifier } from './monitor-notify.js';
import { expireDue } from './monitor-proposal-store.js';
import { propose } from './monitor-proposals.js';
import { sourcesFromSettings, withoutReplaced, type RoundSource } from './monitor-sources.js';
import { appendActionRecord, appendDecisions, appendRecord, emptyStore, loadStore, monitorDir, saveStore, type MonitorStore, type StoryWatchState } from './monitor-store.js';

/** The timing a command line may override (`--interval`, `--window`, `--consecutive`). */
export interface TimingOverrides {
  intervalMs?: number;
  windowMs?: number;
  consecutive?: number;
}

/** How a monitor is started. */
export interface MonitorOptions {
  root: string;
  /** Shadow mode: decide and record everything (in `logs/monitor.jsonl`), act on nothing, keep no state. */
  dryRun: boolean;
  overrides?: TimingOverrides;
  /** The command as typed, recorded in the reports of the rollbacks it starts. */
  command: string[];
  /** Aborts a rollback in progress at its next step boundary (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Sources besides those the settings call for (an Alertmanager listener the command line started). */
  sources?: RoundSource[];
  /** Watch only these stories (`restore --watch`); the others, and what is kept of them, are left alone. */
  only?: readonly string[];
  /**
   * `restore --watch`: the `only` stories were just restored; their watch after the restore lasts this long and
   * the caller ends it (reads {@link MonitorSession.restoreWatch} and records the end). Without it, a story that
   * comes back while the monitor runs is watched for `monitor.watchTimeout`, and the session records the end.
   */
  afterRestoreMs?: number;
  /** Where a notification no target took is told (default: stderr). */
  warn?: (line: string) => void;
}

/** What one round saw and did: `monitor --once --json` prints it. */
export interface RoundReport {
  at: string;
  dryRun: boolean;
  /** A manual run holds the project's lock: the round judged nothing and waits for it. */
  waiting?: LockHolder;
  /** Per story: whether it is watched, since when, and each rule's last verdict and value. */
  stories: Record<string, { watched: boolean; since: string | null; rules: Partial<Record<RuleKind, { verdict: Verdict; value: number | null }>> }>;
  decisions: Decision[];
  acted: ActResult[];
  /** What the log reader noticed (started, rotated, truncated). */
  notes: string[];
  /** The sources that could not be read this round, each once, with what failed (for the monitor's metrics). */
  sourceErrors?: Array<{ source: string; error: string }>;
  /** Approval mode: the proposals written this round, and those that expired. */
  proposals?: { written: Array<{ id: string; story: string; expiresAt: string; mitigated: boolean }>; expired: string[] };
}

/** The fewest latencies a window needs before its p95 is compared with a baseline. */
const MIN_LATENCY_SAMPLES = 10;
/** The most bytes of one log a round reads: a monitor far behind catches up over several rounds, judging as it goes. */
const ROUND_BYTES = 64 * 1024 * 1024;

/** A running monitor of one project. Open it, call `round()` every interval, close it. */
export class MonitorSession {
  private readonly events: LogEvent[] = [];
  private readonly classifiers = new Map<string, LineClassifier>();
  private pending: MonitorEvent[] = [];
  private readonly startedAt = Date.now();
  private readonly sources: RoundSource[];
  /** `monitor.notify`'s deliveries, in the background; null when the config names no target. */
  private readonly notifier: Notifier | null;
  /** `restore --watch`: the stories whose watch after the restore has been started. */
  private readonly restoreWatchStarted = new Set<string>();

  private constructor(
    private readonly project: Project,
    /** With the command line's overrides applied. */
    readonly settings: MonitorSettings,
    private readonly opts: MonitorOptions,
    private store: MonitorStore,
    private readonly lock: HeldLock | null,
  ) {
    this.sources = [...sourcesFromSettings(settings), ...(opts.sources ?? [])];
    this.notifier =
      settings.notify.length === 0 ? null : new Notifier(settings.notify, { root: project.root, warn: opts.warn ?? ((line) => process.stderr.write(`${line}\n`)) });
    const table = attributionTable(Object.fromEntries(Object.entries(settings.stories).map(([id, s]) => [id, s.logs])), []);
    for (const { file, format } of settings.logFiles) this.classifiers.set(file, lineClassifier(file, format, table));
  }

  /**
   * Loads the project and its monitor settings (bad config: exit 2 with file, line and key), and takes the
   * monitor's own lock: one monitor per project. A dry run takes no lock and starts from a fresh state, so a
   * shadow monitor can run beside the real one without touching its caps or offsets.
   */
  static async open(opts: MonitorOptions): Promise<MonitorSession> {
    const project = await loadProject(opts.root);
    const settings = withOverrides(monitorSettingsOf(project), opts.overrides ?? {});
    const lock = opts.dryRun ? null : acquireMonitorLock(project.root);
    try {
      const store = opts.dryRun ? emptyStore() : loadStore(project.root);
      return new MonitorSession(project, settings, opts, store, lock);
    } catch (err) {
      lock?.release();
      throw err;
    }
  }

  /** The project root (real path). */
  get root(): string {
    return this.project.root;
  }

  /**
   * Closes the extra sources, waits for the notifications in flight (bounded by their targets' time-outs and
   * retries) and releases the monitor's lock. The state is saved after every round already.
   */
  async close(): Promise<void> {
    try {
      await Promise.all([...this.sources.map((s) => s.close?.()), this.notifier?.close()]);
    } finally {
      this.lock?.release();
    }
  }

  /** One evaluation: read, judge, record, save, act. */
  async round(): Promise<RoundReport> {
    const now = Date.now();
    const report: RoundReport = { at: new Date(now).toISOString(), dryRun: this.opts.dryRun, stories: {}, decisions: [], acted: [], notes: [] };
    // Approval mode: a proposal past its expiry is closed at the next round, whatever else the round does.
    const expired = this.opts.dryRun ? [] : expireDue(this.project.root, now).map((p) => p.id);
    if (expired.length > 0) report.proposals = { written: [], expired };
    const holder = liveHolder(this.project.stateDir);
    if (holder !== null) return { ...report, waiting: holder };
    const events: MonitorEvent[] = [...this.pending];
    this.pending = [];
    const watched = await this.watchList(now, events);
    const { errors: logErrors, missing: logMissing } = await this.readLogs(report.notes);
    this.prune(now);
    const probes = await this.runProbes(watched, now);
    const memory = await this.readMemory(watched);
    const { observations: builtIn, candidates } = observeRound({
      now,
      windowMs: this.settings.windowMs,
      minRequests: this.settings.minRequests,
      minLatencySamples: MIN_LATENCY_SAMPLES,
      project: this.settings.thresholds,
      stories: watched,
      events: this.events,
      logErrors,
      logMissing,
      probes,
      probeLatencies: Object.fromEntries(watched.map((w) => [w.id, this.store.stories[w.id]?.probeLatencies ?? []])),
      answered: Object.fromEntries(watched.map((w) => [w.id, this.store.stories[w.id]?.answered === true])),
      memory,
      baselines: this.store.baselines,
      watchingSince: this.startedAt,
    });
    const observations = withoutReplaced(builtIn, this.sources, this.settings.thresholds.memory);
    for (const source of this.sources) observations.push(...(await source.observe(now, watched)));
    report.sourceErrors = sourceErrorsOf(observations);
    const settings = this.decideSettings(now);
    const { state, decisions } = step(this.store.decide, { observations, events }, now, settings);
    this.store.decide = state;
    this.followRestoreWatches(watched, decisions, settings.alertOnly ?? {}, now);
    this.store.baselines = nextBaselines(this.store.baselines, candidates, state.rules, watched);
    this.store.lastRound = { at: report.at, pid: process.pid };
    report.decisions = decisions;
    appendDecisions(this.project.root, decisions);
    if (!this.opts.dryRun) saveStore(this.project.root, this.store);
    // Notifications go out after the rollbacks of the round started (an acted one once its run ended), in the background.
    const notified = decisions.filter((d) => !this.actsOn(d));
    report.acted = await this.act(decisions, report);
    for (const d of notified) this.notify(d, null);
    report.stories = this.storyReport(watched);
    return report;
  }

  private decideSettings(now: number): DecideSettings {
    const s = this.settings;
    const alertOnly: Record<string, string> = {};
    if (!s.afterRestore.autoRollback) {
      for (const [id, st] of Object.entries(this.store.stories)) {
        if (st.afterRestore === undefined || now >= st.afterRestore.until) continue;
        alertOnly[id] = `${id} is watched after coming back (until ${new Date(st.afterRestore.until).toISOString()}) and monitor.autoRollbackOnFailure is false`;
      }
    }
    return {
      alertOnly,
      consecutive: s.consecutive,
      recover: s.recover,
      cooldownMs: s.cooldownMs,
      maxPerDay: s.maxPerDay,
      action: s.action,
      cascade: s.cascade,
      dryRun: this.opts.dryRun,
      sourceErrorsBeforeAlert: s.sourceErrorsBeforeAlert,
      windowMs: s.windowMs,
    };
  }

  /** The stories whose flags are on, each with when its current life began; flag changes become resets. */
  private async watchList(now: number, events: MonitorEvent[]): Promise<StoryWatch[]> {
    const doc = await loadFlags(this.project.flagsAbs, LAYOUT.flags);
    const on = effectiveStates(doc);
    const out: StoryWatch[] = [];
    for (const [id, cfg] of Object.entries(this.settings.stories)) {
      if (this.opts.only !== undefined && !this.opts.only.includes(id)) continue;
      const story = this.project.registry.byId.get(id);
      const enabled = story !== undefined && on.get(story.feature) === true;
      const prev = this.store.stories[id];
      if (prev === undefined || prev.enabled !== enabled) {
        if (prev !== undefined) events.push({ kind: 'reset', story: id, why: enabled ? 'enabled or restored' : 'rolled back or disabled' });
        this.store.stories[id] = { enabled, since: now, answered: false, probeLatencies: [] };
        // Came back while watched: its watch after the restore begins (seed 004).
        if (prev !== undefined && enabled) (this.store.stories[id] as StoryWatchState).afterRestore = startWatch(now, this.settings.afterRestore.watchMs);
      }
      if (!enabled) continue;
      const w = this.store.stories[id] as StoryWatchState;
      if (this.opts.afterRestoreMs !== undefined && !this.restoreWatchStarted.has(id)) {
        this.restoreWatchStarted.add(id);
        w.afterRestore = startWatch(now, this.opts.afterRestoreMs);
      }
      const logFiles = [...new Set(cfg.logs.map((l) => l.file))];
      out.push({ id, thresholds: cfg.thresholds, logFiles, probes: cfg.probes.length > 0, since: w?.since ?? now });
    }
    return out;
  }

  /** New lines of every watched file, classified into the window; a file that cannot be read is named. */
  private async readLogs(notes: string[]): Promise<{ errors: Record<string, string>; missing: Record<string, string> }> {
    const errors: Record<string, string> = {};
    const missing: Record<string, string> = {};
    for (const [file, classify] of this.classifiers) {
      const abs = path.join(this.project.root, file);
      let budget = ROUND_BYTES;
      for (;;) {
        const pos = this.store.positions[file];
        const r = await readLogLines(abs, pos, { from: pos === undefined ? 'end' : 'start' });
        for (const line of r.lines) {
          // Evidence names the file as the config does (relative to the root), not where this machine keeps it.
          for (const e of classify(line.value, line)) this.events.push({ ...e, source: { file: path.relative(this.project.root, line.file), start: line.start, end: line.end } });
        }
        notes.push(...r.notes.map((n: LogReadNote) => `${file}: ${n.message}`));
        if (r.position !== undefined) this.store.positions[file] = r.position;
        if (!r.ok) {
          // No file yet is a service that has not logged anything: no data. Anything else is the monitor's error.
          if (r.error.kind === 'missing') missing[file] = `${file} does not exist (yet)`;
          else errors[file] = r.error.message;
          break;
        }
        const read = r.lines.reduce((n, l) => n + (l.end - l.start), 0);
        budget -= read;
        if (!r.more || budget <= 0 || read === 0) break;
      }
    }
    return { errors, missing };
  }

  /** Events older than the window (and a window's worth of slack for late lines) go. */
  private prune(now: number): void {
    const keepFrom = now - 2 * this.settings.windowMs;
    let drop = 0;
    while (drop < this.events.length && (this.events[drop] as LogEvent).time < keepFrom) drop++;
    if (drop > 0) this.events.splice(0, drop);
    if (this.events.length > 0 && (this.events[0] as LogEvent).time < keepFrom) {
      // Lines are not always in time order (several writers): filter when the head says nothing.
      const kept = this.events.filter((e) => e.time >= keepFrom);
      this.events.length = 0;
      this.events.push(...kept);
    }
  }

  private async runProbes(watched: readonly StoryWatch[], now: number): Promise<Record<string, ProbeOutcome[]>> {
    const out: Record<string, ProbeOutcome[]> = {};
    await Promise.all(
      watched
        .filter((w) => w.probes)
        .map(async (w) => {
          const results = await probeAll(this.settings.stories[w.id]?.probes ?? []);
          out[w.id] = results;
          const st = this.store.stories[w.id];
          if (st === undefined) return;
          if (results.some((r) => r.ok || r.failure === 'server-error')) st.answered = true;
          const from = now - this.settings.windowMs;
          st.probeLatencies = [
            ...st.probeLatencies.filter((p) => p.at >= from),
            ...results.filter((r) => r.latencyMs !== null && r.failure !== 'timeout').map((r) => ({ at: r.at, ms: r.latencyMs as number })),
          ];
        }),
    );
    return out;
  }

  /**
   * Host memory from MemAvailable. Only when it is over a threshold are the stories' processes looked up (the
   * same discovery as a rollback's stop step), to find whose they are: most rounds cost one small file read.
   */
  private async readMemory(watched: readonly StoryWatch[]): Promise<MemoryRound | { error: string }> {
    let host;
    try {
      host = await readHostMemory();
    } catch (err) {
      return { error: messageOf(err) };
    }
    const lowest = Math.min(this.settings.thresholds.memory, ...watched.map((w) => w.thresholds.memory));
    if (host.usedFraction <= lowest) return { usedFraction: host.usedFraction, story: null, evidence: { totalBytes: host.totalBytes, availableBytes: host.availableBytes } };
    const perStory: Record<string, Array<{ pid: number; rssBytes: number; name?: string }>> = {};
    for (const w of watched) {
      const story = this.project.registry.byId.get(w.id);
      if (story === undefined || story.services.length === 0) continue;
      const { found } = await discoverServices(this.project.root, story.services, { ports: false });
      const pids = await withDescendants(found.map((f) => f.pid));
      const rss = await residentBytes(pids);
      perStory[w.id] = [...rss].map(([pid, rssBytes]) => ({ pid, rssBytes, name: found.find((f) => f.pid === pid)?.service }));
    }
    const a = attributeMemory(host, perStory, this.settings.memoryShare);
    return { usedFraction: host.usedFraction, story: a.story, evidence: { totalBytes: host.totalBytes, availableBytes: host.availableBytes, share: a.share, top: a.top } };
  }

  /** Acts on what the decisions say, one run per story, after they are on disk and the state is saved. */
  private async act(decisions: readonly Decision[], report: RoundReport): Promise<ActResult[]> {
    const acted: ActResult[] = [];
    const done = new Set<string>();
    for (const d of decisions) {
      if (d.action === 'propose' && !this.opts.dryRun && d.story !== null && !done.has(d.story)) {
        done.add(d.story);
        acted.push(...(await this.propose(d, report)));
        continue;
      }
      if (!this.actsOn(d) || d.story === null || done.has(d.story)) continue;
      done.add(d.story);
      const result = await actOn(this.project.root, d, { command: this.opts.command, ...(this.opts.signal ? { signal: this.opts.signal } : {}) });
      acted.push(result);
      appendActionRecord(this.project.root, d, result);
      this.endRestoreWatch(d.story, result);
      this.notify(d, result);
      // The story's own failures while it went down, and just after, are the rollback working.
      this.pending.push({ kind: 'mute', stories: [d.story], until: Date.now() + this.settings.windowMs });
    }
    return acted;
  }

  /** Whether `act` carries this decision out (a rollback or flag-only on a story, not in a dry run). */
  private actsOn(d: Decision): boolean {
    return !this.opts.dryRun && d.story !== null && (d.action === 'rollback' || d.action === 'flag-only');
  }

  /** Hands a decision (and what acting on it did) to the notifier, which returns at once. */
  private notify(d: Decision, result: ActResult | null): void {
    if (this.notifier === null) return;
    const story = d.story === null ? undefined : this.project.registry.byId.get(d.story);
    const doc = this.notifier.documentOf(d, result, story === undefined ? undefined : { feature: story.feature, title: story.title });
    if (doc !== null) this.notifier.notify(doc);
  }

  /** Approval mode: a proposal instead of an act; with `mitigate`, the flag off at once (recorded like an act). */
  private async propose(d: Decision, report: RoundReport): Promise<ActResult[]> {
    const { ttlMs, mitigate } = this.settings.proposals;
    const { proposal, mitigation } = await propose(this.project.root, d, { command: this.opts.command, ttlMs, mitigate, ...(this.opts.signal ? { signal: this.opts.signal } : {}) });
    report.proposals ??= { written: [], expired: [] };
    report.proposals.written.push({ id: proposal.id, story: proposal.story, expiresAt: proposal.expiresAt, mitigated: mitigation?.runId !== undefined });
    if (mitigation === undefined) return [];
    // What finishes the job is approving the proposal, not a rollback by hand.
    const shown: ActResult = { ...mitigation, next: `rollback-manager approve ${proposal.id} --root ${this.project.root}` };
    appendActionRecord(this.project.root, d, { ...shown, proposal: proposal.id });
    this.pending.push({ kind: 'mute', stories: [proposal.story], until: Date.now() + this.settings.windowMs });
    return [shown];
  }

  /** The watch after `story` came back, while it lasts. */
  restoreWatch(story: string): RestoreWatch | undefined {
    return this.store.stories[story]?.afterRestore;
  }

  /**
   * Follows each watch after a restore through this round's verdicts; a running monitor (not `restore --watch`,
   * whose caller ends its own) records the end of a watch whose time is up.
   */
  private followRestoreWatches(watched: readonly StoryWatch[], decisions: readonly Decision[], alertOnly: Readonly<Record<string, string>>, now: number): void {
    for (const { id } of watched) {
      const st = this.store.stories[id];
      if (st?.afterRestore === undefined) continue;
      const held = alertOnly[id] !== undefined && decisions.some((d) => d.story === id && d.outcome === 'alerted' && !ALERT_ONLY_RULES.has(d.rule));
      st.afterRestore = noteRound(st.afterRestore, this.lastVerdicts(id), held);
      if (this.opts.afterRestoreMs === undefined && now >= st.afterRestore.until) this.endRestoreWatch(id, null);
    }
  }

  /** Records the end of `story`'s watch after it came back (a running monitor's; `restore --watch` ends its own). */
  private endRestoreWatch(story: string, acted: ActResult | null): void {
    const st = this.store.stories[story];
    if (st?.afterRestore === undefined || this.opts.afterRestoreMs !== undefined) return;
    const w = st.afterRestore;
    delete st.afterRestore;
    const end = watchOutcome(story, w, acted === null ? null : actedInWords(acted));
    if (!this.opts.dryRun) appendRecord(this.project.root, { type: 'watch-end', story, since: new Date(w.since).toISOString(), forMs: w.until - w.since, ...end });
  }

  /** Each rule's last verdict and value for one story, from the decision core's state (keys `story|rule`). */
  private lastVerdicts(id: string): RoundReport['stories'][string]['rules'] {
    const rules: RoundReport['stories'][string]['rules'] = {};
    for (const [key, r] of Object.entries(this.store.decide.rules)) {
      const [sid, kind] = key.split('|');
      if (sid === id && r.last !== null) rules[kind as RuleKind] = { verdict: r.last.verdict, value: r.last.value };
    }
    return rules;
  }

  private storyReport(watched: readonly StoryWatch[]): RoundReport['stories'] {
    const out: RoundReport['stories'] = {};
    for (const id of Object.keys(this.settings.stories)) {
      const w = watched.find((x) => x.id === id);
      out[id] = { watched: w !== undefined, since: w === undefined ? null : new Date(w.since).toISOString(), rules: this.lastVerdicts(id) };
    }
    return out;
  }
}

/** One monitor per project: a second one is refused with the first one's pid. */
function acquireMonitorLock(root: string): HeldLock {
  try {
    return acquireLock(monitorDir(root), `monitor-${process.pid}`);
  } catch (err) {
    if (!(err instanceof LockedError)) throw err;
    const h = err.holder;
    throw new LockedError(`a monitor is already running for this project (pid ${h.pid} on ${h.host}, since ${h.startedAt}); one monitor per project`, h);
  }
}

/** Each source that failed this round, once, with its first message. */
function sourceErrorsOf(observations: readonly { samples: ReadonlyArray<{ source: string; sourceError?: string }> }[]): Array<{ source: string; error: string }> {
  const out = new Map<string, string>();
  for (const o of observations) for (const s of o.samples) if (s.sourceError !== undefined && !out.has(s.source)) out.set(s.source, s.sourceError);
  return [...out].map(([source, error]) => ({ source, error }));
}

/** An automatic run in words, for the end of a watch: its status, run and report, or why it failed. */
export function actedInWords(a: ActResult): string {
  return `${a.status}${a.runId ? ` (run ${a.runId}, report ${a.report})` : ''}${a.error ? ` (${a.error})` : ''}`;
}

/** The settings with the command line's timing laid over them (only what it gives). */
export function withOverrides(s: MonitorSettings, o: TimingOverrides): MonitorSettings {
  return { ...s, ...(o.intervalMs !== undefined ? { intervalMs: o.intervalMs } : {}), ...(o.windowMs !== undefined ? { windowMs: o.windowMs } : {}), ...(o.consecutive !== undefined ? { consecutive: o.consecutive } : {}) };
}
