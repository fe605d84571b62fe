/**
 * The Why section of a run an Alertmanager alert started: the alert's labels, annotations and startsAt in words,
 * not as a JSON blob; other rules' evidence is left as it was.
 */
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../src/monitor/decision-log.js';
import { renderMonitorWhy } from '../../../src/report/monitor-why.js';

const at = '2026-12-03T08:00:00.000Z';

function decision(rule: Decision['rule'], evidence: unknown): Decision {
  return {
    id: '20261203T080000.000Z-000001',
    at,
    story: '1.3',
    rule,
    threshold: 0,
    comparator: rule === 'alert' ? 'firing' : '>',
    windowMs: 60_000,
    samples: [{ at, value: 1, source: 'alertmanager:127.0.0.1:9095', evidence }],
    excluded: {},
    verdict: 'breached',
    outcome: 'acted',
    action: 'rollback',
    reason: 'alert firing in 1 samples in a row (firing): rollback 1.3',
  };
}

const alerts = {
  alerts: [
    { status: 'firing', labels: { alertname: 'AnalyticsDown', rollback_story: '1.3' }, annotations: { summary: 'no | answers' }, startsAt: '2026-12-03T07:59:00Z', fingerprint: 'ab12' },
    { status: 'resolved', labels: { alertname: 'AnalyticsSlow' }, annotations: {}, startsAt: '2026-12-03T07:58:00Z', endsAt: '2026-12-03T07:59:30Z', fingerprint: 'cd34' },
  ],
  more: 3,
};

describe("the report's Why section for an alert", () => {
  it('shows each alert in words: status and startsAt, labels, annotations, fingerprint', () => {
    const md = renderMonitorWhy(decision('alert', alerts)).join('\n');
    expect(md).toContain('- **Rule:** alert firing\n');
    const row = md.split('\n').find((l) => l.startsWith(`| ${at} |`)) ?? '';
    expect(row).toContain('| firing |');
    expect(row).toContain(
      'firing since 2026-12-03T07:59:00Z; labels alertname=AnalyticsDown, rollback\\_story=1.3; annotations summary="no \\| answers"; fingerprint ab12 / ' +
        'resolved at 2026-12-03T07:59:30Z (since 2026-12-03T07:58:00Z); labels alertname=AnalyticsSlow; fingerprint cd34 / and 3 more',
    );
    // The table keeps its five cells: the `|` inside an annotation is escaped.
    expect(row.split(/(?<!\\)\|/)).toHaveLength(7);
  });

  it("leaves another rule's evidence as JSON, even one with an alerts key", () => {
    const md = renderMonitorWhy(decision('errorRate', { alerts: [] })).join('\n');
    expect(md).toContain('{"alerts":\\[\\]}');
  });
});
