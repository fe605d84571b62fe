/**
 * `monitor.notify` end to end: the service goes 5xx, the monitor rolls the story back and a real receiver is
 * told once, with the decision, the run and the command that undoes it; with the receiver down, the rollback
 * still happens and the failed deliveries are on record.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { decisions, probeHealthy, reports, startMonitor, useMonitorProjects, waitFor } from './monitor-helpers.js';
import { freePort, trackedServers } from '../helpers/servers.js';

const project = useMonitorProjects();

const servers = trackedServers<Server>();

interface Notification {
  severity: string;
  story: { id: string } | null;
  decision: { id: string; rule: string; threshold: number; outcome: string; samples: Array<{ value: number | null; evidence?: unknown }> };
  result: { runId: string; status: string; report: string } | null;
  undo: Array<{ story: string; command: string }>;
}

/** A receiver that takes every POST (200) and keeps its body. */
async function receiver(): Promise<{ url: string; got: Notification[] }> {
  const got: Notification[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Notification);
      res.writeHead(200).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}


async function control(port: number, mode: string): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${port}/control/${mode}`, { method: 'POST' });
  expect(await r.text()).toBe(mode);
}

describe('monitor.notify', () => {
  it('a 5xx service is rolled back and the receiver gets one POST with the decision, the run and its undo command', async () => {
    const r = await receiver();
    const p = await project({ monitor: [`notify: [{ url: "${r.url}", severity: critical }]`] });
    const monitor = startMonitor(p.root);
    await waitFor(() => probeHealthy(p.root), 20_000, 'a healthy probe');
    await control(p.port, '5xx');
    const [n] = await waitFor(() => (r.got.length > 0 ? r.got : undefined), 30_000, 'the notification');
    monitor.kill('SIGTERM');
    const m = await monitor;
    expect(m.exitCode, String(m.stderr)).toBe(0);

    const [report] = reports(p.root);
    expect(report).toBeDefined();
    expect(report?.status).toBe('rolled-back');
    const acted = decisions(p.root).find((d) => d.type === undefined && d.outcome === 'acted');
    // One POST: the receiver wants critical only, and nothing else the monitor decided was.
    expect(r.got).toHaveLength(1);
    expect(n?.severity).toBe('critical');
    expect(n?.story?.id).toBe('9.1');
    expect(n?.decision.id).toBe(acted?.id);
    expect(['probeFailure', 'errorRate']).toContain(n?.decision.rule);
    expect(n?.decision.samples).toHaveLength(3);
    expect(n?.result).toMatchObject({ runId: report?.runId, status: 'rolled-back', report: expect.stringContaining(`${report?.runId}.json`) });
    // The undo command is the report's own: a restore of this run's backup.
    expect(n?.undo).toEqual(report?.undo);
    expect(n?.undo).toEqual([{ story: '9.1', command: expect.stringMatching(/rollback-manager restore 9\.1 --backup \S+ --root /) }]);
    expect(decisions(p.root).filter((d) => (d as { type?: string }).type === 'notify-failed')).toEqual([]);
  }, 90_000);

  it('with the receiver down, the rollback still happens; each failed delivery is on record, and stderr says none was delivered', async () => {
    const port = await freePort();
    const p = await project({ monitor: [`notify: [{ url: "http://hook:secret@127.0.0.1:${port}/hook", severity: critical, timeout: 500ms, retries: 1 }]`] });
    const monitor = startMonitor(p.root);
    await waitFor(() => probeHealthy(p.root), 20_000, 'a healthy probe');
    await control(p.port, '5xx');
    const [report] = await waitFor(() => (reports(p.root).length > 0 ? reports(p.root) : undefined), 30_000, 'the automatic rollback');
    // Stopping waits for the deliveries in flight (bounded by their time-outs and retries).
    monitor.kill('SIGTERM');
    const m = await monitor;
    expect(m.exitCode, String(m.stderr)).toBe(0);
    expect(report?.status).toBe('rolled-back');
    expect(decisions(p.root).find((d) => d.type === 'action')).toMatchObject({ status: 'rolled-back' });
    const failed = decisions(p.root).filter((d) => (d as { type?: string }).type === 'notify-failed') as unknown as Array<{ url: string; attempt: number; error: string; gaveUp?: boolean }>;
    expect(failed.map((f) => [f.attempt, f.gaveUp === true])).toEqual([[1, false], [2, true]]);
    for (const f of failed) {
      expect(f.url).toBe(`http://127.0.0.1:${port}/hook`);
      expect(f.error).toMatch(/ECONNREFUSED/);
    }
    expect(String(m.stderr)).toMatch(/notification of decision \S+ \(story 9\.1 \w+: acted\) not delivered: every target failed/);
    expect(String(m.stderr)).not.toContain('secret');
  }, 90_000);
});
