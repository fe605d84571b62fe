/**
 * The lockfile graph on hand-written lockfiles for the shapes the small real fixture does not have:
 * deep nesting, scopes, peers, optional and devOptional flags, workspaces, links, extraneous entries,
 * hostile locations, old lockfiles, and bin shims that are not symlinks.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/model/errors.js';
import { planNpmRemoval } from '../../../src/packages/npm-index.js';

type Entry = Record<string, unknown>;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * A project whose root depends on `rootDeps` (package.json and the lockfile's `""` agree), with the given
 * `packages` entries; every installed location gets a folder on disk unless listed in `notOnDisk`.
 */
function project(rootDeps: Entry, packages: Record<string, Entry>, opts: { notOnDisk?: string[]; lock?: Entry } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'rbm-npm-graph-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'p', version: '1.0.0', ...rootDeps }, null, 2)}\n`);
  const lock = opts.lock ?? { name: 'p', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'p', version: '1.0.0', ...rootDeps }, ...packages } };
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  for (const [loc, e] of Object.entries(packages)) {
    if (!loc.includes('node_modules/') || opts.notOnDisk?.includes(loc) || e.link) continue;
    mkdirSync(join(dir, loc), { recursive: true });
    writeFileSync(join(dir, loc, 'package.json'), JSON.stringify({ name: loc.split('node_modules/').pop(), version: e.version }));
  }
  return dir;
}

const v = (extra: Entry = {}): Entry => ({ version: '1.0.0', ...extra });

