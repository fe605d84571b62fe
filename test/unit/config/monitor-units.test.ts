import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/model/errors.js';
import { parseDuration, parseFraction, parseRelative, readFraction, readRelative } from '../../../src/config/monitor-units.js';

/** The error a parse throws, so that its class, exit code and key path can be checked. */
function errorOf(fn: () => unknown): InvalidInputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidInputError) return err;
    throw err;
  }
  throw new Error('expected an InvalidInputError, got a value');
}

describe('monitor units', () => {
  it('reads durations with their unit, and a bare number only where the key says milliseconds', () => {
    expect(['500ms', '1s', '1.5s', '5m', '1h', '0s'].map((v) => parseDuration(v, 'k'))).toEqual([500, 1000, 1500, 300_000, 3_600_000, 0]);
    expect(parseDuration(5000, 'monitor.thresholds.latencyMs', { plainMs: true })).toBe(5000);
    for (const bad of [5, '5', '5 sec', '-1s', '', null, '1d']) {
      const e = errorOf(() => parseDuration(bad, 'monitor.interval'));
      expect(e.keyPath).toBe('monitor.interval');
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain('monitor.interval');
    }
    expect(errorOf(() => parseDuration(-1, 'monitor.thresholds.latencyMs', { plainMs: true })).keyPath).toBe('monitor.thresholds.latencyMs');
  });

  it('reads fractions as 0..1 or a percentage, and refuses 10 as ambiguous', () => {
    expect([parseFraction(0.1, 'k'), parseFraction('10%', 'k'), parseFraction('0.05', 'k'), parseFraction(1, 'k'), parseFraction('100%', 'k')]).toEqual([0.1, 0.1, 0.05, 1, 1]);
    for (const bad of [10, 90, '10', '150%', -0.1, 'ten', '10 %%', true]) {
      expect(errorOf(() => parseFraction(bad, 'monitor.stories.1.2.thresholds.errorRate')).keyPath).toBe('monitor.stories.1.2.thresholds.errorRate');
    }
  });

  it('reads baseline changes with the sign their rule needs', () => {
    expect(parseRelative('+10%', 'k', 'up')).toBeCloseTo(0.1);
    expect(parseRelative('-25%', 'k', 'down')).toBeCloseTo(-0.25);
    for (const [bad, dir] of [['10%', 'up'], ['-10%', 'up'], ['+10%', 'down'], [0.1, 'up'], ['+10', 'up']] as const) {
      expect(errorOf(() => parseRelative(bad, 'monitor.thresholds.baseline.x', dir)).keyPath).toBe('monitor.thresholds.baseline.x');
    }
  });

  it('says why an ambiguous fraction or an unsigned change is refused', () => {
    expect(readFraction(10)).toEqual({ ok: false, expected: expect.stringContaining('fraction') as unknown, why: 'a number above 1 is ambiguous: write 0.1 or "10%" for 10 %' });
    expect(readRelative('10%', 'up')).toMatchObject({ ok: false, why: expect.stringContaining('"+10%"') as unknown });
    expect(readRelative('-10%', 'up')).toMatchObject({ ok: false, why: expect.stringContaining('improvement') as unknown });
  });
});
