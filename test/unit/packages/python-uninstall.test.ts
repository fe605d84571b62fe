/**
 * uninstallDistributions with a real venv and real pip, offline: it removes what findDistribution listed,
 * those files alone bring the distribution back, and nothing outside the venv is ever changed.
 */
import { mkdir, readFile, realpath, symlink } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, StepFailedError } from '../../../src/model/errors.js';
import { findDistribution, type DistInfo } from '../../../src/packages/python-dist.js';
import { uninstallDistributions } from '../../../src/packages/python-uninstall.js';
import type { VenvInfo } from '../../../src/packages/python-venv.js';
import { existsNoFollow } from '../../../src/util/paths.js';
import {
  copyFiles,
  globalPythonState,
  makeProject,
  pipShowFiles,
  PY_ENV,
  removeProject,
  venvPip,
  WHEELS,
  type PyProject,
} from './python-fixture.js';

let p: PyProject;
let globalBefore: Awaited<ReturnType<typeof globalPythonState>>;
/** A second copy of plain-one, outside the root, that a PYTHONPATH could put in front of the venv. */
let decoy: string;
let decoyBefore: Record<string, string>;

beforeAll(async () => {
  globalBefore = await globalPythonState();
  p = await makeProject();
  decoy = path.join(p.outside, 'pydeps');
  const plainOne = p.wheels[WHEELS.findIndex((w) => w.name === 'plain-one')] ?? '';
  await venvPip(p.venv, ['install', '--no-index', '--no-deps', '--target', decoy, plainOne]);
  decoyBefore = await snapshot(decoy, ['plain_one.py', 'plain_one-0.1.dist-info/RECORD', 'plain_one-0.1.dist-info/METADATA']);
});
afterAll(async () => {
  await removeProject(p);
});

async function snapshot(dir: string, rels: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const rel of rels) out[rel] = await readFile(path.join(dir, rel), 'utf8');
  return out;
}

/** Runs Python code with the venv's interpreter; exit code and output, never throws. */
async function inVenv(code: string) {
  return execa(p.venv.python, ['-c', code], { env: PY_ENV, cwd: p.root, reject: false });
}

describe('uninstallDistributions', () => {
  it('removes every listed file with the venv pip; copying those files back restores it offline', async () => {
    const before = ['my-pkg', 'tiny-dots'].map((n) => findDistribution(p.venv, n)).filter((d): d is DistInfo => d !== null);
    expect(before).toHaveLength(2);
    const files = before.flatMap((d) => d.files);
    const side = path.join(p.base, 'side');
    await copyFiles(files, p.root, side);

    const results = await uninstallDistributions(p.venv, ['my-pkg', 'TINY.DOTS']);
    expect(results).toEqual([
      { name: 'my-pkg', ok: true, output: expect.stringMatching(/Successfully uninstalled My_Pkg-1\.0/) },
      { name: 'TINY.DOTS', ok: true, output: expect.stringMatching(/Successfully uninstalled Tiny\.Dots-2\.3/) },
    ]);
    expect(results[0]?.output).not.toMatch(/Tiny/);
    expect(files.filter((f) => existsNoFollow(path.join(p.root, f)))).toEqual([]);
    expect(await pipShowFiles(p.venv, 'my-pkg')).toBeNull();
    expect(await pipShowFiles(p.venv, 'tiny-dots')).toBeNull();
    expect((await inVenv('import my_pkg')).exitCode).not.toBe(0);
    expect(findDistribution(p.venv, 'plain-one')).not.toBeNull();

    await copyFiles(files, side, p.root);
    for (const d of before) {
      expect(await pipShowFiles(p.venv, d.name)).toEqual(d.files);
      expect(findDistribution(p.venv, d.name)).toEqual(d);
    }
    const imported = await inVenv('import my_pkg, tinydots; print(my_pkg.greet(), tinydots.VALUE)');
    expect(imported.stdout).toBe('hello from my_pkg 23');
    // The console script is back too, executable, and runs the restored package.
    const script = await execa(path.join(p.venv.dir, 'bin', 'my-pkg-cli'), [], { env: PY_ENV });
    expect(script.stdout).toBe('hello from my_pkg');
  });

  it('works on the venv only: a copy that PYTHONPATH puts first is neither removed nor in the way', async () => {
    const saved = process.env.PYTHONPATH;
    process.env.PYTHONPATH = decoy;
    let results;
    try {
      results = await uninstallDistributions(p.venv, ['plain_one']);
    } finally {
      if (saved === undefined) delete process.env.PYTHONPATH;
      else process.env.PYTHONPATH = saved;
    }
    expect(results).toEqual([{ name: 'plain_one', ok: true, output: expect.stringMatching(/Successfully uninstalled plain-one-0\.1/) }]);
    expect(findDistribution(p.venv, 'plain-one')).toBeNull();
    expect(await snapshot(decoy, Object.keys(decoyBefore))).toEqual(decoyBefore);
  });

  it('reports a distribution that is not installed as ok, with pip skipping it', async () => {
    const results = await uninstallDistributions(p.venv, ['never-installed']);
    expect(results).toEqual([{ name: 'never-installed', ok: true, output: expect.stringMatching(/Skipping never-installed as it is not installed/) }]);
    expect(await uninstallDistributions(p.venv, [])).toEqual([]);
  });

  it('refuses names pip would read as options or paths, before running anything', async () => {
    for (const bad of ['-r', '--target=/tmp', 'a b', '', '../x', 'x;y', '-e.']) {
      await expect(uninstallDistributions(p.venv, ['tiny-dots', bad])).rejects.toSatisfy(
        (err: unknown) => err instanceof InvalidInputError && err.code === 'E_PYTHON_NAME',
      );
    }
    expect(findDistribution(p.venv, 'tiny-dots')).not.toBeNull();
  });

  it('refuses an interpreter that does not run as the venv, before running pip', async () => {
    const system = await realpath((await execa('python3', ['-c', 'import sys; print(sys.executable)'])).stdout);
    const notVenv = async (venv: VenvInfo) =>
      expect(uninstallDistributions(venv, ['my-pkg'])).rejects.toSatisfy(
        (err: unknown) => err instanceof StepFailedError && err.code === 'E_PYTHON_NOT_VENV',
      );
    // The interpreter on PATH given as the venv's python.
    await notVenv({ ...p.venv, python: system });
    // A directory inside the root with bin/python but no pyvenv.cfg: Python starts with the system prefix.
    const fake = path.join(p.root, 'not-a-venv');
    await mkdir(path.join(fake, 'bin'), { recursive: true });
    await symlink(system, path.join(fake, 'bin', 'python'));
    await notVenv({ ...p.venv, dir: fake, rel: 'not-a-venv', python: path.join(fake, 'bin', 'python') });
    // A link that dangles: nothing can run.
    const dangling = path.join(p.root, 'dangling');
    await mkdir(path.join(dangling, 'bin'), { recursive: true });
    await symlink(path.join(p.base, 'gone'), path.join(dangling, 'bin', 'python'));
    await notVenv({ ...p.venv, dir: dangling, rel: 'dangling', python: path.join(dangling, 'bin', 'python') });
    expect(findDistribution(p.venv, 'my-pkg')).not.toBeNull();
  });

  // Last on purpose: it compares the interpreter on PATH with its state before this file's first test.
  it('never changes the interpreter on PATH (pip list and site-packages are as before)', async () => {
    expect(await globalPythonState()).toEqual(globalBefore);
  });
});
