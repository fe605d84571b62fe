/**
 * `venv:` in config/rollback.yaml (#12 point 3): written as an absolute path or mistyped, it used to make the
 * plan call every Python package absent ("no project venv") while they stayed installed.
 */
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { gatherSnapshot, loadProject } from '../../../src/project/project.js';
import { InvalidInputError } from '../../../src/model/errors.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** A project with the pack's flags file, a venv-shaped `.venv` (pyvenv.cfg and bin/python) and the given config. */
function project(config: string | null): string {
  const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'rm-venv-')));
  dirs.push(root);
  mkdirSync(path.join(root, 'config'));
  copyFileSync(path.join(REPO, 'config/feature-flags.yaml'), path.join(root, 'config/feature-flags.yaml'));
  mkdirSync(path.join(root, '.venv/bin'), { recursive: true });
  writeFileSync(path.join(root, '.venv/pyvenv.cfg'), 'home = /usr/bin\n');
  symlinkSync(process.execPath, path.join(root, '.venv/bin/python'));
  if (config !== null) writeFileSync(path.join(root, 'config/rollback.yaml'), config);
  return root;
}

async function loadError(root: string): Promise<InvalidInputError> {
  const err = await loadProject(root).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidInputError);
  return err as InvalidInputError;
}

describe('venv in config/rollback.yaml', () => {
  it('accepts an absolute path inside the root, as the relative path the rest of the tool uses', async () => {
    const root = project(null);
    writeFileSync(path.join(root, 'config/rollback.yaml'), `backups:\n  keep: 3\nvenv: ${path.join(root, '.venv')}\n`);
    const p = await loadProject(root);
    expect(p.config.venv).toBe('.venv');
    expect((await gatherSnapshot(p)).venv).toBe('.venv');
  });

  it('refuses an absolute path outside the root: exit 2 naming file, line, column and key', async () => {
    const elsewhere = project(null);
    const root = project(`venv: ${path.join(elsewhere, '.venv')}\n`);
    const err = await loadError(root);
    expect(err.exitCode).toBe(2);
    expect(err).toMatchObject({ file: 'config/rollback.yaml', keyPath: 'venv', line: 1, column: 7, code: 'E_PATH_ESCAPE' });
    expect(err.message).toMatch(/^config\/rollback\.yaml:1:7: venv ".*" is outside the project root/);
  });

  it('refuses a mistyped venv that does not exist, instead of planning as if there were none', async () => {
    const root = project('backups:\n  keep: 3\nvenv: .vnev\n');
    const err = await loadError(root);
    expect(err).toMatchObject({ file: 'config/rollback.yaml', keyPath: 'venv', line: 3, code: 'E_NO_VENV' });
    expect(err.message).toMatch(/venv "\.vnev" is not a Python virtual environment \(no \.vnev\/pyvenv\.cfg\)/);
  });

  it('still lets a project without venv: and without .venv load (no venv, nothing to uninstall)', async () => {
    const root = project(null);
    rmSync(path.join(root, '.venv'), { recursive: true });
    const p = await loadProject(root);
    expect(p.config.venv).toBe('.venv');
    expect((await gatherSnapshot(p)).venv).toBeNull();
  });
});
