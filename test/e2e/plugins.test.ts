/**
 * Story plugins (#15): the example of docs/plugins.md (a story 1.9 with a step of its own, its undo and onRestore)
 * run end to end by the built CLI in a temp project, a step's undo when a later step fails, kill -9 inside a step
 * then resume or abort, a plugin changed before resume, broken plugins, and a config step.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, REPO, cli } from './cli-helpers.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'plugins');
const EXAMPLE = path.join(FIXTURES, 'sqlmesh.mjs');
const PLUGIN = 'tools/rollback/plugins/sqlmesh.mjs';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A project with story 1.9 installed by the example plugin; `files` adds or replaces files. */
function project(files: Record<string, string> = {}): string {
  const root = mkdtempSync(path.join(tmpdir(), 'rm-plugins-'));
  made.push(root);
  const put = (rel: string, text: string): void => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };
  put('config/feature-flags.yaml', 'features:\n  sqlmesh_transformations:\n    enabled: true\n    description: SQLMesh models\n    dependencies: []\n');
  mkdirSync(path.join(root, 'tools/rollback/plugins'), { recursive: true });
  copyFileSync(EXAMPLE, path.join(root, PLUGIN));
  mkdirSync(path.join(root, 'tools/data-services'), { recursive: true });
  copyFileSync(path.join(FIXTURES, 'sqlmesh-wrapper.cjs'), path.join(root, 'tools/data-services/sqlmesh-wrapper.js'));
  put('sqlmesh-project/config.yaml', 'gateways: { local: { connection: { type: duckdb } } }\n');
  put('sqlmesh-project/state/runs.json', '[{"run":1,"status":"ok"}]\n');
  put('sqlmesh-project/.cache/model.bin', 'cached\n');
  for (const [rel, text] of Object.entries(files)) put(rel, text);
  return root;
}

/** Every file under root (but the tool's own folders) with its sha256. */
function tree(root: string, skip = (rel: string) => /^(rollback_backups|rollback_reports|\.rollback-manager)(\/|$)|^logs\/(rollback|security)\.log$/.test(rel)): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(root, rel))) {
      const r = rel === '' ? name : `${rel}/${name}`;
      if (skip(r)) continue;
      const abs = path.join(root, r);
      if (statSync(abs).isDirectory()) walk(r);
      else out[r] = createHash('sha256').update(readFileSync(abs)).digest('hex');
    }
  };
  walk('');
  return out;
}

const wrapperLog = (root: string): string[] => (existsSync(path.join(root, 'logs/sqlmesh-wrapper.log')) ? readFileSync(path.join(root, 'logs/sqlmesh-wrapper.log'), 'utf8').split('\n').filter(Boolean) : []);
const flagOn = (root: string): boolean => /sqlmesh_transformations:\n\s+enabled: true/.test(readFileSync(path.join(root, 'config/feature-flags.yaml'), 'utf8'));
/** The last run's report: by its start time (two runs in one second have ids that do not sort by time). */
const latestReport = (root: string): { json: Record<string, unknown>; md: string } => {
  const dir = path.join(root, 'rollback_reports');
  const all = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((name) => ({ name, json: JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as Record<string, unknown> & { when: { startedAt: string } } }))
    .sort((a, b) => a.json.when.startedAt.localeCompare(b.json.when.startedAt));
  const last = all.at(-1) as (typeof all)[number];
  return { json: last.json, md: readFileSync(path.join(dir, last.name.replace(/\.json$/, '.md')), 'utf8') };
};

/** A plugin extending 1.9 with one more step (`body` is the step's object literal). */
const extension = (body: string): string => `import { appendFileSync, existsSync } from 'node:fs';\nimport { join } from 'node:path';\nexport default { id: '1.9', steps: [${body}] };\n`;

