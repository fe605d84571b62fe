import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync, renameSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { buildSandbox, listTree, type Sandbox } from '../../dev/sandbox/build-sandbox.js';
import { BUILTIN_STORIES } from '../../src/stories/index.js';
import { alive, cli, cliJson, isRunArtifact, REPO } from './cli-helpers.js';
import { footprintOf, keptOf, under } from './story-helpers.js';
import { prepareRollback } from '../../src/app/rollback.js';
import { applyPlan } from '../../src/app/apply-plan.js';
import { LockedError } from '../../src/model/errors.js';

const sandboxes: Sandbox[] = [];
afterEach(async () => {
  while (sandboxes.length > 0) await sandboxes.pop()?.cleanup();
});

async function sandbox(opts: Parameters<typeof buildSandbox>[0] = {}): Promise<Sandbox> {
  const sb = await buildSandbox({ services: false, ...opts });
  sandboxes.push(sb);
  return sb;
}


/** Shared files a rollback edits in place; each is checked on its own terms. */
const EDITED = new Set(['.env', 'package.json', 'package-lock.json']);

/** `.env` minus exactly the variables of the given stories (the sandbox's .env has one NAME=value a line). */
function expectEnvMinus(before: string, after: string, ids: string[]): void {
  const prefixes = BUILTIN_STORIES.filter((s) => ids.includes(s.id)).flatMap((s) => s.envPrefixes);
  const mine = (line: string): boolean => /^[A-Z_][A-Z0-9_]*=/.test(line) && prefixes.some((p) => line.startsWith(p));
  expect(after.split('\n')).toEqual(before.split('\n').filter((l) => !mine(l)));
}

/** package.json minus the npm packages the given stories added and no remaining installed story uses. */
function expectPackageJsonMinus(before: string, after: string, ids: string[], installed: string[]): void {
  const remaining = BUILTIN_STORIES.filter((s) => installed.includes(s.id) && !ids.includes(s.id));
  const used = new Set(remaining.flatMap((s) => [...s.npm, ...(s.npmUses ?? [])]));
  const gone = new Set(BUILTIN_STORIES.filter((s) => ids.includes(s.id)).flatMap((s) => s.npm).filter((n) => !used.has(n)));
  const b = JSON.parse(before) as Record<string, Record<string, string> | unknown>;
  const a = JSON.parse(after) as Record<string, Record<string, string> | unknown>;
  for (const section of ['dependencies', 'devDependencies']) {
    const want = Object.fromEntries(Object.entries((b[section] ?? {}) as Record<string, string>).filter(([k]) => !gone.has(k)));
    expect(a[section] ?? {}, section).toEqual(want);
  }
  expect({ ...a, dependencies: 0, devDependencies: 0 }).toEqual({ ...b, dependencies: 0, devDependencies: 0 });
}

type RunJson = {
  runId: string;
  status: string;
  stories: Array<{ id: string; feature: string; status: string; backup: { id: string; path: string } | null }>;
  report: { json: string; markdown: string };
};

