/**
 * The monitor's decision core: a pure state machine, `step(state, inputs, now, settings)`. It does no I/O and reads
 * no clock, so the same code runs live, in `--once`, in `replay` over old logs and in tests; the caller persists the
 * state (plain JSON) so that a restart after `kill -9` keeps streaks, cooldowns and the daily cap.
 *
 * Per story and rule:
 * - `consecutive` breached samples in a row (a rule's own `consecutive` when it has one) open a breach *episode*
 *   and go to the gate once. A healthy sample, no
 *   data or a source error breaks the row: one spike, or breaches with a gap between them, never act. (No data
 *   breaks the row rather than being skipped because a breach must be seen, not assumed across a gap.)
 * - An episode is acted on at most once; it closes after `recover` healthy samples in a row, or when the story is
 *   rolled back or restored by hand (a `reset` event). That is what keeps a story that stays bad from looping.
 * - The gate, in order: project-level signals only alert; past `maxPerDay` automatic rollbacks in 24 h only alert,
 *   with the command to run by hand; a cooldown holds the breach back (the episode stays open, so it acts once the
 *   cooldown is over and the breach is still there); `action: alert` alerts; a dry run records `would-act`;
 *   `action: propose` records `proposed` (a proposal for a person), counted against the cooldown and cap like an act.
 * - Samples taken while a story is muted (its own rollback, or a rollback that took it along) do not count: its
 *   503s and refused connections are the rollback working.
 * - Source errors count per source; `sourceErrorsBeforeAlert` in a row alert once about the monitor itself.
 */
import { InvalidInputError } from '../model/errors.js';
import type { Action, Decision, Outcome } from './decision-log.js';
import { decisionId, fmtSampleValue, sumExcluded } from './decision-log.js';
import type { Judgement, Rule, Sample, Verdict } from './rules.js';
import { comparatorIsComplete, comparatorOf, judge, sampleTime } from './rules.js';

const DAY_MS = 24 * 3_600_000;

/** How the monitor decides; from `monitor` in config/rollback.yaml and the command line. */
export interface DecideSettings {
  /** Breached samples in a row before acting. */
  consecutive: number;
  /** Healthy samples in a row before a breach clears. */
  recover: number;
  /** Per story, after an automatic rollback. */
  cooldownMs: number;
  /** Automatic rollbacks per story in a sliding 24 h; past it, alert only. */
  maxPerDay: number;
  action: Action;
  /** May an automatic rollback take installed dependents with it? Passed on in the decision. */
  cascade: boolean;
  /** Decide and record everything, act on nothing. */
  dryRun: boolean;
  /** Source errors in a row (per source) before the monitor alerts about itself. */
  sourceErrorsBeforeAlert: number;
  /** The observation window, recorded in each decision. */
  windowMs: number;
  /**
   * Stories whose sustained breaches only alert for now, each with why (a story watched after its restore while
   * `monitor.autoRollbackOnFailure` is false). Counted like an alert: no cooldown, nothing against the cap.
   */
  alertOnly?: Readonly<Record<string, string>>;
}

/** New samples of one rule for one story (or, with `story: null`, a project-level signal). */
export interface Observation {
  story: string | null;
  rule: Rule;
  /** In the order they were taken. */
  samples: Sample[];
}

/**
 * Things the caller tells the monitor:
 * - `mute`: these stories are being rolled back (a story and the dependents going with it) until `until`;
 * - `reset`: a story was rolled back or restored by hand, so its streaks and episodes start over. The 24 h history
 *   of automatic rollbacks and the cooldown are kept: a restore must not reopen a loop the cap closed.
 */
export type MonitorEvent =
  | { kind: 'mute'; stories: string[]; until: string | number }
  | { kind: 'reset'; story: string; why: string };

/** What one step gets. */
export interface StepInputs {
  observations: Observation[];
  events?: MonitorEvent[];
}

/** Per story and rule: the current row of breached samples, of healthy samples, and the open episode. */
export interface RuleState {
  run: Sample[];
  healthy: Sample[];
  episode: { since: string; handled: boolean } | null;
  /** The last not-counted condition recorded (`muted`, `no-data:<why>`), so that it is recorded once, not per sample. */
  quiet: string | null;
  /** The last sample's verdict, for `status`: healthy samples leave no decision behind. */
  last: { at: string | number; verdict: Verdict; value: number | null } | null;
}

