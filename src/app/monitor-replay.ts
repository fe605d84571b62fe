/**
 * `monitor replay <files…>`: what the rules would have done on past logs, and when. The logs are read from their
 * start, their lines classified as the live monitor classifies them, and rounds are simulated every interval of
 * log time through the same `observeRound` and decision core, in dry-run mode: nothing is acted on, no state is
 * kept, nothing is written. Probes and memory were not recorded in the logs, so only the log rules are judged.
 */
import path from 'node:path';
import { InvalidInputError } from '../model/errors.js';
import type { MonitorSettings } from '../config/monitor-settings.js';
import { loadProject } from '../project/project.js';
import { monitorSettingsOf } from '../project/monitor-settings-of.js';
import { initialState, step } from '../monitor/decide.js';
import type { Decision } from '../monitor/decision-log.js';
import { readLogLines } from '../monitor/log-reader.js';
import { attributionTable, lineClassifier, type LogEvent } from '../monitor/pack-events.js';
import { nextBaselines, observeRound, type Baseline, type StoryWatch } from '../monitor/observe.js';
import type { RuleKind } from '../monitor/rules.js';
import { withOverrides, type TimingOverrides } from './monitor-session.js';

/** A stretch of log time in which one rule of one story was breached at least `consecutive` rounds in a row. */
export interface BadPeriod {
  story: string | null;
  rule: RuleKind;
  /** Log time of the first and last breached round. */
  from: string;
  to: string;
  rounds: number;
  /** The worst value seen in it. */
  worst: number | null;
}

/** What a replay found. */
export interface ReplayResult {
  files: string[];
  /** The configured file the replayed lines stand for (its format and attribution apply). */
  as: string;
  /** Log time covered. */
  from: string | null;
  to: string | null;
  lines: number;
  rounds: number;
  periods: BadPeriod[];
  /** The decisions the monitor would have made (dry run: `would-act` where it would have acted). */
  decisions: Decision[];
}

/** Options of {@link replayLogs}. */
export interface ReplayOptions {
  root: string;
  files: string[];
  /** The watched file the lines stand for; default the first configured log file. */
  as?: string;
  overrides?: TimingOverrides;
}

/** Replays `files` under the project's monitor settings. */
export async function replayLogs(opts: ReplayOptions): Promise<ReplayResult> {
  const project = await loadProject(opts.root);
  const base = monitorSettingsOf(project);
  const settings: MonitorSettings = withOverrides(base, opts.overrides ?? {});
  const as = opts.as ?? settings.logFiles[0]?.file;
  const format = settings.logFiles.find((f) => f.file === as)?.format;
  if (as === undefined || format === undefined) {
    throw new InvalidInputError(`replay: ${as === undefined ? 'no log file is configured' : `${as} is not a watched log file (${settings.logFiles.map((f) => f.file).join(', ')})`}; name one with --as`, {
      code: 'E_USAGE',
    });
  }
  const table = attributionTable(Object.fromEntries(Object.entries(settings.stories).map(([id, s]) => [id, s.logs])), []);
  const classify = lineClassifier(as, format, table);
  const events: LogEvent[] = [];
  let lines = 0;
  for (const file of opts.files) {
    const abs = path.resolve(file);
    let pos;
    for (;;) {
      const r = await readLogLines(abs, pos, { from: 'start' });
      if (!r.ok) throw new InvalidInputError(`replay: ${file}: ${r.error.message}`, { file, code: 'E_REPLAY_READ' });
      lines += r.lines.length;
      for (const line of r.lines) events.push(...classify(line.value, line));
      pos = r.position;
      if (!r.more) break;
    }
  }
  events.sort((a, b) => a.time - b.time);
  const first = events[0]?.time;
  const lastT = events.at(-1)?.time;
  const result: ReplayResult = { files: opts.files, as, from: null, to: null, lines, rounds: 0, periods: [], decisions: [] };
  if (first === undefined || lastT === undefined) return result;
  result.from = new Date(first).toISOString();
  result.to = new Date(lastT).toISOString();

  const watched: StoryWatch[] = Object.entries(settings.stories)
    .filter(([, s]) => s.logs.some((l) => l.file === as))
    .map(([id, s]) => ({ id, thresholds: s.thresholds, logFiles: [as], probes: false, since: first }));
  const decide = { ...settings, dryRun: true };
  let state = initialState();
  let baselines: Record<string, Baseline> = {};
  const open = new Map<string, BadPeriod & { run: number }>();
  let lo = 0;
  let hi = 0;
  // Rounds start one interval into the log and end with the round that sees its last line: after the end of a
  // log there is no data, not a drop in traffic.
  for (let now = first + settings.intervalMs; now < lastT + 2 * settings.intervalMs; now += settings.intervalMs) {
    while (hi < events.length && (events[hi] as LogEvent).time < now) hi++;
    while (lo < hi && (events[lo] as LogEvent).time < now - settings.windowMs) lo++;
    const { observations, candidates } = observeRound({
      now,
      windowMs: settings.windowMs,
      minRequests: settings.minRequests,
      minLatencySamples: 10,
      project: settings.thresholds,
      stories: watched,
      events: events.slice(lo, hi),
      logErrors: {},
      logMissing: {},
      probes: {},
      probeLatencies: {},
      answered: {},
      memory: null,
      baselines,
      watchingSince: first,
    });
    const out = step(state, { observations }, now, decide);
    state = out.state;
    result.decisions.push(...out.decisions);
    result.rounds++;
    baselines = nextBaselines(baselines, candidates, state.rules, watched);
    trackPeriods(open, result.periods, observations, state.rules, now, settings.consecutive);
  }
  for (const p of open.values()) if (p.run >= settings.consecutive) result.periods.push(stripRun(p));
  result.periods.sort((a, b) => a.from.localeCompare(b.from));
  return result;
}

/** Runs of breached rounds per story and rule; a run as long as `consecutive` is a bad period. */
function trackPeriods(
  open: Map<string, BadPeriod & { run: number }>,
  done: BadPeriod[],
  observations: ReturnType<typeof observeRound>['observations'],
  rules: ReturnType<typeof initialState>['rules'],
  now: number,
  consecutive: number,
): void {
  for (const obs of observations) {
    const key = `${obs.story ?? '*'}|${obs.rule.kind}`;
    const last = rules[key]?.last;
    const breached = last?.verdict === 'breached';
    const p = open.get(key);
    if (breached) {
      const at = new Date(now).toISOString();
      const value = last?.value ?? null;
      if (p === undefined) open.set(key, { story: obs.story, rule: obs.rule.kind, from: at, to: at, rounds: 1, worst: value, run: 1 });
      else {
        p.to = at;
        p.rounds++;
        p.run++;
        // A throughput is worst at its lowest; everything else at its highest.
        const worse = obs.rule.kind === 'throughputBaseline' ? (a: number, b: number) => a < b : (a: number, b: number) => a > b;
        if (value !== null && (p.worst === null || worse(value, p.worst))) p.worst = value;
      }
    } else if (p !== undefined) {
      if (p.run >= consecutive) done.push(stripRun(p));
      open.delete(key);
    }
  }
}

function stripRun(p: BadPeriod & { run: number }): BadPeriod {
  const { run: _run, ...rest } = p;
  return rest;
}
