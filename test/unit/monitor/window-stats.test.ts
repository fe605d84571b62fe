import { describe, expect, it } from 'vitest';
import type { LogEvent, LogEventKind } from '../../../src/monitor/pack-events.js';
import { percentile, windowStats } from '../../../src/monitor/window-stats.js';

const ev = (kind: LogEventKind, time: number, story: string | null, valueMs?: number): LogEvent => ({
  kind,
  time,
  story,
  source: { file: 'logs/security.log', start: time, end: time + 1 },
  ...(valueMs === undefined ? {} : { valueMs }),
});

describe('window stats', () => {
  it('p95 is the nearest-rank value of a known set', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100, shuffled order
    expect(percentile(values, 0.95)).toBe(95);
    expect(percentile([5, 1, 3], 0.95)).toBe(5);
    expect(percentile(Array.from({ length: 20 }, (_, i) => i + 1), 0.95)).toBe(19);
    // Ten values: an interpolating p95 would say 95.5 and a floor rank 90; the nearest rank is an observed 100.
    expect(percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.95)).toBe(100);
    expect(percentile([], 0.95)).toBeNull();
  });

  it('per story: requests, errors, error rate, latency and throughput over [from, to)', () => {
    const events = [
      ...Array.from({ length: 20 }, (_, i) => ev('request', 1000 + i, '1.2')),
      ev('server-error', 1500, '1.2'),
      ev('server-error', 1600, '1.2'),
      ev('client-error', 1700, '1.2'),
      ev('request', 999, '1.2'), // before the window
      ev('server-error', 11_000, '1.2'), // at `to`: outside
      ...[100, 300, 200].map((ms, i) => ev('latency', 2000 + i, '1.3', ms)),
      ev('server-error', 3000, null),
      ev('python-error', 3000, null),
      { ...ev('excluded', 3000, null), excluded: 'health' },
      { ...ev('excluded', 3001, null), excluded: 'health' },
    ];
    const w = windowStats(events, { from: 1000, to: 11_000, minRequests: 20, stories: ['1.5'] });
    const s = w.stories['1.2'];
    expect(s).toMatchObject({ requests: 20, serverErrors: 2, clientErrors: 1, errorRate: 0.1, throughput: 2 });
    expect(s?.errorRateReason).toBeUndefined();
    expect(w.stories['1.3']?.latency).toEqual({ count: 3, p95: 300, max: 300 });
    expect(w.stories['1.5']).toMatchObject({ requests: 0, errorRate: null, latency: { count: 0, p95: null, max: null } });
    expect(w.unattributed).toMatchObject({ serverErrors: 1, pythonErrors: 1, requests: 0, excluded: { health: 2 } });
  });

  it('below minRequests the error rate is null, with the reason', () => {
    const events = [...Array.from({ length: 19 }, (_, i) => ev('request', i, '1.2')), ev('server-error', 5, '1.2')];
    const s = windowStats(events, { from: 0, to: 60_000, minRequests: 20 }).stories['1.2'];
    expect(s?.errorRate).toBeNull();
    expect(s?.errorRateReason).toBe('too few requests (19 < minRequests 20)');
    const none = windowStats([], { from: 0, to: 60_000, minRequests: 0, stories: ['1.2'] }).stories['1.2'];
    expect(none?.errorRate).toBeNull();
  });
});