/** Per story: the gate's memory. Times are epoch milliseconds. */
export interface StoryGate {
  cooldownUntil: number | null;
  mutedUntil: number | null;
  /** Times of automatic rollbacks (or would-be ones in a dry run) in the last 24 h. */
  autoRollbacks: number[];
}

/** The whole state, plain JSON: `JSON.parse(JSON.stringify(state))` is the same state. */
export interface MonitorState {
  version: 1;
  /** Last decision sequence number, for unique sortable ids across restarts. */
  seq: number;
  /** Keyed `<story or *>|<rule kind>`. */
  rules: Record<string, RuleState>;
  stories: Record<string, StoryGate>;
  /** Source errors in a row, per source, whether that row was alerted on, and the time of the last one counted. */
  sources: Record<string, { errors: number; alerted: boolean; lastAt: number | null }>;
}

/** A state with nothing seen yet. */
export function initialState(): MonitorState {
  return { version: 1, seq: 0, rules: {}, stories: {}, sources: {} };
}

function toMs(t: string | number): number {
  return typeof t === 'number' ? t : Date.parse(t);
}

/**
 * Feed one round of samples and events; get the new state and the decisions to record (and act on, where
 * `action` is not `none`). `state` is not changed.
 */
export function step(
  state: MonitorState,
  inputs: StepInputs,
  now: string | number,
  settings: DecideSettings,
): { state: MonitorState; decisions: Decision[] } {
  checkSettings(settings);
  const st = structuredClone(state);
  const nowMs = toMs(now);
  const decisions: Decision[] = [];
  for (const ev of inputs.events ?? []) applyEvent(st, ev);
  const ctx = { st, nowMs, settings, decisions };
  for (const obs of inputs.observations) for (const s of obs.samples) onSample(ctx, obs, s);
  return { state: st, decisions };
}

/** Counts below 1 would act on nothing (`slice(-0)` keeps everything) or on every sample: refuse them. */
function checkSettings(s: DecideSettings): void {
  const refuse = (keyPath: string, what: string) => new InvalidInputError(`${keyPath}: ${what}`, { code: 'E_MONITOR_SETTING', keyPath });
  const { consecutive, recover, maxPerDay, sourceErrorsBeforeAlert } = s;
  for (const [k, v] of Object.entries({ consecutive, recover, maxPerDay, sourceErrorsBeforeAlert })) {
    if (!Number.isInteger(v) || v < 1) throw refuse(`monitor.${k}`, `${v} is not a whole number ≥ 1`);
  }
  if (!(s.cooldownMs >= 0)) throw refuse('monitor.cooldown', `${s.cooldownMs} ms is not ≥ 0`);
}

/** The rule's own count of breached samples in a row (an Alertmanager alert's), else the settings'. */
function consecutiveOf(rule: Rule, settings: DecideSettings): number {
  const n = rule.consecutive;
  if (n === undefined) return settings.consecutive;
  if (!Number.isInteger(n) || n < 1) {
    throw new InvalidInputError(`the ${rule.kind} rule's consecutive: ${n} is not a whole number ≥ 1`, { code: 'E_MONITOR_SETTING' });
  }
  return n;
}

function gateOf(st: MonitorState, story: string): StoryGate {
  return (st.stories[story] ??= { cooldownUntil: null, mutedUntil: null, autoRollbacks: [] });
}

function applyEvent(st: MonitorState, ev: MonitorEvent): void {
  if (ev.kind === 'mute') {
    for (const s of ev.stories) {
      const g = gateOf(st, s);
      g.mutedUntil = Math.max(g.mutedUntil ?? 0, toMs(ev.until));
    }
    return;
  }
  for (const key of Object.keys(st.rules)) if (key.startsWith(`${ev.story}|`)) delete st.rules[key];
}

interface Ctx {
  st: MonitorState;
  nowMs: number;
  settings: DecideSettings;
  decisions: Decision[];
}

function record(ctx: Ctx, obs: Observation, samples: Sample[], j: Judgement, outcome: Outcome, action: Action | 'none', reason: string): Decision {
  ctx.st.seq += 1;
  const d: Decision = {
    id: decisionId(ctx.nowMs, ctx.st.seq),
    at: new Date(ctx.nowMs).toISOString(),
    story: obs.story,
    rule: obs.rule.kind,
    threshold: obs.rule.threshold,
    comparator: comparatorOf(obs.rule),
    windowMs: ctx.settings.windowMs,
    samples: structuredClone(samples),
    excluded: sumExcluded(samples),
    verdict: j.verdict,
    outcome,
    action,
    reason,
  };
  if (action === 'rollback' || action === 'propose') d.cascade = ctx.settings.cascade;
  ctx.decisions.push(d);
  return d;
}

