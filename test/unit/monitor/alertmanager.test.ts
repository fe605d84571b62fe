/**
 * Alertmanager's webhook payload (version 4) and what the monitor makes of it: the parser's reasons for refusing
 * one, which story an alert is about, and the samples a round gets from the alerts heard of.
 */
import { describe, expect, it } from 'vitest';
import type { AlertRoute } from '../../../src/config/monitor-settings.js';
import { AlertBook, storyOfAlert, type AlertBookSettings } from '../../../src/monitor/alert-book.js';
import { parseAlertmanagerPayload, type AlertmanagerAlert, type AlertmanagerNotification } from '../../../src/monitor/alert-payload.js';
import type { StoryWatch } from '../../../src/monitor/observe.js';
import { BUILT_IN_THRESHOLDS } from '../../../src/config/monitor-units.js';

const T0 = Date.parse('2026-12-03T08:00:00.000Z');
const NEVER = '0001-01-01T00:00:00Z';

function alert(labels: Record<string, string>, over: Partial<AlertmanagerAlert> = {}): AlertmanagerAlert {
  return {
    status: 'firing',
    labels: { alertname: 'AnalyticsErrors', ...labels },
    annotations: { summary: 'analytics answers 5xx' },
    startsAt: '2026-12-03T07:59:30.123456789Z',
    endsAt: NEVER,
    generatorURL: 'http://prometheus:9090/graph?g0.expr=up',
    fingerprint: `fp-${JSON.stringify(labels)}`,
    ...over,
  };
}

/** A notification as Alertmanager 0.25 sends it to a webhook receiver. */
function notification(alerts: AlertmanagerAlert[]): AlertmanagerNotification {
  return {
    version: '4',
    groupKey: '{}:{alertname="AnalyticsErrors"}',
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'rollback-monitor',
    groupLabels: { alertname: 'AnalyticsErrors' },
    commonLabels: { alertname: 'AnalyticsErrors' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts,
  };
}

const why = (body: string) => {
  const r = parseAlertmanagerPayload(body);
  return r.ok ? 'accepted' : r.why;
};
const without = (o: object, key: string) => JSON.stringify(Object.fromEntries(Object.entries(o).filter(([k]) => k !== key)));

describe("Alertmanager's webhook payload", () => {
  it('reads a version-4 notification, extra keys (truncatedAlerts) left alone', () => {
    const n = { ...notification([alert({ rollback_story: '1.3' })]), truncatedAlerts: 0 };
    const r = parseAlertmanagerPayload(JSON.stringify(n));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.notification).toEqual(notification([alert({ rollback_story: '1.3' })]));
  });

  it('refuses what is not one, saying what is wrong', () => {
    const good = notification([alert({})]);
    expect(why('{"version": "4",')).toMatch(/^not JSON: /);
    expect(why('[]')).toBe('the payload: must be a JSON object, found []');
    expect(why(JSON.stringify({ ...good, version: '3' }))).toBe('version: must be "4" (Alertmanager\'s webhook payload), found "3"');
    expect(why(JSON.stringify({ ...good, version: 4 }))).toBe('version: must be "4" (Alertmanager\'s webhook payload), found 4');
    expect(why(without(good, 'version'))).toMatch(/^version: missing/);
    expect(why(without(good, 'groupKey'))).toBe('groupKey: missing');
    expect(why(without(good, 'alerts'))).toBe('alerts: missing');
    expect(why(JSON.stringify({ ...good, alerts: {} }))).toBe('alerts: must be a list, found {}');
    expect(why(JSON.stringify({ ...good, status: 'pending' }))).toBe('status: must be "firing" or "resolved", found "pending"');
    expect(why(JSON.stringify({ ...good, commonLabels: { severity: 3 } }))).toBe('commonLabels.severity: must be a string, found 3');
    const [a] = good.alerts as [AlertmanagerAlert];
    expect(why(JSON.stringify({ ...good, alerts: [a, without(a, 'fingerprint')].map((x) => (typeof x === 'string' ? JSON.parse(x) : x)) }))).toBe('alerts[1].fingerprint: missing');
    expect(why(JSON.stringify({ ...good, alerts: [{ ...a, startsAt: 'yesterday' }] }))).toBe('alerts[0].startsAt: must be an RFC 3339 time, found "yesterday"');
    expect(why(JSON.stringify({ ...good, alerts: [{ ...a, labels: null }] }))).toBe('alerts[0].labels: must be a JSON object, found null');
    expect(why(JSON.stringify({ ...good, alerts: [{ ...a, fingerprint: '' }] }))).toBe('alerts[0].fingerprint: must not be empty');
    // The good one is accepted: the refusals above are for what they say, not for something else.
    expect(why(JSON.stringify(good))).toBe('accepted');
  });
});

describe('which story an alert is about', () => {
  const known = new Set(['1.2', '1.3']);
  const routes: AlertRoute[] = [
    { alertname: 'AnalyticsErrors', labels: { severity: 'page' }, story: '1.3' },
    { alertname: 'AnalyticsErrors', labels: {}, story: '1.2' },
    { alertname: 'Gone', labels: {}, story: '7.7' },
  ];

  it('its rollback_story label first, then the first mapping whose alertname and labels it carries', () => {
    expect(storyOfAlert(alert({ rollback_story: '1.2', severity: 'page' }), routes, known)).toEqual({ story: '1.2' });
    expect(storyOfAlert(alert({ severity: 'page' }), routes, known)).toEqual({ story: '1.3' });
    expect(storyOfAlert(alert({ severity: 'ticket' }), routes, known)).toEqual({ story: '1.2' });
  });

  it('none for an alert naming no story, or one that is not a story of the project', () => {
    expect(storyOfAlert(alert({ alertname: 'DiskFull' }), routes, known)).toEqual({ story: null, why: 'no rollback_story label, and no monitor.alerts mapping matches it' });
    expect(storyOfAlert(alert({ rollback_story: '9.9' }), routes, known)).toEqual({ story: null, why: 'rollback_story names "9.9", which is not a story of this project' });
    expect(storyOfAlert(alert({ alertname: 'Gone' }), routes, known).story).toBeNull();
  });
});

