import { chmodSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync } from '../../../src/util/atomic-write.js';
import { leftoverTempFiles, makeTempDir } from './fixture.js';

const isRoot = process.getuid?.() === 0;

describe('writeFileAtomic', () => {
  let dir = '';
  let cleanup = (): void => undefined;
  afterEach(() => cleanup());
  const fresh = (): string => {
    const tmp = makeTempDir('atomic-');
    cleanup = tmp.cleanup;
    dir = tmp.dir;
    return dir;
  };

  it('creates a new file and leaves no temp file', async () => {
    const path = join(fresh(), 'a.yaml');
    await writeFileAtomic(path, 'hello\n');
    expect(readFileSync(path, 'utf8')).toBe('hello\n');
    expect(leftoverTempFiles(dir)).toEqual([]);
  });

  it('replaces an existing file, keeping its mode even where the umask would narrow it', async () => {
    const path = join(fresh(), 'a.yaml');
    writeFileSync(path, 'old');
    // Group/other-writable on purpose: the usual umask (022) would strip those bits from a new file.
    chmodSync(path, 0o666);
    await writeFileAtomic(path, new TextEncoder().encode('new'));
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(statSync(path).mode & 0o7777).toBe(0o666);
    expect(leftoverTempFiles(dir)).toEqual([]);
  });

  it('applies an explicit mode', async () => {
    const path = join(fresh(), 'a.yaml');
    writeFileSync(path, 'old');
    chmodSync(path, 0o644);
    await writeFileAtomic(path, 'new', { mode: 0o622 });
    expect(statSync(path).mode & 0o7777).toBe(0o622);
  });

  it('writes through a symlink and keeps the link', async () => {
    const real = join(fresh(), 'real.yaml');
    const link = join(dir, 'link.yaml');
    writeFileSync(real, 'old');
    symlinkSync('real.yaml', link);
    await writeFileAtomic(link, 'new');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('real.yaml');
    expect(readFileSync(real, 'utf8')).toBe('new');
    expect(leftoverTempFiles(dir)).toEqual([]);
  });

  it('fails when the parent directory does not exist, creating nothing', async () => {
    const path = join(fresh(), 'missing', 'a.yaml');
    await expect(writeFileAtomic(path, 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(leftoverTempFiles(dir)).toEqual([]);
  });

  it('removes its temp file when the final rename fails, and the target is untouched', async () => {
    // A non-empty directory where the file should go: open/write/fsync succeed, rename cannot.
    const path = join(fresh(), 'a.yaml');
    mkdirSync(path);
    writeFileSync(join(path, 'keep'), 'kept');
    await expect(writeFileAtomic(path, 'x')).rejects.toThrow();
    expect(readFileSync(join(path, 'keep'), 'utf8')).toBe('kept');
    expect(leftoverTempFiles(dir)).toEqual([]);
  });

  it.skipIf(isRoot)('leaves the original untouched in a read-only directory', async () => {
    const path = join(fresh(), 'a.yaml');
    writeFileSync(path, 'original');
    chmodSync(dir, 0o555);
    try {
      await expect(writeFileAtomic(path, 'new')).rejects.toMatchObject({ code: 'EACCES' });
    } finally {
      chmodSync(dir, 0o755);
    }
    expect(readFileSync(path, 'utf8')).toBe('original');
    expect(leftoverTempFiles(dir)).toEqual([]);
  });

  it('concurrent writers never leave a torn file', async () => {
    const path = join(fresh(), 'a.yaml');
    const a = 'a'.repeat(200_000);
    const b = 'b'.repeat(300_000);
    await Promise.all([writeFileAtomic(path, a), writeFileAtomic(path, b), writeFileAtomic(path, a)]);
    expect([a, b]).toContain(readFileSync(path, 'utf8'));
    expect(leftoverTempFiles(dir)).toEqual([]);
  });
});

describe('writeFileAtomicSync', () => {
  let cleanup = (): void => undefined;
  afterEach(() => cleanup());

  it('replaces a file, keeping its mode, with no temp file left', () => {
    const { dir, cleanup: c } = makeTempDir('atomic-');
    cleanup = c;
    const path = join(dir, 'a.yaml');
    writeFileSync(path, 'old');
    chmodSync(path, 0o646);
    writeFileAtomicSync(path, 'new');
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(statSync(path).mode & 0o7777).toBe(0o646);
    expect(leftoverTempFiles(dir)).toEqual([]);
  });

  it('cleans up when the rename fails', () => {
    const { dir, cleanup: c } = makeTempDir('atomic-');
    cleanup = c;
    const path = join(dir, 'a.yaml');
    mkdirSync(path);
    writeFileSync(join(path, 'keep'), 'kept');
    expect(() => writeFileAtomicSync(path, 'x')).toThrow();
    expect(readFileSync(join(path, 'keep'), 'utf8')).toBe('kept');
    expect(leftoverTempFiles(dir)).toEqual([]);
  });
});
