import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildSandbox, type Sandbox } from '../../dev/sandbox/build-sandbox.js';
import { cli, cliJson } from './cli-helpers.js';

const sandboxes: Sandbox[] = [];
afterEach(async () => {
  while (sandboxes.length > 0) await sandboxes.pop()?.cleanup();
});

type RunJson = { runId: string; stories: Array<{ id: string; status: string; backup: { id: string } | null }> };

/** Rolls 1.8 back and restores it `n` times, changing a file in between, so each backup holds other bytes. */
async function cycles(sb: Sandbox, n: number): Promise<string[]> {
  const ids: string[] = [];
  const file = path.join(sb.root, 'config/quality-assurance/quality-gates.yaml');
  for (let i = 1; i <= n; i++) {
    writeFileSync(file, `# version ${i}\nthreshold: ${i}\n`);
    const rb = await cliJson<RunJson>(sb.root, ['rollback', '1.8', '--force']);
    expect(rb.code).toBe(0);
    ids.push(rb.json.stories[0]!.backup!.id);
    if (i < n) expect((await cli(sb.root, ['restore', '1.8', '--force'])).code).toBe(0);
  }
  return ids;
}

describe('retention, versions and history', () => {
  it('restore --to-version 2 brings back the second most recent state', async () => {
    const sb = await buildSandbox({ services: false, only: ['1.8'] });
    sandboxes.push(sb);
    const ids = await cycles(sb, 3);
    expect(new Set(ids).size).toBe(3);
    const r = await cliJson<RunJson>(sb.root, ['restore', '1.8', '--to-version', '2', '--force']);
    expect(r.code).toBe(0);
    expect(r.json.stories[0]?.backup?.id).toBe(ids[1]);
    expect(readFileSync(path.join(sb.root, 'config/quality-assurance/quality-gates.yaml'), 'utf8')).toBe('# version 2\nthreshold: 2\n');
    expect((await cli(sb.root, ['restore', '1.8', '--to-version', '9', '--dry-run'])).code).toBe(2);
  });

  it('prune keeps the newest N and never the one a rolled-back story needs; --dry-run deletes nothing', async () => {
    const sb = await buildSandbox({ services: false, only: ['1.8'] });
    sandboxes.push(sb);
    const ids = await cycles(sb, 3); // 1.8 is rolled back now: its newest backup is what restore needs
    const dir = path.join(sb.root, 'rollback_backups');
    const dry = await cliJson<{ remove: Array<{ id: string }>; kept: Array<{ id: string; why: string }> }>(sb.root, ['prune', '--keep', '0', '--dry-run']);
    expect(dry.json.remove.map((b) => b.id).sort()).toEqual([ids[0], ids[1]].sort());
    expect(dry.json.kept).toEqual([{ id: ids[2], story: '1.8', why: 'story 1.8 is rolled back: restore needs it' }]);
    expect(readdirSync(dir).sort()).toEqual([...ids].sort());
    expect((await cli(sb.root, ['prune', '--keep', '0'])).code).toBe(2); // no terminal, no --force
    const done = await cli(sb.root, ['prune', '--keep', '0', '--force']);
    expect(done.code).toBe(0);
    expect(readdirSync(dir)).toEqual([ids[2]]);
    expect((await cli(sb.root, ['restore', '1.8', '--force'])).code).toBe(0);
    const audit = readFileSync(path.join(sb.root, 'logs/security.log'), 'utf8');
    expect(audit).toContain('"event":"backups_pruned"');
  });

  it('history lists every run with trigger, reason, status and backup, and names a run a kill interrupted', async () => {
    const sb = await buildSandbox({ services: false, only: ['1.8'] });
    sandboxes.push(sb);
    const rb = await cliJson<RunJson>(sb.root, ['rollback', '1.8', '--force', '--reason', 'qa flaky']);
    // What a kill -9 during a run leaves: a journal that starts and never ends, and no report.
    const journal = path.join(sb.root, '.rollback-manager/journal');
    mkdirSync(journal, { recursive: true });
    const plan = { version: 1, operation: 'rollback', runId: '29991231-000000-dead', trigger: 'monitor', reason: 'error rate 14%', stories: [{ id: '1.8' }] };
    writeFileSync(path.join(journal, '29991231-000000-dead.jsonl'), `${JSON.stringify({ at: new Date().toISOString(), runId: plan.runId, event: 'run-start', detail: { plan } })}\n`);
    const h = await cliJson<{ runs: Array<{ runId: string; status: string; trigger: string; reason: string; stories: Array<{ id: string; backup: string | null }> }> }>(sb.root, ['history', '1.8']);
    expect(h.json.runs.map((r) => [r.runId, r.status, r.trigger, r.reason])).toEqual([
      [rb.json.runId, 'rolled-back', 'manual', 'qa flaky'],
      ['29991231-000000-dead', 'interrupted', 'monitor', 'error rate 14%'],
    ]);
    expect(h.json.runs[0]?.stories[0]?.backup).toBe(rb.json.stories[0]?.backup?.id);
    const status = await cli(sb.root, ['status']);
    expect(status.stdout).toContain('Interrupted run: 29991231-000000-dead');
  });
});
