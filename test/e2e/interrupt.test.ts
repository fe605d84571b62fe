import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { buildSandbox, listTree, type Sandbox } from '../../dev/sandbox/build-sandbox.js';
import { CLI, cli, cliJson, isRunArtifact } from './cli-helpers.js';
import { footprintOf, storyFlags, under } from './story-helpers.js';

const PTY_RUN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'pty-run.py');

const sandboxes: Sandbox[] = [];
afterEach(async () => {
  while (sandboxes.length > 0) await sandboxes.pop()?.cleanup();
});

/** Every story installed; 1.3's database big enough that its backup is still running when Ctrl-C comes. */
async function sandbox(): Promise<Sandbox> {
  const sb = await buildSandbox({ services: false, dataBytes: 256 * 1024 * 1024 });
  sandboxes.push(sb);
  return sb;
}

interface PtyRun {
  exitCode: number | null;
  signal: number | null;
  pressed: number;
  output: string;
}

/** `rollback all --force` in a real terminal, with Ctrl-C pressed `times` once 1.3's backup has begun. */
async function rollbackInTerminal(root: string, times: 1 | 2): Promise<PtyRun> {
  const when = '"event":"intent","story":"1.3","kind":"backup"';
  const r = await execa('python3', [PTY_RUN, path.join(root, '.rollback-manager', 'journal'), when, String(times), '--', process.execPath, CLI, '--root', root, 'rollback', 'all', '--force'], {
    timeout: 180_000,
  });
  return JSON.parse(r.stdout) as PtyRun;
}


/** Shared files the rolled-back stories edit in place. */
const EDITED = new Set(['.env', 'package.json', 'package-lock.json']);

describe('Ctrl-C in a terminal', () => {
  it('stops after the current step, puts the story in progress back, writes the report and exits 130', async () => {
    const sb = await sandbox();
    const before = listTree(sb.root);
    const run = await rollbackInTerminal(sb.root, 1);
    expect(run.pressed).toBe(1);
    expect(run.output).toContain('stopping after the current step');
    expect(run.exitCode).toBe(130);

    const rep = await cliJson<{ runs: Array<{ runId: string; status: string }> }>(sb.root, ['history']);
    expect(rep.json.runs[0]?.status).toBe('interrupted');
    const report = JSON.parse(readFileSync(path.join(sb.root, 'rollback_reports', `${rep.json.runs[0]?.runId}.json`), 'utf8')) as {
      stories: Array<{ id: string; status: string; error?: string }>;
    };
    const status = Object.fromEntries(report.stories.map((s) => [s.id, s.status]));
    // Ctrl-C came during 1.3's backup: the stories before it are done, 1.3 is put back, 1.2 was not reached.
    expect(status).toEqual({ '1.8': 'rolled-back', '1.7': 'rolled-back', '1.6': 'rolled-back', '1.5': 'rolled-back', '1.4': 'rolled-back', '1.3': 'reverted', '1.2': 'skipped' });
    expect(report.stories.find((s) => s.id === '1.3')?.error).toBe('interrupted by SIGINT');
    expect(storyFlags(sb.root)).toEqual({ '1.2': true, '1.3': true, '1.4': false, '1.5': false, '1.6': false, '1.7': false, '1.8': false });
    // Everything of 1.3 and 1.2 is where it was; only what the finished stories owned is gone.
    const gone = footprintOf(['1.4', '1.5', '1.6', '1.7', '1.8']);
    const after = listTree(sb.root);
    for (const [rel, hash] of before) {
      if (isRunArtifact(rel) || EDITED.has(rel) || under(rel, gone)) continue;
      expect(after.get(rel), rel).toBe(hash);
    }
    // The run ended properly: nothing to resume, no lock left.
    expect((await cli(sb.root, ['resume'])).code).toBe(2);
    expect(existsSync(path.join(sb.root, '.rollback-manager', 'lock'))).toBe(false);
  });

  it('a second Ctrl-C stops at once; the journal then lets abort put everything back', async () => {
    const sb = await sandbox();
    const before = listTree(sb.root);
    const run = await rollbackInTerminal(sb.root, 2);
    expect(run.pressed).toBe(2);
    expect(run.output).toContain('stopping now');
    expect(run.exitCode).toBe(130);
    const abort = await cliJson<{ status: string }>(sb.root, ['abort']);
    expect(abort.code).toBe(0);
    expect(abort.json.status).toBe('reverted');
    expect(Object.values(storyFlags(sb.root)).every((on) => on)).toBe(true);
    const after = listTree(sb.root);
    for (const [rel, hash] of before) if (!isRunArtifact(rel)) expect(after.get(rel), rel).toBe(hash);
  });
});
