import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { buildSandbox, listTree, type Sandbox } from '../../dev/sandbox/build-sandbox.js';
import { BUILTIN_STORIES } from '../../src/stories/index.js';
import { alive, cliJson } from './cli-helpers.js';

/**
 * Issue "services, packages and shared files": each story rolled back in a project where its services run,
 * its npm packages are really installed (node_modules, lockfile) and its Python distributions are in the
 * project's venv, and .env holds its lines. One packaged sandbox per story (dependents cascade along).
 */
type RunJson = {
  runId: string;
  status: string;
  stories: Array<{ id: string; status: string; backup: { path: string } | null }>;
  report: { markdown: string };
};

const norm = (n: string): string => n.toLowerCase().replace(/[-_.]+/g, '-');

async function pipList(root: string): Promise<Set<string>> {
  const r = await execa(path.join(root, '.venv/bin/python'), ['-m', 'pip', 'list', '--format', 'json'], {
    env: { PIP_DISABLE_PIP_VERSION_CHECK: '1', PYTHONNOUSERSITE: '1' },
    extendEnv: false,
  });
  return new Set((JSON.parse(String(r.stdout)) as Array<{ name: string }>).map((p) => norm(p.name)));
}

function deps(root: string): Set<string> {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  return new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]);
}

describe.each(BUILTIN_STORIES.map((s) => s.id))('story %s, complete', (id) => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await buildSandbox({ services: true, twins: true, packages: true });
  }, 120_000);
  afterAll(async () => {
    await sb?.cleanup();
  });

  it('ends with processes gone (twins alive), packages gone but shared ones, .env minus its lines, all in the backup', async () => {
    const before = listTree(sb.root);
    const pyBefore = await pipList(sb.root);
    const npmBefore = deps(sb.root);
    const envBefore = readFileSync(path.join(sb.root, '.env'), 'utf8');
    const { code, json } = await cliJson<RunJson>(sb.root, ['rollback', id, '--cascade', '--force']);
    expect(code, JSON.stringify(json)).toBe(0);
    const ids = json.stories.map((s) => s.id);
    const gone = BUILTIN_STORIES.filter((s) => ids.includes(s.id));
    const staying = BUILTIN_STORIES.filter((s) => !ids.includes(s.id));

    for (const p of sb.processes) {
      const shouldRun = p.twin || !ids.includes(p.story);
      expect(alive(p.pid), `${p.service} (${p.story}${p.twin ? ', twin' : ''})`).toBe(shouldRun);
    }

    const npmUsed = new Set(staying.flatMap((s) => [...s.npm, ...(s.npmUses ?? [])]));
    const npmAfter = deps(sb.root);
    for (const name of gone.flatMap((s) => s.npm)) expect(npmAfter.has(name), `npm ${name}`).toBe(npmUsed.has(name) && npmBefore.has(name));
    for (const name of npmBefore) if (!gone.some((s) => s.npm.includes(name))) expect(npmAfter.has(name), `npm ${name} is not theirs`).toBe(true);
    await execa('npm', ['ls', '--offline', '--all'], { cwd: sb.root, env: { npm_config_update_notifier: 'false' } });

    const pyUsed = new Set(staying.flatMap((s) => [...s.python, ...(s.pythonUses ?? [])]).map(norm));
    const pyAfter = await pipList(sb.root);
    for (const name of gone.flatMap((s) => s.python).map(norm)) expect(pyAfter.has(name), `python ${name}`).toBe(pyUsed.has(name) && pyBefore.has(name));
    for (const name of pyBefore) if (!gone.some((s) => s.python.map(norm).includes(name))) expect(pyAfter.has(name), `python ${name} is not theirs`).toBe(true);

    const prefixes = gone.flatMap((s) => s.envPrefixes);
    const theirs = (l: string): boolean => /^[A-Z_][A-Z0-9_]*=/.test(l) && prefixes.some((p) => l.startsWith(p));
    expect(readFileSync(path.join(sb.root, '.env'), 'utf8').split('\n')).toEqual(envBefore.split('\n').filter((l) => !theirs(l)));

    // Every byte that left the tree is in one of the run's archives (GNU tar reads them).
    const after = listTree(sb.root);
    const archived = new Set<string>();
    for (const s of json.stories) {
      const r = await execa('tar', ['-tf', path.join(sb.root, s.backup!.path, 'archive.tar')]);
      for (const line of String(r.stdout).split('\n')) archived.add(line.replace(/\/$/, ''));
    }
    const archivedUnder = (dir: string): boolean => [...archived].some((a) => a.startsWith(`${dir}/`));
    for (const [rel, kind] of before) {
      if (after.has(rel)) continue;
      // A directory pip or npm removed whole need not be an entry itself: its files are, and come back with it.
      expect(archived.has(rel) || (kind === 'dir' && archivedUnder(rel)), `${rel} removed but not archived`).toBe(true);
    }

    const md = readFileSync(path.join(sb.root, json.report.markdown), 'utf8');
    if (sb.processes.some((p) => !p.twin && ids.includes(p.story))) expect(md).toMatch(/— SIGTERM, gone after \d+ ms/);
    if (gone.some((s) => s.envPrefixes.length > 0)) expect(md).toMatch(/Removed from `\.env`/);

    // The way back, offline: the report's own undo commands restore files, packages and .env byte for byte.
    const undo = (JSON.parse(readFileSync(path.join(sb.root, json.report.markdown.replace(/\.md$/, '.json')), 'utf8')) as { undo: Array<{ command: string }> }).undo;
    for (const u of undo) {
      const args = u.command.replace(/^npx rollback-manager /, '').split(' ').filter((x) => x !== '--root' && x !== sb.root);
      const r = await cliJson(sb.root, [...args, '--force']);
      expect(r.code, r.stderr).toBe(0);
    }
    const restored = listTree(sb.root);
    const artifact = (rel: string): boolean => /^(rollback_backups|rollback_reports|\.rollback-manager)(\/|$)|^logs\/(rollback|security)\.log$|^config\/feature-flags\.yaml$/.test(rel);
    for (const [rel, hash] of before) if (!artifact(rel)) expect(restored.get(rel), `${rel} after restore`).toBe(hash);
    for (const rel of restored.keys()) if (!before.has(rel)) expect(artifact(rel), `unexpected ${rel} after restore`).toBe(true);
    expect(await pipList(sb.root)).toEqual(pyBefore);
    expect(deps(sb.root)).toEqual(npmBefore);
    await execa('npm', ['ls', '--offline', '--all'], { cwd: sb.root, env: { npm_config_update_notifier: 'false' } });
  }, 120_000);
});
