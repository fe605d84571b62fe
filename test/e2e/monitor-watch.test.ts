/**
 * `restore <story> --watch` (#14 point 5): after the restore the story is watched with the monitor's rules; it is
 * rolled back again if it degrades, and otherwise said healthy.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { CLI, cli } from './cli-helpers.js';
import { autoRuns, decisions, flagOn, probeHealthy, startMonitor, startService, waitFor, useMonitorProjects } from './monitor-helpers.js';

const project = useMonitorProjects();

/**
 * Rolls 9.1 back by hand, then restores it with `--watch <watch>` (`--watch` alone when null) while its service is
 * started again in `mode`.
 */
async function restoreAndWatch(mode: string, opts: { watch?: string | null; monitor?: string[] } = {}): Promise<{ code: number; stderr: string; root: string }> {
  const p = await project({ monitor: opts.monitor ?? [] });
  const rb = await cli(p.root, ['rollback', '9.1', '--force']);
  expect(rb.code, rb.stderr).toBe(0);
  const watch = opts.watch === null ? ['--watch'] : ['--watch', opts.watch ?? '3s'];
  const restore = execa(process.execPath, [CLI, '--root', p.root, 'restore', '9.1', '--force', ...watch], { reject: false, stdin: 'ignore', timeout: 60_000 });
  // The restore starts no service: start it once its code is back, as a person would.
  await waitFor(() => existsSync(path.join(p.root, 'tools', 'svc', 'server.mjs')), 30_000, 'the restored code');
  await startService(p.root, mode, p.port);
  const r = await restore;
  return { code: r.exitCode ?? -1, stderr: String(r.stderr), root: p.root };
}

describe('restore --watch', () => {
  it('a story that degrades after its restore is rolled back again (exit 1)', async () => {
    const r = await restoreAndWatch('5xx');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/9\.1 degraded after the restore and was rolled back again: rolled-back/);
    expect(autoRuns(r.root)).toHaveLength(1);
    expect(decisions(r.root).find((d) => (d as { type?: string }).type === 'watch-end')).toMatchObject({ story: '9.1', outcome: 'rolled-back' });
  }, 90_000);

  it('a healthy one is said so after the watch (exit 0)', async () => {
    const r = await restoreAndWatch('healthy');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('restored and healthy after 3 s');
    expect(autoRuns(r.root)).toEqual([]);
  }, 90_000);

  it('with monitor.autoRollbackOnFailure false, a degrading one is only alerted (exit 1); --watch alone lasts monitor.watchTimeout', async () => {
    const r = await restoreAndWatch('5xx', { watch: null, monitor: ['autoRollbackOnFailure: false', 'watchTimeout: 3s'] });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('9.1 degraded after the restore; monitor.autoRollbackOnFailure is false, so it was left in place: rollback-manager rollback 9.1 --force');
    expect(autoRuns(r.root)).toEqual([]);
    expect(flagOn(r.root)).toBe(true);
    const held = decisions(r.root).filter((d) => d.story === '9.1' && d.outcome === 'alerted');
    expect(held.length).toBeGreaterThan(0);
    expect(held[0]?.reason).toMatch(/9\.1 is watched after coming back \(until \S+\) and monitor\.autoRollbackOnFailure is false: alert only$/);
    expect(decisions(r.root).find((d) => (d as { type?: string }).type === 'watch-end')).toMatchObject({ story: '9.1', outcome: 'degraded', forMs: 3000 });
  }, 90_000);
});

describe('a running monitor', () => {
  it('watches a story that comes back for monitor.watchTimeout and records how the watch ended', async () => {
    const p = await project({ monitor: ['watchTimeout: 2s'] });
    const monitor = startMonitor(p.root);
    await waitFor(() => probeHealthy(p.root), 30_000, 'the probe to be healthy');
    const rb = await cli(p.root, ['rollback', '9.1', '--force']);
    expect(rb.code, rb.stderr).toBe(0);
    // The monitor sees the story off before it comes back (a round runs every 200 ms).
    await waitFor(() => !stateEnabled(p.root), 10_000, 'the monitor to see 9.1 off');
    const rs = await cli(p.root, ['restore', '9.1', '--force']);
    expect(rs.code, rs.stderr).toBe(0);
    await startService(p.root, 'healthy', p.port);
    const end = await waitFor(() => decisions(p.root).find((d) => (d as { type?: string }).type === 'watch-end'), 30_000, 'the end of the watch');
    expect(end).toMatchObject({ story: '9.1', outcome: 'healthy', message: 'restored and healthy after 2 s', forMs: 2000 });
    expect(autoRuns(p.root)).toEqual([]);
    monitor.kill('SIGTERM');
    expect((await monitor).exitCode).toBe(0);
  }, 90_000);
});

/** Whether the monitor's saved state says 9.1's flag is on. */
function stateEnabled(root: string): boolean {
  const s = JSON.parse(readFileSync(path.join(root, '.rollback-manager', 'monitor', 'state.json'), 'utf8')) as { stories: Record<string, { enabled: boolean }> };
  return s.stories['9.1']?.enabled === true;
}
