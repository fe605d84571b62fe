/**
 * The monitor's notifier against real HTTP receivers on 127.0.0.1 (any free port): retries with back-off, a
 * receiver that never answers (time-out, give-up, `notify-failed` lines, the warning), severity filtering, and
 * the Slack body.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Notifier, admits, safeUrl, severityOf, type NotifyDocument } from '../../../src/app/monitor-notify.js';
import type { NotifyTarget } from '../../../src/config/notify-settings.js';
import type { Decision, Outcome } from '../../../src/monitor/decision-log.js';
import { freePort, trackedServers } from '../../helpers/servers.js';

interface Received {
  body: unknown;
  headers: IncomingMessage['headers'];
}

const servers = trackedServers<Server>();
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A receiver answering each request with `answer(n)` (n from 1), or never when it returns null. */
async function receiver(answer: (n: number) => number | null = () => 200): Promise<{ url: string; got: Received[]; attempts: () => number }> {
  const got: Received[] = [];
  let n = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = answer(++n);
      if (status === null) return; // hangs: the client's time-out must end it
      if (status < 300) got.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown, headers: req.headers });
      res.writeHead(status).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, attempts: () => n };
}


function root(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'rm-notify-'));
  dirs.push(d);
  return d;
}

function target(url: string, more: Partial<NotifyTarget> = {}): NotifyTarget {
  return { url, severity: 'info', format: 'json', timeoutMs: 2_000, retries: 3, ...more };
}

function decision(outcome: Outcome, more: Partial<Decision> = {}): Decision {
  return {
    id: `20261203T074000.123Z-00000${outcome.length}`,
    at: '2026-12-03T07:40:00.123Z',
    story: '9.1',
    rule: 'errorRate',
    threshold: 0.1,
    comparator: '>',
    windowMs: 60_000,
    samples: [{ at: 1, value: 0.5, source: 'logs', evidence: { requests: 20, errors: 10 } }],
    excluded: {},
    verdict: 'breached',
    outcome,
    action: outcome === 'acted' ? 'rollback' : outcome === 'capped' || outcome === 'alerted' ? 'alert' : 'none',
    reason: 'errorRate > 10% in 3 samples in a row',
    ...more,
  } as Decision;
}

