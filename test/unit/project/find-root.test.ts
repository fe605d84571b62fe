import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findProjectRoot, isToolPackage, projectOfToolsFolder, resolveRoot } from '../../../src/project/find-root.js';
import { InvalidInputError } from '../../../src/model/errors.js';

let base: string;
beforeEach(() => {
  base = realpathSync(mkdtempSync(path.join(tmpdir(), 'rbm-root-')));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

/** A folder holding config/feature-flags.yaml (and a package.json named `name`, if given). */
function project(rel: string, name?: string): string {
  const dir = path.join(base, rel);
  mkdirSync(path.join(dir, 'config'), { recursive: true });
  writeFileSync(path.join(dir, 'config/feature-flags.yaml'), 'features: {}\n');
  if (name !== undefined) writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name }));
  return dir;
}

function sub(rel: string): string {
  const dir = path.join(base, rel);
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe('finding the project', () => {
  it('is the working directory or its nearest ancestor holding config/feature-flags.yaml, as git finds .git', () => {
    const outer = project('outer', 'bmad-method');
    const inner = project('outer/packages/inner');
    expect(findProjectRoot(outer)).toBe(outer);
    expect(findProjectRoot(sub('outer/tools/data-services'))).toBe(outer);
    expect(findProjectRoot(sub('outer/packages/inner/a/b'))).toBe(inner);
  });

  it("passes over the tool's own package folder, even one holding a flags file (an installed copy, a clone)", () => {
    const pack = project('pack', 'bmad-method');
    const tool = project('pack/node_modules/rollback-manager', 'rollback-manager');
    expect(isToolPackage(tool)).toBe(true);
    expect(findProjectRoot(tool)).toBe(pack);
    expect(findProjectRoot(sub('pack/node_modules/rollback-manager/tools/rollback'))).toBe(pack);
    expect(projectOfToolsFolder(path.join(tool, 'tools/rollback'))).toBeNull();
    expect(projectOfToolsFolder(path.join(pack, 'tools/rollback'))).toBe(pack);
  });

  it('with none found: an input error (exit 2) that says so and how to name one', () => {
    const lost = sub('nowhere/deep');
    let err: unknown;
    try {
      findProjectRoot(lost);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).exitCode).toBe(2);
    expect((err as InvalidInputError).code).toBe('E_NO_PROJECT');
    expect((err as Error).message).toContain(`neither ${lost} nor any folder above it holds config/feature-flags.yaml`);
    expect((err as Error).message).toContain('--root');
  });

  it('--root wins, then ROLLBACK_ROOT, then the project a vendored copy sits in, then the search', () => {
    const a = project('a');
    const b = project('b');
    const c = project('c');
    const cwd = sub('a/x');
    expect(resolveRoot({ root: b, env: c, installedIn: c, cwd })).toBe(b);
    expect(resolveRoot({ root: undefined, env: c, installedIn: b, cwd })).toBe(c);
    expect(resolveRoot({ root: '', env: '', installedIn: b, cwd })).toBe(b);
    expect(resolveRoot({ cwd })).toBe(a);
  });
});