function onSample(ctx: Ctx, obs: Observation, s: Sample): void {
  const key = `${obs.story ?? '*'}|${obs.rule.kind}`;
  const rs = (ctx.st.rules[key] ??= { run: [], healthy: [], episode: null, quiet: null, last: null });
  const j = judge(s, obs.rule);
  rs.last = { at: s.at, verdict: j.verdict, value: s.value };
  if (j.verdict !== 'breached') notSustained(ctx, obs, rs, s, j);
  if (j.verdict === 'source-error') {
    rs.run = [];
    rs.healthy = [];
    // One unreadable log feeds several stories and rules: count it once per time it was read, not per observer.
    const src = (ctx.st.sources[s.source] ??= { errors: 0, alerted: false, lastAt: null });
    const at = Number.isFinite(sampleTime(s)) ? sampleTime(s) : ctx.nowMs;
    if (src.lastAt === at) return;
    src.lastAt = at;
    src.errors += 1;
    const what = `the source ${s.source} could not be read (${j.why})`;
    if (src.errors === 1) record(ctx, obs, [s], j, 'source-error', 'none', `${what}: an error of the monitor, not a breach`);
    if (src.errors >= ctx.settings.sourceErrorsBeforeAlert && !src.alerted) {
      src.alerted = true;
      record(ctx, obs, [s], j, 'alerted', 'alert', `${what} ${src.errors} times in a row: the monitor cannot see this signal; never a breach`);
    }
    return;
  }
  delete ctx.st.sources[s.source];
  const t = Number.isFinite(sampleTime(s)) ? sampleTime(s) : ctx.nowMs;
  const muted = obs.story === null ? null : (ctx.st.stories[obs.story]?.mutedUntil ?? null);
  if (muted !== null && t < muted) {
    if (j.verdict === 'breached') notSustained(ctx, obs, rs, s, { verdict: 'no-data', why: 'muted' });
    rs.run = [];
    rs.healthy = [];
    if (j.verdict === 'breached' && rs.quiet !== 'muted') {
      rs.quiet = 'muted';
      const until = new Date(muted).toISOString();
      record(ctx, obs, [s], j, 'muted', 'none', `muted until ${until}: the story is being rolled back, its failures are the rollback working`);
    }
    return;
  }
  if (j.verdict === 'no-data') {
    rs.run = [];
    rs.healthy = [];
    // Keyed by the kind of reason, not its numbers: "too few requests (1 < 3)" then "(2 < 3)" is one quiet spell.
    const quiet = `no-data:${(j.why ?? '').replace(/\d+(?:\.\d+)?/g, '#')}`;
    if (rs.quiet !== quiet) {
      rs.quiet = quiet;
      record(ctx, obs, [s], j, 'no-data', 'none', `no data (${j.why}): never counts as a breach`);
    }
    return;
  }
  rs.quiet = null;
  if (j.verdict === 'healthy') {
    rs.run = [];
    rs.healthy = [...rs.healthy, s].slice(-ctx.settings.recover);
    if (rs.episode !== null && rs.healthy.length >= ctx.settings.recover) {
      record(ctx, obs, rs.healthy, j, 'recovered', 'none', `${rs.healthy.length} healthy samples in a row: the breach since ${rs.episode.since} is cleared`);
      rs.episode = null;
      rs.healthy = [];
    }
    return;
  }
  rs.healthy = [];
  const needed = consecutiveOf(obs.rule, ctx.settings);
  rs.run = [...rs.run, s].slice(-needed);
  if (rs.run.length < needed) return;
  rs.episode ??= { since: new Date(t).toISOString(), handled: false };
  if (rs.episode.handled) return; // acted or alerted on already: once per episode
  const consumed = gate(ctx, obs, rs.run, j);
  if (consumed) rs.episode.handled = true;
  rs.run = [];
}

/**
 * A row of breached samples that ended before it was long enough (one spike, breaches with a gap): recorded, so
 * that "why did it not act?" has its answer in the log, and never acted on. Inside an open episode a gap is part
 * of the episode, not noise, and is not recorded.
 */
