import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/model/errors.js';
import { type DecideSettings, type MonitorEvent, type MonitorState, initialState, step } from '../../../src/monitor/decide.js';
import { type Decision, explainDecision } from '../../../src/monitor/decision-log.js';
import { type Rule, type Sample, comparatorOf, judge } from '../../../src/monitor/rules.js';

const T0 = Date.parse('2026-12-03T08:00:00.000Z');
const INTERVAL = 5_000;
const LOG = 'log:logs/security.log';
const errorRate: Rule = { kind: 'errorRate', threshold: 0.1 };
const settings: DecideSettings = {
  consecutive: 3,
  recover: 3,
  cooldownMs: 10 * 60_000,
  maxPerDay: 3,
  action: 'rollback',
  cascade: false,
  dryRun: false,
  sourceErrorsBeforeAlert: 3,
  windowMs: 60_000,
};

/** A sample for each word: a number is a value, `null` no data, `'err'` a source that could not be read. */
function sample(v: number | null | 'err', at: number): Sample {
  if (v === 'err') return { at, value: null, source: LOG, sourceError: 'EACCES: permission denied' };
  if (v === null) return { at, value: null, why: '4 requests in the window, fewer than minRequests 20', source: LOG };
  return { at: new Date(at).toISOString(), value: v, source: LOG, evidence: { file: 'logs/security.log', from: at, to: at + 100 }, excluded: { health: 2 } };
}

/**
 * A monitor fed one sample per interval, as the live loop does; `events` go in with the sample of that index.
 * Returns the state after the last one and every decision made on the way.
 */
function feed(
  values: (number | null | 'err')[],
  opts: { from?: MonitorState; start?: number; set?: Partial<DecideSettings>; story?: string | null; events?: Record<number, MonitorEvent[]> } = {},
): { state: MonitorState; decisions: Decision[] } {
  let state = opts.from ?? initialState();
  const decisions: Decision[] = [];
  const start = opts.start ?? T0;
  values.forEach((v, i) => {
    const now = start + i * INTERVAL;
    const r = step(
      state,
      { observations: [{ story: opts.story === undefined ? '1.2' : opts.story, rule: errorRate, samples: [sample(v, now)] }], events: opts.events?.[i] ?? [] },
      now,
      { ...settings, ...opts.set },
    );
    state = r.state;
    decisions.push(...r.decisions);
  });
  return { state, decisions };
}

const acts = (ds: Decision[]) => ds.filter((d) => d.action === 'rollback');
const B = 0.5; // breached: 50 % errors
const H = 0.01; // healthy

