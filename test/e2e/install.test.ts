/**
 * The install paths, from the packed tarball (#16): `npm install -g` into a temp prefix, `npx --package`,
 * `npm install --save-dev` in an ordinary project; and, with the global install, the issue's "done when"
 * on a CommonJS project shaped like the pack (package.json without "type", the pack's flags file, stories
 * installed, 1.2's service running). The tarball is packed once, without scripts: the suite built dist/ and
 * tools/rollback/ already. Installs are --prefer-offline: CI runs `npm ci` first, so the cache holds our
 * dependencies.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type Options } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSandbox, listTree, type Sandbox } from '../../dev/sandbox/build-sandbox.js';
import { alive, REPO } from './cli-helpers.js';
import { footprintOf, storyFlags, under } from './story-helpers.js';
import { stamp } from './tree-stamp.js';
import { BUILTIN_STORIES } from '../../src/stories/index.js';

const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

/** npm's environment: the caller's, minus the npm_config_* an enclosing `npm test` sets (its prefix, its command). */
function npmEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^npm_config_/i.test(k) && !/^npm_config_(cache|userconfig|registry)$/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, npm_config_update_notifier: 'false' };
}

let tmp: string;
let tarball: string;
let prefix: string;
let ordinary: string;
let sb: Sandbox;
/** The global install's bin and package folder. */
let bin: string;
let pkgDir: string;
/** What `npx --package=<tarball> rollback-manager status --json` said in the project, before init. */
let npxStatus: { code: number; stdout: string; stderr: string };

beforeAll(async () => {
  tmp = realpathSync(mkdtempSync(path.join(tmpdir(), 'rbm-install-')));
  const packed = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: REPO, env: npmEnv(), extendEnv: false });
  tarball = path.join(tmp, (JSON.parse(String(packed.stdout)) as Array<{ filename: string }>)[0]?.filename as string);
  prefix = path.join(tmp, 'prefix');
  ordinary = path.join(tmp, 'ordinary');
  mkdirSync(ordinary);
  writeFileSync(path.join(ordinary, 'package.json'), `${JSON.stringify({ name: 'ordinary', version: '1.0.0', private: true }, null, 2)}\n`);
  const opts: Options = { env: npmEnv(), extendEnv: false, stdin: 'ignore' };
  // Independent: together they take the time of the slowest. npx runs on the project as soon as it is built.
  [sb] = await Promise.all([
    buildSandbox({ services: true, only: ['1.2', '1.3', '1.8'], dataBytes: 4096 }).then(async (built) => {
      npxStatus = await npxStatusIn(built.root);
      return built;
    }),
    execa('npm', ['install', '-g', '--prefix', prefix, ...NPM_FLAGS, tarball], opts),
    execa('npm', ['install', '--save-dev', ...NPM_FLAGS, tarball], { ...opts, cwd: ordinary }),
  ]);
  bin = path.join(prefix, 'bin/rollback-manager');
  pkgDir = path.join(prefix, 'lib/node_modules/rollback-manager');
}, 180_000);

