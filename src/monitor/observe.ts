/**
 * One round of the monitor's measurements turned into samples, per story and rule: the bridge between the sources
 * (log events in the window, this round's probes, host memory) and the decision core. Pure: the live monitor, `--once`
 * and `replay` all go through it, so the same lines are judged the same way.
 *
 * What is not measurable is said, never guessed: too few requests, a service that has not answered since the story's
 * watch began, a window not yet full (throughput), no baseline yet. Each is a sample with `value: null` and a reason.
 */
import type { Thresholds } from '../config/monitor-units.js';
import type { MonitorState, Observation } from './decide.js';
import type { LogEvent } from './pack-events.js';
import type { Rule, RuleKind, Sample } from './rules.js';
import { percentile, windowStats, type StoryWindowStats } from './window-stats.js';

/**
 * Rules whose breach alerts and never acts: throughput below its baseline (a quiet night and a broken service look
 * alike in a request count).
 */
export const ALERT_ONLY_RULES: ReadonlySet<RuleKind> = new Set<RuleKind>(['throughputBaseline']);

/** A probe's result, as the HTTP probe reports it. */
export interface ProbeOutcome {
  url: string;
  /** Epoch ms when it was sent. */
  at: number;
  ok: boolean;
  latencyMs: number | null;
  status?: number;
  failure?: string;
  message?: string;
}

/** A story being watched this round. */
export interface StoryWatch {
  id: string;
  thresholds: Thresholds;
  /** The log files whose lines can be this story's: a failure to read one is a source error of its log rules. */
  logFiles: readonly string[];
  /** Has probes configured. */
  probes: boolean;
  /**
   * When this life of the story began (the monitor started, or the story was enabled or restored): events and
   * probes from before belong to another life and never count.
   */
  since: number;
}

/** What the baseline rules compare with: the story's last healthy window. */
export interface Baseline {
  /** Epoch ms of the end of that window. */
  at: number;
  latencyP95: number | null;
  /** Requests per second. */
  throughput: number | null;
}

/** Host memory as read from /proc, with the story its processes point at (or none). */
export interface MemoryRound {
  usedFraction: number;
  /** The story whose processes hold the most resident memory, when they hold a real share of it; else null. */
  story: string | null;
  evidence: unknown;
}

/** Everything one round knows. */
export interface RoundInput {
  now: number;
  windowMs: number;
  minRequests: number;
  /** The fewest latencies a window needs before its p95 is compared with a baseline (or becomes one). */
  minLatencySamples: number;
  project: Thresholds;
  stories: readonly StoryWatch[];
  /** Log events; those outside the window or before a story's `since` are ignored. */
  events: Iterable<LogEvent>;
  /** Watched files that could not be read this round: file → why. */
  logErrors: Readonly<Record<string, string>>;
  /** Watched files that do not exist (yet): file → why. Their rules have no data, which is not an error. */
  logMissing: Readonly<Record<string, string>>;
  /** This round's probe results, per story. */
  probes: Readonly<Record<string, readonly ProbeOutcome[]>>;
  /** Latencies of the story's answered probes still in the window (this round's included). */
  probeLatencies: Readonly<Record<string, ReadonlyArray<{ at: number; ms: number }>>>;
  /** Whether any probe of the story has answered since its `since`. */
  answered: Readonly<Record<string, boolean>>;
  /** Host memory, a read failure, or nothing (not measured, as in a replay). */
  memory: MemoryRound | { error: string } | null;
  baselines: Readonly<Record<string, Baseline>>;
  /** When the monitor began reading (a window that starts earlier is not full). */
  watchingSince: number;
}

/** Samples to judge, and the baselines after this round. */
export interface RoundResult {
  observations: Observation[];
  /** A story's figures of this window, for its baseline once the round is judged healthy. */
  candidates: Record<string, Baseline>;
}

