/**
 * findDistribution against a real venv with real pip installs (offline): the file list must be exactly
 * what pip itself says the distribution owns, plus only what pip also removes.
 */
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDistribution } from '../../../src/packages/python-dist.js';
import { makeProject, pipShowFiles, put, PY_ENV, removeProject, type PyProject } from './python-fixture.js';
import { invalidInputErrorOf } from '../../helpers/expect-error.js';

let p: PyProject;
let sp: string;
/** `sp` relative to the root, the prefix of every listed path. */
let spRel: string;

beforeAll(async () => {
  p = await makeProject();
  expect(p.venv.sitePackages).toHaveLength(1);
  sp = p.venv.sitePackages[0] ?? '';
  spRel = path.relative(p.root, sp);
});
afterAll(async () => {
  await removeProject(p);
});


describe('findDistribution on pip-installed wheels', () => {
  it.each([
    ['My_Pkg', '1.0'],
    ['Tiny.Dots', '2.3'],
    ['plain-one', '0.1'],
  ])('lists exactly the files `pip show -f %s` lists', async (name, version) => {
    const dist = findDistribution(p.venv, name);
    const expected = await pipShowFiles(p.venv, name);
    expect(expected).not.toBeNull();
    expect(dist).toMatchObject({ name, version, outside: [], missing: [] });
    expect(dist?.files).toEqual(expected);
  });

  it('includes the console script pip generated in bin/, the bytecode, and the whole dist-info directory', () => {
    const dist = findDistribution(p.venv, 'my-pkg');
    expect(dist?.distInfoDir).toBe(`${spRel}/My_Pkg-1.0.dist-info`);
    expect(dist?.files).toEqual(
      expect.arrayContaining([
        '.venv/bin/my-pkg-cli',
        `${spRel}/my_pkg/__pycache__/core.cpython-311.pyc`,
        `${spRel}/My_Pkg-1.0.dist-info/RECORD`,
        `${spRel}/My_Pkg-1.0.dist-info/entry_points.txt`,
        `${spRel}/My_Pkg-1.0.dist-info/INSTALLER`,
      ]),
    );
  });

  it('matches every PEP 503 spelling of a name, and nothing that merely shares a prefix', () => {
    for (const spelling of ['my-pkg', 'MY.PKG', 'my_pkg', 'My__Pkg']) {
      expect(findDistribution(p.venv, spelling)?.distInfoDir).toBe(`${spRel}/My_Pkg-1.0.dist-info`);
    }
    for (const spelling of ['tiny-dots', 'TINY_dots', 'tiny.dots']) {
      expect(findDistribution(p.venv, spelling)?.name).toBe('Tiny.Dots');
    }
    for (const other of ['my', 'my-pkg-cli', 'mypkg', 'dagster']) expect(findDistribution(p.venv, other)).toBeNull();
  });

  it('adds bytecode no RECORD lists (another optimisation level), so a restore gives back the same tree', async () => {
    // What `python -O` writes on import; compiled explicitly because PYTHONDONTWRITEBYTECODE may be set.
    const compile = 'import sys, py_compile; py_compile.compile(sys.argv[1], optimize=1, doraise=True)';
    await execa(p.venv.python, ['-c', compile, path.join(sp, 'plain_one.py')], { env: PY_ENV, cwd: p.venv.dir });
    const opt = `${spRel}/__pycache__/plain_one.cpython-311.opt-1.pyc`;
    const dist = findDistribution(p.venv, 'plain-one');
    expect(dist?.files).toContain(opt);
    expect(dist?.files.filter((f) => f !== opt)).toEqual(await pipShowFiles(p.venv, 'plain-one'));
  });
});

