/**
 * Round trips on real files: createBackup → verifyBackup → GNU tar reads the same archive → restore
 * byte for byte (content, modes, mtimes, symlinks as links).
 */
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareTreePaths, createBackup, extractBackup, readManifest, verifyBackup } from '../../../src/backup/index.js';
import { LONG_NAME, SPLIT_NAME, buildTree, cleanup, comparable, layoutSha256, sha256, snapshot, tempDir } from './helpers.js';

let base: string;
let root: string;
let outside: string;

beforeEach(() => {
  base = tempDir();
  root = join(base, 'root');
  outside = join(base, 'outside');
  buildTree(root, outside);
});
afterEach(() => cleanup(base));

const isState = (rel: string): boolean => rel === '.rollback-manager' || rel === 'rollback_backups';

describe.each(['none', 'gzip'] as const)('round trip, compression %s', (compression) => {
  it.each([
    [true, true],
    [true, false],
    [false, false],
  ])('backs up, verifies, and restores the tree byte for byte (hash worker: %s, writes in the worker: %s)', async (hashInWorker, writeInWorker) => {
    const before = snapshot(root, isState);
    const outsideBefore = readFileSync(join(outside, 'target.txt'));
    const dest = join(root, 'rollback_backups', 'story_20250101_000000');

    const res = await createBackup({
      root,
      paths: ['story/'],
      destDir: dest,
      backupId: 'b1',
      compression,
      meta: { story: '1.2', feature: 'x' },
      bufferSize: 64 * 1024, // small buffer: many flushes, entries straddling buffers
      hashInWorker,
      writeInWorker,
    });

    expect(res.verify.ok).toBe(true);
    expect(statSync(dest).mode & 0o777).toBe(0o700);
    const file = compression === 'gzip' ? 'archive.tar.gz' : 'archive.tar';
    expect(readdirSync(dest).sort()).toEqual([file, 'manifest.json']);
    const m = readManifest(dest);
    const { entries, ...head } = m;
    expect(head).toEqual(res.manifest);
    // Tree order: what every pass over the backup relies on to stream instead of holding the entries.
    expect(entries.map((e) => e.path)).toEqual(entries.map((e) => e.path).sort(compareTreePaths));
    expect(m.archive.file).toBe(file);
    expect(m.archive.bytes).toBe(statSync(join(dest, file)).size);
    // Version 2: the archive's fingerprint is its layout hash, taken over the tar stream (decompressed).
    const stored = readFileSync(join(dest, file));
    expect(m.version).toBe(2);
    expect(m.archive.layoutSha256).toBe(layoutSha256(compression === 'gzip' ? gunzipSync(stored) : stored));
    expect(m.archive.sha256).toBeUndefined();
    expect(m.meta).toEqual({ story: '1.2', feature: 'x' });
    expect(m.root).toBe(root);

    // Every path of the tree is in the manifest with its content hash; links are links.
    const snapStory = [...before].filter(([k]) => k === 'story' || k.startsWith('story/'));
    expect(m.entries.map((e) => e.path).sort()).toEqual(snapStory.map(([k]) => k).sort());
    for (const [k, v] of snapStory) {
      const e = m.entries.find((x) => x.path === k);
      expect(e?.type, k).toBe(v.type);
      if (v.type === 'file') expect(e?.sha256, k).toBe(v.sha256);
      if (v.type === 'symlink') expect(e?.linkTarget, k).toBe(v.link);
      if (v.type !== 'symlink') expect(e?.mode, k).toBe(v.mode);
    }
    expect(m.entries.find((e) => e.path === 'story/link-outside')).toMatchObject({ type: 'symlink', linkTarget: join(outside, 'target.txt') });
    expect(m.totals.files).toBe(snapStory.filter(([, v]) => v.type === 'file').length);
    expect(m.totals.bytes).toBe(snapStory.reduce((n, [, v]) => n + v.size, 0));
    // A directory comes before its content in the archive.
    const order = m.entries.map((e) => e.path);
    expect(order.indexOf('story/src')).toBeLessThan(order.indexOf('story/src/index.ts'));

    const report = await verifyBackup(dest, { hashInWorker });
    expect(report).toEqual({ ok: true, backupId: 'b1', files: m.totals.files, bytes: m.totals.bytes, problems: [] });

    // Remove the story and bring it back.
    rmSync(join(root, 'story'), { recursive: true });
    const staging = join(root, '.rollback-manager', 'staging', 'b1');
    const out = await extractBackup({ dir: dest, root, stagingDir: staging, hashInWorker, writeInWorker, bufferSize: 64 * 1024 });
    expect(out.files).toBe(m.totals.files);
    expect(out.bytes).toBe(m.totals.bytes);
    expect(out.restored).toBe(order.length);
    expect(out.unchanged).toBe(0);
    expect(existsSync(staging)).toBe(false);
    expect(existsSync(join(root, '.rollback-manager'))).toBe(false); // the parents made for staging are gone too

    const after = snapshot(root, isState);
    expect(comparable(after)).toEqual(comparable(before));
    // The outside target was neither stored nor touched.
    expect(readFileSync(join(outside, 'target.txt'))).toEqual(outsideBefore);
    expect(lstatSync(join(root, 'story/link-outside')).isSymbolicLink()).toBe(true);
    expect(statSync(join(root, 'story/secret.txt')).mtimeMs).toBeCloseTo(1_600_000_000_250, 0);
  });

  it('is read identically by GNU tar (list and extract)', async () => {
    const dest = join(base, 'backups', 'b2');
    const res = await createBackup({ root, paths: ['story'], destDir: dest, backupId: 'b2', compression });
    const archive = join(dest, res.manifest.archive.file);
    const z = compression === 'gzip' ? ['-z'] : [];

    const list = await execa('tar', [...z, '-tf', archive]);
    const names = list.stdout.split('\n').map((n) => n.replace(/\/$/, ''));
    expect(names).toEqual(readManifest(dest).entries.map((e) => e.path));
    expect(list.stderr).toBe('');

    const verbose = await execa('tar', [...z, '-tvf', archive], { env: { LC_ALL: 'C', TZ: 'UTC' } });
    expect(verbose.stdout).toMatch(/^-rwxr-xr-x .* story\/bin\/run\.sh$/m);
    expect(verbose.stdout).toMatch(/^-rw------- .* story\/secret\.txt$/m);
    expect(verbose.stdout).toMatch(/^drwxr-x--- .* story\/empty-dir\/$/m);
    expect(verbose.stdout).toContain(`story/link-to-index -> src/index.ts`);
    expect(verbose.stdout).toContain(`story/${LONG_NAME}`);
    expect(verbose.stdout).toContain(`story/${SPLIT_NAME}`);

    const into = join(base, 'gnu-extract');
    await execa('mkdir', [into]);
    await execa('tar', [...z, '-xpf', archive, '-C', into]);
    const ours = comparable(snapshot(join(root, 'story')), false);
    const theirs = comparable(snapshot(join(into, 'story')), false);
    expect(theirs).toEqual(ours);
    // GNU tar's own comparison against the file system agrees too.
    const diff = await execa('tar', [...z, '-df', archive, '-C', root], { reject: false });
    expect(diff.stdout + diff.stderr).toBe('');
    expect(diff.exitCode).toBe(0);
    expect(readlinkSync(join(into, 'story/link-outside'))).toBe(join(outside, 'target.txt'));
  });
});

