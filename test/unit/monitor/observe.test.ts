import { describe, expect, it } from 'vitest';
import { BUILT_IN_THRESHOLDS } from '../../../src/config/monitor-units.js';
import { observeRound, type RoundInput, type StoryWatch } from '../../../src/monitor/observe.js';
import type { LogEvent } from '../../../src/monitor/pack-events.js';
import type { Observation } from '../../../src/monitor/decide.js';

const T0 = Date.parse('2026-12-03T10:00:00Z');
const story: StoryWatch = { id: '1.2', thresholds: { ...BUILT_IN_THRESHOLDS }, logFiles: ['logs/security.log'], probes: true, since: T0 - 120_000 };

function ev(kind: LogEvent['kind'], time: number, extra: Partial<LogEvent> = {}): LogEvent {
  return { kind, time, story: '1.2', source: { file: 'logs/security.log', start: time - T0, end: time - T0 + 10 }, ...extra };
}

function input(over: Partial<RoundInput>): RoundInput {
  return {
    now: T0,
    windowMs: 60_000,
    minRequests: 20,
    minLatencySamples: 10,
    project: { ...BUILT_IN_THRESHOLDS },
    stories: [story],
    events: [],
    logErrors: {},
    logMissing: {},
    probes: {},
    probeLatencies: {},
    answered: {},
    memory: null,
    baselines: {},
    watchingSince: T0 - 120_000,
    ...over,
  };
}

function sampleOf(obs: Observation[], storyId: string | null, rule: string) {
  return obs.find((o) => o.story === storyId && o.rule.kind === rule)?.samples[0];
}

describe('observeRound', () => {
  it('measures the error rate of the window and points at the lines it came from', () => {
    const events = [...Array.from({ length: 30 }, (_, i) => ev('request', T0 - 50_000 + i * 1000)), ...Array.from({ length: 6 }, (_, i) => ev('server-error', T0 - 10_000 + i))];
    const { observations } = observeRound(input({ events }));
    const s = sampleOf(observations, '1.2', 'errorRate');
    expect(s?.value).toBeCloseTo(6 / 30);
    expect(s?.evidence).toMatchObject({ requests: 30, serverErrors: 6, lines: [{ file: 'logs/security.log' }] });
  });

  it('says no data, with why, for too few requests, a probe never answered and no baseline', () => {
    const { observations } = observeRound(
      input({ events: [ev('request', T0 - 1000)], probes: { '1.2': [{ url: 'http://x/health', at: T0, ok: false, latencyMs: null, failure: 'refused' }] } }),
    );
    expect(sampleOf(observations, '1.2', 'errorRate')).toMatchObject({ value: null, why: expect.stringContaining('too few requests (1 < minRequests 20)') });
    expect(sampleOf(observations, '1.2', 'probeFailure')).toMatchObject({ value: null, why: expect.stringContaining('never answered') });
    expect(sampleOf(observations, '1.2', 'latencyBaseline')?.value).toBeNull();
  });

  it('a failed probe after the service has answered is a measured failure', () => {
    const { observations } = observeRound(
      input({ answered: { '1.2': true }, probes: { '1.2': [{ url: 'http://x/health', at: T0, ok: false, latencyMs: null, failure: 'timeout' }] } }),
    );
    expect(sampleOf(observations, '1.2', 'probeFailure')?.value).toBe(1);
  });

  it('events from before the story came back (restored) do not count', () => {
    const events = Array.from({ length: 40 }, (_, i) => ev('server-error', T0 - 30_000 + i));
    const { observations } = observeRound(input({ events, stories: [{ ...story, since: T0 - 5_000 }] }));
    expect(sampleOf(observations, '1.2', 'errorRate')?.evidence).toBeUndefined();
  });

  it('compares the window with the baseline only when both have enough to say', () => {
    const events = Array.from({ length: 30 }, (_, i) => ev('latency', T0 - 30_000 + i * 100, { valueMs: 100 + i }));
    const baselines = { '1.2': { at: T0 - 60_000, latencyP95: 80, throughput: null } };
    const { observations, candidates } = observeRound(input({ events, baselines }));
    expect(sampleOf(observations, '1.2', 'latencyBaseline')).toMatchObject({ value: 128, baseline: 80 });
    expect(candidates['1.2']?.latencyP95).toBe(128);
  });

  it("an unreadable log is a source error of the story's log rules, not no data", () => {
    const { observations } = observeRound(input({ logErrors: { 'logs/security.log': 'EACCES' } }));
    expect(sampleOf(observations, '1.2', 'errorRate')).toMatchObject({ value: null, sourceError: 'EACCES' });
  });
});