function notSustained(ctx: Ctx, obs: Observation, rs: RuleState, s: Sample, j: Judgement): void {
  if (rs.run.length === 0 || rs.episode !== null) return;
  const values = rs.run.map((r) => (r.value === null ? 'no data' : fmtSampleValue(obs.rule.kind, r.value))).join(', ');
  const then = j.verdict === 'healthy' ? 'a healthy one' : j.verdict === 'source-error' ? 'a source error' : `no data (${j.why ?? ''})`;
  record(
    ctx,
    obs,
    [...rs.run, s],
    { verdict: 'breached' },
    'not-sustained',
    'none',
    `${obs.rule.kind} breached in ${rs.run.length} sample${rs.run.length > 1 ? 's' : ''} in a row (${values}), then ${then}: not sustained, ${consecutiveOf(obs.rule, ctx.settings)} in a row are needed`,
  );
}

/** Decide what a breach episode leads to; true when the episode is dealt with (acted, alerted, would-act). */
function gate(ctx: Ctx, obs: Observation, run: Sample[], j: Judgement): boolean {
  const { settings, nowMs } = ctx;
  const values = run.map((r) => (r.value === null ? 'no data' : fmtSampleValue(obs.rule.kind, r.value))).join(', ');
  const threshold = comparatorIsComplete(obs.rule.kind) ? comparatorOf(obs.rule) : `${comparatorOf(obs.rule)} ${fmtSampleValue(obs.rule.kind, obs.rule.threshold)}`;
  const inRow = `${obs.rule.kind} ${threshold} in ${run.length} samples in a row (${values})`;
  if (obs.story === null) {
    record(ctx, obs, run, j, 'alerted', 'alert', `${inRow} on a project-level signal, not attributed to one story: alert only, never a rollback`);
    return true;
  }
  if (obs.rule.alertOnly === true) {
    record(ctx, obs, run, j, 'alerted', 'alert', `${inRow}: this rule alerts only, it never rolls a story back`);
    return true;
  }
  const g = gateOf(ctx.st, obs.story);
  g.autoRollbacks = g.autoRollbacks.filter((at) => at > nowMs - DAY_MS);
  if (g.autoRollbacks.length >= settings.maxPerDay) {
    const what = settings.action === 'propose' ? 'proposed rollbacks' : 'automatic rollbacks';
    const reached = `${g.autoRollbacks.length} ${what} of ${obs.story} in 24 h reached maxPerDay ${settings.maxPerDay}`;
    const byHand = `roll back by hand: rollback-manager rollback ${obs.story} --force`;
    record(ctx, obs, run, j, 'capped', 'alert', `${inRow}, but ${reached}; ${byHand}`);
    return true;
  }
  if (g.cooldownUntil !== null && nowMs < g.cooldownUntil) {
    const until = new Date(g.cooldownUntil).toISOString();
    record(ctx, obs, run, j, 'cooldown', 'none', `${inRow}, held back: cooldown after an automatic rollback until ${until}`);
    return false;
  }
  if (settings.action === 'alert') {
    record(ctx, obs, run, j, 'alerted', 'alert', `${inRow}; action is alert`);
    return true;
  }
  const held = settings.alertOnly?.[obs.story];
  if (held !== undefined) {
    record(ctx, obs, run, j, 'alerted', 'alert', `${inRow}; ${held}: alert only`);
    return true;
  }
  // A dry run keeps the same cooldown and cap as a real run would, so that a shadow run or a replay shows what
  // the real one would have done; its state must be kept apart from a real monitor's.
  g.cooldownUntil = nowMs + settings.cooldownMs;
  g.autoRollbacks.push(nowMs);
  if (settings.dryRun) {
    record(ctx, obs, run, j, 'would-act', 'none', `${inRow}; dry run: would ${settings.action} ${obs.story}`);
  } else if (settings.action === 'propose') {
    // Counted like an act above (cooldown, daily cap), so that a story that stays bad cannot flood proposals.
    record(ctx, obs, run, j, 'proposed', 'propose', `${inRow}: propose a rollback of ${obs.story}, for a person to approve or reject`);
  } else {
    record(ctx, obs, run, j, 'acted', settings.action, `${inRow}: ${settings.action} ${obs.story}`);
  }
  return true;
}