describe('restore details', () => {
  it('restores only the requested paths, merging into existing directories', async () => {
    const dest = join(base, 'backups', 'b3');
    await createBackup({ root, paths: ['story/src', 'story/secret.txt', 'story/bin'], destDir: dest, backupId: 'b3' });
    expect(readManifest(dest).entries.map((e) => e.path)).toContain('story/src/lib/deep/a.ts');
    rmSync(join(root, 'story/src/lib'), { recursive: true });
    rmSync(join(root, 'story/secret.txt'));
    // story/src still exists (merged), story/src/lib is restored, secret.txt is not asked for.
    const out = await extractBackup({ dir: dest, root, only: ['story/src/lib/'], stagingDir: join(root, '.stage') });
    expect(out.restored).toBe(4); // story/src/lib, …/deep, …/deep/a.ts, …/deep/empty.txt
    expect(readFileSync(join(root, 'story/src/lib/deep/empty.txt'), 'utf8')).toBe('');
    expect(readFileSync(join(root, 'story/src/lib/deep/a.ts'), 'utf8')).toBe('a'.repeat(1000));
    expect(existsSync(join(root, 'story/secret.txt'))).toBe(false);
    expect(existsSync(join(root, '.stage'))).toBe(false);
  });

  it('restores one directory of a story that is gone whole, with its parent but not its siblings', async () => {
    const dest = join(base, 'backups', 'b8');
    await createBackup({ root, paths: ['story'], destDir: dest, backupId: 'b8' });
    const storyMode = statSync(join(root, 'story')).mode & 0o7777;
    rmSync(join(root, 'story'), { recursive: true });
    const out = await extractBackup({ dir: dest, root, only: ['story/src/lib'], stagingDir: join(root, '.stage') });
    expect(out.restored).toBe(4);
    // The parent made on the way gets its recorded mode; the siblings (story/bin…) stay absent.
    expect(readdirSync(join(root, 'story'))).toEqual(['src']);
    expect(readdirSync(join(root, 'story/src'))).toEqual(['lib']);
    expect(statSync(join(root, 'story')).mode & 0o7777).toBe(storyMode);
    expect(readFileSync(join(root, 'story/src/lib/deep/a.ts'), 'utf8')).toBe('a'.repeat(1000));
  });

  it('with skipIdentical, finishes a half-removed directory and still refuses a changed file', async () => {
    const dest = join(base, 'backups', 'b7');
    await createBackup({ root, paths: ['story/src'], destDir: dest, backupId: 'b7' });
    // As a removal killed half-way leaves it: one file gone, the rest still there.
    rmSync(join(root, 'story/src/lib/deep/a.ts'));
    await expect(extractBackup({ dir: dest, root, only: ['story/src'], stagingDir: join(root, '.stage') })).rejects.toMatchObject({
      code: 'E_RESTORE_CONFLICT',
    });
    const out = await extractBackup({ dir: dest, root, only: ['story/src'], skipIdentical: true, stagingDir: join(root, '.stage') });
    // Left be: index.ts and empty.txt; written: a.ts and the entries that are directories (merged).
    expect(out.unchanged).toBe(2);
    expect(out.restored).toBe(readManifest(dest).entries.length - 2);
    expect(out.files).toBe(1);
    expect(readFileSync(join(root, 'story/src/lib/deep/a.ts'), 'utf8')).toBe('a'.repeat(1000));
    // Same size, other bytes: a conflict, not "identical".
    rmSync(join(root, 'story/src/lib/deep/a.ts'));
    writeFileSync(join(root, 'story/src/index.ts'), 'export const y = 2;\n');
    await expect(
      extractBackup({ dir: dest, root, only: ['story/src'], skipIdentical: true, stagingDir: join(root, '.stage') }),
    ).rejects.toMatchObject({ code: 'E_RESTORE_CONFLICT' });
    expect(existsSync(join(root, 'story/src/lib/deep/a.ts'))).toBe(false);
  });

  it('recreates missing parents of a single restored file', async () => {
    const dest = join(base, 'backups', 'b4');
    await createBackup({ root, paths: ['story/src/lib/deep/a.ts'], destDir: dest, backupId: 'b4' });
    rmSync(join(root, 'story/src'), { recursive: true });
    await extractBackup({ dir: dest, root, stagingDir: join(root, '.stage') });
    expect(readFileSync(join(root, 'story/src/lib/deep/a.ts'), 'utf8')).toBe('a'.repeat(1000));
  });

  it('refuses an only-path that is not in the backup', async () => {
    const dest = join(base, 'backups', 'b5');
    await createBackup({ root, paths: ['story/src'], destDir: dest, backupId: 'b5' });
    await expect(extractBackup({ dir: dest, root, only: ['story/nope'], stagingDir: join(root, '.stage') })).rejects.toMatchObject({
      name: 'InvalidInputError',
      code: 'E_NOT_IN_BACKUP',
    });
  });

  it('stores overlapping paths once', async () => {
    const dest = join(base, 'backups', 'b6');
    const res = await createBackup({ root, paths: ['story/src/index.ts', 'story/src', './story/src/'], destDir: dest, backupId: 'b6' });
    const paths = readManifest(res.dir).entries.map((e) => e.path);
    expect(new Set(paths).size).toBe(paths.length);
    expect(paths[0]).toBe('story/src');
  });
});
