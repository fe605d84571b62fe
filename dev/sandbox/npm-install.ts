/**
 * Really installing the sandbox's npm packages, offline: the stand-in tarballs are copied to
 * `<outside>/pkgs/`, package.json names them with `file:` specs, and npm itself writes `node_modules`
 * and a lockfileVersion 3 `package-lock.json`, so a rollback edits files npm wrote, not ones we imitated.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { StepFailedError } from '../../src/model/errors.js';
import { npmEnv } from './child-env.js';
import { packStubs, stubSpec, withDependencies } from './npm-stubs.js';

/** The root's direct npm dependencies, by section. */
export interface NpmWanted {
  dependencies: string[];
  devDependencies: string[];
}

/**
 * Install `wanted` in `root` with package.json = `basePackageJson` (its other fields kept as they are)
 * and the two dependency sections replaced. Returns every installed package name, direct and
 * transitive, sorted.
 */
export async function installNpm(root: string, outside: string, basePackageJson: string, wanted: NpmWanted): Promise<string[]> {
  const direct = [...wanted.dependencies, ...wanted.devDependencies];
  const all = withDependencies(direct);
  const packed = await packStubs(all);
  const pkgsDir = path.join(outside, 'pkgs');
  await mkdir(pkgsDir, { recursive: true });
  const specs: Record<string, string> = {};
  for (const name of all) {
    const file = packed.files[name] as string;
    await copyFile(path.join(packed.dir, file), path.join(pkgsDir, file));
    specs[name] = `file:${path.relative(root, path.join(pkgsDir, file)).split(path.sep).join('/')}`;
  }
  const base = JSON.parse(basePackageJson) as Record<string, unknown>;
  const manifest = (deps: string[]): string =>
    `${JSON.stringify({ ...base, dependencies: section(deps, specs), devDependencies: section(wanted.devDependencies, specs) }, null, 2)}\n`;
  const env = npmEnv(path.join(outside, 'npm-cache'));

  // Offline, npm can resolve a transitive `shared-helper@^1.0.0` only from a node it already has: so the
  // first install lists the transitive stand-ins as direct ones, and the second, with the real
  // package.json, keeps them as what they are, dependencies of express and multer.
  const transitive = all.filter((n) => !direct.includes(n));
  await writeFile(path.join(root, 'package.json'), manifest([...wanted.dependencies, ...transitive]));
  await npmInstall(root, env);
  await writeFile(path.join(root, 'package.json'), manifest(wanted.dependencies));
  await npmInstall(root, env);

  for (const name of all) {
    const installed = await readFile(path.join(root, 'node_modules', ...name.split('/'), 'package.json'), 'utf8').then(
      (t) => (JSON.parse(t) as { version?: string }).version,
      () => undefined,
    );
    if (installed !== stubSpec(name).version) {
      throw new StepFailedError(`sandbox: npm did not install ${name}@${stubSpec(name).version} (found ${installed ?? 'nothing'})`);
    }
  }
  return all;
}

/** A dependency section in npm's own order (sorted by name, as `npm install --save` writes it). */
function section(names: readonly string[], specs: Record<string, string>): Record<string, string> | undefined {
  if (names.length === 0) return undefined;
  return Object.fromEntries([...names].sort().map((n) => [n, specs[n] as string]));
}

async function npmInstall(root: string, env: Record<string, string>): Promise<void> {
  // --ignore-scripts: the root's own lifecycle scripts (`prepare`) are not what the sandbox is about.
  const run = await execa('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: root,
    env,
    extendEnv: false,
    stdin: 'ignore',
    all: true,
    reject: false,
    timeout: 120_000,
  });
  if (run.failed) throw new StepFailedError(`sandbox: npm install --offline failed in ${root}: ${run.shortMessage}\n${run.all ?? ''}`);
}
