import { describe, expect, it } from 'vitest';
import { DEFAULT_LOG_MATCHES, lineClassifier, PINO_FIELDS } from '../../../src/monitor/pack-events.js';

const REF = { file: 'logs/security.log', start: 0, end: 1 };

/** A deterministic spread of numbers, so a failure can be replayed. */
function draws(seed: number): (k: number) => number {
  let a = seed;
  return (k) => {
    a = (Math.imul(a, 1_103_515_245) + 12_345) >>> 0;
    return Math.floor((a / 2 ** 32) * k);
  };
}

const p2 = (n: number) => String(n).padStart(2, '0');

describe('event time', () => {
  it('is what Date.parse says, for every timestamp in order and out of it, valid or not', () => {
    const pack = lineClassifier('logs/security.log', { kind: 'pack' }, DEFAULT_LOG_MATCHES);
    const r = draws(7);
    const stamps: string[] = [];
    // Lines in time order, across minute, hour, day and year boundaries, as a log has them.
    for (let t = Date.parse('2026-12-31T23:58:59.000Z'), i = 0; i < 20_000; i++, t += r(40)) stamps.push(new Date(t).toISOString());
    // And anything shaped like one: months, days, hours, minutes and seconds out of range, leap days.
    const years = ['0000', '1969', '1970', '2024', '2026', '9999', '0001'];
    for (let i = 0; i < 20_000; i++) {
      stamps.push(`${years[r(years.length)]}-${p2(r(14))}-${p2(r(33))}T${p2(r(26))}:${p2(r(62))}:${p2(r(62))}.${String(r(1000)).padStart(3, '0')}Z`);
    }
    stamps.push('2026-12-03T24:00:00.000Z', '2026-12-03T24:00:05.000Z', '2024-02-29T23:59:59.999Z', '2026-02-29T00:00:01.000Z');
    stamps.push('2026-12-03T00:00:60.000Z', '2026-12-03T00:00:00.000z', '2026-12-03 00:00:00.000Z', '2026-12-03T00:00:00Z', '2026-12-03');
    let checked = 0;
    for (const timestamp of stamps) {
      const want = Date.parse(timestamp);
      const events = pack({ timestamp, event: 'api_error' }, REF);
      if (Number.isFinite(want)) {
        expect(events.map((e) => e.time), timestamp).toEqual([want]);
        checked++;
      } else {
        expect(events, timestamp).toEqual([]);
      }
    }
    expect(checked).toBeGreaterThan(20_000);
  });

  it('a numeric time is taken as it is, in a generic format', () => {
    const pino = lineClassifier('app.log', { kind: 'generic', fields: PINO_FIELDS }, []);
    expect(pino({ time: 1_796_000_000_123, res: { statusCode: 200 } }, REF).map((e) => e.time)).toEqual([1_796_000_000_123]);
    expect(pino({ time: Number.NaN, res: { statusCode: 200 } }, REF)).toEqual([]);
  });

  it('an event carries only the fields its kind has', () => {
    const pack = lineClassifier('logs/security.log', { kind: 'pack' }, DEFAULT_LOG_MATCHES);
    const T = '2026-12-03T02:18:23.014Z';
    const keys = (v: Record<string, unknown>) => pack(v, REF).map((e) => Object.keys(e).join(','));
    expect(keys({ timestamp: T, event: 'api_request', url: '/api/v1/analytics' })).toEqual(['kind,time,story,source']);
    expect(keys({ timestamp: T, event: 'api_request', url: '/health' })).toEqual(['kind,excluded,time,story,source']);
    expect(keys({ timestamp: T, event: 'analytics_query', execution_time: 5 })).toEqual(['kind,valueMs,time,story,source']);
  });
});