describe('the decision core', () => {
  it('does not act on one spike, nor on breaches with a healthy sample between them, and records each as not sustained', () => {
    const spike = feed([B, H, H, H, H]).decisions;
    expect(spike.map((d) => d.outcome)).toEqual(['not-sustained']);
    expect(spike[0]?.samples).toHaveLength(2);
    expect(spike[0]?.reason).toMatch(/breached in 1 sample in a row .* then a healthy one: not sustained, 3 in a row are needed/);
    const gap = feed([B, H, B, B]).decisions;
    expect(acts(gap)).toEqual([]);
    expect(gap.map((d) => d.outcome)).toEqual(['not-sustained']);
    // The same row with one more breach acts: the test above is not passing for want of a way to act.
    expect(acts(feed([B, H, B, B, B]).decisions)).toHaveLength(1);
  });

  it('acts once after three in a row, with the streak as evidence, and not again while the breach goes on', () => {
    const { decisions } = feed([H, B, B, B, B, B, B, B]);
    expect(decisions).toHaveLength(1);
    const [d] = decisions as [Decision];
    expect(d).toMatchObject({ story: '1.2', rule: 'errorRate', threshold: 0.1, comparator: '>', windowMs: 60_000, verdict: 'breached', outcome: 'acted', action: 'rollback', cascade: false });
    expect(d.samples.map((s) => s.at)).toEqual([1, 2, 3].map((i) => new Date(T0 + i * INTERVAL).toISOString()));
    expect(d.excluded).toEqual({ health: 6 });
    expect(d.at).toBe(new Date(T0 + 3 * INTERVAL).toISOString());
  });

  it('clears a breach after `recover` healthy samples in a row, and only then acts on a new one', () => {
    const set = { cooldownMs: 0 };
    // Two healthy samples do not clear it: the next row of breaches is the same episode, already acted on.
    expect(acts(feed([B, B, B, H, H, B, B, B], { set }).decisions)).toHaveLength(1);
    const { decisions } = feed([B, B, B, H, H, H, B, B, B], { set });
    expect(decisions.map((d) => d.outcome)).toEqual(['acted', 'recovered', 'acted']);
    expect(decisions[1]?.samples).toHaveLength(3);
  });

  it('never acts on no data, breaks a row with it, and records it once with its reason', () => {
    const { decisions } = feed([null, null, null, null, null, null]);
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ verdict: 'no-data', outcome: 'no-data', action: 'none' });
    expect(decisions[0]?.reason).toContain('fewer than minRequests 20');
    expect(acts(feed([B, B, null, B]).decisions)).toEqual([]);
  });

  it('alerts about a source that fails several times in a row, and never rolls back for it', () => {
    const { decisions } = feed(['err', 'err', 'err', 'err', 'err', 'err']);
    expect(decisions.map((d) => [d.outcome, d.action])).toEqual([
      ['source-error', 'none'],
      ['alerted', 'alert'],
    ]);
    expect(decisions[1]?.reason).toContain('3 times in a row');
    expect(acts(feed([B, B, 'err', B]).decisions)).toEqual([]);
  });

  it('counts a source that several stories read once per reading', () => {
    let state = initialState();
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const now = T0 + i * INTERVAL;
      const observations = ['1.2', '1.3'].map((story) => ({ story, rule: errorRate, samples: [sample('err', now)] }));
      const r = step(state, { observations }, now, settings);
      state = r.state;
      outcomes.push(r.decisions.map((d) => d.outcome).join('+'));
    }
    expect(outcomes).toEqual(['source-error', '', 'alerted']);
  });

  it('only alerts on a project-level signal', () => {
    const { decisions } = feed([B, B, B, B], { story: null });
    expect(decisions.map((d) => [d.story, d.outcome, d.action])).toEqual([[null, 'alerted', 'alert']]);
  });

  it('holds a breach back during the cooldown and acts on it once the cooldown is over', () => {
    const restore: MonitorEvent = { kind: 'reset', story: '1.2', why: 'restore' };
    const first = feed([B, B, B]);
    // Restored by hand 15 s later, and bad again at once: inside the 10 min cooldown.
    const again = feed([B, B, B], { from: first.state, start: T0 + 30_000, events: { 0: [restore] } });
    expect(again.decisions.map((d) => [d.outcome, d.action])).toEqual([['cooldown', 'none']]);
    const after = feed([B, B, B], { from: again.state, start: T0 + 11 * 60_000 });
    expect(after.decisions.map((d) => [d.outcome, d.action])).toEqual([['acted', 'rollback']]);
  });

  it('after maxPerDay automatic rollbacks in 24 h only alerts, naming the command, until the oldest is a day old', () => {
    const set = { cooldownMs: 0, maxPerDay: 2 };
    const restore = { 0: [{ kind: 'reset', story: '1.2', why: 'restore' } as MonitorEvent] };
    let r = feed([B, B, B], { set });
    r = feed([B, B, B], { set, from: r.state, start: T0 + 60_000, events: restore });
    expect(acts(r.decisions)).toHaveLength(1);
    r = feed([B, B, B], { set, from: r.state, start: T0 + 120_000, events: restore });
    expect(r.decisions.map((d) => [d.outcome, d.action])).toEqual([['capped', 'alert']]);
    expect(r.decisions[0]?.reason).toContain('roll back by hand: rollback-manager rollback 1.2 --force');
    r = feed([B, B, B], { set, from: r.state, start: T0 + 24 * 3_600_000 + 1, events: restore });
    expect(acts(r.decisions)).toHaveLength(1);
  });

  it('keeps its cap and cooldown across a restart through JSON', () => {
    const restore = { 0: [{ kind: 'reset', story: '1.2', why: 'restore' } as MonitorEvent] };
    const set = { maxPerDay: 1 };
    const before = feed([B, B, B], { set });
    const restored = JSON.parse(JSON.stringify(before.state)) as MonitorState;
    expect(restored).toEqual(before.state);
    // Within the cooldown and past the cap: capped.
    const soon = feed([B, B, B], { set, from: restored, start: T0 + 60_000, events: restore });
    expect(soon.decisions.map((d) => d.outcome)).toEqual(['capped']);
    // Cap lifted, cooldown still on: held back.
    const cooling = feed([B, B, B], { from: JSON.parse(JSON.stringify(before.state)) as MonitorState, start: T0 + 60_000, events: restore });
    expect(cooling.decisions.map((d) => d.outcome)).toEqual(['cooldown']);
    // Decision ids go on from the saved sequence, so they stay unique after a restart.
    expect(soon.decisions[0]!.id > before.decisions[0]!.id).toBe(true);
  });

  it('in a dry run records what it would do and asks for nothing', () => {
    const { decisions } = feed([B, B, B, B], { set: { dryRun: true } });
    expect(decisions.map((d) => [d.outcome, d.action])).toEqual([['would-act', 'none']]);
    expect(decisions[0]?.reason).toContain('would rollback 1.2');
  });

  it('does not count samples taken while the story is muted by a rollback, and records that once', () => {
    const mute = { 0: [{ kind: 'mute', stories: ['1.2', '1.5'], until: T0 + 30_000 } as MonitorEvent] };
    const { decisions } = feed([B, B, B, B, B, B, B, B, B], { events: mute });
    // Samples 0..5 are muted (until 30 s), 6, 7, 8 count.
    expect(decisions.map((d) => d.outcome)).toEqual(['muted', 'acted']);
    expect(decisions[1]?.samples.map((s) => Date.parse(String(s.at)))).toEqual([6, 7, 8].map((i) => T0 + i * INTERVAL));
  });

  it("keeps each rule's last verdict for status, healthy ones included", () => {
    const { state, decisions } = feed([B, H]);
    expect(decisions.map((d) => d.outcome)).toEqual(['not-sustained']);
    expect(state.rules['1.2|errorRate']?.last).toEqual({ at: new Date(T0 + INTERVAL).toISOString(), verdict: 'healthy', value: H });
  });

  it('refuses counts that would act on nothing or on every sample, naming the key', () => {
    for (const bad of [{ consecutive: 0 }, { recover: 1.5 }, { maxPerDay: -1 }, { sourceErrorsBeforeAlert: 0 }, { cooldownMs: Number.NaN }]) {
      const key = Object.keys(bad)[0] === 'cooldownMs' ? 'monitor.cooldown' : `monitor.${Object.keys(bad)[0]}`;
      expect(() => step(initialState(), { observations: [] }, T0, { ...settings, ...bad })).toThrow(InvalidInputError);
      expect(() => step(initialState(), { observations: [] }, T0, { ...settings, ...bad })).toThrow(key);
    }
  });

  it("honours a rule's own consecutive (an Alertmanager alert, debounced already) beside the settings' count", () => {
    const alert: Rule = { kind: 'alert', threshold: 0, consecutive: 1 };
    const at = (i: number) => T0 + i * INTERVAL;
    const fire = (v: number, i: number): Sample => ({ at: at(i), value: v, source: 'alertmanager:127.0.0.1:9095', evidence: { alerts: [] } });
    let state = initialState();
    const out: Decision[] = [];
    [0, 1, 1, 0, 0, 0].forEach((v, i) => {
      // The same round also feeds an errorRate breach, which still needs settings.consecutive (3) in a row.
      const r = step(state, { observations: [{ story: '1.2', rule: alert, samples: [fire(v, i)] }, { story: '1.3', rule: errorRate, samples: [sample(B, at(i))] }] }, at(i), settings);
      state = r.state;
      out.push(...r.decisions);
    });
    const alertActs = out.filter((d) => d.rule === 'alert' && d.outcome === 'acted');
    expect(alertActs).toHaveLength(1);
    expect(alertActs[0]).toMatchObject({ story: '1.2', comparator: 'firing', action: 'rollback', at: new Date(at(1)).toISOString() });
    expect(alertActs[0]?.samples).toHaveLength(1);
    expect(alertActs[0]?.reason).toBe('alert firing in 1 samples in a row (firing): rollback 1.2');
    // The errorRate row of 1.3 acted on its third sample, not its first.
    expect(out.filter((d) => d.rule === 'errorRate' && d.outcome === 'acted').map((d) => d.at)).toEqual([new Date(at(2)).toISOString()]);
    // Resolved (0) three times in a row clears the alert's episode, as recover says.
    expect(out.filter((d) => d.rule === 'alert' && d.outcome === 'recovered')).toHaveLength(1);
    // Without the override, one firing sample is a row too short to act on (settings.consecutive is 3).
    const { consecutive: _, ...plain } = alert;
    expect(step(initialState(), { observations: [{ story: '1.2', rule: plain, samples: [fire(1, 0)] }] }, T0, settings).decisions).toEqual([]);
    expect(() => step(initialState(), { observations: [{ story: '1.2', rule: { ...alert, consecutive: 0 }, samples: [fire(1, 0)] }] }, T0, settings)).toThrow("the alert rule's consecutive: 0");
  });

  it('explains a decision in words with every sample that counted', () => {
    const [d] = feed([B, B, B]).decisions as [Decision];
    const text = explainDecision(d);
    expect(text).toContain(d.id);
    expect(text).toContain('Story 1.2, rule errorRate > 10%');
    expect(text).toContain('Action: rollback (without dependents)');
    for (const s of d.samples) expect(text).toContain(String(s.at));
    expect(text.match(/50% {2}from log:logs\/security\.log/g)).toHaveLength(3);
    expect(text).toContain('health 6');
  });
});

