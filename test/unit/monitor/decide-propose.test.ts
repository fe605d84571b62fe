/**
 * Approval mode in the decision core (`action: propose`): a sustained breach is `proposed`, never acted on by the
 * core's caller as a rollback, and counts against the cooldown and the daily cap like an act, so that a story
 * that stays bad cannot flood proposals.
 */
import { describe, expect, it } from 'vitest';
import { type DecideSettings, type MonitorEvent, type MonitorState, initialState, step } from '../../../src/monitor/decide.js';
import type { Decision } from '../../../src/monitor/decision-log.js';
import type { Rule } from '../../../src/monitor/rules.js';

const T0 = Date.parse('2026-12-03T08:00:00.000Z');
const errorRate: Rule = { kind: 'errorRate', threshold: 0.1 };
const settings: DecideSettings = {
  consecutive: 3,
  recover: 3,
  cooldownMs: 10 * 60_000,
  maxPerDay: 3,
  action: 'propose',
  cascade: false,
  dryRun: false,
  sourceErrorsBeforeAlert: 3,
  windowMs: 60_000,
};
const restore: MonitorEvent = { kind: 'reset', story: '1.2', why: 'restore' };

/** One sample of `value` every 5 s from `start`; `reset` goes in with the first. */
function feed(values: number[], opts: { from?: MonitorState; start?: number; set?: Partial<DecideSettings>; reset?: boolean } = {}): { state: MonitorState; decisions: Decision[] } {
  let state = opts.from ?? initialState();
  const decisions: Decision[] = [];
  values.forEach((v, i) => {
    const now = (opts.start ?? T0) + i * 5_000;
    const samples = [{ at: new Date(now).toISOString(), value: v, source: 'log:logs/security.log' }];
    const r = step(state, { observations: [{ story: '1.2', rule: errorRate, samples }], events: opts.reset === true && i === 0 ? [restore] : [] }, now, { ...settings, ...opts.set });
    state = r.state;
    decisions.push(...r.decisions);
  });
  return { state, decisions };
}

describe('action: propose', () => {
  it('proposes once per episode, with the streak as evidence and the cascade setting, and never asks for a rollback', () => {
    const { decisions } = feed([0.5, 0.5, 0.5, 0.5, 0.5], { set: { cascade: true } });
    expect(decisions.map((d) => [d.outcome, d.action])).toEqual([['proposed', 'propose']]);
    const [d] = decisions;
    expect(d?.samples.map((s) => s.value)).toEqual([0.5, 0.5, 0.5]);
    expect(d?.cascade).toBe(true);
    expect(d?.reason).toMatch(/propose a rollback of 1\.2, for a person to approve or reject/);
  });

  it('counts a proposal against the cooldown like an act', () => {
    const first = feed([0.5, 0.5, 0.5]);
    const again = feed([0.5, 0.5, 0.5], { from: first.state, start: T0 + 60_000, reset: true });
    expect(again.decisions.map((d) => d.outcome)).toEqual(['cooldown']);
    const after = feed([0.5, 0.5, 0.5], { from: again.state, start: T0 + 11 * 60_000 });
    expect(after.decisions.map((d) => d.outcome)).toEqual(['proposed']);
  });

  it('past maxPerDay proposals in 24 h only alerts, so a story that stays bad cannot flood proposals', () => {
    const set = { cooldownMs: 0, maxPerDay: 2 };
    let r = feed([0.5, 0.5, 0.5], { set });
    r = feed([0.5, 0.5, 0.5], { set, from: r.state, start: T0 + 60_000, reset: true });
    expect(r.decisions.map((d) => d.outcome)).toEqual(['proposed']);
    r = feed([0.5, 0.5, 0.5], { set, from: r.state, start: T0 + 120_000, reset: true });
    expect(r.decisions.map((d) => [d.outcome, d.action])).toEqual([['capped', 'alert']]);
    expect(r.decisions[0]?.reason).toContain('2 proposed rollbacks of 1.2 in 24 h reached maxPerDay 2');
  });

  it('in a dry run records would-act, and proposes nothing', () => {
    const { decisions } = feed([0.5, 0.5, 0.5], { set: { dryRun: true } });
    expect(decisions.map((d) => [d.outcome, d.action])).toEqual([['would-act', 'none']]);
    expect(decisions[0]?.reason).toContain('would propose 1.2');
  });
});
