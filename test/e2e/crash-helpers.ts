/**
 * Shared by the crash tests: a sandbox with enough files that backup and removal take a while, a tree
 * snapshot, and the checks that a recovered project is consistent.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { buildSandbox, diffTrees, listTree, type Sandbox } from '../../dev/sandbox/index.js';
import { cli, cliJson, isRunArtifact, type CliResult } from './cli-helpers.js';

/** The run every crash test interrupts: two stories (1.4 first, then 1.3), each with every kind of step. */
export const CRASH_RUN = ['rollback', '1.3', '--cascade', '--force', '--reason', 'crash test'];

/**
 * 1.3 and 1.4 installed, their services running; with `extraFiles`, many small files in 1.3's cache. 1.4's
 * `profiles.yml` lives outside the project and is linked from its dbt folder, as dbt users do: every
 * interrupted run removes, puts back or restores a link leading out of the root (relative, so that the
 * trees of two sandboxes compare equal).
 */
export async function crashSandbox(extraFiles = 0): Promise<Sandbox> {
  const sb = await buildSandbox({ services: true, only: ['1.3', '1.4'] });
  const profiles = path.join(sb.root, 'bmad-data-practitioner/dbt-project/profiles.yml');
  const moved = path.join(sb.outside, '.dbt/profiles.yml');
  mkdirSync(path.dirname(moved));
  renameSync(profiles, moved);
  symlinkSync(path.relative(path.dirname(profiles), moved), profiles);
  for (let d = 0; d < (extraFiles > 0 ? 30 : 0); d++) {
    const dir = path.join(sb.root, '.cache/analytics', `part-${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < extraFiles / 30; f++) writeFileSync(path.join(dir, `chunk-${f}.json`), `{"part":${d},"chunk":${f},"pad":"${'x'.repeat(200 + f)}"}\n`);
  }
  return sb;
}

/** One entry of a tree: a file's sha256, a link's target, or "dir". */
export type Tree = Map<string, string>;

/** {@link listTree} of `root`, only the paths `keep` accepts (by default: not the run's own artifacts). */
export function snapshotTree(root: string, keep: (rel: string) => boolean = (rel) => !isRunArtifact(rel)): Tree {
  return new Map([...listTree(root)].filter(([rel]) => keep(rel)));
}

/** `enabled` of every feature in the flags file. */
export function flagStates(root: string): Record<string, boolean> {
  const doc = parse(readFileSync(path.join(root, 'config/feature-flags.yaml'), 'utf8')) as { features: Record<string, { enabled: boolean }> };
  return Object.fromEntries(Object.entries(doc.features).map(([k, v]) => [k, v.enabled]));
}

/** {@link diffTrees} from `want` to `got`, as lines for a readable failure. */
export function treeDiff(want: Tree, got: Tree): string[] {
  const d = diffTrees(want, got);
  return [...d.changed.map((p) => `changed: ${p}`), ...d.removed.map((p) => `missing: ${p}`), ...d.added.map((p) => `extra: ${p}`)].slice(0, 10);
}

/** Files the recovery must not leave: temp files of atomic writes, staging, the lock, half-made backups. */
export function leftovers(root: string): string[] {
  const out: string[] = [];
  for (const p of listTree(root).keys()) if (/\.tmp-\d+-[0-9a-f]+$/.test(p)) out.push(`temp file ${p}`);
  const staging = path.join(root, '.rollback-manager/staging');
  if (existsSync(staging) && readdirSync(staging).length > 0) out.push(`staging: ${readdirSync(staging).join(', ')}`);
  if (existsSync(path.join(root, '.rollback-manager/lock'))) out.push('lock file');
  const backups = path.join(root, 'rollback_backups');
  for (const b of existsSync(backups) ? readdirSync(backups) : []) {
    if (!existsSync(path.join(backups, b, 'manifest.json'))) out.push(`backup without manifest: ${b}`);
  }
  return out;
}

/** Files a rollback edits rather than removes. */
const SHARED_FILES = new Set(['.env', 'package.json', 'package-lock.json']);

/** Every file of `before` that is neither in place unchanged nor held, with the same sha256, by a backup manifest. */
export function bytesLost(root: string, before: Tree): string[] {
  const now = snapshotTree(root);
  const held = new Set<string>();
  const backups = path.join(root, 'rollback_backups');
  for (const b of existsSync(backups) ? readdirSync(backups) : []) {
    if (!existsSync(path.join(backups, b, 'manifest.json'))) continue; // half made: holds nothing for sure
    const m = JSON.parse(readFileSync(path.join(backups, b, 'manifest.json'), 'utf8')) as { entries: Array<{ path: string; type: string; sha256?: string }> };
    for (const e of m.entries) if (e.type === 'file') held.add(`${e.path}\0${e.sha256}`);
  }
  const lost: string[] = [];
  for (const [p, v] of before) {
    // Shared files are edited, not removed: what was cut from them is in a manifest's records, checked by
    // comparing the whole tree with the expected one.
    if (v === 'dir' || v.startsWith('link:') || SHARED_FILES.has(p)) continue;
    if (now.get(p) !== v && !held.has(`${p}\0${v}`)) lost.push(p);
  }
  return lost;
}

/** What an uninterrupted run of {@link CRASH_RUN} leaves, to compare a resumed run with. */
export interface Reference {
  tree: Tree;
  flags: Record<string, boolean>;
  /** Journal records the uninterrupted run writes. */
  records: number;
  /** How long 1.3's backup and its removal took, ms. */
  backupMs: number;
  removeMs: number;
}

/** Runs {@link CRASH_RUN} without interruption on a fresh sandbox. */
export async function referenceRun(extraFiles = 0): Promise<Reference> {
  const sb = await crashSandbox(extraFiles);
  try {
    const r = await cliJson<{ runId: string; status: string; report: { json: string } }>(sb.root, CRASH_RUN);
    if (r.code !== 0) throw new Error(`reference run failed: ${r.stderr}`);
    const journal = readFileSync(path.join(sb.root, '.rollback-manager/journal', `${r.json.runId}.jsonl`), 'utf8');
    const report = JSON.parse(readFileSync(path.join(sb.root, r.json.report.json), 'utf8')) as {
      stories: Array<{ id: string; steps: Array<{ kind: string; durationMs: number }> }>;
    };
    const steps = report.stories.find((s) => s.id === '1.3')?.steps ?? [];
    const ms = (kind: string): number => steps.find((s) => s.kind === kind)?.durationMs ?? 0;
    return { tree: snapshotTree(sb.root), flags: flagStates(sb.root), records: journal.trim().split('\n').length, backupMs: ms('backup'), removeMs: ms('remove-paths') };
  } finally {
    await sb.cleanup();
  }
}

/**
 * Interrupts {@link CRASH_RUN} with `interrupt` (which returns the killed run), then runs `mode` and checks
 * everything a user relies on. Returns the problems found (empty: consistent).
 */
export async function crashAndRecover(
  ref: Reference,
  mode: 'resume' | 'abort',
  interrupt: (root: string) => Promise<CliResult>,
  opts: { extraFiles?: number; checkStatus?: boolean; landed?: (lastRecord: string) => void } = {},
): Promise<string[]> {
  const sb = await crashSandbox(opts.extraFiles ?? 0);
  const problems: string[] = [];
  try {
    const before = snapshotTree(sb.root);
    const flagsBefore = flagStates(sb.root);
    const killed = await interrupt(sb.root);
    if (killed.code === 0) {
      // A kill from outside can come too late; nothing to recover then (the caller counts the landings).
      opts.landed?.('the run ended before the kill');
      return [];
    }
    if (killed.code !== -1) problems.push(`the interrupted run exited ${killed.code}: ${killed.stderr}`);
    const jdir = path.join(sb.root, '.rollback-manager/journal');
    const lines = readdirSync(jdir).flatMap((j) => readFileSync(path.join(jdir, j), 'utf8').trim().split('\n'));
    const last = JSON.parse(lines.at(-1) ?? '{}') as { event?: string; story?: string; kind?: string };
    opts.landed?.(`${last.event} ${last.story ?? ''} ${last.kind ?? ''}`.trim());
    if (last.event === 'run-end') {
      // Killed after the run ended (report written), before the process exited: nothing to recover, and
      // the lock the dead process left is taken over by the next run.
      const next = await cli(sb.root, ['status']);
      return next.code === 0 && !next.stdout.includes('Interrupted run') ? [] : [`after a kill past run-end: status ${next.code} ${next.stdout}`];
    }
    // The promise at the instant of the crash: every byte in place or in a complete backup.
    problems.push(...bytesLost(sb.root, before).slice(0, 5).map((p) => `lost at the crash: ${p}`));
    if (opts.checkStatus) {
      // The next invocation says so, and a new run is refused until the interrupted one is dealt with.
      const status = await cliJson<{ interruptedRuns: string[] }>(sb.root, ['status']);
      if (status.json.interruptedRuns.length !== 1) problems.push(`status names ${status.json.interruptedRuns.length} interrupted runs`);
      const again = await cli(sb.root, CRASH_RUN);
      if (again.code !== 3 || !again.stderr.includes(`rollback-manager ${mode} `)) problems.push(`a new run over the interrupted one exited ${again.code}: ${again.stderr}`);
    }
    const rec = await cliJson<{ status: string; recovery?: { mode: string } }>(sb.root, [mode]);
    const want = mode === 'resume' ? 'rolled-back' : 'reverted';
    if (rec.code !== 0 || rec.json.status !== want) problems.push(`${mode} exited ${rec.code} with status ${rec.json.status}: ${rec.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    problems.push(...leftovers(sb.root));
    problems.push(...bytesLost(sb.root, before).slice(0, 5).map((p) => `lost after ${mode}: ${p}`));
    const now = snapshotTree(sb.root);
    const flags = flagStates(sb.root);
    if (mode === 'resume') {
      problems.push(...treeDiff(ref.tree, now).map((d) => `vs an uninterrupted run: ${d}`));
      if (JSON.stringify(flags) !== JSON.stringify(ref.flags)) problems.push(`flags ${JSON.stringify(flags)} differ from an uninterrupted run's`);
    } else {
      problems.push(...treeDiff(before, now).map((d) => `vs before the run: ${d}`));
      if (JSON.stringify(flags) !== JSON.stringify(flagsBefore)) problems.push(`flags ${JSON.stringify(flags)} differ from before the run`);
    }
    const verify = await cli(sb.root, ['verify']);
    if (verify.code !== 0) problems.push(`verify exited ${verify.code}: ${verify.stdout}${verify.stderr}`);
    const journals = readdirSync(path.join(sb.root, '.rollback-manager/journal'));
    for (const j of journals) {
      if (!readFileSync(path.join(sb.root, '.rollback-manager/journal', j), 'utf8').includes('"event":"run-end"')) problems.push(`journal ${j} has no end after ${mode}`);
    }
  } finally {
    await sb.cleanup();
  }
  return problems;
}