/** Samples of one round: per watched story, and project-level (story null). */
export function observeRound(input: RoundInput): RoundResult {
  const from = input.now - input.windowMs;
  const ids = input.stories.map((s) => s.id);
  const sinceOf = new Map(input.stories.map((s) => [s.id, s.since]));
  const inLife = filterEvents(input.events, sinceOf);
  const stats = windowStats(inLife, { from, to: input.now, minRequests: input.minRequests, stories: ids });
  const ranges = byteRanges(inLife, from, input.now);
  const observations: Observation[] = [];
  const candidates: Record<string, Baseline> = {};
  for (const story of input.stories) {
    const st = stats.stories[story.id] as StoryWindowStats;
    const logSource = `log:${story.logFiles.join(',') || '(none)'}`;
    const logError = story.logFiles.map((f) => input.logErrors[f]).find((e) => e !== undefined);
    const logMissing = story.logFiles.map((f) => input.logMissing[f]).find((e) => e !== undefined);
    const excluded = { ...st.excluded, ...(st.clientErrors > 0 ? { clientErrors: st.clientErrors } : {}) };
    const base: Omit<Sample, 'value'> = {
      at: input.now,
      source: logSource,
      ...(ranges.has(story.id) ? { evidence: { lines: ranges.get(story.id), requests: st.requests, serverErrors: st.serverErrors } } : {}),
      ...(Object.keys(excluded).length > 0 ? { excluded } : {}),
    };
    const push = (rule: Rule, sample: Sample) => observations.push({ story: story.id, rule, samples: [sample] });
    const t = story.thresholds;
    if (story.logFiles.length > 0) {
      push(
        { kind: 'errorRate', threshold: t.errorRate },
        logError !== undefined
          ? { ...base, value: null, sourceError: logError }
          : st.requests === 0 && logMissing !== undefined
            ? { ...base, value: null, why: logMissing }
            : { ...base, value: st.errorRate, ...(st.errorRate === null ? { why: st.errorRateReason } : {}) },
      );
    }
    const probeMs = (input.probeLatencies[story.id] ?? []).filter((p) => p.at >= Math.max(from, story.since)).map((p) => p.ms);
    const logMs = latenciesOf(inLife, story.id, from, input.now);
    const all = [...probeMs, ...logMs];
    const p95 = percentile(all, 0.95);
    const latSource = [story.probes ? 'probe' : '', logMs.length > 0 || story.logFiles.length > 0 ? logSource : ''].filter(Boolean).join('+');
    const latEvidence = { latencies: all.length, fromProbes: probeMs.length, fromLogs: logMs.length, max: all.length > 0 ? Math.max(...all) : null };
    if (story.probes || story.logFiles.length > 0) {
      push(
        { kind: 'latencyP95', threshold: t.latencyMs },
        { at: input.now, source: latSource, value: p95, evidence: latEvidence, ...(p95 === null ? { why: 'no latency measured in the window' } : {}) },
      );
    }
    if (story.probes) push({ kind: 'probeFailure', threshold: 0 }, probeSample(input, story));
    const full = input.now - Math.max(input.watchingSince, story.since) >= input.windowMs;
    const bl = input.baselines[story.id];
    const enoughLatencies = all.length >= input.minLatencySamples;
    push(
      { kind: 'latencyBaseline', threshold: t.latencyP95Change, minDeltaMs: t.latencyMinDeltaMs },
      !enoughLatencies
        ? { at: input.now, source: latSource, value: null, why: `too few latencies (${all.length} < ${input.minLatencySamples})` }
        : { at: input.now, source: latSource, value: p95, evidence: latEvidence, ...withBaseline(bl?.latencyP95, bl) },
    );
    const enoughRequests = st.requests >= input.minRequests || (bl?.throughput ?? 0) * (input.windowMs / 1000) >= input.minRequests;
    push(
      { kind: 'throughputBaseline', threshold: t.throughputChange, alertOnly: ALERT_ONLY_RULES.has('throughputBaseline') },
      logError !== undefined
        ? { ...base, value: null, sourceError: logError }
        : !full
        ? { ...base, value: null, why: 'the window is not full yet' }
        : !enoughRequests
          ? { ...base, value: null, why: `too few requests (${st.requests} < minRequests ${input.minRequests})` }
          : { ...base, value: st.throughput, ...withBaseline(bl?.throughput, bl) },
    );
    if (full) {
      candidates[story.id] = {
        at: input.now,
        latencyP95: enoughLatencies ? p95 : (bl?.latencyP95 ?? null),
        throughput: st.requests >= input.minRequests ? st.throughput : (bl?.throughput ?? null),
      };
    }
  }
  if (input.stories.some((s) => s.logFiles.length > 0)) observations.push(...projectLevel(input, stats));
  observations.push(...memoryObservations(input));
  return { observations, candidates };
}

function withBaseline(value: number | null | undefined, bl: Baseline | undefined): Partial<Sample> {
  if (value === null || value === undefined || bl === undefined) return { why: 'no baseline yet (no healthy window before)' };
  return { baseline: value };
}

