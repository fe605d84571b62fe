/**
 * A real project venv for the python tests, built offline: `python3 -m venv`, three small wheels written
 * on the spot with Python's zipfile (hashes and sizes in RECORD computed there), installed with the venv's
 * pip and `--no-index`. Nothing here touches the interpreter on PATH beyond running it read-only.
 */
import { chmod, copyFile, lstat, mkdir, mkdtemp, readdir, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { findVenv, toRootRel, type VenvInfo } from '../../../src/packages/python-venv.js';

/** Environment for every Python the fixture runs: offline, no user config, no user site. */
export const PY_ENV = {
  PIP_NO_INDEX: '1',
  PIP_DISABLE_PIP_VERSION_CHECK: '1',
  PIP_CONFIG_FILE: os.devNull,
  PYTHONNOUSERSITE: '1',
};

/** One wheel to build: files by path inside the wheel, plus an optional entry_points.txt. */
interface WheelSpec {
  name: string;
  version: string;
  files: Record<string, string>;
  entryPoints?: string;
}

/** The three distributions: a package with a console script, a dotted name, a top-level module. */
export const WHEELS: WheelSpec[] = [
  {
    name: 'My_Pkg',
    version: '1.0',
    files: {
      'my_pkg/__init__.py': 'from .core import greet\n',
      'my_pkg/core.py': "def greet():\n    return 'hello from my_pkg'\n\n\ndef main():\n    print(greet())\n",
      'my_pkg/data/words.txt': 'alpha\nbeta\n',
    },
    entryPoints: '[console_scripts]\nmy-pkg-cli = my_pkg.core:main\n',
  },
  { name: 'Tiny.Dots', version: '2.3', files: { 'tinydots/__init__.py': 'VALUE = 23\n' } },
  { name: 'plain-one', version: '0.1', files: { 'plain_one.py': 'ANSWER = 1\n' } },
];

/** Writes a wheel per spec into argv[1]; prints their paths. Run by `python3`, so hashes are Python's own. */
const BUILD_WHEELS = String.raw`
import base64, hashlib, json, os, re, sys, zipfile
out, specs = sys.argv[1], json.loads(sys.argv[2])
for spec in specs:
    name, version = spec['name'], spec['version']
    esc = re.sub(r'[-_.]+', '_', name)  # wheel file and dist-info names escape runs of -_. as _
    di = f'{esc}-{version}.dist-info'
    files = dict(spec['files'])
    files[f'{di}/METADATA'] = f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: rollback-manager test fixture\n'
    files[f'{di}/WHEEL'] = 'Wheel-Version: 1.0\nGenerator: rollback-manager-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n'
    if spec.get('entryPoints'):
        files[f'{di}/entry_points.txt'] = spec['entryPoints']
    record = []
    for p, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
        record.append(f'{p},sha256={digest},{len(data)}')
    record.append(f'{di}/RECORD,,')
    whl = os.path.join(out, f'{esc}-{version}-py3-none-any.whl')
    with zipfile.ZipFile(whl, 'w', zipfile.ZIP_DEFLATED) as z:
        for p, text in files.items():
            z.writestr(p, text)
        z.writestr(f'{di}/RECORD', '\n'.join(record) + '\n')
    print(whl)
`;

/** A temp tree: `root` holds the project and its `.venv`; `outside` is a sibling the project must not touch. */
export interface PyProject {
  base: string;
  root: string;
  outside: string;
  venv: VenvInfo;
  /** Built wheel files, in WHEELS order. */
  wheels: string[];
}

/** Fails loudly when python3 is missing: the tests are worthless without a real interpreter. */
export async function requirePython3(): Promise<void> {
  const r = await execa('python3', ['-c', 'import venv, ensurepip, sys; print(sys.version)'], { reject: false });
  if (r.failed) {
    throw new Error(`python3 with venv and ensurepip is required for these tests (CI machines have it): ${r.shortMessage}`);
  }
}

/** Creates the tree, the venv (with pip, offline through ensurepip) and installs every fixture wheel. */
export async function makeProject(): Promise<PyProject> {
  await requirePython3();
  const base = await realpath(await mkdtemp(path.join(os.tmpdir(), 'rbm-py-')));
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  await mkdir(root, { recursive: true });
  await mkdir(outside, { recursive: true });
  await execa('python3', ['-m', 'venv', path.join(root, '.venv')], { env: PY_ENV });
  const wheelDir = path.join(base, 'wheels');
  await mkdir(wheelDir);
  const built = await execa('python3', ['-c', BUILD_WHEELS, wheelDir, JSON.stringify(WHEELS)], { env: PY_ENV });
  const wheels = built.stdout.split('\n').filter(Boolean);
  const venv = findVenv(root, '.venv');
  if (venv === null) throw new Error('the fixture venv was not found');
  await venvPip(venv, ['install', '--no-index', '--no-deps', ...wheels]);
  return { base, root, outside, venv, wheels };
}

/** Runs the venv's pip (never the one on PATH); throws on failure. */
export async function venvPip(venv: VenvInfo, args: string[]) {
  return execa(venv.python, ['-m', 'pip', ...args], { env: PY_ENV, cwd: venv.dir });
}

/**
 * `pip show -f <name>` of the venv, as root-relative paths (sorted), or null when pip says it is not
 * installed. The independent answer findDistribution is compared with.
 */
export async function pipShowFiles(venv: VenvInfo, name: string): Promise<string[] | null> {
  const r = await execa(venv.python, ['-m', 'pip', 'show', '-f', name], { env: PY_ENV, cwd: venv.dir, reject: false });
  if (r.exitCode !== 0) return null;
  const lines = r.stdout.split('\n');
  const location = lines.find((l) => l.startsWith('Location:'))?.slice('Location:'.length).trim();
  if (!location) throw new Error(`pip show gave no Location:\n${r.stdout}`);
  const start = lines.findIndex((l) => l.startsWith('Files:'));
  const entries = lines.slice(start + 1).filter((l) => l.startsWith('  ')).map((l) => l.trim());
  return entries.map((e) => toRootRel(venv.root, path.resolve(location, e))).sort();
}

/** Copies root-relative files (and symlinks, as links) from one tree to another, keeping their modes. */
export async function copyFiles(rels: string[], from: string, to: string): Promise<void> {
  for (const rel of rels) {
    const src = path.join(from, rel);
    const dst = path.join(to, rel);
    await mkdir(path.dirname(dst), { recursive: true });
    const st = await lstat(src);
    if (st.isSymbolicLink()) {
      await symlink(await readlink(src), dst);
    } else {
      await copyFile(src, dst);
      await chmod(dst, st.mode & 0o7777);
    }
  }
}

/** Writes a file, creating its parent directories. */
export async function put(file: string, content: string | Buffer): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
}

/** Removes a fixture tree. */
export async function removeProject(p: PyProject | undefined): Promise<void> {
  if (p) await rm(p.base, { recursive: true, force: true });
}

/** What the interpreter on PATH has installed: must be identical before and after a file's tests. */
export async function globalPythonState(): Promise<{ pipList: string; sitePackages: Record<string, string[]> }> {
  const list = await execa('python3', ['-m', 'pip', 'list', '--format=freeze'], { env: PY_ENV });
  const sp = await execa('python3', ['-c', 'import json, site; print(json.dumps(site.getsitepackages() + [site.getusersitepackages()]))'], {
    env: PY_ENV,
  });
  const sitePackages: Record<string, string[]> = {};
  for (const dir of JSON.parse(sp.stdout) as string[]) {
    sitePackages[dir] = await readdir(dir).then((n) => n.sort(), () => []);
  }
  return { pipList: list.stdout, sitePackages };
}
