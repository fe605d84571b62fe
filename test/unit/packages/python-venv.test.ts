/**
 * findVenv on hand-built venv layouts (what it checks is files and links, so no interpreter is needed to
 * build them): found, absent, and refused when it would lead out of the project root.
 */
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findVenv } from '../../../src/packages/python-venv.js';
import { invalidInputErrorOf } from '../../helpers/expect-error.js';

let base: string;
let root: string;
let outside: string;

beforeEach(async () => {
  base = await realpath(await mkdtemp(path.join(os.tmpdir(), 'rbm-venv-')));
  root = path.join(base, 'root');
  outside = path.join(base, 'outside');
  await mkdir(root);
  await mkdir(outside);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

/** The layout `python3 -m venv` makes on Linux; bin/python links to an interpreter outside, as usual. */
async function fakeVenv(dir: string, opts: { cfg?: boolean; python?: boolean } = {}): Promise<string> {
  await mkdir(path.join(dir, 'bin'), { recursive: true });
  await mkdir(path.join(dir, 'lib', 'python3.11', 'site-packages'), { recursive: true });
  await symlink('lib', path.join(dir, 'lib64'));
  if (opts.cfg !== false) await writeFile(path.join(dir, 'pyvenv.cfg'), 'home = /usr/bin\ninclude-system-site-packages = false\n');
  if (opts.python !== false) await symlink('/usr/bin/python3', path.join(dir, 'bin', 'python'));
  return dir;
}


describe('findVenv', () => {
  it('finds <root>/.venv: real paths, the python link itself, one site-packages (lib64 is the same dir)', async () => {
    const dir = await fakeVenv(path.join(root, '.venv'));
    expect(findVenv(root, '.venv')).toEqual({
      root,
      dir,
      rel: '.venv',
      python: path.join(dir, 'bin', 'python'),
      sitePackages: [path.join(dir, 'lib', 'python3.11', 'site-packages')],
    });
  });

  it('finds a venv at a configured relative path, and through a root given with a trailing slash', async () => {
    const dir = await fakeVenv(path.join(root, 'envs', 'py'));
    expect(findVenv(`${root}/`, 'envs/py/')).toMatchObject({ root, dir, rel: 'envs/py' });
  });

  it('returns null when there is no venv: no directory, no pyvenv.cfg, no bin/python, or a file', async () => {
    expect(findVenv(root, '.venv')).toBeNull();
    await fakeVenv(path.join(root, 'nocfg'), { cfg: false });
    expect(findVenv(root, 'nocfg')).toBeNull();
    await fakeVenv(path.join(root, 'nopython'), { python: false });
    expect(findVenv(root, 'nopython')).toBeNull();
    await writeFile(path.join(root, 'afile'), 'x');
    expect(findVenv(root, 'afile')).toBeNull();
  });

  it('still finds a venv whose bin/python link dangles (the uninstall then fails loudly)', async () => {
    const dir = await fakeVenv(path.join(root, '.venv'), { python: false });
    await symlink(path.join(base, 'no-such-python'), path.join(dir, 'bin', 'python'));
    expect(findVenv(root, '.venv')?.python).toBe(path.join(dir, 'bin', 'python'));
  });

  it('refuses an absolute venv path and one that escapes the root', async () => {
    await fakeVenv(path.join(outside, 'venv'));
    expect(invalidInputErrorOf(() => findVenv(root, path.join(outside, 'venv'))).message).toMatch(/absolute/);
    expect(invalidInputErrorOf(() => findVenv(root, '../outside/venv')).message).toMatch(/outside the project root/);
    expect(invalidInputErrorOf(() => findVenv(root, 'a/../../outside/venv')).message).toMatch(/outside the project root/);
  });

  it('refuses a venv directory that is a symlink to a venv outside the root', async () => {
    await fakeVenv(path.join(outside, 'venv'));
    await symlink(path.join(outside, 'venv'), path.join(root, '.venv'));
    expect(invalidInputErrorOf(() => findVenv(root, '.venv')).code).toBe('E_PATH_ESCAPE');
  });

  it('refuses a venv below a parent directory that is a symlink out of the root', async () => {
    await fakeVenv(path.join(outside, 'envs', '.venv'));
    await symlink(path.join(outside, 'envs'), path.join(root, 'envs'));
    expect(invalidInputErrorOf(() => findVenv(root, 'envs/.venv')).code).toBe('E_PATH_ESCAPE');
  });

  it('follows a symlink that stays inside the root and reports the real directory', async () => {
    const dir = await fakeVenv(path.join(root, 'venvs', 'v1'));
    await symlink('venvs/v1', path.join(root, '.venv'));
    expect(findVenv(root, '.venv')).toMatchObject({ dir, rel: 'venvs/v1', python: path.join(dir, 'bin', 'python') });
  });

  it('refuses a venv whose site-packages is a symlink out of the venv', async () => {
    const dir = await fakeVenv(path.join(root, '.venv'));
    await rm(path.join(dir, 'lib', 'python3.11', 'site-packages'), { recursive: true });
    await mkdir(path.join(outside, 'sp'));
    await symlink(path.join(outside, 'sp'), path.join(dir, 'lib', 'python3.11', 'site-packages'));
    expect(invalidInputErrorOf(() => findVenv(root, '.venv')).code).toBe('E_PATH_ESCAPE');
  });

  it('refuses a root that does not exist', () => {
    expect(invalidInputErrorOf(() => findVenv(path.join(base, 'nope'), '.venv')).message).toMatch(/does not exist/);
  });
});