describe('one sample against one rule', () => {
  it('judges baseline-relative rules against the sample’s baseline, and says no data without one', () => {
    const up: Rule = { kind: 'latencyBaseline', threshold: 0.1 };
    const down: Rule = { kind: 'throughputBaseline', threshold: -0.1 };
    const s = (value: number, baseline?: number): Sample => ({ at: T0, value, source: 'probe', ...(baseline === undefined ? {} : { baseline }) });
    expect([judge(s(111, 100), up).verdict, judge(s(110, 100), up).verdict, judge(s(89, 100), down).verdict, judge(s(90, 100), down).verdict]).toEqual([
      'breached',
      'healthy',
      'breached',
      'healthy',
    ]);
    expect(judge(s(500), up)).toEqual({ verdict: 'no-data', why: 'no baseline yet' });
    // With latencyMinDeltaMs, a relative rise on a fast endpoint is no breach until it is also that many ms.
    const upBy100: Rule = { ...up, minDeltaMs: 100 };
    expect([judge(s(2.3, 2), upBy100).verdict, judge(s(2.3, 2), up).verdict]).toEqual(['healthy', 'breached']);
    expect([judge(s(1200, 1000), upBy100).verdict, judge(s(1100, 1000), upBy100).verdict, judge(s(1080, 980), upBy100).verdict]).toEqual(['breached', 'healthy', 'healthy']);
    expect(comparatorOf(upBy100)).toBe('> baseline + 10% and + 100 ms');
    expect(judge({ at: T0, value: 6000, source: 'probe' }, { kind: 'latencyP95', threshold: 5000 }).verdict).toBe('breached');
    expect(judge({ at: T0, value: 0.9, source: 'proc' }, { kind: 'memory', threshold: 0.9 }).verdict).toBe('healthy');
  });
});
