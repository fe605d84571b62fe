/**
 * The monitor with a real Alertmanager (#14 points 2 and 3): an alert posted to Alertmanager's API reaches the
 * monitor's listener through Alertmanager's own webhook notifier (with a bearer token), and the story is rolled
 * back after one round, with the alert's labels and startsAt in the report; a bad payload sent straight at the
 * listener gets 400 and acts on nothing; /metrics tells it all in Prometheus' text format.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResultPromise } from 'execa';
import { alive, cli } from './cli-helpers.js';
import { decisions, monitorProject, probeHealthy, reports, waitFor, type MonitorProject, flagOn } from './monitor-helpers.js';
import { alertmanagerBinary, metricValue, startAlertmanager, startListeningMonitor, type Alertmanager } from './alertmanager-helpers.js';

const TOKEN = 'e2e-monitor-token';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function killOnCleanup(p: ResultPromise): void {
  cleanups.push(async () => {
    if (p.pid !== undefined && alive(p.pid)) p.kill('SIGKILL');
    await p;
  });
}

describe('the monitor and a real Alertmanager', () => {
  it('rolls the story an alert names back after one round; a bad payload gets 400 and acts on nothing; /metrics counts it all', async () => {
    // First, so that a machine without Alertmanager fails here, saying how to install it.
    await alertmanagerBinary();
    const p: MonitorProject = await monitorProject();
    cleanups.push(() => p.cleanup());
    const dir = mkdtempSync(path.join(tmpdir(), 'rm-alertmanager-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));

    const monitor = await startListeningMonitor(p.root, ['--listen', '127.0.0.1:0', '--interval', '300ms'], { ROLLBACK_MONITOR_TOKEN: TOKEN });
    killOnCleanup(monitor.process);
    const am: Alertmanager = await startAlertmanager(dir, `${monitor.url}/alertmanager`, TOKEN);
    cleanups.push(() => am.stop());
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const metrics = async () => (await fetch(`${monitor.url}/metrics`, { headers: auth })).text();
    const rounds = async () => metricValue(await metrics(), 'rollback_monitor_evaluations_total') ?? 0;
    await waitFor(() => probeHealthy(p.root), 20_000, 'a healthy probe');

    // A payload that is not Alertmanager's (version 3), naming the story: 400, recorded, and three rounds later nothing done.
    const bad = { version: '3', status: 'firing', alerts: [{ status: 'firing', labels: { rollback_story: '9.1' } }] };
    const r = await fetch(`${monitor.url}/alertmanager`, { method: 'POST', headers: auth, body: JSON.stringify(bad) });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain('version: must be "4"');
    const after = (await rounds()) + 3;
    await waitFor(async () => ((await rounds()) >= after ? true : undefined), 10_000, 'three more rounds');
    expect(decisions(p.root).filter((d) => d.rule === 'alert')).toEqual([]);
    expect(decisions(p.root).find((d) => (d as { type?: string }).type === 'rejected')).toMatchObject({ reason: 'bad-payload' });
    expect(reports(p.root)).toEqual([]);
    expect(flagOn(p.root)).toBe(true);
    // Without the token, even a good payload is refused.
    expect((await fetch(`${monitor.url}/alertmanager`, { method: 'POST', body: '{}' })).status).toBe(401);

    // Prometheus' way: the alert to Alertmanager, which notifies the listener.
    const startsAt = new Date(Date.now() - 30_000).toISOString();
    const labels = { alertname: 'FlakyServiceErrors', rollback_story: '9.1', severity: 'page' };
    const posted = await fetch(`${am.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify([{ labels, annotations: { summary: 'flaky service answers 5xx' }, startsAt, generatorURL: 'http://prometheus.test/graph' }]),
    });
    expect(posted.status).toBe(200);
    const [report] = await waitFor(() => (reports(p.root).length > 0 ? reports(p.root) : undefined), 30_000, 'the automatic rollback');

    const rep = report as unknown as {
      runId: string;
      status: string;
      why: { trigger: string };
      monitor: { rule: string; samples: Array<{ value: number; evidence: { alerts: Array<{ labels: Record<string, string>; startsAt: string; annotations: Record<string, string>; fingerprint: string }> } }> };
    };
    expect(rep.why.trigger).toBe('monitor');
    expect(rep.status).toBe('rolled-back');
    expect(rep.monitor.rule).toBe('alert');
    // One round: one firing sample was enough (monitor.alertConsecutive defaults to 1; consecutive is 3).
    expect(rep.monitor.samples).toHaveLength(1);
    const [sample] = rep.monitor.samples;
    expect(sample?.value).toBe(1);
    expect(sample?.evidence.alerts).toHaveLength(1);
    const [a] = sample?.evidence.alerts ?? [];
    expect(a?.labels).toEqual(labels);
    expect(a?.annotations).toEqual({ summary: 'flaky service answers 5xx' });
    expect(Date.parse(a?.startsAt ?? '')).toBe(Date.parse(startsAt));
    expect(a?.fingerprint).toMatch(/^[0-9a-f]+$/);
    const md = readFileSync(path.join(p.root, 'rollback_reports', `${rep.runId}.md`), 'utf8');
    expect(md).toContain('- **Rule:** alert firing');
    // In the samples table (Markdown: `_` is escaped), the alert in words.
    expect(md).toMatch(/firing since (\S+); labels alertname=FlakyServiceErrors, rollback\\_story=9\.1, severity=page; annotations summary="flaky service answers 5xx"; fingerprint [0-9a-f]+/);
    expect(Date.parse(/firing since (\S+);/.exec(md)?.[1] ?? '')).toBe(Date.parse(startsAt));
    expect(flagOn(p.root)).toBe(false);
    await waitFor(() => !alive(p.service.pid as number), 5_000, 'the service to be gone');

    // The counters moved, in Prometheus' text format.
    const text = await waitFor(async () => {
      const t = await metrics();
      return metricValue(t, 'rollback_monitor_automatic_rollbacks_total{story="9.1",mode="rollback"}') === 1 ? t : undefined;
    }, 10_000, 'the rollback in /metrics');
    expect(metricValue(text, 'rollback_monitor_decisions_total{outcome="acted",rule="alert"}')).toBe(1);
    expect(metricValue(text, 'rollback_monitor_alerts_received_total{status="firing"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'rollback_monitor_alert_notifications_rejected_total{reason="bad-payload"}')).toBe(1);
    expect(metricValue(text, 'rollback_monitor_alert_notifications_rejected_total{reason="unauthorized"}')).toBe(1);
    expect(metricValue(text, 'rollback_monitor_evaluations_total')).toBeGreaterThan(after);
    expect(metricValue(text, 'rollback_monitor_last_evaluation_timestamp_seconds')).toBeGreaterThan(Date.parse(startsAt) / 1000);
    expect(text).toContain('# TYPE rollback_monitor_story_rule_state gauge');

    monitor.process.kill('SIGTERM');
    const m = await monitor.process;
    expect(m.exitCode, monitor.stderr()).toBe(0);
  }, 90_000);
});

describe('monitor --listen refuses to start', () => {
  it('on a non-loopback address without ROLLBACK_MONITOR_TOKEN, and with --once (exit 2, nothing listening)', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'rm-listen-'));
    cleanups.push(async () => rmSync(root, { recursive: true, force: true }));
    const open = await cli(root, ['monitor', '--listen', '0.0.0.0:0'], { ROLLBACK_MONITOR_TOKEN: '' });
    expect(open.code).toBe(2);
    expect(open.stderr).toContain('not a loopback address, so a bearer token is required: set ROLLBACK_MONITOR_TOKEN');
    const once = await cli(root, ['monitor', '--once', '--listen', '127.0.0.1:0']);
    expect(once.code).toBe(2);
    expect(once.stderr).toContain('--listen needs a watch');
    const bad = await cli(root, ['monitor', '--listen', 'localhost:99999']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('the port must be 0 to 65535');
  });
});