/** Any failed probe of this round is a breached sample; a service that never answered since the watch began is no data. */
function probeSample(input: RoundInput, story: StoryWatch): Sample {
  const results = input.probes[story.id] ?? [];
  const source = `probe:${results.map((r) => r.url).join(',')}`;
  if (results.length === 0) return { at: input.now, source, value: null, why: 'no probe ran this round' };
  const failed = results.filter((r) => !r.ok);
  const evidence = results.map((r) => ({ url: r.url, ok: r.ok, latencyMs: r.latencyMs === null ? null : Math.round(r.latencyMs * 10) / 10, ...(r.status !== undefined ? { status: r.status } : {}), ...(r.failure ? { failure: r.failure } : {}), ...(r.message ? { message: r.message } : {}) }));
  if (input.answered[story.id] !== true) {
    return { at: input.now, source, value: null, why: `never answered since ${new Date(story.since).toISOString()} (${failed.map((r) => r.failure).join(', ')})`, evidence };
  }
  return { at: input.now, source, value: failed.length / results.length, evidence };
}

/**
 * The server errors no story could be given, over every request of the window: the ingestion service's `api_error`
 * has no url, so its failures are only seen here. Attributed errors are their story's own signal and are not
 * counted twice. It alerts; it never rolls a story back.
 */
function projectLevel(input: RoundInput, stats: ReturnType<typeof windowStats>): Observation[] {
  const requests = Object.values(stats.stories).reduce((n, s) => n + s.requests, stats.unattributed.requests);
  const errors = stats.unattributed.serverErrors;
  const sample: Sample =
    requests >= input.minRequests && requests > 0
      ? { at: input.now, source: 'log:unattributed', value: errors / requests, evidence: { requests, unattributedServerErrors: errors } }
      : { at: input.now, source: 'log:unattributed', value: null, why: `too few requests (${requests} < minRequests ${input.minRequests})` };
  return [{ story: null, rule: { kind: 'errorRate', threshold: input.project.errorRate }, samples: [sample] }];
}

function memoryObservations(input: RoundInput): Observation[] {
  const m = input.memory;
  if (m === null) return [];
  if ('error' in m) return [{ story: null, rule: { kind: 'memory', threshold: input.project.memory }, samples: [{ at: input.now, source: 'proc:meminfo', value: null, sourceError: m.error }] }];
  const story = m.story === null ? undefined : input.stories.find((s) => s.id === m.story);
  const threshold = story?.thresholds.memory ?? input.project.memory;
  return [{ story: story?.id ?? null, rule: { kind: 'memory', threshold }, samples: [{ at: input.now, source: 'proc:meminfo', value: m.usedFraction, evidence: m.evidence }] }];
}

/** The events of each story's current life (unattributed ones all count). */
function filterEvents(events: Iterable<LogEvent>, sinceOf: ReadonlyMap<string, number>): LogEvent[] {
  const out: LogEvent[] = [];
  for (const e of events) {
    if (e.story !== null) {
      const since = sinceOf.get(e.story);
      if (since === undefined || e.time < since) continue;
    }
    out.push(e);
  }
  return out;
}

function latenciesOf(events: readonly LogEvent[], story: string, from: number, to: number): number[] {
  const out: number[] = [];
  for (const e of events) if (e.story === story && e.kind === 'latency' && e.valueMs !== undefined && e.time >= from && e.time < to) out.push(e.valueMs);
  return out;
}

/** Per story, the byte range of each file its events in the window came from: where to look in the logs. */
function byteRanges(events: readonly LogEvent[], from: number, to: number): Map<string, Array<{ file: string; from: number; to: number }>> {
  const out = new Map<string, Map<string, { file: string; from: number; to: number }>>();
  for (const e of events) {
    if (e.story === null || e.time < from || e.time >= to) continue;
    let files = out.get(e.story);
    if (files === undefined) out.set(e.story, (files = new Map()));
    const r = files.get(e.source.file);
    if (r === undefined) files.set(e.source.file, { file: e.source.file, from: e.source.start, to: e.source.end });
    else {
      r.from = Math.min(r.from, e.source.start);
      r.to = Math.max(r.to, e.source.end);
    }
  }
  return new Map([...out].map(([story, files]) => [story, [...files.values()]]));
}

/**
 * The baselines after a judged round: a story takes this round's figures as its baseline only when none of its rules
 * is breached or in an open episode (a breach freezes the baseline it is measured against). Shared by the live
 * monitor and `replay`, so both compare against the same windows.
 */
export function nextBaselines(
  prev: Readonly<Record<string, Baseline>>,
  candidates: Readonly<Record<string, Baseline>>,
  rules: MonitorState['rules'],
  watched: readonly Pick<StoryWatch, 'id'>[],
): Record<string, Baseline> {
  const next: Record<string, Baseline> = { ...prev };
  for (const w of watched) {
    const open = Object.entries(rules).some(([k, r]) => k.startsWith(`${w.id}|`) && (r.episode !== null || r.last?.verdict === 'breached'));
    const c = candidates[w.id];
    if (!open && c !== undefined) next[w.id] = c;
  }
  return next;
}
