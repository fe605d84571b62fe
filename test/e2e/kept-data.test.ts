/**
 * Data kept or removed (#15 point 4), end to end through the CLI on real sandboxes: story 1.8 keeps its quality
 * metrics in place by default, `--purge-data` removes them, `--keep-data` keeps every data path, and restore
 * round-trips each way byte for byte, treating kept data identical to its backup as no conflict.
 */
import { appendFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildSandbox, listTree, type Sandbox } from '../../dev/sandbox/build-sandbox.js';
import { BUILTIN_STORIES } from '../../src/stories/index.js';
import { cli, cliJson, isRunArtifact } from './cli-helpers.js';
import { footprintOf, keptOf, under } from './story-helpers.js';

const sandboxes: Sandbox[] = [];
afterEach(async () => {
  while (sandboxes.length > 0) await sandboxes.pop()?.cleanup();
});

async function qaSandbox(): Promise<Sandbox> {
  const sb = await buildSandbox({ services: false, only: ['1.8'] });
  sandboxes.push(sb);
  return sb;
}

/** 1.8's quality metrics and records, kept by default; the rest of its footprint; its data paths. */
const KEPT = keptOf(['1.8']);
const GONE = footprintOf(['1.8']);
const DATA = BUILTIN_STORIES.find((s) => s.id === '1.8')!.data.map((p) => p.replace(/\/$/, ''));

/** The project as a person sees it: every path and its sha256 (or link target), without the run's own files. */
function project(root: string): Map<string, string> {
  return new Map([...listTree(root)].filter(([rel]) => !isRunArtifact(rel)));
}

/** The entries of `tree` at or below the given paths. */
function within(tree: Map<string, string>, prefixes: string[]): Map<string, string> {
  return new Map([...tree].filter(([rel]) => under(rel, prefixes)));
}

type KeptPath = { path: string; kept: { why: string; by: string } };
type Action = { kind: string; paths?: Array<{ path: string }>; kept?: KeptPath[] | Array<{ path: string; state: string }>; conflicts?: string[] };
type PlanJson = { data?: string; stories: Array<{ id: string; actions: Action[] }> };
type RunJson = { runId: string; status: string; stories: Array<{ id: string; status: string; backup: { path: string } | null }>; report: { json: string; markdown: string } };
type ReportJson = { keptData?: Array<{ story: string; path: string; why: string; by: string; backup: string | null }> };
type StatusJson = { stories: Array<{ id: string; installed: boolean; keptData: Array<{ path: string; why: string }> }> };

const action = (plan: PlanJson, kind: string): Action => plan.stories[0]!.actions.find((a) => a.kind === kind)!;
const sorted = (xs: string[]): string[] => [...xs].sort();
const readJson = <T>(root: string, rel: string): T => JSON.parse(readFileSync(path.join(root, rel), 'utf8')) as T;