describe('dry run', () => {
  it('changes no byte, no flag, no process, and prints the plan as JSON', async () => {
    const sb = await sandbox({ services: true });
    const before = listTree(sb.root);
    const { code, json } = await cliJson<{ version: number; dryRun: boolean; stories: Array<{ id: string; feature: string; actions: Array<{ kind: string }> }> }>(
      sb.root,
      ['rollback', '1.3', '--cascade', '--dry-run'],
    );
    expect(code).toBe(0);
    expect(json.version).toBe(1);
    expect(json.dryRun).toBe(true);
    expect(json.stories.map((s) => s.id)).toContain('1.3');
    expect(json.stories.find((s) => s.id === '1.3')?.actions.map((a) => a.kind)).toEqual([
      'disable-flag', 'stop-services', 'backup', 'remove-paths', 'packages', 'edit-env', 'validate',
    ]);
    const text = await cli(sb.root, ['rollback', 'all', '--dry-run', '--verbose']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('DRY RUN');
    expect(listTree(sb.root)).toEqual(before);
    for (const p of sb.processes) expect(alive(p.pid)).toBe(true);
  });
});

describe('rollback of each story', () => {
  for (const story of BUILTIN_STORIES) {
    it(`${story.id} removes its footprint (and its dependents') and nothing else; the backup holds every removed byte`, async () => {
      const sb = await sandbox();
      const before = listTree(sb.root);
      const flagsBefore = readFileSync(path.join(sb.root, 'config/feature-flags.yaml'), 'utf8');
      const text = (rel: string): string => readFileSync(path.join(sb.root, rel), 'utf8');
      const envBefore = text('.env');
      const pkgBefore = text('package.json');
      const { code, json } = await cliJson<RunJson>(sb.root, ['rollback', story.id, '--cascade', '--force', '--reason', `test ${story.id}`]);
      expect(code, JSON.stringify(json)).toBe(0);
      const ids = json.stories.map((s) => s.id);
      expect(ids).toContain(story.id);
      for (const s of json.stories) expect(s.status).toBe('rolled-back');
      const gone = footprintOf(ids);
      const after = listTree(sb.root);
      for (const [rel, hash] of before) {
        if (under(rel, gone)) expect(after.has(rel), `${rel} should be gone`).toBe(false);
        else if (!isRunArtifact(rel) && !EDITED.has(rel)) expect(after.get(rel), `${rel} must be untouched`).toBe(hash);
      }
      expectEnvMinus(envBefore, text('.env'), ids);
      expectPackageJsonMinus(pkgBefore, text('package.json'), ids, BUILTIN_STORIES.map((s) => s.id));
      // The backup's manifest holds every removed .env line, verbatim.
      const removedLines = envBefore.split('\n').filter((l) => !text('.env').split('\n').includes(l));
      const manifests = json.stories.map((s) => readFileSync(path.join(sb.root, s.backup!.path, 'manifest.json'), 'utf8')).join('\n');
      for (const l of removedLines) expect(manifests).toContain(JSON.stringify(l).slice(1, -1));
      for (const rel of after.keys()) if (!before.has(rel)) expect(isRunArtifact(rel), `unexpected new path ${rel}`).toBe(true);

      // Every removed byte is in the backups: extract them with GNU tar and compare with the tree before.
      const restored = new Map<string, string>();
      for (const s of json.stories) {
        const dir = path.join(sb.root, s.backup!.path);
        const out = mkdtempSync(path.join(tmpdir(), 'rm-extract-'));
        const archive = readdirSync(dir).find((n) => n.startsWith('archive.tar')) as string;
        await execa('tar', ['-xf', path.join(dir, archive), '-C', out]);
        for (const [rel, hash] of listTree(out)) restored.set(rel, hash);
        rmSync(out, { recursive: true, force: true });
      }
      for (const [rel, hash] of before) if (under(rel, gone)) expect(restored.get(rel), `${rel} in backup`).toBe(hash);

      // The flags file: only enabled values and last_modified differ; the sandbox's comment survives.
      const flagsAfter = readFileSync(path.join(sb.root, 'config/feature-flags.yaml'), 'utf8');
      expect(flagsAfter).toContain('# sandbox: story flags enabled');
      const a = flagsBefore.split('\n');
      const b = flagsAfter.split('\n');
      expect(b.length).toBe(a.length);
      for (let i = 0; i < a.length; i++) {
        if (a[i] !== b[i]) expect(`${a[i]} => ${b[i]}`).toMatch(/^\s*(enabled: true => \s*enabled: false|last_modified: .* => \s*last_modified: .*)$/);
      }
      for (const s of json.stories) expect(flagsAfter).toMatch(new RegExp(`${s.feature}:\\n\\s+enabled: false`));
      // Each manifest carries the flag snapshot from before the run: the story's own flag was on.
      for (const s of json.stories) {
        const m = JSON.parse(readFileSync(path.join(sb.root, s.backup!.path, 'manifest.json'), 'utf8')) as { meta: { flags: Record<string, boolean> } };
        expect(m.meta.flags[s.feature], `${s.id} snapshot`).toBe(true);
      }
      expect(existsSync(path.join(sb.root, json.report.json))).toBe(true);
      expect(existsSync(path.join(sb.root, json.report.markdown))).toBe(true);
    });
  }
});

describe('services', () => {
  it('stops the story processes and never the twins outside the root', async () => {
    const sb = await sandbox({ services: true, twins: true });
    const { code, json } = await cliJson<RunJson>(sb.root, ['rollback', '1.5', '--force']);
    expect(code).toBe(0);
    expect(json.stories.map((s) => s.id)).toEqual(['1.5']);
    const mine = sb.processes.filter((p) => p.story === '1.5' && !p.twin);
    expect(mine.length).toBeGreaterThan(0);
    for (const p of mine) expect(alive(p.pid), `${p.service} should be stopped`).toBe(false);
    for (const p of sb.processes.filter((x) => x.twin)) expect(alive(p.pid), `twin ${p.service} must survive`).toBe(true);
    for (const p of sb.processes.filter((x) => x.story !== '1.5' && !x.twin)) expect(alive(p.pid), `${p.service} (${p.story}) must survive`).toBe(true);
    const report = readFileSync(path.join(sb.root, 'rollback_reports', `${json.runId}.md`), 'utf8');
    for (const p of mine) expect(report).toMatch(new RegExp(`pid ${p.pid} .*— SIGTERM, gone after \\d+ ms`));
  });
});

describe('order and dependents', () => {
  it('refuses 1.3 while 1.4-1.7 are installed, naming them, and changes nothing', async () => {
    const sb = await sandbox();
    const before = listTree(sb.root);
    const r = await cli(sb.root, ['rollback', '1.3', '--force']);
    expect(r.code).toBe(2);
    for (const id of ['1.4', '1.5', '1.6', '1.7']) expect(r.stderr).toContain(`${id} depends on 1.3`);
    expect(r.stderr).toContain('--cascade');
    expect(listTree(sb.root)).toEqual(before);
  });

  it('a dry run refused for dependents still shows the plan --cascade would make, then exits 2', async () => {
    const sb = await sandbox();
    const before = listTree(sb.root);
    const r = await cli(sb.root, ['rollback', '1.3', '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^Refused as asked: refusing: installed stories depend on/);
    expect(r.stdout).toContain('With --cascade the plan would be:');
    for (const id of ['1.3', '1.4', '1.5', '1.6', '1.7']) expect(r.stdout).toMatch(new RegExp(`^Story ${id.replace('.', '\\.')} `, 'm'));
    expect(r.stdout).toContain('(cascade: depends on 1.3)');
    expect(r.stderr).toContain('--cascade');
    expect(listTree(sb.root)).toEqual(before);
  });

  it('all runs in reverse dependency order', async () => {
    const sb = await sandbox();
    const { code, json } = await cliJson<RunJson>(sb.root, ['rollback', 'all', '--force', '--continue-on-error']);
    expect(code).toBe(0);
    const order = json.stories.map((s) => s.id);
    const before = (x: string, y: string): boolean => order.indexOf(x) < order.indexOf(y);
    expect(order).toHaveLength(7);
    expect(before('1.7', '1.4') && before('1.4', '1.3') && before('1.5', '1.3') && before('1.5', '1.2') && before('1.6', '1.3')).toBe(true);
    const status = await cliJson<{ stories: Array<{ id: string; installed: boolean; flag: { enabled: boolean } }> }>(sb.root, ['status']);
    for (const s of status.json.stories) expect(s).toMatchObject({ installed: false, flag: { enabled: false } });
  });

  it('a story that is not installed is a no-op that says so', async () => {
    const sb = await sandbox({ only: ['1.8'] });
    const { code, json } = await cliJson<RunJson>(sb.root, ['rollback', '1.2', '--force']);
    expect(code).toBe(0);
    expect(json.status).toBe('nothing-to-do');
    expect(json.stories[0]).toMatchObject({ id: '1.2', status: 'not-installed' });
  });
});

describe('bad input changes nothing and exits 2', () => {
  async function expectRefused(sb: Sandbox, args: string[], pattern: RegExp): Promise<void> {
    const before = listTree(sb.root);
    const r = await cli(sb.root, args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(pattern);
    expect(listTree(sb.root)).toEqual(before);
  }

  it('without a terminal and without --force', async () => {
    const sb = await sandbox({ only: ['1.8'] });
    await expectRefused(sb, ['rollback', '1.8'], /without --force when not in a terminal/);
  });

  it('a malformed flags file, naming line and column', async () => {
    const sb = await sandbox({ only: ['1.8'] });
    const f = path.join(sb.root, 'config/feature-flags.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace('qa_framework:\n    enabled: true', 'qa_framework:\n    enabled: [true'));
    await expectRefused(sb, ['rollback', '1.8', '--force'], /config\/feature-flags\.yaml:\d+:\d+/);
  });

  it('an unknown story', async () => {
    const sb = await sandbox({ only: ['1.8'] });
    await expectRefused(sb, ['rollback', '1.8,4.2', '--force'], /unknown story 4\.2/);
  });

  it('a declared path escaping the root', async () => {
    const sb = await sandbox({ only: ['1.8'] });
    writeFileSync(path.join(sb.outside, 'precious.js'), 'keep me');
    writeFileSync(path.join(sb.root, 'config/rollback.yaml'), 'stories:\n  "1.8":\n    code: [../outside/precious.js]\n');
    await expectRefused(sb, ['rollback', '1.8', '--force'], /stories\.1\.8\.code\[\d+\].*outside the project root/);
    expect(readFileSync(path.join(sb.outside, 'precious.js'), 'utf8')).toBe('keep me');
  });

  it('a declared directory that is a symlink pointing outside the root', async () => {
    const sb = await sandbox({ only: ['1.3'] });
    const target = path.join(sb.outside, 'real-duckdb');
    mkdirSync(target);
    writeFileSync(path.join(target, 'analytics.db'), 'outside data');
    rmSync(path.join(sb.root, '.duckdb'), { recursive: true });
    symlinkSync(target, path.join(sb.root, '.duckdb'));
    await expectRefused(sb, ['rollback', '1.3', '--force'], /symlink to .*outside the project root/);
    expect(readFileSync(path.join(target, 'analytics.db'), 'utf8')).toBe('outside data');
  });

  it('a parent directory that is a symlink pointing outside the root', async () => {
    const sb = await sandbox({ only: ['1.4'] });
    const moved = path.join(sb.outside, 'data-services');
    renameSync(path.join(sb.root, 'tools/data-services'), moved);
    symlinkSync(moved, path.join(sb.root, 'tools/data-services'));
    await expectRefused(sb, ['rollback', '1.4', '--force'], /outside the project root/);
    expect(existsSync(path.join(moved, 'dbt-wrapper.js'))).toBe(true);
  });
});

describe('the reason is inert text', () => {
  it('through the CLI and through the wrapper script', async () => {
    const sb = await sandbox({ only: ['1.8', '1.6', '1.3'] });
    const marker = path.join(sb.outside, 'pwned');
    const reason = `$(touch ${marker}) \`touch ${marker}\`; touch ${marker}\n# not a heading | not a cell`;
    const r1 = await cliJson<RunJson>(sb.root, ['rollback', '1.8', '--force', '--reason', reason]);
    expect(r1.code).toBe(0);
    const report = JSON.parse(readFileSync(path.join(sb.root, r1.json.report.json), 'utf8')) as { why: { reason: string; trigger: string } };
    expect(report.why).toEqual({ reason, trigger: 'manual' });
    const r2 = await execa(path.join(REPO, 'tools/rollback/rollback-story-1.6.sh'), ['--force', '--json', '--root', sb.root], {
      env: { ROLLBACK_REASON: reason },
      reject: false,
      stdin: 'ignore',
    });
    expect(r2.exitCode, String(r2.stderr)).toBe(0);
    const out = JSON.parse(String(r2.stdout)) as RunJson;
    const report2 = JSON.parse(readFileSync(path.join(sb.root, out.report.json), 'utf8')) as { why: { reason: string; trigger: string } };
    expect(report2.why).toEqual({ reason, trigger: 'script' });
    expect(existsSync(marker)).toBe(false);
    // Inert in what people read too: one Why line in the Markdown, with nothing Markdown would act on,
    // and one line per run in history, the reason quoted.
    const md = readFileSync(path.join(sb.root, r1.json.report.markdown), 'utf8').split('\n');
    const why = md.findIndex((l) => l.startsWith('- **Why:**'));
    expect(md[why + 1]).toMatch(/^- \*\*Who:\*\*/);
    expect(md[why]).toContain(' ⏎ \\# not a heading \\| not a cell');
    expect(md[why]).toContain('\\`touch');
    expect(md.some((l) => l.startsWith('# not a heading'))).toBe(false);
    const history = await cli(sb.root, ['history']);
    expect(history.stdout.trim().split('\n')).toHaveLength(2);
    expect(history.stdout).toContain(JSON.stringify(reason));
  });

  it('the wrapper honours ROLLBACK_DRY_RUN=1 and changes nothing', async () => {
    const sb = await sandbox({ only: ['1.8'] });
    const before = listTree(sb.root);
    const r = await execa(path.join(REPO, 'tools/rollback/rollback-story-1.8.sh'), ['--root', sb.root], {
      env: { ROLLBACK_DRY_RUN: '1' },
      reject: false,
      stdin: 'ignore',
    });
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout)).toContain('DRY RUN');
    expect(listTree(sb.root)).toEqual(before);
  });
});

describe('failures', () => {
  it('another run holding the lock: exit 3, nothing changed', async () => {
    const sb = await sandbox({ only: ['1.8'] });
    mkdirSync(path.join(sb.root, '.rollback-manager'), { recursive: true });
    const { hostname } = await import('node:os');
    writeFileSync(
      path.join(sb.root, '.rollback-manager/lock'),
      JSON.stringify({ pid: process.pid, host: hostname(), runId: 'other-run', startedAt: new Date().toISOString() }),
    );
    const before = listTree(sb.root);
    const r = await cli(sb.root, ['rollback', '1.8', '--force']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('other-run');
    expect(listTree(sb.root)).toEqual(before);
  });

  it('a backup that cannot be written reverts the flag change: exit 1, nothing lost', async () => {
    const sb = await sandbox({ only: ['1.8'] });
    rmSync(path.join(sb.root, 'rollback_backups'), { recursive: true, force: true });
    writeFileSync(path.join(sb.root, 'rollback_backups'), 'not a directory');
    const before = listTree(sb.root);
    const { code, json } = await cliJson<RunJson>(sb.root, ['rollback', '1.8', '--force']);
    expect(code).toBe(1);
    expect(json.stories[0]?.status).toBe('reverted');
    const after = listTree(sb.root);
    for (const [rel, hash] of before) {
      if (rel === 'config/feature-flags.yaml') continue;
      if (!isRunArtifact(rel)) expect(after.get(rel), rel).toBe(hash);
    }
    expect(readFileSync(path.join(sb.root, 'config/feature-flags.yaml'), 'utf8')).toMatch(/qa_framework:\n\s+enabled: true/);
  });

  it.skipIf(process.getuid?.() !== 0)('a removal that fails half-way puts back what it removed (exit 1)', async () => {
    const sb = await sandbox({ only: ['1.8'] });
    const before = listTree(sb.root);
    // An immutable file deep in 1.8's footprint: even root cannot delete it, so removal fails mid-way.
    const stuck = path.join(sb.root, 'test-fixtures');
    const victim = path.join(stuck, readdirSync(stuck).find((n) => !n.startsWith('.')) as string);
    const chattr = await execa('chattr', ['+i', victim], { reject: false });
    if (chattr.exitCode !== 0) return; // a filesystem without attributes: nothing to prove here
    try {
      const { code, json } = await cliJson<RunJson>(sb.root, ['rollback', '1.8', '--force']);
      expect(code).toBe(1);
      expect(json.stories[0]?.status).toBe('reverted');
    } finally {
      await execa('chattr', ['-i', victim], { reject: false });
    }
    const after = listTree(sb.root);
    for (const [rel, hash] of before) if (!isRunArtifact(rel)) expect(after.get(rel), rel).toBe(hash);
    expect(readFileSync(path.join(sb.root, 'config/feature-flags.yaml'), 'utf8')).toMatch(/qa_framework:\n\s+enabled: true/);
  });
});

describe('a revert that fails', () => {
  it.skipIf(process.getuid?.() !== 0)('exits 4, says what to do, and its restore command brings everything back', async () => {
    const sb = await sandbox({ only: ['1.8'] });
    const before = listTree(sb.root);
    const fixtures = path.join(sb.root, 'test-fixtures');
    const victim = path.join(fixtures, readdirSync(fixtures)[0] as string);
    // Removal fails on an immutable file; putting back fails because the staging folder cannot be made.
    mkdirSync(path.join(sb.root, '.rollback-manager'), { recursive: true });
    writeFileSync(path.join(sb.root, '.rollback-manager/staging'), 'in the way');
    if ((await execa('chattr', ['+i', victim], { reject: false })).exitCode !== 0) return;
    let run: { code: number; json: RunJson & { undo: Array<{ command: string }> } };
    try {
      run = await cliJson(sb.root, ['rollback', '1.8', '--force']);
    } finally {
      await execa('chattr', ['-i', victim], { reject: false });
    }
    expect(run.code).toBe(4);
    expect(run.json.stories[0]?.status).toBe('revert-failed');
    const md = readFileSync(path.join(sb.root, run.json.report.markdown), 'utf8');
    expect(md).toContain('## Action needed');
    expect(md).toContain('every removed file is in the verified backup');
    // Fix the cause, then run exactly what the report says.
    rmSync(path.join(sb.root, '.rollback-manager/staging'));
    const cmd = run.json.undo[0]!.command.replace(/^npx rollback-manager /, '').split(' ').filter((x) => x !== '--root' && x !== sb.root);
    expect(cmd).toContain('--force');
    const r = await cli(sb.root, cmd);
    expect(r.code, r.stderr).toBe(0);
    const after = listTree(sb.root);
    for (const [rel, hash] of before) if (!isRunArtifact(rel)) expect(after.get(rel), rel).toBe(hash);
  });
});

describe('--continue-on-error', () => {
  it.skipIf(process.getuid?.() !== 0)('a failed story does not stop the others; the stories it needs are skipped; exit 1', async () => {
    const sb = await sandbox();
    const victim = path.join(sb.root, 'tools/data-services/publication-engine.js'); // 1.7's
    if ((await execa('chattr', ['+i', victim], { reject: false })).exitCode !== 0) return;
    let run: { code: number; json: RunJson };
    try {
      run = await cliJson<RunJson>(sb.root, ['rollback', 'all', '--force', '--continue-on-error']);
    } finally {
      await execa('chattr', ['-i', victim], { reject: false });
    }
    expect(run.code).toBe(1);
    const status = Object.fromEntries(run.json.stories.map((s) => [s.id, s.status]));
    // 1.7 failed and was reverted; it still needs 1.4 and 1.3, so they are skipped; the rest went on.
    expect(status).toEqual({ '1.8': 'rolled-back', '1.7': 'reverted', '1.6': 'rolled-back', '1.5': 'rolled-back', '1.4': 'skipped', '1.3': 'skipped', '1.2': 'rolled-back' });
    expect(existsSync(victim)).toBe(true);
    expect(existsSync(path.join(sb.root, 'tools/data-services/dbt-wrapper.js'))).toBe(true);
    expect(existsSync(path.join(sb.root, '.duckdb/analytics.db'))).toBe(true);
    expect(readFileSync(path.join(sb.root, 'config/feature-flags.yaml'), 'utf8')).toMatch(/evidence_publishing:\n\s+enabled: true/);
  });
});

describe('status, report and history', () => {
  it('status shows the seven stories with flag, footprint and services; report and history follow a run', async () => {
    const sb = await sandbox({ services: true });
    const s = await cliJson<{ stories: Array<{ id: string; feature: string; flag: { enabled: boolean; effective: boolean }; installed: boolean; services: unknown[] }> }>(sb.root, ['status']);
    expect(s.code).toBe(0);
    expect(s.json.stories.map((x) => x.id)).toEqual(['1.2', '1.3', '1.4', '1.5', '1.6', '1.7', '1.8']);
    expect(s.json.stories.every((x) => x.installed && x.flag.enabled && x.flag.effective)).toBe(true);
    expect(s.json.stories.find((x) => x.id === '1.5')?.services.length).toBeGreaterThan(0);
    const text = await cli(sb.root, ['status']);
    const daemon = sb.processes.find((p) => p.service === 'dagster-daemon' && !p.twin)!;
    expect(text.stdout).toMatch(new RegExp(`1\\.5 dagster-daemon: pid ${daemon.pid} — .*dagster daemon run`));
    const run = await cliJson<RunJson>(sb.root, ['rollback', '1.8', '--force', '--reason', 'qa noise']);
    const rep = await cli(sb.root, ['report']);
    expect(rep.code).toBe(0);
    expect(rep.stdout).toContain(`# Rollback ${run.json.runId}: rolled-back`);
    expect(rep.stdout).toContain('qa noise');
    expect(rep.stdout).toMatch(/restore 1\.8 --backup qa_framework_\d{8}_\d{6}/);
    const hist = await cliJson<{ runs: Array<{ runId: string; reason: string; status: string }> }>(sb.root, ['history']);
    expect(hist.json.runs).toEqual([expect.objectContaining({ runId: run.json.runId, reason: 'qa noise', status: 'rolled-back' })]);
    const audit = readFileSync(path.join(sb.root, 'logs/security.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string });
    expect(audit.map((e) => e.event)).toEqual(expect.arrayContaining(['rollback_initiated', 'feature_flag_changed', 'rollback_completed']));
    // 1.5's effective flag is now... untouched: 1.8 has no dependents.
    const s2 = await cliJson<{ stories: Array<{ id: string; flag: { enabled: boolean } }> }>(sb.root, ['status']);
    expect(s2.json.stories.find((x) => x.id === '1.8')?.flag.enabled).toBe(false);
    expect(s2.json.stories.find((x) => x.id === '1.5')?.flag.enabled).toBe(true);
  });

  it('the repository itself: status in a fresh clone shows the seven stories of the pack', async () => {
    const r = await cliJson<{ stories: Array<{ id: string; feature: string }> }>(REPO, ['status']);
    expect(r.code).toBe(0);
    expect(r.json.stories.map((s) => `${s.id} ${s.feature}`)).toEqual([
      '1.2 pyairbyte_integration', '1.3 duckdb_analytics', '1.4 dbt_transformations', '1.5 dagster_orchestration',
      '1.6 eda_automation', '1.7 evidence_publishing', '1.8 qa_framework',
    ]);
  });
});

describe('restore', () => {
  it('rollback then restore of every story leaves the tree byte-identical but for last_modified', async () => {
    const sb = await sandbox();
    const before = listTree(sb.root);
    const flagsBefore = readFileSync(path.join(sb.root, 'config/feature-flags.yaml'), 'utf8');
    const rb = await cliJson<RunJson & { undo: Array<{ story: string; command: string }> }>(sb.root, ['rollback', 'all', '--force']);
    expect(rb.code).toBe(0);
    // The exact undo commands of the report, in the order it lists them.
    for (const u of rb.json.undo) {
      const args = u.command.replace(/^npx rollback-manager /, '').split(' ').filter((x) => x !== '--root' && x !== sb.root);
      const r = await cli(sb.root, [...args, '--force']);
      expect(r.code, r.stderr).toBe(0);
    }
    const after = listTree(sb.root);
    for (const [rel, hash] of before) if (!isRunArtifact(rel)) expect(after.get(rel), rel).toBe(hash);
    for (const rel of after.keys()) if (!before.has(rel)) expect(isRunArtifact(rel), `unexpected ${rel}`).toBe(true);
    const flagsAfter = readFileSync(path.join(sb.root, 'config/feature-flags.yaml'), 'utf8');
    const strip = (t: string): string => t.replace(/last_modified: .*/, '');
    expect(strip(flagsAfter)).toBe(strip(flagsBefore));
    const v = await cli(sb.root, ['verify']);
    expect(v.code).toBe(0);
  });

  it('says that it starts no service, and how the pack starts them, in the plan and the report', async () => {
    const sb = await sandbox({ only: ['1.3'] });
    expect((await cli(sb.root, ['rollback', '1.3', '--force'])).code).toBe(0);
    const start = BUILTIN_STORIES.find((s) => s.id === '1.3')!.services[0]!.start!;
    const dry = await cli(sb.root, ['restore', '1.3', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('restore starts no service; start them again as the pack does');
    expect(dry.stdout).toContain(start);
    const done = await cliJson<RunJson>(sb.root, ['restore', '1.3', '--force']);
    expect(done.code).toBe(0);
    expect(readFileSync(path.join(sb.root, done.json.report.markdown), 'utf8')).toContain(start);
  });

  it('refuses paths that exist again unless --force, and a tampered archive always', async () => {
    const sb = await sandbox({ only: ['1.8'] });
    const status = await cliJson<{ stories: Array<{ id: string; footprint: { declared: number } }> }>(sb.root, ['status']);
    const declared = status.json.stories.find((s) => s.id === '1.8')!.footprint.declared;
    const rb = await cliJson<RunJson>(sb.root, ['rollback', '1.8', '--force']);
    const backupDir = path.join(sb.root, rb.json.stories[0]!.backup!.path);
    const manifest = JSON.parse(readFileSync(path.join(backupDir, 'manifest.json'), 'utf8')) as { entries: Array<{ path: string; type: string }> };
    const rel = manifest.entries.find((e) => e.type === 'file')!.path;
    const again = path.join(sb.root, rel);
    mkdirSync(path.dirname(again), { recursive: true });
    writeFileSync(again, 'new content written after the rollback');
    const refused = await cli(sb.root, ['restore', '1.8', '--reason', 'try']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`exist again: ${rel}`);
    expect(readFileSync(again, 'utf8')).toBe('new content written after the rollback');
    const dry = await cli(sb.root, ['restore', '1.8', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`conflict: ${rel} exists again`);
    // The story's declared paths, as status counts them (not the backup's entries): the data the rollback kept
    // in place, and one path back on disk.
    expect(dry.stdout).toContain(`footprint present: ${1 + keptOf(['1.8']).length} of ${declared} declared paths`);
    // A changed byte in the archive: verify fails, and restore writes nothing.
    rmSync(again);
    const archive = path.join(backupDir, 'archive.tar');
    const buf = readFileSync(archive);
    buf[1024 + 3] = (buf[1024 + 3]! + 1) % 256;
    writeFileSync(archive, buf);
    const before = listTree(sb.root);
    expect((await cli(sb.root, ['verify'])).code).toBe(1);
    const tampered = await cli(sb.root, ['restore', '1.8', '--force']);
    expect(tampered.code).not.toBe(0);
    expect(tampered.stderr).toMatch(/does not match|verif/);
    expect(listTree(sb.root)).toEqual(before);
  });
});

describe('shared YAML keys and docker', () => {
  it('removes a declared YAML key with its comment, keeps the rest byte for byte, and restore puts it back', async () => {
    const sb = await sandbox({ only: ['1.8'] });
    const file = path.join(sb.root, 'config/external-services.yaml');
    const original = readFileSync(file, 'utf8');
    const withKey = original.replace('  telemetry:\n', '  # QA dashboards (story 1.8)\n  qa_dashboard:\n    url: http://localhost:3001 # dev only\n    enabled: true\n  telemetry:\n');
    writeFileSync(file, withKey);
    writeFileSync(path.join(sb.root, 'config/rollback.yaml'), 'stories:\n  "1.8":\n    yamlKeys:\n      - file: config/external-services.yaml\n        key: services.qa_dashboard\n');
    const dry = await cli(sb.root, ['rollback', '1.8', '--dry-run']);
    expect(dry.stdout).toContain('config/external-services.yaml: remove keys services.qa_dashboard');
    const rb = await cliJson<RunJson>(sb.root, ['rollback', '1.8', '--force']);
    expect(rb.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(original);
    const back = await cli(sb.root, ['restore', '1.8', '--force']);
    expect(back.code, back.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(withKey);
  });

  it('says plainly when no docker engine answers, in the plan and in the report', async () => {
    const sb = await sandbox({ only: ['1.8'] });
    writeFileSync(path.join(sb.root, 'config/rollback.yaml'), 'stories:\n  "1.8":\n    containers:\n      - name: qa-grafana\n');
    const dry = await cliJson<{ warnings: string[] }>(sb.root, ['rollback', '1.8', '--dry-run']);
    expect(dry.json.warnings.join('\n')).toMatch(/docker: .*; containers qa-grafana were not checked or stopped/);
    const rb = await cliJson<RunJson>(sb.root, ['rollback', '1.8', '--force']);
    expect(rb.code).toBe(0);
    expect(readFileSync(path.join(sb.root, rb.json.report.markdown), 'utf8')).toMatch(/docker: .*qa-grafana were not checked or stopped/);
  });
});

describe('two runs at once', () => {
  it('exactly one proceeds; the other exits 3 and changes nothing', async () => {
    const sb = await sandbox({ only: ['1.8', '1.3', '1.6'] });
    const [a, b] = await Promise.all([cliJson<RunJson>(sb.root, ['rollback', '1.8', '--force']), cliJson<RunJson>(sb.root, ['rollback', '1.8', '--force'])]);
    expect([a.code, b.code].sort()).toEqual([0, 3]);
    const loser = a.code === 3 ? a : b;
    expect((loser.json as unknown as { error: { code: string } }).error.code).toBe('E_LOCKED');
    expect(readdirSync(path.join(sb.root, 'rollback_backups')).filter((n) => n.startsWith('qa_framework_'))).toHaveLength(1);
    expect(readdirSync(path.join(sb.root, 'rollback_reports')).filter((n) => n.endsWith('.json'))).toHaveLength(1);
    // A stale plan is refused even when the other run has already finished: plan, let another run act, apply.
    const req = { root: sb.root, ids: '1.6', cascade: false, continueOnError: false, reason: 'stale', trigger: 'manual' as const, command: [] };
    const { project, plan } = await prepareRollback(req);
    expect((await cli(sb.root, ['rollback', '1.6', '--force'])).code).toBe(0);
    const before = listTree(sb.root);
    await expect(applyPlan(project, plan, req, undefined, async () => (await prepareRollback(req)).plan)).rejects.toBeInstanceOf(LockedError);
    expect(listTree(sb.root)).toEqual(before);
  });
});
