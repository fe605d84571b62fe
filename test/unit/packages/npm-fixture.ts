/**
 * A real npm project built offline: six tiny local packages packed with `npm pack` and installed from
 * their tarballs (file: specs need no registry), with a private npm cache and user config so the
 * machine's own npm settings cannot leak in.
 *
 *   dep-a  → shared-c@1
 *   dep-b  → shared-c@1, only-b-d (bin `only-b-d`)
 *   dev-e  → dep-a, shared-c@2 (bin `dev-e`)      (a devDependency; shared-c@2 nests under it)
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import {
  type NpmRemovalRecord,
  applyNpmRemoval,
  planNpmRemoval,
  revertNpmRemoval,
} from '../../../src/packages/npm-index.js';

/** A built project to copy from, and the npm that built it. */
export interface NpmFixture {
  base: string;
  /** The pristine project; tests work on {@link NpmFixture.copy}s of it. */
  template: string;
  /** Run npm with the fixture's isolated cache and config; never throws on a non-zero exit. */
  npm(cwd: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** A fresh copy of the template beside it (so its `../pkgs/*.tgz` specs still resolve). */
  copy(): string;
  cleanup(): void;
}

/** Build the fixture with lockfile v2 or v3. Takes a few seconds: call it once per test file. */
export async function buildNpmFixture(lockfileVersion: 2 | 3): Promise<NpmFixture> {
  const base = mkdtempSync(join(tmpdir(), 'rbm-npm-'));
  const pkgs = join(base, 'pkgs');
  const userconfig = join(base, 'npmrc');
  mkdirSync(pkgs);
  writeFileSync(userconfig, '');
  const env = {
    npm_config_cache: join(base, 'cache'),
    npm_config_userconfig: userconfig,
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_offline: 'true',
    npm_config_loglevel: 'error',
  };
  const npm: NpmFixture['npm'] = async (cwd, args) => {
    const r = await execa('npm', args, { cwd, env, reject: false });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  const must = async (cwd: string, args: string[]): Promise<void> => {
    const r = await npm(cwd, args);
    if (r.exitCode !== 0) throw new Error(`npm ${args.join(' ')} failed (${r.exitCode}): ${r.stderr}`);
  };

  const tgz = (name: string, version = '1.0.0'): string => `file:${join(pkgs, `${name}-${version}.tgz`)}`;
  const sources: Array<Record<string, unknown>> = [
    { name: 'shared-c', version: '1.0.0' },
    { name: 'shared-c', version: '2.0.0' },
    { name: 'only-b-d', version: '1.0.0', bin: { 'only-b-d': 'bin.js' } },
    { name: 'dep-a', version: '1.0.0', dependencies: { 'shared-c': tgz('shared-c') } },
    { name: 'dep-b', version: '1.0.0', dependencies: { 'shared-c': tgz('shared-c'), 'only-b-d': tgz('only-b-d') } },
    { name: 'dev-e', version: '1.0.0', bin: 'bin.js', dependencies: { 'dep-a': tgz('dep-a'), 'shared-c': tgz('shared-c', '2.0.0') } },
  ];
  // npm pack does not resolve dependencies, so every package can be packed at once.
  await Promise.all(
    sources.map(async (pkg) => {
      const dir = join(base, 'src', `${String(pkg.name)}-${String(pkg.version)}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
      writeFileSync(join(dir, 'index.js'), `module.exports = ${JSON.stringify(`${String(pkg.name)}@${String(pkg.version)}`)};\n`);
      writeFileSync(join(dir, 'bin.js'), '#!/usr/bin/env node\nconsole.log(require("./index.js"));\n', { mode: 0o755 });
      await must(dir, ['pack', '--pack-destination', pkgs]);
    }),
  );

  const template = join(base, 'template');
  mkdirSync(template);
  writeFileSync(join(template, 'package.json'), '{\n  "name": "proj",\n  "version": "1.0.0",\n  "private": true\n}\n');
  const install = ['install', '--offline', '--no-audit', '--no-fund', `--lockfile-version=${lockfileVersion}`];
  await must(template, [...install, '../pkgs/dep-a-1.0.0.tgz', '../pkgs/dep-b-1.0.0.tgz']);
  await must(template, [...install, '--save-dev', '../pkgs/dev-e-1.0.0.tgz']);

  let copies = 0;
  return {
    base,
    template,
    npm,
    copy() {
      copies += 1;
      const dir = join(base, `p${copies}`);
      cpSync(template, dir, { recursive: true, verbatimSymlinks: true });
      return dir;
    },
    cleanup() {
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** The text of a file under `dir`. */
export function readText(dir: string, rel: string): string {
  return readFileSync(join(dir, rel), 'utf8');
}

/** Bytes of the regular files under `rel` (an independent count to check the plan's). */
export function treeBytes(dir: string, rel: string): number {
  const abs = join(dir, rel);
  const st = statSync(abs);
  if (!st.isDirectory()) return st.size;
  return readdirSync(abs).reduce((sum, name) => sum + treeBytes(dir, join(rel, name)), 0);
}

/** Delete paths relative to `dir`, as the caller of applyNpmRemoval does after its backup. */
export function removePaths(dir: string, rels: readonly string[]): void {
  for (const rel of rels) rmSync(join(dir, rel), { recursive: true, force: true });
}

/** Run `npm ls --all --json` and return its exit code and reported problems. */
export async function npmLs(fx: NpmFixture, dir: string): Promise<{ exitCode: number; problems: string[]; deps: unknown }> {
  const r = await fx.npm(dir, ['ls', '--all', '--json', '--offline']);
  const parsed = JSON.parse(r.stdout || '{}') as { problems?: string[]; dependencies?: unknown };
  return { exitCode: r.exitCode, problems: parsed.problems ?? [], deps: parsed.dependencies };
}

/** Remove `names` on a twin copy with the real npm; returns its package.json and lockfile text. */
export async function npmUninstall(fx: NpmFixture, names: string[]): Promise<{ pj: string; lock: string }> {
  const twin = fx.copy();
  const r = await fx.npm(twin, ['uninstall', '--offline', '--no-audit', '--no-fund', ...names]);
  expect(r.exitCode, r.stderr).toBe(0);
  return { pj: readText(twin, 'package.json'), lock: readText(twin, 'package-lock.json') };
}

/**
 * The whole cycle on a fresh copy: plan and apply, compare both files with what `npm uninstall` writes
 * (`lockfileMatches` may relax the lockfile comparison), delete the planned paths as the caller would,
 * check `npm ls` finds no problem, revert, and check both files are byte-identical to the originals.
 */
export async function npmRoundTrip(
  fx: NpmFixture,
  names: string[],
  lockfileMatches: (ours: string, npms: string) => void = (ours, npms) => expect(ours).toBe(npms),
): Promise<{ record: NpmRemovalRecord; dir: string }> {
  const dir = fx.copy();
  const before = { pj: readText(dir, 'package.json'), lock: readText(dir, 'package-lock.json') };
  const plan = planNpmRemoval(dir, names);
  const record = await applyNpmRemoval(dir, plan);
  const oracle = await npmUninstall(fx, names);
  expect(readText(dir, 'package.json')).toBe(oracle.pj);
  lockfileMatches(readText(dir, 'package-lock.json'), oracle.lock);

  removePaths(dir, plan.paths);
  const ls = await npmLs(fx, dir);
  expect(ls.problems).toEqual([]);
  expect(ls.exitCode).toBe(0);

  // Through JSON, as a journaled record would come back.
  await revertNpmRemoval(dir, JSON.parse(JSON.stringify(record)) as NpmRemovalRecord);
  expect(readText(dir, 'package.json')).toBe(before.pj);
  expect(readText(dir, 'package-lock.json')).toBe(before.lock);
  return { record, dir };
}