describe('which locations become unreachable', () => {
  it('follows nesting and walk-up resolution like node: a nested copy and what only it needs go', () => {
    const dir = project(
      { dependencies: { a: '1', b: '1' } },
      {
        'node_modules/a': v({ dependencies: { x: '1' } }),
        'node_modules/b': v({ dependencies: { x: '2' } }),
        'node_modules/b/node_modules/x': v({ version: '2.0.0', dependencies: { y: '1', z: '1' } }),
        'node_modules/b/node_modules/z': v(),
        'node_modules/x': v({ dependencies: { z: '1' } }),
        'node_modules/y': v(),
        'node_modules/z': v(),
      },
    );
    const plan = planNpmRemoval(dir, ['b']);
    // b's x resolves its z from b's own node_modules (walking up from b/node_modules/x), y from the top.
    expect(plan.lockfileEntries).toEqual(['node_modules/b', 'node_modules/b/node_modules/x', 'node_modules/b/node_modules/z', 'node_modules/y']);
    // z at the top stays: the top-level x (a's) needs it.
    expect(plan.lockfileEntries).not.toContain('node_modules/z');
  });

  it('handles scoped packages and their nested dependencies', () => {
    const dir = project(
      { dependencies: { '@s/a': '1', keep: '1' } },
      {
        'node_modules/@s/a': v({ dependencies: { '@s/util': '1', shared: '1' } }),
        'node_modules/@s/a/node_modules/shared': v({ version: '2.0.0' }),
        'node_modules/@s/util': v(),
        'node_modules/keep': v({ dependencies: { shared: '1' } }),
        'node_modules/shared': v(),
      },
    );
    const plan = planNpmRemoval(dir, ['@s/a']);
    expect(plan.remove).toEqual(['@s/a']);
    expect(plan.lockfileEntries).toEqual(['node_modules/@s/a', 'node_modules/@s/a/node_modules/shared', 'node_modules/@s/util']);
    expect(plan.paths).toEqual(plan.lockfileEntries);
  });

  it('counts peer dependencies as edges, and keeps what the root itself lists', () => {
    const dir = project(
      { dependencies: { plugin: '1', host2: '1' } },
      {
        'node_modules/plugin': v({ peerDependencies: { host: '1', host2: '1' } }),
        'node_modules/host': v({ peer: true }),
        'node_modules/host2': v(),
      },
    );
    expect(planNpmRemoval(dir, ['plugin']).lockfileEntries).toEqual(['node_modules/host', 'node_modules/plugin']);
  });

  it('never lists an entry that was already extraneous, nor what only it needs', () => {
    const dir = project(
      { dependencies: { a: '1' } },
      { 'node_modules/a': v(), 'node_modules/orphan': v({ extraneous: true, dependencies: { o2: '1' } }), 'node_modules/o2': v({ extraneous: true }) },
    );
    expect(planNpmRemoval(dir, ['a']).lockfileEntries).toEqual(['node_modules/a']);
  });

  it('keeps what workspaces and linked project folders need, and never lists project source', () => {
    const dir = project(
      { dependencies: { a: '1', lib: 'file:../lib' }, workspaces: ['packages/*'] },
      {
        'node_modules/a': v({ dependencies: { w: '1', l: '1' } }),
        'node_modules/w': v(),
        'node_modules/l': v(),
        'node_modules/ws': { resolved: 'packages/ws', link: true },
        'packages/ws': v({ dependencies: { w: '1' }, devDependencies: { wdev: '1' } }),
        'node_modules/wdev': v({ dev: true }),
        'node_modules/lib': { resolved: '../lib', link: true },
        '../lib': v({ dependencies: { l: '1' } }),
      },
    );
    expect(planNpmRemoval(dir, ['a']).lockfileEntries).toEqual(['node_modules/a']);
    // The link goes, and its target's entry as npm drops it, but l stays: a needs it.
    expect(planNpmRemoval(dir, ['lib']).lockfileEntries).toEqual(['../lib', 'node_modules/lib']);
    // With a gone too, l only hung off the linked folder, so it goes; the folder itself is never a path.
    symlinkSync('../../lib', join(dir, 'node_modules/lib'));
    const both = planNpmRemoval(dir, ['a', 'lib']);
    expect(both.lockfileEntries).toEqual(['../lib', 'node_modules/a', 'node_modules/l', 'node_modules/lib']);
    expect(both.paths).toEqual(['node_modules/a', 'node_modules/l', 'node_modules/lib']);
  });

  it('keeps a project folder as a root when it was never attached (a workspace glob it cannot read)', () => {
    const dir = project(
      { dependencies: { a: '1' }, workspaces: ['weird/{x,y}'] },
      {
        'node_modules/a': v({ dependencies: { w: '1' } }),
        'node_modules/w': v(),
        'node_modules/x': { resolved: 'weird/x', link: true },
        'weird/x': v({ dependencies: { w: '1' } }),
      },
    );
    expect(planNpmRemoval(dir, ['a']).lockfileEntries).toEqual(['node_modules/a']);
  });

  it('lists lockfile entries that are not on disk, but only existing paths', () => {
    const dir = project(
      { dependencies: { a: '1' } },
      { 'node_modules/a': v({ optionalDependencies: { fsevents: '1' } }), 'node_modules/fsevents': v({ optional: true, os: ['darwin'] }) },
      { notOnDisk: ['node_modules/fsevents'] },
    );
    const plan = planNpmRemoval(dir, ['a']);
    expect(plan.lockfileEntries).toEqual(['node_modules/a', 'node_modules/fsevents']);
    expect(plan.paths).toEqual(['node_modules/a']);
  });
});

