/**
 * The listener of `monitor --listen` on a real socket (127.0.0.1, any free port), spoken to with fetch: the
 * token check, bad payloads (400, recorded, acted on by nothing), the samples of good ones, and /metrics.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MonitorListener, isLoopbackHost, parseListenAddress } from '../../../src/app/monitor-listener.js';
import type { RoundReport } from '../../../src/app/monitor-session.js';
import { resolveMonitorSettings } from '../../../src/config/monitor-settings.js';
import { BUILT_IN_THRESHOLDS } from '../../../src/config/monitor-units.js';
import { InvalidInputError } from '../../../src/model/errors.js';
import type { StoryWatch } from '../../../src/monitor/observe.js';

const settings = resolveMonitorSettings(undefined, [{ id: '1.3' }], BUILT_IN_THRESHOLDS);
const watched: StoryWatch[] = [{ id: '1.3', thresholds: BUILT_IN_THRESHOLDS, logFiles: [], probes: false, since: 0 }];
const TOKEN = 's3cret-token';

const open: MonitorListener[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const l of open.splice(0)) await l.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function listener(token?: string, s = settings): Promise<{ l: MonitorListener; url: string; root: string }> {
  const root = mkdtempSync(path.join(tmpdir(), 'rm-listener-'));
  dirs.push(root);
  const l = new MonitorListener({ address: { host: '127.0.0.1', port: 0 }, token });
  open.push(l);
  const url = await l.start(root, s);
  return { l, url, root };
}

function payload(story: string, status: 'firing' | 'resolved' = 'firing'): string {
  const alert = {
    status,
    labels: { alertname: 'AnalyticsErrors', rollback_story: story },
    annotations: { summary: 'errors' },
    startsAt: '2026-12-03T07:59:30Z',
    endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-12-03T08:01:00Z',
    generatorURL: '',
    fingerprint: `fp${story}`,
  };
  return JSON.stringify({ version: '4', groupKey: 'g', status, receiver: 'r', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am', alerts: [alert] });
}

const post = (url: string, body: string, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...headers } });
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

/** One sample line of the exposition text: `name{labels} value`. */
function metric(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('--listen addresses', () => {
  it('reads a bare port as loopback, and host:port in its forms', () => {
    expect(parseListenAddress('9095')).toEqual({ host: '127.0.0.1', port: 9095 });
    expect(parseListenAddress('0.0.0.0:9095')).toEqual({ host: '0.0.0.0', port: 9095 });
    expect(parseListenAddress('[::1]:9095')).toEqual({ host: '::1', port: 9095 });
    expect(parseListenAddress(':9095')).toEqual({ host: '::', port: 9095 });
    expect(parseListenAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    for (const bad of ['', 'x', '127.0.0.1:', '127.0.0.1:70000', 'a b:1', '[nope]:1']) expect(() => parseListenAddress(bad)).toThrow(InvalidInputError);
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', 'example.org'].some(isLoopbackHost)).toBe(false);
  });

  it('refuses to start on a non-loopback address without a token (exit 2), and not with one', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3']) {
      const err = (() => {
        try {
          new MonitorListener({ address: { host, port: 9095 } });
          return null;
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).exitCode).toBe(2);
      expect((err as Error).message).toContain('ROLLBACK_MONITOR_TOKEN');
      expect(() => new MonitorListener({ address: { host, port: 9095 }, token: '' })).toThrow(InvalidInputError);
      expect(() => new MonitorListener({ address: { host, port: 9095 }, token: TOKEN })).not.toThrow();
    }
  });
});

describe('the listener', () => {
  it('with a token, answers 401 to a request without it or with another, and takes the one that has it', async () => {
    const { l, url } = await listener(TOKEN);
    for (const headers of [{}, bearer('s3cret-tokeN'), bearer(`${TOKEN}x`), { Authorization: `Basic ${TOKEN}` }, bearer('')]) {
      const r = await post(`${url}/alertmanager`, payload('1.3'), headers);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect(await l.source.observe(1, watched)).toEqual([]);
    const ok = await post(`${url}/alertmanager`, payload('1.3'), bearer(TOKEN));
    expect(ok.status).toBe(200);
    expect((await l.source.observe(1, watched)).map((o) => [o.story, o.samples[0]?.value])).toEqual([['1.3', 1]]);
    const m = await fetch(`${url}/metrics`, { headers: bearer(TOKEN) });
    expect(m.status).toBe(200);
    const text = await m.text();
    expect(metric(text, 'rollback_monitor_alert_notifications_rejected_total{reason="unauthorized"}')).toBe(5);
    expect(metric(text, 'rollback_monitor_alerts_received_total{status="firing"}')).toBe(1);
  });

  it('answers 400 to a bad payload with the reason, records it in logs/monitor.jsonl, and makes no sample of it', async () => {
    const { l, url, root } = await listener();
    const bad = JSON.stringify({ ...JSON.parse(payload('1.3')), version: '3' });
    const r = await post(`${url}/`, bad);
    expect(r.status).toBe(400);
    expect(await r.text()).toContain('version: must be "4"');
    expect((await post(`${url}/alertmanager`, '{"version":')).status).toBe(400);
    const lines = readFileSync(path.join(root, 'logs', 'monitor.jsonl'), 'utf8').trim().split('\n').map((x) => JSON.parse(x) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ type: 'rejected', reason: 'bad-payload', path: '/', remote: '127.0.0.1', source: l.source.name });
    expect(lines[0]?.why).toMatch(/^version: must be "4"/);
    expect(lines[1]?.why).toMatch(/^not JSON/);
    expect(await l.source.observe(1, watched)).toEqual([]);
    // A good one on `/` is taken: the refusals were for the payloads.
    expect((await post(`${url}/`, payload('1.3'))).status).toBe(200);
    expect(await l.source.observe(1, watched)).toHaveLength(1);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(metric(text, 'rollback_monitor_alert_notifications_rejected_total{reason="bad-payload"}')).toBe(2);
  });

  it('answers 404, 405 and 413 where it should', async () => {
    const { url, root } = await listener();
    expect((await fetch(`${url}/api/v2/alerts`)).status).toBe(404);
    const get = await fetch(`${url}/alertmanager`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await post(`${url}/metrics`, '')).status).toBe(405);
    expect((await post(`${url}/alertmanager`, 'x'.repeat(1024 * 1024 + 1))).status).toBe(413);
    expect(existsSync(path.join(root, 'logs', 'monitor.jsonl'))).toBe(true);
  });

  it("serves the monitor's metrics, updated from each round's report", async () => {
    const { l, url } = await listener();
    const round: RoundReport = {
      at: '2026-12-03T08:00:00.000Z',
      dryRun: false,
      stories: {
        '1.3': { watched: true, since: '2026-12-03T07:00:00.000Z', rules: { alert: { verdict: 'breached', value: 1 }, probeFailure: { verdict: 'no-data', value: null }, errorRate: { verdict: 'source-error', value: null } } },
        '1.2': { watched: false, since: null, rules: {} },
      },
      decisions: [{ id: 'd1', at: '2026-12-03T08:00:00.000Z', story: '1.3', rule: 'alert', threshold: 0, comparator: 'firing', windowMs: 60_000, samples: [], excluded: {}, verdict: 'breached', outcome: 'acted', action: 'rollback', reason: 'r' }],
      acted: [{ story: '1.3', mode: 'rollback', status: 'rolled-back', exitCode: 0, runId: 'r1' }],
      notes: [],
      sourceErrors: [{ source: 'log:logs/security.log', error: 'EACCES' }],
    };
    l.observeRound(round);
    l.observeRound({ ...round, at: '2026-12-03T08:00:05.000Z', decisions: [], acted: [], stories: { '1.3': { watched: true, since: null, rules: { alert: { verdict: 'healthy', value: 0 } } } } });
    const r = await fetch(`${url}/metrics`);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    expect(metric(text, 'rollback_monitor_evaluations_total')).toBe(2);
    expect(metric(text, 'rollback_monitor_decisions_total{outcome="acted",rule="alert"}')).toBe(1);
    expect(metric(text, 'rollback_monitor_automatic_rollbacks_total{story="1.3",mode="rollback"}')).toBe(1);
    expect(metric(text, 'rollback_monitor_source_errors_total{source="log:logs/security.log"}')).toBe(2);
    expect(metric(text, 'rollback_monitor_last_evaluation_timestamp_seconds')).toBe(Date.parse('2026-12-03T08:00:05.000Z') / 1000);
    // The state now: only what the last round said (the rules 1.3 no longer has are gone).
    expect(metric(text, 'rollback_monitor_story_rule_state{story="1.3",rule="alert"}')).toBe(0);
    expect(metric(text, 'rollback_monitor_story_rule_state{story="1.3",rule="probeFailure"}')).toBeUndefined();
    expect(text).toContain('# HELP rollback_monitor_story_rule_state Each watched story\'s last verdict per rule: 1 breached, 0 healthy, -1 no data, -2 source error.');
  });

  it('under a flood of other alerts keeps at most 10 000, the resolved ones heard of longest ago going first: a firing alert is not pushed out by them', async () => {
    const { l, url } = await listener(undefined, resolveMonitorSettings(undefined, [{ id: '1.2' }, { id: '1.3' }], BUILT_IN_THRESHOLDS));
    const both: StoryWatch[] = [...watched, { id: '1.2', thresholds: BUILT_IN_THRESHOLDS, logFiles: [], probes: false, since: 0 }];
    // 1.3's alert fires, and Alertmanager will not say so again for hours (repeat_interval).
    expect((await post(`${url}/alertmanager`, payload('1.3'))).status).toBe(200);
    // Then 10 000 alerts about 1.2, all resolved, 1 000 a notification: one more than the book keeps.
    const group = (from: number, status: 'firing' | 'resolved') => {
      const alerts = Array.from({ length: 1000 }, (_, i) => ({
        status,
        labels: { alertname: 'PodCrashLooping', rollback_story: '1.2', pod: `ingest-${from + i}` },
        annotations: {},
        startsAt: '2026-12-03T07:59:30Z',
        endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-12-03T08:01:00Z',
        generatorURL: '',
        fingerprint: `pod${from + i}`,
      }));
      return JSON.stringify({ version: '4', groupKey: 'g', status, receiver: 'r', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am', alerts });
    };
    for (let n = 0; n < 10_000; n += 1000) expect((await post(`${url}/alertmanager`, group(n, 'resolved'))).status).toBe(200);
    const byStory = async () => new Map((await l.source.observe(Date.now(), both)).map((o) => [o.story, o.samples[0]]));
    let samples = await byStory();
    expect(samples.get('1.3')?.value).toBe(1);
    // 1.2: its resolved ones, the one heard of longest ago dropped (10 shown, the rest counted).
    expect(samples.get('1.2')?.value).toBe(0);
    expect((samples.get('1.2')?.evidence as { more?: number }).more).toBe(9999 - 10);
    // 10 000 firing ones about 1.2: each pushes out a resolved one while there are any, then the oldest firing.
    for (let n = 10_000; n < 20_000; n += 1000) expect((await post(`${url}/alertmanager`, group(n, 'firing'))).status).toBe(200);
    samples = await byStory();
    expect(samples.has('1.3')).toBe(false);
    expect(samples.get('1.2')?.value).toBe(1);
    expect((samples.get('1.2')?.evidence as { more?: number }).more).toBe(10_000 - 10);
  });

  it('forgets a resolved alert an hour after its last notification', async () => {
    const { l, url } = await listener();
    expect((await post(`${url}/alertmanager`, payload('1.3', 'resolved'))).status).toBe(200);
    expect((await l.source.observe(Date.now(), watched)).map((o) => o.samples[0]?.value)).toEqual([0]);
    expect(await l.source.observe(Date.now() + 61 * 60_000, watched)).toEqual([]);
  });

  it('stops listening when its source is closed (as the session does)', async () => {
    const { l, url } = await listener();
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    await l.source.close?.();
    await expect(fetch(`${url}/metrics`)).rejects.toThrow();
  });
});
