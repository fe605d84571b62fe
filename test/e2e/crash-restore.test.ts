/**
 * The other runs a kill can interrupt: a restore (killed after each of its journal records, then resumed
 * or aborted), a resume killed in its turn (then resumed again), a run killed while it reverted a failed
 * step, and a kill in the middle of the flags write.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { cli, cliJson } from './cli-helpers.js';
import { CRASH_RUN, crashSandbox, flagStates, leftovers, referenceRun, snapshotTree, treeDiff } from './crash-helpers.js';

it('a restore killed at every journaled step ends consistent after resume or abort', async () => {
  const failures: string[] = [];
  let records = 0;
  for (let n = 1; records === 0 || n < records; n++) {
    const sb = await crashSandbox();
    try {
      const before = snapshotTree(sb.root);
      const flagsBefore = flagStates(sb.root);
      expect((await cli(sb.root, ['rollback', '1.4', '--force'])).code).toBe(0);
      const mid = snapshotTree(sb.root);
      const flagsMid = flagStates(sb.root);
      if (records === 0) {
        // Learn how many records a whole restore writes, from one that is not interrupted.
        const whole = await cliJson<{ runId: string; status: string }>(sb.root, ['restore', '1.4', '--force']);
        expect(whole.json.status).toBe('restored');
        records = readFileSync(path.join(sb.root, '.rollback-manager/journal', `${whole.json.runId}.jsonl`), 'utf8').trim().split('\n').length;
        expect(records).toBeGreaterThan(6);
        n = 0;
        continue;
      }
      const killed = await cli(sb.root, ['restore', '1.4', '--force'], { ROLLBACK_MANAGER_CRASH_AFTER: String(n) });
      const mode = n % 2 === 0 ? 'resume' : 'abort';
      const problems: string[] = [];
      if (killed.code !== -1) problems.push(`the restore was not killed (exit ${killed.code})`);
      const rec = await cliJson<{ status: string }>(sb.root, [mode]);
      const want = mode === 'resume' ? 'restored' : 'reverted';
      if (rec.code !== 0 || rec.json.status !== want) problems.push(`${mode} exited ${rec.code}, status ${rec.json.status}: ${rec.stderr.trim().split('\n').slice(-2).join(' | ')}`);
      problems.push(...leftovers(sb.root));
      if (mode === 'resume') {
        // The round trip: byte-identical to before the rollback, flags as they were.
        problems.push(...treeDiff(before, snapshotTree(sb.root)));
        if (JSON.stringify(flagStates(sb.root)) !== JSON.stringify(flagsBefore)) problems.push('flags differ from before the rollback');
      } else {
        problems.push(...treeDiff(mid, snapshotTree(sb.root)));
        if (JSON.stringify(flagStates(sb.root)) !== JSON.stringify(flagsMid)) problems.push('flags differ from after the rollback');
        // And the way back still works.
        const again = await cli(sb.root, ['restore', '1.4', '--force']);
        if (again.code !== 0) problems.push(`restore after the abort exited ${again.code}: ${again.stderr}`);
        else problems.push(...treeDiff(before, snapshotTree(sb.root)).map((d) => `after restoring again: ${d}`));
      }
      failures.push(...problems.map((p) => `restore killed after record ${n}, then ${mode}: ${p}`));
    } finally {
      await sb.cleanup();
    }
  }
  expect(failures).toEqual([]);
}, 300_000);

it('a resume killed in its turn is resumed again, ending as an uninterrupted run', async () => {
  const ref = await referenceRun();
  const failures: string[] = [];
  // [the run's own kill point, the resume's kill point] — in the first story, between stories, in the second.
  for (const [n, m] of [
    [9, 2],
    [15, 4],
    [21, 3],
  ] as const) {
    const sb = await crashSandbox();
    try {
      expect((await cli(sb.root, CRASH_RUN, { ROLLBACK_MANAGER_CRASH_AFTER: String(n) })).code).toBe(-1);
      expect((await cli(sb.root, ['resume'], { ROLLBACK_MANAGER_CRASH_AFTER: String(m) })).code).toBe(-1);
      const rec = await cliJson<{ status: string }>(sb.root, ['resume']);
      const problems = [
        ...(rec.code === 0 && rec.json.status === 'rolled-back' ? [] : [`second resume exited ${rec.code}: ${rec.stderr}`]),
        ...leftovers(sb.root),
        ...treeDiff(ref.tree, snapshotTree(sb.root)),
        ...(JSON.stringify(flagStates(sb.root)) === JSON.stringify(ref.flags) ? [] : ['flags differ from an uninterrupted run']),
      ];
      failures.push(...problems.map((p) => `run killed after record ${n}, resume after its record ${m}: ${p}`));
    } finally {
      await sb.cleanup();
    }
  }
  expect(failures).toEqual([]);
}, 120_000);

it('a kill in the middle of the flags write leaves the old file whole; the torn temp file is cleared by resume and by abort', async () => {
  const ref = await referenceRun();
  for (const mode of ['resume', 'abort'] as const) {
    const sb = await crashSandbox();
    try {
      const flagsFile = path.join(sb.root, 'config/feature-flags.yaml');
      const original = readFileSync(flagsFile, 'utf8');
      // Records 1–3: run-start, the flag step's intent, and its checkpoint, written just before the write.
      expect((await cli(sb.root, CRASH_RUN, { ROLLBACK_MANAGER_CRASH_AFTER: '3' })).code).toBe(-1);
      // What a kill during the write itself leaves beside the untouched file: half a temp file.
      writeFileSync(path.join(sb.root, 'config', `.feature-flags.yaml.tmp-99999-0123456789ab`), original.slice(0, 100));
      expect(readFileSync(flagsFile, 'utf8')).toBe(original);
      const rec = await cliJson<{ status: string }>(sb.root, [mode]);
      expect(rec.code).toBe(0);
      expect(leftovers(sb.root)).toEqual([]);
      if (mode === 'resume') expect(treeDiff(ref.tree, snapshotTree(sb.root))).toEqual([]);
      else expect(readFileSync(flagsFile, 'utf8')).toBe(original);
    } finally {
      await sb.cleanup();
    }
  }
}, 120_000);

it.skipIf(process.getuid?.() !== 0)('a run killed while it reverted a failed step is finished by resume (exit 1) or abort (exit 0), nothing lost', async () => {
  const dbt = (root: string): string => path.join(root, 'bmad-data-practitioner/dbt-project');
  /** An immutable file deep in 1.4's footprint: its removal fails half-way and the run reverts 1.4. */
  const jam = async (root: string): Promise<string | null> => {
    const dir = dbt(root);
    const victim = path.join(dir, readdirSync(dir).sort()[0] as string);
    return (await execa('chattr', ['+i', victim], { reject: false })).exitCode === 0 ? victim : null;
  };
  // Where the 'failed' record falls, from a run that is not interrupted.
  const probe = await crashSandbox();
  let failedAt = 0;
  try {
    const victim = await jam(probe.root);
    if (victim === null) return; // a file system without attributes: nothing to prove here
    const run = await cliJson<{ runId: string }>(probe.root, CRASH_RUN);
    await execa('chattr', ['-i', victim], { reject: false });
    expect(run.code).toBe(1);
    const lines = readFileSync(path.join(probe.root, '.rollback-manager/journal', `${run.json.runId}.jsonl`), 'utf8').trim().split('\n');
    failedAt = lines.findIndex((l) => l.includes('"event":"failed"')) + 1;
    expect(failedAt).toBeGreaterThan(0);
  } finally {
    await probe.cleanup();
  }
  const failures: string[] = [];
  for (const [n, mode] of [
    [failedAt, 'resume'],
    [failedAt + 1, 'abort'],
    [failedAt + 2, 'resume'],
  ] as const) {
    const sb = await crashSandbox();
    try {
      const before = snapshotTree(sb.root);
      const flagsBefore = flagStates(sb.root);
      const victim = await jam(sb.root);
      const killed = await cli(sb.root, CRASH_RUN, { ROLLBACK_MANAGER_CRASH_AFTER: String(n) });
      if (victim) await execa('chattr', ['-i', victim], { reject: false });
      const rec = await cliJson<{ status: string }>(sb.root, [mode]);
      const want = mode === 'resume' ? [1, 'failed'] : [0, 'reverted'];
      const problems = [
        ...(killed.code === -1 ? [] : [`not killed (exit ${killed.code})`]),
        ...(rec.code === want[0] && rec.json.status === want[1] ? [] : [`${mode} exited ${rec.code} with ${rec.json.status}: ${rec.stderr}`]),
        ...leftovers(sb.root),
        ...treeDiff(before, snapshotTree(sb.root)),
        ...(JSON.stringify(flagStates(sb.root)) === JSON.stringify(flagsBefore) ? [] : ['flags differ from before the run']),
      ];
      failures.push(...problems.map((p) => `killed after record ${n} (the failure is ${failedAt}), then ${mode}: ${p}`));
    } finally {
      await sb.cleanup();
    }
  }
  expect(failures).toEqual([]);
}, 120_000);