describe('flags of what stays', () => {
  const off = { dev: false, optional: false, devOptional: false, peer: false };

  it('a package left only behind an optional dependency becomes optional', () => {
    const dir = project(
      { dependencies: { a: '1' }, optionalDependencies: { o: '1' } },
      { 'node_modules/a': v({ dependencies: { x: '1' } }), 'node_modules/o': v({ optional: true, dependencies: { x: '1' } }), 'node_modules/x': v() },
    );
    expect(planNpmRemoval(dir, ['a']).flagChanges).toEqual([{ location: 'node_modules/x', from: off, to: { ...off, optional: true } }]);
  });

  it('a package left behind both a dev and an optional dependency becomes devOptional', () => {
    const dir = project(
      { dependencies: { a: '1' }, optionalDependencies: { o: '1' }, devDependencies: { d: '1' } },
      {
        'node_modules/a': v({ dependencies: { x: '1' } }),
        'node_modules/d': v({ dev: true, dependencies: { x: '1' } }),
        'node_modules/o': v({ optional: true, dependencies: { x: '1' } }),
        'node_modules/x': v(),
      },
    );
    expect(planNpmRemoval(dir, ['a']).flagChanges).toEqual([{ location: 'node_modules/x', from: off, to: { ...off, devOptional: true } }]);
  });

  it("counts workspaces as the root's production edges", () => {
    const dir = project(
      { dependencies: { a: '1' }, devDependencies: { d: '1' }, workspaces: ['packages/*'] },
      {
        'node_modules/a': v({ dependencies: { x: '1' } }),
        'node_modules/d': v({ dev: true, dependencies: { x: '1' } }),
        'node_modules/ws': { resolved: 'packages/ws', link: true },
        'node_modules/x': v(),
        'packages/ws': v({ dependencies: { x: '1' } }),
      },
    );
    expect(planNpmRemoval(dir, ['a']).flagChanges).toEqual([]);
  });

  it('leaves flags alone where the lockfile disagrees with the model before any change', () => {
    const dir = project(
      { dependencies: { a: '1' }, devDependencies: { d: '1' } },
      // x should not be dev while a (prod) needs it: the lockfile is odd, so it is not "corrected".
      { 'node_modules/a': v({ dependencies: { x: '1' } }), 'node_modules/d': v({ dev: true, dependencies: { x: '1' } }), 'node_modules/x': v({ peer: true }) },
    );
    expect(planNpmRemoval(dir, ['a']).flagChanges).toEqual([]);
  });
});

describe('bad or unusual lockfiles', () => {
  it('refuses a location that would point the delete outside node_modules', () => {
    const dir = project(
      { dependencies: { a: '1' } },
      { 'node_modules/a': v({ dependencies: { '../../victim': '1' } }), 'node_modules/../../victim': v() },
      { notOnDisk: ['node_modules/../../victim'] },
    );
    expect(() => planNpmRemoval(dir, ['a'])).toThrow(expect.objectContaining({ code: 'E_NPM_LOCATION', file: 'package-lock.json' }));
  });

  it('refuses a lockfile v1 with a clear message', () => {
    const dir = project({ dependencies: { a: '1' } }, {}, { lock: { name: 'p', lockfileVersion: 1, dependencies: { a: { version: '1.0.0' } } } });
    expect(() => planNpmRemoval(dir, ['a'])).toThrow(InvalidInputError);
    expect(() => planNpmRemoval(dir, ['a'])).toThrow(/lockfileVersion 1/);
  });

  it('prefers npm-shrinkwrap.json, as npm does', () => {
    const dir = project({ dependencies: { a: '1' } }, { 'node_modules/a': v() });
    writeFileSync(join(dir, 'npm-shrinkwrap.json'), '{ "lockfileVersion": 3, "packages": {,} }');
    expect(() => planNpmRemoval(dir, ['a'])).toThrow(expect.objectContaining({ file: 'npm-shrinkwrap.json' }));
  });

  it('finds bin shims that are not symlinks by the bin names the lockfile declares', () => {
    const dir = project(
      { dependencies: { a: '1', b: '1' } },
      { 'node_modules/a': v({ bin: { tool: 'cli.js' } }), 'node_modules/b': v({ bin: { other: 'cli.js' } }) },
    );
    const bin = (name: string, content = 'shim'): void => {
      mkdirSync(join(dir, 'node_modules/.bin'), { recursive: true });
      writeFileSync(join(dir, 'node_modules/.bin', name), content);
    };
    bin('tool');
    bin('tool.cmd');
    bin('tool.ps1');
    bin('other.cmd');
    symlinkSync('../b/cli.js', join(dir, 'node_modules/.bin/linked-to-b'));
    symlinkSync('../a/cli.js', join(dir, 'node_modules/.bin/linked-to-a'));
    expect(planNpmRemoval(dir, ['a']).paths).toEqual([
      'node_modules/.bin/linked-to-a',
      'node_modules/.bin/tool',
      'node_modules/.bin/tool.cmd',
      'node_modules/.bin/tool.ps1',
      'node_modules/a',
    ]);
  });
});