afterAll(async () => {
  await sb?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs a command as a user in `cwd` would: no terminal, no ROLLBACK_ROOT. */
async function run(file: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa(file, args, { cwd, reject: false, stdin: 'ignore', env: { ROLLBACK_ROOT: '', ...env }, timeout: 120_000 });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

const service12 = (): number[] => sb.processes.filter((p) => p.story === '1.2' && !p.twin).map((p) => p.pid);

describe('installed globally, in a CommonJS project shaped like the pack (#16 "done when")', () => {
  it('init from inside the project, with no --root; run again, it changes nothing', async () => {
    expect(JSON.parse(readFileSync(path.join(sb.root, 'package.json'), 'utf8'))).not.toHaveProperty('type');
    const first = await run(bin, ['init'], sb.root);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`init of ${sb.root} with rollback-manager 0.1.0`);
    const settled = stamp(sb.root);
    const second = await run(bin, ['init'], sb.root);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('Nothing to do');
    expect(stamp(sb.root)).toEqual(settled);
  });

  it('node tools/rollback/rollback-manager.js status exits 0', async () => {
    const r = await run(process.execPath, ['tools/rollback/rollback-manager.js', 'status'], sb.root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Project ${sb.root}`);
    expect(r.stdout).toMatch(/^1\.2\s+pyairbyte_integration\s+on\b.*data-ingestion-service:\d+/m);
  });

  it('ROLLBACK_DRY_RUN=1 tools/rollback/rollback-story-1.3.sh --cascade changes nothing', async () => {
    const before = listTree(sb.root);
    const r = await run('tools/rollback/rollback-story-1.3.sh', ['--cascade'], sb.root, { ROLLBACK_DRY_RUN: '1' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('DRY RUN');
    expect(r.stdout).toContain('Story 1.3 duckdb_analytics');
    expect(listTree(sb.root)).toEqual(before);
    for (const pid of service12()) expect(alive(pid)).toBe(true);
  });

  it("a CommonJS script's require('./tools/rollback/rollback-manager'): getRollbackStatus, then rollbackStory('1.8')", async () => {
    mkdirSync(path.join(sb.root, 'tests/security'), { recursive: true });
    writeFileSync(
      path.join(sb.root, 'tests/security/validate-rollback.js'),
      `const { getRollbackStatus, rollbackStory } = require('../../tools/rollback/rollback-manager');
const status = getRollbackStatus();
rollbackStory('1.8', { force: true, reason: 'api' }).then(
  (result) => console.log(JSON.stringify({ status, result })),
  (err) => { console.error(err); process.exitCode = 1; },
);
`,
    );
    const flags = storyFlags(sb.root);
    const r = await run(process.execPath, ['tests/security/validate-rollback.js'], sb.root);
    expect(r.code, r.stderr).toBe(0);
    const { status, result } = JSON.parse(r.stdout) as {
      status: Record<string, { scriptExists: boolean; feature: string; featureEnabled: boolean }>;
      result: { success: boolean; storyId: string; feature: string; featuresDisabled: string[]; validation: { success: boolean }; reportPath: string };
    };
    expect(status).toEqual(Object.fromEntries(BUILTIN_STORIES.map((s) => [s.id, { scriptExists: true, feature: s.feature, featureEnabled: flags[s.id] }])));
    expect(flags['1.8']).toBe(true);
    expect(result).toMatchObject({ success: true, storyId: '1.8', feature: 'qa_framework', featuresDisabled: ['qa_framework'], validation: { success: true } });
    const report = JSON.parse(readFileSync(result.reportPath.replace(/\.md$/, '.json'), 'utf8')) as { why: unknown; stories: Array<{ id: string; status: string }> };
    expect(report.why).toEqual({ reason: 'api', trigger: 'script' });
    expect(report.stories.map((s) => [s.id, s.status])).toEqual([['1.8', 'rolled-back']]);
    expect(readFileSync(result.reportPath, 'utf8')).toMatch(/1\.8.*rolled-back/);
    expect([...listTree(sb.root).keys()].filter((p) => under(p, footprintOf(['1.8'])))).toEqual([]);
    expect(storyFlags(sb.root)['1.8']).toBe(false);
  });

  it('a wrapper run from a subfolder of the project acts on the project', async () => {
    const sub = path.join(sb.root, 'expansion-packs/bmad-data-practitioner');
    const inSub = new Set(readdirSync(sub));
    const pids = service12();
    expect(pids.length).toBeGreaterThan(0);
    const r = await run('../../tools/rollback/rollback-story-1.2.sh', ['--force', '--json'], sub, { ROLLBACK_REASON: 'from a subfolder' });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { stories: Array<{ id: string; status: string }>; report: { json: string } };
    expect(out.stories).toEqual([expect.objectContaining({ id: '1.2', status: 'rolled-back' })]);
    expect(existsSync(path.join(sb.root, out.report.json))).toBe(true);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(new Set(readdirSync(sub))).toEqual(inSub);
  });

  it("the installed package's own wrapper acts on the project it is run in, never on the package folder", async () => {
    const before = listTree(pkgDir);
    const r = await run(path.join(pkgDir, 'tools/rollback/rollback-story-1.3.sh'), ['--force', '--json'], path.join(sb.root, 'config'));
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { stories: Array<{ id: string; status: string }> }).stories).toEqual([expect.objectContaining({ id: '1.3', status: 'rolled-back' })]);
    expect(listTree(pkgDir)).toEqual(before);
  });
});

describe('npx --package=<tarball>', () => {
  it('runs the tool in the project without installing it there', () => {
    expect(npxStatus.code, npxStatus.stderr).toBe(0);
    expect((JSON.parse(npxStatus.stdout) as { root: string }).root).toBe(sb.root);
    expect(existsSync(path.join(sb.root, 'node_modules/rollback-manager'))).toBe(false);
  });
});

/**
 * `npx --package=<tarball> rollback-manager status --json` in the project. npx installs into the npm cache's
 * _npx/, one folder per package spec: this run's temp tarball makes a new one, removed again so that test
 * runs do not pile up there (only that one: another npx may be running meanwhile).
 */
async function npxStatusIn(root: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const npxDir = path.join(process.env.npm_config_cache ?? path.join(homedir(), '.npm'), '_npx');
  const had = new Set(existsSync(npxDir) ? readdirSync(npxDir) : []);
  try {
    return await run('npx', ['--yes', ...NPM_FLAGS, `--package=${tarball}`, 'rollback-manager', 'status', '--json'], root, npmEnv());
  } finally {
    for (const d of existsSync(npxDir) ? readdirSync(npxDir) : []) {
      const manifest = path.join(npxDir, d, 'package.json');
      if (!had.has(d) && existsSync(manifest) && readFileSync(manifest, 'utf8').includes(path.basename(tmp))) rmSync(path.join(npxDir, d), { recursive: true, force: true });
    }
  }
}

describe('npm install --save-dev in an ordinary project', () => {
  it('is a devDependency with its bin; finds no project until there is a flags file, then init sets it up', async () => {
    expect(JSON.parse(readFileSync(path.join(ordinary, 'package.json'), 'utf8')).devDependencies).toHaveProperty('rollback-manager');
    const local = path.join(ordinary, 'node_modules/.bin/rollback-manager');
    const none = await run(local, ['status'], ordinary);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`no project found: neither ${ordinary} nor any folder above it holds config/feature-flags.yaml`);
    mkdirSync(path.join(ordinary, 'config'));
    copyFileSync(path.join(REPO, 'config/feature-flags.yaml'), path.join(ordinary, 'config/feature-flags.yaml'));
    const init = await run('npx', ['--no-install', 'rollback-manager', 'init'], ordinary, npmEnv());
    expect(init.code, init.stderr).toBe(0);
    const status = await run(process.execPath, ['tools/rollback/rollback-manager.js', 'status', '--json'], ordinary);
    expect(status.code, status.stderr).toBe(0);
    // Run from inside the installed package, the project is still the one above it.
    const fromPkg = await run(local, ['status', '--json'], path.join(ordinary, 'node_modules/rollback-manager'));
    expect(fromPkg.code, fromPkg.stderr).toBe(0);
    expect((JSON.parse(fromPkg.stdout) as { root: string }).root).toBe(ordinary);
  });
});
