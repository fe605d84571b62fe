/**
 * `init` on a project shaped like the pack before it: its own CommonJS tools/rollback/ (the originals init
 * replaces), a real flags file, a .gitignore of its own. The CLI is the built one, run as a user would.
 */
import { chmodSync, copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, cli, cliJson, REPO } from './cli-helpers.js';
import { stamp } from './tree-stamp.js';
import { BUILTIN_STORIES } from '../../src/stories/index.js';

/** The pack's own files before init (what it shipped in tools/rollback/, in short). */
const ORIGINALS: Record<string, string> = {
  'tools/rollback/rollback-manager.js': "const fs = require('fs-extra');\nmodule.exports = { rollbackStory() {} };\n",
  'tools/rollback/rollback-story-1.3.sh': '#!/bin/bash\nsource "$(dirname "$0")/rollback-common.sh"\necho "rolling back 1.3"\n',
  'tools/rollback/rollback-common.sh': '#!/bin/bash\nis_dry_run() { [[ "${ROLLBACK_DRY_RUN:-0}" == "1" ]]; }\n',
};
const GITIGNORE = 'node_modules/\nlogs/\n.env'; // no newline at the end, on purpose

let base: string;
let root: string;
beforeEach(() => {
  base = realpathSync(mkdtempSync(path.join(tmpdir(), 'rbm-init-')));
  root = path.join(base, 'pack');
  mkdirSync(path.join(root, 'config'), { recursive: true });
  copyFileSync(path.join(REPO, 'config/feature-flags.yaml'), path.join(root, 'config/feature-flags.yaml'));
  writeFileSync(path.join(root, 'package.json'), `${JSON.stringify({ name: 'bmad-method', version: '4.35.3', main: 'tools/cli.js' }, null, 2)}\n`);
  writeFileSync(path.join(root, '.gitignore'), GITIGNORE);
  for (const [rel, text] of Object.entries(ORIGINALS)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const read = (rel: string): string => readFileSync(path.join(root, rel), 'utf8');
const shipped = (name: string): string => readFileSync(path.join(REPO, 'tools/rollback', name), 'utf8');

type InitJson = {
  entries: Array<{ path: string; action: string; backup: boolean }>;
  backup: { id: string; dir: string; files: number } | null;
  written: string[];
  refused: string[];
};

describe('init', () => {
  it('--dry-run lists every file it would write and writes no byte', async () => {
    const before = stamp(root);
    const r = await cli(root, ['init', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('DRY RUN');
    expect(r.stdout).toMatch(/replace\s+tools\/rollback\/rollback-manager\.js — not init's \(the pack's original\)/);
    expect(r.stdout).toMatch(/create\s+tools\/rollback\/rollback-story-1\.8\.sh/);
    expect(r.stdout).toMatch(/kept\s+tools\/rollback\/rollback-common\.sh/);
    expect(r.stdout).toMatch(/create\s+config\/rollback\.yaml/);
    expect(r.stdout).toMatch(/append\s+\.gitignore — adds \/rollback_backups\/ \/rollback_reports\/ \/\.rollback-manager\//);
    expect(r.stdout).toContain('Would back up first: tools/rollback/rollback-manager.js, tools/rollback/rollback-story-1.3.sh');
    expect(stamp(root)).toEqual(before);
  });

  it("vendors the package's tools/rollback/ after a verified backup of the pack's originals; run again, it changes nothing", async () => {
    const first = await cliJson<InitJson>(root, ['init']);
    expect(first.code, first.stderr).toBe(0);
    // What the package ships for the built-in stories, byte for byte, executable.
    const names = ['rollback-manager.js', 'package.json', 'rollback-story.sh', ...BUILTIN_STORIES.map((s) => `rollback-story-${s.id}.sh`)];
    for (const n of names) expect(read(`tools/rollback/${n}`), n).toBe(shipped(n));
    for (const n of names.filter((x) => x !== 'package.json')) expect(lstatSync(path.join(root, 'tools/rollback', n)).mode & 0o111, n).toBe(0o111);
    expect(read('tools/rollback/rollback-common.sh')).toBe(ORIGINALS['tools/rollback/rollback-common.sh']);
    // The originals, in a backup that verifies.
    expect(first.json.backup?.files).toBe(2);
    const backup = first.json.backup?.id as string;
    expect(backup).toMatch(/^rollback-manager-init_\d{8}_\d{6}$/);
    const verify = await cli(root, ['verify', backup]);
    expect(verify.code, verify.stderr).toBe(0);
    // .gitignore: its own bytes kept, the tool's folders added once.
    expect(read('.gitignore')).toBe(`${GITIGNORE}\n\n# rollback-manager: backups, reports and run state (added by rollback-manager init)\n/rollback_backups/\n/rollback_reports/\n/.rollback-manager/\n`);
    // The starter config is all comments, and the tool reads it.
    expect(read('config/rollback.yaml').split('\n').every((l) => l === '' || l.startsWith('#'))).toBe(true);
    const status = await execa(process.execPath, ['tools/rollback/rollback-manager.js', 'status', '--json'], { cwd: root, reject: false });
    expect(status.exitCode, String(status.stderr)).toBe(0);

    const settled = stamp(root);
    const second = await cli(root, ['init']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('Nothing to do: the project is set up.');
    expect(stamp(root)).toEqual(settled);
  });

  it('init --restore puts the originals back from that backup, byte for byte', async () => {
    expect((await cli(root, ['init'])).code).toBe(0);
    const r = await cli(root, ['init', '--restore']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Put back from rollback-manager-init_\d{8}_\d{6}/);
    for (const [rel, text] of Object.entries(ORIGINALS)) expect(read(rel), rel).toBe(text);
    expect(readdirSync(root)).not.toContain('.rollback-manager'); // its staging folder is gone
  });

  it('a file init wrote and a person changed since: refused without --force (nothing written); with it, backed up, then replaced', async () => {
    expect((await cli(root, ['init'])).code).toBe(0);
    const wrapper = 'tools/rollback/rollback-story-1.2.sh';
    const edited = read(wrapper).replace('"$@"', '--verbose "$@"');
    writeFileSync(path.join(root, wrapper), edited);
    rmSync(path.join(root, 'tools/rollback/rollback-story-1.4.sh')); // would be created again
    const before = stamp(root);
    const refused = await cli(root, ['init']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${wrapper}: changed since rollback-manager init wrote it; nothing written`);
    const dry = await cli(root, ['init', '--dry-run']);
    expect(dry.code).toBe(2);
    expect(dry.stdout).toMatch(/refused\s+tools\/rollback\/rollback-story-1\.2\.sh/);
    const dryJson = await cliJson<{ error: { code: string; file: string } }>(root, ['init', '--dry-run']);
    expect(dryJson.code).toBe(2);
    expect(dryJson.json.error).toMatchObject({ code: 'E_INIT_CHANGED', file: wrapper });
    expect(stamp(root)).toEqual(before);

    const forced = await cliJson<InitJson>(root, ['init', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(read(wrapper)).toBe(shipped('rollback-story-1.2.sh'));
    expect(read('tools/rollback/rollback-story-1.4.sh')).toBe(shipped('rollback-story-1.4.sh'));
    expect(forced.json.backup?.files).toBe(1);
    const restored = await cli(root, ['init', '--restore', forced.json.backup?.id as string]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(read(wrapper)).toBe(edited);
  });

  it("writes a wrapper for each story of the project's registry, its own stories included", async () => {
    writeFileSync(
      path.join(root, 'config/rollback.yaml'),
      'stories:\n  "1.9":\n    feature: sqlmesh_transformations\n    title: SQLMesh transformations\n    dependsOn: ["1.3"]\n    code: [tools/data-services/sqlmesh-wrapper.js]\n',
    );
    const r = await cli(root, ['init']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/kept\s+config\/rollback\.yaml — the project has one/);
    expect(read('tools/rollback/rollback-story-1.9.sh')).toContain('# Roll back story 1.9 (sqlmesh_transformations: SQLMesh transformations).');
    expect(read('tools/rollback/rollback-story-1.9.sh')).toContain('/rollback-story.sh" 1.9 "$@"');
    const dry = await execa(path.join(root, 'tools/rollback/rollback-story-1.9.sh'), [], { env: { ROLLBACK_DRY_RUN: '1' }, reject: false, stdin: 'ignore' });
    expect(dry.exitCode, String(dry.stderr)).toBe(0);
    expect(String(dry.stdout)).toMatch(/Story 1\.9 sqlmesh_transformations .*not installed: nothing to do/s);
  });

  it('bad input is exit 2 naming the file, and writes nothing', async () => {
    writeFileSync(path.join(root, 'config/feature-flags.yaml'), 'features:\n  duckdb_analytics:\n    enabled: [\n');
    const before = stamp(root);
    const r = await cli(root, ['init']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('config/feature-flags.yaml');
    expect(stamp(root)).toEqual(before);
  });

  it('refuses a tools/rollback linked out of the project (the old README had people link the installed package)', async () => {
    const elsewhere = path.join(base, 'global/rollback-manager/tools/rollback');
    mkdirSync(elsewhere, { recursive: true });
    writeFileSync(path.join(elsewhere, 'rollback-manager.js'), 'import "../../dist/bundle/main.mjs";\n');
    rmSync(path.join(root, 'tools/rollback'), { recursive: true });
    symlinkSync(elsewhere, path.join(root, 'tools/rollback'));
    const r = await cli(root, ['init']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('outside the project root');
    expect(r.stderr).toContain('rm tools/rollback');
    expect(readdirSync(elsewhere)).toEqual(['rollback-manager.js']);
  });

  it('finds the project from a subfolder; outside any project it says so (exit 2)', async () => {
    mkdirSync(path.join(root, 'docs/stories'), { recursive: true });
    const fromSub = await execa(process.execPath, [CLI, 'init', '--dry-run'], { cwd: path.join(root, 'docs/stories'), reject: false, stdin: 'ignore' });
    expect(fromSub.exitCode, String(fromSub.stderr)).toBe(0);
    expect(String(fromSub.stdout)).toContain(`init of ${root}`);
    const lost = path.join(base, 'elsewhere');
    mkdirSync(lost);
    const none = await execa(process.execPath, [CLI, 'init'], { cwd: lost, reject: false, stdin: 'ignore', env: { ROLLBACK_ROOT: '' } });
    expect(none.exitCode).toBe(2);
    expect(String(none.stderr)).toContain(`no project found: neither ${lost} nor any folder above it holds config/feature-flags.yaml`);
    expect(readdirSync(lost)).toEqual([]);
  });
});

describe('docs', () => {
  it('prints the procedures from the registry and the flags; --output writes the same text', async () => {
    chmodSync(path.join(root, 'tools/rollback/rollback-story-1.3.sh'), 0o755);
    const out = await cli(root, ['docs']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('| 1.2 | `pyairbyte_integration` | Data Ingestion - PyAirbyte Integration | ✗ (run `rollback-manager init`) | Enabled | — |');
    expect(out.stdout).toContain('| 1.3 | `duckdb_analytics` |');
    expect(out.stdout).toContain('✓ `tools/rollback/rollback-story-1.3.sh` | Disabled |');
    for (const s of BUILTIN_STORIES) expect(out.stdout).toContain(`### ${s.id} \`${s.feature}\``);
    expect(out.stdout).toContain('## Restore');
    const file = path.join(base, 'out/rollback-procedures.md');
    const w = await cli(root, ['docs', '--output', file]);
    expect(w.code, w.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(`${out.stdout}\n`); // execa drops stdout's last newline
  });
});
