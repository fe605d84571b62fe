/**
 * Tiny local stand-ins for the npm packages of the pack and the base project, packed with `npm pack` so
 * npm installs them offline as real tarballs. They carry the name, a version inside the range the base
 * package.json asks for, and a small dependency graph of their own, so a rollback's reachability matters:
 * express and multer share `shared-helper`, and only multer needs `multer-only-dep`.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { InvalidInputError, StepFailedError } from '../../src/model/errors.js';
import { npmEnv } from './child-env.js';
import { cachedDir, contentHash, type CachedDir } from './dir-cache.js';

/** One stand-in package. */
interface StubSpec {
  version: string;
  /** Its own dependencies, as the registry's package.json would list them. */
  dependencies?: Record<string, string>;
  /** A command it installs into `node_modules/.bin`, as the real package does. */
  bin?: string;
}

/** Versions in the ranges of the base package.json (`express ^4.18.2` → 4.21.2, the version npm resolved). */
const STUBS: Readonly<Record<string, StubSpec>> = {
  express: { version: '4.21.2', dependencies: { 'shared-helper': '^1.0.0' } },
  multer: { version: '1.4.5-lts.1', dependencies: { 'shared-helper': '^1.0.0', 'multer-only-dep': '^1.0.0' } },
  supertest: { version: '6.3.4' },
  duckdb: { version: '1.3.2' },
  '@evidence-dev/evidence': { version: '25.0.3', bin: 'evidence' },
  commander: { version: '14.0.0' },
  'fs-extra': { version: '10.1.0' },
  'js-yaml': { version: '4.1.0', bin: 'js-yaml' },
  jest: { version: '29.7.0', bin: 'jest' },
  'shared-helper': { version: '1.0.0' },
  'multer-only-dep': { version: '1.0.0' },
};

/** A package a user's own story names gets this: no dependencies, version 1.0.0. */
const UNKNOWN: StubSpec = { version: '1.0.0' };

/** npm's rules for new package names: lower case, URL-safe, optionally scoped. Anything else could escape `node_modules`. */
const NPM_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

/** The stand-in for `name`. */
export function stubSpec(name: string): StubSpec {
  return STUBS[name] ?? UNKNOWN;
}

/** `names` plus every package their stand-ins depend on, transitively, sorted. */
export function withDependencies(names: Iterable<string>): string[] {
  const out = new Set<string>();
  const visit = (name: string): void => {
    if (out.has(name)) return;
    if (!NPM_NAME.test(name)) throw new InvalidInputError(`npm: "${name}" is not a package name`, { code: 'E_NPM_NAME' });
    out.add(name);
    for (const dep of Object.keys(stubSpec(name).dependencies ?? {})) visit(dep);
  };
  for (const name of names) visit(name);
  return [...out].sort();
}

/**
 * Tarballs of the stand-ins for `names` (dependencies included by the caller), packed once per content:
 * `files` maps each name to its tarball in `dir`.
 */
export function packStubs(names: readonly string[]): Promise<CachedDir> {
  const specs = names.map((name) => ({ name, ...stubSpec(name) }));
  return cachedDir('rm-sandbox-npm', contentHash('npm-stubs/1', JSON.stringify(specs)), async (dir) => {
    const sources = await Promise.all(specs.map((s) => writeStub(path.join(dir, 'src'), s.name, s)));
    // One `npm pack` for all of them: each npm start costs more than the packing itself.
    const run = await execa('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir, ...sources], {
      cwd: dir,
      env: npmEnv(path.join(dir, 'npm-cache')),
      extendEnv: false,
      stdin: 'ignore',
      timeout: 120_000,
    }).catch((err: unknown) => {
      throw new StepFailedError(`sandbox: npm pack of the stand-in packages failed: ${String(err)}`, { cause: err });
    });
    const packed = JSON.parse(run.stdout) as Array<{ name: string; filename: string }>;
    const files: Record<string, string> = {};
    for (const p of packed) files[p.name] = p.filename;
    const lost = names.filter((n) => files[n] === undefined);
    if (lost.length > 0) throw new StepFailedError(`sandbox: npm pack made no tarball for ${lost.join(', ')}`);
    // Only the tarballs are kept: the sources and npm's cache would be dead weight in every later run.
    for (const junk of ['src', 'npm-cache']) await rm(path.join(dir, junk), { recursive: true, force: true });
    return files;
  });
}

/** Write one stand-in's sources under `base` and return its directory. */
async function writeStub(base: string, name: string, spec: StubSpec): Promise<string> {
  const dir = path.join(base, name.replace('/', '+'));
  await mkdir(dir, { recursive: true });
  const manifest = {
    name,
    version: spec.version,
    description: `Sandbox stand-in for ${name}`,
    main: 'index.js',
    license: 'MIT',
    ...(spec.bin === undefined ? {} : { bin: { [spec.bin]: `bin/${spec.bin}.js` } }),
    ...(spec.dependencies === undefined ? {} : { dependencies: spec.dependencies }),
  };
  await writeFile(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  // Requiring its dependencies makes the graph real: a stand-in whose dependency was removed fails to load.
  const requires = Object.keys(spec.dependencies ?? {}).map((d) => `require(${JSON.stringify(d)});\n`);
  await writeFile(
    path.join(dir, 'index.js'),
    `'use strict';\n${requires.join('')}module.exports = { name: ${JSON.stringify(name)}, version: ${JSON.stringify(spec.version)} };\n`,
  );
  if (spec.bin !== undefined) {
    await mkdir(path.join(dir, 'bin'), { recursive: true });
    await writeFile(path.join(dir, 'bin', `${spec.bin}.js`), `#!/usr/bin/env node\nconsole.log(${JSON.stringify(`${name} ${spec.version} (sandbox stand-in)`)});\n`, { mode: 0o755 });
  }
  return dir;
}
