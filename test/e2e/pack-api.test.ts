/**
 * The pack's API from CommonJS: `require('./tools/rollback/rollback-manager')` after `init`, called from a
 * child `node` as the pack's own code calls it (tests/security/validate-security.js, the integration tests).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSandbox, listTree, type Sandbox } from '../../dev/sandbox/build-sandbox.js';
import { cli } from './cli-helpers.js';
import { storyFlags } from './story-helpers.js';
import { BUILTIN_STORIES } from '../../src/stories/index.js';

let sb: Sandbox;
let spare: string;
beforeAll(async () => {
  sb = await buildSandbox({ services: false, only: ['1.3', '1.4', '1.8'], dataBytes: 4096 });
  writeFileSync(path.join(sb.root, 'config/rollback.yaml'), 'stories:\n  "1.9":\n    feature: sqlmesh_transformations\n    dependsOn: ["1.3"]\n    code: [tools/data-services/sqlmesh-wrapper.js]\n');
  const init = await cli(sb.root, ['init']);
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  spare = realpathSync(mkdtempSync(path.join(tmpdir(), 'rbm-api-')));
}, 60_000);
afterAll(async () => {
  await sb?.cleanup();
  rmSync(spare, { recursive: true, force: true });
});

/** Runs `body` in a CommonJS `node -e` in `cwd` with `api` = the vendored module; returns what it prints as JSON. */
async function callApi<T>(body: string, opts: { cwd?: string; env?: Record<string, string>; from?: string } = {}): Promise<{ code: number; value: T; stderr: string }> {
  const from = opts.from ?? path.join(sb.root, 'tools/rollback/rollback-manager');
  const script = `const api = require(${JSON.stringify(from)});
const out = (v) => process.stdout.write(JSON.stringify(v));
const fail = (e) => { out({ thrown: { name: e.constructor.name, message: e.message, code: e.code, exitCode: e.exitCode, file: e.file } }); };
Promise.resolve().then(async () => { ${body} }).catch(fail);`;
  const r = await execa(process.execPath, ['-e', script], { cwd: opts.cwd ?? sb.root, env: { ROLLBACK_ROOT: '', ...opts.env }, reject: false, stdin: 'ignore', timeout: 60_000 });
  return { code: r.exitCode ?? -1, value: JSON.parse(String(r.stdout) || 'null') as T, stderr: String(r.stderr) };
}

type Thrown = { thrown: { name: string; message: string; code?: string; exitCode?: number; file?: string } };
type Result = { success: boolean; storyId: string; feature: string; featuresDisabled: string[]; output: string; reportPath: string | null; status: string; code?: string; error?: string };

describe('getRollbackStatus', () => {
  it("returns, synchronously, every story of the project's registry with its script and its flag", async () => {
    const { value, stderr } = await callApi<Record<string, { scriptExists: boolean; feature: string; featureEnabled: boolean }>>(
      'const s = api.getRollbackStatus(); if (s instanceof Promise) throw new Error("a promise"); out(s);',
      { cwd: spare }, // the file finds its own project, wherever the caller runs
    );
    expect(stderr).toBe('');
    const flags = storyFlags(sb.root);
    expect(Object.keys(value)).toEqual([...BUILTIN_STORIES.map((s) => s.id), '1.9']);
    for (const s of BUILTIN_STORIES) expect(value[s.id]).toEqual({ scriptExists: true, feature: s.feature, featureEnabled: flags[s.id] });
    expect(value['1.9']).toEqual({ scriptExists: true, feature: 'sqlmesh_transformations', featureEnabled: false });
  });

  it('ROLLBACK_ROOT names another project; a bad config there is an input error naming the file', async () => {
    const other = path.join(spare, 'other');
    mkdirSync(path.join(other, 'config'), { recursive: true });
    writeFileSync(path.join(other, 'config/feature-flags.yaml'), readFileSync(path.join(sb.root, 'config/feature-flags.yaml')));
    writeFileSync(path.join(other, 'config/rollback.yaml'), 'backups:\n  keep: many\n');
    const { value } = await callApi<Thrown>('out(api.getRollbackStatus());', { env: { ROLLBACK_ROOT: other } });
    expect(value.thrown).toMatchObject({ name: 'InvalidInputError', exitCode: 2, file: 'config/rollback.yaml' });
    expect(value.thrown.message).toContain('backups.keep');
  });
});

