/** Approval mode's keys of `monitor:` (action: propose, mitigate, proposalTtl), read from real YAML text. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-problems.js';
import { resolveMonitorSettings } from '../../../src/config/monitor-settings.js';
import { BUILT_IN_THRESHOLDS } from '../../../src/config/monitor-units.js';
import { parseRollbackConfig } from '../../../src/config/rollback-config.js';
import { BUILTIN_STORIES } from '../../../src/stories/index.js';

const settingsOf = (lines: string[]) => resolveMonitorSettings(parseRollbackConfig(lines.join('\n'), 'config/rollback.yaml').monitor, BUILTIN_STORIES, BUILT_IN_THRESHOLDS);

describe('monitor: approval mode', () => {
  it('defaults to proposals open 30 minutes, without mitigation', () => {
    expect(settingsOf(['monitor:', '  action: propose'])).toMatchObject({ action: 'propose', proposals: { ttlMs: 30 * 60_000, mitigate: false } });
  });

  it('reads mitigate and proposalTtl', () => {
    expect(settingsOf(['monitor:', '  action: propose', '  mitigate: true', '  proposalTtl: 2h']).proposals).toEqual({ ttlMs: 2 * 3_600_000, mitigate: true });
  });

  it('refuses a proposalTtl without a unit, or of zero, at its line', () => {
    for (const ttl of ['30', '0s']) {
      try {
        parseRollbackConfig(['monitor:', `  proposalTtl: ${ttl}`].join('\n'), 'config/rollback.yaml');
        expect.unreachable(`proposalTtl: ${ttl} was accepted`);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).problems[0]).toMatchObject({ line: 2, keyPath: 'monitor.proposalTtl' });
      }
    }
  });
});
