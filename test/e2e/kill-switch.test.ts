import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { buildSandbox, listTree, type Sandbox } from '../../dev/sandbox/build-sandbox.js';
import { BUILTIN_STORIES } from '../../src/stories/index.js';
import { readJournal, type JournalRecord } from '../../src/engine/journal.js';
import { cli, cliJson, isRunArtifact } from './cli-helpers.js';
import { footprintOf, storyFlags, under } from './story-helpers.js';

const sandboxes: Sandbox[] = [];
afterEach(async () => {
  while (sandboxes.length > 0) await sandboxes.pop()?.cleanup();
});

async function sandbox(): Promise<Sandbox> {
  const sb = await buildSandbox({ services: false });
  sandboxes.push(sb);
  return sb;
}

interface RunJson {
  runId: string;
  status: string;
  stories: Array<{ id: string; status: string; error?: string }>;
}

/** Each story's flag as the flags file says now. */

function journalOf(root: string, runId: string): JournalRecord[] {
  return readJournal(path.join(root, '.rollback-manager', 'journal', `${runId}.jsonl`));
}


const ALL_ON = Object.fromEntries(BUILTIN_STORIES.map((s) => [s.id, true]));

describe('the kill switch comes first', () => {
  it('rollback all turns every flag of the run off in one write, before any story is stopped, backed up or removed', async () => {
    const sb = await sandbox();
    expect(storyFlags(sb.root)).toEqual(ALL_ON);
    const run = await cli(sb.root, ['rollback', 'all', '--force']);
    expect(run.code).toBe(0);
    const runId = /Run (\S+) \(rollback\)/.exec(run.stdout)?.[1] as string;
    const journal = journalOf(sb.root, runId);
    const at = (pred: (r: JournalRecord) => boolean): number[] => journal.flatMap((r, i) => (pred(r) ? [i] : []));
    const flagDone = at((r) => r.event === 'done' && r.kind === 'disable-flag');
    const flagAnnounced = at((r) => r.event === 'progress' && r.kind === 'disable-flag');
    const otherWork = at((r) => r.event === 'intent' && r.kind !== 'disable-flag');
    // Every story's flag step is done before the first other step of any story begins…
    expect(flagDone).toHaveLength(7);
    expect(Math.max(...flagDone)).toBeLessThan(Math.min(...otherWork));
    // …and it was one write: every story announced its changes before any of them was done.
    expect(flagAnnounced).toHaveLength(7);
    expect(Math.max(...flagAnnounced)).toBeLessThan(Math.min(...flagDone));
    expect(Object.values(storyFlags(sb.root)).every((on) => !on)).toBe(true);
    // The progress a person watches says so, in that order.
    const lines = run.stderr.split('\n');
    const lastFlagLine = Math.max(...lines.flatMap((l, i) => (/ok +flags: /.test(l) ? [i] : [])));
    const firstStoryLine = lines.findIndex((l) => /rolling back/.test(l));
    expect(lastFlagLine).toBeGreaterThanOrEqual(0);
    expect(lastFlagLine).toBeLessThan(firstStoryLine);
    expect(run.stderr).toContain('done first, for every story of the run at once');
  });

  it('killed right after the kill switch: abort turns every flag back on and nothing else was touched', async () => {
    const sb = await sandbox();
    const before = listTree(sb.root);
    // run-start, then per story an intent and a checkpoint, then per story its result: 1 + 7 + 7 + 7 records.
    const killed = await cli(sb.root, ['rollback', 'all', '--force'], { ROLLBACK_MANAGER_CRASH_AFTER: '22' });
    expect(killed.code).not.toBe(0);
    expect(Object.values(storyFlags(sb.root)).every((on) => !on)).toBe(true);
    const during = listTree(sb.root);
    for (const [rel, hash] of before) if (!isRunArtifact(rel)) expect(during.get(rel), rel).toBe(hash);
    const abort = await cliJson<RunJson>(sb.root, ['abort']);
    expect(abort.code).toBe(0);
    expect(abort.json.status).toBe('reverted');
    expect(storyFlags(sb.root)).toEqual(ALL_ON);
  });

  it('killed right after the kill switch, before the rest was planned: resume plans it then and finishes the run', async () => {
    const sb = await sandbox();
    const killed = await cli(sb.root, ['rollback', 'all', '--force'], { ROLLBACK_MANAGER_CRASH_AFTER: '22' });
    expect(killed.code).not.toBe(0);
    const resumed = await cliJson<RunJson>(sb.root, ['resume']);
    expect(resumed.code).toBe(0);
    expect(resumed.json.status).toBe('rolled-back');
    expect(resumed.json.stories.map((s) => s.status)).toEqual(Array(7).fill('rolled-back'));
    expect(Object.values(storyFlags(sb.root)).every((on) => !on)).toBe(true);
    const left = [...listTree(sb.root).keys()].filter((rel) => !isRunArtifact(rel) && under(rel, footprintOf(BUILTIN_STORIES.map((s) => s.id))));
    expect(left).toEqual([]);
    expect((await cli(sb.root, ['verify'])).code).toBe(0);
  });

  it.skipIf(process.getuid?.() !== 0)('a story that fails stops the run; the flags of every story the run did not finish go back on', async () => {
    const sb = await sandbox();
    const victim = path.join(sb.root, 'tools/data-services/publication-engine.js'); // 1.7's: its removal fails
    if ((await execa('chattr', ['+i', victim], { reject: false })).exitCode !== 0) return;
    let run: { code: number; json: RunJson };
    try {
      run = await cliJson<RunJson>(sb.root, ['rollback', 'all', '--force']);
    } finally {
      await execa('chattr', ['-i', victim], { reject: false });
    }
    expect(run.code).toBe(1);
    const status = Object.fromEntries(run.json.stories.map((s) => [s.id, s.status]));
    expect(status).toEqual({ '1.8': 'rolled-back', '1.7': 'reverted', '1.6': 'skipped', '1.5': 'skipped', '1.4': 'skipped', '1.3': 'skipped', '1.2': 'skipped' });
    // Only the story the run finished stays off; the others are as they were before the run.
    expect(storyFlags(sb.root)).toEqual({ ...ALL_ON, '1.8': false });
    const report = readFileSync(path.join(sb.root, 'rollback_reports', `${run.json.runId}.md`), 'utf8');
    expect(report).toMatch(/## Story 1\.3 — [^\n]*: skipped[\s\S]*?\| disable-flag \| reverted \|/);
    expect(report).toContain('turned back: the run did not finish this story');
  });
});
