/**
 * `packages: true` must give a project npm and pip themselves accept: `npm ls` clean, a lockfile npm
 * wrote, and a venv whose pip lists every distribution of the stories. Rollback tests rely on it.
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_STORIES } from '../../../src/stories/index.js';
import { BASE_FILES, buildSandbox, normaliseDist, npmWanted, type Sandbox } from '../../../dev/sandbox/index.js';
import { npmEnv, pythonEnv } from '../../../dev/sandbox/child-env.js';

interface LsNode {
  dependencies?: Record<string, LsNode>;
}

/** Every `parent>child` edge of an `npm ls --json` tree. */
function edges(node: LsNode, parent = ''): string[] {
  return Object.entries(node.dependencies ?? {}).flatMap(([name, child]) => [`${parent}>${name}`, ...edges(child, name)]);
}

const STORY_DISTS = [...new Set(BUILTIN_STORIES.flatMap((s) => [...s.python, ...(s.pythonUses ?? [])]))];

describe('buildSandbox({ packages: true })', () => {
  let sb: Sandbox;
  let buildMs = 0;

  beforeAll(async () => {
    const t0 = performance.now();
    sb = await buildSandbox({ packages: true, services: false });
    buildMs = performance.now() - t0;
  });
  afterAll(async () => {
    await sb?.cleanup();
  });

  it('leaves a tree `npm ls --offline --all` accepts, with the shared dependency reached from both users', async () => {
    const ls = await execa('npm', ['ls', '--offline', '--all', '--json'], {
      cwd: sb.root,
      env: npmEnv(path.join(sb.outside, 'npm-cache')),
      extendEnv: false,
      reject: false,
    });
    expect(ls.exitCode, ls.stderr).toBe(0);
    const found = edges(JSON.parse(ls.stdout) as LsNode);
    for (const top of ['express', 'multer', 'duckdb', '@evidence-dev/evidence', 'supertest', 'jest', 'fs-extra']) {
      expect(found, top).toContain(`>${top}`);
    }
    expect(found).toContain('express>shared-helper');
    expect(found).toContain('multer>shared-helper');
    expect(found).toContain('multer>multer-only-dep');
    // Reached only through its users, never a direct dependency of the root.
    expect(found).not.toContain('>shared-helper');
    expect(found).not.toContain('>multer-only-dep');
    console.info(`packaged sandbox built in ${Math.round(buildMs)} ms`);
  });

  it('has package.json and a lockfileVersion 3 lock written for the same graph', () => {
    const pkg = JSON.parse(readFileSync(path.join(sb.root, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    const base = JSON.parse(BASE_FILES['package.json'] as string) as Record<string, unknown>;
    expect(pkg['scripts']).toEqual(base['scripts']);
    const wanted = npmWanted(BASE_FILES['package.json'] as string, BUILTIN_STORIES, BUILTIN_STORIES);
    expect(Object.keys(pkg['dependencies'] ?? {})).toEqual(wanted.dependencies);
    expect(Object.keys(pkg['devDependencies'] ?? {})).toEqual(['jest', 'supertest']);
    expect(pkg['dependencies']?.['express']).toMatch(/^file:\.\.\/outside\/pkgs\/express-4\.21\.2\.tgz$/);

    const lock = JSON.parse(readFileSync(path.join(sb.root, 'package-lock.json'), 'utf8')) as {
      lockfileVersion: number;
      packages: Record<string, { version?: string; resolved?: string; dev?: boolean; dependencies?: Record<string, string> }>;
    };
    expect(lock.lockfileVersion).toBe(3);
    expect(lock.packages['node_modules/shared-helper']?.version).toBe('1.0.0');
    expect(lock.packages['node_modules/express']?.dependencies).toEqual({ 'shared-helper': '^1.0.0' });
    expect(lock.packages['node_modules/supertest']?.dev).toBe(true);
    expect(Object.keys(lock.packages['']?.dependencies ?? {})).not.toContain('shared-helper');
    for (const name of sb.packages?.npm ?? []) {
      const entry = lock.packages[`node_modules/${name}`];
      expect(entry?.resolved, name).toMatch(/^file:\.\.\/outside\/pkgs\/.+\.tgz$/);
      expect(existsSync(path.join(sb.root, entry?.resolved?.slice('file:'.length) ?? 'none')), name).toBe(true);
    }
    expect(sb.packages?.npm).toContain('@evidence-dev/evidence');
    expect(existsSync(path.join(sb.root, 'node_modules/.bin/evidence'))).toBe(true);
  });

  it("installs every story distribution into the venv, as the venv's pip lists it", async () => {
    const list = await execa(path.join(sb.root, '.venv/bin/python'), ['-m', 'pip', 'list', '--format', 'json'], {
      env: pythonEnv(),
      extendEnv: false,
    });
    const listed = new Set((JSON.parse(list.stdout) as Array<{ name: string }>).map((d) => normaliseDist(d.name)));
    expect(STORY_DISTS.length).toBeGreaterThan(20);
    for (const dist of STORY_DISTS) expect(listed.has(normaliseDist(dist)), dist).toBe(true);
    expect(sb.packages?.python).toEqual([...STORY_DISTS].sort());
  });

  it('gives dagster its console script in .venv/bin, and it runs', async () => {
    const script = path.join(sb.root, '.venv/bin/dagster');
    accessSync(script, constants.X_OK);
    const run = await execa(script, [], { env: pythonEnv(), extendEnv: false });
    expect(run.stdout).toMatch(/^dagster 1\.9\.5/);
  });

  it('cleanup() removes the root, the outside and the temp dir holding them', async () => {
    const dirs = [sb.root, sb.outside, path.dirname(sb.root)];
    for (const d of dirs) expect(existsSync(d), d).toBe(true);
    await sb.cleanup();
    for (const d of dirs) expect(existsSync(d), d).toBe(false);
  });
});

describe('packages option off and partial installs', () => {
  it('installs nothing by default', async () => {
    const sb = await buildSandbox({ services: false, dataBytes: 0 });
    try {
      expect(sb.packages).toBeUndefined();
      expect(existsSync(path.join(sb.root, 'node_modules'))).toBe(false);
      expect(existsSync(path.join(sb.root, '.venv'))).toBe(false);
      expect(readFileSync(path.join(sb.root, 'package.json'), 'utf8')).toBe(BASE_FILES['package.json']);
    } finally {
      await sb.cleanup();
    }
  });

  it('installs only what the chosen stories need: no venv when none needs Python', async () => {
    const sb = await buildSandbox({ only: ['1.7'], packages: true, services: false, dataBytes: 0 });
    try {
      expect(sb.packages).toEqual({ npm: ['@evidence-dev/evidence', 'commander', 'fs-extra', 'jest', 'js-yaml'], python: [] });
      expect(readdirSync(path.join(sb.root, 'node_modules')).sort()).toEqual(['.bin', '.package-lock.json', '@evidence-dev', 'commander', 'fs-extra', 'jest', 'js-yaml']);
      expect(existsSync(path.join(sb.root, '.venv'))).toBe(false);
    } finally {
      await sb.cleanup();
    }
  });

  it('fails loudly without python3, and leaves nothing behind', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rm-sandbox-test-'));
    // A PATH with node only: python3 cannot be found, whatever the machine has.
    await mkdir(path.join(dir, 'bin'));
    await symlink(process.execPath, path.join(dir, 'bin', 'node'));
    const saved = process.env['PATH'];
    process.env['PATH'] = path.join(dir, 'bin');
    try {
      await expect(buildSandbox({ dir: path.join(dir, 'root'), packages: true, services: false, dataBytes: 0 })).rejects.toMatchObject({
        code: 'E_SANDBOX_PYTHON',
        message: expect.stringContaining('python3') as unknown,
      });
      expect(readdirSync(dir)).toEqual(['bin']);
    } finally {
      process.env['PATH'] = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lists only the base and the installed stories in package.json', () => {
    const only13 = BUILTIN_STORIES.filter((s) => s.id === '1.3');
    const wanted = npmWanted(BASE_FILES['package.json'] as string, BUILTIN_STORIES, only13);
    expect(wanted).toEqual({ dependencies: ['commander', 'duckdb', 'express', 'fs-extra', 'js-yaml'], devDependencies: ['jest', 'supertest'] });
  });
});