describe('rollbackStory and rollbackMultipleStories', () => {
  it('a dry run changes nothing and gives the plan as output', async () => {
    const before = listTree(sb.root);
    const { value } = await callApi<Result>("out(await api.rollbackStory('1.8', { dryRun: true, reason: 'look first' }));");
    expect(value).toMatchObject({ success: true, storyId: '1.8', feature: 'qa_framework', featuresDisabled: ['qa_framework'], reportPath: null, status: 'planned' });
    expect(value.output).toContain('DRY RUN');
    expect(listTree(sb.root)).toEqual(before);
  });

  it('refused (installed dependents, no cascade): rollbackStory rejects with the code, rollbackMultipleStories says so per story', async () => {
    const before = listTree(sb.root);
    const one = await callApi<Thrown>("out(await api.rollbackStory('1.3'));");
    expect(one.value.thrown).toMatchObject({ name: 'InvalidInputError', code: 'E_DEPENDENTS', exitCode: 2 });
    const many = await callApi<Result[]>("out(await api.rollbackMultipleStories(['1.3']));");
    expect(many.value).toEqual([expect.objectContaining({ success: false, storyId: '1.3', code: 'E_DEPENDENTS', status: 'refused' })]);
    expect(listTree(sb.root)).toEqual(before);
  });

  it('several stories in one run, dependents first, each with its result and the report', async () => {
    const { value, stderr } = await callApi<Result[]>("out(await api.rollbackMultipleStories(['1.3', '1.4'], { reason: 'api batch' }));");
    expect(value.map((r) => [r.storyId, r.status, r.success]), stderr).toEqual([
      ['1.4', 'rolled-back', true],
      ['1.3', 'rolled-back', true],
    ]);
    const reportPath = value[0]?.reportPath as string;
    expect(value[1]?.reportPath).toBe(reportPath);
    const report = JSON.parse(readFileSync(reportPath.replace(/\.md$/, '.json'), 'utf8')) as { why: { reason: string; trigger: string }; stories: Array<{ id: string; status: string }> };
    expect(report.why).toEqual({ reason: 'api batch', trigger: 'script' });
    expect(report.stories.map((s) => [s.id, s.status])).toEqual([['1.4', 'rolled-back'], ['1.3', 'rolled-back']]);
    // 1.3's code goes; its analytical database is data the story keeps in place (backed up all the same).
    expect(existsSync(path.join(sb.root, 'tools/data-services/duckdb-wrapper.js'))).toBe(false);
    expect(existsSync(path.join(sb.root, '.duckdb'))).toBe(true);
  });

  it('generateRollbackDocs writes what `docs` prints', async () => {
    const file = path.join(spare, 'procedures.md');
    const { value } = await callApi<string>(`await api.generateRollbackDocs(${JSON.stringify(file)}); out('ok');`);
    expect(value).toBe('ok');
    const printed = await cli(sb.root, ['docs']);
    expect(readFileSync(file, 'utf8')).toBe(`${printed.stdout}\n`);
    expect(printed.stdout).toContain('| 1.9 | `sqlmesh_transformations` |');
  });
});

describe('in an ES module project', () => {
  it('the vendored file is CommonJS still: require and import both give the API', async () => {
    const esm = path.join(spare, 'esm');
    mkdirSync(path.join(esm, 'config'), { recursive: true });
    writeFileSync(path.join(esm, 'package.json'), JSON.stringify({ name: 'esm-project', type: 'module' }));
    writeFileSync(path.join(esm, 'config/feature-flags.yaml'), readFileSync(path.join(sb.root, 'config/feature-flags.yaml')));
    expect((await cli(esm, ['init'])).code).toBe(0);
    writeFileSync(
      path.join(esm, 'check.js'),
      `import { createRequire } from 'node:module';
import { getRollbackStatus } from './tools/rollback/rollback-manager.js';
const required = createRequire(import.meta.url)('./tools/rollback/rollback-manager.js');
console.log(JSON.stringify([Object.keys(required).sort(), Object.keys(getRollbackStatus())]));
`,
    );
    const r = await execa(process.execPath, ['check.js'], { cwd: esm, reject: false });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(JSON.parse(String(r.stdout))).toEqual([
      ['generateRollbackDocs', 'getRollbackStatus', 'rollbackMultipleStories', 'rollbackStory'],
      BUILTIN_STORIES.map((s) => s.id),
    ]);
  });
});
