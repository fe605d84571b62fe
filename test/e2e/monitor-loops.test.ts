/**
 * The monitor cannot loop and survives itself (#13): the daily cap, a dry run that changes nothing, kill -9 and a
 * restart, and replay over past logs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listTree } from '../../dev/sandbox/build-sandbox.js';
import { alive, cli, cliJson } from './cli-helpers.js';
import { autoRuns, decisions, reports, startMonitor, startService, waitFor, useMonitorProjects } from './monitor-helpers.js';

const project = useMonitorProjects();

const acted = (root: string) => decisions(root).filter((d) => d.type === undefined && d.outcome === 'acted');

describe('the monitor cannot loop', () => {
  it('a service that fails again after each restore is rolled back maxPerDay times, then only alerted on', async () => {
    const p = await project({ mode: '5xx', monitor: ['maxPerDay: 2'] });
    const monitor = startMonitor(p.root);
    for (let i = 1; i <= 2; i++) {
      await waitFor(() => (autoRuns(p.root).length === i ? true : undefined), 30_000, `automatic rollback ${i}`);
      const restore = await cli(p.root, ['restore', '9.1', '--force']);
      expect(restore.code, restore.stderr).toBe(0);
      await startService(p.root, '5xx', p.port);
    }
    const capped = await waitFor(() => decisions(p.root).find((d) => d.outcome === 'capped'), 30_000, 'the capped alert');
    expect(capped.action).toBe('alert');
    expect(capped.reason).toMatch(/2 automatic rollbacks of 9\.1 in 24 h reached maxPerDay 2; roll back by hand: rollback-manager rollback 9\.1 --force/);
    monitor.kill('SIGTERM');
    expect((await monitor).exitCode).toBe(0);
    expect(autoRuns(p.root)).toHaveLength(2);
    expect(acted(p.root)).toHaveLength(2);
    // The story is left as it is (installed, flag on) for a person to decide.
    expect(readFileSync(path.join(p.root, 'config', 'feature-flags.yaml'), 'utf8')).toMatch(/flaky_service:\n\s+enabled: true/);
  }, 120_000);

  it('--dry-run changes nothing: no flag, no file, no process, no report; the decisions log is its output', async () => {
    const p = await project({ mode: '5xx' });
    const before = listTree(p.root);
    const r = await cli(p.root, ['monitor', '--dry-run', '--for', '2s']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('dry run');
    const after = listTree(p.root);
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k));
    // The service's own log grows with the probes; the decisions log is the dry run's output; nothing else moves.
    expect(changed.sort()).toEqual(['logs/monitor.jsonl', 'logs/security.log']);
    expect(alive(p.service.pid as number)).toBe(true);
    expect(reports(p.root)).toEqual([]);
    const would = decisions(p.root).find((d) => d.outcome === 'would-act');
    expect(would?.reason).toMatch(/dry run: would rollback 9\.1/);
    expect(would?.action).toBe('none');
  }, 60_000);

  it('kill -9 and a restart: the cooldown and the cap hold, and old lines are not judged again', async () => {
    const p = await project({ mode: '5xx', monitor: ['cooldown: 1h', 'maxPerDay: 5'] });
    const first = startMonitor(p.root);
    await waitFor(() => (autoRuns(p.root).length === 1 ? true : undefined), 30_000, 'the first automatic rollback');
    await waitFor(() => (decisions(p.root).some((d) => d.type === 'action') ? true : undefined), 10_000, 'the action on record');
    first.kill('SIGKILL');
    await first;
    const restore = await cli(p.root, ['restore', '9.1', '--force']);
    expect(restore.code, restore.stderr).toBe(0);
    await startService(p.root, '5xx', p.port);
    const logBytes = readFileSync(path.join(p.root, 'logs', 'security.log')).length;
    const seen = decisions(p.root).length;
    const second = startMonitor(p.root);
    const held = await waitFor(() => decisions(p.root).slice(seen).find((d) => d.outcome === 'cooldown'), 30_000, 'the breach held back by the cooldown');
    expect(held.reason).toMatch(/held back: cooldown after an automatic rollback until/);
    second.kill('SIGTERM');
    expect((await second).exitCode).toBe(0);
    expect(autoRuns(p.root)).toHaveLength(1);
    expect(acted(p.root)).toHaveLength(1);
    // What the restarted monitor judged from the log came after what the first one had read.
    const status = await cliJson<{ monitor: { running: unknown; verdicts: Record<string, Record<string, { verdict: string }>> } }>(p.root, ['status']);
    expect(status.json.monitor.running).toBeNull();
    expect(status.json.monitor.verdicts['9.1']?.probeFailure?.verdict).toBe('breached');
    for (const d of decisions(p.root).slice(seen)) {
      for (const s of d.samples) {
        const lines = (s as { evidence?: { lines?: Array<{ from: number }> } }).evidence?.lines ?? [];
        for (const l of lines) expect(l.from).toBeGreaterThanOrEqual(logBytes - 4096);
      }
    }
  }, 120_000);
});

describe('monitor replay', () => {
  it('over a log with one known bad period reports exactly that period and nothing else', async () => {
    const p = await project();
    // 20 minutes of traffic, 2 requests a second; from minute 8 to minute 10, half of them fail.
    const t0 = Date.parse('2026-11-30T02:00:00Z');
    const lines: string[] = [];
    for (let s = 0; s < 20 * 60; s++) {
      for (const half of [0, 500]) {
        const at = new Date(t0 + s * 1000 + half).toISOString();
        lines.push(JSON.stringify({ timestamp: at, level: 'INFO', event: 'api_request', method: 'GET', url: '/api/v1/things', service: 'test-svc' }));
        if (s >= 8 * 60 && s < 10 * 60 && half === 0) lines.push(JSON.stringify({ timestamp: at, level: 'ERROR', event: 'api_error', message: 'boom', service: 'test-svc' }));
      }
    }
    const file = path.join(p.root, 'old-security.log');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const r = await cliJson<{ periods: Array<{ story: string; rule: string; from: string; to: string }>; decisions: Array<{ outcome: string; at: string }> }>(p.root, [
      'monitor', 'replay', file, '--interval', '5s', '--window', '30s',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.periods.map((x) => [x.story, x.rule])).toEqual([['9.1', 'errorRate']]);
    const [period] = r.json.periods;
    const bad = { from: t0 + 8 * 60_000, to: t0 + 10 * 60_000 };
    expect(Date.parse(period?.from as string)).toBeGreaterThan(bad.from);
    expect(Date.parse(period?.from as string)).toBeLessThanOrEqual(bad.from + 30_000);
    expect(Date.parse(period?.to as string)).toBeGreaterThanOrEqual(bad.to);
    expect(Date.parse(period?.to as string)).toBeLessThanOrEqual(bad.to + 30_000);
    // It would have acted once, inside the period; replay acts on nothing and writes nothing.
    expect(r.json.decisions.filter((d) => d.outcome === 'would-act').map((d) => Date.parse(d.at) > bad.from && Date.parse(d.at) < bad.to)).toEqual([true]);
    expect(reports(p.root)).toEqual([]);
  }, 60_000);
});
