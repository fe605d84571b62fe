import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isInside, normaliseDeclaredPath, resolveInsideRoot } from '../../../src/util/paths.js';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length > 0) rmSync(dirs.pop() as string, { recursive: true, force: true });
});

describe('paths', () => {
  it('isInside: a name starting with two dots is inside; .. and absolute escapes are not', () => {
    expect(isInside('/p', '/p/..foo')).toBe(true);
    expect(isInside('/p', '/p')).toBe(true);
    expect(isInside('/p', '/p/a/../b')).toBe(true);
    expect(isInside('/p', '/')).toBe(false);
    expect(isInside('/p', '/pq')).toBe(false);
    expect(isInside('/p', '/p/../q')).toBe(false);
  });

  it('normaliseDeclaredPath refuses absolute and escaping paths, naming where', () => {
    expect(normaliseDeclaredPath('a/b/', 'k')).toBe('a/b');
    expect(() => normaliseDeclaredPath('/etc/x', 'stories.1.9.code[0]')).toThrow(/stories\.1\.9\.code\[0\].*absolute/);
    expect(() => normaliseDeclaredPath('a/../../x', 'k')).toThrow(/outside the project root/);
    expect(() => normaliseDeclaredPath('', 'k')).toThrow(/non-empty/);
  });

  it('resolveInsideRoot refuses a symlinked parent or a declared link that leads out, and allows links inside', () => {
    const base = mkdtempSync(path.join(tmpdir(), 'rm-paths-'));
    dirs.push(base);
    const root = path.join(base, 'root');
    const out = path.join(base, 'out');
    mkdirSync(path.join(root, 'in'), { recursive: true });
    mkdirSync(out);
    writeFileSync(path.join(out, 'f'), 'x');
    writeFileSync(path.join(root, 'in', 'f'), 'x');
    symlinkSync(out, path.join(root, 'escape'));
    symlinkSync(path.join(root, 'in'), path.join(root, 'inner'));
    expect(() => resolveInsideRoot(root, 'escape/f', 'k')).toThrow(/outside the project root/);
    expect(() => resolveInsideRoot(root, 'escape', 'k')).toThrow(/symlink to .* outside/);
    expect(resolveInsideRoot(root, 'inner', 'k').kind).toBe('symlink');
    expect(resolveInsideRoot(root, 'inner/f', 'k').kind).toBe('file');
    expect(resolveInsideRoot(root, 'missing/deeper', 'k').kind).toBeNull();
  });
});
