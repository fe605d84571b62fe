/**
 * `restore <story> --watch` (#14 point 5): after the restore the story is watched with the monitor's rules; it is
 * rolled back again if it degrades, and otherwise said healthy.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { CLI, cli } from './cli-helpers.js';
import { autoRuns, decisions, startService, waitFor, useMonitorProjects } from './monitor-helpers.js';

const project = useMonitorProjects();

/** Rolls 9.1 back by hand, then restores it with --watch while its service is started again in `mode`. */
async function restoreAndWatch(mode: string): Promise<{ code: number; stderr: string; root: string }> {
  const p = await project();
  const rb = await cli(p.root, ['rollback', '9.1', '--force']);
  expect(rb.code, rb.stderr).toBe(0);
  const restore = execa(process.execPath, [CLI, '--root', p.root, 'restore', '9.1', '--force', '--watch', '3s'], { reject: false, stdin: 'ignore', timeout: 60_000 });
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
});