describe('the example plugin (docs/plugins.md)', () => {
  it('is the file the documentation shows, word for word', () => {
    expect(readFileSync(path.join(REPO, 'docs/plugins.md'), 'utf8')).toContain(readFileSync(EXAMPLE, 'utf8'));
  });

  it('shows its step in a dry run without running it; runs it in rollback, records the plugin, and onRestore runs on restore', async () => {
    const root = project();
    const before = tree(root);
    const dry = await cli(root, ['rollback', '1.9', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('pause sqlmesh schedules');
    expect(dry.stdout).toContain('run tools/data-services/sqlmesh-wrapper.js pause (writes sqlmesh-project/state/paused.json)');
    expect(tree(root)).toEqual(before);
    expect(wrapperLog(root)).toEqual([]);

    const rb = await cli(root, ['rollback', '1.9', '--force', '--reason', 'plugin test']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(wrapperLog(root)).toEqual(['pause']);
    expect(flagOn(root)).toBe(false);
    expect(existsSync(path.join(root, 'tools/data-services/sqlmesh-wrapper.js'))).toBe(false);
    // The plugin's kept data stays in place (its cache goes).
    expect(readFileSync(path.join(root, 'sqlmesh-project/state/runs.json'), 'utf8')).toBe('[{"run":1,"status":"ok"}]\n');
    expect(existsSync(path.join(root, 'sqlmesh-project/.cache'))).toBe(false);
    const { json, md } = latestReport(root);
    const sha = createHash('sha256').update(readFileSync(EXAMPLE)).digest('hex');
    expect((json.plan as { plugins: unknown }).plugins).toEqual([{ file: PLUGIN, sha256: sha }]);
    expect(md).toContain(`\`${PLUGIN}\` (sha256 ${sha.slice(0, 12)}…)`);
    expect(md).toContain('Step "pause sqlmesh schedules" (after-flag):');
    expect(md).toContain('schedules paused');

    const rs = await cli(root, ['restore', '1.9', '--force']);
    expect(rs.code, rs.stderr).toBe(0);
    expect(wrapperLog(root)).toEqual(['pause', 'resume']);
    expect(flagOn(root)).toBe(true);
    expect(existsSync(path.join(root, 'sqlmesh-project/state/paused.json'))).toBe(false);
    expect(latestReport(root).md).toContain('Step "onRestore" (after-restore):');
  }, 60_000);

  it('loads the same way through the vendored single CommonJS file that init writes into a project', async () => {
    const root = project({ 'package.json': '{ "name": "a-pack", "private": true }\n' });
    const r = await execa(process.execPath, [path.join(REPO, 'tools/rollback/rollback-manager.js'), '--root', root, 'rollback', '1.9', '--dry-run'], { reject: false, stdin: 'ignore' });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toContain('run tools/data-services/sqlmesh-wrapper.js pause (writes sqlmesh-project/state/paused.json)');
  }, 30_000);

  it('is undone when a later step of the story fails: its undo runs, the story is put back', async () => {
    const root = project({ 'tools/rollback/plugins/zz-fail.mjs': extension(`{ name: 'fail on purpose', phase: 'after-removal', apply() { throw new Error('refused by the test'); } }`) });
    const before = tree(root, (rel) => /^(rollback_backups|rollback_reports|\.rollback-manager|logs)(\/|$)/.test(rel));
    const rb = await cli(root, ['rollback', '1.9', '--force']);
    expect(rb.code, rb.stderr).toBe(1);
    expect(rb.stderr + rb.stdout).toContain('refused by the test');
    expect(wrapperLog(root)).toEqual(['pause', 'resume']);
    expect(flagOn(root)).toBe(true);
    expect(tree(root, (rel) => /^(rollback_backups|rollback_reports|\.rollback-manager|logs)(\/|$)/.test(rel))).toEqual(before);
    const steps = (latestReport(root).json.stories as Array<{ steps: Array<{ kind: string; description: string; status: string }> }>)[0]?.steps ?? [];
    expect(steps.find((s) => s.description.startsWith('pause sqlmesh schedules'))?.status).toBe('reverted');
  }, 60_000);

  it('a step without undo is reported "not undone" with what to do', async () => {
    const root = project({
      'tools/rollback/plugins/zz-fail.mjs': extension(
        `{ name: 'note it', phase: 'after-backup', manualUndo: 'delete notes.txt', apply(ctx) { appendFileSync(join(ctx.root, 'notes.txt'), 'x'); } }, { name: 'fail on purpose', phase: 'after-removal', apply() { throw new Error('refused by the test'); } }`,
      ),
    });
    const rb = await cli(root, ['rollback', '1.9', '--force']);
    expect(rb.code, rb.stderr).toBe(1);
    expect(latestReport(root).md).toContain('step "note it" was not undone: it has no undo; delete notes.txt');
  }, 60_000);
});

describe('kill -9 inside a plugin step', () => {
  const SLOW = extension(
    `{ name: 'slow step', phase: 'after-stop', async apply(ctx) { appendFileSync(join(ctx.root, 'slow.log'), 'apply\\n'); while (!existsSync(join(ctx.root, 'go'))) await new Promise((r) => setTimeout(r, 20)); return { ok: true }; }, undo(ctx, r) { appendFileSync(join(ctx.root, 'slow.log'), 'undo ' + JSON.stringify(r) + '\\n'); } }`,
  );
  const slowLog = (root: string): string[] => readFileSync(path.join(root, 'slow.log'), 'utf8').split('\n').filter(Boolean);

  /** Starts the rollback, kills it with SIGKILL once the slow step has begun. */
  async function killedInStep(): Promise<string> {
    const root = project({ 'tools/rollback/plugins/zz-slow.mjs': SLOW });
    const run = execa(process.execPath, [CLI, '--root', root, 'rollback', '1.9', '--force'], { reject: false, stdin: 'ignore' });
    for (let i = 0; i < 600 && !existsSync(path.join(root, 'slow.log')); i++) await sleep(50);
    expect(existsSync(path.join(root, 'slow.log'))).toBe(true);
    run.kill('SIGKILL');
    await run;
    return root;
  }

  it('resume runs the step again and finishes the rollback; a plugin changed meanwhile is refused unless --force, which the report records', async () => {
    const root = await killedInStep();
    appendFileSync(path.join(root, 'tools/rollback/plugins/zz-slow.mjs'), '// changed after the crash\n');
    const refused = await cli(root, ['resume']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('tools/rollback/plugins/zz-slow.mjs');
    expect(refused.stderr).toContain('changed since');
    expect(slowLog(root)).toEqual(['apply']);
    writeFileSync(path.join(root, 'go'), '');
    const r = await cli(root, ['resume', '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(slowLog(root)).toEqual(['apply', 'apply']);
    expect(flagOn(root)).toBe(false);
    expect(existsSync(path.join(root, 'tools/data-services/sqlmesh-wrapper.js'))).toBe(false);
    const { json, md } = latestReport(root);
    expect((json.recovery as { pluginsChanged: Array<{ file: string }> }).pluginsChanged.map((c) => c.file)).toEqual(['tools/rollback/plugins/zz-slow.mjs']);
    expect(md).toContain('Plugin changed since the interruption, run anyway (--force)');
  }, 90_000);

  it('abort runs its undo (and the earlier step\'s) and puts the story back', async () => {
    const root = await killedInStep();
    const r = await cli(root, ['abort']);
    expect(r.code, r.stderr).toBe(0);
    expect(slowLog(root)).toEqual(['apply', 'undo {}']);
    expect(wrapperLog(root)).toEqual(['pause', 'resume']);
    expect(flagOn(root)).toBe(true);
    expect(existsSync(path.join(root, 'tools/data-services/sqlmesh-wrapper.js'))).toBe(true);
  }, 90_000);
});

describe('a broken plugin', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['does not load', 'export default {', /tools\/rollback\/plugins\/broken\.mjs: the plugin failed to load/],
    ['has the wrong shape', `export default { id: '2.1', feature: 'x', steps: [{ name: 'a', phase: 'before-bakup', apply() {} }] };`, /tools\/rollback\/plugins\/broken\.mjs: not a story plugin: steps\[0\]\.phase: must be one of after-flag/],
    ['claims a path another story owns', `export default { id: '2.1', feature: 'x', code: ['tools/data-services/duckdb-wrapper.js'] };`, /tools\/rollback\/plugins\/broken\.mjs: code: "tools\/data-services\/duckdb-wrapper\.js" already belongs to story 1\.3/],
  ];
  for (const [what, text, message] of cases) {
    it(`${what}: exit 2 naming its file, nothing changed`, async () => {
      const root = project({ 'tools/rollback/plugins/broken.mjs': text });
      const before = tree(root, () => false);
      const r = await cli(root, ['rollback', '1.9', '--force']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(tree(root, () => false)).toEqual(before);
    }, 30_000);
  }
});

describe('a step in config/rollback.yaml', () => {
  it('shows in the dry run, runs its program in the rollback, and its undo when a later step fails', async () => {
    const yaml = (extra: string) =>
      [
        'stories:',
        '  "1.9":',
        '    steps:',
        '      - name: mark it',
        '        phase: after-backup',
        `        run: [${JSON.stringify(process.execPath)}, -e, "require('fs').writeFileSync('marker.txt', 'x')"]`,
        `        undo: [${JSON.stringify(process.execPath)}, -e, "require('fs').rmSync('marker.txt')"]`,
        '        timeout: 30s',
        extra,
        '',
      ].join('\n');
    const root = project({ 'config/rollback.yaml': yaml('') });
    const dry = await cli(root, ['rollback', '1.9', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('mark it');
    expect(dry.stdout).toContain(`run ${process.execPath} -e require('fs').writeFileSync('marker.txt', 'x')`);
    expect(existsSync(path.join(root, 'marker.txt'))).toBe(false);
    const rb = await cli(root, ['rollback', '1.9', '--force']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(readFileSync(path.join(root, 'marker.txt'), 'utf8')).toBe('x');

    const failing = project({
      'config/rollback.yaml': yaml(['      - name: fail', '        phase: after-removal', `        run: [${JSON.stringify(process.execPath)}, -e, "process.exit(3)"]`].join('\n')),
    });
    const f = await cli(failing, ['rollback', '1.9', '--force']);
    expect(f.code).toBe(1);
    expect(f.stderr + f.stdout).toContain('exited 3');
    expect(existsSync(path.join(failing, 'marker.txt'))).toBe(false);
    expect(flagOn(failing)).toBe(true);
  }, 60_000);
});
