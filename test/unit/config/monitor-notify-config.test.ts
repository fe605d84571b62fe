/**
 * `monitor.notify` of config/rollback.yaml, read from real YAML text: its defaults, and each bad value as a
 * located problem (exit 2, line, key path) like the rest of the section.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-problems.js';
import { resolveMonitorSettings } from '../../../src/config/monitor-settings.js';
import { BUILT_IN_THRESHOLDS } from '../../../src/config/monitor-units.js';
import { parseRollbackConfig } from '../../../src/config/rollback-config.js';
import { BUILTIN_STORIES } from '../../../src/stories/index.js';

const FILE = 'config/rollback.yaml';

function notifyOf(lines: string[]) {
  return resolveMonitorSettings(parseRollbackConfig(['monitor:', ...lines].join('\n'), FILE).monitor, BUILTIN_STORIES, BUILT_IN_THRESHOLDS).notify;
}

function problemOf(lines: string[]): string {
  try {
    parseRollbackConfig(['monitor:', ...lines].join('\n'), FILE);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    expect(err.exitCode).toBe(2);
    expect(err.problems).toHaveLength(1);
    const [p] = err.problems;
    return `${p?.line} ${p?.keyPath}: ${p?.message}`;
  }
  throw new Error('expected a ConfigError');
}

describe('monitor.notify', () => {
  it('is none by default; an entry gets severity warning, format json, timeout 5s, retries 3', () => {
    expect(notifyOf([])).toEqual([]);
    expect(notifyOf(['  notify:', '    - url: https://hooks.example/rollbacks', '    - { url: "http://127.0.0.1:9999/x", severity: info, format: slack, timeout: 500ms, retries: 0 }'])).toEqual([
      { url: 'https://hooks.example/rollbacks', severity: 'warning', format: 'json', timeoutMs: 5_000, retries: 3 },
      { url: 'http://127.0.0.1:9999/x', severity: 'info', format: 'slack', timeoutMs: 500, retries: 0 },
    ]);
  });

  it('refuses, at its line and key, what it cannot use', () => {
    expect(problemOf(['  notify:', '    - { url: "ftp://x/y" }'])).toBe('3 monitor.notify[0].url: must be an http:// or https:// URL, found "ftp://x/y"');
    expect(problemOf(['  notify:', '    - url: http://x/y', '      severity: page'])).toBe('4 monitor.notify[0].severity: must be info, warning or critical, found "page"');
    expect(problemOf(['  notify:', '    - { url: http://x/y, format: teams }'])).toBe('3 monitor.notify[0].format: must be json or slack, found "teams"');
    expect(problemOf(['  notify:', '    - { url: http://x/y, timeout: 5 }'])).toMatch(/^3 monitor\.notify\[0\]\.timeout: must be a duration/);
    expect(problemOf(['  notify:', '    - { url: http://x/y, retries: -1 }'])).toBe('3 monitor.notify[0].retries: must be a whole number of at least 0, found -1');
    expect(problemOf(['  notify:', '    - { url: http://x/y, channel: ops }'])).toMatch(/^3 monitor\.notify\[0\]\.channel: is not a known key \(url, severity, format, timeout, retries\)/);
    expect(problemOf(['  notify: { url: http://x/y }'])).toBe('2 monitor.notify: must be a list of { url, severity, format, timeout, retries }, found a mapping');
  });
});
