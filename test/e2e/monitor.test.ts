/**
 * The monitor against a real service in a temp project (#13's "Done when"): the service goes bad three ways and
 * is rolled back each time, with the samples in the report; and what must never act does not.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, cli, cliJson } from './cli-helpers.js';
import { decisions, probeHealthy, reports, startMonitor, waitFor, useMonitorProjects, flagOn } from './monitor-helpers.js';

const project = useMonitorProjects();

async function control(port: number, mode: string): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${port}/control/${mode}`, { method: 'POST' });
  expect(await r.text()).toBe(mode);
}

describe('the monitor rolls a story back when its service goes bad', () => {
  for (const way of ['5xx', 'slow', 'hung'] as const) {
    it(`${way}: after consecutive breached rounds, with the samples in the report`, async () => {
      const p = await project();
      const monitor = startMonitor(p.root);
      await waitFor(() => probeHealthy(p.root), 20_000, 'a healthy probe');
      const wentBad = Date.now();
      if (way === 'hung') process.kill(p.service.pid as number, 'SIGSTOP');
      else await control(p.port, way);

      const [report] = await waitFor(() => (reports(p.root).length > 0 ? reports(p.root) : undefined), 30_000, 'the automatic rollback');
      monitor.kill('SIGTERM');
      const m = await monitor;
      expect(m.exitCode, String(m.stderr)).toBe(0);

      const r = report as unknown as { why: { trigger: string; reason: string }; status: string; stories: Array<{ id: string; status: string }>; monitor: { rule: string; samples: Array<{ at: number; value: number }> } };
      expect(r.why.trigger).toBe('monitor');
      expect(r.status).toBe('rolled-back');
      expect(r.stories.map((s) => [s.id, s.status])).toEqual([['9.1', 'rolled-back']]);
      const expected = { '5xx': ['probeFailure', 'errorRate'], slow: ['latencyP95'], hung: ['probeFailure'] }[way];
      expect(expected).toContain(r.monitor.rule);
      // The samples that counted: three rounds in a row, all after the service went bad.
      expect(r.monitor.samples).toHaveLength(3);
      for (const s of r.monitor.samples) expect(Number(new Date(s.at))).toBeGreaterThanOrEqual(wentBad - 250);
      const md = readFileSync(path.join(p.root, 'rollback_reports', `${r.stories.length > 0 ? (report as { runId: string }).runId : ''}.md`), 'utf8');
      expect(md).toContain('## Why the monitor acted');
      expect(md).toMatch(/\| time \| value \| baseline \| source \| evidence \|\n\| --- .*\n(\| .*\n){3}/);
      // Rolled back for real: flag off, service stopped, its code in a verified backup.
      expect(flagOn(p.root)).toBe(false);
      await waitFor(() => !alive(p.service.pid as number), 5_000, 'the service to be gone');
      expect(existsSync(path.join(p.root, 'tools', 'svc', 'server.mjs'))).toBe(false);
      const security = readFileSync(path.join(p.root, 'logs', 'security.log'), 'utf8');
      expect(security).toContain('"event":"automatic_rollback_triggered"');
      // Every decision is on record, the acted one with its samples; the action's outcome beside it.
      const acted = decisions(p.root).find((d) => d.outcome === 'acted' && d.type === undefined);
      expect(acted?.story).toBe('9.1');
      expect(decisions(p.root).find((d) => d.type === 'action')).toMatchObject({ decision: acted?.id, status: 'rolled-back', mode: 'rollback' });
      // And restore brings it back.
      const restore = await cli(p.root, ['restore', '9.1', '--force']);
      expect(restore.code, restore.stderr).toBe(0);
      expect(existsSync(path.join(p.root, 'tools', 'svc', 'server.mjs'))).toBe(true);
      expect(flagOn(p.root)).toBe(true);
    }, 90_000);
  }
});

describe('memory', () => {
  it("host memory over the threshold is blamed on the story whose processes hold a real share of it, with them as evidence", async () => {
    // Any machine uses more than 1 % of its memory; the service holds more than 0.01 % of what is used.
    const p = await project({ monitor: ['thresholds: { memory: "1%" }', 'memoryShare: 0.0001'] });
    const monitor = startMonitor(p.root);
    const [report] = await waitFor(() => (reports(p.root).length > 0 ? reports(p.root) : undefined), 30_000, 'the automatic rollback');
    monitor.kill('SIGTERM');
    expect((await monitor).exitCode).toBe(0);
    const r = report as unknown as { monitor: { rule: string; story: string; samples: Array<{ value: number; evidence: { top: Array<{ story: string; pid: number; rssBytes: number }> } }> } };
    expect(r.monitor.rule).toBe('memory');
    expect(r.monitor.story).toBe('9.1');
    for (const s of r.monitor.samples) {
      expect(s.value).toBeGreaterThan(0.01);
      expect(s.evidence.top[0]).toMatchObject({ story: '9.1', pid: p.service.pid });
      expect(s.evidence.top[0]?.rssBytes).toBeGreaterThan(0);
    }
  }, 60_000);

  it('with too small a share it is a project-level alert naming the biggest processes, never a rollback', async () => {
    const p = await project({ monitor: ['thresholds: { memory: "1%" }', 'memoryShare: 0.99'] });
    const r = await cli(p.root, ['monitor', '--for', '1500ms']);
    expect(r.code, r.stderr).toBe(0);
    expect(reports(p.root)).toEqual([]);
    const alert = decisions(p.root).find((d) => d.rule === 'memory' && d.outcome === 'alerted');
    expect(alert?.story).toBeNull();
    expect(alert?.reason).toMatch(/project-level signal.*alert only, never a rollback/);
    const top = (alert?.samples[0] as unknown as { evidence: { top: Array<{ story: string; pid: number }> } }).evidence.top;
    expect(top.map((t) => t.pid)).toContain(p.service.pid);
  }, 60_000);
});

describe('a story with installed dependents and cascade: false', () => {
  it('is mitigated without deleting anything: flags off with the flag cascade, its service stopped, files left', async () => {
    const p = await project({ dependent: true });
    const monitor = startMonitor(p.root);
    await waitFor(() => probeHealthy(p.root), 20_000, 'a healthy probe');
    await control(p.port, '5xx');
    const [report] = await waitFor(() => (reports(p.root).length > 0 ? reports(p.root) : undefined), 30_000, 'the mitigation');
    monitor.kill('SIGTERM');
    expect((await monitor).exitCode).toBe(0);
    const r = report as unknown as { runId: string; why: { trigger: string; reason: string }; undo: Array<{ story: string; command: string }>; stories: Array<{ id: string; status: string; backup?: unknown }> };
    expect(r.why.trigger).toBe('monitor');
    expect(r.why.reason).toContain('flag off and services stopped, nothing removed');
    expect(r.stories.every((s) => s.backup === undefined || s.backup === null)).toBe(true);
    const flags = readFileSync(path.join(p.root, 'config', 'feature-flags.yaml'), 'utf8');
    expect(flags).toMatch(/flaky_service:\n\s+enabled: false/);
    expect(flags).toMatch(/flaky_reports:\n\s+enabled: false/);
    await waitFor(() => !alive(p.service.pid as number), 5_000, 'the service to be stopped');
    expect(existsSync(path.join(p.root, 'tools', 'svc', 'server.mjs'))).toBe(true);
    expect(existsSync(path.join(p.root, 'tools', 'reports.txt'))).toBe(true);
    const action = decisions(p.root).find((d) => d.type === 'action') as unknown as { mode: string; next: string };
    expect(action.mode).toBe('mitigate');
    expect(action.next).toContain('rollback 9.1 --cascade');
    // The report names how to undo it: the flags back on, from this run.
    expect(r.undo.map((u) => u.command)).toEqual([expect.stringContaining(`restore 9.1 --run ${r.runId}`), expect.stringContaining(`restore 9.2 --run ${r.runId}`)]);
    for (const id of ['9.1', '9.2']) {
      const back = await cli(p.root, ['restore', id, '--run', r.runId, '--force']);
      expect(back.code, back.stderr).toBe(0);
    }
    expect(readFileSync(path.join(p.root, 'config', 'feature-flags.yaml'), 'utf8')).toMatch(/flaky_service:\n\s+enabled: true[\s\S]*flaky_reports:\n\s+enabled: true/);
  }, 90_000);
});

describe('the monitor does not act on noise', () => {
  it('waits while a manual run holds the project lock: the round judges nothing', async () => {
    const p = await project({ mode: '5xx' });
    // A live process (this test) holds the project's lock, as a manual rollback would.
    mkdirSync(path.join(p.root, '.rollback-manager'), { recursive: true });
    writeFileSync(path.join(p.root, '.rollback-manager', 'lock'), JSON.stringify({ pid: process.pid, host: hostname(), runId: '20261203-000000-beef', startedAt: new Date().toISOString() }));
    const r = await cliJson<{ waiting?: { runId: string }; decisions: unknown[] }>(p.root, ['monitor', '--once']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.waiting?.runId).toBe('20261203-000000-beef');
    expect(r.json.decisions).toEqual([]);
    expect(decisions(p.root)).toEqual([]);
  }, 30_000);

  it('one spike, breaches with gaps, no data: no rollback, each recorded with its reason', async () => {
    // The error rate would see a flap as sustained (half the requests fail in every window): this test is about
    // the probe's rounds, so the error rate is told to need more requests than a window holds (no data).
    const p = await project({ monitor: ['minRequests: 1000'] });
    const monitor = startMonitor(p.root);
    await waitFor(() => probeHealthy(p.root), 20_000, 'a healthy probe');
    await control(p.port, 'spike');
    await waitFor(() => decisions(p.root).find((d) => d.outcome === 'not-sustained' && d.rule === 'probeFailure'), 10_000, 'the spike on record');
    await control(p.port, 'flap');
    await waitFor(() => decisions(p.root).filter((d) => d.outcome === 'not-sustained' && d.rule === 'probeFailure').length >= 4 ? true : undefined, 15_000, 'the flaps on record');
    monitor.kill('SIGTERM');
    expect((await monitor).exitCode).toBe(0);
    expect(reports(p.root)).toEqual([]);
    expect(flagOn(p.root)).toBe(true);
    expect(alive(p.service.pid as number)).toBe(true);
    const all = decisions(p.root);
    expect(all.filter((d) => d.outcome === 'acted' || d.outcome === 'would-act')).toEqual([]);
    const spike = all.find((d) => d.outcome === 'not-sustained' && d.rule === 'probeFailure');
    expect(spike?.reason).toMatch(/breached in 1 sample in a row \(100%\), then a healthy one: not sustained, 3 in a row are needed/);
    expect(all.find((d) => d.story === '9.1' && d.rule === 'errorRate' && d.outcome === 'no-data')?.reason).toMatch(/too few requests \(\d+ < minRequests 1000\)/);
  }, 60_000);

  it('a service never up and an unreadable log: no rollback; no data and source errors, then an alert about the monitor', async () => {
    const p = await project({
      story: ['probes: [{ url: "http://127.0.0.1:9/health", timeout: 300ms }]', 'logs: [{ file: logs/broken.log, match: { service: "^test-svc$" } }]'],
    });
    mkdirSync(path.join(p.root, 'logs', 'broken.log'), { recursive: true }); // a folder where the log should be: EISDIR
    const r = await cli(p.root, ['monitor', '--for', '2s']);
    expect(r.code, r.stderr).toBe(0);
    expect(reports(p.root)).toEqual([]);
    const all = decisions(p.root);
    expect(all.filter((d) => d.action === 'rollback')).toEqual([]);
    expect(all.find((d) => d.rule === 'probeFailure' && d.outcome === 'no-data')?.reason).toMatch(/never answered since .*refused/);
    expect(all.find((d) => d.outcome === 'source-error')?.reason).toMatch(/logs\/broken\.log.*could not be read.*not a breach/);
    expect(all.find((d) => d.outcome === 'alerted' && d.reason.includes('could not be read'))?.reason).toMatch(/3 times in a row: the monitor cannot see this signal; never a breach/);
    // The decisions are the whole output: explain tells one in words.
    const id = all.find((d) => d.outcome === 'source-error')?.id as string;
    const explained = await cli(p.root, ['monitor', 'explain', id]);
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout).toContain(`Decision ${id}`);
    expect(explained.stdout).toContain('Outcome: source-error');
  }, 60_000);

  it('--once --json judges one round and prints one document', async () => {
    const p = await project();
    const r = await cliJson<{ dryRun: boolean; stories: Record<string, { watched: boolean }>; decisions: unknown[] }>(p.root, ['monitor', '--once']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.stories['9.1']?.watched).toBe(true);
    expect(r.json.dryRun).toBe(false);
  }, 30_000);
});