describe('the samples of the alerts heard of', () => {
  const settings: AlertBookSettings = { routes: [], known: new Set(['1.2', '1.3']), consecutive: 1, source: 'alertmanager:127.0.0.1:9095' };
  const watch = (id: string, since = T0 - 60_000): StoryWatch => ({ id, thresholds: BUILT_IN_THRESHOLDS, logFiles: [], probes: false, since });

  it('1 while an alert of the story fires, 0 once all are resolved, nothing for a story never heard of', () => {
    const book = new AlertBook();
    expect(book.observe(T0, [watch('1.2'), watch('1.3')], settings)).toEqual([]);
    const a = alert({ rollback_story: '1.3', severity: 'page' });
    const b = alert({ rollback_story: '1.3', instance: 'b' });
    book.receive(notification([a, b]), T0);
    const [obs, ...rest] = book.observe(T0 + 1000, [watch('1.2'), watch('1.3')], settings);
    expect(rest).toEqual([]);
    expect(obs).toMatchObject({ story: '1.3', rule: { kind: 'alert', threshold: 0, consecutive: 1 } });
    expect(obs?.rule.alertOnly).toBeUndefined();
    expect(obs?.samples).toEqual([
      {
        at: T0 + 1000,
        value: 1,
        source: 'alertmanager:127.0.0.1:9095',
        evidence: { alerts: [a, b].map((x) => ({ status: 'firing', labels: x.labels, annotations: x.annotations, startsAt: x.startsAt, fingerprint: x.fingerprint })) },
      },
    ]);
    // One resolved, one still firing: still 1, with the firing one as evidence.
    book.receive(notification([{ ...a, status: 'resolved', endsAt: '2026-12-03T08:00:05Z' }]), T0 + 2000);
    expect(book.observe(T0 + 3000, [watch('1.3')], settings)[0]?.samples[0]).toMatchObject({ value: 1, evidence: { alerts: [{ fingerprint: b.fingerprint }] } });
    book.receive(notification([{ ...b, status: 'resolved', endsAt: '2026-12-03T08:00:06Z' }]), T0 + 4000);
    const resolved = book.observe(T0 + 5000, [watch('1.3')], settings)[0]?.samples[0];
    expect(resolved?.value).toBe(0);
    expect((resolved?.evidence as { alerts: Array<{ endsAt?: string }> }).alerts.map((x) => x.endsAt)).toEqual(['2026-12-03T08:00:05Z', '2026-12-03T08:00:06Z']);
    // A late retry of the firing word about the very occurrence resolved already changes nothing.
    book.receive(notification([a]), T0 + 6000);
    expect(book.observe(T0 + 7000, [watch('1.3')], settings)[0]?.samples[0]?.value).toBe(0);
    // A new occurrence (a new startsAt) fires again.
    book.receive(notification([{ ...a, startsAt: '2026-12-03T08:00:07Z' }]), T0 + 8000);
    expect(book.observe(T0 + 9000, [watch('1.3')], settings)[0]?.samples[0]?.value).toBe(1);
  });

  it('says nothing of a story not watched, nor of alerts from before its current life began', () => {
    const book = new AlertBook();
    book.receive(notification([alert({ rollback_story: '1.3' })]), T0);
    expect(book.observe(T0 + 1000, [watch('1.2')], settings)).toEqual([]);
    // Restored at T0 + 500: the alert heard of before belongs to the story's last life.
    expect(book.observe(T0 + 1000, [watch('1.3', T0 + 500)], settings)).toEqual([]);
    expect(book.observe(T0 + 1000, [watch('1.3', T0)], settings)).toHaveLength(1);
  });

  it('makes an alert about no story a project-level, alert-only sample that says why', () => {
    const book = new AlertBook();
    book.receive(notification([alert({ rollback_story: '9.9' }), alert({ alertname: 'DiskFull' })]), T0);
    const [obs, ...rest] = book.observe(T0 + 1000, [watch('1.2'), watch('1.3')], settings);
    expect(rest).toEqual([]);
    expect(obs).toMatchObject({ story: null, rule: { kind: 'alert', threshold: 0, alertOnly: true, consecutive: 1 } });
    const evidence = obs?.samples[0]?.evidence as { alerts: Array<{ why: string }> };
    expect(obs?.samples[0]?.value).toBe(1);
    expect(evidence.alerts.map((x) => x.why).sort()).toEqual(['no rollback_story label, and no monitor.alerts mapping matches it', 'rollback_story names "9.9", which is not a story of this project']);
  });

  it('maps an alert through monitor.alerts, and forgets a resolved one an hour after', () => {
    const book = new AlertBook();
    const routed = { ...settings, routes: [{ alertname: 'AnalyticsErrors', labels: { severity: 'page' }, story: '1.2' }], consecutive: 2 };
    book.receive(notification([alert({ severity: 'page' }, { status: 'resolved', endsAt: '2026-12-03T08:00:00Z' })]), T0);
    expect(book.observe(T0 + 1000, [watch('1.2')], routed)[0]).toMatchObject({ story: '1.2', rule: { consecutive: 2 }, samples: [{ value: 0 }] });
    expect(book.observe(T0 + 61 * 60_000, [watch('1.2')], routed)).toEqual([]);
    expect(book.size).toEqual({ known: 0, firing: 0 });
  });
});