/** notify-failed lines of logs/monitor.jsonl. */
function failures(dir: string): Array<{ type: string; url: string; attempt: number; error: string; gaveUp?: boolean; decision: string }> {
  const file = path.join(dir, 'logs', 'monitor.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; url: string; attempt: number; error: string; gaveUp?: boolean; decision: string })
    .filter((l) => l.type === 'notify-failed');
}

function notifier(dir: string, targets: NotifyTarget[], warned: string[] = []): Notifier {
  return new Notifier(targets, { root: dir, warn: (l) => warned.push(l), backoffMs: 20 });
}

function doc(n: Notifier, d: Decision, result: Parameters<Notifier['documentOf']>[1] = null): NotifyDocument {
  const out = n.documentOf(d, result, { feature: 'flaky_service', title: 'Flaky service' });
  if (out === null) throw new Error(`${d.outcome} is not notified`);
  return out;
}

describe('delivery', () => {
  it('retries a receiver that fails twice with 503, and delivers once, in the background', async () => {
    const r = await receiver((n) => (n <= 2 ? 503 : 200));
    const dir = root();
    const warned: string[] = [];
    const n = notifier(dir, [target(r.url)], warned);
    n.notify(doc(n, decision('acted')));
    // notify returned before anything was sent: the delivery is in flight.
    expect(n.pending).toBe(1);
    await n.close();
    expect(r.attempts()).toBe(3);
    expect(r.got).toHaveLength(1);
    expect(r.got[0]?.body).toMatchObject({ type: 'rollback-manager.monitor.decision', severity: 'critical', story: { id: '9.1', title: 'Flaky service' }, decision: { outcome: 'acted' } });
    expect(failures(dir).map((f) => [f.attempt, f.error, f.gaveUp ?? false])).toEqual([
      [1, 'HTTP 503 Service Unavailable', false],
      [2, 'HTTP 503 Service Unavailable', false],
    ]);
    expect(warned).toEqual([]);
  });

  it('gives up on a receiver that never answers after its retries, each attempt timed out and on record, and warns', async () => {
    const r = await receiver(() => null);
    const dir = root();
    const warned: string[] = [];
    const n = notifier(dir, [target(r.url.replace('http://', 'http://bot:s3cret@'), { timeoutMs: 150, retries: 2 })], warned);
    n.notify(doc(n, decision('capped')));
    await n.close();
    expect(r.attempts()).toBe(3);
    const lines = failures(dir);
    expect(lines.map((f) => [f.attempt, f.gaveUp ?? false])).toEqual([[1, false], [2, false], [3, true]]);
    for (const f of lines) {
      expect(f.error).toBe('no answer within 150 ms');
      expect(f.url).toBe(r.url);
      expect(f.decision).toBe(decision('capped').id);
    }
    expect(readFileSync(path.join(dir, 'logs', 'monitor.jsonl'), 'utf8')).not.toContain('s3cret');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(/notification of decision .* \(story 9\.1 errorRate: capped\) not delivered: every target failed/);
  });

  it('sends credentials in the URL as basic auth, and warns only when every target failed', async () => {
    const good = await receiver();
    const down = await freePort();
    const dir = root();
    const warned: string[] = [];
    const n = notifier(dir, [target(good.url.replace('http://', 'http://bot:s%20cret@')), target(`http://127.0.0.1:${down}/down`, { retries: 0 })], warned);
    n.notify(doc(n, decision('alerted')));
    await n.close();
    expect(good.got[0]?.headers.authorization).toBe(`Basic ${Buffer.from('bot:s cret').toString('base64')}`);
    expect(failures(dir)).toMatchObject([{ url: `http://127.0.0.1:${down}/down`, attempt: 1, gaveUp: true, error: expect.stringMatching(/ECONNREFUSED/) }]);
    expect(warned).toEqual([]);
  });

  it('close waits for a delivery in flight to end: its give-up is on record when close returns', async () => {
    const r = await receiver(() => null);
    const dir = root();
    const n = notifier(dir, [target(r.url, { timeoutMs: 300, retries: 0 })]);
    n.notify(doc(n, decision('acted')));
    await n.close();
    expect(n.pending).toBe(0);
    expect(failures(dir)).toHaveLength(1);
    expect(failures(dir)[0]?.gaveUp).toBe(true);
  });
});

describe('which decisions, to whom', () => {
  it('maps outcomes to severities, and a target hears its own and every higher one', async () => {
    expect((['acted', 'capped', 'alerted', 'would-act', 'muted', 'cooldown', 'no-data', 'source-error', 'recovered', 'not-sustained'] as const).map(severityOf)).toEqual([
      'critical', 'critical', 'warning', 'warning', 'info', 'info', null, null, null, null,
    ]);
    expect([admits('warning', 'critical'), admits('warning', 'warning'), admits('warning', 'info'), admits('critical', 'warning'), admits('info', 'info')]).toEqual([true, true, false, false, true]);

    const info = await receiver();
    const warning = await receiver();
    const critical = await receiver();
    const dir = root();
    const n = notifier(dir, [target(info.url, { severity: 'info' }), target(warning.url, { severity: 'warning' }), target(critical.url, { severity: 'critical' })]);
    for (const o of ['acted', 'alerted', 'cooldown'] as const) n.notify(doc(n, decision(o)));
    expect(n.documentOf(decision('no-data'), null)).toBeNull();
    await n.close();
    const outcomes = (r: { got: Received[] }) => r.got.map((g) => (g.body as NotifyDocument).decision.outcome).sort();
    expect(outcomes(info)).toEqual(['acted', 'alerted', 'cooldown']);
    expect(outcomes(warning)).toEqual(['acted', 'alerted']);
    expect(outcomes(critical)).toEqual(['acted']);
  });
});

describe('the documents', () => {
  it('an acted one carries the run and the undo commands of its report; slack gets { text, blocks } in words', async () => {
    const dir = root();
    mkdirSync(path.join(dir, 'rollback_reports'));
    writeFileSync(path.join(dir, 'rollback_reports', 'run-1.json'), JSON.stringify({ runId: 'run-1', undo: [{ story: '9.1', command: `rollback-manager restore 9.1 --run run-1 --root ${dir}` }] }));
    const json = await receiver();
    const slack = await receiver();
    const n = notifier(dir, [target(json.url), target(slack.url, { format: 'slack' })]);
    const result = { story: '9.1', mode: 'rollback' as const, runId: 'run-1', status: 'rolled-back', exitCode: 0, report: 'rollback_reports/run-1.json' };
    n.notify(doc(n, decision('acted'), result));
    await n.close();
    const d = json.got[0]?.body as NotifyDocument;
    expect(d.result).toEqual(result);
    expect(d.undo).toEqual([{ story: '9.1', command: `rollback-manager restore 9.1 --run run-1 --root ${dir}` }]);
    expect(d.decision.samples[0]?.evidence).toEqual({ requests: 20, errors: 10 });
    const s = slack.got[0]?.body as { text: string; blocks: Array<{ type: string }> };
    expect(Object.keys(s).sort()).toEqual(['blocks', 'text']);
    expect(s.text).toContain('story 9.1 (Flaky service): automatic rollback, rolled-back');
    expect(s.text).toContain('errorRate > 10%: last value 50% (1 samples)');
    expect(s.text).toContain('Run `run-1`, report `rollback_reports/run-1.json`');
    expect(s.text).toContain(`Undo: \`rollback-manager restore 9.1 --run run-1 --root ${dir}\``);
    expect(s.blocks.map((b) => b.type)).toEqual(['section', 'context']);
  });

  it('a capped one names the rollback to run by hand', () => {
    const dir = root();
    const n = notifier(dir, []);
    expect(doc(n, decision('capped')).byHand).toBe(`rollback-manager rollback 9.1 --force --root ${dir}`);
  });

  it('a URL is logged without credentials or query', () => {
    expect(safeUrl('https://u:p@hooks.example/x/y?token=abc#f')).toBe('https://hooks.example/x/…?…');
    // A Slack webhook's secret is its path.
    expect(safeUrl('https://hooks.slack.com/services/T000/B000/XXXXSECRET')).toBe('https://hooks.slack.com/services/…');
  });
});
