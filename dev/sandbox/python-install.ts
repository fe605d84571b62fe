/**
 * The project's venv, really made and really filled: `python3 -m venv <root>/.venv`, then the stand-in
 * wheels installed by that venv's own pip in one offline call, then checked with `pip list`.
 */
import path from 'node:path';
import { execa } from 'execa';
import { StepFailedError } from '../../src/model/errors.js';
import { pythonEnv } from './child-env.js';
import { buildWheels, normaliseDist } from './python-wheels.js';

/** Where the venv goes, relative to the root: where the pack's `setup-python` puts it. */
export const VENV_REL = '.venv';

const TIMEOUT_MS = 180_000;

/** Create `<root>/.venv` and install a stand-in of each of `names` into it. Returns `names`, sorted. */
export async function installPython(root: string, names: readonly string[]): Promise<string[]> {
  const venv = path.join(root, VENV_REL);
  // The venv (pip's own bootstrap takes seconds) and the wheels do not depend on each other.
  const [wheels] = await Promise.all([buildWheels(names), run('python3', ['-m', 'venv', venv], 'python3 -m venv')]);
  const python = path.join(venv, 'bin', 'python');
  const files = names.map((n) => path.join(wheels.dir, wheels.files[n] as string));
  if (files.length > 0) {
    await run(python, ['-m', 'pip', 'install', '--no-index', '--no-deps', '--no-input', ...files], 'pip install');
  }
  const listed = await run(python, ['-m', 'pip', 'list', '--format', 'json'], 'pip list');
  const have = new Set((JSON.parse(listed) as Array<{ name: string }>).map((d) => normaliseDist(d.name)));
  const missing = names.filter((n) => !have.has(normaliseDist(n)));
  if (missing.length > 0) throw new StepFailedError(`sandbox: pip list does not show ${missing.join(', ')} after pip install`);
  return [...names].sort();
}

/** A missing python3 is a setup problem of the machine: say so up front, rather than fail later with ENOENT. */
export async function assertPython3(): Promise<void> {
  try {
    await execa('python3', ['--version'], { env: pythonEnv(), extendEnv: false, stdin: 'ignore', timeout: 30_000 });
  } catch (err) {
    throw new StepFailedError('sandbox: packages: true needs python3 (with its venv module) on PATH, and none runs here', {
      code: 'E_SANDBOX_PYTHON',
      cause: err,
    });
  }
}

/** Run `file args`, return its stdout; a failure is thrown with the command's output. */
async function run(file: string, args: string[], what: string): Promise<string> {
  const result = await execa(file, args, { env: pythonEnv(), extendEnv: false, stdin: 'ignore', all: true, reject: false, timeout: TIMEOUT_MS });
  if (result.failed) throw new StepFailedError(`sandbox: ${what} failed: ${result.shortMessage}\n${result.all ?? ''}`);
  return result.stdout;
}