describe('findDistribution on a hand-written RECORD', () => {
  it('reports entries outside the venv instead of following them, and lists only what exists', async () => {
    const di = path.join(sp, 'Crafted-0.1.dist-info');
    const record = [
      'crafted.py,sha256=x,1',
      '"weird, name.py",,',
      '../../../bin/crafted-tool,,',
      '../../../../notes.txt,,', // the project root: outside the venv all the same
      '../../../../../outside/o.txt,,',
      '/etc/hostname,,',
      'linked/evil.py,,', // `linked` is a symlink to a directory outside
      'gone.py,,',
      'Crafted-0.1.dist-info/METADATA,,',
      'Crafted-0.1.dist-info/RECORD,,',
    ];
    await put(path.join(di, 'RECORD'), `${record.join('\n')}\n`);
    await put(path.join(di, 'METADATA'), 'Metadata-Version: 2.1\nName: Crafted\nVersion: 0.1\n\nName: not-this\n');
    await put(path.join(di, 'entry_points.txt'), '[console_scripts]\ncrafted-cli = crafted:main\n[other]\nnot-a-script = x:y\n');
    await put(path.join(di, 'LICENSE'), 'MIT');
    await put(path.join(di, 'sub', 'x.txt'), 'x');
    for (const f of ['crafted.py', 'weird, name.py', 'crafted.pyc', '__pycache__/crafted.cpython-311.pyc']) {
      await put(path.join(sp, f), 'x');
    }
    await put(path.join(sp, '__pycache__', 'crafted.cpython-311.opt-2.pyc'), 'x');
    await put(path.join(sp, '__pycache__', 'crafted_other.cpython-311.pyc'), 'not ours');
    await put(path.join(sp, '__pycache__', 'crafted.extra.cpython-311.pyc'), 'not ours either');
    for (const f of ['crafted-cli', 'crafted-tool', 'not-a-script']) await put(path.join(p.venv.dir, 'bin', f), '#!x');
    await put(path.join(p.root, 'notes.txt'), 'x');
    await put(path.join(p.outside, 'o.txt'), 'x');
    await put(path.join(p.outside, 'evil.py'), 'x');
    await symlink(p.outside, path.join(sp, 'linked'));
    try {
      const dist = findDistribution(p.venv, 'crafted');
      expect(dist?.name).toBe('Crafted');
      expect(dist?.version).toBe('0.1');
      expect(dist?.files).toEqual(
        [
          '.venv/bin/crafted-cli',
          '.venv/bin/crafted-tool',
          `${spRel}/Crafted-0.1.dist-info/LICENSE`,
          `${spRel}/Crafted-0.1.dist-info/METADATA`,
          `${spRel}/Crafted-0.1.dist-info/RECORD`,
          `${spRel}/Crafted-0.1.dist-info/entry_points.txt`,
          `${spRel}/Crafted-0.1.dist-info/sub/x.txt`,
          `${spRel}/__pycache__/crafted.cpython-311.opt-2.pyc`,
          `${spRel}/__pycache__/crafted.cpython-311.pyc`,
          `${spRel}/crafted.py`,
          `${spRel}/crafted.pyc`,
          `${spRel}/weird, name.py`,
        ].sort(),
      );
      expect(dist?.outside).toEqual(
        ['/etc/hostname', path.join(p.root, 'notes.txt'), path.join(p.outside, 'o.txt'), path.join(sp, 'linked', 'evil.py')].sort(),
      );
      expect(dist?.missing).toEqual([`${spRel}/gone.py`]);
    } finally {
      // Only the crafted files: site-packages/__pycache__ also holds plain_one's bytecode.
      const pyc = ['crafted.cpython-311.pyc', 'crafted.cpython-311.opt-2.pyc', 'crafted_other.cpython-311.pyc', 'crafted.extra.cpython-311.pyc'];
      for (const f of ['Crafted-0.1.dist-info', 'crafted.py', 'weird, name.py', 'crafted.pyc', 'linked', ...pyc.map((n) => `__pycache__/${n}`)]) {
        await rm(path.join(sp, f), { recursive: true, force: true });
      }
      for (const f of ['crafted-cli', 'crafted-tool', 'not-a-script']) await rm(path.join(p.venv.dir, 'bin', f));
    }
  });

  it('refuses a name installed twice, a dist-info without RECORD, and a legacy egg-info install', async () => {
    const twin = path.join(sp, 'my_pkg-9.9.dist-info');
    const noRecord = path.join(sp, 'No_Record-1.0.dist-info');
    const egg = path.join(sp, 'Old_Thing-1.0-py3.11.egg-info');
    await put(path.join(twin, 'RECORD'), '');
    await put(path.join(noRecord, 'METADATA'), 'Name: No-Record\nVersion: 1.0\n');
    await mkdir(egg);
    await writeFile(path.join(egg, 'PKG-INFO'), 'Name: Old-Thing\n');
    try {
      expect(invalidInputErrorOf(() => findDistribution(p.venv, 'My-Pkg')).code).toBe('E_PYTHON_DIST_AMBIGUOUS');
      expect(invalidInputErrorOf(() => findDistribution(p.venv, 'no-record')).code).toBe('E_PYTHON_NO_RECORD');
      expect(invalidInputErrorOf(() => findDistribution(p.venv, 'old.thing')).code).toBe('E_PYTHON_DIST_LEGACY');
    } finally {
      for (const d of [twin, noRecord, egg]) await rm(d, { recursive: true, force: true });
    }
    expect(findDistribution(p.venv, 'my-pkg')?.version).toBe('1.0');
  });
});