describe('rollback 1.8 --force', () => {
  it('keeps the quality metrics in place, listed as kept; --purge-data removes them; restore round-trips both ways byte for byte', async () => {
    const sb = await qaSandbox();
    const before = project(sb.root);
    expect(KEPT).toEqual(expect.arrayContaining(['data/monitoring', 'logs/metrics', 'reports']));

    // The plan names each kept path with why and what removes it, in text and JSON.
    const dry = await cli(sb.root, ['rollback', '1.8', '--dry-run']);
    expect(dry.code).toBe(0);
    for (const k of BUILTIN_STORIES.find((s) => s.id === '1.8')!.keptData!) {
      expect(dry.stdout).toContain(`kept: ${k.path}`);
      expect(dry.stdout).toContain(`— ${k.why} (--purge-data removes it)`);
    }
    const plan = (await cliJson<PlanJson>(sb.root, ['rollback', '1.8', '--dry-run'])).json;
    const removal = action(plan, 'remove-paths');
    expect(sorted((removal.kept as KeptPath[]).map((p) => p.path))).toEqual(sorted(KEPT));
    for (const p of removal.kept as KeptPath[]) expect(p.kept.by).toBe('story');
    expect(removal.paths!.map((p) => p.path).filter((p) => KEPT.includes(p))).toEqual([]);

    const rb = await cliJson<RunJson>(sb.root, ['rollback', '1.8', '--force']);
    expect(rb.code, JSON.stringify(rb.json)).toBe(0);
    const after = project(sb.root);
    // Kept: every byte in place. The rest of the footprint: gone.
    expect(within(after, KEPT)).toEqual(within(before, KEPT));
    expect([...after.keys()].filter((rel) => under(rel, GONE))).toEqual([]);
    // The kept files sit in the verified backup all the same, with the same sha256.
    const backup = rb.json.stories[0]!.backup!.path;
    const manifest = readJson<{ meta: { kept: Array<{ path: string }> }; entries: Array<{ path: string; sha256?: string }> }>(sb.root, `${backup}/manifest.json`);
    const held = new Map(manifest.entries.map((e) => [e.path, e.sha256 ?? 'dir']));
    for (const [rel, hash] of within(before, KEPT)) expect(held.get(rel), rel).toBe(hash);
    expect(sorted(manifest.meta.kept.map((k) => k.path))).toEqual(sorted(KEPT));

    // The report (JSON and Markdown) and status list them as kept, with why.
    const report = readJson<ReportJson>(sb.root, rb.json.report.json);
    expect(sorted(report.keptData!.map((k) => k.path))).toEqual(sorted(KEPT));
    for (const k of report.keptData!) expect(k).toMatchObject({ story: '1.8', by: 'story', backup });
    const md = readFileSync(path.join(sb.root, rb.json.report.markdown), 'utf8');
    expect(md).toContain('Data kept in place (in the backup all the same, not removed):');
    for (const k of KEPT) expect(md).toContain(`- \`${k}\` — `);
    const status = (await cliJson<StatusJson>(sb.root, ['status'])).json.stories.find((s) => s.id === '1.8')!;
    expect(status.installed).toBe(false);
    expect(sorted(status.keptData.map((k) => k.path))).toEqual(sorted(KEPT));
    const statusText = (await cli(sb.root, ['status'])).stdout;
    expect(statusText).toMatch(/1\.8 +qa_framework +off +no \(data kept: \d+\)/);
    expect(statusText).toContain('1.8 data/monitoring/ (');

    // Restore: the kept data is identical to its backup, so nothing of it is written and nothing is in the way.
    const restoreDry = (await cli(sb.root, ['restore', '1.8', '--dry-run'])).stdout;
    for (const k of KEPT) expect(restoreDry).toContain(`kept: ${k} — in place, identical to the backup: nothing to write, no conflict`);
    expect(restoreDry).not.toContain('conflict:');
    const back = await cliJson<RunJson>(sb.root, ['restore', '1.8', '--force']);
    expect(back.code, JSON.stringify(back.json)).toBe(0);
    expect(readdirSync(path.join(sb.root, 'rollback_backups')).filter((n) => n.includes('_pre-restore_'))).toEqual([]);
    expect(project(sb.root)).toEqual(before);

    // --purge-data: the kept ones go too, after the backup; restore brings all of it back.
    const purge = await cliJson<RunJson>(sb.root, ['rollback', '1.8', '--force', '--purge-data']);
    expect(purge.code, JSON.stringify(purge.json)).toBe(0);
    expect([...project(sb.root).keys()].filter((rel) => under(rel, [...GONE, ...KEPT]))).toEqual([]);
    expect(readJson<ReportJson>(sb.root, purge.json.report.json).keptData).toBeUndefined();
    const back2 = await cliJson<RunJson>(sb.root, ['restore', '1.8', '--force']);
    expect(back2.code, JSON.stringify(back2.json)).toBe(0);
    expect(project(sb.root)).toEqual(before);
  });

  it('--keep-data keeps every data path; with --purge-data it is a usage error that changes nothing', async () => {
    const sb = await qaSandbox();
    const whole = listTree(sb.root);
    const both = await cli(sb.root, ['rollback', '1.8', '--force', '--keep-data', '--purge-data']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--keep-data.*--purge-data/);
    expect(listTree(sb.root)).toEqual(whole);

    const before = project(sb.root);
    expect(DATA.length).toBeGreaterThan(KEPT.length);
    const rb = await cliJson<RunJson>(sb.root, ['rollback', '1.8', '--force', '--keep-data']);
    expect(rb.code, JSON.stringify(rb.json)).toBe(0);
    const after = project(sb.root);
    expect(within(after, DATA)).toEqual(within(before, DATA));
    expect([...after.keys()].filter((rel) => under(rel, GONE.filter((p) => !DATA.includes(p))))).toEqual([]);
    const kept = readJson<ReportJson>(sb.root, rb.json.report.json).keptData!;
    expect(sorted(kept.map((k) => k.path))).toEqual(sorted(DATA));
    expect(kept.find((k) => k.path === 'logs/traces')?.by).toBe('keep-data');
    expect(kept.find((k) => k.path === 'data/monitoring')?.by).toBe('story');
  });

  it('a config extension keeps a path the story removes, with its why', async () => {
    const sb = await qaSandbox();
    writeFileSync(path.join(sb.root, 'config/rollback.yaml'), 'stories:\n  "1.8":\n    data:\n      - path: logs/traces/\n        keep: true\n        why: traces the auditors read\n');
    const dry = await cli(sb.root, ['rollback', '1.8', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/kept: logs\/traces\/ {2}\(.*\) — traces the auditors read \(--purge-data removes it\)/);
    const before = project(sb.root);
    expect((await cli(sb.root, ['rollback', '1.8', '--force'])).code).toBe(0);
    expect(within(project(sb.root), ['logs/traces', ...KEPT])).toEqual(within(before, ['logs/traces', ...KEPT]));
  });
});

describe('restore of kept data', () => {
  it('identical kept data is no conflict; kept data changed since is one, refused without --force', async () => {
    const sb = await qaSandbox();
    const before = project(sb.root);
    expect((await cli(sb.root, ['rollback', '1.8', '--force'])).code).toBe(0);
    appendFileSync(path.join(sb.root, 'logs/alerts.log'), 'an alert written after the rollback\n');
    const plan = (await cliJson<PlanJson>(sb.root, ['restore', '1.8', '--dry-run'])).json;
    const files = action(plan, 'restore-files');
    expect(files.conflicts).toEqual(['logs/alerts.log']);
    const states = Object.fromEntries((files.kept as Array<{ path: string; state: string }>).map((k) => [k.path, k.state]));
    expect(states).toEqual(Object.fromEntries(KEPT.map((k) => [k, k === 'logs/alerts.log' ? 'changed' : 'identical'])));
    const refused = await cli(sb.root, ['restore', '1.8']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('exist again: logs/alerts.log');
    expect(refused.stderr).not.toContain('data/monitoring');
    // --force replaces it, after a backup of the changed file.
    expect((await cli(sb.root, ['restore', '1.8', '--force'])).code).toBe(0);
    expect(project(sb.root)).toEqual(before);
    expect(readdirSync(path.join(sb.root, 'rollback_backups')).filter((n) => n.includes('_pre-restore_'))).toHaveLength(1);
  });
});

describe('resume', () => {
  type JournalRecord = { event: string; kind?: string; detail?: { plan?: PlanJson } };
  /** The records of the interrupted run's journal: the one without a run-end (two runs may start in one second). */
  const journal = (root: string): JournalRecord[] => {
    const dir = path.join(root, '.rollback-manager/journal');
    const all = readdirSync(dir).map((j) => readFileSync(path.join(dir, j), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as JournalRecord));
    const open = all.filter((records) => records.at(-1)?.event !== 'run-end');
    expect(open).toHaveLength(1);
    return open[0] as JournalRecord[];
  };
  /** Where the kill landed: the last record of the interrupted run. */
  const lastRecord = (root: string): JournalRecord => journal(root).at(-1) as JournalRecord;

  it('keeps --purge-data when it plans the rest after the kill switch (of a story already rolled back), and --keep-data from the journaled plan', async () => {
    const sb = await qaSandbox();
    const before = project(sb.root);
    expect((await cli(sb.root, ['rollback', '1.8', '--force'])).code).toBe(0);
    // Killed right after the kill switch, before the whole plan: resume plans the rest with the run's choice,
    // and removes the data the first rollback kept, and nothing else.
    const killed = await cli(sb.root, ['rollback', '1.8', '--force', '--purge-data'], { ROLLBACK_MANAGER_CRASH_AFTER: '3' });
    expect(killed.code).not.toBe(0);
    expect(lastRecord(sb.root)).toMatchObject({ event: 'done', kind: 'disable-flag' });
    expect(journal(sb.root)[0]?.detail?.plan?.data).toBe('purge');
    const resumed = await cliJson<RunJson>(sb.root, ['resume']);
    expect(resumed.code, JSON.stringify(resumed.json)).toBe(0);
    const rest = (tree: Map<string, string>): Map<string, string> => new Map([...tree].filter(([rel]) => !under(rel, [...GONE, ...KEPT]) && rel !== '.env'));
    expect([...project(sb.root).keys()].filter((rel) => under(rel, KEPT))).toEqual([]);
    expect(rest(project(sb.root))).toEqual(rest(before));

    // Killed after the backup: the journaled plan keeps every data path.
    const sb2 = await qaSandbox();
    const before2 = project(sb2.root);
    const killed2 = await cli(sb2.root, ['rollback', '1.8', '--force', '--keep-data'], { ROLLBACK_MANAGER_CRASH_AFTER: '9' });
    expect(killed2.code).not.toBe(0);
    expect(lastRecord(sb2.root)).toMatchObject({ event: 'done', kind: 'backup' });
    const resumed2 = await cliJson<RunJson>(sb2.root, ['resume']);
    expect(resumed2.code, JSON.stringify(resumed2.json)).toBe(0);
    expect(within(project(sb2.root), DATA)).toEqual(within(before2, DATA));
    expect(existsSync(path.join(sb2.root, 'tools/data-services/monitoring-engine.js'))).toBe(false);
  });
});
